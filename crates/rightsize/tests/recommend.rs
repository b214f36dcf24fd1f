//! End-to-end tests of `rightsize recommend`: the written proposal, read back by
//! `rightsize simulate --policy`, reproduces the predictions in recommendation.json; an
//! unreachable savings target exits with 1 and says what the closest candidates break.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{fixture, generate_week, rightsize, run_ok};
use serde_json::Value;

fn week() -> PathBuf {
    static WEEK: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    WEEK.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("week.csv.gz");
        generate_week(&path, 11);
        (dir, path)
    })
    .1
    .clone()
}

/// What a run reads: the telemetry, its sample rate and the configuration.
struct Case {
    telemetry: PathBuf,
    sample_rate: &'static str,
    config: PathBuf,
}

impl Case {
    /// The shared generated week with the fixtures' configuration.
    fn week() -> Case {
        Case::week_with(fixture("config"))
    }

    fn week_with(config: PathBuf) -> Case {
        Case {
            telemetry: week(),
            sample_rate: "0.0005",
            config,
        }
    }

    /// `rightsize <command> --telemetry … --sample-rate … --slo-p99-ms 100 --config …`.
    fn command(&self, command: &str) -> assert_cmd::Command {
        let mut cmd = rightsize();
        cmd.args([command, "--telemetry"])
            .arg(&self.telemetry)
            .args([
                "--sample-rate",
                self.sample_rate,
                "--slo-p99-ms",
                "100",
                "--config",
            ])
            .arg(&self.config);
        cmd
    }

    fn recommend(&self, out: &Path, extra: &[&str]) -> std::process::Output {
        self.command("recommend")
            .arg("--out")
            .arg(out)
            .args(extra)
            .output()
            .expect("runs")
    }

    /// Runs `recommend` into `dir`, expects success, and returns recommendation.json.
    fn recommended(&self, dir: &Path, extra: &[&str]) -> Value {
        let out = self.recommend(dir, extra);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(
            &std::fs::read(dir.join("recommendation.json")).expect("recommendation.json"),
        )
        .expect("JSON")
    }

    /// What a user gets from replaying the files is the predictions, to the cent and window.
    fn replays_to_predictions(&self, proposed: &Path, doc: &Value) {
        let sim = run_ok(
            self.command("simulate")
                .arg("--policy")
                .arg(proposed)
                .arg("--json"),
        );
        let v: Value = serde_json::from_slice(&sim.stdout).expect("JSON");
        for (sim_key, predicted) in [
            ("summary.cost_off_peak", "predicted.cost_off_peak_after"),
            ("summary.cost_total", "predicted.cost_total_after"),
            (
                "summary.slo_violation_windows_5m",
                "predicted.slo_violation_windows_after",
            ),
            ("summary.worst_p99_ms", "predicted.worst_p99_ms_after"),
        ] {
            let (a, b) = (number(&v, sim_key), number(doc, predicted));
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                "{sim_key} {a} vs {predicted} {b}"
            );
        }
    }
}

/// `proposed/` holds exactly the files listed, a VPA exactly when the requests are mis-sized,
/// and replays to the predictions.
fn proposal_is_consistent(case: &Case, dir: &Path, doc: &Value) {
    let proposed = dir.join("proposed");
    let mut written: Vec<String> = std::fs::read_dir(&proposed)
        .expect("proposed/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut listed: Vec<String> = doc["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f.as_str().expect("name").to_string())
        .collect();
    listed.sort();
    assert_eq!(written, listed);
    assert!(!written.is_empty());
    // The CPU requests against the proposal's use; a recommendation-only VPA when mis-sized.
    let sizing = &doc["cpu_sizing"];
    let ratio = number(sizing, "ratio");
    let mis_sized = !(1.0 / 1.3..=1.3).contains(&ratio);
    assert_eq!(sizing["mis_sized"], mis_sized, "{sizing}");
    assert_eq!(written.contains(&"vpa.yaml".to_string()), mis_sized);
    if mis_sized {
        let vpa = std::fs::read_to_string(proposed.join("vpa.yaml")).expect("vpa.yaml");
        assert!(vpa.contains("updateMode: \"Off\""), "{vpa}");
    }
    case.replays_to_predictions(&proposed, doc);
}

fn number(v: &Value, path: &str) -> f64 {
    let at = path.split('.').fold(v, |v, k| &v[k]);
    at.as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number: {at}"))
}

#[test]
fn the_written_proposal_replays_to_its_predictions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = Case::week().recommended(dir.path(), &[]);
    assert_eq!(doc["schema_version"], 1);
    let strategy = doc["strategy"].as_str().expect("a strategy");
    assert!(
        ["hpa_tuning", "request_rate", "hybrid"].contains(&strategy),
        "{strategy}"
    );
    let saved = number(&doc, "predicted.off_peak_savings_pct");
    assert!(saved >= 30.0, "{saved}");
    assert!(
        number(&doc, "predicted.slo_violation_windows_after")
            <= number(&doc, "predicted.slo_violation_windows_before")
    );
    for check in doc["robustness"].as_array().expect("robustness") {
        assert_eq!(check["passed"], true, "{check}");
    }
    // Only the files the winner changes, each listed, replaying to the predictions.
    proposal_is_consistent(&Case::week(), dir.path(), &doc);
    let md = std::fs::read_to_string(dir.path().join("recommendation.md")).expect("md");
    assert!(md.contains("## Why it won"), "{md}");
    assert!(md.contains("| strategy |"), "{md}");
}

#[test]
fn without_keda_only_plain_hpas_are_proposed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = Case::week().recommended(dir.path(), &["--without-keda"]);
    // No KEDA candidate was tried; the request rate went through an HPA Pods metric.
    let candidates = doc["candidates"].as_array().expect("candidates");
    assert!(candidates.iter().all(|c| {
        let s = &c["candidate"]["spec"]["strategy"];
        s != "request_rate" && s != "hybrid"
    }));
    assert!(
        candidates
            .iter()
            .any(|c| c["candidate"]["spec"]["strategy"] == "pods_metric")
    );
    let proposed = dir.path().join("proposed");
    assert!(!proposed.join("keda-scaledobject.yaml").exists());
    let hpa = std::fs::read_to_string(proposed.join("hpa.yaml")).expect("hpa.yaml");
    let adapter = proposed.join("prometheus-adapter-rule.yaml");
    if doc["spec"]["strategy"] == "pods_metric" {
        assert!(hpa.contains("name: http_requests_per_second"), "{hpa}");
        let rule = std::fs::read_to_string(&adapter).expect("the adapter's rule");
        assert!(rule.contains("as: http_requests_per_second"), "{rule}");
    } else {
        assert_eq!(doc["spec"]["strategy"], "hpa_tuning");
        assert!(!adapter.exists());
    }
    Case::week().replays_to_predictions(&proposed, &doc);
}

#[test]
fn an_unreachable_target_exits_1_with_the_closest_candidates() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A stale file from an earlier run must not survive into a run that proposes nothing.
    std::fs::create_dir_all(dir.path().join("proposed")).expect("mkdir");
    std::fs::write(dir.path().join("proposed/hpa.yaml"), "stale").expect("write");
    let out = Case::week().recommend(dir.path(), &["--min-savings", "0.99"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no configuration keeps the SLO"), "{err}");
    assert!(err.contains("closest"), "{err}");
    let doc: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("recommendation.json")).expect("recommendation.json"),
    )
    .expect("JSON");
    assert!(doc["strategy"].is_null());
    assert!(doc["predicted"].is_null());
    assert!(!doc["candidates"].as_array().expect("candidates").is_empty());
    assert!(!dir.path().join("proposed/hpa.yaml").exists());
    let md = std::fs::read_to_string(dir.path().join("recommendation.md")).expect("md");
    assert!(md.contains("No configuration qualifies"), "{md}");
}

#[test]
fn bad_flags_are_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Case::week().recommend(dir.path(), &["--min-savings", "1.5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--min-savings"));
}

#[test]
fn a_real_traffic_shape_gets_a_proposal_that_saves_30_percent_off_peak_within_the_slo() {
    // A week of the NASA 1995 trace scaled to a 2,000 req/s peak (the search was never tuned on
    // it), served by the fixtures' configuration.
    let dir = tempfile::tempdir().expect("tempdir");
    let week = dir.path().join("nasa.csv.gz");
    run_ok(
        rightsize()
            .args(["generate", "--shape"])
            .arg(fixture("traces/nasa-1995-07-03-week.txt.gz"))
            .args([
                "--peak-rps",
                "2000",
                "--sample-rate",
                "0.001",
                "--seed",
                "7",
            ])
            .arg("--out")
            .arg(&week),
    );
    let case = Case {
        telemetry: week,
        sample_rate: "0.001",
        config: fixture("config"),
    };
    let out_dir = dir.path().join("rec");
    let doc = case.recommended(&out_dir, &[]);
    let saved = number(&doc, "predicted.off_peak_savings_pct");
    assert!(saved >= 30.0, "{saved}");
    assert!(
        number(&doc, "predicted.slo_violation_windows_after")
            <= number(&doc, "predicted.slo_violation_windows_before")
    );
    proposal_is_consistent(&case, &out_dir, &doc);
}

#[test]
fn karpenter_pools_get_consolidation_candidates_and_keep_their_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = Case::week_with(fixture("karpenter"));
    let doc = case.recommended(dir.path(), &[]);
    let candidates = doc["candidates"].as_array().expect("candidates");
    // Today's pool consolidates only empty nodes after ten minutes: the search also tries
    // WhenEmptyOrUnderutilized after a minute, and no eksctl-only change.
    assert!(
        candidates
            .iter()
            .any(|c| c["candidate"]["node"]["change"] == "consolidation")
    );
    assert!(candidates.iter().all(|c| {
        let change = &c["candidate"]["node"]["change"];
        change.is_null() || change == "consolidation"
    }));
    let proposed = dir.path().join("proposed");
    assert!(!proposed.join("nodegroup.yaml").exists());
    if doc["node_change"]["change"] == "consolidation" {
        let pool = std::fs::read_to_string(proposed.join("karpenter-nodepool.yaml"))
            .expect("karpenter-nodepool.yaml");
        assert!(
            pool.contains("consolidationPolicy: WhenEmptyOrUnderutilized"),
            "{pool}"
        );
        assert!(pool.contains("name: serving"), "{pool}");
    }
    case.replays_to_predictions(&proposed, &doc);
}
