//! A small deterministic telemetry writer for tests and benchmarks: sampled rows of a diurnal,
//! weekly-modulated rate with Poisson arrivals, named pods (a fixed set, or replicas an HPA on
//! CPU adds and removes), and a latency that grows with load (a load factor, or an M/G/c queue
//! per pod), with slower cold pods. Same config and seed, same bytes. Its parameters are the
//! truth that the analysis tests recover.

use std::io::{self, Write};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, LogNormal, Poisson};

/// How timestamps are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampStyle {
    /// `2026-11-23T20:15:03.123456Z`.
    Rfc3339,
    /// Decimal epoch seconds, `1764188103.123456`.
    EpochSeconds,
    /// Integer epoch milliseconds.
    EpochMillis,
    /// Integer epoch microseconds.
    EpochMicros,
    /// Integer epoch nanoseconds.
    EpochNanos,
}

/// How status is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusStyle {
    /// HTTP codes.
    Http,
    /// gRPC code names.
    Grpc,
}

/// The traffic and service the generator imitates.
#[derive(Debug, Clone)]
pub struct GenerateConfig {
    /// First second, Unix seconds (UTC).
    pub start_unix_s: i64,
    /// Seconds of traffic.
    pub duration_s: u64,
    /// Full (unsampled) request rate at the daily peak on a weekday.
    pub peak_rps: f64,
    /// Trough rate as a fraction of the peak.
    pub trough_ratio: f64,
    /// Weekend rates as a fraction of weekday rates.
    pub weekend_factor: f64,
    /// Hour of day (UTC) of the daily peak.
    pub peak_hour: f64,
    /// Replicas serving the traffic.
    pub pods: u32,
    /// Requests per second one pod serves at 100% utilisation.
    pub pod_capacity_rps: f64,
    /// Median latency at low load, milliseconds.
    pub base_latency_ms: f64,
    /// Fraction of requests written.
    pub sample_rate: f64,
    /// Seed of the random stream.
    pub seed: u64,
    /// How many pods serve when.
    pub scaling: PodScaling,
    /// How latency grows with a pod's load.
    pub latency_model: LatencyModel,
    /// Slower first minutes of a new pod.
    pub cold_start: ColdStart,
    /// A recorded shape instead of the diurnal curve: one value per second from
    /// `start_unix_s`, highest 1 (see [`shape_from_counts`]); the rate is `peak_rps` times it
    /// (0 past its end).
    pub shape: Option<std::sync::Arc<[f64]>>,
    /// Campaigns: windows in which the rate is multiplied.
    pub bursts: Vec<Burst>,
    /// A rolling update at this second of the span that replaces every pod (25% at a time,
    /// each new pod serving before an old one stops), `None` without one.
    pub rollout_at_s: Option<u64>,
}

/// A rate shape from per-second request counts (a recorded trace): a moving mean over
/// `smooth_s` seconds (counting noise is not load), scaled so that its highest value is 1.
/// `None` without any request.
pub fn shape_from_counts(counts: &[f64], smooth_s: usize) -> Option<Vec<f64>> {
    let smoothed = crate::analysis::traffic::smooth(counts, smooth_s.max(1) | 1);
    let top = smoothed.iter().copied().fold(0.0, f64::max);
    (top > 0.0).then(|| smoothed.iter().map(|v| v / top).collect())
}

/// A campaign: from `start_s` (seconds from the span's start) for `duration_s`, the rate is
/// multiplied by `factor`, ramping in and out over [`BURST_RAMP_S`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Burst {
    /// Seconds from the span's start.
    pub start_s: u64,
    /// How long it lasts, ramps included.
    pub duration_s: u64,
    /// The rate's multiplier at its height.
    pub factor: f64,
}

/// Seconds a burst takes to reach its height and to fade.
pub const BURST_RAMP_S: f64 = 300.0;

impl Burst {
    /// The multiplier at `s` seconds from the span's start.
    fn at(&self, s: f64) -> f64 {
        let (a, b) = (self.start_s as f64, (self.start_s + self.duration_s) as f64);
        if s < a || s >= b {
            return 1.0;
        }
        let ramp = BURST_RAMP_S.min((b - a) / 2.0).max(1.0);
        let up = ((s - a) / ramp).min(1.0);
        let down = ((b - s) / ramp).min(1.0);
        1.0 + (self.factor - 1.0) * up.min(down)
    }
}

/// How many pods serve when.
#[derive(Debug, Clone, PartialEq)]
pub enum PodScaling {
    /// `pods` replicas for the whole span.
    Fixed,
    /// Replicas chosen by a CPU-utilisation HPA (the controller's equation on the expected
    /// rate every 15 s, default behavior: up at once by at most max(4 pods, 100%), down to the
    /// highest recommendation of the stabilisation window); new pods serve after a delay.
    CpuHpa(CpuHpaWorld),
}

/// The truth of a CPU-scaled service: what an HPA on CPU sees and does.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuHpaWorld {
    /// HPA bounds.
    pub min_replicas: u32,
    /// HPA bounds.
    pub max_replicas: u32,
    /// Target utilisation as a fraction of the request (0.6 for 60%).
    pub target_utilization: f64,
    /// The pod's CPU request, cores.
    pub cpu_request_cores: f64,
    /// CPU time one request costs, core-seconds.
    pub cpu_per_request_core_s: f64,
    /// CPU a pod burns with no traffic, cores.
    pub idle_cpu_cores: f64,
    /// Scale-down stabilisation window, seconds.
    pub scale_down_stabilization_s: u64,
    /// Seconds from creation to serving.
    pub ready_delay_s: u64,
}

impl Default for CpuHpaWorld {
    fn default() -> Self {
        CpuHpaWorld {
            min_replicas: 4,
            max_replicas: 40,
            target_utilization: 0.6,
            cpu_request_cores: 1.0,
            cpu_per_request_core_s: 0.005,
            idle_cpu_cores: 0.1,
            scale_down_stabilization_s: 300,
            ready_delay_s: 30,
        }
    }
}

/// How latency grows with a pod's load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LatencyModel {
    /// Log-normal latency (median `base_latency_ms`) times `1/(1 − ρ)`, `ρ` the service's load
    /// over `pods × pod_capacity_rps`.
    LoadFactor,
    /// Each pod an M/G/c queue: `servers_per_pod` servers, log-normal service time of median
    /// `base_latency_ms`, the wait of M/M/c at the pod's share of the rate.
    Queue {
        /// Servers per pod.
        servers_per_pod: u32,
    },
}

/// Log-space spread of the generator's service time.
pub const SERVICE_SIGMA: f64 = 0.35;

/// Slower first minutes of a new pod (caches and JIT warming up).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColdStart {
    /// Seconds after a pod starts serving that it is slow.
    pub duration_s: u64,
    /// Latency multiplier while cold.
    pub factor: f64,
}

impl Default for ColdStart {
    fn default() -> Self {
        ColdStart {
            duration_s: 0,
            factor: 1.0,
        }
    }
}

/// One pod's life in a generated week, seconds from the start of the span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodLife {
    /// When it was created.
    pub created_s: u64,
    /// When it started serving.
    pub ready_s: u64,
    /// When it stopped serving (the span's length if never).
    pub deleted_s: u64,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        GenerateConfig {
            start_unix_s: 1_763_942_400, // Monday 2025-11-24T00:00:00Z
            duration_s: 7 * 86_400,
            peak_rps: 2_000.0,
            trough_ratio: 0.2,
            weekend_factor: 0.8,
            peak_hour: 20.0,
            pods: 12,
            pod_capacity_rps: 250.0,
            base_latency_ms: 18.0,
            sample_rate: 0.01,
            seed: 1,
            scaling: PodScaling::Fixed,
            latency_model: LatencyModel::LoadFactor,
            cold_start: ColdStart::default(),
            shape: None,
            bursts: Vec::new(),
            rollout_at_s: None,
        }
    }
}

impl GenerateConfig {
    /// The demo's week of a recommendation cluster: a diurnal and weekly pattern peaking at
    /// 2,000 req/s at 20:00 UTC, three campaign bursts (Tuesday noon ×1.6 for 90 minutes,
    /// Thursday 19:00 ×1.4 for an hour, Saturday 15:00 ×1.5 for two hours), today's CPU HPA
    /// pinned high at night (12-40 pods at 60%, a ten-minute scale-down window), pods of four
    /// workers (M/G/c latency, 18 ms median service), a rolling update on Wednesday at 14:00
    /// that replaces every pod, new pods twice as slow for their first three minutes; 1% of
    /// requests written.
    pub fn demo() -> GenerateConfig {
        let day = 86_400;
        GenerateConfig {
            peak_rps: 2_000.0,
            sample_rate: 0.01,
            pods: 12,
            scaling: PodScaling::CpuHpa(CpuHpaWorld {
                min_replicas: 12,
                max_replicas: 40,
                target_utilization: 0.6,
                scale_down_stabilization_s: 600,
                ready_delay_s: 45,
                ..CpuHpaWorld::default()
            }),
            latency_model: LatencyModel::Queue { servers_per_pod: 4 },
            cold_start: ColdStart {
                duration_s: 180,
                factor: 2.0,
            },
            bursts: vec![
                Burst {
                    start_s: day + 12 * 3600,
                    duration_s: 90 * 60,
                    factor: 1.6,
                },
                Burst {
                    start_s: 3 * day + 19 * 3600,
                    duration_s: 3600,
                    factor: 1.4,
                },
                Burst {
                    start_s: 5 * day + 15 * 3600,
                    duration_s: 2 * 3600,
                    factor: 1.5,
                },
            ],
            rollout_at_s: Some(2 * day + 14 * 3600),
            ..GenerateConfig::default()
        }
    }

    /// The full (unsampled) request rate at Unix second `t`.
    pub fn rate_at(&self, t: i64) -> f64 {
        let base = self.base_rate_at(t);
        let s = (t - self.start_unix_s) as f64;
        self.bursts.iter().fold(base, |r, b| r * b.at(s))
    }

    /// The rate without bursts.
    fn base_rate_at(&self, t: i64) -> f64 {
        if let Some(shape) = &self.shape {
            let i = t - self.start_unix_s;
            return usize::try_from(i)
                .ok()
                .and_then(|i| shape.get(i))
                .map_or(0.0, |v| self.peak_rps * v);
        }
        let day_s = t.rem_euclid(86_400) as f64;
        let hour = day_s / 3600.0;
        let phase = 2.0 * std::f64::consts::PI * (hour - self.peak_hour) / 24.0;
        let diurnal = (1.0 + phase.cos()) / 2.0;
        // 1970-01-01 was a Thursday: day 0 = Thursday, so days 2 and 3 (mod 7) are Sat and Sun.
        let weekday = t.div_euclid(86_400).rem_euclid(7);
        let week = if weekday == 2 || weekday == 3 {
            self.weekend_factor
        } else {
            1.0
        };
        let trough = self.peak_rps * self.trough_ratio;
        (trough + (self.peak_rps - trough) * diurnal) * week
    }

    /// Sets `peak_rps` so that the expected number of written rows is `rows`.
    pub fn with_expected_rows(mut self, rows: u64) -> Self {
        self.peak_rps = 1.0;
        let per_unit: f64 = (0..self.duration_s as i64)
            .map(|s| self.rate_at(self.start_unix_s + s))
            .sum::<f64>()
            * self.sample_rate;
        if per_unit > 0.0 {
            self.peak_rps = rows as f64 / per_unit;
        }
        self
    }

    /// Every pod's life, in creation order (the index is the pod's id in [`GenRow::pod`]).
    /// Deterministic: the HPA acts on the expected rate, not the sampled one. A rollout
    /// replaces the pods serving at its time.
    pub fn replica_plan(&self) -> Vec<PodLife> {
        let mut lives = self.scaled_plan();
        if let Some(at) = self.rollout_at_s {
            let delay = match &self.scaling {
                PodScaling::CpuHpa(w) => w.ready_delay_s,
                PodScaling::Fixed => 30,
            };
            roll_out(&mut lives, at, delay.max(1), self.duration_s);
        }
        lives
    }

    /// The pods' lives from the scaling alone.
    fn scaled_plan(&self) -> Vec<PodLife> {
        let end = self.duration_s;
        let PodScaling::CpuHpa(w) = &self.scaling else {
            return (0..self.pods.max(1))
                .map(|_| PodLife {
                    created_s: 0,
                    ready_s: 0,
                    deleted_s: end,
                })
                .collect();
        };
        let (min, max) = (
            w.min_replicas.max(1),
            w.max_replicas.max(w.min_replicas.max(1)),
        );
        let utilization = |rate: f64, ready: usize| {
            let per_pod = rate / ready.max(1) as f64;
            (w.idle_cpu_cores + w.cpu_per_request_core_s * per_pod) / w.cpu_request_cores
        };
        // Start at the steady state of the first second's rate.
        let rate0 = self.rate_at(self.start_unix_s);
        let mut n0 = min;
        while n0 < max && utilization(rate0, n0 as usize) > w.target_utilization {
            n0 += 1;
        }
        let mut lives: Vec<PodLife> = (0..n0)
            .map(|_| PodLife {
                created_s: 0,
                ready_s: 0,
                deleted_s: end,
            })
            .collect();
        let mut alive: Vec<usize> = (0..n0 as usize).collect();
        let mut recommendations: std::collections::VecDeque<(u64, u32)> = Default::default();
        let mut t = 15;
        while t < end {
            let rate = self.rate_at(self.start_unix_s + t as i64);
            let current = alive.len() as u32;
            let ready = alive.iter().filter(|&&i| lives[i].ready_s <= t).count();
            let ratio = utilization(rate, ready) / w.target_utilization;
            // HPA: inside the tolerance band nothing changes (autoscaling-semantics §1.4).
            let desired = if (ratio - 1.0).abs() <= 0.1 {
                current
            } else {
                (f64::from(current) * ratio).ceil() as u32
            }
            .clamp(min, max);
            recommendations.push_back((t, desired));
            while recommendations
                .front()
                .is_some_and(|(at, _)| *at + w.scale_down_stabilization_s < t)
            {
                recommendations.pop_front();
            }
            let next = if desired > current {
                desired.min(current.saturating_mul(2).max(current + 4))
            } else {
                recommendations
                    .iter()
                    .map(|r| r.1)
                    .max()
                    .unwrap_or(desired)
                    .min(current)
            };
            if next > current {
                for _ in current..next {
                    alive.push(lives.len());
                    lives.push(PodLife {
                        created_s: t,
                        ready_s: t + w.ready_delay_s,
                        deleted_s: end,
                    });
                }
            } else {
                // The ReplicaSet controller removes the newest pods first.
                for _ in next..current {
                    if let Some(i) = alive.pop() {
                        lives[i].deleted_s = t;
                    }
                }
            }
            t += 15;
        }
        lives
    }

    /// The pods' names: Deployment-style `reco-<hash>-<suffix>`, one per pod of the
    /// [`replica_plan`](Self::replica_plan); pods created from a rollout on carry the new
    /// ReplicaSet's hash.
    pub fn pod_names(&self) -> Vec<String> {
        let plan = self.replica_plan();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed ^ 0x9e37_79b9_7f4a_7c15);
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        plan.iter()
            .map(|life| {
                let suffix: String = (0..5)
                    .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                    .collect();
                let hash = match self.rollout_at_s {
                    Some(at) if life.created_s >= at => "5f8d7c9b6",
                    _ => "7c9f5d6b4",
                };
                format!("reco-{hash}-{suffix}")
            })
            .collect()
    }
}

/// A rolling update at `at` (maxSurge 25%, maxUnavailable 0): the pods serving then are
/// replaced a quarter at a time; each batch's new pods are created together, serve after
/// `delay`, and the old ones stop as they do. A replacement keeps the old pod's planned end.
fn roll_out(lives: &mut Vec<PodLife>, at: u64, delay: u64, end: u64) {
    if at >= end {
        return;
    }
    let old: Vec<usize> = (0..lives.len())
        .filter(|&i| lives[i].ready_s <= at && at < lives[i].deleted_s)
        .collect();
    let batch = old.len().div_ceil(4).max(1);
    for (k, chunk) in old.chunks(batch).enumerate() {
        let t = at + k as u64 * delay;
        for &i in chunk {
            if lives[i].deleted_s <= t || t >= end {
                continue;
            }
            let planned_end = lives[i].deleted_s;
            let ready = (t + delay).min(end);
            lives[i].deleted_s = ready.min(planned_end);
            if ready < planned_end {
                lives.push(PodLife {
                    created_s: t,
                    ready_s: ready,
                    deleted_s: planned_end,
                });
            }
        }
    }
}

/// One generated request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenRow {
    /// Arrival, Unix nanoseconds.
    pub ts_ns: i64,
    /// Latency, microseconds.
    pub latency_us: u64,
    /// HTTP status code.
    pub status: u16,
    /// Index into [`GenerateConfig::pod_names`].
    pub pod: u32,
}

/// The row stream: second by second, rows within a second in arrival-jittered order (not
/// sorted, as log shippers deliver them).
#[derive(Debug)]
pub struct Generator {
    cfg: GenerateConfig,
    rng: Xoshiro256PlusPlus,
    second: u64,
    pending: Vec<GenRow>,
    latency: LogNormal<f64>,
    plan: Vec<PodLife>,
    serving: Vec<u32>,
}

impl Generator {
    /// A generator for `cfg`.
    pub fn new(cfg: GenerateConfig) -> Self {
        let sigma = SERVICE_SIGMA;
        let plan = cfg.replica_plan();
        let latency =
            LogNormal::new(cfg.base_latency_ms.max(0.001).ln(), sigma).unwrap_or_else(|_| {
                LogNormal::new(0.0, sigma).expect("constant lognormal parameters are valid")
            });
        Generator {
            rng: Xoshiro256PlusPlus::seed_from_u64(cfg.seed),
            cfg,
            second: 0,
            pending: Vec::new(),
            latency,
            plan,
            serving: Vec::new(),
        }
    }

    fn fill_second(&mut self) {
        let t = self.cfg.start_unix_s + self.second as i64;
        let rate = self.cfg.rate_at(t);
        let lambda = rate * self.cfg.sample_rate;
        let n = match Poisson::new(lambda) {
            Ok(p) if lambda > 0.0 => p.sample(&mut self.rng) as u64,
            _ => 0,
        };
        let s = self.second;
        self.serving.clear();
        self.serving.extend(
            self.plan
                .iter()
                .enumerate()
                .filter(|(_, l)| l.ready_s <= s && s < l.deleted_s)
                .map(|(i, _)| i as u32),
        );
        if self.serving.is_empty() {
            return;
        }
        let ready = self.serving.len() as f64;
        // (probability of waiting, rate of the exponential wait per ms) for the queue model.
        let (rho, wait) = match self.cfg.latency_model {
            LatencyModel::LoadFactor => {
                let capacity = ready * self.cfg.pod_capacity_rps;
                ((rate / capacity).clamp(0.0, 0.97), None)
            }
            LatencyModel::Queue { servers_per_pod } => {
                let c = f64::from(servers_per_pod.max(1));
                let mean_ms =
                    self.cfg.base_latency_ms * (SERVICE_SIGMA * SERVICE_SIGMA / 2.0).exp();
                let mu = 1000.0 / mean_ms;
                let per_pod = rate / ready;
                let rho = (per_pod / (c * mu)).clamp(0.0, 0.97);
                let a = rho * c * mu / mu;
                let p_wait = crate::queueing::erlang_c(servers_per_pod.max(1), a);
                let theta_per_ms = (c * mu - rho * c * mu) / 1000.0;
                (rho, Some((p_wait, theta_per_ms)))
            }
        };
        let queueing = if wait.is_some() {
            1.0
        } else {
            1.0 / (1.0 - rho)
        };
        let p_shed = ((rho - 0.9) * 2.0).max(0.0);
        let cold = self.cfg.cold_start;
        for _ in 0..n {
            let frac: f64 = self.rng.random();
            let pod = self.serving[self.rng.random_range(0..self.serving.len())];
            let mut latency_ms = self.latency.sample(&mut self.rng) * queueing;
            if let Some((p_wait, theta)) = wait {
                let u: f64 = self.rng.random();
                if u < p_wait {
                    let e: f64 = self.rng.random();
                    latency_ms += -(1.0 - e).ln() / theta;
                }
            }
            if cold.duration_s > 0 {
                let life = self.plan[pod as usize];
                if life.ready_s > 0 && s < life.ready_s + cold.duration_s {
                    latency_ms *= cold.factor;
                }
            }
            let u: f64 = self.rng.random();
            let status = if u < p_shed {
                503
            } else if latency_ms > 1_000.0 || u < p_shed + 0.0005 {
                504
            } else if u < p_shed + 0.0015 {
                500
            } else if u < p_shed + 0.0055 {
                404
            } else {
                200
            };
            let latency_ms = if status == 503 { 0.4 } else { latency_ms };
            self.pending.push(GenRow {
                ts_ns: t * 1_000_000_000 + (frac * 1e9) as i64,
                latency_us: (latency_ms * 1000.0).round() as u64,
                status,
                pod,
            });
        }
        // Timestamps within a second are drawn independently, so rows are not sorted; reversing
        // makes pop() hand them out in the order they were drawn.
        self.pending.reverse();
    }
}

impl Iterator for Generator {
    type Item = GenRow;
    fn next(&mut self) -> Option<GenRow> {
        while self.pending.is_empty() {
            if self.second >= self.cfg.duration_s {
                return None;
            }
            self.fill_second();
            self.second += 1;
        }
        self.pending.pop()
    }
}

/// The gRPC name standing for an HTTP status in generated data.
pub fn grpc_name(http: u16) -> &'static str {
    match http {
        200..=399 => "OK",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        400..=499 => "INVALID_ARGUMENT",
        _ => "INTERNAL",
    }
}

/// The text layouts the generator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextLayout {
    /// Comma-separated with a header.
    Csv,
    /// Tab-separated with a header.
    Tsv,
    /// One JSON object per line.
    JsonLines,
}

/// Formats a timestamp in a style.
pub fn format_timestamp(ts_ns: i64, style: TimestampStyle) -> String {
    let secs = ts_ns.div_euclid(1_000_000_000);
    let nanos = ts_ns.rem_euclid(1_000_000_000);
    match style {
        TimestampStyle::Rfc3339 => {
            let days = secs.div_euclid(86_400);
            let sod = secs.rem_euclid(86_400);
            let (y, m, d) = civil_from_days(days);
            format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
                sod / 3600,
                sod / 60 % 60,
                sod % 60,
                nanos / 1000
            )
        }
        TimestampStyle::EpochSeconds => format!("{secs}.{:06}", nanos / 1000),
        TimestampStyle::EpochMillis => format!("{}", ts_ns.div_euclid(1_000_000)),
        TimestampStyle::EpochMicros => format!("{}", ts_ns.div_euclid(1_000)),
        TimestampStyle::EpochNanos => format!("{ts_ns}"),
    }
}

/// Inverse of `days_from_civil` (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Writes rows as text. Returns the number of rows written.
pub fn write_text(
    rows: impl Iterator<Item = GenRow>,
    pod_names: &[String],
    layout: TextLayout,
    timestamps: TimestampStyle,
    statuses: StatusStyle,
    out: &mut dyn Write,
) -> io::Result<u64> {
    let mut out = io::BufWriter::with_capacity(1 << 20, out);
    let sep = match layout {
        TextLayout::Tsv => '\t',
        _ => ',',
    };
    if layout != TextLayout::JsonLines {
        writeln!(out, "timestamp{sep}latency_ms{sep}status{sep}pod")?;
    }
    let mut n = 0u64;
    for r in rows {
        let ts = format_timestamp(r.ts_ns, timestamps);
        let pod = pod_names.get(r.pod as usize).map_or("?", String::as_str);
        let lat_ms = r.latency_us / 1000;
        let lat_frac = r.latency_us % 1000;
        match layout {
            TextLayout::JsonLines => {
                let ts_json = if timestamps == TimestampStyle::Rfc3339 {
                    format!("\"{ts}\"")
                } else {
                    ts
                };
                let status = match statuses {
                    StatusStyle::Http => r.status.to_string(),
                    StatusStyle::Grpc => format!("\"{}\"", grpc_name(r.status)),
                };
                writeln!(
                    out,
                    "{{\"timestamp\":{ts_json},\"latency_ms\":{lat_ms}.{lat_frac:03},\"status\":{status},\"pod\":\"{pod}\"}}"
                )?;
            }
            _ => {
                match statuses {
                    StatusStyle::Http => write!(
                        out,
                        "{ts}{sep}{lat_ms}.{lat_frac:03}{sep}{}{sep}{pod}",
                        r.status
                    )?,
                    StatusStyle::Grpc => write!(
                        out,
                        "{ts}{sep}{lat_ms}.{lat_frac:03}{sep}{}{sep}{pod}",
                        grpc_name(r.status)
                    )?,
                }
                out.write_all(b"\n")?;
            }
        }
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_shape_sets_the_rate_second_by_second() {
        let counts = [0.0, 2.0, 4.0, 2.0, 0.0, 0.0];
        let shape = shape_from_counts(&counts, 1).expect("requests");
        assert_eq!(shape, vec![0.0, 0.5, 1.0, 0.5, 0.0, 0.0]);
        // A moving mean over three seconds, then scaled to a highest value of 1.
        let smooth = shape_from_counts(&counts, 3).expect("requests");
        assert!(
            (smooth[2] - 1.0).abs() < 1e-12 && smooth[1] < 1.0,
            "{smooth:?}"
        );
        assert_eq!(shape_from_counts(&[0.0; 4], 1), None);
        let cfg = GenerateConfig {
            peak_rps: 100.0,
            shape: Some(shape.into()),
            ..GenerateConfig::default()
        };
        let t0 = cfg.start_unix_s;
        assert_eq!(cfg.rate_at(t0 + 2), 100.0);
        assert_eq!(cfg.rate_at(t0 + 1), 50.0);
        // Past the shape's end, and before its start: no traffic.
        assert_eq!(cfg.rate_at(t0 + 6), 0.0);
        assert_eq!(cfg.rate_at(t0 - 1), 0.0);
    }

    fn small() -> GenerateConfig {
        GenerateConfig {
            duration_s: 3600,
            sample_rate: 0.05,
            ..GenerateConfig::default()
        }
    }

    #[test]
    fn a_burst_multiplies_the_rate_with_ramps() {
        let cfg = GenerateConfig {
            bursts: vec![Burst {
                start_s: 3600,
                duration_s: 3600,
                factor: 1.5,
            }],
            ..small()
        };
        let plain = GenerateConfig { ..small() };
        let t0 = cfg.start_unix_s;
        let ratio = |s: i64| cfg.rate_at(t0 + s) / plain.rate_at(t0 + s);
        assert_eq!(ratio(3599), 1.0);
        assert!((ratio(3600 + 150) - 1.25).abs() < 1e-9);
        assert!((ratio(5400) - 1.5).abs() < 1e-9);
        assert!((ratio(7200 - 150) - 1.25).abs() < 1e-9);
        assert_eq!(ratio(7200), 1.0);
    }

    #[test]
    fn a_rollout_replaces_every_serving_pod_a_quarter_at_a_time() {
        let cfg = GenerateConfig {
            duration_s: 7200,
            pods: 8,
            rollout_at_s: Some(3600),
            cold_start: ColdStart {
                duration_s: 120,
                factor: 2.0,
            },
            ..small()
        };
        let plan = cfg.replica_plan();
        assert_eq!(plan.len(), 16);
        let serving = |s: u64| {
            plan.iter()
                .filter(|l| l.ready_s <= s && s < l.deleted_s)
                .count()
        };
        // Never fewer than the replicas; at most a quarter more while a batch starts.
        for s in (0..7200).step_by(5) {
            assert!((8..=10).contains(&serving(s)), "{s}: {}", serving(s));
        }
        // After four batches of 30 s, only new pods serve.
        assert!(plan[..8].iter().all(|l| l.deleted_s <= 3600 + 4 * 30));
        assert!(
            plan[8..]
                .iter()
                .all(|l| l.created_s >= 3600 && l.deleted_s == 7200)
        );
        let names = cfg.pod_names();
        assert!(names[..8].iter().all(|n| n.starts_with("reco-7c9f5d6b4-")));
        assert!(names[8..].iter().all(|n| n.starts_with("reco-5f8d7c9b6-")));
        // New pods are cold: their first two minutes are slower.
        let rows: Vec<GenRow> = Generator::new(cfg.clone()).collect();
        let mean = |pred: &dyn Fn(&GenRow) -> bool| {
            let v: Vec<f64> = rows
                .iter()
                .filter(|r| pred(r))
                .map(|r| r.latency_us as f64)
                .collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        let start = cfg.start_unix_s * 1_000_000_000;
        let cold = mean(&|r: &GenRow| {
            let life = plan[r.pod as usize];
            let s = ((r.ts_ns - start) / 1_000_000_000) as u64;
            r.status == 200 && life.created_s > 0 && s < life.ready_s + 120
        });
        let warm = mean(&|r: &GenRow| {
            let s = ((r.ts_ns - start) / 1_000_000_000) as u64;
            r.status == 200 && s > 4000
        });
        assert!(cold > 1.6 * warm, "cold {cold} warm {warm}");
    }

    #[test]
    fn same_seed_same_rows_other_seed_other_rows() {
        let a: Vec<GenRow> = Generator::new(small()).collect();
        let b: Vec<GenRow> = Generator::new(small()).collect();
        let c: Vec<GenRow> = Generator::new(GenerateConfig { seed: 2, ..small() }).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(!a.is_empty());
    }

    #[test]
    fn expected_rows_are_met_within_poisson_noise() {
        let cfg = small().with_expected_rows(20_000);
        let n = Generator::new(cfg).count() as f64;
        // Poisson: sd = sqrt(20000) ~ 141; 5 sd either way.
        assert!((n - 20_000.0).abs() < 710.0, "{n}");
    }

    #[test]
    fn diurnal_shape_peaks_at_the_peak_hour() {
        let cfg = GenerateConfig::default();
        let monday = cfg.start_unix_s;
        let peak = cfg.rate_at(monday + 20 * 3600);
        let trough = cfg.rate_at(monday + 8 * 3600);
        assert!((peak - cfg.peak_rps).abs() < 1e-6);
        assert!((trough - cfg.peak_rps * cfg.trough_ratio).abs() < 1e-6);
        let saturday = monday + 5 * 86_400;
        assert!((cfg.rate_at(saturday + 20 * 3600) - peak * cfg.weekend_factor).abs() < 1e-6);
    }

    #[test]
    fn timestamps_format_as_rfc3339() {
        assert_eq!(
            format_timestamp(1_764_756_000_123_456_789, TimestampStyle::Rfc3339),
            "2025-12-03T10:00:00.123456Z"
        );
        assert_eq!(
            super::super::timestamp::days_from_civil(2025, 12, 3),
            1_764_756_000 / 86_400
        );
        assert_eq!(civil_from_days(1_764_756_000 / 86_400), (2025, 12, 3));
    }
}
