//! The rollout plan: scope and expected savings, pre-flight checks, phases dated from day 0
//! that start off-peak with an observation window and exit criteria, the rollback triggers with
//! their numbers, who acts and the commands that restore the saved configuration, and how the
//! savings are tracked afterwards. Written as a [`Document`] (Markdown and HTML).

use super::alerts::{AlertInputs, Trigger, triggers};
use crate::report::doc::{Block, Document};

/// What the plan is about.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanInputs {
    /// The triggers' inputs (names, SLO, thresholds).
    pub alerts: AlertInputs,
    /// The proposal in words.
    pub proposal: String,
    /// What the proposal scales with: `hpa` (a plain HPA on CPU or a Pods metric), `keda`.
    pub scaler_kind: ScalerKind,
    /// The files of `proposed/`.
    pub files: Vec<String>,
    /// Off-peak cost over the recorded span, before and after, dollars.
    pub off_peak_cost: (f64, f64),
    /// Total cost over the recorded span, before and after, dollars.
    pub total_cost: (f64, f64),
    /// Days the span covers (costs per week are scaled from it).
    pub span_days: f64,
    /// 5-minute windows above the SLO, before and after (the simulator's replay).
    pub slo_windows: (usize, usize),
    /// The peak replay's verdict, when one ran.
    pub load_test: Option<String>,
    /// When the first off-peak window of a day starts, in words ("22:00 UTC").
    pub off_peak_start: String,
    /// The node group's name and, for eksctl, the cluster's; its minimum today.
    pub node_group: Option<NodeGroupRef>,
}

/// The node group a rollback may have to restore.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeGroupRef {
    /// Its name.
    pub name: String,
    /// The eksctl cluster, when it is an eksctl node group.
    pub eksctl_cluster: Option<String>,
    /// Karpenter NodePool rather than a node group.
    pub karpenter: bool,
    /// Today's minimum nodes.
    pub min_nodes: u32,
}

/// What scales the workload after the rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalerKind {
    /// A HorizontalPodAutoscaler.
    Hpa,
    /// A KEDA ScaledObject (and the HPA it creates).
    Keda,
}

fn pct(before: f64, after: f64) -> f64 {
    if before > 0.0 {
        100.0 * (before - after) / before
    } else {
        0.0
    }
}

fn dollars(v: f64) -> String {
    format!("${v:.2}")
}

/// The trigger table's row for `t`.
fn trigger_row(t: &Trigger) -> Vec<String> {
    vec![
        t.name.to_string(),
        t.summary.clone(),
        if t.for_minutes > 0 {
            format!("{} min", t.for_minutes)
        } else {
            "at once".into()
        },
        t.severity.to_string(),
        t.action.clone(),
    ]
}

/// The plan.
pub fn plan(p: &PlanInputs) -> Document {
    let a = &p.alerts;
    let (ns, w) = (&a.namespace, &a.workload);
    let week = 7.0 / p.span_days.max(1.0 / 24.0);
    let mut d = Document::new(format!("Rollout plan: autoscaling of {ns}/{w}"));

    d.push(Block::Heading(2, "Scope and expected savings".into()));
    d.push(Block::List(vec![
        format!("Change: {}. Files: {}.", p.proposal, p.files.join(", ")),
        format!(
            "Off-peak node cost {} -> {} a week ({:.0}% less); total {} -> {} ({:.0}% less), from replaying the recorded week.",
            dollars(p.off_peak_cost.0 * week),
            dollars(p.off_peak_cost.1 * week),
            pct(p.off_peak_cost.0, p.off_peak_cost.1),
            dollars(p.total_cost.0 * week),
            dollars(p.total_cost.1 * week),
            pct(p.total_cost.0, p.total_cost.1)
        ),
        format!(
            "SLO: p99 <= {} ms. 5-minute windows above it in the replayed week: {} today, {} with the change.{}",
            a.slo_p99_ms,
            p.slo_windows.0,
            p.slo_windows.1,
            p.load_test
                .as_ref()
                .map_or(String::new(), |v| format!(" Peak load test: {v}"))
        ),
    ]));

    d.push(Block::Heading(2, "Pre-flight checks (day 0)".into()));
    let mut pre = vec![
        format!(
            "Metrics pipeline: Prometheus scrapes `{}` and `{}` for `{{{}}}`, and kube-state-metrics exports HPA and pod status: `kubectl get --raw /apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods` answers.",
            a.latency_histogram, a.requests_counter, a.selector
        ),
        match p.scaler_kind {
            ScalerKind::Keda => "KEDA installed and healthy: `kubectl get crd scaledobjects.keda.sh` and `kubectl -n keda get pods`.".to_string(),
            ScalerKind::Hpa => "The HPA's metric is served: `kubectl get apiservice v1beta1.metrics.k8s.io` (and `v1beta1.custom.metrics.k8s.io` for a Pods metric through prometheus-adapter).".to_string(),
        },
        "Alerts and dashboard deployed: `kubectl apply -f alerts/rollback-rules.yaml`; import `dashboards/rollout.json` into Grafana; `promtool test rules alerts/rules.test.yml` passes.".to_string(),
        format!(
            "Current configuration saved: `mkdir -p saved && kubectl -n {ns} get deployment/{w} hpa scaledobject -o yaml > saved/current.yaml`{}.",
            match &p.node_group {
                Some(g) if g.karpenter => format!(" and `kubectl get nodepool {} -o yaml > saved/nodepool.yaml`", g.name),
                Some(NodeGroupRef { name, eksctl_cluster: Some(c), .. }) => format!(" and `eksctl get nodegroup --cluster {c} --name {name} -o yaml > saved/nodegroup.yaml`"),
                _ => String::new(),
            }
        ),
    ];
    pre.push("Owner named: the service's on-call engineer acts on every trigger; the change's author watches each phase's observation window.".into());
    d.push(Block::Numbered(pre));

    d.push(Block::Heading(2, "Phases".into()));
    let apply = match p.scaler_kind {
        ScalerKind::Keda => "`kubectl apply -f proposed/`",
        ScalerKind::Hpa => "`kubectl apply -f proposed/`",
    };
    d.push(Block::Table(
        vec![
            "phase".into(),
            "days".into(),
            "starts".into(),
            "what".into(),
            "observation window".into(),
            "exit criteria".into(),
        ],
        vec![
            vec![
                "1. Shadow".into(),
                "1-3".into(),
                "any time".into(),
                "nothing applied: each morning `rightsize simulate --policy proposed/` on the previous day's telemetry computes the proposal's replicas and p99 beside what today's configuration did".into(),
                "3 days, peaks included".into(),
                "the replays show no 5-minute window above the SLO where today met it, and off-peak pods fall as predicted".into(),
            ],
            vec![
                "2. Canary".into(),
                "4-7".into(),
                format!("off-peak, {}", p.off_peak_start),
                format!("{apply} to one cluster or region (or a canary Deployment taking a share of the traffic)"),
                "24 h: a night and the next peak".into(),
                "no trigger fired; p99 per 5 minutes within the SLO; off-peak node-hours down against the same hours a week before".into(),
            ],
            vec![
                "3. All".into(),
                "8-14".into(),
                format!("off-peak, {}", p.off_peak_start),
                format!("{apply} everywhere"),
                "7 days".into(),
                format!(
                    "no trigger fired; off-peak cost down at least {:.0}% on the week",
                    (pct(p.off_peak_cost.0, p.off_peak_cost.1) * 0.8).floor()
                ),
            ],
        ],
    ));

    d.push(Block::Heading(2, "Rollback triggers".into()));
    d.push(Block::Paragraph(format!(
        "Any critical trigger during a phase rolls the change back at once, off-peak or not; alerts/rollback-rules.yaml holds them as Prometheus rules, each unit-tested by promtool. Thresholds: SLO {} ms; error rate {:.2}% (baseline {:.2}% plus {:.2} points); Pending for {} min (start-up plus node provisioning, half as long again: {:.0} s).",
        a.slo_p99_ms,
        a.error_threshold() * 100.0,
        a.baseline_error_rate * 100.0,
        a.error_margin * 100.0,
        a.pending_minutes(),
        a.pending_bound_s
    )));
    d.push(Block::Table(
        vec![
            "trigger".into(),
            "fires when".into(),
            "for".into(),
            "severity".into(),
            "action".into(),
        ],
        triggers(a).iter().map(trigger_row).collect(),
    ));

    d.push(Block::Heading(2, "Rollback".into()));
    let mut steps = vec![
        "Who: the on-call engineer paged by the trigger; no approval needed. Target: within 5 minutes of the page.".to_string(),
    ];
    if p.scaler_kind == ScalerKind::Keda {
        steps.push(format!(
            "Remove the new scaler: `kubectl -n {ns} delete scaledobject {w}` (KEDA deletes the HPA it created)."
        ));
    }
    steps.push(
        "Restore the saved scaler and Deployment: `kubectl apply -f saved/current.yaml`.".into(),
    );
    match &p.node_group {
        Some(g) if g.karpenter => steps.push(format!(
            "Restore the NodePool: `kubectl apply -f saved/nodepool.yaml` (today's NodePool {}).",
            g.name
        )),
        Some(NodeGroupRef {
            name,
            eksctl_cluster: Some(c),
            min_nodes,
            ..
        }) => steps.push(format!(
            "Restore the node floor: `eksctl scale nodegroup --cluster {c} --name {name} --nodes-min {min_nodes}`."
        )),
        _ => {}
    }
    steps.push(format!(
        "Check: `kubectl -n {ns} get hpa` shows today's bounds; p99 back under the SLO within 10 minutes; note the trigger and the time for the review."
    ));
    d.push(Block::Numbered(steps));

    d.push(Block::Heading(2, "Tracking the savings".into()));
    d.push(Block::List(vec![
        "Weekly: `rightsize analyze` on the latest week; compare `cost.baseline_off_peak` and the SLO windows with this plan's figures.".into(),
        "The dashboard's node and replica panels show the night-time floor; re-run `rightsize recommend` monthly, or when traffic grows by more than 20%.".into(),
    ]));
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> PlanInputs {
        PlanInputs {
            alerts: AlertInputs {
                hpa: "keda-hpa-reco".into(),
                ..AlertInputs::example()
            },
            proposal: "KEDA cron floors with a request-rate trigger".into(),
            scaler_kind: ScalerKind::Keda,
            files: vec!["keda-scaledobject.yaml".into(), "nodegroup.yaml".into()],
            off_peak_cost: (175.10, 51.95),
            total_cost: (387.07, 207.05),
            span_days: 7.0,
            slo_windows: (0, 0),
            load_test: Some("proposal held the SLO in every minute.".into()),
            off_peak_start: "22:00 UTC".into(),
            node_group: Some(NodeGroupRef {
                name: "serving".into(),
                eksctl_cluster: Some("demo".into()),
                karpenter: false,
                min_nodes: 6,
            }),
        }
    }

    #[test]
    fn the_plan_holds_savings_phases_every_trigger_and_the_rollback_commands() {
        let md = plan(&inputs()).markdown("rollout-plan.html");
        for needle in [
            "$175.10 -> $51.95 a week (70% less)",
            "Pre-flight checks (day 0)",
            "1. Shadow",
            "off-peak, 22:00 UTC",
            "RightsizeP99AboveSLO",
            "RightsizeErrorRateAboveBaseline",
            "RightsizePodsPending",
            "RightsizeReplicasAtMax",
            "RightsizeScalerMetricUnavailable",
            "RightsizeNodeProvisioningFailed",
            "kubectl -n serving delete scaledobject reco",
            "kubectl apply -f saved/current.yaml",
            "eksctl scale nodegroup --cluster demo --name serving --nodes-min 6",
            "error rate 0.65% (baseline 0.15% plus 0.50 points)",
        ] {
            assert!(md.contains(needle), "{needle:?} missing:\n{md}");
        }
    }
}
