//! The what-if engine: a deterministic discrete-time replay (1 s steps) of the recorded
//! arrival rate through a scaling configuration — HPA or KEDA controllers with metric lag,
//! pods that start, warm up and terminate, nodes that a cluster autoscaler or Karpenter adds and
//! removes — with latency from the capacity model and cost from node-hours. Time is the step
//! counter; nothing reads a clock.

pub mod hpa;
pub mod keda;
pub mod latency;
pub mod setup;
#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::cluster::hpa::{Hpa, MetricSource};
use crate::cluster::keda::{ScaledObject, Trigger};
use crate::telemetry::Telemetry;
use hpa::{HpaController, Reading};
use keda::{Cron, KedaExecutor, cron_activity};
use latency::{LatencyMix, LatencyTable};

/// Version of the `simulate --json` document (docs/formats.md).
pub const SIM_SCHEMA_VERSION: u32 = 1;

/// Rows the demand of a second is averaged over (relative sampling noise about 3%).
pub const DEMAND_ROWS: f64 = 1_000.0;

/// The arrival rate of every second of the replayed span.
#[derive(Debug, Clone, PartialEq)]
pub struct Demand {
    /// Unix second of index 0 (a minute boundary).
    pub start_unix_s: i64,
    /// Requests per second, sample-corrected.
    pub rps: Vec<f64>,
}

impl Demand {
    /// The telemetry's per-second counts, sample-corrected, averaged over as many neighbouring
    /// seconds as hold about [`DEMAND_ROWS`] rows (at most 15 minutes): sampling noise would
    /// otherwise become load, and an HPA's scale-down window (a maximum over five minutes)
    /// turns noise into pods. Full telemetry of a busy service keeps its second-level shape.
    /// `None` without rows.
    pub fn from_telemetry(t: &Telemetry) -> Option<Demand> {
        let first = t.cells.first()?.unix_minute * 60;
        let last = t.cells.last()?.unix_minute * 60 + 60;
        let n = usize::try_from(last - first).ok()?;
        let rate = if t.sample_rate > 0.0 {
            t.sample_rate
        } else {
            1.0
        };
        let raw: Vec<f64> = (0..n)
            .map(|i| {
                let c = t.seconds.get(first + i as i64);
                c.iter().map(|&x| f64::from(x)).sum::<f64>()
            })
            .collect();
        let mean_rows = raw.iter().sum::<f64>() / n.max(1) as f64;
        let w = if mean_rows > 0.0 {
            ((DEMAND_ROWS / mean_rows).ceil() as usize).clamp(1, 901) | 1
        } else {
            1
        };
        let rps = crate::analysis::traffic::smooth(&raw, w)
            .into_iter()
            .map(|v| v / rate)
            .collect();
        Some(Demand {
            start_unix_s: first,
            rps,
        })
    }
}

impl Demand {
    /// The mean rate of each minute of the span (the last one possibly partial).
    pub fn minute_means(&self) -> Vec<f64> {
        self.rps
            .chunks(60)
            .map(|c| c.iter().sum::<f64>() / c.len() as f64)
            .collect()
    }
}

/// How the service behaves under load: the analysis's findings.
#[derive(Debug, Clone)]
pub struct ServiceModel {
    /// Latency of a pod at a per-pod rate.
    pub latency: LatencyTable,
    /// CPU one request costs, core-seconds.
    pub cpu_per_request_core_s: f64,
    /// CPU a pod uses with no load, cores.
    pub idle_cpu_cores: f64,
    /// The pod's CPU request, cores (what CPU utilisation divides by).
    pub cpu_request_cores: f64,
    /// Seconds from a pod being scheduled on a ready node to serving.
    pub startup_s: f64,
    /// Seconds a new pod is slow after it starts serving.
    pub cold_s: f64,
    /// Its latency multiplier meanwhile.
    pub cold_factor: f64,
    /// How unevenly requests spread over ready pods: the coefficient of variation of per-pod
    /// load (0: even; the analysis's `pods.imbalance.median_cv`).
    pub load_spread_cv: f64,
}

/// How nodes come and go.
#[derive(Debug, Clone, PartialEq)]
pub enum Provisioner {
    /// A fixed number of nodes (`min_nodes`): nothing scales them.
    Fixed,
    /// The cluster autoscaler (§3): 10 s loop, scale-up for unschedulable pods, scale-down of
    /// nodes under 50% of their pod slots for 10 minutes, not within 10 minutes of a scale-up.
    ClusterAutoscaler {
        /// Seconds from the request to a Ready node.
        provision_s: f64,
        /// `--scale-down-unneeded-time`.
        unneeded_s: f64,
        /// `--scale-down-delay-after-add`.
        delay_after_add_s: f64,
        /// `--scale-down-utilization-threshold`.
        utilization_threshold: f64,
    },
    /// Karpenter (§4): pending pods batched (1 s idle, 10 s at most), nodes consolidated after
    /// `consolidate_after_s` without pod events, within a disruption budget.
    Karpenter {
        /// Seconds from launch to a Ready node.
        provision_s: f64,
        /// `consolidateAfter`.
        consolidate_after_s: f64,
        /// `WhenEmpty` (false) or `WhenEmptyOrUnderutilized` (true).
        underutilized: bool,
        /// Nodes that may be disrupted at once.
        budget: Budget,
        /// Instance types it may launch (empty: only the pool's own); each launch takes the
        /// cheapest type that fits its pods.
        instance_types: Vec<NodeShape>,
    },
}

/// A Karpenter disruption budget (§4.3): nodes that may be disrupted at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Budget {
    /// A share of the pool's nodes, rounded up (`nodes: "10%"`, the default).
    Percent(f64),
    /// A count (`nodes: "5"`).
    Nodes(u32),
}

impl Budget {
    /// Karpenter's default: `nodes: "10%"`.
    pub const DEFAULT: Budget = Budget::Percent(10.0);

    /// The tightest always-active budget of a NodePool's `disruption.budgets` (as the config
    /// model keeps them: one JSON object each); budgets with a `schedule` are active only part
    /// of the time and are left out. `None` when no budget applies.
    pub fn of_budgets(budgets: &[String]) -> Option<Budget> {
        budgets
            .iter()
            .filter_map(|b| serde_json::from_str::<serde_json::Value>(b).ok())
            .filter(|b| b.get("schedule").is_none())
            .filter_map(|b| {
                let nodes = b.get("nodes")?.as_str()?.trim().to_string();
                match nodes.strip_suffix('%') {
                    Some(p) => p.trim().parse().ok().map(Budget::Percent),
                    None => nodes.parse().ok().map(Budget::Nodes),
                }
            })
            .min_by_key(|b| match b {
                Budget::Percent(p) => (1, (p * 1000.0) as u64),
                Budget::Nodes(n) => (0, u64::from(*n)),
            })
    }

    /// Nodes that may go at once out of `total`.
    fn allowed(self, total: u32) -> u32 {
        match self {
            Budget::Percent(p) => (f64::from(total) * p / 100.0).ceil() as u32,
            Budget::Nodes(n) => n,
        }
    }
}

/// A node type a pool may launch.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeShape {
    /// The instance type.
    pub name: String,
    /// Serving pods a node holds.
    pub pods_per_node: u32,
    /// Price of a node-hour.
    pub usd_per_node_hour: f64,
}

/// Karpenter's launch for `pods` pending pods (§4.1): each NodeClaim takes as many pods as the
/// largest type holds and launches the cheapest type that fits them (EC2 Fleet's
/// `lowest-price` for on-demand), fewer-slot types on ties; at most `most` nodes. Returns the
/// shapes launched.
fn karpenter_launch(shapes: &[NodeShape], mut pods: u32, most: u32) -> Vec<&NodeShape> {
    let biggest = shapes.iter().map(|s| s.pods_per_node).max().unwrap_or(0);
    let mut launched = Vec::new();
    while pods > 0 && biggest > 0 && (launched.len() as u32) < most {
        let take = pods.min(biggest);
        let fits = shapes.iter().filter(|s| s.pods_per_node >= take);
        let Some(cheapest) = fits.min_by(|a, b| {
            a.usd_per_node_hour
                .total_cmp(&b.usd_per_node_hour)
                .then(a.pods_per_node.cmp(&b.pods_per_node))
        }) else {
            break;
        };
        launched.push(cheapest);
        pods -= take;
    }
    launched
}

impl Provisioner {
    /// The cluster autoscaler with its documented defaults and a provisioning time.
    pub fn cluster_autoscaler(provision_s: f64) -> Self {
        Provisioner::ClusterAutoscaler {
            provision_s,
            unneeded_s: 600.0,
            delay_after_add_s: 600.0,
            utilization_threshold: 0.5,
        }
    }
}

/// The nodes the serving pods run on.
#[derive(Debug, Clone, PartialEq)]
pub struct NodePool {
    /// Serving pods a node holds (after DaemonSets and reservations).
    pub pods_per_node: u32,
    /// Price of a node-hour.
    pub usd_per_node_hour: f64,
    /// Fewest nodes.
    pub min_nodes: u32,
    /// Most nodes (`None`: unbounded).
    pub max_nodes: Option<u32>,
    /// How nodes scale.
    pub provisioner: Provisioner,
}

/// What sets the replica count.
#[derive(Debug, Clone)]
pub enum Scaler {
    /// A fixed count.
    Fixed(u32),
    /// A HorizontalPodAutoscaler.
    Hpa(Hpa),
    /// A KEDA ScaledObject (and the HPA it creates).
    Keda(ScaledObject),
}

/// How to replay.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The p99 objective, milliseconds.
    pub slo_p99_ms: f64,
    /// Hour-of-week indices that are off-peak (as in the analysis).
    pub off_peak: [bool; 168],
    /// The zone of hour-of-week indices and of cron windows given in it.
    pub tz: jiff::tz::TimeZone,
    /// metrics-server resolution: CPU samples average this many seconds.
    pub metrics_resolution_s: f64,
    /// Prometheus scrape interval.
    pub scrape_s: f64,
    /// The window of a request-rate query (`rate(...[1m])`) when a trigger's query names none.
    pub rate_window_s: f64,
    /// When in its 15 s period the HPA reconciles (a controller's phase is arbitrary).
    pub hpa_phase_s: f64,
    /// Seconds a deleted pod keeps its node slot.
    pub termination_s: f64,
    /// Replicas at the start (`None`: the scaler's lower bound).
    pub initial_replicas: Option<u32>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            slo_p99_ms: 100.0,
            off_peak: [false; 168],
            tz: jiff::tz::TimeZone::UTC,
            metrics_resolution_s: 15.0,
            scrape_s: 15.0,
            rate_window_s: 60.0,
            hpa_phase_s: 7.0,
            termination_s: 30.0,
            initial_replicas: None,
        }
    }
}

/// Why a replay cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// A bad input.
    #[error("{0}")]
    Invalid(String),
}

/// Totals of a replay.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Node cost over the span, dollars.
    pub cost_total: f64,
    /// Of which in off-peak hours.
    pub cost_off_peak: f64,
    /// Of which in peak hours.
    pub cost_peak: f64,
    /// Node-hours.
    pub node_hours: f64,
    /// Ready pod-hours.
    pub pod_hours: f64,
    /// Mean ready pods.
    pub mean_ready_pods: f64,
    /// Most ready pods at once.
    pub max_ready_pods: u32,
    /// Most nodes at once.
    pub max_nodes: u32,
    /// 5-minute windows whose modelled p99 is above the SLO.
    pub slo_violation_windows_5m: usize,
    /// Windows with requests.
    pub windows_5m: usize,
    /// The highest 5-minute p99, milliseconds.
    pub worst_p99_ms: f64,
    /// Requests replayed.
    pub requests: f64,
    /// Requests that met an overloaded pod or no ready pod: `shed_requests` plus
    /// `timed_out_requests`.
    pub overloaded_requests: f64,
    /// Requests that arrived with no ready pod (a load balancer answers 503).
    pub shed_requests: f64,
    /// Requests to a pod beyond 98% of its saturation (its queue grows: counted as timed out,
    /// at the overload latency).
    pub timed_out_requests: f64,
    /// Replica changes the scaler made.
    pub scale_events: usize,
}

/// Series of a replay.
#[derive(Debug, Clone, Serialize)]
pub struct SimSeries {
    /// RFC 3339 UTC of the first hour.
    pub start: String,
    /// Mean ready pods in each hour of the span.
    pub hourly_ready_pods: Vec<f64>,
    /// Mean nodes (provisioning included) in each hour.
    pub hourly_nodes: Vec<f64>,
    /// Node cost of each hour, dollars.
    pub hourly_cost: Vec<f64>,
    /// Start of the first 5-minute window (windows are aligned to wall-clock multiples of
    /// five minutes, as in the analysis).
    pub windows_5m_start: String,
    /// p99 of each 5-minute window, milliseconds (`null` without requests).
    pub p99_5m_ms: Vec<Option<f64>>,
    /// p50 of each 5-minute window.
    pub p50_5m_ms: Vec<Option<f64>>,
    /// p99 of each minute.
    pub p99_1m_ms: Vec<Option<f64>>,
    /// Mean ready pods in each minute.
    pub ready_pods_1m: Vec<f64>,
    /// p50 of each minute.
    pub p50_1m_ms: Vec<Option<f64>>,
}

/// A replay's result.
#[derive(Debug, Clone, Serialize)]
pub struct SimResult {
    /// Totals.
    pub summary: Summary,
    /// Time series.
    pub series: SimSeries,
    /// Things to know.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
struct Pod {
    /// Unique over the cluster's life.
    id: u64,
    /// When the Deployment created it.
    created: f64,
    /// Its node, once scheduled.
    node: Option<usize>,
    /// When it serves (set at scheduling).
    ready_at: f64,
    /// Set when deleted: it stops serving at once and frees its slot after termination.
    deleted_at: Option<f64>,
}

impl Pod {
    fn serving(&self, t: f64) -> bool {
        self.deleted_at.is_none() && self.node.is_some() && self.ready_at <= t
    }
}

/// A node; deleted nodes stay in the list (flagged) so that pods' indices stay valid.
#[derive(Debug, Clone, Copy)]
struct Node {
    ready_at: f64,
    /// Serving pods it holds.
    slots: u32,
    /// Its price per hour.
    usd_per_hour: f64,
    /// Pods bound to it (terminating ones included until they leave).
    pods: u32,
    /// Last pod scheduled to or removed from it (Karpenter's consolidateAfter clock).
    last_pod_event: f64,
    /// Since when the cluster autoscaler has found it unneeded.
    unneeded_since: Option<f64>,
    deleted: bool,
}

impl Node {
    /// A node of `shape` that is Ready at `ready_at`.
    fn of(shape: &NodeShape, ready_at: f64) -> Self {
        Node {
            ready_at,
            slots: shape.pods_per_node,
            usd_per_hour: shape.usd_per_node_hour,
            pods: 0,
            last_pod_event: ready_at,
            unneeded_since: None,
            deleted: false,
        }
    }

    /// Slots not taken.
    fn free(&self) -> u32 {
        self.slots.saturating_sub(self.pods)
    }

    /// Not deleted and Ready at `t`.
    fn usable(&self, t: f64) -> bool {
        !self.deleted && self.ready_at <= t
    }
}

/// Pods and nodes, with the counts a step reads kept between changes: a full pass runs only
/// when something changed (a scale, a node) or a pod's state is due to change (it becomes
/// ready, warm, or terminated), so a quiet second costs a few additions.
struct World {
    pods: Vec<Pod>,
    nodes: Vec<Node>,
    /// A change was made since the last pass.
    dirty: bool,
    /// The next time a pod or node changes state by itself.
    next_change: f64,
    /// Serving pods.
    ready: u32,
    /// Serving pods still warming up.
    cold: u32,
    /// Pods not being deleted (the ReplicaSet's count).
    existing: u32,
    /// Pods waiting for a node.
    pending: usize,
    /// Free slots on nodes still provisioning.
    upcoming_room: usize,
    /// Nodes not deleted.
    live_nodes: u32,
    /// Their price per hour.
    usd_per_hour: f64,
    /// The next pod's id.
    next_id: u64,
}

impl World {
    /// A fresh pod id.
    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Pods and nodes, counted at the first step.
    fn new(pods: Vec<Pod>, nodes: Vec<Node>) -> Self {
        World {
            pods,
            nodes,
            dirty: true,
            next_change: f64::NEG_INFINITY,
            ready: 0,
            cold: 0,
            existing: 0,
            pending: 0,
            upcoming_room: 0,
            live_nodes: 0,
            usd_per_hour: 0.0,
            next_id: 0,
        }
    }

    /// Terminates, schedules and counts: the full pass.
    fn refresh(&mut self, t: f64, service: &ServiceModel, termination_s: f64) {
        // Pods leave their node once terminated.
        for p in self.pods.iter_mut() {
            if let (Some(d), Some(k)) = (p.deleted_at, p.node)
                && t >= d + termination_s
            {
                self.nodes[k].pods = self.nodes[k].pods.saturating_sub(1);
                self.nodes[k].last_pod_event = t;
                p.node = None;
            }
        }
        self.pods
            .retain(|p| !(p.deleted_at.is_some() && p.node.is_none()));
        // Deleted nodes hold no pods (theirs were evicted): drop them and renumber.
        if self.nodes.iter().any(|nd| nd.deleted && nd.pods == 0) {
            let mut map = vec![usize::MAX; self.nodes.len()];
            let mut kept = Vec::with_capacity(self.nodes.len());
            for (k, nd) in self.nodes.iter().enumerate() {
                if !(nd.deleted && nd.pods == 0) {
                    map[k] = kept.len();
                    kept.push(*nd);
                }
            }
            for p in self.pods.iter_mut() {
                p.node = p.node.map(|k| map[k]).filter(|k| *k != usize::MAX);
            }
            self.nodes = kept;
        }
        // The scheduler binds pending pods to ready nodes with room, least allocated first.
        for i in 0..self.pods.len() {
            if self.pods[i].node.is_some() || self.pods[i].deleted_at.is_some() {
                continue;
            }
            let best = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, nd)| nd.usable(t) && nd.free() > 0)
                .min_by(|(_, a), (_, b)| (a.pods * b.slots).cmp(&(b.pods * a.slots)))
                .map(|(k, _)| k);
            if let Some(k) = best {
                self.nodes[k].pods += 1;
                self.nodes[k].last_pod_event = t;
                self.nodes[k].unneeded_since = None;
                self.pods[i].node = Some(k);
                self.pods[i].ready_at = t + service.startup_s;
            }
        }
        let (mut ready, mut cold, mut existing, mut pending) = (0, 0, 0, 0);
        let mut next = f64::INFINITY;
        let mut later = |x: f64| {
            if x > t && x < next {
                next = x;
            }
        };
        for p in &self.pods {
            if let Some(d) = p.deleted_at {
                later(d + termination_s);
                continue;
            }
            existing += 1;
            if p.node.is_none() {
                pending += 1;
            } else if p.ready_at <= t {
                ready += 1;
                if t < p.ready_at + service.cold_s {
                    cold += 1;
                    later(p.ready_at + service.cold_s);
                }
            } else {
                later(p.ready_at);
            }
        }
        let mut upcoming_room = 0;
        let mut live = 0;
        let mut usd_per_hour = 0.0;
        for nd in &self.nodes {
            if nd.deleted {
                continue;
            }
            live += 1;
            usd_per_hour += nd.usd_per_hour;
            if nd.ready_at > t {
                upcoming_room += nd.free() as usize;
                if pending > 0 {
                    later(nd.ready_at);
                }
            }
        }
        (self.ready, self.cold, self.existing, self.pending) = (ready, cold, existing, pending);
        self.upcoming_room = upcoming_room;
        self.live_nodes = live;
        self.usd_per_hour = usd_per_hour;
        self.next_change = next;
        self.dirty = false;
    }
}

/// Mean of the last `window` values of a ring written one a step, the latest at `now`
/// (fewer at the start): at most two contiguous pieces of the ring.
fn ring_mean(ring: &[f64], now: usize, window: usize) -> f64 {
    let len = ring.len();
    let n = window.min(now + 1).min(len).max(1);
    let end = now % len + 1;
    let sum: f64 = if n <= end {
        ring[end - n..end].iter().sum()
    } else {
        ring[..end].iter().sum::<f64>() + ring[len - (n - end)..].iter().sum::<f64>()
    };
    sum / n as f64
}

/// Mean of the last `window` values up to `now` (fewer at the start) from prefix sums
/// (`prefix[i]` is the sum of the first `i` values).
fn prefix_mean(prefix: &[f64], now: usize, window: usize) -> f64 {
    let n = window.min(now + 1).max(1);
    (prefix[now + 1] - prefix[now + 1 - n]) / n as f64
}

/// The per-trigger or per-metric way to read a metric from the signals.
#[derive(Debug, Clone)]
enum MetricFeed {
    /// Pod CPU through metrics-server.
    Cpu,
    /// The service's request rate through Prometheus (total), over a window.
    RequestRate {
        window_s: f64,
        per_pod: bool,
        /// KEDA: the trigger is active above this value.
        activation: f64,
    },
    /// A KEDA cron trigger: desired replicas while active.
    Cron { active: Vec<bool>, desired: u32 },
    /// Not modelled: always fails (blocks scale-down, as a broken metric does). `resource`:
    /// a CPU or memory metric, which KEDA's fallback does not cover.
    Unsupported { resource: bool },
}

impl MetricFeed {
    /// Whether KEDA's fallback replaces this trigger's failures (§5.5: not for cpu or memory).
    fn falls_back(&self) -> bool {
        !matches!(
            self,
            MetricFeed::Cpu | MetricFeed::Unsupported { resource: true }
        )
    }
}

/// A periodic task in a loop of one-second steps: due at `first`, then every `period` steps.
struct Every {
    period: usize,
    next: usize,
}

impl Every {
    fn new(period: usize, first: usize) -> Self {
        Every {
            period: period.max(1),
            next: first,
        }
    }

    /// Whether the task runs at `step` (steps are visited in order, none skipped).
    fn due(&mut self, step: usize) -> bool {
        if step < self.next {
            return false;
        }
        self.next += self.period;
        true
    }
}

/// One second's requests into its minute: warm and cold pods' shares at one load level.
fn add_second(mix: &mut LatencyMix, level: Option<u16>, requests: f64, cold_share: f64) {
    if cold_share <= 0.0 {
        mix.add(level, requests, false);
    } else {
        mix.add(level, requests * (1.0 - cold_share), false);
        mix.add(level, requests * cold_share, true);
    }
}

/// The `[5m]`-style window of a PromQL range selector, seconds.
fn promql_window_s(query: &str) -> Option<f64> {
    let open = query.find('[')?;
    let close = open + query[open..].find(']')?;
    let inner = &query[open + 1..close];
    let inner = inner.split(':').next()?;
    let (num, unit): (String, String) = (
        inner.chars().take_while(char::is_ascii_digit).collect(),
        inner.chars().skip_while(char::is_ascii_digit).collect(),
    );
    let n: f64 = num.parse().ok()?;
    Some(
        n * match unit.as_str() {
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        },
    )
}

fn feeds_of_hpa(hpa: &Hpa, cfg: &SimConfig, warnings: &mut Vec<String>) -> Vec<MetricFeed> {
    hpa.metrics
        .iter()
        .map(|m| match &m.source {
            MetricSource::Resource { name, .. } if name == "cpu" => MetricFeed::Cpu,
            MetricSource::Pods { .. } => MetricFeed::RequestRate {
                window_s: cfg.rate_window_s,
                per_pod: true,
                activation: 0.0,
            },
            MetricSource::External { .. } | MetricSource::Object { .. } => {
                MetricFeed::RequestRate {
                    window_s: cfg.rate_window_s,
                    per_pod: false,
                    activation: 0.0,
                }
            }
            MetricSource::Resource { name, .. } => {
                warnings.push(format!(
                    "HPA {}: the {name} metric is not modelled (its usage does not follow load): it is replayed as unavailable, which blocks scale-down",
                    hpa.metadata.name
                ));
                MetricFeed::Unsupported { resource: true }
            }
        })
        .collect()
}

fn feeds_of_scaled_object(
    so: &ScaledObject,
    cfg: &SimConfig,
    start_minute: i64,
    minutes: usize,
    warnings: &mut Vec<String>,
) -> Result<Vec<MetricFeed>, SimError> {
    so.triggers
        .iter()
        .map(|t| {
            Ok(match t {
                Trigger::Prometheus {
                    query,
                    activation_threshold,
                    ..
                } => MetricFeed::RequestRate {
                    window_s: promql_window_s(query).unwrap_or(cfg.rate_window_s),
                    per_pod: false,
                    activation: *activation_threshold,
                },
                Trigger::Resource { name, .. } if name == "cpu" => MetricFeed::Cpu,
                Trigger::Cron {
                    timezone,
                    start,
                    end,
                    desired_replicas,
                } => {
                    let tz = jiff::tz::TimeZone::get(timezone).map_err(|e| {
                        SimError::Invalid(format!(
                            "ScaledObject {}: cron timezone {timezone:?}: {e}",
                            so.metadata.name
                        ))
                    })?;
                    let parse = |c: &str| {
                        Cron::parse(c).map_err(|e| {
                            SimError::Invalid(format!(
                                "ScaledObject {}: cron {e}",
                                so.metadata.name
                            ))
                        })
                    };
                    MetricFeed::Cron {
                        active: cron_activity(
                            &parse(start)?,
                            &parse(end)?,
                            &tz,
                            start_minute,
                            minutes,
                        ),
                        desired: *desired_replicas,
                    }
                }
                Trigger::Resource { name, .. } | Trigger::Other { kind: name } => {
                    let resource = matches!(t, Trigger::Resource { .. });
                    warnings.push(format!(
                        "ScaledObject {}: the {name} trigger is not modelled: it is replayed as unavailable{}",
                        so.metadata.name,
                        match &so.fallback {
                            Some(f) if !resource => format!(
                                ", so after {} failed reads its fallback of {} replicas ({}) applies",
                                f.failure_threshold, f.replicas, f.behavior
                            ),
                            _ => String::new(),
                        }
                    ));
                    MetricFeed::Unsupported { resource }
                }
            })
        })
        .collect()
}

/// Replays one demand through many scalers, `threads` at a time (each replay is independent;
/// results come back in the order of `scalers`, the same for any thread count).
pub fn simulate_all(
    demand: &Demand,
    service: &ServiceModel,
    pool: &NodePool,
    scalers: &[Scaler],
    cfg: &SimConfig,
    threads: usize,
) -> Vec<Result<SimResult, SimError>> {
    crate::par::par_map(scalers, threads, |sc| {
        simulate(demand, service, pool, sc, cfg)
    })
}

/// What one step of a [`Cluster`] shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepState {
    /// Pods serving during the step (before its scaling acts).
    pub ready: u32,
    /// Of which still warming up.
    pub cold: u32,
    /// The Deployment's replicas after the step (what the autoscaler asked for).
    pub spec: u32,
    /// Nodes after the step (provisioning ones included).
    pub live_nodes: u32,
    /// Their price per hour.
    pub usd_per_hour: f64,
}

/// A serving pod: a stable id and when it started serving, in step seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServingPod {
    /// Unique over the cluster's life.
    pub id: u64,
    /// When it became ready (`-inf` for the initial pods).
    pub ready_at_s: f64,
}

/// The scaled workload as a state machine stepped one second at a time with the second's
/// arrival rate: the metric pipelines, the HPA (or KEDA's executor and HPA), the Deployment,
/// the scheduler and the node provisioner. [`simulate`] steps it over a recorded week; the
/// emulated cluster of `rightsize testbed` steps it with measured arrivals in compressed real
/// time. Time is the step counter: step `k` is second `k` after the start.
pub struct Cluster {
    service: ServiceModel,
    pool: NodePool,
    termination_s: f64,
    world: World,
    controller: Option<HpaController>,
    feeds: Vec<MetricFeed>,
    executor: Option<KedaExecutor>,
    fallback: Option<(crate::cluster::keda::Fallback, Vec<u32>)>,
    spec: u32,
    own: NodeShape,
    launchable: Vec<NodeShape>,
    /// The arrival rate as prefix sums (a request-rate window's mean is one subtraction).
    rps_prefix: Vec<f64>,
    /// Latest metric samples: metrics-server CPU per pod (and when it was taken),
    /// Prometheus rates per feed.
    cpu_sample: Option<(f64, f64)>,
    rate_samples: Vec<f64>,
    readings: Vec<Reading>,
    last_scale_up: f64,
    /// Karpenter: (opened, last growth, pending).
    batch: Option<(f64, f64, usize)>,
    resolution_i: usize,
    cpu_tick: Every,
    scrape_tick: Every,
    poll_tick: Every,
    sync_tick: Every,
    node_tick: Every,
    /// Per-pod CPU over the metrics-server window.
    cpu_ring: Vec<f64>,
    slot: usize,
    step: usize,
    /// 1 / ready pods, recomputed only when the count changes.
    inv_ready: (u32, f64),
    scale_events: usize,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("now_s", &self.step)
            .field("spec", &self.spec)
            .field("ready", &self.world.ready)
            .field("nodes", &self.world.live_nodes)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// A cluster in a steady state at `start_unix_s`: the initial replicas (`cfg`'s, else
    /// the scaler's lower bound) ready and warm on ready nodes. Cron windows are laid out
    /// over `horizon_s` seconds (beyond it the last minute's state holds). Returns the
    /// cluster and what it cannot model, in words.
    pub fn new(
        service: &ServiceModel,
        pool: &NodePool,
        scaler: &Scaler,
        cfg: &SimConfig,
        start_unix_s: i64,
        horizon_s: usize,
    ) -> Result<(Cluster, Vec<String>), SimError> {
        if pool.pods_per_node == 0 {
            return Err(SimError::Invalid("a node holds no serving pod".into()));
        }
        let mut warnings = Vec::new();
        let start_minute = start_unix_s.div_euclid(60);
        let minutes = horizon_s.div_ceil(60).max(1);
        let (controller, feeds, executor) = match scaler {
            Scaler::Fixed(_) => (None, Vec::new(), None),
            Scaler::Hpa(h) => (
                Some(HpaController::new(h.clone())),
                feeds_of_hpa(h, cfg, &mut warnings),
                None,
            ),
            Scaler::Keda(so) => (
                Some(HpaController::new(keda::hpa_of(so))),
                feeds_of_scaled_object(so, cfg, start_minute, minutes, &mut warnings)?,
                Some((
                    KedaExecutor::new(so),
                    f64::from(so.polling_interval_s.max(1)),
                )),
            ),
        };
        let spec: u32 = match (scaler, cfg.initial_replicas) {
            (Scaler::Fixed(r), _) => *r,
            (_, Some(r)) => r,
            (Scaler::Hpa(h), None) => h.min_replicas.max(1),
            (Scaler::Keda(so), None) => so.min_replica_count,
        };

        // The pool's own node type, and the types Karpenter may launch.
        let own = NodeShape {
            name: String::new(),
            pods_per_node: pool.pods_per_node,
            usd_per_node_hour: pool.usd_per_node_hour,
        };
        let launchable: Vec<NodeShape> = match &pool.provisioner {
            Provisioner::Karpenter { instance_types, .. } if !instance_types.is_empty() => {
                instance_types
                    .iter()
                    .filter(|s| s.pods_per_node > 0)
                    .cloned()
                    .collect()
            }
            _ => vec![own.clone()],
        };
        if launchable.is_empty() {
            return Err(SimError::Invalid(
                "no instance type the pool may launch holds a serving pod".into(),
            ));
        }

        // Start in a steady state: the initial pods ready and warm on ready nodes.
        let ppn = pool.pods_per_node;
        let initial_nodes = spec
            .div_ceil(ppn)
            .max(pool.min_nodes)
            .min(pool.max_nodes.unwrap_or(u32::MAX).max(1));
        let mut nodes: Vec<Node> = (0..initial_nodes)
            .map(|_| Node::of(&own, f64::NEG_INFINITY))
            .collect();
        let mut world = World::new(Vec::new(), Vec::new());
        for i in 0..spec {
            let node = (i / ppn) as usize;
            let node = (node < nodes.len()).then_some(node);
            if let Some(k) = node {
                nodes[k].pods += 1;
            }
            let pod = Pod {
                id: world.new_id(),
                created: f64::NEG_INFINITY,
                node,
                ready_at: f64::NEG_INFINITY,
                deleted_at: None,
            };
            world.pods.push(pod);
        }
        world.nodes = nodes;

        let fallback = match scaler {
            Scaler::Keda(so) => so.fallback.clone().map(|f| (f, vec![0u32; feeds.len()])),
            _ => None,
        };
        // Periods as whole seconds: the loop's step is one second.
        let every = |period_s: f64| (period_s.round() as usize).max(1);
        let (resolution_i, scrape_i, sync_i) = (
            every(cfg.metrics_resolution_s),
            every(cfg.scrape_s),
            every(hpa::SYNC_PERIOD_S),
        );
        let phase_i = (cfg.hpa_phase_s.round() as usize) % sync_i;
        let poll_i = executor
            .as_ref()
            .map_or(1, |(_, interval)| every(*interval));
        let mut rps_prefix = Vec::with_capacity(horizon_s + 1);
        rps_prefix.push(0.0);
        let n_feeds = feeds.len();
        Ok((
            Cluster {
                service: service.clone(),
                pool: pool.clone(),
                termination_s: cfg.termination_s,
                world,
                controller,
                feeds,
                executor: executor.map(|(e, _)| e),
                fallback,
                spec,
                own,
                launchable,
                rps_prefix,
                cpu_sample: None,
                rate_samples: vec![0.0; n_feeds],
                readings: Vec::with_capacity(n_feeds),
                last_scale_up: f64::NEG_INFINITY,
                batch: None,
                resolution_i,
                // What runs periodically, as countdowns (a remainder per period per step
                // costs more than the rest of a quiet step).
                cpu_tick: Every::new(resolution_i, resolution_i),
                scrape_tick: Every::new(scrape_i, scrape_i),
                poll_tick: Every::new(poll_i, 0),
                sync_tick: Every::new(sync_i, if phase_i == 0 { sync_i } else { phase_i }),
                node_tick: Every::new(10, 0),
                cpu_ring: vec![0.0; resolution_i + 1],
                slot: 0,
                step: 0,
                inv_ready: (0, 0.0),
                scale_events: 0,
            },
            warnings,
        ))
    }

    /// Seconds stepped so far (the time of the next step).
    pub fn now_s(&self) -> usize {
        self.step
    }

    /// Replica changes the scaler has made.
    pub fn scale_events(&self) -> usize {
        self.scale_events
    }

    /// The pods serving as of the last step, with when each became ready.
    pub fn serving_pods(&self) -> Vec<ServingPod> {
        let t = self.step.saturating_sub(1) as f64;
        self.world
            .pods
            .iter()
            .filter(|p| p.serving(t))
            .map(|p| ServingPod {
                id: p.id,
                ready_at_s: p.ready_at,
            })
            .collect()
    }

    /// One second with `lambda` requests per second arriving.
    pub fn step(&mut self, lambda: f64) -> StepState {
        let step = self.step;
        self.step += 1;
        let t = step as f64;
        let lambda = lambda.max(0.0);
        let minute = step / 60;
        let total = self.rps_prefix.last().copied().unwrap_or(0.0) + lambda;
        self.rps_prefix.push(total);
        let service = &self.service;
        let world = &mut self.world;
        if world.dirty || t >= world.next_change {
            world.refresh(t, service, self.termination_s);
        }
        let (ready, cold) = (world.ready, world.cold);
        if ready > 0 && ready != self.inv_ready.0 {
            self.inv_ready = (ready, 1.0 / f64::from(ready));
        }
        let per_pod_cpu = service.idle_cpu_cores
            + service.cpu_per_request_core_s
                * lambda
                * if ready > 0 { self.inv_ready.1 } else { 1.0 };
        self.cpu_ring[self.slot] = per_pod_cpu;
        self.slot += 1;
        if self.slot == self.cpu_ring.len() {
            self.slot = 0;
        }

        // Metrics pipelines.
        let resolution_i = self.resolution_i;
        let resolution = resolution_i as f64;
        if self.cpu_tick.due(step) {
            self.cpu_sample = Some((ring_mean(&self.cpu_ring, step, resolution_i), t));
        }
        if self.scrape_tick.due(step) {
            for (i, f) in self.feeds.iter().enumerate() {
                if let MetricFeed::RequestRate { window_s, .. } = f {
                    self.rate_samples[i] =
                        prefix_mean(&self.rps_prefix, step, window_s.max(1.0) as usize);
                }
            }
        }

        // KEDA's executor.
        let feeds = &self.feeds;
        let rate_samples = &self.rate_samples;
        if let Some(exec) = self.executor.as_mut()
            && self.poll_tick.due(step)
        {
            let active = feeds.iter().enumerate().any(|(i, f)| match f {
                MetricFeed::RequestRate { activation, .. } => rate_samples[i] > *activation,
                MetricFeed::Cron { active, .. } => active[minute.min(active.len() - 1)],
                MetricFeed::Cpu => true,
                MetricFeed::Unsupported { .. } => false,
            });
            if let Some(r) = exec.poll(t, self.spec, active) {
                if r != self.spec {
                    self.scale_events += 1;
                }
                self.spec = r;
            }
        }

        // The HPA.
        let cpu_request_milli = service.cpu_request_cores * 1000.0;
        if let Some(c) = self.controller.as_mut()
            && self.sync_tick.due(step)
        {
            let spec = self.spec;
            let cpu_sample = self.cpu_sample;
            // The counts of this second's pass: nothing has changed the pods since.
            let (status_replicas, serving) = (world.existing, world.ready);
            let readings = &mut self.readings;
            readings.clear();
            readings.extend(feeds.iter().enumerate().map(|(i, f)| match f {
                MetricFeed::Cpu => match cpu_sample {
                    Some((cpu, at)) => {
                        // A pod counts with its CPU once a whole sample window lies after
                        // it became ready (§1.5.3); the others are unready.
                        let sampled = world
                            .pods
                            .iter()
                            .filter(|p| p.serving(t) && p.ready_at + resolution <= at)
                            .count() as u32;
                        if sampled == 0 || cpu_request_milli <= 0.0 {
                            Reading::Failed
                        } else {
                            Reading::Resource {
                                usage_per_pod: cpu * 1000.0,
                                request_per_pod: cpu_request_milli,
                                ready: sampled,
                                unready: status_replicas - sampled,
                                missing: 0,
                            }
                        }
                    }
                    None => Reading::Failed,
                },
                MetricFeed::RequestRate { per_pod: true, .. } => {
                    if serving == 0 {
                        Reading::Failed
                    } else {
                        Reading::Pods {
                            value_per_pod: rate_samples[i] / f64::from(serving),
                            ready: serving,
                            unready: status_replicas - serving,
                            missing: 0,
                        }
                    }
                }
                MetricFeed::RequestRate { per_pod: false, .. } => Reading::Total {
                    value: rate_samples[i],
                    ready_pods: serving,
                    status_replicas,
                },
                MetricFeed::Cron { active, desired } => Reading::Total {
                    value: if active[minute.min(active.len() - 1)] {
                        f64::from(*desired)
                    } else {
                        0.0
                    },
                    ready_pods: serving,
                    status_replicas,
                },
                MetricFeed::Unsupported { .. } => Reading::Failed,
            }));
            // KEDA's fallback: past the threshold of consecutive failures, a failing trigger
            // reports the value that makes the HPA ask for the fallback's replicas.
            if let Some((fb, failures)) = self.fallback.as_mut() {
                for (i, r) in readings.iter_mut().enumerate() {
                    if !feeds[i].falls_back() {
                        continue;
                    }
                    if *r != Reading::Failed {
                        failures[i] = 0;
                        continue;
                    }
                    failures[i] += 1;
                    let target = c.hpa.metrics.get(i).map(|m| &m.target);
                    if failures[i] > fb.failure_threshold
                        && let Some(value) =
                            target.and_then(|tg| keda::fallback_value(fb, tg, spec, serving))
                    {
                        *r = Reading::Total {
                            value,
                            ready_pods: serving,
                            status_replicas,
                        };
                    }
                }
            }
            let replicas = c.reconcile(t, spec, readings);
            if replicas != spec {
                self.scale_events += 1;
                self.spec = replicas;
            }
        }
        // The Deployment: create or delete pods toward spec.
        let spec = self.spec;
        let existing = world.existing;
        if spec != existing {
            if spec > existing {
                for _ in existing..spec {
                    let id = world.new_id();
                    world.pods.push(Pod {
                        id,
                        created: t,
                        node: None,
                        ready_at: f64::INFINITY,
                        deleted_at: None,
                    });
                }
            } else {
                let pods = &mut world.pods;
                // The ReplicaSet deletes unscheduled pods first, then not-ready ones, then the
                // newest.
                let mut order: Vec<usize> = (0..pods.len())
                    .filter(|&i| pods[i].deleted_at.is_none())
                    .collect();
                order.sort_by(|&a, &b| {
                    let rank = |p: &Pod| (p.node.is_some(), p.serving(t));
                    rank(&pods[a])
                        .cmp(&rank(&pods[b]))
                        .then(pods[b].created.total_cmp(&pods[a].created))
                });
                for &i in order.iter().take((existing - spec) as usize) {
                    pods[i].deleted_at = Some(t);
                }
                pods.retain(|p| !(p.deleted_at.is_some() && p.node.is_none()));
            }
            world.refresh(t, service, self.termination_s);
        }

        // Nodes.
        let pool = &self.pool;
        let ppn = pool.pods_per_node;
        let (pending, upcoming_room, live) = (world.pending, world.upcoming_room, world.live_nodes);
        let max_nodes_allowed = pool.max_nodes.unwrap_or(u32::MAX);
        let node_due = self.node_tick.due(step);
        match &pool.provisioner {
            Provisioner::Fixed => {}
            Provisioner::ClusterAutoscaler {
                provision_s,
                unneeded_s,
                delay_after_add_s,
                utilization_threshold,
            } => {
                if node_due {
                    if pending > upcoming_room {
                        let want = ((pending - upcoming_room) as u32).div_ceil(ppn);
                        let count = want.min(max_nodes_allowed.saturating_sub(live));
                        if count > 0 {
                            let node = Node::of(&self.own, t + provision_s);
                            world.nodes.extend((0..count).map(|_| node));
                            world.dirty = true;
                            self.last_scale_up = t;
                        }
                    } else if pending == 0
                        && t - self.last_scale_up >= *delay_after_add_s
                        && scale_down_ca(
                            world,
                            t,
                            pool.min_nodes,
                            *unneeded_s,
                            *utilization_threshold,
                        )
                    {
                        world.dirty = true;
                    }
                }
            }
            Provisioner::Karpenter {
                provision_s,
                consolidate_after_s,
                underutilized,
                budget,
                ..
            } => {
                // Batching: a batch opens with the first pending pod and closes after 1 s
                // without new ones, or 10 s in all.
                if pending > upcoming_room {
                    match self.batch {
                        None => self.batch = Some((t, t, pending)),
                        Some((opened, _, seen)) if pending > seen => {
                            self.batch = Some((opened, t, pending))
                        }
                        _ => {}
                    }
                } else {
                    self.batch = None;
                }
                if let Some((opened, grown, _)) = self.batch
                    && (t - grown >= 1.0 || t - opened >= 10.0)
                {
                    let most = max_nodes_allowed.saturating_sub(live);
                    let wanted = (pending - upcoming_room) as u32;
                    for shape in karpenter_launch(&self.launchable, wanted, most) {
                        world.nodes.push(Node::of(shape, t + provision_s));
                    }
                    world.dirty = true;
                    self.batch = None;
                }
                if node_due
                    && pending == 0
                    && consolidate_karpenter(
                        world,
                        t,
                        pool.min_nodes,
                        *consolidate_after_s,
                        *underutilized,
                        *budget,
                    )
                {
                    world.dirty = true;
                }
            }
        }
        StepState {
            ready,
            cold,
            spec: self.spec,
            live_nodes: world.live_nodes,
            usd_per_hour: world.usd_per_hour,
        }
    }
}

/// Replays `demand` through `scaler` on `pool` with `service`'s behaviour.
pub fn simulate(
    demand: &Demand,
    service: &ServiceModel,
    pool: &NodePool,
    scaler: &Scaler,
    cfg: &SimConfig,
) -> Result<SimResult, SimError> {
    let n = demand.rps.len();
    if n == 0 {
        return Err(SimError::Invalid("no demand to replay".into()));
    }
    let (mut cluster, warnings) = Cluster::new(service, pool, scaler, cfg, demand.start_unix_s, n)?;
    let start_minute = demand.start_unix_s.div_euclid(60);
    let minutes = n.div_ceil(60);

    // Per-hour and per-window accumulators.
    let hours = n.div_ceil(3600);
    let mut hourly_ready = vec![0.0; hours];
    let mut hourly_nodes = vec![0.0; hours];
    let mut hourly_cost = vec![0.0; hours];
    let off_peak_hour: Vec<bool> = (0..hours)
        .map(|h| {
            let how = hour_of_week(demand.start_unix_s + h as i64 * 3600, &cfg.tz);
            cfg.off_peak[how]
        })
        .collect();
    let first_window = start_minute.div_euclid(5);
    let windows = ((start_minute + minutes as i64 - 1).div_euclid(5) - first_window + 1) as usize;
    // The current minute's and window's requests; each is read when it closes and reused.
    let mut minute_mix = LatencyMix::new();
    let mut window_mix = LatencyMix::new();
    let cold_factor = service.cold_factor.max(1.0);
    let (mut p99_1m, mut p50_1m) = (Vec::with_capacity(minutes), Vec::with_capacity(minutes));
    let mut ready_1m = Vec::with_capacity(minutes);
    let mut minute_ready = 0u64;
    let (mut p99_5m, mut p50_5m) = (Vec::with_capacity(windows), Vec::with_capacity(windows));
    let (mut requests, mut shed, mut timed_out) = (0.0, 0.0, 0.0);
    let (mut max_ready, mut max_nodes) = (0u32, 0u32);
    let (mut minute, mut h) = (0usize, 0usize);
    let (mut next_minute_at, mut next_hour_at) = (60usize, 3600usize);
    let spread = service.load_spread_cv.clamp(0.0, 0.9);
    // 1 / ready pods, recomputed only when the count changes (a division per step costs).
    let mut inv_ready = (0u32, 0.0f64);
    for step in 0..n {
        let lambda = demand.rps[step].max(0.0);
        if step == next_minute_at {
            minute += 1;
            next_minute_at += 60;
        }
        if step == next_hour_at {
            h += 1;
            next_hour_at += 3600;
        }
        let state = cluster.step(lambda);
        let (ready, cold) = (state.ready, state.cold);
        max_ready = max_ready.max(ready);
        requests += lambda;
        if ready == 0 {
            shed += lambda;
            minute_mix.add(None, lambda, false);
        } else {
            if ready != inv_ready.0 {
                inv_ready = (ready, 1.0 / f64::from(ready));
            }
            let x = lambda * inv_ready.1;
            let cold_share = if cold == 0 {
                0.0
            } else {
                f64::from(cold) * inv_ready.1
            };
            if spread <= 0.0 {
                let level = service.latency.level(x);
                if level.is_none() {
                    timed_out += lambda;
                }
                add_second(&mut minute_mix, level, lambda, cold_share);
            } else {
                // Uneven spread: half the pods busier, half quieter, by the observed
                // coefficient of variation; each half takes its share of the requests.
                for (load, share) in [
                    (1.0 + spread, 0.5 * (1.0 + spread)),
                    (1.0 - spread, 0.5 * (1.0 - spread)),
                ] {
                    let level = service.latency.level(x * load);
                    if level.is_none() {
                        timed_out += lambda * share;
                    }
                    add_second(&mut minute_mix, level, lambda * share, cold_share);
                }
            }
        }

        // Accounting.
        let live_nodes = state.live_nodes;
        max_nodes = max_nodes.max(live_nodes);
        hourly_ready[h] += f64::from(ready);
        minute_ready += u64::from(ready);
        hourly_nodes[h] += f64::from(live_nodes);
        hourly_cost[h] += state.usd_per_hour;

        // A minute closes at its last second (or the span's); a window with the minute
        // before a wall-clock multiple of five.
        if step + 1 == next_minute_at || step + 1 == n {
            p99_1m.push(minute_mix.quantile_ms(&service.latency, 0.99, cold_factor));
            let minute_secs = (n - minute * 60).min(60);
            ready_1m.push(minute_ready as f64 / minute_secs as f64);
            minute_ready = 0;
            p50_1m.push(minute_mix.quantile_ms(&service.latency, 0.5, cold_factor));
            window_mix.merge(&minute_mix);
            minute_mix.clear();
            let next_minute = start_minute + minute as i64 + 1;
            if next_minute.rem_euclid(5) == 0 || step + 1 == n {
                p99_5m.push(window_mix.quantile_ms(&service.latency, 0.99, cold_factor));
                p50_5m.push(window_mix.quantile_ms(&service.latency, 0.5, cold_factor));
                window_mix.clear();
            }
        }
    }

    let violations = p99_5m
        .iter()
        .flatten()
        .filter(|p| **p > cfg.slo_p99_ms)
        .count();
    for c in hourly_cost.iter_mut() {
        *c /= 3600.0;
    }
    let cost_total: f64 = hourly_cost.iter().sum();
    let cost_off_peak: f64 = hourly_cost
        .iter()
        .zip(&off_peak_hour)
        .filter(|(_, o)| **o)
        .map(|(c, _)| c)
        .sum::<f64>()
        + 0.0; // an empty sum is -0.0
    let node_hours = hourly_nodes.iter().sum::<f64>() / 3600.0;
    let ready_seconds: f64 = hourly_ready.iter().sum();
    for h in 0..hours {
        // Every hour is whole but the span's last.
        let s = (n - h * 3600).min(3600) as f64;
        hourly_ready[h] /= s;
        hourly_nodes[h] /= s;
    }
    let summary = Summary {
        cost_total,
        cost_off_peak,
        cost_peak: cost_total - cost_off_peak,
        node_hours,
        pod_hours: ready_seconds / 3600.0,
        mean_ready_pods: ready_seconds / n as f64,
        max_ready_pods: max_ready,
        max_nodes,
        slo_violation_windows_5m: violations,
        windows_5m: p99_5m.iter().flatten().count(),
        worst_p99_ms: p99_5m.iter().flatten().fold(0.0, |a, b| a.max(*b)),
        requests,
        overloaded_requests: shed + timed_out,
        shed_requests: shed,
        timed_out_requests: timed_out,
        scale_events: cluster.scale_events(),
    };
    Ok(SimResult {
        summary,
        series: SimSeries {
            start: crate::analysis::series::rfc3339_minute(start_minute),
            hourly_ready_pods: hourly_ready,
            hourly_nodes,
            hourly_cost,
            windows_5m_start: crate::analysis::series::rfc3339_minute(first_window * 5),
            p99_5m_ms: p99_5m,
            p50_5m_ms: p50_5m,
            p99_1m_ms: p99_1m,
            ready_pods_1m: ready_1m,
            p50_1m_ms: p50_1m,
        },
        warnings,
    })
}

pub(crate) fn hour_of_week(unix_s: i64, tz: &jiff::tz::TimeZone) -> usize {
    let Ok(ts) = jiff::Timestamp::from_second(unix_s) else {
        return 0;
    };
    let z = ts.to_zoned(tz.clone());
    z.weekday().to_monday_zero_offset() as usize * 24 + z.hour() as usize
}

/// Evicts every pod of node `k`: they become pending and start again elsewhere.
fn evict(nodes: &mut [Node], pods: &mut [Pod], k: usize, t: f64) {
    for p in pods.iter_mut() {
        if p.node == Some(k) && p.deleted_at.is_none() {
            p.node = None;
            p.ready_at = f64::INFINITY;
            nodes[k].pods = nodes[k].pods.saturating_sub(1);
        }
    }
    nodes[k].last_pod_event = t;
}

/// The cluster autoscaler's scale-down (§3.2) on slot utilisation: nodes under the threshold
/// whose pods fit on the other nodes' free slots are unneeded; after `unneeded_s` the empty
/// ones go in bulk (at most 10), else one non-empty node is drained. Whether it removed one.
fn scale_down_ca(
    world: &mut World,
    t: f64,
    min_nodes: u32,
    unneeded_s: f64,
    threshold: f64,
) -> bool {
    let World { nodes, pods, .. } = world;
    let free_total: u32 = nodes.iter().filter(|nd| nd.usable(t)).map(Node::free).sum();
    for nd in nodes.iter_mut().filter(|nd| nd.usable(t)) {
        let others_free = free_total - nd.free();
        let under = f64::from(nd.pods) < threshold * f64::from(nd.slots);
        if under && nd.pods <= others_free {
            nd.unneeded_since.get_or_insert(t);
        } else {
            nd.unneeded_since = None;
        }
    }
    let due = |nd: &Node| nd.usable(t) && nd.unneeded_since.is_some_and(|s| t - s >= unneeded_s);
    let mut remaining = nodes.iter().filter(|nd| !nd.deleted).count() as u32;
    let mut removed = 0;
    for nd in nodes.iter_mut() {
        if remaining <= min_nodes || removed >= 10 {
            break;
        }
        if due(nd) && nd.pods == 0 {
            nd.deleted = true;
            remaining -= 1;
            removed += 1;
        }
    }
    if removed > 0 || remaining <= min_nodes {
        return removed > 0;
    }
    let drain = (0..nodes.len())
        .filter(|&k| due(&nodes[k]))
        .min_by_key(|&k| nodes[k].pods);
    if let Some(k) = drain {
        evict(nodes, pods, k, t);
        nodes[k].deleted = true;
        return true;
    }
    false
}

/// Karpenter's consolidation (§4.2) on slot counts: empty nodes past `consolidateAfter`
/// first (Emptiness), else, when underutilised nodes may go, the least used node whose pods
/// fit elsewhere; at most the budget's nodes at once. Whether it removed one.
fn consolidate_karpenter(
    world: &mut World,
    t: f64,
    min_nodes: u32,
    consolidate_after_s: f64,
    underutilized: bool,
    budget: Budget,
) -> bool {
    let World { nodes, pods, .. } = world;
    let total = nodes.iter().filter(|nd| nd.usable(t)).count() as u32;
    let budget = budget.allowed(total);
    // The 15 s validation delay: a command stands only if nothing changed meanwhile.
    let ready_to_go =
        |nd: &Node| nd.usable(t) && t >= nd.last_pod_event + consolidate_after_s + 15.0;
    let mut remaining = nodes.iter().filter(|nd| !nd.deleted).count() as u32;
    let mut removed = 0;
    for nd in nodes.iter_mut() {
        if removed >= budget || remaining <= min_nodes {
            return removed > 0;
        }
        if nd.pods == 0 && ready_to_go(nd) {
            nd.deleted = true;
            removed += 1;
            remaining -= 1;
        }
    }
    if removed > 0 || !underutilized || remaining <= min_nodes || budget == 0 {
        return removed > 0;
    }
    let free_total: u32 = nodes.iter().filter(|nd| nd.usable(t)).map(Node::free).sum();
    let candidate = (0..nodes.len())
        .filter(|&k| ready_to_go(&nodes[k]))
        .filter(|&k| nodes[k].pods <= free_total - nodes[k].free())
        .min_by_key(|&k| nodes[k].pods);
    if let Some(k) = candidate {
        evict(nodes, pods, k, t);
        nodes[k].deleted = true;
        return true;
    }
    false
}
