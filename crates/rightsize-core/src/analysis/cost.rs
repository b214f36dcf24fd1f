//! Utilization and waste: ready pods against the pods the capacity model says were needed,
//! node-hours (pods per node from the configuration) and dollars, split peak and off-peak;
//! what today's HPA did; and the CPU cost per request inferred from its replica choices.

use serde::Serialize;

use super::series::Series;
use super::traffic::hour_of_week_means;
use crate::cluster::ClusterConfig;
use crate::cluster::hpa::{Hpa, MetricSource, Target};
use crate::cluster::nodegroup::NodeGroup;
use crate::cluster::nodes::{Catalogue, InstanceType};
use crate::cluster::workload::Workload;

/// How the serving pods map onto priced nodes.
#[derive(Debug, Clone, Serialize)]
pub struct NodeModel {
    /// The workload the telemetry is taken to be (the HPA's target, else the first).
    pub workload: String,
    /// Its pod's CPU request, cores.
    pub pod_cpu_request_cores: f64,
    /// Its pod's memory request, bytes.
    pub pod_memory_request_bytes: f64,
    /// The node group.
    pub node_group: String,
    /// Its (first) instance type.
    pub instance_type: String,
    /// Price per node-hour.
    pub usd_per_node_hour: f64,
    /// Serving pods per node after DaemonSets.
    pub pods_per_node: u32,
    /// The node group's floor.
    pub min_nodes: u32,
}

/// Cost over the recorded span, dollars.
#[derive(Debug, Clone, Serialize)]
pub struct Cost {
    /// What the nodes the serving pods needed cost over the span (null without a node model).
    pub baseline_total: Option<f64>,
    /// The part of it in off-peak hours.
    pub baseline_off_peak: Option<f64>,
    /// The part in peak hours.
    pub baseline_peak: Option<f64>,
    /// `baseline_off_peak / baseline_total`.
    pub off_peak_share: Option<f64>,
    /// The same totals scaled to a 7-day week.
    pub baseline_per_week: Option<f64>,
    /// Node-hours over the span.
    pub node_hours: Option<f64>,
    /// Mean nodes in each hour of the week.
    pub hour_of_week_nodes: Vec<Option<f64>>,
    /// How pods became nodes and dollars.
    pub node_model: Option<NodeModel>,
    /// Why a figure is missing.
    pub notes: Vec<String>,
}

/// Ready capacity beyond what the SLO needed.
#[derive(Debug, Clone, Serialize)]
pub struct Waste {
    /// Pods the capacity model says each hour of the week needed (mean).
    pub hour_of_week_needed_pods: Vec<Option<f64>>,
    /// Ready pod-hours beyond the needed ones.
    pub pod_hours: Option<f64>,
    /// Of which off-peak.
    pub off_peak_pod_hours: Option<f64>,
    /// Node-hours beyond the needed ones.
    pub node_hours: Option<f64>,
    /// Of which off-peak.
    pub off_peak_node_hours: Option<f64>,
    /// Of which peak.
    pub peak_node_hours: Option<f64>,
    /// Dollars of the excess node-hours.
    pub usd: Option<f64>,
    /// Of which off-peak.
    pub off_peak_usd: Option<f64>,
    /// Of which peak.
    pub peak_usd: Option<f64>,
    /// Mean ready pods over mean needed pods, off-peak.
    pub off_peak_overprovision_ratio: Option<f64>,
    /// Mean ready pods over mean needed pods, peak.
    pub peak_overprovision_ratio: Option<f64>,
}

/// What today's HPA did over the span.
#[derive(Debug, Clone, Serialize)]
pub struct HpaBehaviour {
    /// The HPA.
    pub name: String,
    /// Its floor.
    pub min_replicas: u32,
    /// Its ceiling.
    pub max_replicas: u32,
    /// Share of minutes with ready pods at or below minReplicas.
    pub at_min_share: f64,
    /// Share of minutes at or above maxReplicas.
    pub at_max_share: f64,
    /// In words, e.g. "at minReplicas 12 for 41% of the week".
    pub summary: String,
}

/// The CPU cost of a request, from the replica counts a CPU HPA chose against the load.
#[derive(Debug, Clone, Serialize)]
pub struct CpuFit {
    /// The HPA's CPU target, fraction of the request.
    pub target_utilization: f64,
    /// The pod's CPU request, cores.
    pub cpu_request_cores: f64,
    /// Requests per second per pod at which the HPA holds its target (the median over steady
    /// minutes between minReplicas and maxReplicas).
    pub rps_per_pod_at_target: f64,
    /// Relative spread of that (half the interquartile range over the median).
    pub rps_per_pod_at_target_spread: f64,
    /// Steady minutes used.
    pub steady_minutes: usize,
    /// Replica changes used to separate idle CPU from CPU per request.
    pub scale_events: usize,
    /// CPU per request, core-seconds.
    pub cpu_per_request_core_s: f64,
    /// CPU a pod uses with no load, cores.
    pub idle_cpu_cores: f64,
    /// R² of the utilisation fit over steady minutes and scale events.
    pub r_squared: Option<f64>,
    /// True when the scale events were enough to separate idle CPU from CPU per request;
    /// otherwise idle CPU is taken as 0 and every core is charged to requests.
    pub separated: bool,
    /// How the figures were obtained.
    pub note: String,
}

/// The workload the telemetry describes: the HPA's (or ScaledObject's) target, else the first.
pub fn serving_workload(config: &ClusterConfig) -> Option<&Workload> {
    let target = config
        .hpas
        .first()
        .map(|h| h.scale_target.name.as_str())
        .or_else(|| {
            config
                .scaled_objects
                .first()
                .map(|s| s.scale_target.1.as_str())
        });
    target
        .and_then(|t| config.workloads.iter().find(|w| w.metadata.name == t))
        .or_else(|| config.workloads.first())
}

/// The node model, or why there is none.
pub fn node_model(config: &ClusterConfig, catalogue: &Catalogue) -> Result<NodeModel, String> {
    let w = serving_workload(config).ok_or(
        "no Deployment or StatefulSet in the configuration: pass it with --config to price pods",
    )?;
    let g = config.node_groups.first().ok_or(
        "no node group in the configuration (eksctl, Karpenter or GKE): pass it with --config to price nodes",
    )?;
    let it_name = g.instance_types.first().ok_or(format!(
        "node group {} names no instance type: cannot price its nodes",
        g.name
    ))?;
    let it = catalogue.get(it_name).ok_or(format!(
        "instance type {it_name} is not in the catalogue: add it with --prices"
    ))?;
    let (cpu, mem) = (w.pod_cpu_request_cores(), w.pod_memory_request_bytes());
    let per_node = serving_pods_per_node(config, g, it);
    if per_node == 0 {
        return Err(format!(
            "a {} pod ({cpu} cores, {:.0} MiB) does not fit on a {it_name} node",
            w.metadata.name,
            mem / 1048576.0
        ));
    }
    Ok(NodeModel {
        workload: w.metadata.name.clone(),
        pod_cpu_request_cores: cpu,
        pod_memory_request_bytes: mem,
        node_group: g.name.clone(),
        instance_type: it_name.clone(),
        usd_per_node_hour: it.usd_per_hour,
        pods_per_node: per_node,
        min_nodes: g.min_nodes,
    })
}

/// Serving pods a node of type `it` in group `g` holds: its allocatable after DaemonSets over
/// the serving pod's requests, capped by the group's max pods (0 without a serving workload).
pub fn serving_pods_per_node(config: &ClusterConfig, g: &NodeGroup, it: &InstanceType) -> u32 {
    let Some(w) = serving_workload(config) else {
        return 0;
    };
    let (cpu, mem) = (w.pod_cpu_request_cores(), w.pod_memory_request_bytes());
    let per_node = it.pods_per_node(cpu, mem, &config.daemon_overhead());
    g.max_pods_per_node
        .map_or(per_node, |cap| per_node.min(cap))
}

fn nodes_for(pods: f64, m: &NodeModel, floor: u32) -> f64 {
    (pods / f64::from(m.pods_per_node))
        .ceil()
        .max(f64::from(floor))
}

/// Cost and waste over the span.
pub fn cost_and_waste(
    s: &Series,
    off_peak: &[bool; 168],
    rps_per_pod_at_slo: Option<f64>,
    model: Result<NodeModel, String>,
) -> (Cost, Waste) {
    let n = s.len();
    let mut notes = Vec::new();
    let needed: Option<Vec<f64>> = rps_per_pod_at_slo
        .filter(|c| *c > 0.0)
        .map(|cap| s.rps.iter().map(|r| (r / cap).ceil().max(1.0)).collect());
    let model = match model {
        Ok(m) => Some(m),
        Err(e) => {
            notes.push(e);
            None
        }
    };
    let is_off = |i: usize| off_peak[usize::from(s.how[i])];
    let (mut total, mut off, mut node_hours) = (0.0, 0.0, 0.0);
    let mut nodes = vec![0.0; n];
    if let Some(m) = &model {
        for (i, node) in nodes.iter_mut().enumerate() {
            *node = nodes_for(f64::from(s.ready[i]), m, m.min_nodes);
            let usd = *node * m.usd_per_node_hour / 60.0;
            total += usd;
            node_hours += *node / 60.0;
            if is_off(i) {
                off += usd;
            }
        }
    }
    let days = n as f64 / 1440.0;
    let cost = Cost {
        baseline_total: model.as_ref().map(|_| total),
        baseline_off_peak: model.as_ref().map(|_| off),
        baseline_peak: model.as_ref().map(|_| total - off),
        off_peak_share: model
            .as_ref()
            .and_then(|_| (total > 0.0).then(|| off / total)),
        baseline_per_week: model
            .as_ref()
            .and_then(|_| (days > 0.0).then(|| total * 7.0 / days)),
        node_hours: model.as_ref().map(|_| node_hours),
        hour_of_week_nodes: if model.is_some() {
            hour_of_week_means(s, &nodes)
        } else {
            vec![None; 168]
        },
        node_model: model.clone(),
        notes,
    };

    let mut waste = Waste {
        hour_of_week_needed_pods: vec![None; 168],
        pod_hours: None,
        off_peak_pod_hours: None,
        node_hours: None,
        off_peak_node_hours: None,
        peak_node_hours: None,
        usd: None,
        off_peak_usd: None,
        peak_usd: None,
        off_peak_overprovision_ratio: None,
        peak_overprovision_ratio: None,
    };
    let Some(needed) = needed else {
        return (cost, waste);
    };
    waste.hour_of_week_needed_pods = hour_of_week_means(s, &needed);
    let (mut ph, mut ph_off) = (0.0, 0.0);
    let (mut ready_off, mut need_off, mut ready_peak, mut need_peak) = (0.0, 0.0, 0.0, 0.0);
    for (i, &need) in needed.iter().enumerate() {
        let ready = f64::from(s.ready[i]);
        let excess = (ready - need).max(0.0) / 60.0;
        ph += excess;
        if is_off(i) {
            ph_off += excess;
            ready_off += ready;
            need_off += need;
        } else {
            ready_peak += ready;
            need_peak += need;
        }
    }
    waste.pod_hours = Some(ph);
    waste.off_peak_pod_hours = Some(ph_off);
    waste.off_peak_overprovision_ratio = (need_off > 0.0).then(|| ready_off / need_off);
    waste.peak_overprovision_ratio = (need_peak > 0.0).then(|| ready_peak / need_peak);
    if let Some(m) = &model {
        let (mut nh, mut nh_off) = (0.0, 0.0);
        for i in 0..n {
            // Needed nodes carry no floor: the floor is a setting the proposal may change.
            let excess = (nodes[i] - nodes_for(needed[i], m, 1)).max(0.0) / 60.0;
            nh += excess;
            if is_off(i) {
                nh_off += excess;
            }
        }
        waste.node_hours = Some(nh);
        waste.off_peak_node_hours = Some(nh_off);
        waste.peak_node_hours = Some(nh - nh_off);
        waste.usd = Some(nh * m.usd_per_node_hour);
        waste.off_peak_usd = Some(nh_off * m.usd_per_node_hour);
        waste.peak_usd = Some((nh - nh_off) * m.usd_per_node_hour);
    }
    (cost, waste)
}

/// What the HPA did: shares of the span at its floor and ceiling.
pub fn hpa_behaviour(s: &Series, hpa: &Hpa) -> HpaBehaviour {
    let n = s.len().max(1) as f64;
    let at_min = s.ready.iter().filter(|&&r| r <= hpa.min_replicas).count() as f64 / n;
    let at_max = s.ready.iter().filter(|&&r| r >= hpa.max_replicas).count() as f64 / n;
    let days = s.len() as f64 / 1440.0;
    let span = if (days - 7.0).abs() < 0.5 {
        "the week".to_string()
    } else {
        format!("the {days:.1} days recorded")
    };
    let mut summary = format!(
        "at minReplicas {} for {:.0}% of {span}",
        hpa.min_replicas,
        at_min * 100.0
    );
    if at_max > 0.0 {
        summary.push_str(&format!(
            ", at maxReplicas {} for {:.0}%",
            hpa.max_replicas,
            at_max * 100.0
        ));
    }
    HpaBehaviour {
        name: hpa.metadata.name.clone(),
        min_replicas: hpa.min_replicas,
        max_replicas: hpa.max_replicas,
        at_min_share: at_min,
        at_max_share: at_max,
        summary,
    }
}

/// The HPA's CPU utilisation target as a fraction, when it scales on CPU.
pub fn cpu_target(hpa: &Hpa) -> Option<f64> {
    hpa.metrics
        .iter()
        .find_map(|m| match (&m.source, &m.target) {
            (MetricSource::Resource { name, .. }, Target::Utilization(p)) if name == "cpu" => {
                Some(f64::from(*p) / 100.0)
            }
            _ => None,
        })
}

/// Runs the HPA's equation backwards. In steady minutes (ready pods unchanged for ten minutes,
/// strictly between the bounds) utilisation sits at the target, which fixes the per-pod rate at
/// target; each replica change from `n` to `n'` says utilisation was about `target × n'/n` at
/// the rate just before it. A line through both kinds of point, `u = idle/R + (cpu/R)·x`,
/// separates idle CPU from CPU per request when the changes spread wide enough.
pub fn cpu_fit(s: &Series, hpa: &Hpa, cpu_request_cores: f64) -> Option<CpuFit> {
    let target = cpu_target(hpa)?;
    if cpu_request_cores <= 0.0 {
        return None;
    }
    let n = s.len();
    const STEADY: usize = 10;
    let inside = |r: u32| r > hpa.min_replicas && r < hpa.max_replicas;
    let mut steady_x = Vec::new();
    for i in STEADY..n.saturating_sub(1) {
        let r = s.ready[i];
        if inside(r) && s.ready[i - STEADY..=i].iter().all(|&x| x == r) {
            steady_x.push(s.rps[i] / f64::from(r));
        }
    }
    if steady_x.len() < 30 {
        return None;
    }
    let mut sorted = steady_x.clone();
    let median = super::series::quantile(&mut sorted, 0.5)?;
    let q1 = super::series::quantile(&mut sorted, 0.25)?;
    let q3 = super::series::quantile(&mut sorted, 0.75)?;
    // Replica changes after a plateau of at least three minutes. The rate is a 5-minute mean
    // (one minute's sampled count is too noisy), taken when the HPA decided: a minute before
    // new pods served for a scale-up, a stabilisation window earlier for a scale-down (it acts
    // on the highest recommendation of the window).
    let rate = super::traffic::smooth(&s.rps, 5);
    let down_lag = hpa
        .behavior
        .as_ref()
        .map_or(300, |b| b.scale_down.stabilization_window_s) as usize
        / 60;
    let mut points: Vec<(f64, f64)> = steady_x.iter().map(|&x| (x, target)).collect();
    let mut events = 0;
    for i in 3..n.saturating_sub(1) {
        let (before, after) = (s.ready[i - 1], s.ready[i]);
        if before == after || before == 0 || !s.ready[i - 3..i].iter().all(|&x| x == before) {
            continue;
        }
        let at = if after > before {
            i - 1
        } else {
            i.saturating_sub(down_lag + 1)
        };
        let x = rate[at] / f64::from(before);
        let u = target * (f64::from(after) - 0.5).max(0.5) / f64::from(before);
        // Steady points outnumber events; weight each event as the steady minutes per event.
        let weight = (steady_x.len() / 20).max(1);
        for _ in 0..weight {
            points.push((x, u));
        }
        events += 1;
    }
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let m = points.len() as f64;
    let (mx, my) = (sx / m, sy / m);
    let sxx: f64 = points.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let syy: f64 = points.iter().map(|(_, y)| (y - my) * (y - my)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let intercept = my - slope * mx;
    let r2 = (sxx > 0.0 && syy > 0.0).then(|| (sxy * sxy) / (sxx * syy));
    let separated = events >= 6 && slope > 0.0 && intercept >= 0.0 && r2.is_some_and(|r| r > 0.3);
    let (cpu_per_request, idle, note) = if separated {
        (
            slope * cpu_request_cores,
            intercept * cpu_request_cores,
            format!(
                "fitted utilisation = idle + CPU per request x rate over {} steady minutes and {events} replica changes",
                steady_x.len()
            ),
        )
    } else {
        (
            target * cpu_request_cores / median,
            0.0,
            format!(
                "{events} replica changes were not enough to separate idle CPU from CPU per request: every core at target is charged to requests (an upper bound on CPU per request)"
            ),
        )
    };
    Some(CpuFit {
        target_utilization: target,
        cpu_request_cores,
        rps_per_pod_at_target: median,
        rps_per_pod_at_target_spread: if median > 0.0 {
            (q3 - q1) / 2.0 / median
        } else {
            0.0
        },
        steady_minutes: steady_x.len(),
        scale_events: events,
        cpu_per_request_core_s: cpu_per_request,
        idle_cpu_cores: idle,
        r_squared: r2,
        separated,
        note,
    })
}
