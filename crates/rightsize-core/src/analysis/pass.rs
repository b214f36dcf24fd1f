//! One pass over the pod-minutes' latency histograms, feeding everything that needs them:
//! the 5-minute windows and the hours of the week (latency), each minute's mean latency
//! (Little's law for the pods), and the warm pod-minutes by load bin (the capacity model).
//! Reading each histogram once, on two threads over the two halves of the span, is most of
//! what keeps the analysis a small fraction of ingestion.

use std::ops::Range;

use super::capacity::{BinSums, Binning};
use super::latency::{WINDOW_MINUTES, WindowLatency, window};
use super::series::Series;
use crate::telemetry::Telemetry;
use crate::telemetry::histogram::DenseHistogram;

/// What the pass gathers over a range of minutes.
#[derive(Debug, Clone)]
pub struct MinutePass {
    /// Every 5-minute window with rows, in time order.
    pub per_5m: Vec<WindowLatency>,
    /// Latency by hour of the week.
    pub by_how: Vec<DenseHistogram>,
    /// Latency over the whole range.
    pub all: DenseHistogram,
    /// Each minute's mean latency over every pod, nanoseconds (`None` without rows), from the
    /// range's first minute.
    pub mean_latency_ns: Vec<Option<f64>>,
    /// Warm pod-minutes by load bin.
    pub bins: BinSums,
}

impl MinutePass {
    /// Appends a later range's results.
    pub fn merge(mut self, later: MinutePass) -> MinutePass {
        self.per_5m.extend(later.per_5m);
        for (a, b) in self.by_how.iter_mut().zip(&later.by_how) {
            a.merge(b);
        }
        self.all.merge(&later.all);
        self.mean_latency_ns.extend(later.mean_latency_ns);
        self.bins.merge(&later.bins);
        self
    }
}

/// The first minute at or after `m` that starts a wall-clock 5-minute window.
pub fn window_start_at_or_after(s: &Series, m: usize) -> usize {
    let w = WINDOW_MINUTES as i64;
    let minute = s.start_minute + m as i64;
    (m + ((w - minute.rem_euclid(w)) % w) as usize).min(s.len())
}

/// The pass over `minutes` (which must begin at a window start or the span's start).
/// `warm[k]` says whether cell `k` enters the capacity model.
pub fn pass(
    t: &Telemetry,
    s: &Series,
    warm: &[bool],
    binning: &Binning,
    minutes: Range<usize>,
) -> MinutePass {
    let mut out = MinutePass {
        per_5m: Vec::new(),
        by_how: vec![DenseHistogram::new(); 168],
        all: DenseHistogram::new(),
        mean_latency_ns: Vec::with_capacity(minutes.len()),
        bins: BinSums::new(),
    };
    let mut h = DenseHistogram::new();
    let mut i = minutes.start;
    while i < minutes.end {
        let end = window_start_at_or_after(s, i + 1).min(minutes.end);
        h.clear();
        for m in i..end {
            let (mut sum_ns, mut rows) = (0.0, 0u64);
            let bin = binning.minute.get(m).copied().flatten();
            for k in s.cell_start[m]..s.cell_start[m + 1] {
                let lat = &t.cells[k].cell.latency;
                rows += lat.count();
                // One walk over the cell's values feeds the window, its load bin and the sum.
                sum_ns += match bin {
                    Some((b, x)) if warm.get(k).copied().unwrap_or(true) => {
                        let into = out.bins.account(b, x, lat);
                        h.add_also(lat, Some(into))
                    }
                    _ => h.add_also(lat, None),
                };
            }
            out.mean_latency_ns
                .push((rows > 0).then(|| sum_ns / rows as f64));
        }
        // A window lies inside one local hour (hours begin at multiples of five minutes in
        // every zone in use), so it joins its hour whole.
        out.by_how[usize::from(s.how[i])].merge(&h);
        if h.count() > 0 {
            out.all.merge(&h);
            out.per_5m.push(window(s.time(i), &h));
        }
        i = end;
    }
    out
}

/// The pass over the whole span, its two halves on two threads.
pub fn pass_all(t: &Telemetry, s: &Series, warm: &[bool], binning: &Binning) -> MinutePass {
    let n = s.len();
    let split = window_start_at_or_after(s, n / 2);
    std::thread::scope(|scope| {
        let later = scope.spawn(|| pass(t, s, warm, binning, split..n));
        let first = pass(t, s, warm, binning, 0..split);
        first.merge(
            later
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        )
    })
}
