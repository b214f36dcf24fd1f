//! End-to-end tests of `rightsize analyze`: a generated week in, the three files out, the keys
//! other tools rely on, bad flags, and analysis.html rendered by real headless Chromium.

mod common;

use std::path::PathBuf;

use common::{
    charts_drawn, chromium, fails_with, fixture, generate_week, headless, rightsize, run_ok,
};
use serde_json::Value;

/// A generated week (0.05% of a 2,000 req/s peak, 14 pods) and the analysis of it with the
/// fixture manifests, in a temporary directory.
fn analysed_week() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let week = dir.path().join("week.csv.gz");
    generate_week(&week, 7);
    let report = dir.path().join("report");
    let out = run_ok(
        rightsize()
            .args(["analyze", "--telemetry"])
            .arg(&week)
            .args(["--sample-rate", "0.0005", "--slo-p99-ms", "100", "--config"])
            .arg(fixture("config"))
            .arg("--out")
            .arg(&report),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("1. "), "findings first: {stdout}");
    assert!(stdout.contains("analysis.html"), "{stdout}");
    (dir, report)
}

fn number(v: &Value, path: &str) -> f64 {
    path.split('.')
        .fold(v, |v, k| &v[k])
        .as_f64()
        .unwrap_or_else(|| {
            panic!(
                "{path} is not a number: {}",
                path.split('.').fold(v, |v, k| &v[k])
            )
        })
}

#[test]
fn writes_json_markdown_and_html_with_the_documented_keys() {
    let (dir, report) = analysed_week();
    let text = std::fs::read_to_string(report.join("analysis.json")).expect("analysis.json");
    let a: Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(a["schema_version"], 1);
    for key in [
        "traffic.peak_rps_1m",
        "capacity.rps_per_pod_at_slo",
        "latency.p99_ms",
        "latency.slo_violation_windows_5m",
        "cost.baseline_total",
        "cost.baseline_off_peak",
        "waste.off_peak_node_hours",
    ] {
        assert!(number(&a, key) >= 0.0, "{key}");
    }
    assert!(number(&a, "cost.baseline_off_peak") < number(&a, "cost.baseline_total"));
    let interval = a["capacity"]["interval"].as_array().expect("interval");
    assert_eq!(interval.len(), 2);
    let cap = number(&a, "capacity.rps_per_pod_at_slo");
    assert!(interval[0].as_f64() <= Some(cap) && Some(cap) <= interval[1].as_f64());
    for key in ["hour_of_week_rps", "hour_of_week_rps_p95"] {
        assert_eq!(
            a["traffic"][key].as_array().map(Vec::len),
            Some(168),
            "{key}"
        );
    }
    assert_eq!(
        a["pods"]["hour_of_week_ready"].as_array().map(Vec::len),
        Some(168)
    );
    let off: Vec<u64> = a["traffic"]["off_peak_hours"]
        .as_array()
        .expect("off-peak hours")
        .iter()
        .map(|h| h.as_u64().expect("an index"))
        .collect();
    assert!(!off.is_empty() && off.iter().all(|h| *h < 168), "{off:?}");
    // The generator's 14 fixed pods serve all week; at 0.05% sampling a pod's first and last
    // rows may fall a few minutes inside the span's edges.
    assert_eq!(a["pods"]["max_ready"], 14);
    let mean_ready = number(&a, "pods.mean_ready");
    assert!(
        (mean_ready - 14.0).abs() < 0.05,
        "mean ready pods {mean_ready}"
    );

    // The same week's peak as `ingest` reports it.
    let out = run_ok(
        rightsize()
            .args(["ingest", "--json", "--sample-rate", "0.0005"])
            .arg(dir.path().join("week.csv.gz")),
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("ingest JSON");
    let (p1, p2) = (
        number(&a, "traffic.peak_rps_1m"),
        number(&summary, "peak_rps_1m"),
    );
    assert!((p1 - p2).abs() < 1e-6 * p2, "analyze {p1} vs ingest {p2}");

    let md = std::fs::read_to_string(report.join("analysis.md")).expect("analysis.md");
    assert!(md.starts_with("# rightsize analysis\n"));
    for heading in [
        "## Findings",
        "## Traffic",
        "## Pods",
        "## Latency and errors",
        "## Capacity",
        "## Cost and waste",
    ] {
        assert!(md.contains(heading), "{heading} missing");
    }
    let html = std::fs::read_to_string(report.join("analysis.html")).expect("analysis.html");
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 6);
    assert_eq!(
        html.matches("<figure>").count(),
        md.matches("*Chart: ").count(),
        "the Markdown names every chart the HTML draws"
    );
}

#[test]
fn bad_flags_are_clear_errors() {
    let week = fixture("timestamps.csv");
    for (args, expected) in [
        (
            vec!["--slo-p99-ms", "0"],
            "--slo-p99-ms must be a positive number",
        ),
        (
            vec!["--slo-p99-ms", "100", "--off-peak", "25:00-07:00"],
            "expected HH:MM-HH:MM",
        ),
        (
            vec![
                "--slo-p99-ms",
                "100",
                "--off-peak",
                "22:00-07:00",
                "--off-peak-threshold",
                "0.3",
            ],
            "cannot be used with",
        ),
        (
            vec!["--slo-p99-ms", "100", "--off-peak-threshold", "1.5"],
            "between 0 and 1",
        ),
        (vec![], "--slo-p99-ms"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        fails_with(
            rightsize()
                .args(["analyze", "--telemetry"])
                .arg(&week)
                .args(&args)
                .arg("--out")
                .arg(dir.path()),
            expected,
        );
        assert!(
            !dir.path().join("analysis.json").exists(),
            "{args:?} wrote a file"
        );
    }
}

#[test]
fn analysis_html_renders_every_chart_in_headless_chromium() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium (apt-get install chromium): .ci/run does"
        );
        eprintln!("skipped: no chromium (apt-get install chromium, or set RIGHTSIZE_CHROMIUM)");
        return;
    };
    let (dir, report) = analysed_week();
    let html = std::fs::read_to_string(report.join("analysis.html")).expect("analysis.html");
    assert_eq!(charts_drawn(&browser, &html, dir.path()), "6/6");
    let profile = tempfile::tempdir().expect("profile");
    // A screenshot of the page as a person sees it, kept for inspection when the test fails.
    let shot = dir.path().join("analysis.png");
    let out = headless(&browser, profile.path())
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", report.join("analysis.html").display()))
        .output()
        .expect("chromium runs");
    let png = std::fs::read(&shot)
        .unwrap_or_else(|_| panic!("no screenshot: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
}
