//! `recommendation.json` and `recommendation.md`: the search's result with the predictions of
//! the written files replayed.

use std::fmt::Write as _;

use serde::Serialize;

use super::{
    Check, CpuSizing, Evaluated, Judged, NodeChange, Objective, ProposedFile, Recommendation, Spec,
};
use crate::sim::SimResult;

/// Before and after, from today's replay and the written files' replay.
#[derive(Debug, Clone, Serialize)]
pub struct Predicted {
    /// Off-peak savings, percent.
    pub off_peak_savings_pct: f64,
    /// Total savings, percent.
    pub total_savings_pct: f64,
    /// Off-peak node cost over the span, today.
    pub cost_off_peak_before: f64,
    /// The same, proposed.
    pub cost_off_peak_after: f64,
    /// Node cost over the span, today.
    pub cost_total_before: f64,
    /// The same, proposed.
    pub cost_total_after: f64,
    /// 5-minute windows above the SLO, today.
    pub slo_violation_windows_before: usize,
    /// The same, proposed.
    pub slo_violation_windows_after: usize,
    /// The highest 5-minute p99, today.
    pub worst_p99_ms_before: f64,
    /// The same, proposed.
    pub worst_p99_ms_after: f64,
    /// Mean ready pods, today.
    pub mean_ready_pods_before: f64,
    /// The same, proposed.
    pub mean_ready_pods_after: f64,
}

/// `recommendation.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Document<'a> {
    /// Schema of this document.
    pub schema_version: u32,
    /// The chosen strategy (`null` when none qualified).
    pub strategy: Option<&'static str>,
    /// The chosen candidate's label.
    pub label: Option<&'a str>,
    /// Its settings.
    pub spec: Option<&'a Spec>,
    /// The node group's change, if any.
    pub node_change: Option<&'a NodeChange>,
    /// What was minimised and the savings asked for.
    pub objective: Objective,
    /// Savings asked for (0.3: 30%).
    pub min_savings: f64,
    /// The written files replayed against today's replay.
    pub predicted: Option<Predicted>,
    /// The chosen candidate's stress replays.
    pub robustness: Option<&'a [Check]>,
    /// The pods' CPU request against their use under the proposal (a VPA in `updateMode:
    /// "Off"` is written when mis-sized).
    pub cpu_sizing: Option<&'a CpuSizing>,
    /// Files written to `proposed/`.
    pub files: Vec<&'a str>,
    /// The best candidate of each strategy.
    pub by_strategy: &'a [Evaluated],
    /// Every candidate, cheapest first.
    pub candidates: &'a [Evaluated],
    /// What the search could not try.
    pub notes: &'a [String],
}

/// The predictions of a replay of the written files against today's replay.
pub fn predicted(today: &Judged, after: &SimResult) -> Predicted {
    let pct = |before: f64, after: f64| {
        if before > 0.0 {
            100.0 * (1.0 - after / before)
        } else {
            0.0
        }
    };
    let a = &after.summary;
    Predicted {
        off_peak_savings_pct: pct(today.cost_off_peak, a.cost_off_peak),
        total_savings_pct: pct(today.cost_total, a.cost_total),
        cost_off_peak_before: today.cost_off_peak,
        cost_off_peak_after: a.cost_off_peak,
        cost_total_before: today.cost_total,
        cost_total_after: a.cost_total,
        slo_violation_windows_before: today.violation_windows,
        slo_violation_windows_after: a.slo_violation_windows_5m,
        worst_p99_ms_before: today.worst_p99_ms,
        worst_p99_ms_after: a.worst_p99_ms,
        mean_ready_pods_before: today.mean_ready_pods,
        mean_ready_pods_after: a.mean_ready_pods,
    }
}

/// The JSON document.
pub fn document<'a>(
    rec: &'a Recommendation,
    predicted: Option<Predicted>,
    cpu_sizing: Option<&'a CpuSizing>,
    files: &'a [ProposedFile],
) -> Document<'a> {
    let c = rec.chosen.as_ref();
    Document {
        schema_version: rec.schema_version,
        strategy: c.map(|c| c.candidate.spec.strategy()),
        label: c.map(|c| c.label.as_str()),
        spec: c.map(|c| &c.candidate.spec),
        node_change: c.and_then(|c| c.candidate.node.as_ref()),
        objective: rec.objective,
        min_savings: rec.min_savings,
        predicted,
        robustness: c.map(|c| c.checks.as_slice()),
        cpu_sizing,
        files: files.iter().map(|f| f.name.as_str()).collect(),
        by_strategy: &rec.by_strategy,
        candidates: &rec.candidates,
        notes: &rec.notes,
    }
}

fn strategy_name(s: &str) -> &'static str {
    match s {
        "hpa_tuning" => "HPA tuning",
        "request_rate" => "KEDA on the request rate",
        "hybrid" => "KEDA cron floors + request rate",
        _ => "other",
    }
}

fn row(e: &Evaluated, o: Objective) -> String {
    format!(
        "| {} | {} | ${:.2} | ${:.2} | {:.0}% | {:.0}% | {} ({} new) | {:.0} | {} | {} |",
        strategy_name(e.candidate.spec.strategy()),
        e.label,
        e.judged.cost_off_peak,
        e.judged.cost_total,
        100.0 * e.off_peak_savings,
        100.0 * e.total_savings,
        e.judged.violation_windows,
        e.judged.new_violation_windows,
        e.judged.worst_p99_ms,
        e.judged.minutes_short,
        if e.breaks.is_empty() {
            match (e.checks.is_empty(), e.savings(o) > 0.0) {
                (false, true) => "holds, stress replays included".to_string(),
                (false, false) => "holds, saves nothing".into(),
                (true, _) => "holds over the week; not stress-replayed (a cheaper one was)".into(),
            }
        } else {
            e.breaks.join("; ")
        }
    )
}

const TABLE_HEAD: &str = "| strategy | candidate | off-peak cost | total cost | off-peak savings | total savings | SLO windows | worst p99 ms | minutes short | verdict |\n|---|---|---|---|---|---|---|---|---|---|\n";

/// What a chosen spec's fields do, in words.
fn fields(spec: &Spec, node: Option<&NodeChange>) -> Vec<String> {
    let mut out = match spec {
        Spec::HpaTuning {
            min_replicas,
            max_replicas,
            cpu_target,
            explicit_behavior,
        } => {
            let mut v = vec![
                format!("`minReplicas: {min_replicas}`: the fewest pods at night; the HA floor."),
                format!(
                    "`maxReplicas: {max_replicas}`: the most pods, within what the node group can hold."
                ),
                format!(
                    "`averageUtilization: {cpu_target}`: the HPA adds pods when mean CPU over requests exceeds {cpu_target}% (beyond its 10% tolerance)."
                ),
            ];
            if *explicit_behavior {
                v.push("`behavior.scaleUp`: up to double the pods or add 8 every 15 s, no stabilisation; `behavior.scaleDown`: at most 20% fewer a minute, after 5 minutes below.".into());
            }
            v
        }
        Spec::PodsMetric {
            min_replicas,
            max_replicas,
            per_pod_rps,
        } => vec![
            format!("`minReplicas: {min_replicas}`: the fewest pods; the HA floor."),
            format!("`maxReplicas: {max_replicas}`: the most pods, within what the node group can hold."),
            format!("`Pods` metric `{}` with `averageValue: {per_pod_rps}`: the HPA keeps about {per_pod_rps} req/s per pod; prometheus-adapter serves the metric from `http_requests_total` with the rule in `prometheus-adapter-rule.yaml` (install it first, and check that `kubectl get --raw` lists the metric).", super::PODS_METRIC),
            "`behavior.scaleUp`: up to double the pods or add 8 every 15 s, no stabilisation; `behavior.scaleDown`: at most 20% fewer a minute, after 5 minutes below.".into(),
        ],
        Spec::RequestRate {
            min_replicas,
            max_replicas,
            per_pod_rps,
        }
        | Spec::Hybrid {
            min_replicas,
            max_replicas,
            per_pod_rps,
            ..
        } => {
            let mut v = vec![
                format!("`minReplicaCount: {min_replicas}`: the fewest pods; the HA floor."),
                format!("`maxReplicaCount: {max_replicas}`: the most pods, within what the node group can hold."),
                format!("prometheus trigger, `threshold: {per_pod_rps}` with `metricType: AverageValue`: KEDA's HPA keeps about {per_pod_rps} req/s per pod (the query returns the workload's total rate; check `serverAddress` and `query` against your Prometheus)."),
                "`advanced.horizontalPodAutoscalerConfig.behavior`: scale up by 100% or 8 pods every 15 s; scale down by at most 20% a minute after 5 minutes below.".into(),
                "Delete today's HorizontalPodAutoscaler for this workload when applying: KEDA creates its own, and two HPAs fight.".into(),
            ];
            if let Spec::Hybrid {
                floor_per_pod_rps,
                lead_min,
                predictive,
                ..
            } = spec
            {
                v.push(format!("cron triggers: floors sized for the busiest minute of each hour and the next{} at {floor_per_pod_rps} req/s per pod, opening {lead_min} minutes early so that pods are ready before the ramp; rebuild them weekly with `rightsize recommend` on the latest week (a CronJob running it on the last seven days of telemetry, reviewed before applying).", if *predictive { ", as forecast for the coming week by Holt-Winters on the recorded hourly peaks (daily season, damped trend) and never below the recorded week," } else { " in the recorded week" }));
            }
            v
        }
    };
    match node {
        Some(NodeChange::MinNodes { min_nodes: n }) => out.push(format!("node group `minSize: {n}`: the cluster autoscaler may remove idle nodes down to {n} at night (today's minimum holds them).")),
        Some(NodeChange::InstanceType { instance_type, pods_per_node, min_nodes, max_nodes }) => out.push(format!("node group `instanceTypes: [{instance_type}]`, `minSize: {min_nodes}`, `maxSize: {max_nodes}`: {pods_per_node} serving pods a node, cheaper per pod than today's type; the bounds keep today's pod capacity. eksctl replaces a managed group's nodes when its type changes: create the new group beside the old one, move the pods, then delete the old group.")),
        Some(NodeChange::Consolidation { policy, after_s }) => out.push(format!("Karpenter `disruption.consolidationPolicy: {policy}`, `consolidateAfter: {after_s}s`: nodes emptied or underused when the pods scale in are removed a minute later, within the NodePool's disruption budget.")),
        None => {}
    }
    out
}

/// `recommendation.md`.
pub fn markdown(
    rec: &Recommendation,
    predicted: Option<&Predicted>,
    sizing: Option<&CpuSizing>,
    files: &[ProposedFile],
) -> String {
    let o = rec.objective;
    let objective = match o {
        Objective::OffPeak => "off-peak",
        Objective::Total => "total",
    };
    let mut md = String::new();
    let _ = writeln!(md, "# Recommendation\n");
    match (&rec.chosen, predicted) {
        (Some(c), Some(p)) => {
            let _ = writeln!(
                md,
                "**{}** ({}). Replaying the written files over the recorded week: off-peak cost ${:.2} → ${:.2} (**{:.0}% less**), total ${:.2} → ${:.2} ({:.0}% less); 5-minute windows above the SLO {} → {}; worst p99 {:.0} → {:.0} ms; mean ready pods {:.1} → {:.1}.\n",
                c.label,
                strategy_name(c.candidate.spec.strategy()),
                p.cost_off_peak_before,
                p.cost_off_peak_after,
                p.off_peak_savings_pct,
                p.cost_total_before,
                p.cost_total_after,
                p.total_savings_pct,
                p.slo_violation_windows_before,
                p.slo_violation_windows_after,
                p.worst_p99_ms_before,
                p.worst_p99_ms_after,
                p.mean_ready_pods_before,
                p.mean_ready_pods_after,
            );
            let _ = writeln!(md, "## Why it won\n");
            let _ = writeln!(
                md,
                "It is the cheapest of {} candidates by {objective} cost that breaks no constraint (no more 5-minute windows above the SLO than today, none where today met it; at least {} replicas; at most what the node group holds) and holds in every stress replay, and it saves at least the {:.0}% asked for:\n",
                rec.candidates.len(),
                c.candidate.spec.min_replicas(),
                100.0 * rec.min_savings
            );
            for ch in &c.checks {
                let _ = writeln!(
                    md,
                    "- {}: {}{}",
                    ch.what,
                    if ch.passed { "held" } else { "failed" },
                    ch.judged.as_ref().map_or(String::new(), |j| format!(
                        " ({} windows above the SLO against today's {} under the same traffic)",
                        j.violation_windows, j.today_violation_windows
                    ))
                );
            }
            let _ = writeln!(md, "\n## What the files change\n");
            for f in files {
                let _ = writeln!(md, "- `proposed/{}`", f.name);
            }
            let _ = writeln!(md);
            for line in fields(&c.candidate.spec, c.candidate.node.as_ref()) {
                let _ = writeln!(md, "- {line}");
            }
            if let Some(z) = sizing {
                let _ = writeln!(
                    md,
                    "\n**CPU requests.** A pod requests {:.2} cores and, under this proposal, uses {:.2} at the 90th percentile of the week's minutes; the VPA recommender would aim at {:.2} (p90 + 15%). {}",
                    z.request_cores,
                    z.p90_usage_cores,
                    z.recommended_cores,
                    if z.mis_sized {
                        "That is more than 30% away: `proposed/vpa.yaml` adds a VerticalPodAutoscaler with `updateMode: \"Off\"`, which only recommends (read it with `kubectl describe vpa`); resize the requests in a later change, then re-run rightsize, since pods per node and CPU targets move with them."
                    } else {
                        "Within 30%: the requests are sized about right."
                    }
                );
            }
        }
        _ => {
            let _ = writeln!(
                md,
                "**No configuration qualifies.** None of the {} candidates both keeps the SLO as today does (in the recorded week and in every stress replay) and saves {:.0}% of {objective} cost. The closest:\n",
                rec.candidates.len(),
                100.0 * rec.min_savings
            );
            let _ = write!(md, "{TABLE_HEAD}");
            for e in rec.candidates.iter().take(8) {
                let _ = writeln!(md, "{}", row(e, o));
            }
        }
    }
    let _ = writeln!(md, "\n## Strategies, best candidate of each\n");
    let _ = writeln!(
        md,
        "Today's configuration replayed: off-peak ${:.2}, total ${:.2}, {} windows above the SLO, worst p99 {:.0} ms, {} minutes short of capacity.\n",
        rec.today.cost_off_peak,
        rec.today.cost_total,
        rec.today.violation_windows,
        rec.today.worst_p99_ms,
        rec.today.minutes_short
    );
    let _ = write!(md, "{TABLE_HEAD}");
    for e in &rec.by_strategy {
        let _ = writeln!(md, "{}", row(e, o));
    }
    let _ = writeln!(
        md,
        "\n\"Minutes short\": minutes whose ready pods were fewer than the demand needs at the capacity at the SLO (a measure of scale-up lag)."
    );
    if !rec.notes.is_empty() {
        let _ = writeln!(md, "\n## Notes\n");
        for n in &rec.notes {
            let _ = writeln!(md, "- {n}");
        }
    }
    md
}
