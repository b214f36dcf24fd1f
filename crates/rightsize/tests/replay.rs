//! The testbed and the peak replay end to end: a generated week is analysed, its recorded peak
//! is replayed (compressed 30 times) against the emulated cluster with today's HPA and with a
//! proposal, and the measured p99 per emulated minute must agree with the simulator's
//! prediction for the same configuration and traffic; the verdict follows the SLO.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::{fixture, generate_week, rightsize, run_ok};
use serde_json::Value;

/// The analysis of one generated week, shared by the tests.
fn analysis() -> PathBuf {
    static A: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    A.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let week = dir.path().join("week.csv.gz");
        generate_week(&week, 3);
        run_ok(
            rightsize()
                .args(["analyze", "--telemetry"])
                .arg(&week)
                .args(["--sample-rate", "0.0005", "--slo-p99-ms", "100", "--config"])
                .arg(fixture("config"))
                .arg("--out")
                .arg(dir.path()),
        );
        let path = dir.path().join("analysis.json");
        (dir, path)
    })
    .1
    .clone()
}

fn replay(out: &Path, time_scale: &str, extra: &[&str]) -> std::process::Output {
    rightsize()
        .args(["loadtest", "replay", "--config"])
        .arg(fixture("config"))
        .arg("--analysis")
        .arg(analysis())
        .args([
            "--time-scale",
            time_scale,
            "--max-ramp",
            "10m",
            "--scale",
            "0.25",
        ])
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("runs")
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn the_replayed_peak_agrees_with_the_simulator_and_the_proposal_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = fixture("proposal");
    // 30 times faster: an emulated minute is 2 s and about a thousand requests.
    let out = replay(
        dir.path(),
        "30",
        &["--policy", policy.to_str().expect("utf-8")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("loadtest-report.json")).expect("report"),
    )
    .expect("JSON");
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["time_scale"], 30);
    let runs = r["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["name"], "today");
    assert_eq!(runs[1]["name"], "proposal");
    // The proposal starts the peak on fewer pods than today's floor of 12.
    assert_eq!(runs[0]["initial_replicas"], 12, "{}", runs[0]);
    assert!(number(&runs[1]["initial_replicas"]) < 12.0, "{}", runs[1]);
    for run in runs {
        let name = &run["name"];
        // The verdict: p99 held in every minute, nothing failed, the generator kept up.
        assert_eq!(run["holds_slo"], true, "{name}: {}", run["minutes"]);
        assert_eq!(run["minutes_over_slo"], 0);
        assert_eq!(run["failed"], 0, "{name}");
        assert_eq!(run["generator_limited"], false, "{name}");
        // Measured p99 per emulated minute against the simulator's prediction for the same
        // traffic and configuration: within 20% (the minutes' p99s carry sampling noise of a
        // few percent from about a thousand requests each).
        let a = &run["agreement"];
        assert!(number(&a["minutes"]) >= 12.0, "{name}: {a}");
        assert!(number(&a["median_relative_error"]) <= 0.2, "{name}: {a}");
        assert!(number(&a["share_within_tolerance"]) >= 0.8, "{name}: {a}");
        // The emulated cluster's pods follow the simulator's.
        for m in run["minutes"].as_array().expect("minutes") {
            let (ready, predicted) = (number(&m["ready"]), number(&m["predicted_ready"]));
            assert!(
                (ready - predicted).abs() <= 0.25 * predicted + 1.0,
                "{name}: {m}"
            );
        }
    }
    // The proposal's pods rose with the peak (its HPA scaled up).
    let desired: Vec<f64> = runs[1]["minutes"]
        .as_array()
        .expect("minutes")
        .iter()
        .map(|m| number(&m["desired"]))
        .collect();
    assert!(
        desired.iter().copied().fold(0.0, f64::max) > desired[0],
        "{desired:?}"
    );
    assert!(stdout.contains("proposal held the SLO"), "{stdout}");
    // The load generator's raw summary of each run, as `rightsize loadtest` writes it.
    for (k, name) in ["today", "proposal"].iter().enumerate() {
        let raw: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(format!("loadtest-{name}.json")))
                .expect("raw summary"),
        )
        .expect("JSON");
        assert_eq!(
            raw["completed"]
                .as_u64()
                .map(|c| c + raw["failed"].as_u64().unwrap_or(0)),
            runs[k]["requests"].as_u64(),
            "{name}: {raw}"
        );
        assert_eq!(raw["slo"]["ok"], true, "{name}");
    }
    let md = std::fs::read_to_string(dir.path().join("loadtest-report.md")).expect("md");
    assert!(md.contains("p99 per emulated minute"), "{md}");
    let html = std::fs::read_to_string(dir.path().join("loadtest-report.html")).expect("html");
    assert_eq!(html.matches("<svg").count(), 3);
    match common::chromium() {
        Some(browser) => assert_eq!(common::charts_drawn(&browser, &html, dir.path()), "3/3"),
        None => assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium (apt-get install chromium): .ci/run does"
        ),
    }
}

#[test]
fn a_peak_that_breaks_the_slo_fails_the_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Today's pods answer in about 50 ms at p99: a 30 ms objective breaks in every minute.
    let out = replay(dir.path(), "60", &["--slo-p99-ms", "30"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("loadtest-report.json")).expect("report"),
    )
    .expect("JSON");
    let run = &r["runs"][0];
    assert_eq!(run["holds_slo"], false);
    assert_eq!(
        run["minutes_over_slo"],
        run["minutes"].as_array().expect("m").len()
    );
    assert!(
        r["verdict"]
            .as_str()
            .expect("verdict")
            .contains("today broke the SLO"),
        "{r}"
    );
    // Bad flags are named.
    common::fails_with(
        rightsize()
            .args(["loadtest", "replay", "--config"])
            .arg(fixture("config"))
            .arg("--analysis")
            .arg(analysis())
            .args(["--time-scale", "7"]),
        "--time-scale 7: expected a divisor of 60",
    );
}

#[test]
fn the_testbed_serves_scales_and_exposes_its_replicas() {
    let mut args: Vec<std::ffi::OsString> = [
        "testbed",
        "--listen",
        "127.0.0.1:0",
        "--time-scale",
        "60",
        "--replicas",
        "1",
    ]
    .iter()
    .map(Into::into)
    .collect();
    args.extend(["--config".into(), fixture("config").into()]);
    args.extend(["--policy".into(), fixture("proposal").into()]);
    args.extend(["--analysis".into(), analysis().into()]);
    let (mut child, url) = common::spawn_listening(args, Stdio::null());
    // Three times one pod's capacity for 6 s (six emulated minutes), from one replica.
    let out = rightsize()
        .args(["loadtest", "--rate", "500", "--duration", "6s", "--json"])
        .args(["--method", "POST", "--target"])
        .arg(format!("{url}/v1/recommend"))
        .output();
    let metrics = fetch(&url, "/metrics");
    let _ = child.kill();
    let _ = child.wait();
    let out = out.expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gauge = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {metrics}"))
    };
    // Above the proposal's floor of 3: the HPA scaled on the load (about 7 pods at 70% CPU).
    assert!(
        gauge("rightsize_testbed_desired_replicas") >= 5.0,
        "{metrics}"
    );
    assert!(
        gauge("rightsize_testbed_ready_replicas") >= 5.0,
        "{metrics}"
    );
    assert!(gauge("rightsize_testbed_nodes") >= 1.0, "{metrics}");
    assert!(
        gauge("rightsize_testbed_emulated_seconds") >= 300.0,
        "{metrics}"
    );
    assert!(metrics.contains("rightsize_serve_requests_total{code=\"200\"}"));
    if let Ok(status) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .expect("stdin")
                .write_all(metrics.as_bytes())?;
            c.wait_with_output()
        })
    {
        assert!(
            status.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&status.stdout),
            String::from_utf8_lossy(&status.stderr)
        );
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "promtool is required in CI (Debian package prometheus)"
        );
    }
}

/// A GET over a plain TCP connection (HTTP/1.0, the whole answer's body).
fn fetch(url: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("write");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    text.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}
