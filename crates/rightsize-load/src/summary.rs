//! The run's summary: counts, quantiles of the measured phase, thresholds, the SLO verdict and
//! whether the generator kept up. Serialised as `loadtest.json` and by `--json`.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::run::{LoadConfig, RunResult};
use crate::stats::{Counters, PhaseStats, Quantiles};
use crate::threshold::{Aggregation, Metric, Threshold};

/// Schedule lag beyond which the generator, not the target, shaped the latency.
pub const LAG_LIMIT_MS: f64 = 1.0;

/// One phase's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseSummary {
    /// Requests whose intended time came.
    pub scheduled: u64,
    /// Requests sent.
    pub sent: u64,
    /// Responses of any status.
    pub completed: u64,
    /// Requests with no response (timeout, reset, connect error, cancelled).
    pub failed: u64,
    /// Requests not sent because `--max-in-flight` were in flight.
    pub dropped: u64,
    /// Requests sent per second of the phase.
    pub achieved_rps: f64,
    /// Requests the profile asked for per second of the phase.
    pub target_rps: f64,
    /// Responses by status class.
    pub status: BTreeMap<String, u64>,
    /// Why requests failed.
    pub failures: BTreeMap<String, u64>,
    /// Completion minus intended send time (responses and timeouts), ms.
    pub latency_ms: Quantiles,
    /// Completion minus actual send time (responses), ms.
    pub service_ms: Quantiles,
    /// Actual minus intended send time, ms.
    pub schedule_lag_ms: Quantiles,
    /// Connect time of new connections, ms.
    pub connect_ms: Quantiles,
    /// New connections opened.
    pub connections: u64,
    /// Requests that waited for a free connection.
    pub connection_waits: u64,
    /// Response body bytes.
    pub bytes: u64,
}

/// A threshold's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdResult {
    /// As given.
    pub expr: String,
    /// The measured value (`null` when there was nothing to measure).
    pub observed: Option<f64>,
    /// Whether it held.
    pub ok: bool,
}

/// The SLO verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloVerdict {
    /// The objective.
    pub p99_ms: f64,
    /// The measured p99 from intended times, counting requests that failed as slower than any
    /// answer (`null`: more than 1% failed, so the p99 is a failure).
    pub measured_p99_ms: Option<f64>,
    /// Whether the objective held.
    pub ok: bool,
}

/// The whole summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// rightsize's version.
    pub version: &'static str,
    /// The target URL.
    pub target: String,
    /// The HTTP method.
    pub method: String,
    /// `http/1.1` or `h2c`.
    pub protocol: &'static str,
    /// `poisson` or `uniform`.
    pub arrivals: &'static str,
    /// Seed of the schedule.
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
    /// The profile's length, seconds.
    pub profile_seconds: usize,
    /// The profile's peak rate.
    pub profile_peak_rps: f64,
    /// Seconds at the start excluded from verdicts.
    pub warmup_s: f64,
    /// Stopped early (Ctrl-C): the figures cover what ran.
    pub partial: bool,
    /// Seconds the run took.
    pub elapsed_s: f64,
    /// The measured phase (after the warm-up).
    #[serde(flatten)]
    pub measure: PhaseSummary,
    /// The warm-up, when there was one.
    pub warmup: Option<PhaseSummary>,
    /// Requests were dropped or sent late (lag p99 over 1 ms): the generator, not only the
    /// target, shaped the results.
    pub generator_limited: bool,
    /// Why, when it was.
    pub generator_notes: Vec<String>,
    /// The thresholds' outcomes.
    pub thresholds: Vec<ThresholdResult>,
    /// The SLO verdict, with `--slo-p99-ms`.
    pub slo: Option<SloVerdict>,
    /// Every threshold and the SLO held.
    pub ok: bool,
}

/// Summarises a run against its thresholds and SLO.
pub fn summarize(
    cfg: &LoadConfig,
    result: &RunResult,
    thresholds: &[Threshold],
    slo_p99_ms: Option<f64>,
) -> Summary {
    let secs = cfg.curve.rps.len() as f64;
    let warm = cfg.warmup_s.min(secs);
    let measured_s = if result.partial {
        (result.elapsed_s - warm).max(1e-9)
    } else {
        (secs - warm).max(1e-9)
    };
    let asked = |from: f64, to: f64| -> f64 {
        cfg.curve
            .rps
            .iter()
            .enumerate()
            .filter(|(s, _)| (*s as f64) >= from && (*s as f64) < to)
            .map(|(_, r)| r)
            .sum()
    };
    let measure = phase(&result.measure, measured_s, asked(warm, warm + measured_s));
    let warmup = (result.warmup.counters.scheduled > 0 || cfg.warmup_s > 0.0)
        .then(|| phase(&result.warmup, warm.max(1e-9), asked(0.0, warm)));
    let m = &result.measure;
    let mut notes = Vec::new();
    if m.counters.dropped > 0 {
        notes.push(format!(
            "{} requests were dropped at --max-in-flight",
            m.counters.dropped
        ));
    }
    if m.counters.conn_waits > 0 {
        notes.push(format!(
            "{} requests waited for a connection (all {} were busy); their latency includes the \
             wait: raise --connections if the target can take more",
            m.counters.conn_waits, cfg.connections
        ));
    }
    if measure.schedule_lag_ms.p99 > LAG_LIMIT_MS {
        notes.push(format!(
            "schedule lag p99 {:.2} ms is over {LAG_LIMIT_MS} ms: the generator could not send \
             on time (too little CPU, or too few threads for the rate)",
            measure.schedule_lag_ms.p99
        ));
    }
    let thresholds: Vec<ThresholdResult> = thresholds
        .iter()
        .map(|t| {
            let observed = observe(t, m);
            ThresholdResult {
                expr: t.expr.clone(),
                observed,
                ok: observed.is_some_and(|v| t.holds(v)),
            }
        })
        .collect();
    let slo = slo_p99_ms.map(|objective| {
        let measured = p99_counting_failures(m);
        SloVerdict {
            p99_ms: objective,
            measured_p99_ms: measured,
            ok: measured.is_some_and(|v| v <= objective),
        }
    });
    let ok = thresholds.iter().all(|t| t.ok) && slo.as_ref().is_none_or(|s| s.ok);
    Summary {
        version: env!("CARGO_PKG_VERSION"),
        target: cfg.target.url.clone(),
        method: cfg.request.method.to_string(),
        protocol: if cfg.http2 { "h2c" } else { "http/1.1" },
        arrivals: match cfg.arrivals {
            rightsize_core::load::schedule::Arrivals::Poisson => "poisson",
            rightsize_core::load::schedule::Arrivals::Uniform => "uniform",
        },
        seed: cfg.seed,
        threads: cfg.threads.max(1),
        profile_seconds: cfg.curve.rps.len(),
        profile_peak_rps: cfg.curve.rps.iter().copied().fold(0.0, f64::max),
        warmup_s: cfg.warmup_s,
        partial: result.partial,
        elapsed_s: result.elapsed_s,
        generator_limited: !notes.is_empty(),
        generator_notes: notes,
        measure,
        warmup,
        thresholds,
        slo,
        ok,
    }
}

fn phase(p: &PhaseStats, seconds: f64, asked: f64) -> PhaseSummary {
    let c: &Counters = &p.counters;
    let status = ["1xx", "2xx", "3xx", "4xx", "5xx"]
        .iter()
        .zip(c.status)
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.to_string(), n))
        .collect();
    let failures = [
        ("timeout", c.timeouts),
        ("reset", c.resets),
        ("connect", c.connect_errors),
        ("cancelled", c.cancelled),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .map(|(k, n)| (k.to_string(), *n))
    .collect();
    PhaseSummary {
        scheduled: c.scheduled,
        sent: c.sent,
        completed: c.completed,
        failed: c.failed,
        dropped: c.dropped,
        achieved_rps: c.sent as f64 / seconds,
        target_rps: asked / seconds,
        status,
        failures,
        latency_ms: Quantiles::of(&p.latency),
        service_ms: Quantiles::of(&p.service),
        schedule_lag_ms: Quantiles::of(&p.lag),
        connect_ms: Quantiles::of(&p.connect),
        connections: c.connections,
        connection_waits: c.conn_waits,
        bytes: c.bytes,
    }
}

/// A threshold's measured value over the measured phase.
fn observe(t: &Threshold, p: &PhaseStats) -> Option<f64> {
    let c = &p.counters;
    let of_scheduled = |n: u64| (c.scheduled > 0).then(|| n as f64 / c.scheduled as f64);
    let h = match t.metric {
        Metric::Latency => &p.latency,
        Metric::Service => &p.service,
        Metric::Lag => &p.lag,
        Metric::Connect => &p.connect,
    };
    let ms = |us: u64| us as f64 / 1000.0;
    let nonempty = !h.is_empty();
    match t.aggregation {
        Aggregation::Percentile(n) => nonempty.then(|| ms(h.value_at_quantile(n / 100.0))),
        Aggregation::Avg => nonempty.then(|| h.mean() / 1000.0),
        Aggregation::Med => nonempty.then(|| ms(h.value_at_quantile(0.5))),
        Aggregation::Min => nonempty.then(|| ms(h.min())),
        Aggregation::Max => nonempty.then(|| ms(h.max())),
        Aggregation::RateFailed => of_scheduled(c.failed),
        Aggregation::RateDropped => of_scheduled(c.dropped),
        Aggregation::CountFailed => Some(c.failed as f64),
        Aggregation::CountDropped => Some(c.dropped as f64),
        Aggregation::CountCompleted => Some(c.completed as f64),
    }
}

/// The p99 of intended-time latency over every request sent, a failure counting as slower than
/// any answer (timeouts are already in the histogram at the time they were given up).
pub fn p99_counting_failures(p: &PhaseStats) -> Option<f64> {
    let unrecorded = p.counters.failed - p.counters.timeouts.min(p.counters.failed);
    p99_failures_slowest(&p.latency, unrecorded, 0)
}

/// The p99 (ms) of a histogram of answers (`fast_failures` of them failures, e.g. 5xx answered
/// at once) plus `unrecorded` failures with no latency, every failure counted as slower than any
/// success; `None` when more than 1% failed or nothing was recorded.
pub fn p99_failures_slowest(
    h: &Histogram<u64>,
    unrecorded: u64,
    fast_failures: u64,
) -> Option<f64> {
    let recorded = h.len();
    let total = recorded + unrecorded;
    if recorded == 0 || (unrecorded + fast_failures) as f64 > 0.01 * total as f64 {
        return None;
    }
    // The successes' 99%-of-all quantile, shifted past the fast failures at the bottom.
    let q = (0.99 * total as f64 + fast_failures as f64) / recorded as f64;
    Some(h.value_at_quantile(q.min(1.0)) as f64 / 1000.0)
}

#[cfg(test)]
mod p99_tests {
    use super::*;

    fn hist(values_ms: impl IntoIterator<Item = u64>) -> Histogram<u64> {
        let mut h = crate::stats::histogram();
        for v in values_ms {
            h.record(v * 1000).expect("in range");
        }
        h
    }

    #[test]
    fn failures_count_as_slowest_and_too_many_lose_the_minute() {
        // 1000 answers 1..=1000 ms: p99 is 990 ms.
        let h = hist(1..=1000);
        let p = p99_failures_slowest(&h, 0, 0).expect("p99");
        assert!((p - 990.0).abs() < 2.0, "{p}");
        // Five failures with no answer push it to the 985th answer of 1000 and 5 at the top.
        let p = p99_failures_slowest(&h, 5, 0).expect("p99");
        assert!((p - 995.0).abs() < 2.0, "{p}");
        // Ten 503s among the answers (recorded fast, at the bottom) count as slowest too.
        let h2 = hist((1..=10).map(|_| 1).chain(11..=1000));
        let p = p99_failures_slowest(&h2, 0, 10);
        assert_eq!(p.map(|p| p.round()), Some(1000.0));
        assert_eq!(p99_failures_slowest(&h, 11, 0), None);
        assert_eq!(p99_failures_slowest(&hist([]), 0, 0), None);
    }
}
