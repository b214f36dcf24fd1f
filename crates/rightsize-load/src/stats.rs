//! Measurement: counters and HdrHistograms kept per worker thread and merged with `add`, never
//! averaged; the per-second rows and the run's summary.

use hdrhistogram::Histogram;
use serde::Serialize;

/// The highest value a histogram tracks without resizing, microseconds (an hour).
const HIGHEST_US: u64 = 3_600_000_000;

/// A latency histogram in microseconds, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("constant, valid bounds");
    h.auto(true);
    h
}

/// Records `us` microseconds (at least 1, the histogram's lowest value).
pub(crate) fn record(h: &mut Histogram<u64>, us: u64) {
    // With auto-resize on, recording cannot fail for values of a u64.
    let _ = h.record(us.max(1));
}

/// How requests ended, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Requests whose intended send time came.
    pub scheduled: u64,
    /// Requests handed to a connection.
    pub sent: u64,
    /// Responses of any status.
    pub completed: u64,
    /// Requests that got no response (the four reasons below).
    pub failed: u64,
    /// Requests not sent because `--max-in-flight` were already in flight.
    pub dropped: u64,
    /// No response within the timeout.
    pub timeouts: u64,
    /// The connection was reset or closed before the response.
    pub resets: u64,
    /// No connection could be opened.
    pub connect_errors: u64,
    /// Still in flight when an interrupted run gave up on them.
    pub cancelled: u64,
    /// Responses by status class: 1xx, 2xx, 3xx, 4xx, 5xx.
    pub status: [u64; 5],
    /// New connections opened.
    pub connections: u64,
    /// Requests that waited for a connection because all were busy.
    pub conn_waits: u64,
    /// Response body bytes received.
    pub bytes: u64,
}

impl Counters {
    pub(crate) fn add(&mut self, o: &Counters) {
        self.scheduled += o.scheduled;
        self.sent += o.sent;
        self.completed += o.completed;
        self.failed += o.failed;
        self.dropped += o.dropped;
        self.timeouts += o.timeouts;
        self.resets += o.resets;
        self.connect_errors += o.connect_errors;
        self.cancelled += o.cancelled;
        for (a, b) in self.status.iter_mut().zip(o.status) {
            *a += b;
        }
        self.connections += o.connections;
        self.conn_waits += o.conn_waits;
        self.bytes += o.bytes;
    }
}

/// Everything measured over a phase (warm-up or measurement).
#[derive(Debug, Clone)]
pub struct PhaseStats {
    /// The counts.
    pub counters: Counters,
    /// Completion minus intended send time, µs (responses, and timeouts at the time given up).
    pub latency: Histogram<u64>,
    /// Completion minus actual send time, µs (responses).
    pub service: Histogram<u64>,
    /// Dispatch minus intended send time, µs (every request sent).
    pub lag: Histogram<u64>,
    /// Connect time of new connections, µs.
    pub connect: Histogram<u64>,
}

impl Default for PhaseStats {
    fn default() -> Self {
        PhaseStats {
            counters: Counters::default(),
            latency: histogram(),
            service: histogram(),
            lag: histogram(),
            connect: histogram(),
        }
    }
}

impl PhaseStats {
    /// Adds another thread's statistics.
    pub fn merge(&mut self, o: &PhaseStats) {
        self.counters.add(&o.counters);
        // Histograms with auto-resize take any other's counts.
        let _ = self.latency.add(&o.latency);
        let _ = self.service.add(&o.service);
        let _ = self.lag.add(&o.lag);
        let _ = self.connect.add(&o.connect);
    }
}

/// One second's slice from one worker.
#[derive(Debug, Clone)]
pub(crate) struct Interval {
    pub second: u64,
    pub counters: Counters,
    pub latency: Histogram<u64>,
    pub lag: Histogram<u64>,
    pub in_flight: u64,
}

impl Interval {
    pub(crate) fn new(second: u64) -> Interval {
        Interval {
            second,
            counters: Counters::default(),
            latency: histogram(),
            lag: histogram(),
            in_flight: 0,
        }
    }
}

/// Five quantiles and the maximum, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Quantiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest value.
    pub max: f64,
    /// Values recorded.
    pub count: u64,
}

impl Quantiles {
    /// From a microsecond histogram.
    pub fn of(h: &Histogram<u64>) -> Quantiles {
        if h.is_empty() {
            return Quantiles::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Quantiles {
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            count: h.len(),
        }
    }
}

/// One second of the run, all threads merged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecondRow {
    /// Seconds from the start.
    pub second: u64,
    /// `warmup` or `measure`.
    pub phase: &'static str,
    /// The profile's rate for this second.
    pub target_rps: f64,
    /// Counts of what happened during the second (sends by dispatch time, ends by end time).
    pub counters: Counters,
    /// Requests in flight at the second's end.
    pub in_flight: u64,
    /// Latency from the intended time of the requests that ended in the second, ms.
    pub latency: Quantiles,
    /// The generator's lateness of the requests sent in the second, ms.
    pub lag: Quantiles,
    /// The latencies behind `latency`, µs, when the run keeps them
    /// ([`LoadConfig::keep_histograms`](crate::run::LoadConfig)): for merging seconds into
    /// windows.
    #[serde(skip)]
    pub histogram: Option<Histogram<u64>>,
}

/// The header of `timeline.csv`.
pub const TIMELINE_HEADER: &str = "second,phase,target_rps,scheduled,sent,completed,failed,dropped,in_flight,status_2xx,status_4xx,status_5xx,p50_ms,p90_ms,p99_ms,p999_ms,max_ms,lag_p99_ms";

impl SecondRow {
    /// The row as a `timeline.csv` line (no newline).
    pub fn csv(&self) -> String {
        let c = &self.counters;
        let l = &self.latency;
        format!(
            "{},{},{:.3},{},{},{},{},{},{},{},{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3}",
            self.second,
            self.phase,
            self.target_rps,
            c.scheduled,
            c.sent,
            c.completed,
            c.failed,
            c.dropped,
            self.in_flight,
            c.status[1],
            c.status[3],
            c.status[4],
            l.p50,
            l.p90,
            l.p99,
            l.p999,
            l.max,
            self.lag.p99
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_thread_histograms_give_the_quantiles_of_all_samples() {
        let mut all = PhaseStats::default();
        let mut threads: Vec<PhaseStats> = (0..4).map(|_| PhaseStats::default()).collect();
        // Four threads with different distributions: averaging their p99s would be wrong.
        for i in 0..40_000u64 {
            let t = (i % 4) as usize;
            let us = 100 + (i * 7919) % (1000 * (t as u64 + 1) * (t as u64 + 1));
            record(&mut threads[t].latency, us);
            record(&mut all.latency, us);
            threads[t].counters.completed += 1;
        }
        let mut merged = PhaseStats::default();
        for t in &threads {
            merged.merge(t);
        }
        assert_eq!(Quantiles::of(&merged.latency), Quantiles::of(&all.latency));
        assert_eq!(merged.counters.completed, 40_000);
        let mean_of_p99s = threads
            .iter()
            .map(|t| Quantiles::of(&t.latency).p99)
            .sum::<f64>()
            / 4.0;
        assert!((mean_of_p99s - Quantiles::of(&all.latency).p99).abs() > 1.0);
    }
}
