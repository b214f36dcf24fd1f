//! KEDA as the simulator runs it (autoscaling-semantics §5): the HPA a ScaledObject creates
//! (`min = max(minReplicaCount, 1)`, one External AverageValue metric per trigger, cpu/memory as
//! Resource metrics), cron windows as replica floors (active iff the next end fires before the
//! next start, in the trigger's zone), and the executor's activation and cooldown that move
//! between 0 and N outside the HPA.

use crate::cluster::hpa::{Hpa, Metric, MetricIdentifier, MetricSource, ObjectMeta, Target};
use crate::cluster::hpa::{TargetRef, TargetType};
use crate::cluster::keda::{Fallback, ScaledObject, Trigger};

/// One field of a five-field cron expression: the values it matches, and whether it was `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    bits: u64,
    star: bool,
}

fn names(field: usize) -> &'static [&'static str] {
    match field {
        3 => &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ],
        4 => &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
        _ => &[],
    }
}

/// A number, or a month (JAN = 1) or weekday (SUN = 0) name: `lo` is the field's first value.
fn parse_value(text: &str, field: usize, lo: u32) -> Option<u32> {
    if let Ok(v) = text.parse::<u32>() {
        return Some(v);
    }
    names(field)
        .iter()
        .position(|n| n.eq_ignore_ascii_case(text))
        .map(|i| i as u32 + lo)
}

fn parse_field(text: &str, field: usize) -> Result<Field, String> {
    let (lo, hi) = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)][field];
    let mut bits = 0u64;
    let mut star = false;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or(format!("bad step in {part:?}"))?,
            ),
            None => (part, 1),
        };
        let (a, b) = if range == "*" || range == "?" {
            star = star || step == 1;
            (lo, hi.min(if field == 4 { 6 } else { hi }))
        } else if let Some((a, b)) = range.split_once('-') {
            (
                parse_value(a, field, lo).ok_or(format!("bad value {a:?}"))?,
                parse_value(b, field, lo).ok_or(format!("bad value {b:?}"))?,
            )
        } else {
            let v = parse_value(range, field, lo).ok_or(format!("bad value {range:?}"))?;
            (v, if part.contains('/') { hi } else { v })
        };
        if a < lo || b > hi || a > b {
            return Err(format!("{part:?} is outside {lo}-{hi}"));
        }
        let mut v = a;
        while v <= b {
            // Day of week 7 is Sunday, as 0.
            let bit = if field == 4 && v == 7 { 0 } else { v };
            bits |= 1 << bit;
            v += step;
        }
    }
    Ok(Field { bits, star })
}

/// A five-field cron expression (minute hour day-of-month month day-of-week), matched as
/// robfig/cron (KEDA's parser) does: names for months and weekdays, lists, ranges, steps; when
/// both day fields are restricted, either may match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    fields: [Field; 5],
}

impl Cron {
    /// Parses an expression.
    pub fn parse(text: &str) -> Result<Cron, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!(
                "{text:?}: expected five fields (minute hour day-of-month month day-of-week)"
            ));
        }
        let mut fields = Vec::with_capacity(5);
        for (i, p) in parts.iter().enumerate() {
            fields.push(parse_field(p, i).map_err(|e| format!("{text:?}: {e}"))?);
        }
        let fields: [Field; 5] = fields
            .try_into()
            .map_err(|_| format!("{text:?}: expected five fields"))?;
        Ok(Cron { fields })
    }

    /// Whether it fires at a local minute.
    pub fn matches(&self, minute: u32, hour: u32, day: u32, month: u32, weekday: u32) -> bool {
        let has = |f: &Field, v: u32| f.bits & (1 << v) != 0;
        let [mi, h, dom, mo, dow] = &self.fields;
        let day_ok = if dom.star || dow.star {
            has(dom, day) && has(dow, weekday)
        } else {
            has(dom, day) || has(dow, weekday)
        };
        has(mi, minute) && has(h, hour) && has(mo, month) && day_ok
    }
}

/// For each minute from `start_unix_minute` on, whether a cron window is active during it:
/// the next `end` firing comes before the next `start` firing (KEDA's cron scaler), evaluated
/// in `tz`. Firings up to eight days past the span count, so that a weekly window is known.
pub fn cron_activity(
    start: &Cron,
    end: &Cron,
    tz: &jiff::tz::TimeZone,
    start_unix_minute: i64,
    minutes: usize,
) -> Vec<bool> {
    let horizon = minutes + 8 * 1440;
    let fires = |m: usize| -> (bool, bool) {
        let Ok(ts) = jiff::Timestamp::from_second((start_unix_minute + m as i64) * 60) else {
            return (false, false);
        };
        let z = ts.to_zoned(tz.clone());
        let args = (
            z.minute() as u32,
            z.hour() as u32,
            z.day() as u32,
            z.month() as u32,
            z.weekday().to_sunday_zero_offset() as u32,
        );
        (
            start.matches(args.0, args.1, args.2, args.3, args.4),
            end.matches(args.0, args.1, args.2, args.3, args.4),
        )
    };
    let mut active = vec![false; minutes];
    let (mut next_start, mut next_end) = (usize::MAX, usize::MAX);
    // Walk back from the horizon: during minute m (after its first second) the next firings
    // are the earliest at m + 1 or later. KEDA: inactive when the next start comes strictly
    // before the next end, active otherwise.
    for m in (0..horizon).rev() {
        if m < minutes {
            active[m] = next_end != usize::MAX && next_end <= next_start;
        }
        let (s, e) = fires(m);
        if s {
            next_start = m;
        }
        if e {
            next_end = m;
        }
    }
    active
}

/// The HPA KEDA creates for a ScaledObject: bounds, one metric per trigger (in trigger order),
/// the ScaledObject's behavior (the legacy path when it gives none).
pub fn hpa_of(so: &ScaledObject) -> Hpa {
    let metrics = so
        .triggers
        .iter()
        .enumerate()
        .map(|(i, t)| match t {
            Trigger::Prometheus {
                threshold,
                metric_type,
                ..
            } => Metric {
                source: MetricSource::External {
                    metric: MetricIdentifier {
                        name: format!("s{i}-prometheus"),
                        selector: None,
                    },
                },
                target: match metric_type {
                    TargetType::Value => Target::Value(*threshold),
                    _ => Target::AverageValue(*threshold),
                },
            },
            Trigger::Resource {
                name,
                metric_type,
                value,
            } => Metric {
                source: MetricSource::Resource {
                    name: name.clone(),
                    container: None,
                },
                target: match metric_type {
                    TargetType::Utilization => Target::Utilization(value.round() as u32),
                    _ => Target::AverageValue(*value),
                },
            },
            Trigger::Cron { .. } => Metric {
                source: MetricSource::External {
                    metric: MetricIdentifier {
                        name: format!("s{i}-cron"),
                        selector: None,
                    },
                },
                target: Target::AverageValue(1.0),
            },
            Trigger::Other { kind } => Metric {
                source: MetricSource::External {
                    metric: MetricIdentifier {
                        name: format!("s{i}-{kind}"),
                        selector: None,
                    },
                },
                target: Target::AverageValue(1.0),
            },
        })
        .collect();
    Hpa {
        metadata: ObjectMeta {
            name: format!("keda-hpa-{}", so.metadata.name),
            namespace: so.metadata.namespace.clone(),
        },
        api_version: "autoscaling/v2".into(),
        scale_target: TargetRef {
            api_version: Some("apps/v1".into()),
            kind: so.scale_target.0.clone(),
            name: so.scale_target.1.clone(),
        },
        min_replicas: so.min_replica_count.max(1),
        max_replicas: so.max_replica_count,
        metrics,
        behavior: so.hpa_behavior.clone(),
        defaulted: Vec::new(),
    }
}

/// KEDA's scale executor for one ScaledObject (§5.2): every `pollingInterval`, 0 → N when a
/// trigger is active, N → 0 (or the idle count) after `cooldownPeriod` without activity.
#[derive(Debug, Clone)]
pub struct KedaExecutor {
    min: u32,
    idle: Option<u32>,
    cooldown_s: f64,
    last_active_s: Option<f64>,
}

impl KedaExecutor {
    /// The executor of `so`.
    pub fn new(so: &ScaledObject) -> Self {
        KedaExecutor {
            min: so.min_replica_count,
            idle: so.idle_replica_count,
            cooldown_s: f64::from(so.cooldown_period_s),
            last_active_s: None,
        }
    }

    /// One poll at `now_s` with the target at `replicas` and `active` (any trigger active):
    /// the replicas KEDA writes, or `None` when it leaves them to the HPA.
    pub fn poll(&mut self, now_s: f64, replicas: u32, active: bool) -> Option<u32> {
        if active {
            self.last_active_s = Some(now_s);
            let idle_below_min = self.idle.is_some() && replicas < self.min;
            return (replicas == 0 || idle_below_min).then_some(self.min.max(1));
        }
        let floor = self.idle.unwrap_or(0);
        let may_idle = (self.idle.is_some() && replicas > floor) || (replicas > 0 && self.min == 0);
        if may_idle {
            let since = self.last_active_s.unwrap_or(0.0);
            if now_s > since + self.cooldown_s {
                return Some(floor);
            }
        } else if self.idle.is_none() && replicas < self.min {
            return Some(self.min);
        }
        None
    }
}

/// The value KEDA reports for a trigger in fallback (§5.5), so that the HPA computes the
/// fallback's replicas: `target × replicas` for `AverageValue`, `target × replicas / ready`
/// for `Value` (`None` without ready pods, where KEDA aborts, or for other targets). `cur` is
/// the current replica count its behavior combines with.
pub fn fallback_value(fb: &Fallback, target: &Target, cur: u32, ready: u32) -> Option<f64> {
    let replicas = match fb.behavior.as_str() {
        "currentReplicas" => cur,
        "currentReplicasIfHigher" => cur.max(fb.replicas),
        "currentReplicasIfLower" => cur.min(fb.replicas),
        _ => fb.replicas,
    };
    match *target {
        Target::AverageValue(t) => Some(t * f64::from(replicas)),
        Target::Value(t) if ready > 0 => Some(t * f64::from(replicas) / f64::from(ready)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_values_make_the_hpa_ask_for_the_fallback_replicas() {
        let fb = |replicas: u32, behavior: &str| Fallback {
            failure_threshold: 3,
            replicas,
            behavior: behavior.into(),
        };
        // (fallback, target, current replicas, ready pods, value)
        let cases = [
            (
                fb(6, "static"),
                Target::AverageValue(20.0),
                2,
                2,
                Some(120.0),
            ),
            (
                fb(6, "currentReplicas"),
                Target::AverageValue(20.0),
                3,
                3,
                Some(60.0),
            ),
            (
                fb(6, "currentReplicasIfHigher"),
                Target::AverageValue(1.0),
                9,
                9,
                Some(9.0),
            ),
            (
                fb(6, "currentReplicasIfHigher"),
                Target::AverageValue(1.0),
                2,
                2,
                Some(6.0),
            ),
            (
                fb(6, "currentReplicasIfLower"),
                Target::AverageValue(1.0),
                9,
                9,
                Some(6.0),
            ),
            (
                fb(6, "currentReplicasIfLower"),
                Target::AverageValue(1.0),
                2,
                2,
                Some(2.0),
            ),
            // Value: divided by the ready pods, so that ratio × ready = replicas.
            (fb(6, "static"), Target::Value(10.0), 4, 3, Some(20.0)),
            (fb(6, "static"), Target::Value(10.0), 4, 0, None),
            (fb(6, "static"), Target::Utilization(50), 4, 4, None),
        ];
        for (i, (f, target, cur, ready, want)) in cases.iter().enumerate() {
            assert_eq!(fallback_value(f, target, *cur, *ready), *want, "case {i}");
        }
    }

    fn cron(s: &str) -> Cron {
        Cron::parse(s).expect("valid cron")
    }

    #[test]
    fn cron_fields_parse_and_match() {
        // (expression, minute, hour, day, month, weekday(0 = Sunday), matches)
        let cases = [
            ("0 8 * * *", 0, 8, 5, 3, 2, true),
            ("0 8 * * *", 1, 8, 5, 3, 2, false),
            ("*/15 * * * *", 45, 3, 1, 1, 0, true),
            ("*/15 * * * *", 44, 3, 1, 1, 0, false),
            ("0 22 * * mon-fri", 0, 22, 7, 1, 5, true),
            ("0 22 * * MON-FRI", 0, 22, 7, 1, 6, false),
            ("0 9 * * 7", 0, 9, 7, 1, 0, true),
            ("30 6 1,15 * *", 30, 6, 15, 4, 3, true),
            ("30 6 1,15 * *", 30, 6, 14, 4, 3, false),
            // Both day fields restricted: either matches.
            ("0 0 1 * mon", 0, 0, 9, 6, 1, true),
            ("0 0 1 * mon", 0, 0, 1, 6, 4, true),
            ("0 0 1 * mon", 0, 0, 2, 6, 4, false),
            ("0 12 * jan,dec sat", 0, 12, 3, 12, 6, true),
        ];
        for (expr, mi, h, d, mo, wd, want) in cases {
            assert_eq!(
                cron(expr).matches(mi, h, d, mo, wd),
                want,
                "{expr} at {mi} {h} {d} {mo} {wd}"
            );
        }
        for bad in [
            "0 8 * *",
            "61 * * * *",
            "0 8 * * funday",
            "*/0 * * * *",
            "5-1 * * * *",
        ] {
            assert!(Cron::parse(bad).is_err(), "{bad}");
        }
    }

    /// Monday 2025-11-24T00:00:00Z as a Unix minute.
    const MONDAY: i64 = 1_763_942_400 / 60;

    #[test]
    fn windows_cross_midnight_skip_weekends_and_follow_the_zone() {
        let utc = jiff::tz::TimeZone::UTC;
        // 22:00-06:00 every day: active from the start minute to the end minute.
        let a = cron_activity(
            &cron("0 22 * * *"),
            &cron("0 6 * * *"),
            &utc,
            MONDAY,
            3 * 1440,
        );
        assert!(a[0], "Monday 00:00 lies in Sunday night's window");
        assert!(a[5 * 60 + 59] && !a[6 * 60]);
        assert!(!a[21 * 60 + 59] && a[22 * 60]);
        assert!(a[1440 + 3 * 60]);
        // KEDA's rule looks only at the next firings, so a start on weekdays with an end every
        // day leaves the weekend active: after Saturday's 06:00 the next end (Sunday 06:00)
        // still comes before the next start (Monday 22:00). Monday daytime is inactive.
        let week = cron_activity(
            &cron("0 22 * * mon-fri"),
            &cron("0 6 * * *"),
            &utc,
            MONDAY,
            7 * 1440,
        );
        let at = |day: usize, h: usize| week[day * 1440 + h * 60];
        assert!(at(0, 3) && !at(0, 6) && !at(0, 21) && at(0, 22));
        assert!(at(4, 23) && at(5, 5) && at(5, 6) && at(5, 23) && at(6, 12));
        // In a zone: 08:00-18:00 Europe/Berlin is 07:00-17:00 UTC in November.
        let berlin = jiff::tz::TimeZone::get("Europe/Berlin").expect("bundled zone");
        let b = cron_activity(
            &cron("0 8 * * *"),
            &cron("0 18 * * *"),
            &berlin,
            MONDAY,
            1440,
        );
        assert!(!b[6 * 60 + 59] && b[7 * 60] && b[16 * 60 + 59] && !b[17 * 60]);
    }

    #[test]
    fn the_executor_activates_and_cools_down() {
        let so_yaml = "apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: reco}
spec:
  scaleTargetRef: {name: reco}
  cooldownPeriod: 300
  triggers:
  - type: cron
    metadata: {timezone: UTC, start: '0 8 * * *', end: '0 18 * * *', desiredReplicas: '10'}
";
        let mut c = crate::cluster::ClusterConfig::new();
        c.read(so_yaml, "so.yaml").expect("valid");
        let so = &c.scaled_objects[0];
        let hpa = hpa_of(so);
        assert_eq!((hpa.min_replicas, hpa.max_replicas), (1, 100));
        assert_eq!(hpa.metrics[0].target, Target::AverageValue(1.0));
        let mut e = KedaExecutor::new(so);
        assert_eq!(e.poll(0.0, 0, true), Some(1), "0 → max(min, 1)");
        assert_eq!(e.poll(30.0, 5, true), None, "1..N is the HPA's");
        assert_eq!(e.poll(60.0, 5, false), None, "cooling down");
        assert_eq!(
            e.poll(330.0, 5, false),
            None,
            "300 s after the last activity: not yet"
        );
        assert_eq!(e.poll(331.0, 5, false), Some(0), "then straight to zero");
    }
}
