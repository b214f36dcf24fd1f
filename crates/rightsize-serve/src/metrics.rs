//! The service's Prometheus metrics, counted with atomics and written in the text exposition
//! format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the latency histogram's buckets, seconds.
pub const BUCKETS_S: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Status codes counted by name; others count as `other`.
const CODES: [u16; 7] = [200, 400, 404, 405, 413, 503, 500];

/// Counters and gauges.
#[derive(Debug, Default)]
pub struct Metrics {
    by_status: [AtomicU64; 8],
    buckets: [AtomicU64; 14],
    count: AtomicU64,
    sum_us: AtomicU64,
    /// Requests inside the service.
    pub in_flight: AtomicU64,
    /// Scoring jobs waiting for a worker.
    pub queue_depth: AtomicU64,
    /// The most jobs ever waiting at once.
    pub queue_depth_max: AtomicU64,
    /// Requests refused because the queue was full.
    pub shed: AtomicU64,
}

impl Metrics {
    /// Counts a finished request.
    pub fn observe(&self, status: u16, seconds: f64) {
        let i = CODES
            .iter()
            .position(|&c| c == status)
            .unwrap_or(CODES.len());
        self.by_status[i].fetch_add(1, Ordering::Relaxed);
        for (b, &le) in self.buckets.iter().zip(&BUCKETS_S) {
            if seconds <= le {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// A job joined the queue.
    pub fn enqueued(&self) {
        let depth = self.queue_depth.fetch_add(1, Ordering::Relaxed) + 1;
        self.queue_depth_max.fetch_max(depth, Ordering::Relaxed);
    }

    /// The text exposition; `extra` is appended (gauges of an embedding program).
    pub fn render(&self, workers: usize, queue: usize) -> String {
        let mut out = String::new();
        let g = |o: &AtomicU64| o.load(Ordering::Relaxed);
        out.push_str("# HELP rightsize_serve_requests_total Requests answered, by status code.\n");
        out.push_str("# TYPE rightsize_serve_requests_total counter\n");
        for (i, n) in self.by_status.iter().enumerate() {
            let code = CODES.get(i).map_or("other".to_string(), |c| c.to_string());
            let _ = writeln!(
                out,
                "rightsize_serve_requests_total{{code=\"{code}\"}} {}",
                g(n)
            );
        }
        out.push_str(
            "# HELP rightsize_serve_request_duration_seconds Time from a request's arrival to its answer.\n",
        );
        out.push_str("# TYPE rightsize_serve_request_duration_seconds histogram\n");
        for (b, le) in self.buckets.iter().zip(BUCKETS_S) {
            let _ = writeln!(
                out,
                "rightsize_serve_request_duration_seconds_bucket{{le=\"{le}\"}} {}",
                g(b)
            );
        }
        let count = g(&self.count);
        let _ = writeln!(
            out,
            "rightsize_serve_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "rightsize_serve_request_duration_seconds_sum {}",
            g(&self.sum_us) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "rightsize_serve_request_duration_seconds_count {count}"
        );
        let gauge = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {v}");
        };
        gauge(
            &mut out,
            "rightsize_serve_in_flight",
            "Requests being served.",
            g(&self.in_flight),
        );
        gauge(
            &mut out,
            "rightsize_serve_queue_depth",
            "Scoring jobs waiting for a worker.",
            g(&self.queue_depth),
        );
        gauge(
            &mut out,
            "rightsize_serve_queue_capacity",
            "Jobs the queue holds before requests are refused with 503.",
            queue as u64,
        );
        gauge(
            &mut out,
            "rightsize_serve_workers",
            "Scoring worker threads.",
            workers as u64,
        );
        let _ = writeln!(
            out,
            "# HELP rightsize_serve_shed_total Requests refused with 503 because the queue was full."
        );
        let _ = writeln!(out, "# TYPE rightsize_serve_shed_total counter");
        let _ = writeln!(out, "rightsize_serve_shed_total {}", g(&self.shed));
        out
    }
}
