//! End-to-end tests of `rightsize config show` on fixture manifests.

mod common;

use std::path::PathBuf;

use common::{rightsize, run_ok};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    common::fixture("config").join(name)
}

#[test]
fn shows_the_normalised_model_in_words() {
    let out = run_ok(rightsize().args(["config", "show"]).arg(fixture("")));
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "HorizontalPodAutoscaler reco (autoscaling/v2) scales Deployment reco",
        "  replicas: 12 to 40",
        "  metric: cpu of the pods, target 60% of requests, averaged over pods",
        "  scale-down: stabilization 600 s, at most the largest of 100% per 15 s (default), tolerance 0.1 (default)",
        "Deployment reco: 12 replica(s), max surge 2, termination grace 45 s",
        "  container model: requests 1.5 cores / 4096 MiB, limits - / 6144 MiB, ready at the earliest 20 s after start (probe every 5 s)",
        "ScaledObject reco scales Deployment reco",
        "node group serving (eksctl managedNodeGroup): m5.2xlarge, 6 to 30 nodes (12 at creation), on-demand",
        "  node m5.2xlarge: 7.91 allocatable cores, 31.0 GiB, 58 pods, 5 reco pods of 1.5 cores each, $0.384/h",
        "  replicas: 3 to 40 (the HPA KEDA creates gets at least 1)",
        "  KEDA polls every 30 s (default), scales to zero or idle after 300 s inactive (default)",
        "  trigger cron: at least 20 replicas from \"30 17 * * *\" to \"0 23 * * *\" (Europe/Berlin)",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(
        text.contains("skipped ") && text.contains("Service reco (v1)"),
        "{text}"
    );
}

#[test]
fn json_output_carries_defaults() {
    let out = rightsize()
        .args(["config", "show", "--json"])
        .arg(fixture("hpa.yaml"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["schema_version"], 1);
    let hpa = &v["hpas"][0];
    assert_eq!(hpa["min_replicas"], 12);
    assert_eq!(hpa["behavior"]["scale_up"]["stabilization_window_s"], 0);
    assert_eq!(hpa["behavior"]["scale_down"]["stabilization_window_s"], 600);
    assert_eq!(hpa["behavior"]["scale_up"]["policies"][0]["kind"], "Pods");
    assert_eq!(hpa["metrics"][0]["target"]["type"], "utilization");
}

#[test]
fn bad_manifests_fail_with_file_line_column_and_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(fixture("hpa.yaml")).expect("fixture");
    for (name, broken, expected) in [
        (
            "percent.yaml",
            text.replace("averageUtilization: 60", "averageUtilization: \"60%\""),
            "percent.yaml:20:29: spec.metrics[0].resource.target.averageUtilization: expected an integer, found \"60%\"",
        ),
        (
            "bounds.yaml",
            text.replace("minReplicas: 12", "minReplicas: 50"),
            "bounds.yaml:12:16: spec.minReplicas: minReplicas 50 is above maxReplicas 40",
        ),
        (
            "syntax.yaml",
            text.replace("name: cpu", "name: [cpu"),
            "syntax.yaml:18:",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, broken).expect("write");
        let out = rightsize()
            .args(["config", "show"])
            .arg(&path)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        let shown = err.trim().trim_start_matches("error: ");
        let rel = shown.replace(&format!("{}/", dir.path().display()), "");
        assert!(rel.starts_with(expected), "{name}: {err}");
    }
}

#[test]
fn prices_and_config_flags_apply() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prices = dir.path().join("spot.csv");
    std::fs::write(
        &prices,
        "cloud,name,vcpu,memory_gib,gpus,usd_per_hour,max_pods\naws,m5.2xlarge,8,32,0,0.148,58\n",
    )
    .expect("write");
    let out = run_ok(
        rightsize()
            .args(["config", "show", "--config"])
            .arg(fixture("eksctl.yaml"))
            .arg("--config")
            .arg(fixture("deployment.yml"))
            .arg("--config")
            .arg(fixture("daemonsets.yaml"))
            .arg("--prices")
            .arg(&prices),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "DaemonSets on every node: 2 pod(s) requesting 0.2 cores and 300 MiB (fluent-bit, node-exporter)",
        "  node m5.2xlarge: 7.91 allocatable cores, 31.0 GiB, 58 pods, 5 reco pods of 1.5 cores each, $0.148/h",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }

    std::fs::write(&prices, "aws,m5.2xlarge,8,32,0,cheap,58\n").expect("write");
    let out = rightsize()
        .args(["config", "show"])
        .arg(fixture("eksctl.yaml"))
        .arg("--prices")
        .arg(&prices)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("spot.csv:1: usd_per_hour: expected a non-negative number, found \"cheap\""),
        "{err}"
    );
}
