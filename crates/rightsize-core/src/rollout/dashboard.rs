//! The rollout dashboard: a Grafana dashboard (JSON model, schemaVersion 39) with one
//! time-series panel per signal a rollback trigger watches, its threshold drawn as a red step,
//! and the replicas and nodes that show the savings.

use serde_json::{Value, json};

use super::alerts::{AlertInputs, ProvisionerKind};

/// A panel: title, unit, PromQL targets with legends, and an optional red threshold.
struct Panel {
    title: String,
    unit: &'static str,
    targets: Vec<(String, String)>,
    threshold: Option<f64>,
}

/// The dashboard's JSON.
pub fn dashboard(i: &AlertInputs) -> Value {
    let sel = &i.selector;
    let ns = &i.namespace;
    let ksm_hpa = format!("namespace=\"{ns}\",horizontalpodautoscaler=\"{}\"", i.hpa);
    let mut panels = vec![
        Panel {
            title: format!("p99 latency (SLO {} ms)", i.slo_p99_ms),
            unit: "s",
            targets: vec![(
                format!(
                    "histogram_quantile(0.99, sum by (le) (rate({}_bucket{{{sel}}}[1m])))",
                    i.latency_histogram
                ),
                "p99".into(),
            )],
            threshold: Some(i.slo_p99_ms / 1000.0),
        },
        Panel {
            title: "5xx share of requests".into(),
            unit: "percentunit",
            targets: vec![(
                format!(
                    "sum(rate({c}{{{sel},{code}=~\"5..\"}}[5m])) / sum(rate({c}{{{sel}}}[5m]))",
                    c = i.requests_counter,
                    code = i.code_label
                ),
                "5xx share".into(),
            )],
            threshold: Some(i.error_threshold()),
        },
        Panel {
            title: "Request rate".into(),
            unit: "reqps",
            targets: vec![(
                format!("sum(rate({}{{{sel}}}[1m]))", i.requests_counter),
                "req/s".into(),
            )],
            threshold: None,
        },
        Panel {
            title: "Replicas: current, desired, max".into(),
            unit: "short",
            targets: vec![
                (
                    format!("kube_horizontalpodautoscaler_status_current_replicas{{{ksm_hpa}}}"),
                    "current".into(),
                ),
                (
                    format!("kube_horizontalpodautoscaler_status_desired_replicas{{{ksm_hpa}}}"),
                    "desired".into(),
                ),
                (
                    format!("kube_horizontalpodautoscaler_spec_max_replicas{{{ksm_hpa}}}"),
                    "max".into(),
                ),
            ],
            threshold: None,
        },
        Panel {
            title: "Pending pods".into(),
            unit: "short",
            targets: vec![(
                format!(
                    "sum(kube_pod_status_phase{{namespace=\"{ns}\",pod=~\"{}-.*\",phase=\"Pending\"}})",
                    i.workload
                ),
                "Pending".into(),
            )],
            threshold: Some(0.5),
        },
        Panel {
            title: "Scaler metric unavailable (ScalingActive false)".into(),
            unit: "short",
            targets: vec![(
                format!(
                    "max(kube_horizontalpodautoscaler_status_condition{{{ksm_hpa},condition=\"ScalingActive\",status=\"false\"}})"
                ),
                "unavailable".into(),
            )],
            threshold: Some(0.5),
        },
    ];
    panels.push(match i.provisioner {
        ProvisionerKind::ClusterAutoscaler => Panel {
            title: "Nodes and failed scale-ups".into(),
            unit: "short",
            targets: vec![
                (
                    "cluster_autoscaler_nodes_count".into(),
                    "nodes ({{state}})".into(),
                ),
                (
                    "sum(increase(cluster_autoscaler_failed_scale_ups_total[15m]))".into(),
                    "failed scale-ups (15m)".into(),
                ),
            ],
            threshold: None,
        },
        ProvisionerKind::Karpenter => Panel {
            title: "NodeClaims created and nodes joined (15m)".into(),
            unit: "short",
            targets: vec![
                (
                    "sum(increase(karpenter_nodeclaims_created_total[15m]))".into(),
                    "NodeClaims".into(),
                ),
                (
                    "sum(increase(karpenter_nodes_created_total[15m]))".into(),
                    "nodes".into(),
                ),
            ],
            threshold: None,
        },
    });
    let panels: Vec<Value> = panels
        .into_iter()
        .enumerate()
        .map(|(k, p)| {
            let mut steps = vec![json!({"color": "green", "value": null})];
            if let Some(t) = p.threshold {
                steps.push(json!({"color": "red", "value": t}));
            }
            json!({
                "id": k + 1,
                "type": "timeseries",
                "title": p.title,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 12, "x": (k % 2) * 12, "y": (k / 2) * 8},
                "fieldConfig": {
                    "defaults": {
                        "unit": p.unit,
                        "thresholds": {"mode": "absolute", "steps": steps},
                        "custom": {"thresholdsStyle": {"mode": if p.threshold.is_some() { "line" } else { "off" }}}
                    },
                    "overrides": []
                },
                "targets": p.targets.iter().enumerate().map(|(n, (expr, legend))| json!({
                    "refId": char::from(b'A' + n as u8).to_string(),
                    "expr": expr,
                    "legendFormat": legend,
                    "datasource": {"type": "prometheus", "uid": "${datasource}"}
                })).collect::<Vec<_>>()
            })
        })
        .collect();
    json!({
        "title": format!("rightsize rollout: {}/{}", i.namespace, i.workload),
        "uid": format!("rightsize-{}-{}", i.namespace, i.workload).chars().take(40).collect::<String>(),
        "tags": ["rightsize", "rollout"],
        "schemaVersion": 39,
        "version": 1,
        "editable": true,
        "time": {"from": "now-24h", "to": "now"},
        "refresh": "1m",
        "templating": {"list": [{
            "name": "datasource",
            "type": "datasource",
            "query": "prometheus",
            "label": "Prometheus"
        }]},
        "panels": panels
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trigger_signal_has_a_panel_with_its_threshold() {
        let i = AlertInputs::example();
        let d = dashboard(&i);
        let panels = d["panels"].as_array().expect("panels");
        assert_eq!(panels.len(), 7);
        let exprs: Vec<&str> = panels
            .iter()
            .flat_map(|p| p["targets"].as_array().expect("targets"))
            .filter_map(|t| t["expr"].as_str())
            .collect();
        // Every trigger's signal is charted.
        for t in super::super::alerts::triggers(&i) {
            let signal = t.expr.split(" > ").next().expect("expr");
            let signal = signal.split(" >= ").next().expect("expr");
            let signal = signal.split(" == ").next().expect("expr");
            assert!(
                exprs
                    .iter()
                    .any(|e| e.contains(signal) || signal.contains(e)),
                "{}: {signal} not charted in {exprs:?}",
                t.name
            );
        }
        let steps = &panels[0]["fieldConfig"]["defaults"]["thresholds"]["steps"];
        assert_eq!(steps[1]["value"], 0.1);
        // Ids are unique and the grid does not overlap.
        let mut ids: Vec<u64> = panels
            .iter()
            .map(|p| p["id"].as_u64().expect("id"))
            .collect();
        ids.dedup();
        assert_eq!(ids.len(), 7);
    }
}
