//! Latency and errors: percentiles per 5-minute window and per hour of the week, each with its
//! sample size, an order-statistics interval where the sample is small, the windows that break
//! the SLO, and error rates by class and by pod.

use serde::Serialize;

use crate::telemetry::histogram::DenseHistogram;
use crate::telemetry::{StatusClass, Telemetry};

/// Window length for the SLO check, minutes.
pub const WINDOW_MINUTES: usize = 5;
/// A quantile needs this many samples beyond it before it stands without an interval.
pub const MIN_TAIL_SAMPLES: f64 = 10.0;

/// Percentiles of one window, milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct WindowLatency {
    /// Window start, RFC 3339 UTC (5-minute windows) or hour-of-week index as text.
    pub start: String,
    /// Rows (raw sample size).
    pub n: u64,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// 99.9th percentile.
    pub p999: Option<f64>,
    /// True when fewer than ten rows lie beyond the 99th percentile: read it with its interval.
    pub p99_low_sample: bool,
    /// 95% interval of the p99 from order statistics.
    pub p99_interval: Option<[f64; 2]>,
}

/// Latency and error findings.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Over the whole span, milliseconds.
    pub p50_ms: Option<f64>,
    /// 90th percentile.
    pub p90_ms: Option<f64>,
    /// 99th percentile.
    pub p99_ms: Option<f64>,
    /// 99.9th percentile.
    pub p999_ms: Option<f64>,
    /// The SLO, milliseconds.
    pub slo_p99_ms: f64,
    /// 5-minute windows whose p99 is above the SLO with a sample large enough to tell.
    pub slo_violation_windows_5m: usize,
    /// Windows above the SLO whose interval still reaches below it (too few rows to be sure).
    pub uncertain_violation_windows_5m: usize,
    /// Windows with any rows.
    pub windows_5m: usize,
    /// Every 5-minute window.
    pub per_5m: Vec<WindowLatency>,
    /// Every hour of the week (index order).
    pub per_hour_of_week: Vec<WindowLatency>,
    /// Share of rows by status class.
    pub status_shares: std::collections::BTreeMap<&'static str, f64>,
    /// Share of rows that spend the error budget (server errors, timeouts, shed).
    pub error_rate: f64,
    /// Error rate by pod, worst first (pods with at least 100 rows).
    pub error_rate_by_pod: Vec<PodErrors>,
}

/// One pod's errors.
#[derive(Debug, Clone, Serialize)]
pub struct PodErrors {
    /// The pod.
    pub pod: String,
    /// Rows.
    pub rows: u64,
    /// Share of its rows that spend the error budget.
    pub error_rate: f64,
}

/// Percentiles of a histogram with the order-statistics interval of its p99 (one walk over
/// the histogram for all six quantiles).
pub fn window(start: String, h: &DenseHistogram) -> WindowLatency {
    let n = h.count();
    let nf = n as f64;
    let low = nf * 0.01 < MIN_TAIL_SAMPLES;
    let interval = interval_fractions(nf, 0.99);
    let mut qs = vec![0.5, 0.9, 0.99, 0.999];
    if let Some([lo, hi]) = interval {
        qs.extend([lo, hi]);
    }
    let mut order: Vec<usize> = (0..qs.len()).collect();
    order.sort_by(|&a, &b| qs[a].total_cmp(&qs[b]));
    let sorted: Vec<f64> = order.iter().map(|&i| qs[i]).collect();
    let mut values = vec![None; qs.len()];
    for (slot, v) in order.iter().zip(h.quantiles_ns(&sorted)) {
        values[*slot] = v.map(|ns| ns / 1e6);
    }
    WindowLatency {
        start,
        n,
        p50: values[0],
        p90: values[1],
        p99: values[2],
        p999: values[3],
        p99_low_sample: low,
        p99_interval: match (
            values.get(4).copied().flatten(),
            values.get(5).copied().flatten(),
        ) {
            (Some(a), Some(b)) => Some([a, b]),
            _ => None,
        },
    }
}

/// The rank fractions bounding the 95% interval of the `q`-quantile of `n` values, from order
/// statistics: ranks `n·q ± 1.96·sqrt(n·q·(1−q))` (the binomial's normal approximation),
/// clamped to the sample.
fn interval_fractions(n: f64, q: f64) -> Option<[f64; 2]> {
    if n < 1.0 {
        return None;
    }
    let half = 1.96 * (n * q * (1.0 - q)).sqrt();
    Some([
        ((n * q - half).floor() / n).clamp(0.0, 1.0),
        ((n * q + half).ceil() / n).clamp(0.0, 1.0),
    ])
}

/// Computes the latency and error findings.
pub fn latency(t: &Telemetry, pass: &super::pass::MinutePass, slo_p99_ms: f64) -> Latency {
    let (mut violations, mut uncertain) = (0, 0);
    for w in &pass.per_5m {
        if let Some(p99) = w.p99
            && p99 > slo_p99_ms
        {
            match w.p99_interval {
                Some([lo, _]) if w.p99_low_sample && lo <= slo_p99_ms => uncertain += 1,
                _ => violations += 1,
            }
        }
    }
    let all = &pass.all;
    let per_5m = pass.per_5m.clone();
    let per_hour_of_week = pass
        .by_how
        .iter()
        .enumerate()
        .map(|(hw, h)| window(super::traffic::how_label(hw), h))
        .collect();

    let mut class_rows = [0u64; 5];
    let mut pod_rows = vec![[0u64; 5]; t.pods.len()];
    for c in &t.cells {
        for (k, &v) in c.cell.counts.iter().enumerate() {
            class_rows[k] += u64::from(v);
            if let Some(p) = pod_rows.get_mut(c.pod as usize) {
                p[k] += u64::from(v);
            }
        }
    }
    let budget = |r: &[u64; 5]| {
        r[StatusClass::ServerError.index()]
            + r[StatusClass::Timeout.index()]
            + r[StatusClass::Shed.index()]
    };
    let total: u64 = class_rows.iter().sum();
    let status_shares = StatusClass::ALL
        .iter()
        .map(|c| {
            (
                c.name(),
                if total > 0 {
                    class_rows[c.index()] as f64 / total as f64
                } else {
                    0.0
                },
            )
        })
        .collect();
    let mut error_rate_by_pod: Vec<PodErrors> = pod_rows
        .iter()
        .enumerate()
        .filter_map(|(p, r)| {
            let rows: u64 = r.iter().sum();
            (rows >= 100).then(|| PodErrors {
                pod: t.pods[p].name.clone(),
                rows,
                error_rate: budget(r) as f64 / rows as f64,
            })
        })
        .collect();
    error_rate_by_pod.sort_by(|a, b| b.error_rate.total_cmp(&a.error_rate));
    error_rate_by_pod.truncate(20);

    Latency {
        p50_ms: all.quantile_ms(0.5),
        p90_ms: all.quantile_ms(0.9),
        p99_ms: all.quantile_ms(0.99),
        p999_ms: all.quantile_ms(0.999),
        slo_p99_ms,
        slo_violation_windows_5m: violations,
        uncertain_violation_windows_5m: uncertain,
        windows_5m: per_5m.len(),
        per_5m,
        per_hour_of_week,
        status_shares,
        error_rate: if total > 0 {
            budget(&class_rows) as f64 / total as f64
        } else {
            0.0
        },
        error_rate_by_pod,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::LatencyHistogram;

    #[test]
    fn small_samples_get_wide_intervals() {
        let mut small = LatencyHistogram::new();
        let mut big = LatencyHistogram::new();
        for i in 0..200u64 {
            small.record((i + 1) * 100_000);
        }
        for i in 0..100_000u64 {
            big.record((i % 200 + 1) * 100_000);
        }
        let ws = window("a".into(), &LatencyHistogram::sum([&small]));
        let wb = window("b".into(), &LatencyHistogram::sum([&big]));
        assert!(ws.p99_low_sample && !wb.p99_low_sample);
        let [slo, shi] = ws.p99_interval.expect("interval");
        let [blo, bhi] = wb.p99_interval.expect("interval");
        assert!(slo <= ws.p99.expect("p99") && ws.p99.expect("p99") <= shi);
        assert!(
            shi - slo > 5.0 * (bhi - blo),
            "{slo}..{shi} vs {blo}..{bhi}"
        );
    }
}
