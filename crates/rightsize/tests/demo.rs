//! `rightsize demo` end to end: the whole bundle from one command, and every file in it checked
//! — JSON parses with its schema version, manifests read back by the cluster model, the
//! PrometheusRule's rules pass promtool and their unit tests, the PDF has two pages holding the
//! triggers, every HTML page renders in headless Chromium with its charts and is screenshotted,
//! the k6 script is valid JavaScript and the locustfile valid Python.

mod common;

use std::path::Path;
use std::process::Command;

use common::{charts_drawn, chromium, rightsize, run_ok};
use serde_json::Value;

fn json(path: &Path) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `tool args` when it is installed (CI must have it); its output when it ran.
fn tool(tool: &str, args: &[&str], dir: &Path) -> Option<std::process::Output> {
    match Command::new(tool).args(args).current_dir(dir).output() {
        Ok(out) => Some(out),
        Err(_) => {
            assert!(std::env::var_os("CI").is_none(), "CI must install {tool}");
            eprintln!("skipped: no {tool}");
            None
        }
    }
}

#[test]
fn the_demo_writes_the_whole_bundle_and_every_file_checks_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("bundle");
    let done = run_ok(rightsize().args(["demo", "--out"]).arg(&out));
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(stdout.trim().ends_with("index.html"), "{stdout}");
    let stderr = String::from_utf8_lossy(&done.stderr);
    for step in [
        "$ rightsize generate",
        "$ rightsize analyze",
        "$ rightsize recommend",
        "$ rightsize loadtest replay",
        "$ rightsize rollout",
        "$ rightsize export k6",
        "$ rightsize export locust",
    ] {
        assert!(stderr.contains(step), "{step} missing:\n{stderr}");
    }

    // The machine-readable outputs.
    let a = json(&out.join("analysis.json"));
    assert_eq!(a["schema_version"], 1);
    assert!(a["capacity"]["model"]["servers"].as_u64().is_some());
    let r = json(&out.join("recommendation.json"));
    assert_eq!(r["schema_version"], 1);
    let saved = r["predicted"]["off_peak_savings_pct"]
        .as_f64()
        .expect("savings");
    assert!(saved >= 30.0, "{saved}% off-peak");
    let l = json(&out.join("loadtest-report.json"));
    assert_eq!(l["schema_version"], 1);
    assert_eq!(l["runs"][1]["name"], "proposal");
    assert_eq!(l["runs"][1]["holds_slo"], true, "{}", l["verdict"]);
    for run in ["today", "proposal"] {
        let raw = json(&out.join(format!("loadtest-{run}.json")));
        assert!(
            raw["completed"].as_u64().expect("completed") > 10_000,
            "{run}"
        );
    }
    let d = json(&out.join("dashboards/rollout.json"));
    assert_eq!(d["panels"].as_array().expect("panels").len(), 7);

    // The proposal reads back as Kubernetes objects.
    let show = run_ok(
        rightsize()
            .args(["config", "show", "--json"])
            .arg(out.join("proposed")),
    );
    let c: Value = serde_json::from_slice(&show.stdout).expect("config JSON");
    let scalers = c["hpas"].as_array().map_or(0, Vec::len)
        + c["scaled_objects"].as_array().map_or(0, Vec::len);
    assert_eq!(scalers, 1, "{c}");

    // The rules and their unit tests.
    let alerts = out.join("alerts");
    if let Some(o) = tool("promtool", &["check", "rules", "rules.yml"], &alerts) {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
        let t = tool("promtool", &["test", "rules", "rules.test.yml"], &alerts).expect("promtool");
        assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stdout));
    }

    // The plan's PDF.
    if let Some(info) = tool("pdfinfo", &["rollout-plan.pdf"], &out) {
        assert!(String::from_utf8_lossy(&info.stdout).contains("Pages:           2"));
        let text = tool("pdftotext", &["rollout-plan.pdf", "-"], &out).expect("pdftotext");
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(
            text.contains("RightsizeP99AboveSLO") && text.contains("Rollback"),
            "{text}"
        );
    }

    // The exports.
    if let Some(o) = tool("node", &["--check", "k6/script.js"], &out) {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let py = tool(
        "python3",
        &["-m", "py_compile", "locust/locustfile.py"],
        &out,
    )
    .expect("python3");
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );

    // Every page renders, with its charts.
    if let Some(browser) = chromium() {
        for (page, charts) in [
            ("index.html", "0/0"),
            ("analysis.html", "6/6"),
            ("loadtest-report.html", "3/3"),
            ("rollout-plan.html", "0/0"),
        ] {
            let html = std::fs::read_to_string(out.join(page)).expect("page");
            assert_eq!(charts_drawn(&browser, &html, dir.path()), charts, "{page}");
            // A screenshot of the page as a person sees it: a real image, not a blank one.
            let shot = dir.path().join(format!("{page}.png"));
            let profile = tempfile::tempdir().expect("profile");
            let o = common::headless(&browser, profile.path())
                .arg(format!("--screenshot={}", shot.display()))
                .arg(format!("file://{}", out.join(page).display()))
                .output()
                .expect("chromium runs");
            let png = std::fs::read(&shot).unwrap_or_else(|_| {
                panic!(
                    "no screenshot of {page}: {}",
                    String::from_utf8_lossy(&o.stderr)
                )
            });
            assert!(
                png.starts_with(b"\x89PNG") && png.len() > 15_000,
                "{page}: {} bytes",
                png.len()
            );
        }
        let index = std::fs::read_to_string(out.join("index.html")).expect("index");
        for link in [
            "analysis.html",
            "rollout-plan.pdf",
            "loadtest-report.html",
            "proposed/",
        ] {
            assert!(index.contains(&format!("href=\"{link}\"")), "{link}");
        }
    } else {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium");
    }
}
