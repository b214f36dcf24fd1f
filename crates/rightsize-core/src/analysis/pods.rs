//! Pods: how many were ready when (inferred from the pods that served), requests and
//! concurrency per pod, load imbalance, churn and lifetimes, and the cold-start effect.

use serde::Serialize;

use super::series::{Series, quantile};
use super::traffic::hour_of_week_means;
use super::{finite_or_none, mean};
use crate::telemetry::Telemetry;
use crate::telemetry::histogram::DenseHistogram;

/// Minutes after a pod starts that are compared against warm pods.
pub const COLD_MINUTES_EXAMINED: usize = 10;
/// A pod this many minutes after its start counts as warm whatever the data say.
const WARM_AFTER_MINUTES: usize = COLD_MINUTES_EXAMINED;

/// Pod findings.
#[derive(Debug, Clone, Serialize)]
pub struct Pods {
    /// Distinct pod names.
    pub distinct: usize,
    /// Ready pods in each minute (aligned with `traffic.minute_rps`).
    pub ready_per_minute: Vec<u32>,
    /// Mean ready pods in each hour of the week.
    pub hour_of_week_ready: Vec<Option<f64>>,
    /// Fewest and most ready pods in a minute.
    pub min_ready: u32,
    /// Most ready pods in a minute.
    pub max_ready: u32,
    /// Mean ready pods.
    pub mean_ready: f64,
    /// Requests per second per ready pod: distribution over minutes.
    pub rps_per_pod: Distribution,
    /// Mean requests per second per ready pod in each hour of the week.
    pub hour_of_week_rps_per_pod: Vec<Option<f64>>,
    /// Requests in flight per pod by Little's law (rate per pod × mean latency).
    pub concurrency_per_pod: Distribution,
    /// How unevenly requests spread over the ready pods.
    pub imbalance: Imbalance,
    /// Starts, stops and lifetimes.
    pub churn: Churn,
    /// Latency of new pods against warm pods in the same minutes.
    pub cold_start: ColdStartEffect,
}

/// A distribution over minutes.
#[derive(Debug, Clone, Serialize)]
pub struct Distribution {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Maximum.
    pub max: f64,
}

impl Distribution {
    /// Summarises values (zeros when empty).
    pub fn of(mut values: Vec<f64>) -> Distribution {
        let m = mean(&values);
        Distribution {
            mean: m,
            p50: quantile(&mut values, 0.5).unwrap_or(0.0),
            p95: quantile(&mut values, 0.95).unwrap_or(0.0),
            max: values.last().copied().unwrap_or(0.0),
        }
    }
}

/// Load imbalance over minutes with at least two ready pods and enough rows to tell.
#[derive(Debug, Clone, Serialize)]
pub struct Imbalance {
    /// Minutes assessed.
    pub minutes: usize,
    /// Median coefficient of variation of per-pod requests, with the sampling noise removed.
    pub median_cv: Option<f64>,
    /// Median of the busiest pod's requests over the mean pod's.
    pub median_max_over_mean: Option<f64>,
    /// Pods that take consistently more than their share (mean share ratio above 1.2).
    pub hot_pods: Vec<HotPod>,
}

/// A pod that takes more than its share.
#[derive(Debug, Clone, Serialize)]
pub struct HotPod {
    /// The pod.
    pub pod: String,
    /// Its mean requests over the minute's mean pod's.
    pub share_ratio: f64,
}

/// Pod starts, stops and lifetimes.
#[derive(Debug, Clone, Serialize)]
pub struct Churn {
    /// Serving stretches (a pod that stops and later serves again counts twice).
    pub stretches: usize,
    /// Stretches that began after the span's first minute.
    pub starts: usize,
    /// Stretches that ended before the span's last minute.
    pub stops: usize,
    /// Starts per day of span.
    pub starts_per_day: f64,
    /// Median lifetime of stretches that both began and ended inside the span, minutes.
    pub median_lifetime_minutes: Option<f64>,
    /// Shortest such lifetime, minutes.
    pub min_lifetime_minutes: Option<f64>,
}

/// Latency of pods in their first minutes against warm pods serving in the same minutes.
#[derive(Debug, Clone, Serialize)]
pub struct ColdStartEffect {
    /// Pods that started inside the span and served at least one minute beside a warm pod.
    pub pods_observed: usize,
    /// Median latency of new pods over warm pods' for each minute since start (0 = the first
    /// minute); `null` without data.
    pub p50_ratio_by_minute: Vec<Option<f64>>,
    /// p99 of the same.
    pub p99_ratio_by_minute: Vec<Option<f64>>,
    /// Minutes after start until the median is within 10% of warm pods' (the cold window).
    pub cold_minutes: usize,
    /// p99 of cold minutes against warm pods', over the cold window.
    pub cold_p99_ratio: Option<f64>,
}

/// How old each pod-minute's pod was, and what that did to latency.
#[derive(Debug, Clone)]
pub struct Warmth {
    /// Per cell (index into `Telemetry::cells`): minutes since its pod's serving stretch
    /// began; `usize::MAX` when unknown (serving since the span began) or not in a stretch.
    pub age: Vec<usize>,
    /// The cold-start effect measured from the young cells.
    pub cold_start: ColdStartEffect,
}

impl Warmth {
    /// Per cell: whether its pod was past its cold minutes (what the capacity model fits).
    pub fn warm(&self) -> Vec<bool> {
        self.age
            .iter()
            .map(|&a| a == usize::MAX || a >= self.cold_start.cold_minutes)
            .collect()
    }
}

/// Every pod-minute's age and the cold-start effect.
pub fn warmth(t: &Telemetry, s: &Series) -> Warmth {
    let n = s.len();
    // Segment lookup per cell: which stretch (and so which age) a pod-minute belongs to.
    let mut age = vec![usize::MAX; t.cells.len()];
    let mut seg_of_pod: Vec<Vec<usize>> = vec![Vec::new(); t.pods.len()];
    for (k, seg) in s.segments.iter().enumerate() {
        seg_of_pod[seg.pod as usize].push(k);
    }
    for i in 0..n {
        let range = s.cell_start[i]..s.cell_start[i + 1];
        for (k, c) in t.cells[range.clone()].iter().enumerate() {
            let k = range.start + k;
            if let Some(seg) = seg_of_pod[c.pod as usize]
                .iter()
                .map(|&x| &s.segments[x])
                .find(|g| g.first <= i && i <= g.last)
            {
                // Stretches that were serving when the span began have unknown age: warm.
                age[k] = if seg.first == 0 {
                    usize::MAX
                } else {
                    i - seg.first
                };
            }
        }
    }

    let cold_start = cold_start(t, s, &age);
    Warmth { age, cold_start }
}

/// Ready pods, per-pod load and concurrency (Little's law with each minute's mean latency),
/// imbalance, churn, and the cold-start effect of `warmth`.
pub fn pods(
    t: &Telemetry,
    s: &Series,
    warmth: Warmth,
    minute_mean_latency_ns: &[Option<f64>],
) -> Pods {
    let n = s.len();
    let ready_f: Vec<f64> = s.ready.iter().map(|&r| f64::from(r)).collect();
    let per_pod: Vec<f64> = (0..n)
        .filter(|&i| s.ready[i] > 0)
        .map(|i| s.rps[i] / f64::from(s.ready[i]))
        .collect();
    let per_pod_by_minute: Vec<f64> = (0..n)
        .map(|i| {
            if s.ready[i] > 0 {
                s.rps[i] / f64::from(s.ready[i])
            } else {
                0.0
            }
        })
        .collect();

    // Little's law per minute: rate per pod × mean latency.
    let concurrency: Vec<f64> = per_pod_by_minute
        .iter()
        .zip(minute_mean_latency_ns)
        .enumerate()
        .filter(|(i, _)| s.ready[*i] > 0)
        .filter_map(|(_, (per_pod, mean_ns))| mean_ns.map(|m| per_pod * m / 1e9))
        .collect();

    // Imbalance: per minute, the spread of per-pod rows over ready pods.
    let mut cvs = Vec::new();
    let mut max_over_mean = Vec::new();
    let mut share_sum = vec![0.0; t.pods.len()];
    let mut share_n = vec![0u32; t.pods.len()];
    for i in 0..n {
        let r = s.ready[i] as usize;
        if r < 2 || i == 0 || i + 1 == n {
            continue;
        }
        let cells = &t.cells[s.cell_start[i]..s.cell_start[i + 1]];
        let mut counts: Vec<f64> = cells
            .iter()
            .map(|c| c.cell.counts.iter().map(|&x| f64::from(x)).sum())
            .collect();
        counts.resize(r.max(counts.len()), 0.0);
        let m = mean(&counts);
        if m < 30.0 {
            continue;
        }
        let var = counts.iter().map(|c| (c - m) * (c - m)).sum::<f64>() / counts.len() as f64;
        // Poisson sampling alone gives a variance equal to the mean.
        cvs.push((var - m).max(0.0).sqrt() / m);
        max_over_mean.push(counts.iter().fold(0.0f64, |a, b| a.max(*b)) / m);
        for c in cells {
            let rows: f64 = c.cell.counts.iter().map(|&x| f64::from(x)).sum();
            share_sum[c.pod as usize] += rows / m;
            share_n[c.pod as usize] += 1;
        }
    }
    let mut hot_pods: Vec<HotPod> = (0..t.pods.len())
        .filter(|&p| share_n[p] >= 30)
        .map(|p| HotPod {
            pod: t.pods[p].name.clone(),
            share_ratio: share_sum[p] / f64::from(share_n[p]),
        })
        .filter(|h| h.share_ratio > 1.2)
        .collect();
    hot_pods.sort_by(|a, b| b.share_ratio.total_cmp(&a.share_ratio));
    hot_pods.truncate(10);

    // Churn.
    let starts = s.segments.iter().filter(|g| g.first > 0).count();
    let stops = s.segments.iter().filter(|g| g.last + 1 < n).count();
    let mut lifetimes: Vec<f64> = s
        .segments
        .iter()
        .filter(|g| g.first > 0 && g.last + 1 < n)
        .map(|g| (g.last - g.first + 1) as f64)
        .collect();
    let days = n as f64 / 1440.0;
    let churn = Churn {
        stretches: s.segments.len(),
        starts,
        stops,
        starts_per_day: if days > 0.0 {
            starts as f64 / days
        } else {
            0.0
        },
        median_lifetime_minutes: quantile(&mut lifetimes, 0.5),
        min_lifetime_minutes: lifetimes.first().copied(),
    };

    Pods {
        distinct: t.pods.len(),
        ready_per_minute: s.ready.clone(),
        hour_of_week_ready: hour_of_week_means(s, &ready_f),
        min_ready: s.ready.iter().copied().min().unwrap_or(0),
        max_ready: s.ready.iter().copied().max().unwrap_or(0),
        mean_ready: mean(&ready_f),
        rps_per_pod: Distribution::of(per_pod),
        hour_of_week_rps_per_pod: hour_of_week_means(s, &per_pod_by_minute),
        concurrency_per_pod: Distribution::of(concurrency),
        imbalance: Imbalance {
            minutes: cvs.len(),
            median_cv: quantile(&mut cvs, 0.5),
            median_max_over_mean: quantile(&mut max_over_mean, 0.5),
            hot_pods,
        },
        churn,
        cold_start: warmth.cold_start,
    }
}

fn cold_start(t: &Telemetry, s: &Series, age: &[usize]) -> ColdStartEffect {
    let mut cold: Vec<DenseHistogram> = vec![DenseHistogram::new(); COLD_MINUTES_EXAMINED];
    let mut warm: Vec<DenseHistogram> = vec![DenseHistogram::new(); COLD_MINUTES_EXAMINED];
    let mut observed = std::collections::BTreeSet::new();
    for i in 0..s.len() {
        let range = s.cell_start[i]..s.cell_start[i + 1];
        let young: Vec<usize> = range
            .clone()
            .filter(|&k| age[k] < COLD_MINUTES_EXAMINED)
            .collect();
        if young.is_empty() {
            continue;
        }
        let old: Vec<usize> = range.filter(|&k| age[k] >= WARM_AFTER_MINUTES).collect();
        if old.is_empty() {
            continue;
        }
        for &k in &young {
            cold[age[k]].add(&t.cells[k].cell.latency);
            observed.insert(t.cells[k].pod);
            for &w in &old {
                warm[age[k]].add(&t.cells[w].cell.latency);
            }
        }
    }
    let ratio = |q: f64, o: usize| -> Option<f64> {
        // Enough rows for the quantile to mean something: ten beyond it.
        let need = (10.0 / (1.0 - q)).ceil() as u64;
        if cold[o].count() < need || warm[o].count() < need {
            return None;
        }
        finite_or_none(cold[o].quantile_ns(q)? / warm[o].quantile_ns(q)?)
    };
    let p50: Vec<Option<f64>> = (0..COLD_MINUTES_EXAMINED).map(|o| ratio(0.5, o)).collect();
    let p99: Vec<Option<f64>> = (0..COLD_MINUTES_EXAMINED).map(|o| ratio(0.99, o)).collect();
    // The cold window ends at the first minute from which every measured median is within 10%.
    let cold_minutes = (0..=COLD_MINUTES_EXAMINED)
        .find(|&o| p50[o..].iter().flatten().all(|r| *r < 1.1))
        .unwrap_or(COLD_MINUTES_EXAMINED);
    let cold_p99_ratio = (cold_minutes > 0)
        .then(|| {
            let mut c = DenseHistogram::new();
            let mut w = DenseHistogram::new();
            for o in 0..cold_minutes {
                c.merge(&cold[o]);
                w.merge(&warm[o]);
            }
            if c.count() < 1000 || w.count() < 1000 {
                return None;
            }
            finite_or_none(c.quantile_ns(0.99)? / w.quantile_ns(0.99)?)
        })
        .flatten();
    ColdStartEffect {
        pods_observed: observed.len(),
        p50_ratio_by_minute: p50,
        p99_ratio_by_minute: p99,
        cold_minutes,
        cold_p99_ratio,
    }
}
