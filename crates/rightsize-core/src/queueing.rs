//! Queueing arithmetic shared by the telemetry generator, the capacity model and the simulator:
//! Erlang C and the sojourn-time tail of an M/G/c queue whose waiting time is taken from
//! M/M/c (landscape.md §9: `P(T > t) = (1 − C)·P(S > t) + C·P(W + S > t)`, `W ~ Exp(cμ − λ)`).

use serde::Serialize;

/// Probability that an arrival waits in an M/M/c queue with `servers` servers and offered load
/// `a = λ/μ` Erlangs (Erlang C). 1 when `a >= servers` (the queue grows without bound).
pub fn erlang_c(servers: u32, a: f64) -> f64 {
    let c = f64::from(servers.max(1));
    if a.is_nan() || a <= 0.0 {
        return 0.0;
    }
    if a >= c {
        return 1.0;
    }
    // Erlang B by its stable recursion, then C from B.
    let mut b = 1.0;
    for k in 1..=servers.max(1) {
        b = a * b / (f64::from(k) + a * b);
    }
    let denominator = c - a * (1.0 - b);
    if denominator <= 0.0 {
        1.0
    } else {
        (c * b / denominator).clamp(0.0, 1.0)
    }
}

/// A service-time distribution as weighted points (milliseconds, weight), e.g. a latency
/// histogram's buckets from low-load minutes, or the quantiles of a parametric law.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceTime {
    /// `(milliseconds, weight)`, ascending by milliseconds; weights sum to 1.
    points: Vec<(f64, f64)>,
    mean_ms: f64,
    /// `suffix[k]`: the weight of points `k..`, so that `P(S > t)` is one binary search.
    #[serde(skip)]
    suffix: Vec<f64>,
}

/// Beyond this many mean waits a point's share of `P(W + S > t)` is below e^-40 and is not
/// summed.
const NEGLIGIBLE_EXPONENT: f64 = 40.0;

impl ServiceTime {
    /// A distribution from weighted points; `None` when no point has positive weight.
    pub fn from_points(points: impl IntoIterator<Item = (f64, f64)>) -> Option<ServiceTime> {
        let mut pts: Vec<(f64, f64)> = points
            .into_iter()
            .filter(|(v, w)| v.is_finite() && *v >= 0.0 && w.is_finite() && *w > 0.0)
            .collect();
        let total: f64 = pts.iter().map(|p| p.1).sum();
        if pts.is_empty() || total <= 0.0 {
            return None;
        }
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        for p in &mut pts {
            p.1 /= total;
        }
        let mean_ms = pts.iter().map(|(v, w)| v * w).sum();
        let mut suffix = vec![0.0; pts.len() + 1];
        for k in (0..pts.len()).rev() {
            suffix[k] = suffix[k + 1] + pts[k].1;
        }
        Some(ServiceTime {
            points: pts,
            mean_ms,
            suffix,
        })
    }

    /// A log-normal law with the given median and log-space standard deviation, as 400
    /// equal-weight quantile points.
    pub fn lognormal(median_ms: f64, sigma: f64) -> ServiceTime {
        let n = 400;
        let points = (0..n).map(|i| {
            let p = (f64::from(i) + 0.5) / f64::from(n);
            (median_ms * (sigma * normal_quantile(p)).exp(), 1.0)
        });
        ServiceTime::from_points(points).unwrap_or(ServiceTime {
            points: vec![(median_ms, 1.0)],
            mean_ms: median_ms,
            suffix: vec![1.0, 0.0],
        })
    }

    /// The points, `(milliseconds, weight)`, ascending; weights sum to 1.
    pub fn points(&self) -> &[(f64, f64)] {
        &self.points
    }

    /// Mean service time, milliseconds.
    pub fn mean_ms(&self) -> f64 {
        self.mean_ms
    }

    /// Service rate of one server, requests per second.
    pub fn rate_per_server(&self) -> f64 {
        if self.mean_ms > 0.0 {
            1000.0 / self.mean_ms
        } else {
            f64::INFINITY
        }
    }

    /// Index of the first point above `t_ms`.
    fn above(&self, t_ms: f64) -> usize {
        self.points.partition_point(|(v, _)| *v <= t_ms)
    }

    /// `P(S > t)`.
    fn tail(&self, t_ms: f64) -> f64 {
        self.suffix[self.above(t_ms)]
    }

    /// `P(W + S > t)` with `W ~ Exp(theta)` per millisecond, for many `t` at one `theta`.
    fn wait_tail(&self, theta_per_ms: f64) -> WaitTail<'_> {
        let (first, last) = (self.points.first().map_or(0.0, |p| p.0), self.max_ms());
        // With every point within 600 mean waits of the largest, `e^(theta (v - last))` stays in
        // f64's range: one exponential per point, prefix sums, and each `t` is a binary search.
        let prefix = (theta_per_ms * (last - first) <= 600.0).then(|| {
            let mut prefix = Vec::with_capacity(self.points.len() + 1);
            let mut sum = 0.0;
            prefix.push(0.0);
            for &(v, w) in &self.points {
                sum += w * (theta_per_ms * (v - last)).exp();
                prefix.push(sum);
            }
            prefix
        });
        WaitTail {
            service: self,
            theta_per_ms,
            last,
            prefix,
        }
    }

    /// The largest point, milliseconds.
    fn max_ms(&self) -> f64 {
        self.points.last().map_or(0.0, |p| p.0)
    }
}

/// `P(W + S > t)` at one `theta`, see [`ServiceTime::wait_tail`].
struct WaitTail<'a> {
    service: &'a ServiceTime,
    theta_per_ms: f64,
    last: f64,
    /// `prefix[k]`: the sum over points `..k` of `w e^(theta (v - last))`.
    prefix: Option<Vec<f64>>,
}

impl WaitTail<'_> {
    /// Points above `t` count whole, points below it by `e^(-theta (t - v))`.
    fn at(&self, t_ms: f64) -> f64 {
        let s = self.service;
        let k = s.above(t_ms);
        let whole = s.suffix[k];
        if let Some(prefix) = &self.prefix {
            return whole + (self.theta_per_ms * (self.last - t_ms)).exp() * prefix[k];
        }
        // A steep wait: only the points just below `t` count; sum down until negligible.
        let mut sum = whole;
        for &(v, w) in s.points[..k].iter().rev() {
            let exponent = self.theta_per_ms * (t_ms - v);
            if exponent > NEGLIGIBLE_EXPONENT {
                break;
            }
            sum += w * (-exponent).exp();
        }
        sum
    }
}

/// A pod as a queue: `servers` requests in service at once, each taking [`ServiceTime`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodQueue {
    /// Concurrent requests a pod serves (worker threads, model replicas, max in-flight).
    pub servers: u32,
    /// Service-time law of one request.
    pub service: ServiceTime,
}

impl PodQueue {
    /// The rate at which the pod saturates, `servers × μ`, requests per second.
    pub fn saturation_rps(&self) -> f64 {
        f64::from(self.servers) * self.service.rate_per_server()
    }

    /// `P(T > t)` for each `t` of `ts_ms`: the share of requests slower than it at `rps`
    /// arrivals per second (all 1 at or beyond saturation).
    pub fn latency_tails(&self, rps: f64, ts_ms: &[f64]) -> Vec<f64> {
        match self.response_tail(rps) {
            Some(tail) => ts_ms.iter().map(|&t| tail(t)).collect(),
            None => vec![1.0; ts_ms.len()],
        }
    }

    /// `t ↦ P(T > t)` at `rps` arrivals per second, the wait tabulated once (§9's M/G/c
    /// approximation); `None` at or beyond saturation.
    fn response_tail(&self, rps: f64) -> Option<impl Fn(f64) -> f64 + '_> {
        let a = rps.max(0.0) / self.service.rate_per_server();
        if a >= f64::from(self.servers) {
            return None;
        }
        let c = erlang_c(self.servers, a);
        let wait = self
            .service
            .wait_tail((self.saturation_rps() - rps.max(0.0)) / 1000.0);
        Some(move |t: f64| (1.0 - c) * self.service.tail(t) + c * wait.at(t))
    }

    /// The `q`-quantile of the response time (wait plus service) at `rps` arrivals per second,
    /// milliseconds; `None` at or beyond saturation.
    pub fn latency_quantile_ms(&self, rps: f64, q: f64) -> Option<f64> {
        self.latency_quantiles_ms(rps, &[q])[0]
    }

    /// Several quantiles at one rate, sharing the wait's tabulation.
    pub fn latency_quantiles_ms(&self, rps: f64, qs: &[f64]) -> Vec<Option<f64>> {
        let Some(tail) = self.response_tail(rps) else {
            return vec![None; qs.len()];
        };
        let points = self.service.points();
        qs.iter()
            .map(|&q| {
                let target = 1.0 - q;
                // P(T > t) >= P(S > t): the response time's quantile is at least the service
                // time's, so the search starts just below that point.
                let k = self.service.suffix[1..].partition_point(|&rest| rest > target);
                let mut lo = points.get(k).map_or(0.0, |p| p.0 * (1.0 - 1e-9));
                let mut hi = self.service.max_ms().max(lo * 1.5).max(1e-3);
                while tail(hi) > target {
                    lo = hi;
                    hi *= 2.0;
                    if hi > 1e9 {
                        return None;
                    }
                }
                // Bisection to a relative precision of 1e-6, far below any histogram's
                // resolution.
                for _ in 0..100 {
                    if hi - lo <= 1e-6 * hi {
                        break;
                    }
                    let mid = 0.5 * (lo + hi);
                    if tail(mid) > target {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                Some(hi)
            })
            .collect()
    }

    /// The largest arrival rate whose `q`-quantile response time is at most `slo_ms`; 0 when
    /// even an idle pod misses it.
    pub fn max_rps_within(&self, slo_ms: f64, q: f64) -> f64 {
        let meets = |rps: f64| {
            self.latency_quantile_ms(rps, q)
                .is_some_and(|l| l <= slo_ms)
        };
        if !meets(0.0) {
            return 0.0;
        }
        let (mut lo, mut hi) = (0.0, self.saturation_rps());
        let precision = 1e-6 * hi;
        for _ in 0..100 {
            if hi - lo <= precision {
                break;
            }
            let mid = 0.5 * (lo + hi);
            if meets(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let low = 0.02425;
    if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn erlang_c_matches_known_values() {
        // One server: C = ρ.
        assert!((erlang_c(1, 0.7) - 0.7).abs() < 1e-12);
        // c = 2, a = 1: C = 1/3.
        assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
        // c = 10, a = 8: 0.409 (standard tables).
        assert!((erlang_c(10, 8.0) - 0.4092).abs() < 1e-3);
        assert_eq!(erlang_c(4, 4.0), 1.0);
        assert_eq!(erlang_c(4, 0.0), 0.0);
    }

    #[test]
    fn both_ways_of_summing_the_wait_agree_with_the_definition() {
        let service = ServiceTime::lognormal(40.0, 0.5);
        // Shallow waits take the prefix sums, steep ones the truncated direct sum.
        let range = service.max_ms() - service.points()[0].0;
        for theta in [1e-4, 0.01, 0.2, 3.0, 50.0] {
            let wait = service.wait_tail(theta);
            assert_eq!(
                wait.prefix.is_some(),
                theta * range <= 600.0,
                "theta {theta}"
            );
            for t in [0.0, 5.0, 20.0, 40.0, 41.3, 90.0, 400.0, 5_000.0] {
                let exact: f64 = service
                    .points()
                    .iter()
                    .map(|&(v, w)| {
                        if v > t {
                            w
                        } else {
                            w * (-theta * (t - v)).exp()
                        }
                    })
                    .sum();
                let got = wait.at(t);
                assert!(
                    (got - exact).abs() <= 1e-12 + 1e-9 * exact,
                    "theta {theta}, t {t}: {got} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn mm1_p99_is_the_closed_form() {
        // An exponential service law as dense quantile points: M/M/1 p99 = ln(100)/(μ − λ).
        let n = 20_000;
        let mean_ms = 20.0;
        let service = ServiceTime::from_points((0..n).map(|i| {
            let p = (f64::from(i) + 0.5) / f64::from(n);
            (-mean_ms * (1.0 - p).ln(), 1.0)
        }))
        .expect("points");
        let q = PodQueue {
            servers: 1,
            service,
        };
        let mu = 50.0;
        for rho in [0.5, 0.7, 0.8] {
            let l = q.latency_quantile_ms(rho * mu, 0.99).expect("stable");
            let exact = 1000.0 * 100f64.ln() / (mu - rho * mu);
            assert!((l - exact).abs() / exact < 0.01, "ρ={rho}: {l} vs {exact}");
        }
        assert!(q.latency_quantile_ms(q.saturation_rps(), 0.99).is_none());
    }

    #[test]
    fn the_worked_example_of_the_landscape_has_a_knee() {
        // landscape.md §9: c = 4, E[S] = 20 ms exponential: p99 92.5 ms at ρ 0.3, 137.9 at 0.8.
        let n = 20_000;
        let service = ServiceTime::from_points((0..n).map(|i| {
            let p = (f64::from(i) + 0.5) / f64::from(n);
            (-20.0 * (1.0 - p).ln(), 1.0)
        }))
        .expect("points");
        let q = PodQueue {
            servers: 4,
            service,
        };
        for (rho, expected) in [(0.3, 92.5), (0.8, 137.9), (0.9, 243.9)] {
            let l = q.latency_quantile_ms(rho * 200.0, 0.99).expect("stable");
            assert!((l - expected).abs() / expected < 0.01, "ρ={rho}: {l}");
        }
        let max = q.max_rps_within(120.1, 0.99);
        assert!((max / 200.0 - 0.75).abs() < 0.01, "{max}");
    }

    #[test]
    fn normal_quantiles() {
        assert!(normal_quantile(0.5).abs() < 1e-9);
        assert!((normal_quantile(0.99) - 2.326_347_874).abs() < 1e-6);
        assert!((normal_quantile(0.025) + 1.959_963_985).abs() < 1e-6);
    }

    proptest! {
        #[test]
        fn more_load_never_lowers_p99(servers in 1u32..16, rho_a in 0.0f64..0.95, rho_b in 0.0f64..0.95) {
            let q = PodQueue { servers, service: ServiceTime::lognormal(15.0, 0.4) };
            let (lo, hi) = if rho_a <= rho_b { (rho_a, rho_b) } else { (rho_b, rho_a) };
            let sat = q.saturation_rps();
            let a = q.latency_quantile_ms(lo * sat, 0.99).expect("stable");
            let b = q.latency_quantile_ms(hi * sat, 0.99).expect("stable");
            prop_assert!(b >= a - 1e-6, "{a} > {b}");
        }
    }
}
