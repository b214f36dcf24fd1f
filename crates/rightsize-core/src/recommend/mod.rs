//! The recommender: candidate configurations from several strategies (HPA tuning, KEDA on the
//! request rate, cron floors from the weekly profile with a reactive trigger on top, a smaller
//! node floor), each replayed over the recorded week by the simulator and judged against
//! today's configuration replayed the same way. The cheapest candidate that breaks no
//! constraint and survives the stress replays (traffic ×1.15, a burst at the steepest ramp,
//! tuned on days 1-5 and judged on days 6-7) wins; when none does, the closest ones are
//! reported with what each breaks.

pub mod report;
pub mod schedule;

use serde::Serialize;

use crate::analysis::Analysis;
use crate::analysis::cost::{node_model, serving_pods_per_node, serving_workload};
use crate::cluster::ClusterConfig;
use crate::cluster::nodes::Catalogue;
use crate::cluster::write;
use crate::par::par_map;
use crate::sim::setup::{SetupOptions, plan, setup};
use crate::sim::{Demand, SimResult, simulate};

/// Version of `recommendation.json` (docs/formats.md).
pub const RECOMMENDATION_SCHEMA_VERSION: u32 = 1;

/// What the search minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Objective {
    /// Node cost in off-peak hours.
    OffPeak,
    /// Node cost over the whole span.
    Total,
}

/// How to search.
#[derive(Debug, Clone)]
pub struct Options {
    /// What to minimise.
    pub objective: Objective,
    /// Savings on the objective's cost a proposal must reach (0.30: 30%).
    pub min_savings: f64,
    /// Fewest replicas any proposal keeps (high availability).
    pub min_replicas_floor: u32,
    /// Traffic multiplier of the headroom replay.
    pub stress_traffic: f64,
    /// The Prometheus server KEDA's prometheus trigger queries.
    pub prometheus_address: String,
    /// The PromQL query returning the workload's total request rate (`None`: the
    /// conventional `http_requests_total` of the workload's pods).
    pub rate_query: Option<String>,
    /// Threads for the replays.
    pub threads: usize,
    /// Leave out candidates that need KEDA (for clusters without it).
    pub without_keda: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            objective: Objective::OffPeak,
            min_savings: 0.30,
            min_replicas_floor: 3,
            stress_traffic: 1.15,
            prometheus_address: DEFAULT_PROMETHEUS.into(),
            rate_query: None,
            threads: 2,
            without_keda: false,
        }
    }
}

/// The Prometheus Operator's default service.
pub const DEFAULT_PROMETHEUS: &str = "http://prometheus-operated.monitoring.svc:9090";

/// What the search reads.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The analysis of the recorded week.
    pub analysis: &'a Analysis,
    /// The configuration it ran under.
    pub base: &'a ClusterConfig,
    /// Prices and sizes.
    pub catalogue: &'a Catalogue,
    /// The zone of hours and schedules.
    pub tz: &'a jiff::tz::TimeZone,
    /// Simulator settings (the start-up fixed to today's).
    pub setup: &'a SetupOptions,
    /// The recorded week's arrival rate.
    pub demand: &'a Demand,
}

/// One candidate's scaling, before it meets the data.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "strategy", rename_all = "snake_case")]
pub enum Spec {
    /// Today's HPA retuned: bounds, CPU target, behavior.
    HpaTuning {
        /// `minReplicas`.
        min_replicas: u32,
        /// `maxReplicas`.
        max_replicas: u32,
        /// `averageUtilization` of CPU, percent.
        cpu_target: u32,
        /// Scale up by 100% or 8 pods every 15 s; scale down by at most 20% a minute after
        /// 5 minutes' stabilisation.
        explicit_behavior: bool,
    },
    /// KEDA on the request rate: a `prometheus` trigger whose threshold is the per-pod rate.
    RequestRate {
        /// `minReplicaCount`.
        min_replicas: u32,
        /// `maxReplicaCount`.
        max_replicas: u32,
        /// Requests per second per pod the trigger keeps.
        per_pod_rps: f64,
    },
    /// An HPA on a `Pods` metric of each pod's request rate, which prometheus-adapter serves
    /// (for clusters without KEDA); its rule is written beside it.
    PodsMetric {
        /// `minReplicas`.
        min_replicas: u32,
        /// `maxReplicas`.
        max_replicas: u32,
        /// Requests per second per pod the HPA keeps (`averageValue`).
        per_pod_rps: f64,
    },
    /// KEDA `cron` floors from the weekly profile, opening ahead of the ramps, with the
    /// request-rate trigger on top.
    Hybrid {
        /// `minReplicaCount`.
        min_replicas: u32,
        /// `maxReplicaCount`.
        max_replicas: u32,
        /// Requests per second per pod the reactive trigger keeps.
        per_pod_rps: f64,
        /// Requests per second per pod the floors are sized for (the busiest minute of the
        /// hour and the next).
        floor_per_pod_rps: f64,
        /// Minutes a floor opens before its hour.
        lead_min: u32,
        /// Floors from a forecast of the next week (Holt-Winters with a daily season on the
        /// hourly peaks, never below the recorded week) instead of the recorded week alone.
        predictive: bool,
    },
}

impl Spec {
    /// Its minimum replicas.
    pub fn min_replicas(&self) -> u32 {
        match self {
            Spec::HpaTuning { min_replicas, .. }
            | Spec::RequestRate { min_replicas, .. }
            | Spec::PodsMetric { min_replicas, .. }
            | Spec::Hybrid { min_replicas, .. } => *min_replicas,
        }
    }

    /// Whether applying it needs KEDA in the cluster.
    pub fn needs_keda(&self) -> bool {
        matches!(self, Spec::RequestRate { .. } | Spec::Hybrid { .. })
    }

    /// The strategy's name.
    pub fn strategy(&self) -> &'static str {
        match self {
            Spec::HpaTuning { .. } => "hpa_tuning",
            Spec::RequestRate { .. } | Spec::PodsMetric { .. } => "request_rate",
            Spec::Hybrid { .. } => "hybrid",
        }
    }
}

/// A change to the node group that goes with a scaler.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum NodeChange {
    /// The group's minimum (eksctl `minSize`), so that idle nodes go at night.
    MinNodes {
        /// The new minimum.
        min_nodes: u32,
    },
    /// Another instance type for the group (eksctl), its bounds keeping today's pod capacity.
    InstanceType {
        /// The type.
        instance_type: String,
        /// Serving pods one node holds.
        pods_per_node: u32,
        /// `minSize`.
        min_nodes: u32,
        /// `maxSize`.
        max_nodes: u32,
    },
    /// Karpenter's consolidation, so that emptied or underused nodes go.
    Consolidation {
        /// `consolidationPolicy`.
        policy: String,
        /// `consolidateAfter`, seconds.
        after_s: u64,
    },
}

/// A candidate: a scaling spec and, optionally, a node-group change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// The scaler.
    pub spec: Spec,
    /// The node group's change (`None`: as today).
    pub node: Option<NodeChange>,
}

/// What the serving workload and its nodes are, for writing candidates.
#[derive(Debug, Clone)]
struct Target {
    kind: String,
    name: String,
    namespace: Option<String>,
    pods_per_node: u32,
    max_nodes: Option<u32>,
    today_min_nodes: u32,
    /// Today's HPA bounds and CPU target, if it has one.
    today_hpa: Option<(u32, u32, Option<u32>)>,
    /// How the node group can be rewritten.
    group: GroupKind,
    /// Other instance types the group could use: the cheapest per serving pod among smaller
    /// nodes, and among larger ones cheaper per pod than today's: (name, pods per node, price
    /// per node-hour).
    alternatives: Vec<(String, u32, f64)>,
}

/// What kind of node group the candidates may rewrite.
#[derive(Debug, Clone, PartialEq)]
enum GroupKind {
    /// eksctl (its cluster's name and region known).
    Eksctl,
    /// Karpenter (its EC2NodeClass known), with today's consolidation.
    Karpenter(Option<super::cluster::nodegroup::Consolidation>),
    /// Neither: left as it is.
    Fixed,
}

fn target(inputs: &Inputs<'_>) -> Result<Target, String> {
    let base = inputs.base;
    let w = serving_workload(base)
        .ok_or("no Deployment or StatefulSet in the configuration: nothing to scale")?;
    let nm = node_model(base, inputs.catalogue)?;
    let group = base.node_groups.first();
    let today_hpa = base.hpas.first().map(|h| {
        let cpu = h.metrics.iter().find_map(|m| match (&m.source, &m.target) {
            (
                crate::cluster::hpa::MetricSource::Resource { name, .. },
                crate::cluster::hpa::Target::Utilization(u),
            ) if name == "cpu" => Some(*u),
            _ => None,
        });
        (h.min_replicas, h.max_replicas, cpu)
    });
    let kind = match group {
        Some(g) if g.eksctl_cluster.is_some() => GroupKind::Eksctl,
        Some(g) if g.karpenter_node_class.is_some() => {
            GroupKind::Karpenter(g.consolidation.clone())
        }
        _ => GroupKind::Fixed,
    };
    // Types of the same cloud and GPU count, cheapest per serving pod first.
    let today_type = inputs.catalogue.get(&nm.instance_type);
    let mut candidates_types: Vec<(String, u32, f64)> = match (group, today_type) {
        (Some(g), Some(today)) if kind == GroupKind::Eksctl => inputs
            .catalogue
            .types
            .iter()
            .filter(|it| it.cloud == today.cloud && it.gpus == today.gpus && it.name != today.name)
            .map(|it| {
                (
                    it.name.clone(),
                    serving_pods_per_node(base, g, it),
                    it.usd_per_hour,
                )
            })
            .filter(|(_, ppn, _)| *ppn > 0)
            .collect(),
        _ => Vec::new(),
    };
    let per_pod = |(_, ppn, usd): &(String, u32, f64)| usd / f64::from(*ppn);
    candidates_types.sort_by(|a, b| per_pod(a).total_cmp(&per_pod(b)).then(a.0.cmp(&b.0)));
    // Two to try: the cheapest per pod among smaller nodes (finer steps at night) and among
    // larger ones that are cheaper per pod than today's type (less overhead per pod).
    let today_per_pod = nm.usd_per_node_hour / f64::from(nm.pods_per_node.max(1));
    let smaller = candidates_types
        .iter()
        .find(|a| a.1 < nm.pods_per_node)
        .cloned();
    let larger = candidates_types
        .iter()
        .find(|a| a.1 >= nm.pods_per_node && per_pod(a) < today_per_pod)
        .cloned();
    let alternatives: Vec<(String, u32, f64)> = smaller.into_iter().chain(larger).collect();
    Ok(Target {
        kind: w.kind.clone(),
        name: w.metadata.name.clone(),
        namespace: w.metadata.namespace.clone(),
        pods_per_node: nm.pods_per_node,
        max_nodes: group.and_then(|g| g.max_nodes),
        today_min_nodes: nm.min_nodes,
        today_hpa,
        group: kind,
        alternatives,
    })
}

/// The HPA `behavior` of proposals that give one: up by 100% or 8 pods every 15 s, down by at
/// most 20% a minute after 5 minutes' stabilisation.
const EXPLICIT_BEHAVIOR: &str = "  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
      selectPolicy: Max
      policies: [{type: Percent, value: 100, periodSeconds: 15}, {type: Pods, value: 8, periodSeconds: 15}]
    scaleDown:
      stabilizationWindowSeconds: 300
      selectPolicy: Max
      policies: [{type: Percent, value: 20, periodSeconds: 60}]
";

/// [`EXPLICIT_BEHAVIOR`] indented by `spaces` more (KEDA nests it under
/// `advanced.horizontalPodAutoscalerConfig`).
fn behavior_at(spaces: usize) -> String {
    let pad = " ".repeat(spaces);
    EXPLICIT_BEHAVIOR
        .lines()
        .map(|l| format!("{pad}{l}\n"))
        .collect()
}

/// The per-pod request-rate metric an HPA reads through prometheus-adapter.
pub const PODS_METRIC: &str = "http_requests_per_second";

/// An `autoscaling/v2` HPA with one metric (`metric`: the list item's text after `- `) and
/// an optional `behavior` block.
fn hpa_text(
    meta: &str,
    target_ref: &str,
    min: u32,
    max: u32,
    metric: &str,
    behavior: &str,
) -> String {
    format!(
        "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {meta}
spec:
  scaleTargetRef: {target_ref}
  minReplicas: {min}
  maxReplicas: {max}
  metrics:
  - {metric}
{behavior}"
    )
}

/// A YAML single-quoted scalar.
fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Formats a rate for a manifest: at most three decimals, no trailing zeros.
fn num(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The policy a candidate writes, parsed as the cluster model (so that what is replayed is
/// what the manifests say), with the profile that sizes any cron floors.
fn materialize(
    c: &Candidate,
    t: &Target,
    inputs: &Inputs<'_>,
    opts: &Options,
    profile: &schedule::Profile,
) -> Result<ClusterConfig, String> {
    let meta = match &t.namespace {
        Some(ns) => format!("{{name: {}, namespace: {}}}", t.name, ns),
        None => format!("{{name: {}}}", t.name),
    };
    let target_ref = format!(
        "{{apiVersion: apps/v1, kind: {}, name: {}}}",
        t.kind, t.name
    );
    let scaler = match &c.spec {
        Spec::HpaTuning {
            min_replicas,
            max_replicas,
            cpu_target,
            explicit_behavior,
        } => {
            let behavior = if *explicit_behavior {
                EXPLICIT_BEHAVIOR
            } else {
                ""
            };
            hpa_text(
                &meta,
                &target_ref,
                *min_replicas,
                *max_replicas,
                &format!(
                    "type: Resource\n    resource: {{name: cpu, target: {{type: Utilization, averageUtilization: {cpu_target}}}}}"
                ),
                behavior,
            )
        }
        Spec::PodsMetric {
            min_replicas,
            max_replicas,
            per_pod_rps,
        } => hpa_text(
            &meta,
            &target_ref,
            *min_replicas,
            *max_replicas,
            &format!(
                "type: Pods\n    pods: {{metric: {{name: {PODS_METRIC}}}, target: {{type: AverageValue, averageValue: '{}'}}}}",
                num(*per_pod_rps)
            ),
            EXPLICIT_BEHAVIOR,
        ),
        Spec::RequestRate {
            min_replicas,
            max_replicas,
            per_pod_rps,
        } => scaled_object(
            &meta,
            &target_ref,
            *min_replicas,
            *max_replicas,
            *per_pod_rps,
            &[],
            t,
            inputs,
            opts,
        ),
        Spec::Hybrid {
            min_replicas,
            max_replicas,
            per_pod_rps,
            floor_per_pod_rps,
            lead_min,
            predictive,
        } => {
            let peaks = if *predictive {
                profile.predicted()
            } else {
                profile.recorded
            };
            let floors = schedule::floors(&peaks, *floor_per_pod_rps, *min_replicas);
            let floors = schedule::floors_capped(
                &schedule::quantize(&floors, *min_replicas, 3),
                *max_replicas,
            );
            let windows = schedule::cron_windows(&floors, *min_replicas, *lead_min);
            scaled_object(
                &meta,
                &target_ref,
                *min_replicas,
                *max_replicas,
                *per_pod_rps,
                &windows,
                t,
                inputs,
                opts,
            )
        }
    };
    let mut policy = ClusterConfig::new();
    policy
        .read(&scaler, "candidate.yaml")
        .map_err(|e| format!("a candidate did not parse (a bug): {e}\n{scaler}"))?;
    if let Some(change) = &c.node {
        let mut g = inputs
            .base
            .node_groups
            .first()
            .cloned()
            .ok_or("no node group to change")?;
        match change {
            NodeChange::MinNodes { min_nodes } => g.min_nodes = *min_nodes,
            NodeChange::InstanceType {
                instance_type,
                min_nodes,
                max_nodes,
                ..
            } => {
                g.instance_types = vec![instance_type.clone()];
                g.min_nodes = *min_nodes;
                g.max_nodes = Some(*max_nodes);
            }
            NodeChange::Consolidation { policy: p, after_s } => {
                let budgets = g.consolidation.as_ref().map_or_else(
                    || vec![r#"{"nodes":"10%"}"#.to_string()],
                    |c| c.budgets.clone(),
                );
                g.consolidation = Some(super::cluster::nodegroup::Consolidation {
                    policy: p.clone(),
                    after_s: Some(*after_s),
                    budgets,
                });
            }
        }
        if let Some(d) = g.desired_nodes {
            g.desired_nodes = Some(d.clamp(g.min_nodes, g.max_nodes.unwrap_or(u32::MAX)));
        }
        policy.node_groups = vec![g];
    }
    Ok(policy)
}

#[allow(clippy::too_many_arguments)]
fn scaled_object(
    meta: &str,
    target_ref: &str,
    min: u32,
    max: u32,
    per_pod_rps: f64,
    windows: &[schedule::CronWindow],
    t: &Target,
    inputs: &Inputs<'_>,
    opts: &Options,
) -> String {
    let query = opts.rate_query.clone().unwrap_or_else(|| {
        format!(
            "sum(rate(http_requests_total{{namespace=\"{}\", pod=~\"{}-.*\"}}[1m]))",
            t.namespace.as_deref().unwrap_or("default"),
            t.name
        )
    });
    let mut triggers = format!(
        "  - type: prometheus
    metricType: AverageValue
    metadata: {{serverAddress: {}, query: {}, threshold: '{}'}}
",
        sq(&opts.prometheus_address),
        sq(&query),
        num(per_pod_rps)
    );
    for w in windows {
        triggers.push_str(&format!(
            "  - type: cron
    metadata: {{timezone: {}, start: '{}', end: '{}', desiredReplicas: '{}'}}
",
            sq(&inputs.analysis.time_zone),
            w.start,
            w.end,
            w.desired_replicas
        ));
    }
    format!(
        "apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {meta}
spec:
  scaleTargetRef: {target_ref}
  minReplicaCount: {min}
  maxReplicaCount: {max}
  pollingInterval: 15
  cooldownPeriod: 300
  advanced:
    horizontalPodAutoscalerConfig:
{behavior}  triggers:
{triggers}",
        behavior = behavior_at(4)
    )
}

/// The candidates of every strategy the data supports, and notes on those it does not.
fn candidates(
    t: &Target,
    a: &Analysis,
    opts: &Options,
    lead_floor_min: u32,
) -> (Vec<Candidate>, Vec<String>) {
    let mut notes = Vec::new();
    let floor = opts.min_replicas_floor.max(1);
    let node_cap = t.max_nodes.map(|n| n.saturating_mul(t.pods_per_node));
    let today_max = t.today_hpa.map(|h| h.1);
    let cap = a.capacity.rps_per_pod_at_slo.filter(|c| *c > 0.0);
    // Enough pods for the stressed peak at the lowest headroom tried, within the nodes.
    let needed =
        cap.map(|c| (a.traffic.peak_rps_1m * opts.stress_traffic / (c * 0.5)).ceil() as u32);
    let max = today_max
        .into_iter()
        .chain(needed)
        .max()
        .unwrap_or(floor * 10)
        .max(floor);
    let max = node_cap.map_or(max, |n| max.min(n)).max(floor);
    let mut node_changes = vec![None];
    match &t.group {
        GroupKind::Eksctl => {
            let smallest = floor.div_ceil(t.pods_per_node.max(1)).max(1);
            if smallest < t.today_min_nodes {
                node_changes.push(Some(NodeChange::MinNodes {
                    min_nodes: smallest,
                }));
            }
            // Cheaper pods on another type: as many pods at most as today's group holds.
            let today_pods = t.max_nodes.map(|n| n * t.pods_per_node);
            for (name, ppn, _) in &t.alternatives {
                node_changes.push(Some(NodeChange::InstanceType {
                    instance_type: name.clone(),
                    pods_per_node: *ppn,
                    min_nodes: floor.div_ceil(*ppn).max(1),
                    max_nodes: today_pods.map_or(max.div_ceil(*ppn), |p| p.div_ceil(*ppn)).max(1),
                }));
            }
        }
        GroupKind::Karpenter(today) => {
            let eager = ("WhenEmptyOrUnderutilized", 60u64);
            let already = today
                .as_ref()
                .is_some_and(|c| c.policy == eager.0 && c.after_s.is_some_and(|a| a <= eager.1));
            if !already {
                node_changes.push(Some(NodeChange::Consolidation {
                    policy: eager.0.into(),
                    after_s: eager.1,
                }));
            }
        }
        GroupKind::Fixed => notes.push(
            "the node group is neither an eksctl group nor a Karpenter NodePool rightsize can rewrite: it is left as it is"
                .into(),
        ),
    }
    let mut specs = Vec::new();
    match t.today_hpa {
        Some((min, _, cpu)) => {
            let mut mins = vec![floor, min.max(floor)];
            mins.push(floor + (min.max(floor) - floor) / 2);
            mins.sort_unstable();
            mins.dedup();
            let mut targets: Vec<u32> = [cpu.unwrap_or(70), 60, 70, 80].to_vec();
            targets.sort_unstable();
            targets.dedup();
            for &m in &mins {
                for &target in &targets {
                    for explicit_behavior in [false, true] {
                        specs.push(Spec::HpaTuning {
                            min_replicas: m,
                            max_replicas: max,
                            cpu_target: target,
                            explicit_behavior,
                        });
                    }
                }
            }
        }
        None => notes.push("no HPA today: HPA tuning not tried".into()),
    }
    match cap {
        Some(c) => {
            for headroom in [0.5, 0.6, 0.7, 0.8, 0.9] {
                specs.push(Spec::RequestRate {
                    min_replicas: floor,
                    max_replicas: max,
                    per_pod_rps: round_rate(c * headroom),
                });
                specs.push(Spec::PodsMetric {
                    min_replicas: floor,
                    max_replicas: max,
                    per_pod_rps: round_rate(c * headroom),
                });
                let (short, long) = (lead_floor_min, lead_floor_min + 15);
                for (lead_min, predictive) in [(short, false), (long, false), (long, true)] {
                    specs.push(Spec::Hybrid {
                        min_replicas: floor,
                        max_replicas: max,
                        per_pod_rps: round_rate(c * headroom),
                        floor_per_pod_rps: round_rate(c * headroom),
                        lead_min,
                        predictive,
                    });
                }
            }
        }
        None => notes.push(format!(
            "no capacity model (requests per pod at the SLO): request-rate and hybrid strategies not tried ({})",
            a.capacity.notes.join("; ")
        )),
    }
    if opts.without_keda {
        specs.retain(|s| !s.needs_keda());
        notes.push(
            "--without-keda: KEDA strategies (request-rate trigger, cron floors) not tried".into(),
        );
    }
    let mut out = Vec::new();
    for spec in specs {
        for node in &node_changes {
            out.push(Candidate {
                spec: spec.clone(),
                node: node.clone(),
            });
        }
    }
    (out, notes)
}

/// Rates in manifests carry at most three decimals; rounding first keeps the replayed value
/// and the written one identical.
fn round_rate(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// A replay judged against today's under the same traffic.
#[derive(Debug, Clone, Serialize)]
pub struct Judged {
    /// Node cost over the span.
    pub cost_total: f64,
    /// Of which off-peak.
    pub cost_off_peak: f64,
    /// 5-minute windows above the SLO.
    pub violation_windows: usize,
    /// Of those, windows where today's configuration met the SLO.
    pub new_violation_windows: usize,
    /// Today's windows above the SLO under the same traffic.
    pub today_violation_windows: usize,
    /// The highest 5-minute p99, milliseconds.
    pub worst_p99_ms: f64,
    /// Minutes whose ready pods were fewer than the demand needs at the capacity at the SLO.
    pub minutes_short: usize,
    /// Mean ready pods.
    pub mean_ready_pods: f64,
}

impl Judged {
    /// Whether it breaks the SLO constraint: more windows above the SLO than today, or any
    /// where today met it.
    pub fn breaks_slo(&self) -> bool {
        self.violation_windows > self.today_violation_windows || self.new_violation_windows > 0
    }
}

/// `r` against `today` under the same traffic, whose per-minute rates are `minutes`.
fn judge(r: &SimResult, today: &SimResult, slo: f64, minutes: &[f64], cap: Option<f64>) -> Judged {
    let above = |p: &Option<f64>| p.is_some_and(|v| v > slo);
    let new = r
        .series
        .p99_5m_ms
        .iter()
        .zip(&today.series.p99_5m_ms)
        .filter(|(c, t)| above(c) && !above(t))
        .count();
    let minutes_short = cap.map_or(0, |c| {
        r.series
            .ready_pods_1m
            .iter()
            .zip(minutes)
            .filter(|(ready, rate)| **ready * c < **rate)
            .count()
    });
    Judged {
        cost_total: r.summary.cost_total,
        cost_off_peak: r.summary.cost_off_peak,
        violation_windows: r.summary.slo_violation_windows_5m,
        new_violation_windows: new,
        today_violation_windows: today.summary.slo_violation_windows_5m,
        worst_p99_ms: r.summary.worst_p99_ms,
        minutes_short,
        mean_ready_pods: r.summary.mean_ready_pods,
    }
}

/// A stressed traffic, with today's replay under it.
struct Stress<'a> {
    name: &'static str,
    what: String,
    demand: Demand,
    /// Its per-minute rates.
    minutes: Vec<f64>,
    today: SimResult,
    /// The profile schedules are built from.
    profile: &'a schedule::Profile,
}

/// A stress replay's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// `traffic_x1.15`, `burst`, `days_1_5_to_6_7`.
    pub name: String,
    /// What was done.
    pub what: String,
    /// Whether the candidate held.
    pub passed: bool,
    /// The candidate's replay against today's under the same stress.
    pub judged: Option<Judged>,
    /// Why it failed, or why it could not run.
    pub note: Option<String>,
}

/// A candidate with its replay.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluated {
    /// Short description.
    pub label: String,
    /// The candidate.
    pub candidate: Candidate,
    /// Over the recorded week.
    pub judged: Judged,
    /// Savings on off-peak cost against today's replay (0.3: 30%).
    pub off_peak_savings: f64,
    /// Savings on total cost.
    pub total_savings: f64,
    /// Constraints and stress replays it fails, in words.
    pub breaks: Vec<String>,
    /// Stress replays run on it.
    pub checks: Vec<Check>,
}

impl Evaluated {
    fn objective_cost(&self, o: Objective) -> f64 {
        match o {
            Objective::OffPeak => self.judged.cost_off_peak,
            Objective::Total => self.judged.cost_total,
        }
    }

    /// The savings the objective counts.
    pub fn savings(&self, o: Objective) -> f64 {
        match o {
            Objective::OffPeak => self.off_peak_savings,
            Objective::Total => self.total_savings,
        }
    }
}

fn label(c: &Candidate) -> String {
    let scaler = match &c.spec {
        Spec::HpaTuning {
            min_replicas,
            max_replicas,
            cpu_target,
            explicit_behavior,
        } => format!(
            "HPA {min_replicas}-{max_replicas} at {cpu_target}% CPU{}",
            if *explicit_behavior {
                ", fast up, measured down"
            } else {
                ""
            }
        ),
        Spec::RequestRate {
            min_replicas,
            max_replicas,
            per_pod_rps,
        } => format!(
            "KEDA {min_replicas}-{max_replicas} at {} req/s per pod",
            num(*per_pod_rps)
        ),
        Spec::PodsMetric {
            min_replicas,
            max_replicas,
            per_pod_rps,
        } => format!(
            "HPA {min_replicas}-{max_replicas} at {} req/s per pod (Pods metric, prometheus-adapter)",
            num(*per_pod_rps)
        ),
        Spec::Hybrid {
            min_replicas,
            max_replicas,
            per_pod_rps,
            lead_min,
            predictive,
            ..
        } => format!(
            "KEDA {min_replicas}-{max_replicas} at {} req/s per pod + {} cron floors {lead_min} min ahead",
            num(*per_pod_rps),
            if *predictive { "forecast" } else { "recorded" }
        ),
    };
    match &c.node {
        Some(NodeChange::MinNodes { min_nodes }) => format!("{scaler}; node group min {min_nodes}"),
        Some(NodeChange::InstanceType {
            instance_type,
            min_nodes,
            max_nodes,
            ..
        }) => format!("{scaler}; {instance_type} nodes {min_nodes}-{max_nodes}"),
        Some(NodeChange::Consolidation { policy, after_s }) => {
            format!("{scaler}; Karpenter {policy} after {after_s} s")
        }
        None => scaler,
    }
}

/// The search's result.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// Schema of this document.
    pub schema_version: u32,
    /// What was minimised.
    pub objective: Objective,
    /// The savings asked for.
    pub min_savings: f64,
    /// Today's configuration replayed over the week.
    pub today: Judged,
    /// The winner, if any candidate met every constraint, survived every stress replay and
    /// saved enough.
    pub chosen: Option<Evaluated>,
    /// Every candidate, cheapest first (by the objective).
    pub candidates: Vec<Evaluated>,
    /// The best candidate of each strategy.
    pub by_strategy: Vec<Evaluated>,
    /// What the search could not try, and why.
    pub notes: Vec<String>,
}

fn slice(d: &Demand, from: usize, to: usize) -> Demand {
    Demand {
        start_unix_s: d.start_unix_s + from as i64,
        rps: d.rps[from..to.min(d.rps.len())].to_vec(),
    }
}

fn scaled(d: &Demand, k: f64) -> Demand {
    Demand {
        start_unix_s: d.start_unix_s,
        rps: d.rps.iter().map(|r| r * k).collect(),
    }
}

/// The second of the steepest rise in the per-minute rate (the last five minutes against the
/// five before), and the demand with a burst of +50% for ten minutes from there.
fn with_burst(d: &Demand) -> Option<(usize, Demand)> {
    let minutes = d.minute_means();
    if minutes.len() < 20 {
        return None;
    }
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let steepest = (5..minutes.len() - 5).max_by(|&a, &b| {
        let rise = |i: usize| mean(&minutes[i..i + 5]) - mean(&minutes[i - 5..i]);
        rise(a).total_cmp(&rise(b))
    })?;
    let from = steepest * 60;
    let mut burst = d.clone();
    for r in burst.rps.iter_mut().skip(from).take(600) {
        *r *= 1.5;
    }
    Some((from, burst))
}

/// Searches the candidates. `Err` when the inputs cannot be replayed at all.
pub fn recommend(inputs: &Inputs<'_>, opts: &Options) -> Result<Recommendation, String> {
    let a = inputs.analysis;
    let t = target(inputs)?;
    let slo = a.slo_p99_ms;
    let cap = a.capacity.rps_per_pod_at_slo;
    // Today's set-up once: every candidate runs the same workload, so they share its service
    // model (the latency table is the costly part) and differ in pool, scaler and settings.
    let today_setup = setup(
        a,
        None,
        inputs.base,
        inputs.catalogue,
        inputs.tz,
        inputs.setup,
    )
    .map_err(|e| e.to_string())?;
    let service = &today_setup.service;
    let replay = |config: &ClusterConfig, demand: &Demand| -> Result<SimResult, String> {
        let p = plan(a, config, inputs.catalogue, inputs.tz, inputs.setup)
            .map_err(|e| e.to_string())?;
        simulate(demand, service, &p.pool, &p.scaler, &p.config).map_err(|e| e.to_string())
    };
    let full = inputs.demand;
    let today = replay(inputs.base, full)?;
    let full_minutes = full.minute_means();
    let all = full.rps.len();
    let profile = schedule::Profile::of(full, inputs.tz, 0, all);
    // Floors open at least a pod's start-up, a node's provisioning and the warm-up ahead of
    // their hour (at least 15 minutes).
    let provision_s = match &today_setup.pool.provisioner {
        crate::sim::Provisioner::Fixed => 0.0,
        crate::sim::Provisioner::ClusterAutoscaler { provision_s, .. }
        | crate::sim::Provisioner::Karpenter { provision_s, .. } => *provision_s,
    };
    let ahead_s = today_setup.service.startup_s + provision_s + today_setup.service.cold_s;
    let lead_floor_min = ((ahead_s / 60.0).ceil() as u32).max(15);
    let (cands, mut notes) = candidates(&t, a, opts, lead_floor_min);
    let evaluate = |c: &Candidate| -> Result<Evaluated, String> {
        let policy = materialize(c, &t, inputs, opts, &profile)?;
        let merged = inputs.base.with_policy(&policy)?;
        let r = replay(&merged, full)?;
        let judged = judge(&r, &today, slo, &full_minutes, cap);
        let saving = |before: f64, after: f64| {
            if before > 0.0 {
                1.0 - after / before
            } else {
                0.0
            }
        };
        let mut breaks = Vec::new();
        if judged.breaks_slo() {
            breaks.push(format!(
                "{} 5-minute windows above the {slo} ms SLO ({} where today met it) against today's {}",
                judged.violation_windows, judged.new_violation_windows, judged.today_violation_windows
            ));
        }
        Ok(Evaluated {
            label: label(c),
            candidate: c.clone(),
            off_peak_savings: saving(today.summary.cost_off_peak, judged.cost_off_peak),
            total_savings: saving(today.summary.cost_total, judged.cost_total),
            judged,
            breaks,
            checks: Vec::new(),
        })
    };
    let mut evaluated: Vec<Evaluated> = par_map(&cands, opts.threads, evaluate)
        .into_iter()
        .collect::<Result<_, _>>()?;
    let objective = opts.objective;
    evaluated.sort_by(|x, y| {
        x.objective_cost(objective)
            .total_cmp(&y.objective_cost(objective))
            .then(x.judged.minutes_short.cmp(&y.judged.minutes_short))
    });

    // Stress replays for the cheapest candidates that hold over the recorded week, each with
    // today's replay under the same traffic, built once.
    let mut stresses: Vec<Stress<'_>> = Vec::new();
    let mut stress = |name: &'static str, what: String, demand: Demand, profile| {
        let today = replay(inputs.base, &demand)?;
        stresses.push(Stress {
            name,
            what,
            minutes: demand.minute_means(),
            demand,
            today,
            profile,
        });
        Ok::<(), String>(())
    };
    stress(
        "traffic",
        format!("every second's traffic ×{}", opts.stress_traffic),
        scaled(full, opts.stress_traffic),
        &profile,
    )?;
    if let Some((at, d)) = with_burst(full) {
        let when =
            crate::analysis::series::rfc3339_minute((full.start_unix_s + at as i64).div_euclid(60));
        stress(
            "burst",
            format!("+50% for 10 minutes from the steepest recorded ramp ({when})"),
            d,
            &profile,
        )?;
    }
    let split_at = 5 * 86_400;
    let train_profile = schedule::Profile::of(full, inputs.tz, 0, split_at.min(all));
    if all >= split_at + 86_400 {
        stress(
            "holdout",
            "schedules built from days 1-5, replayed on days 6-7".into(),
            slice(full, split_at, all),
            &train_profile,
        )?;
    } else {
        notes.push("fewer than six days recorded: the days 1-5 / 6-7 check is skipped".into());
    }
    // Finalists in batches, cheapest first, until one holds everywhere with enough savings
    // (or none of the rest could save enough).
    let batch = opts.threads.max(1) * 3;
    let feasible: Vec<usize> = evaluated
        .iter()
        .enumerate()
        .filter(|(_, e)| e.breaks.is_empty())
        .map(|(i, _)| i)
        .collect();
    for finalists in feasible.chunks(batch) {
        let checks: Vec<Vec<Check>> = par_map(finalists, opts.threads, |&i| {
            let c = &evaluated[i].candidate;
            stresses
                .iter()
                .map(|st| {
                    let result = materialize(c, &t, inputs, opts, st.profile)
                        .and_then(|p| inputs.base.with_policy(&p))
                        .and_then(|m| replay(&m, &st.demand));
                    match result {
                        Ok(r) => {
                            let j = judge(&r, &st.today, slo, &st.minutes, cap);
                            let passed = !j.breaks_slo();
                            Check {
                                name: st.name.into(),
                                what: st.what.clone(),
                                passed,
                                note: (!passed).then(|| {
                                    format!(
                                        "{} windows above the SLO ({} where today's configuration under the same traffic met it) against today's {}",
                                        j.violation_windows, j.new_violation_windows, j.today_violation_windows
                                    )
                                }),
                                judged: Some(j),
                            }
                        }
                        Err(e) => Check {
                            name: st.name.into(),
                            what: st.what.clone(),
                            passed: false,
                            judged: None,
                            note: Some(e),
                        },
                    }
                })
                .collect()
        });
        for (&i, cs) in finalists.iter().zip(checks) {
            for c in &cs {
                if !c.passed {
                    evaluated[i].breaks.push(format!(
                        "{}: {}",
                        c.what,
                        c.note.clone().unwrap_or_default()
                    ));
                }
            }
            evaluated[i].checks = cs;
        }
        let done = finalists.iter().any(|&i| {
            evaluated[i].breaks.is_empty() && evaluated[i].savings(objective) >= opts.min_savings
        });
        let hopeless = finalists
            .last()
            .is_some_and(|&i| evaluated[i].savings(objective) < opts.min_savings);
        if done || hopeless {
            break;
        }
    }
    let min_savings = opts.min_savings;
    let chosen = evaluated
        .iter()
        .find(|e| {
            e.breaks.is_empty() && !e.checks.is_empty() && e.savings(objective) >= min_savings
        })
        .cloned();
    let mut by_strategy: Vec<Evaluated> = Vec::new();
    for e in &evaluated {
        if !by_strategy
            .iter()
            .any(|b| b.candidate.spec.strategy() == e.candidate.spec.strategy())
            && (e.breaks.is_empty()
                || !evaluated.iter().any(|o| {
                    o.candidate.spec.strategy() == e.candidate.spec.strategy()
                        && o.breaks.is_empty()
                }))
        {
            by_strategy.push(e.clone());
        }
    }
    Ok(Recommendation {
        schema_version: RECOMMENDATION_SCHEMA_VERSION,
        objective,
        min_savings,
        today: judge(&today, &today, slo, &full_minutes, cap),
        chosen,
        candidates: evaluated,
        by_strategy,
        notes,
    })
}

/// A file of a proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposedFile {
    /// Its name in `proposed/`.
    pub name: String,
    /// Its text.
    pub text: String,
}

/// The pods' CPU request against what they use under a proposal, the way the VPA recommender
/// sizes it: the 90th percentile of per-pod CPU over the minutes of the week, plus its 15%
/// safety margin.
#[derive(Debug, Clone, Serialize)]
pub struct CpuSizing {
    /// The pod's CPU request today, cores.
    pub request_cores: f64,
    /// 90th percentile of a pod's CPU over the week's minutes under the proposal, cores.
    pub p90_usage_cores: f64,
    /// `p90 × 1.15`: what the VPA recommender would aim at, cores.
    pub recommended_cores: f64,
    /// Request over recommendation.
    pub ratio: f64,
    /// Whether the request is more than 30% away from the recommendation, either way.
    pub mis_sized: bool,
}

/// Ratio of request to recommendation beyond which requests count as mis-sized.
const MIS_SIZED: f64 = 1.3;

/// CPU sizing under the replay `after` of the proposal's `files`: per-pod CPU each minute is the
/// idle CPU plus CPU per request times the minute's requests per ready pod (the analysis's fit,
/// the HPA's equation run backwards). `None` without a CPU request or ready pods.
pub fn cpu_sizing(
    inputs: &Inputs<'_>,
    files: &[ProposedFile],
    after: &SimResult,
) -> Option<CpuSizing> {
    let s = files_setup(inputs, files).ok()?;
    let request = s.service.cpu_request_cores;
    let mut usage: Vec<f64> = after
        .series
        .ready_pods_1m
        .iter()
        .zip(inputs.demand.minute_means())
        .filter(|(r, _)| **r > 0.0)
        .map(|(ready, rate)| {
            s.service.idle_cpu_cores + s.service.cpu_per_request_core_s * rate / ready
        })
        .collect();
    if request <= 0.0 || usage.is_empty() {
        return None;
    }
    usage.sort_by(f64::total_cmp);
    let p90 = usage[((usage.len() - 1) as f64 * 0.9).round() as usize];
    let recommended = p90 * 1.15;
    let ratio = request / recommended.max(1e-9);
    Some(CpuSizing {
        request_cores: request,
        p90_usage_cores: p90,
        recommended_cores: recommended,
        ratio,
        mis_sized: !(1.0 / MIS_SIZED..=MIS_SIZED).contains(&ratio),
    })
}

/// The manifests of a chosen candidate, written by the cluster model's writers: only the
/// files the candidate changes.
pub fn proposed_files(
    inputs: &Inputs<'_>,
    opts: &Options,
    e: &Evaluated,
) -> Result<Vec<ProposedFile>, String> {
    let t = target(inputs)?;
    let all = inputs.demand.rps.len();
    let profile = schedule::Profile::of(inputs.demand, inputs.tz, 0, all);
    let policy = materialize(&e.candidate, &t, inputs, opts, &profile)?;
    let why = format!(
        "rightsize recommend: {}; predicted off-peak savings {:.0}%, total {:.0}%, {} SLO windows against today's {}",
        e.label,
        e.off_peak_savings * 100.0,
        e.total_savings * 100.0,
        e.judged.violation_windows,
        e.judged.today_violation_windows
    );
    let mut files = Vec::new();
    for h in &policy.hpas {
        files.push(ProposedFile {
            name: "hpa.yaml".into(),
            text: write::hpa_yaml(h, &why).map_err(|e| e.to_string())?,
        });
    }
    if matches!(e.candidate.spec, Spec::PodsMetric { .. }) {
        files.push(ProposedFile {
            name: "prometheus-adapter-rule.yaml".into(),
            text: adapter_rule(&t, opts),
        });
    }
    for so in &policy.scaled_objects {
        files.push(ProposedFile {
            name: "keda-scaledobject.yaml".into(),
            text: write::scaled_object_yaml(so, &why).map_err(|e| e.to_string())?,
        });
    }
    for g in &policy.node_groups {
        let file = match (&g.eksctl_cluster, &g.karpenter_node_class) {
            (Some((cluster, region)), _) => ProposedFile {
                name: "nodegroup.yaml".into(),
                text: write::eksctl_yaml(cluster, region, g, &why).map_err(|e| e.to_string())?,
            },
            (None, Some(class)) => ProposedFile {
                name: "karpenter-nodepool.yaml".into(),
                text: write::nodepool_yaml(g, class, &why).map_err(|e| e.to_string())?,
            },
            (None, None) => {
                return Err("only eksctl node groups and Karpenter NodePools are rewritten".into());
            }
        };
        files.push(file);
    }
    Ok(files)
}

/// prometheus-adapter's rule that serves [`PODS_METRIC`] per pod from the counter the rate
/// query reads (`http_requests_total`), as the `rules.custom` of its Helm chart's values.
fn adapter_rule(t: &Target, opts: &Options) -> String {
    format!(
        "# rightsize recommend: prometheus-adapter rule serving {PODS_METRIC} for {kind} {name}'s pods.
# Install: helm upgrade --install prometheus-adapter prometheus-community/prometheus-adapter \\
#   --set prometheus.url={url} -f prometheus-adapter-rule.yaml
# Check:   kubectl get --raw \"/apis/custom.metrics.k8s.io/v1beta1/namespaces/{ns}/pods/*/{PODS_METRIC}\"
rules:
  default: false
  custom:
  - seriesQuery: 'http_requests_total{{namespace!=\"\",pod!=\"\"}}'
    resources:
      overrides:
        namespace: {{resource: namespace}}
        pod: {{resource: pod}}
    name:
      matches: ^http_requests_total$
      as: {PODS_METRIC}
    metricsQuery: 'sum(rate(<<.Series>>{{<<.LabelMatchers>>}}[1m])) by (<<.GroupBy>>)'
",
        kind = t.kind,
        name = t.name,
        url = opts.prometheus_address,
        ns = t.namespace.as_deref().unwrap_or("default"),
    )
}

/// A recommendation-only VPA (`updateMode: "Off"`) when `sizing` finds the CPU requests
/// mis-sized; it changes nothing a replay models.
pub fn vpa_file(inputs: &Inputs<'_>, sizing: &CpuSizing) -> Result<Option<ProposedFile>, String> {
    if !sizing.mis_sized {
        return Ok(None);
    }
    let t = target(inputs)?;
    let z = sizing;
    let vpa = crate::cluster::nodegroup::Vpa {
        name: format!("{}-sizing", t.name),
        namespace: t.namespace.clone(),
        target: crate::cluster::hpa::TargetRef {
            api_version: Some("apps/v1".into()),
            kind: t.kind.clone(),
            name: t.name.clone(),
        },
        update_mode: "Off".into(),
    };
    let why = format!(
        "rightsize recommend: the pods request {:.2} CPU but use {:.2} at the 90th percentile under the proposal (VPA's target: {:.2}); updateMode Off only recommends, changes nothing",
        z.request_cores, z.p90_usage_cores, z.recommended_cores
    );
    Ok(Some(ProposedFile {
        name: "vpa.yaml".into(),
        text: write::vpa_yaml(&vpa, &why).map_err(|e| e.to_string())?,
    }))
}

/// Today's configuration with the files read back in place of its scaler (and node group),
/// set up for a replay.
fn files_setup(
    inputs: &Inputs<'_>,
    files: &[ProposedFile],
) -> Result<crate::sim::setup::Setup, String> {
    let mut policy = ClusterConfig::new();
    for f in files {
        policy.read(&f.text, &f.name).map_err(|e| e.to_string())?;
    }
    let merged = inputs.base.with_policy(&policy)?;
    setup(
        inputs.analysis,
        None,
        &merged,
        inputs.catalogue,
        inputs.tz,
        inputs.setup,
    )
    .map_err(|e| e.to_string())
}

/// Reads proposed files back and replays them over the week: the figures a user gets from
/// `rightsize simulate --policy proposed/`.
pub fn replay_files(inputs: &Inputs<'_>, files: &[ProposedFile]) -> Result<SimResult, String> {
    let s = files_setup(inputs, files)?;
    simulate(inputs.demand, &s.service, &s.pool, &s.scaler, &s.config).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_adapter_rule_serves_the_pods_metric_from_the_request_counter() {
        let t = Target {
            kind: "Deployment".into(),
            name: "reco".into(),
            namespace: Some("serving".into()),
            pods_per_node: 7,
            max_nodes: Some(30),
            today_min_nodes: 6,
            today_hpa: None,
            group: GroupKind::Eksctl,
            alternatives: Vec::new(),
        };
        let text = adapter_rule(&t, &Options::default());
        let v: serde_json::Value = serde_saphyr::from_str(&text).expect("YAML");
        let rule = &v["rules"]["custom"][0];
        assert_eq!(rule["name"]["as"], PODS_METRIC);
        assert_eq!(rule["name"]["matches"], "^http_requests_total$");
        assert_eq!(
            rule["seriesQuery"],
            "http_requests_total{namespace!=\"\",pod!=\"\"}"
        );
        assert_eq!(rule["resources"]["overrides"]["pod"]["resource"], "pod");
        assert!(
            rule["metricsQuery"]
                .as_str()
                .is_some_and(|q| q.starts_with("sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m]))")),
            "{text}"
        );
        assert!(
            text.contains("namespaces/serving/pods/*/http_requests_per_second"),
            "{text}"
        );
    }

    #[test]
    fn numbers_in_manifests_round_trip() {
        assert_eq!(num(59.406), "59.406");
        assert_eq!(num(60.0), "60");
        assert_eq!(round_rate(59.40649), 59.406);
        assert_eq!(num(round_rate(0.1 + 0.2)), "0.3");
        assert_eq!(sq("it's"), "'it''s'");
    }
}
