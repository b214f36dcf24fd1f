//! `rightsize serve` as a process, load-tested by `rightsize loadtest`.

mod common;

use std::process::{Command, Stdio};

use common::rightsize;

#[test]
fn serve_prints_its_port_and_answers_a_load_test() {
    let (mut child, url) = common::spawn_listening(
        [
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--workers",
            "1",
            "--items",
            "20000",
        ],
        Stdio::null(),
    );
    let out = rightsize()
        .args(["loadtest", "--rate", "40", "--duration", "2s", "--json"])
        .args([
            "--method",
            "POST",
            "--body",
            r#"{"user_id": {{i}}, "k": 10}"#,
        ])
        .args(["--slo-p99-ms", "1000", "--target"])
        .arg(format!("{url}/v1/recommend"))
        .output();
    let _ = child.kill();
    let _ = child.wait();
    let out = out.expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(s["status"]["2xx"], s["completed"], "{s}");
    assert!(s["completed"].as_u64().expect("n") > 50, "{s}");
    assert!(s["bytes"].as_u64().expect("bytes") > 1000, "{s}");
    // Bad flags are named.
    common::fails_with(
        rightsize().args(["serve", "--queue", "0"]),
        "--queue must be at least 1",
    );
    common::fails_with(
        rightsize().args(["serve", "--dims", "60", "--listen", "127.0.0.1:0"]),
        "dims 60",
    );
}

#[test]
fn loadtest_capacity_finds_the_knee_of_one_worker() {
    // Half a million items: a few milliseconds a request on one worker.
    let (mut child, url) = common::spawn_listening(
        [
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--workers",
            "1",
            "--items",
            "500000",
            "--users",
            "1000",
        ],
        Stdio::null(),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out = rightsize()
        .args(["loadtest", "capacity", "--slo-p99-ms", "100", "--json"])
        .args([
            "--start-rate",
            "20",
            "--factor",
            "2",
            "--step",
            "2s",
            "--refine",
            "1",
        ])
        .args([
            "--method",
            "POST",
            "--body",
            r#"{"user_id": {{i}}}"#,
            "--target",
        ])
        .arg(format!("{url}/v1/recommend"))
        .arg("--out")
        .arg(dir.path())
        .output();
    let _ = child.kill();
    let _ = child.wait();
    let out = out.expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let knee = r["knee_rps"].as_f64().unwrap_or_else(|| panic!("{r}"));
    let broke = r["broke_at_rps"].as_f64().unwrap_or_else(|| panic!("{r}"));
    assert!(knee >= 20.0 && broke > knee, "{r}");
    let steps = r["steps"].as_array().expect("steps");
    assert!(steps.len() >= 3, "{r}");
    // Every step below the knee held, and the one at the break did not.
    for s in steps {
        let rate = s["rate_rps"].as_f64().expect("rate");
        assert_eq!(s["held"].as_bool(), Some(rate <= knee), "{s}");
    }
    assert!(dir.path().join("capacity.json").exists());
}

#[test]
fn serve_writes_an_access_log_that_analyze_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("access.csv");
    let mut args: Vec<std::ffi::OsString> = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--workers",
        "1",
        "--items",
        "20000",
        "--pod",
        "serve-a",
        "--access-log",
    ]
    .iter()
    .map(Into::into)
    .collect();
    args.push(log.clone().into());
    let (child, url) = common::spawn_listening(args, Stdio::piped());
    let out = rightsize()
        .args(["loadtest", "--rate", "100", "--duration", "3s", "--json"])
        .args(["--method", "POST", "--body", r#"{"user_id": {{i}}}"#])
        .arg("--target")
        .arg(format!("{url}/v1/recommend"))
        .output();
    // Ctrl-C: the service stops and flushes its log.
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let done = child.wait_with_output().expect("waits");
    let stderr = String::from_utf8_lossy(&done.stderr);
    let out = out.expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let completed = s["completed"].as_u64().expect("completed");
    assert!(
        stderr.contains(&format!("access log: {completed} rows written")),
        "{stderr}"
    );
    // One row per answered request, read by the telemetry reader like any access log.
    let ingest = rightsize()
        .args(["ingest", "--json"])
        .arg(&log)
        .output()
        .expect("runs");
    assert!(
        ingest.status.success(),
        "{}",
        String::from_utf8_lossy(&ingest.stderr)
    );
    let i: serde_json::Value = serde_json::from_slice(&ingest.stdout).expect("JSON");
    assert_eq!(i["rows"].as_u64(), Some(completed), "{i}");
    assert_eq!(i["bad_rows"].as_u64(), Some(0), "{i}");
    assert_eq!(i["pods"].as_u64(), Some(1), "{i}");
    assert_eq!(i["status_classes"]["ok"].as_u64(), Some(completed), "{i}");
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(
        text.starts_with("timestamp,latency_ms,status,pod\n"),
        "{text}"
    );
    assert!(
        text.lines()
            .nth(1)
            .expect("a row")
            .ends_with(",200,serve-a"),
        "{text}"
    );
}
