//! From the analysis and the configuration to the simulator's inputs: the service model
//! (latency table from the fitted queue, CPU per request, start-up and warm-up), the node pool
//! (pods per node, price, bounds, cluster autoscaler or Karpenter) and today's scaler; and the
//! fidelity of a baseline replay against what the telemetry showed.

use serde::Serialize;

use super::latency::LatencyTable;
use super::{
    Budget, Demand, NodePool, NodeShape, Provisioner, Scaler, ServiceModel, SimConfig, SimError,
    SimResult,
};
use crate::analysis::Analysis;
use crate::analysis::cost::{node_model, serving_pods_per_node, serving_workload};
use crate::cluster::ClusterConfig;
use crate::cluster::nodes::Catalogue;
use crate::queueing::{PodQueue, ServiceTime};

/// What the simulator reads from an analysis. [`Facts::of`] takes it from an [`Analysis`];
/// [`Facts::from_analysis_json`] reads it back from `analysis.json`, so that the testbed and
/// the load commands need not re-read the telemetry.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// The p99 objective, milliseconds.
    pub slo_p99_ms: f64,
    /// The zone hours of the week are in.
    pub time_zone: String,
    /// The fitted pod queue.
    pub queue: Option<PodQueue>,
    /// Why there is no queue, when there is none.
    pub capacity_notes: Vec<String>,
    /// CPU per request and idle CPU per pod, when today's HPA let the analysis infer them.
    pub cpu: Option<(f64, f64)>,
    /// Minutes a new pod is slow, and its p99 meanwhile over a warm pod's.
    pub cold_minutes: usize,
    /// See `cold_minutes`.
    pub cold_p99_ratio: Option<f64>,
    /// How unevenly requests spread over pods.
    pub imbalance_cv: Option<f64>,
    /// Off-peak hours of the week.
    pub off_peak_hours: Vec<u8>,
    /// Ready pods in each minute of the telemetry.
    pub ready_per_minute: Vec<u32>,
}

impl Facts {
    /// The facts of an analysis.
    pub fn of(a: &Analysis) -> Facts {
        Facts {
            slo_p99_ms: a.slo_p99_ms,
            time_zone: a.time_zone.clone(),
            queue: a.capacity.model.clone(),
            capacity_notes: a.capacity.notes.clone(),
            cpu: a
                .cpu
                .as_ref()
                .map(|c| (c.cpu_per_request_core_s, c.idle_cpu_cores)),
            cold_minutes: a.pods.cold_start.cold_minutes,
            cold_p99_ratio: a.pods.cold_start.cold_p99_ratio,
            imbalance_cv: a.pods.imbalance.median_cv,
            off_peak_hours: a.traffic.off_peak_hours.clone(),
            ready_per_minute: a.pods.ready_per_minute.clone(),
        }
    }

    /// The facts from `analysis.json` (docs/formats.md); the error names the missing or
    /// malformed field.
    pub fn from_analysis_json(v: &serde_json::Value) -> Result<Facts, String> {
        let at = |path: &str| path.split('.').fold(v, |v, k| &v[k]);
        let num = |path: &str| {
            at(path)
                .as_f64()
                .ok_or_else(|| format!("{path}: expected a number, found {}", at(path)))
        };
        let opt_num = |path: &str| at(path).as_f64();
        let schema = at("schema_version").as_u64();
        if schema.is_none() {
            return Err(
                "schema_version: missing; expected analysis.json written by rightsize analyze"
                    .into(),
            );
        }
        let queue = match at("capacity.model") {
            serde_json::Value::Null => None,
            m => {
                let servers = m["servers"].as_u64().and_then(|s| u32::try_from(s).ok());
                let points = m["service"]["points"].as_array().map(|ps| {
                    ps.iter()
                        .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
                        .collect::<Vec<_>>()
                });
                match (servers, points.and_then(ServiceTime::from_points)) {
                    (Some(servers), Some(service)) if servers > 0 => {
                        Some(PodQueue { servers, service })
                    }
                    _ => {
                        return Err("capacity.model: expected {\"servers\": N, \"service\": {\"points\": [[ms, weight], …]}}".into());
                    }
                }
            }
        };
        let strings = |path: &str| {
            at(path)
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let ints = |path: &str| -> Result<Vec<u64>, String> {
            match at(path).as_array() {
                Some(a) => a
                    .iter()
                    .map(|x| {
                        x.as_u64()
                            .ok_or_else(|| format!("{path}: expected whole numbers, found {x}"))
                    })
                    .collect(),
                None => Err(format!("{path}: expected an array, found {}", at(path))),
            }
        };
        Ok(Facts {
            slo_p99_ms: num("slo_p99_ms")?,
            time_zone: at("time_zone").as_str().unwrap_or("UTC").to_string(),
            queue,
            capacity_notes: strings("capacity.notes"),
            cpu: match (
                opt_num("cpu.cpu_per_request_core_s"),
                opt_num("cpu.idle_cpu_cores"),
            ) {
                (Some(c), Some(i)) => Some((c, i)),
                _ => None,
            },
            cold_minutes: at("pods.cold_start.cold_minutes").as_u64().unwrap_or(0) as usize,
            cold_p99_ratio: opt_num("pods.cold_start.cold_p99_ratio"),
            imbalance_cv: opt_num("pods.imbalance.median_cv"),
            off_peak_hours: ints("traffic.off_peak_hours")?
                .into_iter()
                .filter(|h| *h < 168)
                .map(|h| h as u8)
                .collect(),
            ready_per_minute: ints("pods.ready_per_minute")?
                .into_iter()
                .map(|r| u32::try_from(r).unwrap_or(u32::MAX))
                .collect(),
        })
    }
}

/// Settings the telemetry cannot tell (`None`: the documented default).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SetupOptions {
    /// Seconds from scheduling to serving; `None`: the readiness probe's earliest plus
    /// [`CONTAINER_START_S`], or [`DEFAULT_STARTUP_S`] without a probe.
    pub startup_s: Option<f64>,
    /// Seconds from a node request to a Ready node; `None`: by provisioner and cloud.
    pub provision_s: Option<f64>,
    /// Latency counted for requests to an overloaded pod (a client timeout); `None`: ten times
    /// the SLO.
    pub overload_ms: Option<f64>,
    /// CPU per request and idle CPU when the analysis could not infer them.
    pub cpu_per_request_core_s: Option<f64>,
    /// Idle CPU per pod, cores.
    pub idle_cpu_cores: Option<f64>,
    /// Spread requests evenly over ready pods instead of with the observed imbalance.
    pub even_spread: bool,
}

/// Start-up of a pod without a readiness probe (image present, app start), seconds.
pub const DEFAULT_STARTUP_S: f64 = 30.0;
/// Container start before the readiness probe's first check, seconds.
pub const CONTAINER_START_S: f64 = 10.0;
/// Request to Ready for an EKS or AKS node (autoscaling-semantics §3.3: 45-75 s measured).
pub const NODE_PROVISION_S: f64 = 75.0;
/// The same on GKE (a MIG: 3-4 minutes to schedulable).
pub const GKE_NODE_PROVISION_S: f64 = 210.0;
/// Karpenter's launch to Ready on AWS.
pub const KARPENTER_PROVISION_S: f64 = 50.0;

/// The simulator's inputs for a configuration.
#[derive(Debug, Clone)]
pub struct Setup {
    /// How the service behaves.
    pub service: ServiceModel,
    /// Its nodes.
    pub pool: NodePool,
    /// Today's scaler (the first HPA, else the first ScaledObject, else the Deployment's
    /// replicas).
    pub scaler: Scaler,
    /// The replay's settings (off-peak hours and zone from the analysis).
    pub config: SimConfig,
    /// Assumptions made, in words.
    pub notes: Vec<String>,
    /// Where the start-up time came from.
    pub startup: StartupBasis,
}

/// Where the pods' start-up time came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum StartupBasis {
    /// `--startup-s`.
    Flag,
    /// Replays of today's scaler with candidate start-ups against the ready pods the
    /// telemetry shows around its scale-ups (see [`fit_startup`]).
    Fitted(StartupFit),
    /// The readiness probe's earliest success plus [`CONTAINER_START_S`].
    Probe,
    /// [`DEFAULT_STARTUP_S`]: no probe, and the data did not show it.
    Default,
}

/// Start-ups tried and how far each replay's ready pods were from the telemetry's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StartupFit {
    /// The best candidate, seconds.
    pub startup_s: f64,
    /// `[candidate seconds, mean absolute error in ready pods]` for each candidate, over the
    /// minutes around the telemetry's scale-ups.
    pub errors: Vec<(f64, f64)>,
    /// Scale-ups seen in the telemetry.
    pub scale_ups: usize,
}

/// Start-ups a fit tries, seconds.
pub const STARTUP_CANDIDATES_S: [f64; 12] = [
    0.0, 15.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 240.0, 300.0, 420.0, 600.0,
];

/// Minutes either side of an observed scale-up that a start-up fit compares.
const FIT_SPAN_MIN: usize = 10;

/// Fits the pods' start-up from the telemetry: pods appear in it when they serve their first
/// request, so the lag between today's scaler deciding to scale up (which the replay knows)
/// and the new pods' first requests is the start-up. Each candidate of
/// [`STARTUP_CANDIDATES_S`] is replayed with today's scaler, and the one whose ready pods per
/// minute come closest to `observed` (the telemetry's ready pods per minute, aligned with
/// `demand`) in the minutes around its scale-ups wins. `None` when the data cannot tell: fewer
/// than three scale-ups (rises held for five minutes), a fixed replica count, errors that
/// differ by less than 5% between candidates (smooth ramps that a CPU HPA follows pod by pod
/// hide the start-up: the HPA makes up for slow pods with more of them), or a best replay
/// more than 10% of the pods away from the telemetry (today's scaler did not produce it).
pub fn fit_startup(
    observed: &[u32],
    demand: &Demand,
    s: &Setup,
    threads: usize,
) -> Option<StartupFit> {
    if matches!(s.scaler, Scaler::Fixed(_)) {
        return None;
    }
    // A scale-up: for five minutes more pods than in any of the five minutes before (a pod
    // that sampled telemetry missed for a while is not one), the first such minute in its span.
    let mut ups: Vec<usize> = Vec::new();
    for m in 5..observed.len().saturating_sub(5) {
        let before = observed[m - 5..m].iter().copied().max().unwrap_or(0);
        let after = observed[m..m + 5].iter().copied().min().unwrap_or(0);
        if after > before && ups.last().is_none_or(|&u| m > u + FIT_SPAN_MIN) {
            ups.push(m);
        }
    }
    if ups.len() < 3 {
        return None;
    }
    let mut near = vec![false; observed.len()];
    for &m in &ups {
        for flag in near
            .iter_mut()
            .take((m + FIT_SPAN_MIN + 1).min(observed.len()))
            .skip(m.saturating_sub(FIT_SPAN_MIN))
        {
            *flag = true;
        }
    }
    let results = crate::par::par_map(&STARTUP_CANDIDATES_S, threads, |&c| {
        let service = ServiceModel {
            startup_s: c,
            ..s.service.clone()
        };
        super::simulate(demand, &service, &s.pool, &s.scaler, &s.config)
    });
    let mut errors = Vec::new();
    for (c, r) in STARTUP_CANDIDATES_S.iter().zip(results) {
        let r = r.ok()?;
        let (mut sum, mut n) = (0.0, 0usize);
        for (m, sim) in r.series.ready_pods_1m.iter().enumerate() {
            if near.get(m).copied().unwrap_or(false) {
                sum += (sim - f64::from(observed[m])).abs();
                n += 1;
            }
        }
        errors.push((*c, sum / n.max(1) as f64));
    }
    let (best, best_err) = errors.iter().copied().min_by(|x, y| x.1.total_cmp(&y.1))?;
    let worst = errors.iter().map(|e| e.1).fold(0.0, f64::max);
    // The replay must follow the telemetry's scaling at all (within 10% of its pods around the
    // scale-ups) for the lag between them to mean something.
    let (mut seen, mut n) = (0.0, 0usize);
    for (m, &o) in observed.iter().enumerate() {
        if near[m] {
            seen += f64::from(o);
            n += 1;
        }
    }
    let level = seen / n.max(1) as f64;
    (worst > best_err * 1.05 && best_err <= 0.1 * level).then_some(StartupFit {
        startup_s: best,
        errors,
        scale_ups: ups.len(),
    })
}

/// What a configuration changes in a replay: the node pool, the scaler and the replay's
/// settings. The service model (latency table, CPU, start-up) comes from the workload and the
/// analysis, so replays of several scalers for the same workload can share one.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The nodes.
    pub pool: NodePool,
    /// The scaler.
    pub scaler: Scaler,
    /// The replay's settings.
    pub config: SimConfig,
    /// Assumptions made, in words.
    pub notes: Vec<String>,
}

/// The node pool, scaler and settings of `config` (the first node group, the first HPA or
/// else ScaledObject, the analysis's off-peak hours and zone).
pub fn plan(
    a: &Analysis,
    config: &ClusterConfig,
    catalogue: &Catalogue,
    tz: &jiff::tz::TimeZone,
    opts: &SetupOptions,
) -> Result<Plan, SimError> {
    plan_of(&Facts::of(a), config, catalogue, tz, opts)
}

/// [`plan`] from an analysis's [`Facts`].
pub fn plan_of(
    a: &Facts,
    config: &ClusterConfig,
    catalogue: &Catalogue,
    tz: &jiff::tz::TimeZone,
    opts: &SetupOptions,
) -> Result<Plan, SimError> {
    let mut notes = Vec::new();
    let nm = node_model(config, catalogue).map_err(SimError::Invalid)?;
    let workload = serving_workload(config);
    let group = config.node_groups.first();
    let karpenter = group.is_some_and(|g| g.source.contains("Karpenter"));
    let gke = group.is_some_and(|g| g.source.contains("GKE"));
    let provisioner = if karpenter {
        let c = group.and_then(|g| g.consolidation.as_ref());
        Provisioner::Karpenter {
            provision_s: opts.provision_s.unwrap_or(KARPENTER_PROVISION_S),
            consolidate_after_s: c.and_then(|c| c.after_s).unwrap_or(0) as f64,
            underutilized: c.is_none_or(|c| c.policy != "WhenEmpty"),
            budget: c
                .and_then(|c| Budget::of_budgets(&c.budgets))
                .unwrap_or(Budget::DEFAULT),
            instance_types: group.map_or_else(Vec::new, |g| {
                let mut shapes = Vec::new();
                for name in &g.instance_types {
                    match catalogue.get(name) {
                        Some(it) => shapes.push(NodeShape {
                            name: name.clone(),
                            pods_per_node: serving_pods_per_node(config, g, it),
                            usd_per_node_hour: it.usd_per_hour,
                        }),
                        None => notes.push(format!(
                            "Karpenter NodePool {}: instance type {name} is not in the catalogue (add it with --prices): not launched in the replay",
                            g.name
                        )),
                    }
                }
                shapes
            }),
        }
    } else {
        Provisioner::cluster_autoscaler(opts.provision_s.unwrap_or(if gke {
            GKE_NODE_PROVISION_S
        } else {
            NODE_PROVISION_S
        }))
    };
    let pool = NodePool {
        pods_per_node: nm.pods_per_node,
        usd_per_node_hour: nm.usd_per_node_hour,
        min_nodes: nm.min_nodes,
        max_nodes: group.and_then(|g| g.max_nodes),
        provisioner,
    };
    if let (Some(h), Some(so)) = (config.hpas.first(), config.scaled_objects.first())
        && h.scale_target.name == so.scale_target.1
    {
        notes.push(format!(
            "HorizontalPodAutoscaler {} and ScaledObject {} both scale {} (KEDA would create a second HPA that fights the first): replaying the HPA",
            h.metadata.name, so.metadata.name, h.scale_target.name
        ));
    }
    let scaler = if let Some(h) = config.hpas.first() {
        Scaler::Hpa(h.clone())
    } else if let Some(so) = config.scaled_objects.first() {
        Scaler::Keda(so.clone())
    } else {
        Scaler::Fixed(workload.map_or(1, |w| w.replicas.max(1)))
    };
    let mut off_peak = [false; 168];
    for &h in &a.off_peak_hours {
        off_peak[usize::from(h)] = true;
    }
    let sim_config = SimConfig {
        slo_p99_ms: a.slo_p99_ms,
        off_peak,
        tz: tz.clone(),
        initial_replicas: a.ready_per_minute.first().copied().filter(|r| *r > 0),
        ..SimConfig::default()
    };
    Ok(Plan {
        pool,
        scaler,
        config: sim_config,
        notes,
    })
}

/// Builds the inputs from an analysis of the telemetry and the configuration it ran under.
/// With `demand`, a start-up not given in `opts` is fitted from the data when it shows one
/// ([`fit_startup`]).
pub fn setup(
    a: &Analysis,
    demand: Option<&Demand>,
    config: &ClusterConfig,
    catalogue: &Catalogue,
    tz: &jiff::tz::TimeZone,
    opts: &SetupOptions,
) -> Result<Setup, SimError> {
    setup_of(&Facts::of(a), demand, config, catalogue, tz, opts)
}

/// [`setup`] from an analysis's [`Facts`].
pub fn setup_of(
    a: &Facts,
    demand: Option<&Demand>,
    config: &ClusterConfig,
    catalogue: &Catalogue,
    tz: &jiff::tz::TimeZone,
    opts: &SetupOptions,
) -> Result<Setup, SimError> {
    let mut notes = Vec::new();
    let queue = a.queue.clone().ok_or_else(|| {
        SimError::Invalid(format!(
            "no capacity model to replay latency with: {}",
            a.capacity_notes.join("; ")
        ))
    })?;
    let overload_ms = opts.overload_ms.unwrap_or(a.slo_p99_ms * 10.0);
    let nm = node_model(config, catalogue).map_err(SimError::Invalid)?;
    let cpu_request_cores = nm.pod_cpu_request_cores;
    let (cpu_per_request_core_s, idle_cpu_cores) = match (
        opts.cpu_per_request_core_s,
        opts.idle_cpu_cores,
        a.cpu,
    ) {
        (Some(c), idle, _) => (c, idle.unwrap_or(0.0)),
        (None, idle, Some((per_request, fit_idle))) => (per_request, idle.unwrap_or(fit_idle)),
        (None, idle, None) => {
            // A pod at saturation uses its whole request: an assumption, said so.
            let c = if queue.saturation_rps() > 0.0 {
                cpu_request_cores / queue.saturation_rps()
            } else {
                0.0
            };
            notes.push(format!(
                "CPU per request not inferred from today's HPA: assumed {c:.4} core-seconds (a saturated pod uses its CPU request); give --cpu-per-request to replace it"
            ));
            (c, idle.unwrap_or(0.0))
        }
    };
    let workload = serving_workload(config);
    let probe_s = workload
        .and_then(|w| {
            w.containers
                .iter()
                .filter_map(|c| c.readiness.as_ref())
                .map(|r| r.earliest_ready_s())
                .max()
        })
        .map(|p| f64::from(p) + CONTAINER_START_S);
    let (startup_s, startup_basis) = match (opts.startup_s, probe_s) {
        (Some(s), _) => (s, StartupBasis::Flag),
        (None, Some(p)) => (p, StartupBasis::Probe),
        (None, None) => (DEFAULT_STARTUP_S, StartupBasis::Default),
    };
    let (cold_s, cold_factor) = match a.cold_p99_ratio {
        Some(r) if a.cold_minutes > 0 && r > 1.0 => (a.cold_minutes as f64 * 60.0, r),
        _ => (0.0, 1.0),
    };
    let Plan {
        pool,
        scaler,
        config: sim_config,
        notes: plan_notes,
    } = plan_of(a, config, catalogue, tz, opts)?;
    notes.extend(plan_notes);
    let mut s = Setup {
        service: ServiceModel {
            latency: LatencyTable::new(&queue, overload_ms),
            cpu_per_request_core_s,
            idle_cpu_cores,
            cpu_request_cores,
            startup_s,
            cold_s,
            cold_factor,
            load_spread_cv: if opts.even_spread {
                0.0
            } else {
                a.imbalance_cv.unwrap_or(0.0)
            },
        },
        pool,
        scaler,
        config: sim_config,
        notes,
        startup: startup_basis,
    };
    if let (Some(d), None) = (demand, opts.startup_s)
        && let Some(fit) = fit_startup(&a.ready_per_minute, d, &s, 2)
    {
        s.service.startup_s = fit.startup_s;
        s.startup = StartupBasis::Fitted(fit);
    }
    let startup = s.service.startup_s;
    match &s.startup {
        StartupBasis::Fitted(fit) => s.notes.push(format!(
            "pod start-up {startup:.0} s, fitted from the telemetry: replays of today's scaler with start-ups from 0 to 600 s came closest to the ready pods seen around its {} scale-ups{}",
            fit.scale_ups,
            probe_s.map_or(String::new(), |p| format!(
                " (the readiness probe alone implies at least {p:.0} s)"
            ))
        )),
        StartupBasis::Default => s.notes.push(format!(
            "no readiness probe, and the telemetry's scale-ups do not show the start-up: pods assumed to serve {DEFAULT_STARTUP_S} s after scheduling (--startup-s to change)"
        )),
        StartupBasis::Flag | StartupBasis::Probe => {}
    }
    Ok(s)
}

/// How closely a replay of today's configuration matches what the telemetry showed.
#[derive(Debug, Clone, Serialize)]
pub struct Fidelity {
    /// Mean absolute percentage error of the hourly mean ready pods.
    pub ready_pods_mape: Option<f64>,
    /// Hours compared.
    pub hours: usize,
    /// Mean absolute percentage error of the 5-minute p99, over windows with at least 200 rows.
    pub p99_mape: Option<f64>,
    /// Windows compared.
    pub windows: usize,
}

/// Rows a 5-minute window needs for its observed p99 to be compared.
pub const FIDELITY_MIN_ROWS: u64 = 200;

/// Compares a replay with the analysis of the same span.
pub fn fidelity(a: &Analysis, r: &SimResult) -> Fidelity {
    let observed: Vec<f64> = a
        .pods
        .ready_per_minute
        .chunks(60)
        .map(|c| c.iter().map(|&x| f64::from(x)).sum::<f64>() / c.len() as f64)
        .collect();
    let mut errors = Vec::new();
    for (o, s) in observed.iter().zip(&r.series.hourly_ready_pods) {
        if *o > 0.0 {
            errors.push((s - o).abs() / o);
        }
    }
    let hours = errors.len();
    let ready_pods_mape = (!errors.is_empty()).then(|| errors.iter().sum::<f64>() / hours as f64);
    let first_window = r
        .series
        .windows_5m_start
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_second().div_euclid(300))
        .ok();
    let mut errors = Vec::new();
    if let Some(first) = first_window {
        for w in &a.latency.per_5m {
            let (Some(obs), true) = (w.p99, w.n >= FIDELITY_MIN_ROWS) else {
                continue;
            };
            let Ok(start) = w.start.parse::<jiff::Timestamp>() else {
                continue;
            };
            let i = start.as_second().div_euclid(300) - first;
            if let Some(Some(sim)) = usize::try_from(i)
                .ok()
                .and_then(|i| r.series.p99_5m_ms.get(i))
                && obs > 0.0
            {
                errors.push((sim - obs).abs() / obs);
            }
        }
    }
    let windows = errors.len();
    Fidelity {
        ready_pods_mape,
        hours,
        p99_mape: (!errors.is_empty()).then(|| errors.iter().sum::<f64>() / windows as f64),
        windows,
    }
}
