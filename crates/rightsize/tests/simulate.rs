//! End-to-end tests of `rightsize simulate`: today's HPA and a KEDA proposal replayed over a
//! generated week, the documented JSON keys, the baseline's fidelity figures, determinism and
//! clear errors.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use common::{fixture, generate_week, rightsize};
use serde_json::Value;

/// One generated week shared by the tests (0.05% of a 2,000 req/s peak).
fn week() -> PathBuf {
    static WEEK: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    WEEK.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("week.csv.gz");
        generate_week(&path, 3);
        (dir, path)
    })
    .1
    .clone()
}

fn simulate(extra: &[&str]) -> std::process::Output {
    rightsize()
        .args(["simulate", "--telemetry"])
        .arg(week())
        .args(["--sample-rate", "0.0005", "--slo-p99-ms", "100", "--config"])
        .arg(fixture("config"))
        .args(extra)
        .output()
        .expect("runs")
}

fn json(extra: &[&str]) -> Value {
    let out = simulate(extra);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn number(v: &Value, path: &str) -> f64 {
    let at = path.split('.').fold(v, |v, k| &v[k]);
    at.as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number: {at}"))
}

#[test]
fn replays_todays_hpa_with_the_documented_keys() {
    let v = json(&["--json"]);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["configuration"], "today: HorizontalPodAutoscaler reco");
    let total = number(&v, "summary.cost_total");
    let off = number(&v, "summary.cost_off_peak");
    assert!(total > 0.0 && off > 0.0 && off < total, "{total} {off}");
    assert!(number(&v, "summary.worst_p99_ms") > 0.0);
    assert!(number(&v, "summary.slo_violation_windows_5m") >= 0.0);
    let hours = v["series"]["hourly_ready_pods"].as_array().expect("hours");
    assert_eq!(hours.len(), 168);
    // The fixture's HPA keeps 12 to 40 pods.
    assert!(
        hours
            .iter()
            .all(|h| h.as_f64().is_some_and(|p| (11.0..=40.0).contains(&p)))
    );
    assert_eq!(
        v["series"]["hourly_nodes"].as_array().map(Vec::len),
        Some(168)
    );
    assert_eq!(
        v["series"]["p99_5m_ms"].as_array().map(Vec::len),
        Some(2016)
    );
    assert!(v.get("fidelity").is_none());
}

#[test]
fn a_policy_replays_against_the_baseline_with_fidelity() {
    let policy = fixture("policy/keda.yaml");
    let policy = policy.to_str().expect("utf-8 path");
    let v = json(&["--json", "--baseline", "--policy", policy]);
    assert_eq!(v["configuration"], "proposed: ScaledObject reco");
    for key in [
        "fidelity.ready_pods_mape",
        "fidelity.p99_mape",
        "baseline.summary.cost_total",
    ] {
        assert!(number(&v, key) >= 0.0, "{key}");
    }
    assert!(number(&v, "fidelity.hours") >= 160.0);
    // The proposal scales on load, down to 3 pods at night; today's HPA holds at least 12.
    let proposed = number(&v, "summary.pod_hours");
    let today = number(&v, "baseline.summary.pod_hours");
    assert!(proposed < today, "{proposed} vs {today}");
    // Same inputs, same bytes.
    let again = simulate(&["--json", "--baseline", "--policy", policy]);
    assert_eq!(
        serde_json::from_slice::<Value>(&again.stdout).expect("JSON"),
        v
    );
    // The text form names both and the fidelity.
    let out = simulate(&["--baseline", "--policy", policy]);
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "proposed: ScaledObject reco",
        "today: HorizontalPodAutoscaler reco",
        "fidelity ",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn bad_flags_and_policies_are_clear_errors() {
    let empty = fixture("config/daemonsets.yaml");
    let empty = empty.to_str().expect("utf-8 path");
    for (args, expected) in [
        (
            vec!["--startup-s=-5"],
            "--startup-s must be a non-negative number",
        ),
        (
            vec!["--policy", empty],
            "holds no HorizontalPodAutoscaler or ScaledObject",
        ),
        (vec!["--policy", "/nonexistent/policy.yaml"], "policy"),
    ] {
        let out = simulate(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}
