//! The capacity model: latency percentiles against requests per pod (warm pod-minutes binned by
//! their minute's rate per ready pod), an M/G/c queue fitted to them (service time from the
//! low-load minutes, servers per pod fitted or given), and the largest per-pod rate whose
//! modelled p99 meets the SLO, with an interval from the fit's profile. When the week never
//! loads pods near saturation, many queues fit equally well and the interval says so.

use serde::Serialize;

use super::series::Series;
use crate::queueing::{PodQueue, ServiceTime};
use crate::telemetry::histogram::DenseHistogram;

/// Load bins between the lightest and the busiest minute.
const BINS: usize = 30;
/// A bin enters the fit with at least this many rows beyond its p99.
const MIN_TAIL_ROWS: f64 = 5.0;
/// Servers per pod tried when `--pod-concurrency` is not given.
const SERVER_CANDIDATES: [u32; 16] = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64, 96];
/// Scales of the low-load latency tried as the service time (the low-load minutes hold a little
/// queueing too, so the service time is at most about what they show).
const SCALES: [f64; 15] = [
    0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.96, 1.0, 1.03, 1.06, 1.1,
];
/// Points of the service-time law the model evaluates (quantiles of the low-load histogram).
const SERVICE_POINTS: usize = 100;
/// Rows the per-pod rate of a minute is estimated from (neighbouring minutes included).
const RATE_ROWS: f64 = 2_000.0;
/// The most minutes the rate is averaged over.
const MAX_RATE_MINUTES: usize = 31;
/// χ² with one degree of freedom at 95%: the profile interval's cut.
const CHI2_95: f64 = 3.84;

/// One load bin.
#[derive(Debug, Clone, Serialize)]
pub struct LoadBin {
    /// Mean requests per second per pod of the bin's minutes (weighted by rows).
    pub rps_per_pod: f64,
    /// Warm pod-minutes in the bin.
    pub pod_minutes: u64,
    /// Rows (raw).
    pub n: u64,
    /// Observed median, milliseconds.
    pub p50_ms: Option<f64>,
    /// Observed 90th percentile.
    pub p90_ms: Option<f64>,
    /// Observed 99th percentile.
    pub p99_ms: Option<f64>,
    /// Whether the bin entered the fit (enough rows beyond its p99).
    pub fitted: bool,
    /// The fitted model's p99 at this load (null beyond saturation or without a fit).
    pub model_p99_ms: Option<f64>,
}

/// The capacity model.
#[derive(Debug, Clone, Serialize)]
pub struct Capacity {
    /// The largest per-pod rate whose modelled p99 meets the SLO for a warm pod (null without
    /// a fit).
    pub rps_per_pod_at_slo: Option<f64>,
    /// 95% interval of it: the range over every queue the data cannot tell apart from the best.
    pub interval: Option<[f64; 2]>,
    /// True when the busiest minutes loaded pods far enough that latency visibly rose: the
    /// knee is measured, not extrapolated.
    pub knee_observed: bool,
    /// The highest per-pod rate at which the observed p99 met the SLO (with enough rows).
    pub demonstrated_rps_per_pod: Option<f64>,
    /// The busiest bin's per-pod rate.
    pub max_observed_rps_per_pod: f64,
    /// Servers per pod of the best fit (given when `--pod-concurrency` was).
    pub servers_per_pod: Option<u32>,
    /// Whether servers per pod was given rather than fitted.
    pub servers_given: bool,
    /// Mean service time of the fitted model, milliseconds.
    pub service_time_mean_ms: Option<f64>,
    /// The rate at which a pod saturates in the fitted model, requests per second.
    pub saturation_rps_per_pod: Option<f64>,
    /// Root mean square of the fit's residuals, in log latency (0.1 is about 10%).
    pub residual_rms_log: Option<f64>,
    /// The bins, with observed and modelled percentiles.
    pub bins: Vec<LoadBin>,
    /// The fitted model's p99 over a grid of per-pod rates (for charts): `[rps, p99_ms]`.
    pub model_curve: Vec<[f64; 2]>,
    /// What to know about this estimate, in words.
    pub notes: Vec<String>,
    /// The fitted queue: servers per pod and the service-time law as weighted points (what
    /// the simulator and the testbed replay).
    pub model: Option<PodQueue>,
}

struct Candidate {
    servers: u32,
    scale: f64,
    sse: f64,
}

fn scaled(service: &ServiceTime, k: f64) -> ServiceTime {
    ServiceTime::from_points(service.points().iter().map(|&(v, w)| (v * k, w)))
        .unwrap_or_else(|| service.clone())
}

/// Which load bin each minute falls in, by the per-pod rate of the minute.
#[derive(Debug, Clone, PartialEq)]
pub struct Binning {
    /// Per minute of the grid: the bin and the per-pod rate, or `None` for a minute that
    /// does not enter the fit (the span's partial edge minutes, no ready pod, no rows).
    pub minute: Vec<Option<(u8, f64)>>,
}

/// Bins the minutes: log-spaced between the lightest and the busiest per-pod rate.
pub fn binning(s: &Series) -> Binning {
    let n = s.len();
    // A minute's sampled rate is noisy (at 1% sampling a pod-minute holds tens of rows), and
    // binning by a noisy rate mixes loads and flattens the curve. The rate varies slowly, so it
    // is taken over enough neighbouring minutes to hold RATE_ROWS rows.
    let mut per_minute: Vec<f64> = s.rows.iter().map(|&r| r as f64).collect();
    let typical = super::series::quantile(&mut per_minute, 0.5).unwrap_or(0.0);
    let window = if typical > 0.0 {
        ((RATE_ROWS / typical).ceil() as usize).clamp(1, MAX_RATE_MINUTES) | 1
    } else {
        1
    };
    let rate = super::traffic::smooth(&s.rps, window);
    // Per-pod rate of every inner minute with ready pods.
    let x: Vec<Option<f64>> = (0..n)
        .map(|i| {
            ((n < 3 || (i > 0 && i + 1 < n)) && s.ready[i] > 0 && s.rows[i] > 0)
                .then(|| rate[i] / f64::from(s.ready[i]))
        })
        .collect();
    let (lo, hi) = x
        .iter()
        .flatten()
        .fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(*v), b.max(*v)));
    if hi <= 0.0 {
        return Binning {
            minute: vec![None; n],
        };
    }
    let lo = lo.max(hi * 1e-3);
    let span = (hi / lo).ln().max(1e-9);
    let bin_of = |x: f64| ((((x.max(lo) / lo).ln() / span) * BINS as f64) as usize).min(BINS - 1);
    Binning {
        minute: x
            .into_iter()
            .map(|v| v.map(|v| (bin_of(v) as u8, v)))
            .collect(),
    }
}

/// Warm pod-minutes summed by load bin: mergeable, so that the pass over the pod-minutes can
/// be split.
#[derive(Debug, Clone)]
pub struct BinSums {
    hists: Vec<DenseHistogram>,
    xsum: Vec<f64>,
    rows: Vec<u64>,
    pod_minutes: Vec<u64>,
    /// The busiest per-pod rate added.
    max_x: f64,
}

impl Default for BinSums {
    fn default() -> Self {
        BinSums::new()
    }
}

impl BinSums {
    /// Empty bins.
    pub fn new() -> Self {
        BinSums {
            hists: vec![DenseHistogram::new(); BINS],
            xsum: vec![0.0; BINS],
            rows: vec![0; BINS],
            pod_minutes: vec![0; BINS],
            max_x: 0.0,
        }
    }

    /// Counts one warm pod-minute at per-pod rate `x` in bin `bin` and returns the bin's
    /// histogram for the caller to add the values to (so that one walk feeds several tables).
    pub fn account(
        &mut self,
        bin: u8,
        x: f64,
        h: &crate::telemetry::histogram::LatencyHistogram,
    ) -> &mut DenseHistogram {
        let b = usize::from(bin).min(BINS - 1);
        self.xsum[b] += x * h.count() as f64;
        self.rows[b] += h.count();
        self.pod_minutes[b] += 1;
        self.max_x = self.max_x.max(x);
        &mut self.hists[b]
    }

    /// Adds other bins.
    pub fn merge(&mut self, other: &BinSums) {
        for b in 0..BINS {
            self.hists[b].merge(&other.hists[b]);
            self.xsum[b] += other.xsum[b];
            self.rows[b] += other.rows[b];
            self.pod_minutes[b] += other.pod_minutes[b];
        }
        self.max_x = self.max_x.max(other.max_x);
    }
}

/// Fits the capacity model to the warm pod-minutes summed by load bin.
pub fn capacity(sums: BinSums, slo_p99_ms: f64, pod_concurrency: Option<u32>) -> Capacity {
    let BinSums {
        mut hists,
        xsum,
        rows,
        pod_minutes,
        max_x: hi,
    } = sums;
    let mut empty = Capacity {
        rps_per_pod_at_slo: None,
        interval: None,
        knee_observed: false,
        demonstrated_rps_per_pod: None,
        max_observed_rps_per_pod: 0.0,
        servers_per_pod: None,
        servers_given: pod_concurrency.is_some(),
        service_time_mean_ms: None,
        saturation_rps_per_pod: None,
        residual_rms_log: None,
        bins: Vec::new(),
        model_curve: Vec::new(),
        notes: Vec::new(),
        model: None,
    };
    if rows.iter().all(|&r| r == 0) {
        empty
            .notes
            .push("no minute with ready pods and requests: nothing to fit".into());
        return empty;
    }
    let mut bins: Vec<(LoadBin, DenseHistogram)> = (0..BINS)
        .filter(|&b| rows[b] > 0)
        .map(|b| {
            let h = std::mem::take(&mut hists[b]);
            (
                LoadBin {
                    rps_per_pod: xsum[b] / rows[b] as f64,
                    pod_minutes: pod_minutes[b],
                    n: rows[b],
                    p50_ms: h.quantile_ms(0.5),
                    p90_ms: h.quantile_ms(0.9),
                    p99_ms: h.quantile_ms(0.99),
                    fitted: rows[b] as f64 * 0.01 >= MIN_TAIL_ROWS,
                    model_p99_ms: None,
                },
                h,
            )
        })
        .collect();
    empty.max_observed_rps_per_pod = bins.last().map_or(0.0, |b| b.0.rps_per_pod);
    empty.demonstrated_rps_per_pod = bins
        .iter()
        .filter(|(b, _)| b.fitted && b.p99_ms.is_some_and(|p| p <= slo_p99_ms))
        .map(|(b, _)| b.rps_per_pod)
        .fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))));

    // The service time: the lightest bins, up to 5% of the rows (at least 5,000) and never
    // beyond half the busiest load.
    let total_rows: u64 = bins.iter().map(|b| b.0.n).sum();
    let want = (total_rows / 20).max(5_000);
    let mut service_hist = DenseHistogram::new();
    let mut service_x = 0.0;
    for (b, h) in &bins {
        if service_hist.count() >= want || (service_hist.count() > 0 && b.rps_per_pod > hi / 2.0) {
            break;
        }
        service_hist.merge(h);
        service_x = b.rps_per_pod;
    }
    if service_hist.count() < 200 {
        empty.bins = bins.into_iter().map(|b| b.0).collect();
        empty.notes.push(format!(
            "only {} rows at low load: too few to estimate the service time",
            service_hist.count()
        ));
        return empty;
    }
    let Some(service) = service_law(&service_hist) else {
        empty.bins = bins.into_iter().map(|b| b.0).collect();
        return empty;
    };

    let fit: Vec<(f64, f64, f64, f64)> = bins
        .iter()
        .filter(|(b, _)| b.fitted)
        .flat_map(|(b, _)| {
            let w = (b.n as f64 * 0.01).min(200.0);
            [
                b.p90_ms.map(|p| (b.rps_per_pod, 0.9, p, w)),
                b.p99_ms.map(|p| (b.rps_per_pod, 0.99, p, w)),
            ]
        })
        .flatten()
        .collect();
    // Highest loads first: there a wrong queue is furthest off, so a hopeless candidate passes
    // its bound (below) after a few points.
    let mut fit = fit;
    fit.sort_by(|a, b| b.0.total_cmp(&a.0));
    let weight: f64 = fit.iter().map(|f| f.3).sum();
    let dof = fit.len().saturating_sub(2).max(1) as f64;
    let floor = 1e-6 * weight / fit.len().max(1) as f64;
    // Given the best error so far, a candidate whose error passes this bound can be neither
    // refined (within 10 χ² of the best) nor accepted into the interval (within χ²): its sum
    // stops there and it counts as infinitely far, so the result is the same as summing all.
    let hopeless = |best_sse: f64| best_sse * (1.0 + 10.0 * CHI2_95 / dof) + 10.0 * CHI2_95 * floor;
    let sse = |queue: &PodQueue, limit: f64| -> f64 {
        let mut sum = 0.0;
        // A bin's p90 and p99 sit side by side: one tabulation of the wait serves both.
        for group in fit.chunk_by(|a, b| a.0 == b.0) {
            let qs: Vec<f64> = group.iter().map(|f| f.1).collect();
            let modelled = queue.latency_quantiles_ms(group[0].0, &qs);
            for (&(_, _, obs, w), m) in group.iter().zip(modelled) {
                let e = match m {
                    Some(m) if m > 0.0 && obs > 0.0 => (m / obs).ln(),
                    _ => 3.0,
                };
                sum += w * e * e;
            }
            if sum > limit {
                return f64::INFINITY;
            }
        }
        sum
    };
    let servers: Vec<u32> = match pod_concurrency {
        Some(c) => vec![c.max(1)],
        None => SERVER_CANDIDATES.to_vec(),
    };
    // Candidates `(servers, scale)` in order, each bounded by the best before it.
    let evaluate = |points: &[(u32, f64)], mut best_sse: f64| -> Vec<Candidate> {
        points
            .iter()
            .map(|&(c, k)| {
                let queue = PodQueue {
                    servers: c,
                    service: scaled(&service, k),
                };
                let x = Candidate {
                    servers: c,
                    scale: k,
                    sse: sse(&queue, hopeless(best_sse)),
                };
                best_sse = best_sse.min(x.sse);
                x
            })
            .collect()
    };
    // Two halves of the grid on two threads (the other core is idle here); which candidates
    // are cut short differs with the split, the result does not.
    let split = |points: Vec<(u32, f64)>, best_sse: f64| -> Vec<Candidate> {
        let (a, b): (Vec<_>, Vec<_>) = points
            .into_iter()
            .enumerate()
            .partition(|(i, _)| i % 2 == 0);
        let a: Vec<(u32, f64)> = a.into_iter().map(|x| x.1).collect();
        let b: Vec<(u32, f64)> = b.into_iter().map(|x| x.1).collect();
        std::thread::scope(|scope| {
            let other = scope.spawn(|| evaluate(&b, best_sse));
            let mut out = evaluate(&a, best_sse);
            out.extend(
                other
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
            out
        })
    };
    // Every server count at the likeliest scale first, so that the bound is tight before the
    // rest of the grid is summed.
    let mut order: Vec<f64> = SCALES.to_vec();
    order.sort_by(|a, b| (a - 0.9).abs().total_cmp(&(b - 0.9).abs()));
    let mut candidates = split(
        order
            .iter()
            .flat_map(|&k| servers.iter().map(move |&c| (c, k)))
            .collect(),
        f64::INFINITY,
    );
    let Some(best) = candidates.iter().min_by(|a, b| a.sse.total_cmp(&b.sse)) else {
        empty.bins = bins.into_iter().map(|b| b.0).collect();
        return empty;
    };
    let best_sse = best.sse;
    let sigma2 = (best.sse / dof).max(floor);
    // Refine the scale finely (0.5% steps over ±4%) around each server count that comes near
    // the best, so that the profile interval is not an artefact of the coarse grid.
    let mut around = Vec::new();
    for &c in &servers {
        let Some(coarse) = candidates
            .iter()
            .filter(|x| x.servers == c)
            .min_by(|a, b| a.sse.total_cmp(&b.sse))
        else {
            continue;
        };
        if (coarse.sse - best.sse) / sigma2 > 10.0 * CHI2_95 {
            continue;
        }
        around.extend((-8..=8).map(|step| (c, coarse.scale * (1.0 + 0.005 * f64::from(step)))));
    }
    let refined = split(around, best_sse);
    candidates.extend(refined);
    let Some(best) = candidates.iter().min_by(|a, b| a.sse.total_cmp(&b.sse)) else {
        empty.bins = bins.into_iter().map(|b| b.0).collect();
        return empty;
    };
    let sigma2 = (best.sse / dof).max(floor);
    let best_queue = PodQueue {
        servers: best.servers,
        service: scaled(&service, best.scale),
    };
    let accepted: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| (c.sse - best.sse) / sigma2 <= CHI2_95)
        .collect();
    let at_slo = |c: &Candidate| {
        PodQueue {
            servers: c.servers,
            service: scaled(&service, c.scale),
        }
        .max_rps_within(slo_p99_ms, 0.99)
    };
    let point = at_slo(best);
    let (ilo, ihi) = accepted.iter().fold((point, point), |(a, b), c| {
        let v = at_slo(c);
        (a.min(v), b.max(v))
    });

    // The knee is observed when the busiest fitted bins sit where the best model's latency has
    // clearly risen, and the data show that rise.
    let top = bins
        .iter()
        .rev()
        .find(|(b, _)| b.fitted)
        .map(|(b, _)| b.clone());
    let base_p99 = service_hist.quantile_ms(0.99).unwrap_or(0.0);
    let knee_observed = top.as_ref().is_some_and(|b| {
        let rho = b.rps_per_pod / best_queue.saturation_rps();
        rho >= 0.5 && b.p99_ms.is_some_and(|p| p >= 1.15 * base_p99)
    });

    let mut notes = Vec::new();
    notes.push(format!(
        "service time from {} rows at up to {:.1} req/s per pod (mean {:.1} ms); {} servers per pod {}",
        service_hist.count(),
        service_x,
        best_queue.service.mean_ms(),
        best.servers,
        if pod_concurrency.is_some() {
            "(given)"
        } else {
            "(fitted)"
        }
    ));
    let estimate = if knee_observed {
        point
    } else {
        notes.push(format!(
            "the busiest minutes loaded pods to {:.1} req/s, where latency had not yet risen: the knee is not in the data, so the interval is wide and the estimate is its conservative end",
            empty.max_observed_rps_per_pod
        ));
        ilo.max(empty.demonstrated_rps_per_pod.unwrap_or(0.0).min(ihi))
    };
    if point <= 0.0 {
        notes.push(format!(
            "even an idle pod's modelled p99 is above the SLO of {slo_p99_ms} ms: no load meets it"
        ));
    }
    let mut residuals = Vec::new();
    for (b, _) in &mut bins {
        b.model_p99_ms = best_queue.latency_quantile_ms(b.rps_per_pod, 0.99);
        if let (true, Some(m), Some(o)) = (b.fitted, b.model_p99_ms, b.p99_ms) {
            residuals.push((m / o).ln());
        }
    }
    let rms = (!residuals.is_empty())
        .then(|| (residuals.iter().map(|r| r * r).sum::<f64>() / residuals.len() as f64).sqrt());
    let sat = best_queue.saturation_rps();
    let model_curve = (0..=40)
        .filter_map(|i| {
            let x = sat * f64::from(i) / 40.0 * 0.98;
            best_queue.latency_quantile_ms(x, 0.99).map(|p| [x, p])
        })
        .collect();
    Capacity {
        rps_per_pod_at_slo: Some(estimate),
        interval: Some([ilo.min(estimate), ihi.max(estimate)]),
        knee_observed,
        demonstrated_rps_per_pod: empty.demonstrated_rps_per_pod,
        max_observed_rps_per_pod: empty.max_observed_rps_per_pod,
        servers_per_pod: Some(best.servers),
        servers_given: pod_concurrency.is_some(),
        service_time_mean_ms: Some(best_queue.service.mean_ms()),
        saturation_rps_per_pod: Some(sat),
        residual_rms_log: rms,
        bins: bins.into_iter().map(|b| b.0).collect(),
        model_curve,
        notes,
        model: Some(best_queue),
    }
}

/// The service-time law: the low-load histogram's buckets, neighbours merged (weighted mean)
/// down to at most [`SERVICE_POINTS`] points so the tail keeps its shape.
fn service_law(h: &DenseHistogram) -> Option<ServiceTime> {
    let buckets: Vec<(f64, u64)> = h.buckets().collect();
    let group = buckets.len().div_ceil(SERVICE_POINTS).max(1);
    let points = buckets.chunks(group).map(|c| {
        let w: u64 = c.iter().map(|b| b.1).sum();
        let v = c.iter().map(|b| b.0 * b.1 as f64).sum::<f64>() / w.max(1) as f64;
        (v / 1e6, w as f64)
    });
    ServiceTime::from_points(points)
}
