//! `rightsize rollout` end to end: a generated week analysed and a proposal searched, then the
//! plan, the alerts and the dashboard written; the rules pass `promtool check rules`, their unit
//! tests pass `promtool test rules` where they were written, the dashboard is Grafana JSON with a
//! panel per signal, the plan names every trigger and the rollback commands, and its PDF has
//! exactly two pages that hold them (pdfinfo, pdftotext).

mod common;

use std::process::Command;

use common::{fixture, generate_week, rightsize, run_ok};
use serde_json::Value;

/// Every rollback trigger, by alert name.
const TRIGGERS: [&str; 6] = [
    "RightsizeP99AboveSLO",
    "RightsizeErrorRateAboveBaseline",
    "RightsizePodsPending",
    "RightsizeReplicasAtMax",
    "RightsizeScalerMetricUnavailable",
    "RightsizeNodeProvisioningFailed",
];

#[test]
fn the_plan_alerts_and_dashboard_are_written_and_the_alerts_pass_promtool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let week = d.join("week.csv.gz");
    generate_week(&week, 3);
    let common_args = |cmd: &str| {
        let mut c = rightsize();
        c.args([cmd, "--telemetry"])
            .arg(&week)
            .args(["--sample-rate", "0.0005", "--slo-p99-ms", "100", "--config"])
            .arg(fixture("config"));
        c
    };
    run_ok(common_args("analyze").arg("--out").arg(d.join("analysis")));
    run_ok(
        common_args("recommend")
            .arg("--out")
            .arg(d.join("recommendation")),
    );
    let out = run_ok(
        rightsize()
            .args(["rollout", "--config"])
            .arg(fixture("config"))
            .arg("--analysis")
            .arg(d.join("analysis/analysis.json"))
            .arg("--recommendation")
            .arg(d.join("recommendation"))
            .arg("--out")
            .arg(d.join("plan")),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("alerts/rules.test.yml"), "{stdout}");
    let plan = d.join("plan");
    let md = std::fs::read_to_string(plan.join("rollout-plan.md")).expect("plan");
    for needle in TRIGGERS.iter().chain(&[
        "Pre-flight checks",
        "1. Shadow",
        "2. Canary",
        "3. All",
        "kubectl apply -f saved/current.yaml",
        "eksctl scale nodegroup --cluster",
        "p99 <= 100 ms",
    ]) {
        assert!(md.contains(needle), "{needle:?} missing:\n{md}");
    }
    let html = std::fs::read_to_string(plan.join("rollout-plan.html")).expect("html");
    assert!(html.contains("<table"));
    match common::chromium() {
        // The page loads and lays out in a browser (it has tables, no charts).
        Some(browser) => assert_eq!(common::charts_drawn(&browser, &html, d), "0/0"),
        None => assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium (apt-get install chromium): .ci/run does"
        ),
    }
    // The PDF: exactly two pages, holding every trigger (read back by poppler).
    match Command::new("pdfinfo")
        .arg(plan.join("rollout-plan.pdf"))
        .output()
    {
        Ok(info) => {
            let info = String::from_utf8_lossy(&info.stdout);
            assert!(info.contains("Pages:           2"), "{info}");
            assert!(info.contains("A4"), "{info}");
            let text = Command::new("pdftotext")
                .arg(plan.join("rollout-plan.pdf"))
                .arg("-")
                .output()
                .expect("pdftotext runs");
            let text = String::from_utf8_lossy(&text.stdout);
            for needle in TRIGGERS
                .iter()
                .chain(&["kubectl apply -f saved/current.yaml", "Pre-flight checks"])
            {
                assert!(text.contains(needle), "{needle:?} not in the PDF:\n{text}");
            }
        }
        Err(_) => assert!(
            std::env::var_os("CI").is_none(),
            "CI must install pdfinfo (apt-get install poppler-utils): .ci/run does"
        ),
    }
    let dash: Value = serde_json::from_str(
        &std::fs::read_to_string(plan.join("dashboards/rollout.json")).expect("dashboard"),
    )
    .expect("JSON");
    assert_eq!(dash["panels"].as_array().expect("panels").len(), 7);
    assert_eq!(dash["schemaVersion"], 39);
    let cr = std::fs::read_to_string(plan.join("alerts/rollback-rules.yaml")).expect("cr");
    assert!(cr.contains("kind: PrometheusRule") && cr.contains("namespace: serving"));
    match Command::new("promtool")
        .args(["check", "rules", "rules.yml"])
        .current_dir(plan.join("alerts"))
        .output()
    {
        Ok(check) => {
            assert!(
                check.status.success(),
                "{}",
                String::from_utf8_lossy(&check.stdout)
            );
            let test = Command::new("promtool")
                .args(["test", "rules", "rules.test.yml"])
                .current_dir(plan.join("alerts"))
                .output()
                .expect("promtool runs");
            assert!(
                test.status.success(),
                "{}{}",
                String::from_utf8_lossy(&test.stdout),
                String::from_utf8_lossy(&test.stderr)
            );
        }
        Err(_) => assert!(
            std::env::var_os("CI").is_none(),
            "CI must install promtool (apt-get install prometheus)"
        ),
    }
    // A recommendation that is not there is named.
    common::fails_with(
        rightsize()
            .args(["rollout", "--config"])
            .arg(fixture("config"))
            .arg("--analysis")
            .arg(d.join("analysis/analysis.json"))
            .arg("--recommendation")
            .arg(d.join("nowhere"))
            .arg("--out")
            .arg(d.join("plan2")),
        "recommendation.json: cannot read the recommendation",
    );
}
