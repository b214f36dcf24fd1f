//! The HorizontalPodAutoscaler controller as kube-controller-manager runs it: per-metric
//! proposals (autoscaling-semantics §1.5), the maximum over metrics (§1.6), and normalisation by
//! the legacy path (§1.7) or by `behavior` (§1.8: dual-window stabilisation, rate-limit
//! policies with period accounting over both event lists, selectPolicy, clamping). One
//! implementation serves the simulator and, later, the emulated cluster.

use crate::cluster::hpa::{Behavior, Hpa, PolicyKind, ScalingRules, SelectPolicy, Target};

/// The cluster-wide tolerance (`--horizontal-pod-autoscaler-tolerance`).
pub const DEFAULT_TOLERANCE: f64 = 0.1;
/// The legacy path's scale-down stabilisation (`--horizontal-pod-autoscaler-downscale-stabilization`).
pub const LEGACY_DOWNSCALE_WINDOW_S: f64 = 300.0;
/// The HPA reconcile period (`--horizontal-pod-autoscaler-sync-period`).
pub const SYNC_PERIOD_S: f64 = 15.0;

/// What the metrics pipeline reports for one metric at a sync, for homogeneous pods (every
/// ready pod of the workload sees the same load).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reading {
    /// A Resource (or ContainerResource) metric: per-pod usage and request in the metric's
    /// unit (milli-cores for CPU), over the pods that have a sample.
    Resource {
        /// Usage of each pod with a sample.
        usage_per_pod: f64,
        /// Request of each pod.
        request_per_pod: f64,
        /// Pods with a sample that count as ready (§1.5.3).
        ready: u32,
        /// Pods counted unready: Pending, or (CPU) not Ready long enough for a full window.
        unready: u32,
        /// Pods with no sample yet.
        missing: u32,
    },
    /// A Pods metric: the per-pod value over the pods that have one.
    Pods {
        /// Value of each pod with a sample.
        value_per_pod: f64,
        /// Pods with a sample.
        ready: u32,
        /// Pending pods.
        unready: u32,
        /// Pods with no sample yet.
        missing: u32,
    },
    /// An External or Object metric: the summed value.
    Total {
        /// The value (External series summed).
        value: f64,
        /// Running and Ready pods (the `Value` path's multiplier).
        ready_pods: u32,
        /// `scale.status.replicas`: every pod, pending and unready included (the
        /// `AverageValue` path's divisor).
        status_replicas: u32,
    },
    /// The metric could not be read this sync.
    Failed,
}

/// Tolerances of the two directions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Below 1: `1 - down` is inside the band.
    pub down: f64,
    /// Above 1: `1 + up` is inside the band.
    pub up: f64,
}

impl Tolerance {
    /// Inclusive on both sides (§1.5.1): a ratio of exactly 1.1 does not scale.
    pub fn within(&self, ratio: f64) -> bool {
        1.0 - self.down <= ratio && ratio <= 1.0 + self.up
    }
}

fn ceil_u32(x: f64) -> u32 {
    if x.is_finite() && x > 0.0 {
        x.ceil().min(f64::from(u32::MAX)) as u32
    } else {
        0
    }
}

/// The end of the conservative re-estimate (§1.5.2): no change inside the band or when the
/// direction flips, and never a count that moves against the direction.
fn re_estimate(ratio: f64, ratio2: f64, count: u32, cur: u32, tol: Tolerance) -> u32 {
    if tol.within(ratio2) || (ratio - 1.0).signum() != (ratio2 - 1.0).signum() {
        return cur;
    }
    let n2 = ceil_u32(ratio2 * f64::from(count));
    if (ratio2 < 1.0 && n2 > cur) || (ratio2 > 1.0 && n2 < cur) {
        return cur;
    }
    n2
}

/// One metric's replica proposal (§1.5), or `None` when it cannot be computed.
pub fn proposal(target: &Target, reading: &Reading, cur: u32, tol: Tolerance) -> Option<u32> {
    match (*target, *reading) {
        (_, Reading::Failed) => None,
        (
            Target::Utilization(t),
            Reading::Resource {
                usage_per_pod,
                request_per_pod,
                ready,
                unready,
                missing,
            },
        ) => {
            if ready == 0 || request_per_pod <= 0.0 || t == 0 {
                return None;
            }
            let target = f64::from(t);
            // Integer percent, truncated, before the ratio (utilization.go).
            let util = |usage: f64, request: f64| (100.0 * usage / request).floor();
            let n = f64::from(ready);
            let ratio = util(usage_per_pod * n, request_per_pod * n) / target;
            if missing == 0 && !(unready > 0 && ratio > 1.0) {
                return Some(if tol.within(ratio) {
                    cur
                } else {
                    ceil_u32(ratio * n)
                });
            }
            // The conservative re-estimate: missing pods at 100% of request (or the target,
            // if above 100) on a scale-down, 0 on a scale-up; unready pods at 0 on a scale-up.
            let mut usage = usage_per_pod * n;
            let mut request = request_per_pod * n;
            let mut count = ready;
            if missing > 0 {
                if ratio < 1.0 {
                    usage += f64::from(missing) * request_per_pod * target.max(100.0) / 100.0;
                }
                request += f64::from(missing) * request_per_pod;
                count += missing;
            }
            if unready > 0 && ratio > 1.0 {
                request += f64::from(unready) * request_per_pod;
                count += unready;
            }
            let ratio2 = util(usage, request) / target;
            Some(re_estimate(ratio, ratio2, count, cur, tol))
        }
        (
            Target::AverageValue(t),
            Reading::Resource {
                usage_per_pod: value_per_pod,
                ready,
                unready,
                missing,
                ..
            }
            | Reading::Pods {
                value_per_pod,
                ready,
                unready,
                missing,
            },
        ) => {
            if ready == 0 || t <= 0.0 {
                return None;
            }
            // Integer division in milli-units (§1.5.4).
            let avg = (value_per_pod * 1000.0).floor() / 1000.0;
            let ratio = avg / t;
            if missing == 0 && !(unready > 0 && ratio > 1.0) {
                return Some(if tol.within(ratio) {
                    cur
                } else {
                    ceil_u32(ratio * f64::from(ready))
                });
            }
            let mut sum = value_per_pod * f64::from(ready);
            let mut count = ready;
            if missing > 0 {
                if ratio < 1.0 {
                    sum += f64::from(missing) * t;
                }
                count += missing;
            }
            if unready > 0 && ratio > 1.0 {
                count += unready;
            }
            let ratio2 = ((sum / f64::from(count)) * 1000.0).floor() / 1000.0 / t;
            Some(re_estimate(ratio, ratio2, count, cur, tol))
        }
        (
            Target::Value(t),
            Reading::Total {
                value, ready_pods, ..
            },
        ) => {
            if t <= 0.0 {
                return None;
            }
            let ratio = value / t;
            if cur == 0 {
                return Some(ceil_u32(ratio));
            }
            Some(if tol.within(ratio) {
                cur
            } else {
                ceil_u32(ratio * f64::from(ready_pods))
            })
        }
        (
            Target::AverageValue(t),
            Reading::Total {
                value,
                status_replicas,
                ..
            },
        ) => {
            if t <= 0.0 {
                return None;
            }
            // §1.5.6, what KEDA uses: the band compares against statusReplicas, the result
            // does not depend on readiness.
            let ratio = value / (t * f64::from(status_replicas.max(1)));
            Some(if tol.within(ratio) && status_replicas > 0 {
                status_replicas
            } else {
                ceil_u32(value / t)
            })
        }
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Timed {
    t: f64,
    value: u32,
}

/// One HPA's controller state: what kube-controller-manager keeps in memory per HPA.
#[derive(Debug, Clone)]
pub struct HpaController {
    /// The HPA it runs.
    pub hpa: Hpa,
    recommendations: Vec<Timed>,
    scale_up_events: Vec<Timed>,
    scale_down_events: Vec<Timed>,
}

impl HpaController {
    /// A controller with no history: the first reconcile seeds it.
    pub fn new(hpa: Hpa) -> Self {
        HpaController {
            hpa,
            recommendations: Vec::new(),
            scale_up_events: Vec::new(),
            scale_down_events: Vec::new(),
        }
    }

    fn tolerance(&self) -> Tolerance {
        match &self.hpa.behavior {
            Some(b) => Tolerance {
                down: b.scale_down.tolerance,
                up: b.scale_up.tolerance,
            },
            None => Tolerance {
                down: DEFAULT_TOLERANCE,
                up: DEFAULT_TOLERANCE,
            },
        }
    }

    /// One reconcile at `now_s` with the target's `spec.replicas` = `cur` and one reading per
    /// metric of the HPA (in its order). Returns the replicas to write (`cur` when nothing
    /// changes).
    pub fn reconcile(&mut self, now_s: f64, cur: u32, readings: &[Reading]) -> u32 {
        let (min, max) = (self.hpa.min_replicas.max(1), self.hpa.max_replicas);
        if self.recommendations.is_empty() {
            // recordInitialRecommendation: the first reconcile seeds (cur, now).
            self.recommendations.push(Timed {
                t: now_s,
                value: cur,
            });
        }
        if cur == 0 {
            // Scaled to zero by someone else (KEDA): the HPA is disabled.
            return 0;
        }
        let desired = if cur > max {
            max
        } else if cur < min {
            min
        } else {
            let tol = self.tolerance();
            let (mut best, mut some_failed) = (None::<u32>, false);
            let padded = readings.iter().chain(std::iter::repeat(&Reading::Failed));
            for (m, r) in self.hpa.metrics.iter().zip(padded) {
                match proposal(&m.target, r, cur, tol) {
                    Some(p) => best = Some(best.map_or(p, |b| b.max(p))),
                    None => some_failed = true,
                }
            }
            let Some(best) = best else {
                return cur;
            };
            // One failed metric blocks a scale-down (k/k #99514), not a scale-up.
            if some_failed && best < cur {
                return cur;
            }
            // The behavior is lent out for the call (normalising updates the history).
            match self.hpa.behavior.take() {
                None => self.normalize_legacy(now_s, cur, best, min, max),
                Some(b) => {
                    let d = self.normalize_with_behavior(now_s, cur, best, min, max, &b);
                    self.hpa.behavior = Some(b);
                    d
                }
            }
        };
        if desired != cur && self.hpa.behavior.is_some() {
            let events = if desired > cur {
                &mut self.scale_up_events
            } else {
                &mut self.scale_down_events
            };
            events.push(Timed {
                t: now_s,
                value: desired.abs_diff(cur),
            });
            let longest = self
                .hpa
                .behavior
                .as_ref()
                .map(|b| {
                    let r = if desired > cur {
                        &b.scale_up
                    } else {
                        &b.scale_down
                    };
                    r.policies.iter().map(|p| p.period_s).max().unwrap_or(0)
                })
                .unwrap_or(0);
            events.retain(|e| e.t > now_s - f64::from(longest));
        }
        desired
    }

    /// §1.7: the maximum over the last 300 s of recommendations, at most `max(2 cur, 4)`.
    fn normalize_legacy(&mut self, now_s: f64, cur: u32, desired: u32, min: u32, max: u32) -> u32 {
        let cut = now_s - LEGACY_DOWNSCALE_WINDOW_S;
        self.recommendations.retain(|r| r.t >= cut);
        self.recommendations.push(Timed {
            t: now_s,
            value: desired,
        });
        let stab = self
            .recommendations
            .iter()
            .map(|r| r.value)
            .max()
            .unwrap_or(desired)
            .max(desired);
        let up_limit = cur.saturating_mul(2).max(4);
        stab.clamp(min, max.min(up_limit).max(min))
    }

    /// §1.8: stabilisation from `cur` toward `desired`, then the rate limits and the clamp.
    fn normalize_with_behavior(
        &mut self,
        now_s: f64,
        cur: u32,
        desired: u32,
        min: u32,
        max: u32,
        b: &Behavior,
    ) -> u32 {
        let up_cut = now_s - f64::from(b.scale_up.stabilization_window_s);
        let down_cut = now_s - f64::from(b.scale_down.stabilization_window_s);
        let up_rec = self
            .recommendations
            .iter()
            .filter(|r| r.t > up_cut)
            .map(|r| r.value)
            .min()
            .map_or(desired, |m| m.min(desired));
        let down_rec = self
            .recommendations
            .iter()
            .filter(|r| r.t > down_cut)
            .map(|r| r.value)
            .max()
            .map_or(desired, |m| m.max(desired));
        let mut rec = cur;
        if rec < up_rec {
            rec = up_rec;
        }
        if rec > down_rec {
            rec = down_rec;
        }
        // The raw proposal is stored; samples older than both windows are dropped.
        let oldest = up_cut.min(down_cut);
        self.recommendations.retain(|r| r.t > oldest);
        self.recommendations.push(Timed {
            t: now_s,
            value: desired,
        });
        if rec > cur {
            let limit = self.rate_limit(&b.scale_up, now_s, cur, true);
            rec.min(max).min(limit.max(cur))
        } else if rec < cur {
            let limit = self.rate_limit(&b.scale_down, now_s, cur, false);
            rec.max(min).max(limit.min(cur))
        } else {
            rec
        }
    }

    /// §1.8.2: the replicas the policies allow, from the count at the start of each period.
    fn rate_limit(&self, rules: &ScalingRules, now_s: f64, cur: u32, up: bool) -> u32 {
        let changed = |events: &[Timed], period: u32| -> i64 {
            events
                .iter()
                .filter(|e| e.t > now_s - f64::from(period))
                .map(|e| i64::from(e.value))
                .sum()
        };
        let proposals: Vec<i64> = rules
            .policies
            .iter()
            .map(|p| {
                let start = i64::from(cur) - changed(&self.scale_up_events, p.period_s)
                    + changed(&self.scale_down_events, p.period_s);
                let v = i64::from(p.value);
                match (up, p.kind) {
                    (true, PolicyKind::Pods) => start + v,
                    (true, PolicyKind::Percent) => {
                        (start as f64 * (1.0 + v as f64 / 100.0)).ceil() as i64
                    }
                    (false, PolicyKind::Pods) => start - v,
                    (false, PolicyKind::Percent) => {
                        (start as f64 * (1.0 - v as f64 / 100.0)).trunc() as i64
                    }
                }
            })
            .collect();
        let limit = match (rules.select_policy, up) {
            (SelectPolicy::Disabled, _) => i64::from(cur),
            (SelectPolicy::Max, true) | (SelectPolicy::Min, false) => {
                proposals.iter().copied().max().unwrap_or(i64::from(cur))
            }
            (SelectPolicy::Min, true) | (SelectPolicy::Max, false) => {
                proposals.iter().copied().min().unwrap_or(i64::from(cur))
            }
        };
        limit.clamp(0, i64::from(u32::MAX)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ClusterConfig;

    fn hpa(yaml: &str) -> Hpa {
        let mut c = ClusterConfig::new();
        c.read(yaml, "hpa.yaml").expect("valid HPA");
        c.hpas.remove(0)
    }

    const BAND: Tolerance = Tolerance { down: 0.1, up: 0.1 };

    fn cpu(
        usage_milli: f64,
        request_milli: f64,
        ready: u32,
        unready: u32,
        missing: u32,
    ) -> Reading {
        Reading::Resource {
            usage_per_pod: usage_milli,
            request_per_pod: request_milli,
            ready,
            unready,
            missing,
        }
    }

    #[test]
    fn per_metric_proposals_follow_the_controller() {
        let u60 = Target::Utilization(60);
        // (target, reading, cur, expected)
        let cases: Vec<(Target, Reading, u32, Option<u32>)> = vec![
            // §1.8.4: 4 pods at 1820m of 2000m requested: U = 91 → ceil(91/60 × 4) = 7.
            (u60, cpu(455.0, 500.0, 4, 0, 0), 4, Some(7)),
            // The same with 3 unready pods: ratio2 = 52/60 < 1 flips direction → keep cur.
            (u60, cpu(455.0, 500.0, 4, 3, 0), 7, Some(7)),
            // Ready pods at 120%: U2 = floor(100 × 2400/3500) = 68 → ceil(68/60 × 7) = 8.
            (u60, cpu(600.0, 500.0, 4, 3, 0), 7, Some(8)),
            // Tolerance is inclusive: 66/60 = 1.1 exactly stays.
            (u60, cpu(330.0, 500.0, 10, 0, 0), 10, Some(10)),
            (u60, cpu(335.0, 500.0, 10, 0, 0), 10, Some(12)),
            // Truncation to whole percent: 59.9% → 59 → ratio 0.983 → in band.
            (u60, cpu(299.5, 500.0, 10, 0, 0), 10, Some(10)),
            // 0.9 exactly is inside; 53/60 = 0.883 is outside: ceil(0.883 × 10) = 9.
            (u60, cpu(270.0, 500.0, 10, 0, 0), 10, Some(10)),
            (u60, cpu(265.0, 500.0, 10, 0, 0), 10, Some(9)),
            // Scale-down with missing pods: they count at 100% of request → ratio2 > 1 flips.
            (u60, cpu(100.0, 500.0, 4, 0, 4), 8, Some(8)),
            // The fast path multiplies the ready count, not cur: ceil(2 × 5) = 10, not 16.
            (u60, cpu(600.0, 500.0, 5, 0, 0), 8, Some(10)),
            // External AverageValue (KEDA): band against statusReplicas, else ceil(v / target).
            (
                Target::AverageValue(100.0),
                Reading::Total {
                    value: 1050.0,
                    ready_pods: 3,
                    status_replicas: 10,
                },
                10,
                Some(10),
            ),
            (
                Target::AverageValue(100.0),
                Reading::Total {
                    value: 1250.0,
                    ready_pods: 3,
                    status_replicas: 10,
                },
                10,
                Some(13),
            ),
            // External Value: ratio × ready pods.
            (
                Target::Value(100.0),
                Reading::Total {
                    value: 300.0,
                    ready_pods: 4,
                    status_replicas: 6,
                },
                6,
                Some(12),
            ),
            // Pods AverageValue: missing pods count at the target on a scale-down.
            (
                Target::AverageValue(10.0),
                Reading::Pods {
                    value_per_pod: 5.0,
                    ready: 4,
                    unready: 0,
                    missing: 0,
                },
                4,
                Some(2),
            ),
            (Target::Utilization(60), Reading::Failed, 4, None),
        ];
        for (i, (target, reading, cur, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                proposal(&target, &reading, cur, BAND),
                expected,
                "case {i}: {reading:?}"
            );
        }
    }

    const BEHAVIOR_DOWN: &str = "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: reco}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: reco}
  minReplicas: 1
  maxReplicas: 100
  metrics:
  - type: External
    external:
      metric: {name: queue}
      target: {type: AverageValue, averageValue: '1'}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 0
      selectPolicy: Max
      policies:
      - {type: Pods, value: 4, periodSeconds: 60}
      - {type: Percent, value: 10, periodSeconds: 60}
";

    fn queue(v: f64, status: u32) -> Reading {
        Reading::Total {
            value: v,
            ready_pods: status,
            status_replicas: status,
        }
    }

    #[test]
    fn scale_down_policies_count_events_over_their_period() {
        // §1.8.4: 80 replicas, desired 10, Pods 4/60s and Percent 10/60s, Max → 72 first;
        // nothing more inside the period; then 64 after it.
        let mut c = HpaController::new(hpa(BEHAVIOR_DOWN));
        let d = c.reconcile(0.0, 80, &[queue(10.0, 80)]);
        assert_eq!(d, 72);
        assert_eq!(c.reconcile(15.0, 72, &[queue(10.0, 72)]), 72);
        assert_eq!(c.reconcile(45.0, 72, &[queue(10.0, 72)]), 72);
        assert_eq!(c.reconcile(60.0, 72, &[queue(10.0, 72)]), 64);
        // Below 40 replicas the Pods policy is the larger change.
        let mut c = HpaController::new(hpa(BEHAVIOR_DOWN));
        assert_eq!(c.reconcile(0.0, 30, &[queue(1.0, 30)]), 26);
    }

    #[test]
    fn stabilization_holds_the_highest_recent_recommendation() {
        let yaml = BEHAVIOR_DOWN
            .replace("stabilizationWindowSeconds: 0", "stabilizationWindowSeconds: 300")
            .replace(
                "      - {type: Pods, value: 4, periodSeconds: 60}\n      - {type: Percent, value: 10, periodSeconds: 60}\n",
                "      - {type: Percent, value: 100, periodSeconds: 15}\n",
            );
        let mut c = HpaController::new(hpa(&yaml));
        // The first reconcile seeds (10, 0): nothing below 10 while it is in the window.
        assert_eq!(c.reconcile(0.0, 10, &[queue(10.0, 10)]), 10);
        for (t, v) in [(15.0, 8.0), (30.0, 7.0), (45.0, 6.0), (60.0, 5.0)] {
            assert_eq!(c.reconcile(t, 10, &[queue(v, 10)]), 10, "t {t}");
        }
        // The window holds samples strictly after now - 300 s: at 299 s the 10s of t = 0 still
        // count; at 300 s they are out and the highest left is the 8 of t = 15.
        assert_eq!(c.reconcile(299.0, 10, &[queue(5.0, 10)]), 10);
        assert_eq!(c.reconcile(300.0, 10, &[queue(5.0, 10)]), 8);
    }

    #[test]
    fn scale_up_defaults_allow_the_larger_of_four_pods_and_double() {
        let yaml = BEHAVIOR_DOWN.replace(
            "  behavior:\n    scaleDown:",
            "  behavior:\n    scaleUp: {}\n    scaleDown:",
        );
        let mut c = HpaController::new(hpa(&yaml));
        // From 3: Pods 4 → 7, Percent 100 → 6, Max → 7.
        assert_eq!(c.reconcile(0.0, 3, &[queue(50.0, 3)]), 7);
        // Within the 15 s period the start is 3 again: no more.
        assert_eq!(c.reconcile(10.0, 7, &[queue(50.0, 7)]), 7);
        // After it, from 7: 11 or 14 → 14.
        assert_eq!(c.reconcile(15.0, 7, &[queue(50.0, 7)]), 14);
        // selectPolicy Min takes the smaller.
        let min = yaml.replace("scaleUp: {}", "scaleUp: {selectPolicy: Min}");
        let mut c = HpaController::new(hpa(&min));
        assert_eq!(c.reconcile(0.0, 3, &[queue(50.0, 3)]), 6);
        // Disabled: never up.
        let off = yaml.replace("scaleUp: {}", "scaleUp: {selectPolicy: Disabled}");
        let mut c = HpaController::new(hpa(&off));
        assert_eq!(c.reconcile(0.0, 3, &[queue(50.0, 3)]), 3);
    }

    const LEGACY: &str = "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: reco}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: reco}
  minReplicas: 2
  maxReplicas: 50
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
";

    #[test]
    fn the_legacy_path_doubles_or_adds_four_and_holds_five_minutes() {
        let mut c = HpaController::new(hpa(LEGACY));
        // 2 pods at 500% → want 20; the limit is max(2 × 2, 4) = 4.
        assert_eq!(c.reconcile(0.0, 2, &[cpu(2500.0, 500.0, 2, 0, 0)]), 4);
        // From 4 at the same load per pod: want 40, allowed 8.
        assert_eq!(c.reconcile(15.0, 4, &[cpu(2500.0, 500.0, 4, 0, 0)]), 8);
        // Load gone: the legacy path takes the maximum recommendation of the last 300 s (40),
        // so it keeps climbing toward it, doubling per sync: 16, 32, 40.
        let mut cur = 8;
        for (t, want) in [(30.0, 16), (45.0, 32), (60.0, 40)] {
            cur = c.reconcile(t, cur, &[cpu(50.0, 500.0, cur, 0, 0)]);
            assert_eq!(cur, want, "t {t}");
        }
        // It holds 40 while the 40 of t = 15 is in the window (not before now - 300 s), then
        // drops to the highest proposal since: ceil(0.2 × 40) = 8.
        for t in (75..=315).step_by(15) {
            cur = c.reconcile(f64::from(t), cur, &[cpu(50.0, 500.0, cur, 0, 0)]);
            assert_eq!(cur, 40, "t {t}");
        }
        cur = c.reconcile(330.0, cur, &[cpu(50.0, 500.0, cur, 0, 0)]);
        assert_eq!(cur, 8);
    }

    #[test]
    fn bounds_and_failed_metrics() {
        let mut c = HpaController::new(hpa(LEGACY));
        // cur above max or below min: corrected without metrics.
        assert_eq!(c.reconcile(0.0, 80, &[Reading::Failed]), 50);
        assert_eq!(c.reconcile(15.0, 1, &[Reading::Failed]), 2);
        // Every metric failed: no action.
        assert_eq!(c.reconcile(30.0, 10, &[Reading::Failed]), 10);
        // cur = 0: disabled.
        assert_eq!(c.reconcile(45.0, 0, &[cpu(2500.0, 500.0, 2, 0, 0)]), 0);
        // Two metrics, one failed: a scale-down is blocked, a scale-up goes through.
        let two = LEGACY.replace(
            "  metrics:\n",
            "  metrics:\n  - type: External\n    external: {metric: {name: q}, target: {type: AverageValue, averageValue: '10'}}\n",
        );
        let mut c = HpaController::new(hpa(&two));
        assert_eq!(
            c.reconcile(0.0, 10, &[queue(10.0, 10), Reading::Failed]),
            10
        );
        assert_eq!(
            c.reconcile(15.0, 10, &[queue(300.0, 10), Reading::Failed]),
            20
        );
    }
}
