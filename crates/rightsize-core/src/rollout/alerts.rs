//! The rollback triggers as Prometheus alerting rules: a PrometheusRule for the Prometheus
//! Operator, the same groups as a plain rule file (what `promtool check rules` and a Prometheus
//! without the operator read), and `promtool test rules` unit tests whose synthetic series make
//! each trigger fire when it should and stay quiet when it should not.
//!
//! The metric names are the conventional ones (the service's latency histogram and request
//! counter, kube-state-metrics for pods and HPAs, the cluster autoscaler's or Karpenter's own)
//! and can be renamed in [`AlertInputs`].

use std::fmt::Write;

/// What the triggers watch and their thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertInputs {
    /// The serving workload's namespace.
    pub namespace: String,
    /// The Deployment (its pods are named `<workload>-…`).
    pub workload: String,
    /// The HPA that scales it after the rollout (for KEDA: `keda-hpa-<ScaledObject>`).
    pub hpa: String,
    /// The p99 objective, ms.
    pub slo_p99_ms: f64,
    /// The error rate the telemetry showed (5xx, timeouts and shed over requests).
    pub baseline_error_rate: f64,
    /// Added to the baseline: the error-rate trigger's threshold is their sum.
    pub error_margin: f64,
    /// How long pods may stay Pending (start-up plus node provisioning, with room), seconds.
    pub pending_bound_s: f64,
    /// The service's latency histogram, without `_bucket` (seconds).
    pub latency_histogram: String,
    /// The service's request counter, labelled by status code.
    pub requests_counter: String,
    /// The status code label of the counter.
    pub code_label: String,
    /// Label matchers that select the service's series, e.g. `namespace="serving",service="reco"`.
    pub selector: String,
    /// Which node provisioner's failures to watch.
    pub provisioner: ProvisionerKind,
}

/// The node provisioner whose failures a trigger watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionerKind {
    /// The cluster autoscaler: `cluster_autoscaler_failed_scale_ups_total`.
    ClusterAutoscaler,
    /// Karpenter: NodeClaims that never launched (`karpenter_nodeclaims_created_total` rising
    /// while `karpenter_nodes_created_total` does not).
    Karpenter,
}

impl AlertInputs {
    /// A typical service's inputs (namespace `serving`, Deployment and HPA `reco`, SLO 100 ms,
    /// baseline error rate 0.15% plus 0.5 points, the conventional metric names, the cluster
    /// autoscaler): for examples and tests.
    pub fn example() -> AlertInputs {
        AlertInputs {
            namespace: "serving".into(),
            workload: "reco".into(),
            hpa: "reco".into(),
            slo_p99_ms: 100.0,
            baseline_error_rate: 0.0015,
            error_margin: 0.005,
            pending_bound_s: 150.0,
            latency_histogram: "http_request_duration_seconds".into(),
            requests_counter: "http_requests_total".into(),
            code_label: "code".into(),
            selector: "namespace=\"serving\",service=\"reco\"".into(),
            provisioner: ProvisionerKind::ClusterAutoscaler,
        }
    }

    /// The error-rate trigger's threshold.
    pub fn error_threshold(&self) -> f64 {
        self.baseline_error_rate + self.error_margin
    }

    /// The Pending trigger's `for`, whole minutes (at least 1).
    pub fn pending_minutes(&self) -> u64 {
        ((self.pending_bound_s / 60.0).ceil() as u64).max(1)
    }
}

/// One alerting rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// `alert:`.
    pub name: &'static str,
    /// PromQL.
    pub expr: String,
    /// `for:` in minutes.
    pub for_minutes: u64,
    /// `severity` label.
    pub severity: &'static str,
    /// `summary` annotation.
    pub summary: String,
    /// `action` annotation: what whoever is paged does.
    pub action: String,
}

/// Group name of the rules.
pub const GROUP: &str = "rightsize-rollback";

/// What every trigger tells the on-call engineer to do.
pub const ROLLBACK_ACTION: &str =
    "roll back: re-apply the saved configuration (rollout-plan.md, Rollback)";

/// The rollback triggers, in the plan's order.
pub fn triggers(i: &AlertInputs) -> Vec<Trigger> {
    let slo_s = i.slo_p99_ms / 1000.0;
    let sel = &i.selector;
    let ns = &i.namespace;
    let hpa = &i.hpa;
    let ksm_hpa = format!("namespace=\"{ns}\",horizontalpodautoscaler=\"{hpa}\"");
    vec![
        Trigger {
            name: "RightsizeP99AboveSLO",
            expr: format!(
                "histogram_quantile(0.99, sum by (le) (rate({}_bucket{{{sel}}}[1m]))) > {}",
                i.latency_histogram,
                num(slo_s)
            ),
            for_minutes: 5,
            severity: "critical",
            summary: format!(
                "p99 latency of {} above the {} ms SLO for 5 minutes",
                i.workload,
                num(i.slo_p99_ms)
            ),
            action: ROLLBACK_ACTION.into(),
        },
        Trigger {
            name: "RightsizeErrorRateAboveBaseline",
            expr: format!(
                "sum(rate({c}{{{sel},{code}=~\"5..\"}}[5m])) / sum(rate({c}{{{sel}}}[5m])) > {t}",
                c = i.requests_counter,
                code = i.code_label,
                t = num(i.error_threshold())
            ),
            for_minutes: 5,
            severity: "critical",
            summary: format!(
                "5xx rate of {} above {:.2}% (baseline {:.2}% plus {:.2} points) for 5 minutes",
                i.workload,
                i.error_threshold() * 100.0,
                i.baseline_error_rate * 100.0,
                i.error_margin * 100.0
            ),
            action: ROLLBACK_ACTION.into(),
        },
        Trigger {
            name: "RightsizePodsPending",
            expr: format!(
                "sum(kube_pod_status_phase{{namespace=\"{ns}\",pod=~\"{}-.*\",phase=\"Pending\"}}) > 0",
                i.workload
            ),
            for_minutes: i.pending_minutes(),
            severity: "critical",
            summary: format!(
                "pods of {} Pending for more than {} minutes (longer than start-up and node provisioning take)",
                i.workload,
                i.pending_minutes()
            ),
            action: ROLLBACK_ACTION.into(),
        },
        Trigger {
            name: "RightsizeReplicasAtMax",
            expr: format!(
                "max(kube_horizontalpodautoscaler_status_current_replicas{{{ksm_hpa}}}) >= max(kube_horizontalpodautoscaler_spec_max_replicas{{{ksm_hpa}}})"
            ),
            for_minutes: 10,
            severity: "warning",
            summary: format!("{hpa} held at maxReplicas for 10 minutes: no headroom left"),
            action: "raise maxReplicas or roll back; check the load against the plan's peak"
                .into(),
        },
        Trigger {
            name: "RightsizeScalerMetricUnavailable",
            expr: format!(
                "max(kube_horizontalpodautoscaler_status_condition{{{ksm_hpa},condition=\"ScalingActive\",status=\"false\"}}) == 1"
            ),
            for_minutes: 5,
            severity: "critical",
            summary: format!(
                "{hpa} cannot read its metric (ScalingActive false) for 5 minutes: it no longer scales"
            ),
            action: ROLLBACK_ACTION.into(),
        },
        match i.provisioner {
            ProvisionerKind::ClusterAutoscaler => Trigger {
                name: "RightsizeNodeProvisioningFailed",
                expr: "sum(increase(cluster_autoscaler_failed_scale_ups_total[15m])) > 0".into(),
                for_minutes: 0,
                severity: "critical",
                summary: "the cluster autoscaler failed to add nodes in the last 15 minutes".into(),
                action: ROLLBACK_ACTION.into(),
            },
            ProvisionerKind::Karpenter => Trigger {
                name: "RightsizeNodeProvisioningFailed",
                expr: "sum(increase(karpenter_nodeclaims_created_total[15m])) > 0 and sum(increase(karpenter_nodes_created_total[15m])) == 0".into(),
                for_minutes: 5,
                severity: "critical",
                summary: "Karpenter created NodeClaims for 15 minutes and no node joined".into(),
                action: ROLLBACK_ACTION.into(),
            },
        },
    ]
}

/// A number as PromQL and YAML write it: no trailing zeros, no exponent for ordinary values.
fn num(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.into()
    }
}

/// YAML single-quoted scalar.
fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The rule groups, indented by `indent` spaces (0 for a rule file, 2 under `spec:`).
fn groups(triggers: &[Trigger], indent: usize) -> String {
    let p = " ".repeat(indent);
    let mut out = format!("{p}groups:\n{p}- name: {GROUP}\n{p}  rules:\n");
    for t in triggers {
        let _ = writeln!(out, "{p}  - alert: {}", t.name);
        let _ = writeln!(out, "{p}    expr: {}", sq(&t.expr));
        if t.for_minutes > 0 {
            let _ = writeln!(out, "{p}    for: {}m", t.for_minutes);
        }
        let _ = writeln!(out, "{p}    labels:");
        let _ = writeln!(out, "{p}      severity: {}", t.severity);
        let _ = writeln!(out, "{p}      source: rightsize");
        let _ = writeln!(out, "{p}    annotations:");
        let _ = writeln!(out, "{p}      summary: {}", sq(&t.summary));
        let _ = writeln!(out, "{p}      action: {}", sq(&t.action));
    }
    out
}

/// The plain rule file (`groups:`), for `promtool` and Prometheus without the operator.
pub fn rule_file(i: &AlertInputs) -> String {
    format!(
        "# Rollback triggers written by rightsize; the same rules as rollback-rules.yaml.\n{}",
        groups(&triggers(i), 0)
    )
}

/// The PrometheusRule (monitoring.coreos.com/v1) for the Prometheus Operator.
pub fn prometheus_rule(i: &AlertInputs) -> String {
    format!(
        "# Rollback triggers written by rightsize: apply before the rollout starts.\napiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: {}-rightsize-rollback\n  namespace: {}\n  labels:\n    app.kubernetes.io/managed-by: rightsize\nspec:\n{}",
        i.workload,
        i.namespace,
        groups(&triggers(i), 2)
    )
}

/// One synthetic scenario: input series and, at an evaluation time, the alerts expected.
struct Case {
    name: String,
    series: Vec<(String, String)>,
    checks: Vec<(u64, &'static str, bool)>,
}

/// `promtool test rules` unit tests for [`rule_file`] (named `rule_file_name` beside them):
/// for every trigger a scenario in which it fires after its `for` and one in which it stays
/// quiet (healthy values, or a breach shorter than its `for`).
pub fn unit_tests(i: &AlertInputs, rule_file_name: &str) -> String {
    let ts = triggers(i);
    let by_name = |n: &str| ts.iter().find(|t| t.name == n);
    let sel = &i.selector;
    let slo_s = i.slo_p99_ms / 1000.0;
    let ns = &i.namespace;
    let hpa = &i.hpa;
    let ksm_hpa = format!("namespace=\"{ns}\",horizontalpodautoscaler=\"{hpa}\"");
    let mut cases = Vec::new();

    // Latency: buckets at half the SLO, the SLO, twice it, and +Inf; 1,000 requests a minute.
    // Fast: all under half the SLO. Slow: 5% between the SLO and twice it (p99 above the SLO).
    let bucket = |le: &str, per_min: u64, minutes: u64| {
        (
            format!("{}_bucket{{{sel},le=\"{le}\"}}", i.latency_histogram),
            format!("0+{per_min}x{minutes}"),
        )
    };
    let (half, slo, twice) = (num(slo_s / 2.0), num(slo_s), num(slo_s * 2.0));
    cases.push(Case {
        name: "p99 above the SLO".into(),
        series: vec![
            bucket(&half, 950, 20),
            bucket(&slo, 950, 20),
            bucket(&twice, 1000, 20),
            bucket("+Inf", 1000, 20),
        ],
        checks: vec![
            (3, "RightsizeP99AboveSLO", false),
            (8, "RightsizeP99AboveSLO", true),
        ],
    });
    cases.push(Case {
        name: "p99 within the SLO".into(),
        series: vec![
            bucket(&half, 1000, 20),
            bucket(&slo, 1000, 20),
            bucket(&twice, 1000, 20),
            bucket("+Inf", 1000, 20),
        ],
        checks: vec![(15, "RightsizeP99AboveSLO", false)],
    });

    // Errors: 10,000 requests a minute; the 5xx share at half and at twice the threshold.
    let thr = i.error_threshold();
    let errors = |share: f64| {
        let bad = ((10_000.0 * share).round() as u64).max(1);
        vec![
            (
                format!("{}{{{sel},{}=\"200\"}}", i.requests_counter, i.code_label),
                format!("0+{}x30", 10_000 - bad),
            ),
            (
                format!("{}{{{sel},{}=\"503\"}}", i.requests_counter, i.code_label),
                format!("0+{bad}x30"),
            ),
        ]
    };
    cases.push(Case {
        name: "errors above baseline plus margin".into(),
        series: errors((thr * 2.0).min(0.9)),
        checks: vec![(14, "RightsizeErrorRateAboveBaseline", true)],
    });
    cases.push(Case {
        name: "errors at the baseline".into(),
        series: errors(thr / 2.0),
        checks: vec![(14, "RightsizeErrorRateAboveBaseline", false)],
    });

    // Pending: one pod Pending for longer than the bound; another for less.
    let pm = i.pending_minutes();
    let pending = |minutes: u64| {
        let total = pm + 10;
        let ones = format!("1x{minutes}");
        let zeros = format!("0x{}", total.saturating_sub(minutes + 1));
        vec![(
            format!(
                "kube_pod_status_phase{{namespace=\"{ns}\",pod=\"{}-7d9f-abcde\",phase=\"Pending\"}}",
                i.workload
            ),
            format!("{ones} {zeros}"),
        )]
    };
    cases.push(Case {
        name: "pods Pending beyond the bound".into(),
        series: pending(pm + 5),
        checks: vec![(pm + 2, "RightsizePodsPending", true)],
    });
    cases.push(Case {
        name: "pods Pending briefly".into(),
        series: pending(pm.saturating_sub(1).max(1)),
        checks: vec![(pm + 5, "RightsizePodsPending", false)],
    });

    // Replicas at max: held for 15 minutes, then held for 5.
    let at_max = |minutes: u64| {
        vec![
            (
                format!("kube_horizontalpodautoscaler_spec_max_replicas{{{ksm_hpa}}}"),
                "20x30".to_string(),
            ),
            (
                format!("kube_horizontalpodautoscaler_status_current_replicas{{{ksm_hpa}}}"),
                format!("20x{minutes} 12x{}", 30 - minutes),
            ),
        ]
    };
    cases.push(Case {
        name: "replicas at max for 15 minutes".into(),
        series: at_max(15),
        checks: vec![(13, "RightsizeReplicasAtMax", true)],
    });
    cases.push(Case {
        name: "replicas at max for 5 minutes".into(),
        series: at_max(5),
        checks: vec![(12, "RightsizeReplicasAtMax", false)],
    });

    // The scaler's metric: ScalingActive false for 10 minutes, then for 2.
    let scaling = |minutes: u64| {
        vec![(
            format!(
                "kube_horizontalpodautoscaler_status_condition{{{ksm_hpa},condition=\"ScalingActive\",status=\"false\"}}"
            ),
            format!("0x2 1x{minutes} 0x10"),
        )]
    };
    cases.push(Case {
        name: "the scaler's metric unavailable".into(),
        series: scaling(10),
        checks: vec![(9, "RightsizeScalerMetricUnavailable", true)],
    });
    cases.push(Case {
        name: "the scaler's metric missing briefly".into(),
        series: scaling(2),
        checks: vec![(6, "RightsizeScalerMetricUnavailable", false)],
    });

    // Node provisioning.
    match i.provisioner {
        ProvisionerKind::ClusterAutoscaler => {
            cases.push(Case {
                name: "a failed scale-up".into(),
                series: vec![(
                    "cluster_autoscaler_failed_scale_ups_total{reason=\"cloudProviderError\"}"
                        .into(),
                    "0x5 1x20".into(),
                )],
                checks: vec![
                    (3, "RightsizeNodeProvisioningFailed", false),
                    (8, "RightsizeNodeProvisioningFailed", true),
                ],
            });
        }
        ProvisionerKind::Karpenter => {
            cases.push(Case {
                name: "NodeClaims that never become nodes".into(),
                series: vec![
                    (
                        "karpenter_nodeclaims_created_total{nodepool=\"default\",reason=\"provisioning\"}".into(),
                        "0+1x30".into(),
                    ),
                    (
                        "karpenter_nodes_created_total{nodepool=\"default\"}".into(),
                        "0x30".into(),
                    ),
                ],
                checks: vec![(12, "RightsizeNodeProvisioningFailed", true)],
            });
            cases.push(Case {
                name: "NodeClaims that become nodes".into(),
                series: vec![
                    (
                        "karpenter_nodeclaims_created_total{nodepool=\"default\",reason=\"provisioning\"}".into(),
                        "0+1x30".into(),
                    ),
                    (
                        "karpenter_nodes_created_total{nodepool=\"default\"}".into(),
                        "0+1x30".into(),
                    ),
                ],
                checks: vec![(12, "RightsizeNodeProvisioningFailed", false)],
            });
        }
    }

    let mut out = format!(
        "# promtool test rules {rule_file_name}'s unit tests, written by rightsize with the rules:\n# every trigger fires on the scenario that should fire it and stays quiet on the other.\nrule_files:\n- {rule_file_name}\nevaluation_interval: 1m\ntests:\n"
    );
    for c in &cases {
        let _ = writeln!(out, "- name: {}", sq(&c.name));
        let _ = writeln!(out, "  interval: 1m");
        let _ = writeln!(out, "  input_series:");
        for (s, v) in &c.series {
            let _ = writeln!(out, "  - series: {}", sq(s));
            let _ = writeln!(out, "    values: {}", sq(v));
        }
        let _ = writeln!(out, "  alert_rule_test:");
        for (at, name, fires) in &c.checks {
            let _ = writeln!(out, "  - eval_time: {at}m");
            let _ = writeln!(out, "    alertname: {name}");
            match (fires, by_name(name)) {
                (true, Some(t)) => {
                    let _ = writeln!(out, "    exp_alerts:");
                    let _ = writeln!(out, "    - exp_labels:");
                    let _ = writeln!(out, "        severity: {}", t.severity);
                    let _ = writeln!(out, "        source: rightsize");
                    let _ = writeln!(out, "      exp_annotations:");
                    let _ = writeln!(out, "        summary: {}", sq(&t.summary));
                    let _ = writeln!(out, "        action: {}", sq(&t.action));
                }
                _ => {
                    let _ = writeln!(out, "    exp_alerts: []");
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> AlertInputs {
        AlertInputs::example()
    }

    #[test]
    fn every_trigger_the_plan_names_is_a_rule_with_numbers_from_the_inputs() {
        let i = inputs();
        let names: Vec<&str> = triggers(&i).iter().map(|t| t.name).collect();
        assert_eq!(
            names,
            [
                "RightsizeP99AboveSLO",
                "RightsizeErrorRateAboveBaseline",
                "RightsizePodsPending",
                "RightsizeReplicasAtMax",
                "RightsizeScalerMetricUnavailable",
                "RightsizeNodeProvisioningFailed"
            ]
        );
        let file = rule_file(&i);
        assert!(file.contains("> 0.1'"), "{file}");
        assert!(file.contains("> 0.0065'"), "{file}");
        assert!(file.contains("for: 3m"), "{file}");
        let cr = prometheus_rule(&i);
        assert!(cr.contains("kind: PrometheusRule\n"));
        // The CR's spec holds the same groups, two spaces in.
        let spec = cr.split("spec:\n").nth(1).expect("spec");
        let dedented: String = spec
            .lines()
            .map(|l| l.strip_prefix("  ").unwrap_or(l))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(file.ends_with(&dedented), "{file}\n---\n{dedented}");
    }

    #[test]
    fn numbers_are_written_plainly() {
        assert_eq!(num(0.1), "0.1");
        assert_eq!(num(0.25), "0.25");
        assert_eq!(num(2.0), "2");
        assert_eq!(num(0.0065), "0.0065");
        assert_eq!(num(0.0), "0");
        assert_eq!(sq("it's"), "'it''s'");
    }
}
