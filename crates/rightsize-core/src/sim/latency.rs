//! Latency of simulated seconds: the capacity model's pod queue tabulated once over load levels
//! and a log grid of latencies, so that a step costs one table index, and a window's
//! percentiles come from the request-weighted mixture of the levels it visited.

use crate::queueing::PodQueue;

/// Load levels between idle and saturation.
const LEVELS: usize = 256;
/// Latency grid points.
const GRID: usize = 256;
/// Highest load tabulated, as a fraction of saturation; above it a pod is overloaded.
pub const MAX_UTILISATION: f64 = 0.98;

/// `P(T > t)` over a grid of `t` for each load level of one pod queue.
#[derive(Debug, Clone)]
pub struct LatencyTable {
    /// Saturation of one pod, requests per second.
    pub saturation_rps: f64,
    /// Latency grid, milliseconds, ascending (log-spaced).
    grid_ms: Vec<f64>,
    /// `log_tails[level * GRID + g]`: the log of the share slower than `grid_ms[g]` at that
    /// level (logs, because windows interpolate them).
    log_tails: Vec<f64>,
    /// Latency an overloaded pod's requests are counted at (a timeout), milliseconds.
    pub overload_ms: f64,
    /// `ln` of the first grid point and of the ratio between neighbours.
    log_first: f64,
    log_step: f64,
    /// Levels per request per second (the step's multiplier, instead of a division).
    levels_per_rps: f64,
    /// The p50 and p99 of each level alone, for windows that stay at one load.
    p50_ms: Vec<f64>,
    p99_ms: Vec<f64>,
}

/// Levels a window may span and still be read from its mean level's precomputed quantiles:
/// four levels are 1.5% of the saturating load, where latency moves by less than that.
const NARROW_LEVELS: u16 = 4;

impl LatencyTable {
    /// Tabulates `queue`; requests to an overloaded pod count at `overload_ms`.
    pub fn new(queue: &PodQueue, overload_ms: f64) -> LatencyTable {
        let saturation_rps = queue.saturation_rps();
        let first = queue
            .service
            .points()
            .first()
            .map_or(1.0, |p| p.0)
            .max(0.01);
        let last = overload_ms.max(first * 10.0);
        let grid_ms: Vec<f64> = (0..GRID)
            .map(|g| first * (last / first).powf(g as f64 / (GRID - 1) as f64))
            .collect();
        let mut tails = Vec::with_capacity(LEVELS * GRID);
        for level in 0..LEVELS {
            tails.extend(
                queue
                    .latency_tails(Self::level_rps(saturation_rps, level), &grid_ms)
                    .into_iter()
                    .map(|p| p.max(1e-300).ln()),
            );
        }
        let mut table = LatencyTable {
            saturation_rps,
            grid_ms,
            log_tails: tails,
            overload_ms,
            levels_per_rps: (LEVELS - 1) as f64 / (saturation_rps * MAX_UTILISATION),
            log_first: first.ln(),
            log_step: (last / first).ln() / (GRID - 1) as f64,
            p50_ms: Vec::new(),
            p99_ms: Vec::new(),
        };
        for level in 0..LEVELS as u16 {
            let mut one = LatencyMix::new();
            one.add(Some(level), 1.0, false);
            let at = |q| {
                one.mixture_quantile_ms(&table, q, 1.0)
                    .unwrap_or(overload_ms)
            };
            let (p50, p99) = (at(0.5), at(0.99));
            table.p50_ms.push(p50);
            table.p99_ms.push(p99);
        }
        table
    }

    fn level_rps(saturation_rps: f64, level: usize) -> f64 {
        saturation_rps * MAX_UTILISATION * level as f64 / (LEVELS - 1) as f64
    }

    /// The level of a per-pod rate (rounded up, so that the table never flatters), or `None`
    /// when the pod is overloaded.
    pub fn level(&self, rps_per_pod: f64) -> Option<u16> {
        let v = rps_per_pod.max(0.0) * self.levels_per_rps;
        // Beyond the last level (or not a number): overloaded.
        if v.is_nan() || v > (LEVELS - 1) as f64 {
            return None;
        }
        // Rounded up without `ceil` (a call on this hot path): v is in [0, LEVELS - 1].
        let floor = v as u16;
        Some(floor + u16::from(f64::from(floor) < v))
    }

    fn log_tail(&self, level: usize, g: usize) -> f64 {
        self.log_tails[level * GRID + g]
    }

    /// Where `t_ms` falls on the (log-uniform) grid: the point below it and the fraction of
    /// the way to the next, clamped to the grid's ends.
    fn position(&self, t_ms: f64) -> (usize, f64) {
        let u = (t_ms.max(1e-300).ln() - self.log_first) / self.log_step;
        if u.is_nan() || u <= 0.0 {
            return (0, 0.0);
        }
        let g = (u as usize).min(GRID - 2);
        (g, (u - g as f64).min(1.0))
    }

    /// The share slower than the point `(g, f)` at a level: tails fall roughly exponentially,
    /// so log-tails are interpolated against log-time.
    fn tail_between(&self, level: usize, g: usize, f: f64) -> f64 {
        let (a, b) = (self.log_tail(level, g), self.log_tail(level, g + 1));
        (a + (b - a) * f).exp()
    }
}

/// Requests of a window by load level (warm and cold pods apart) and overloaded: add seconds,
/// merge windows, read percentiles.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyMix {
    warm: Vec<(u16, f64)>,
    cold: Vec<(u16, f64)>,
    /// Requests that met an overloaded pod.
    pub overloaded: f64,
    /// Every request of the window.
    pub requests: f64,
}

impl Default for LatencyMix {
    fn default() -> Self {
        LatencyMix::new()
    }
}

fn add_to(list: &mut Vec<(u16, f64)>, level: u16, requests: f64) {
    // Consecutive seconds mostly repeat the last level.
    if let Some(last) = list.last_mut()
        && last.0 == level
    {
        last.1 += requests;
        return;
    }
    match list.iter_mut().find(|(l, _)| *l == level) {
        Some(e) => e.1 += requests,
        None => list.push((level, requests)),
    }
}

impl LatencyMix {
    /// An empty window.
    pub fn new() -> Self {
        LatencyMix {
            warm: Vec::new(),
            cold: Vec::new(),
            overloaded: 0.0,
            requests: 0.0,
        }
    }

    /// Adds `requests` served at `level` (`None`: overloaded), by warm or cold pods.
    pub fn add(&mut self, level: Option<u16>, requests: f64, cold: bool) {
        if requests <= 0.0 {
            return;
        }
        self.requests += requests;
        match level {
            None => self.overloaded += requests,
            Some(l) if cold => add_to(&mut self.cold, l, requests),
            Some(l) => add_to(&mut self.warm, l, requests),
        }
    }

    /// Empties it, keeping its storage.
    pub fn clear(&mut self) {
        self.warm.clear();
        self.cold.clear();
        self.overloaded = 0.0;
        self.requests = 0.0;
    }

    /// Adds another window.
    pub fn merge(&mut self, other: &LatencyMix) {
        for &(l, r) in &other.warm {
            add_to(&mut self.warm, l, r);
        }
        for &(l, r) in &other.cold {
            add_to(&mut self.cold, l, r);
        }
        self.overloaded += other.overloaded;
        self.requests += other.requests;
    }

    /// Share of the window's requests slower than `table.grid_ms[g]`; cold pods' latency is
    /// the warm law times `cold_factor`.
    fn tail_at(&self, table: &LatencyTable, t_ms: f64, cold_factor: f64) -> f64 {
        let mut slow = 0.0;
        if !self.warm.is_empty() {
            let (g, f) = table.position(t_ms);
            for &(l, r) in &self.warm {
                slow += r * table.tail_between(usize::from(l), g, f);
            }
        }
        if !self.cold.is_empty() {
            let (g, f) = table.position(t_ms / cold_factor.max(1.0));
            for &(l, r) in &self.cold {
                slow += r * table.tail_between(usize::from(l), g, f);
            }
        }
        if t_ms < table.overload_ms {
            slow += self.overloaded;
        }
        slow / self.requests
    }

    /// The `q`-quantile of the window's latency, milliseconds (`None` without requests). A
    /// window of warm pods at nearly one load reads the p50 or p99 tabulated for its mean
    /// level; any other mixture is solved.
    pub fn quantile_ms(&self, table: &LatencyTable, q: f64, cold_factor: f64) -> Option<f64> {
        if self.requests <= 0.0 {
            return None;
        }
        let precomputed = if q == 0.99 {
            Some(&table.p99_ms)
        } else if q == 0.5 {
            Some(&table.p50_ms)
        } else {
            None
        };
        let warm_only = self.overloaded <= 0.0 && (self.cold.is_empty() || cold_factor <= 1.0);
        if let (Some(values), true, false) = (precomputed, warm_only, table.p99_ms.is_empty()) {
            let levels = self.warm.iter().chain(&self.cold);
            let (lo, hi, sum) = levels.fold((u16::MAX, 0, 0.0), |(lo, hi, sum), &(l, r)| {
                (lo.min(l), hi.max(l), sum + f64::from(l) * r)
            });
            if hi.saturating_sub(lo) <= NARROW_LEVELS {
                let mean = (sum / self.requests).round() as usize;
                return values.get(mean).copied();
            }
        }
        self.mixture_quantile_ms(table, q, cold_factor)
    }

    /// The quantile of the mixture, solved on the grid.
    fn mixture_quantile_ms(&self, table: &LatencyTable, q: f64, cold_factor: f64) -> Option<f64> {
        if self.requests <= 0.0 {
            return None;
        }
        let target = 1.0 - q;
        let grid = &table.grid_ms;
        // The tail falls as t grows: find the first grid point at or below the target, then
        // bisect between it and the previous one.
        let top = grid[GRID - 1] * cold_factor.max(1.0);
        if self.tail_at(table, top, cold_factor) > target {
            return Some(table.overload_ms.max(top));
        }
        // The first grid point at or below the target, by binary search (the tail falls).
        let (mut a, mut b) = (0usize, GRID);
        while a < b {
            let mid = (a + b) / 2;
            if self.tail_at(table, grid[mid], cold_factor) <= target {
                b = mid;
            } else {
                a = mid + 1;
            }
        }
        let (mut lo, mut hi) = if a >= GRID {
            (grid[GRID - 1], top)
        } else if a == 0 {
            (0.0, grid[0])
        } else {
            (grid[a - 1], grid[a])
        };
        // Neighbouring grid points are 2.5% apart: 16 halvings leave 0.00004%.
        for _ in 0..16 {
            let mid = 0.5 * (lo + hi);
            if self.tail_at(table, mid, cold_factor) > target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queueing::ServiceTime;

    fn table() -> LatencyTable {
        let q = PodQueue {
            servers: 4,
            service: ServiceTime::lognormal(20.0, 0.35),
        };
        LatencyTable::new(&q, 2_000.0)
    }

    #[test]
    fn one_level_matches_the_queue() {
        let t = table();
        let q = PodQueue {
            servers: 4,
            service: ServiceTime::lognormal(20.0, 0.35),
        };
        for rps in [10.0, 100.0, 150.0] {
            let level = t.level(rps).expect("not overloaded");
            let mut mix = LatencyMix::new();
            mix.add(Some(level), 100.0, false);
            let tabulated = mix.quantile_ms(&t, 0.99, 1.0).expect("requests");
            // The level rounds the load up by less than one step.
            let lo = q.latency_quantile_ms(rps, 0.99).expect("exact");
            let step = t.saturation_rps * MAX_UTILISATION / (LEVELS - 1) as f64;
            let hi = q
                .latency_quantile_ms(rps + step, 0.99)
                .expect("exact above");
            assert!(
                tabulated >= lo * 0.995 && tabulated <= hi * 1.005,
                "{rps}: {tabulated} outside {lo}..{hi}"
            );
        }
    }

    #[test]
    fn mixtures_overload_and_cold_pods() {
        let t = table();
        let mut quiet = LatencyMix::new();
        quiet.add(t.level(20.0), 1000.0, false);
        let p_quiet = quiet.quantile_ms(&t, 0.99, 1.0).expect("requests");
        // 2% of requests overloaded: the p99 is the timeout.
        let mut mix = quiet.clone();
        mix.add(None, 20.0, false);
        let p = mix.quantile_ms(&t, 0.99, 1.0).expect("requests");
        assert!((p - 2_000.0).abs() < 1e-6, "{p}");
        assert!(t.level(1e9).is_none());
        // Cold pods at twice the latency raise the p99 of a window they dominate.
        let mut cold = LatencyMix::new();
        cold.add(t.level(20.0), 1000.0, true);
        let p_cold = cold.quantile_ms(&t, 0.99, 2.0).expect("requests");
        assert!(
            (p_cold / p_quiet - 2.0).abs() < 0.05,
            "{p_cold} vs {p_quiet}"
        );
        // Merging equals adding.
        let mut merged = LatencyMix::new();
        merged.merge(&quiet);
        merged.merge(&cold);
        let mut both = quiet.clone();
        both.add(t.level(20.0), 1000.0, true);
        assert_eq!(merged, both);
        assert_eq!(LatencyMix::new().quantile_ms(&t, 0.99, 1.0), None);
    }
}
