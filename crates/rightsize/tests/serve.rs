//! `rightsize serve` as a process, load-tested by `rightsize loadtest`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::rightsize;

#[test]
fn serve_prints_its_port_and_answers_a_load_test() {
    let bin = assert_cmd::cargo::cargo_bin("rightsize");
    let mut child = Command::new(bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--workers",
            "1",
            "--items",
            "20000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
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
    let bin = assert_cmd::cargo::cargo_bin("rightsize");
    // Half a million items: a few milliseconds a request on one worker.
    let mut child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--workers", "1"])
        .args(["--items", "500000", "--users", "1000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
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
