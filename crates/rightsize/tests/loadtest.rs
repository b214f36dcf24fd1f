//! `rightsize loadtest` end to end against a small HTTP/1.1 server on 127.0.0.1 that counts
//! requests and keeps their bodies.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

use common::{fails_with, rightsize, run_ok};

/// A keep-alive HTTP/1.1 server answering `ok` on a thread per connection.
struct Server {
    addr: SocketAddr,
    bodies: Arc<Mutex<Vec<String>>>,
}

fn server() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = bodies.clone();
    // The thread ends with the test process.
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let kept = kept.clone();
            std::thread::spawn(move || serve(stream, &kept));
        }
    });
    Server { addr, bodies }
}

fn serve(stream: std::net::TcpStream, kept: &Mutex<Vec<String>>) {
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        // The request line and headers.
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if length > 0 {
            kept.lock()
                .expect("lock")
                .push(String::from_utf8_lossy(&body).into());
        }
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .is_err()
        {
            return;
        }
    }
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn the_json_summary_accounts_for_every_request_and_the_timeline_is_written() {
    let srv = server();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_ok(
        rightsize()
            .args(["loadtest", "--rate", "100", "--duration", "2s", "--json"])
            .args(["--slo-p99-ms", "500", "--threshold", "rate_failed<0.01"])
            .arg("--target")
            .arg(format!("http://{}/v1/recommend", srv.addr))
            .arg("--out")
            .arg(dir.path()),
    );
    let s = json(&out);
    let n = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("{k} in {s}"));
    assert_eq!(
        n("scheduled"),
        n("completed") + n("failed") + n("dropped"),
        "{s}"
    );
    assert!((170..=230).contains(&n("scheduled")), "{s}");
    assert_eq!(s["status"]["2xx"], s["completed"]);
    for k in ["latency_ms", "service_ms", "schedule_lag_ms"] {
        for q in ["p50", "p90", "p99", "p999", "max"] {
            assert!(s[k][q].as_f64().is_some(), "{k}.{q} in {s}");
        }
    }
    assert!(s["achieved_rps"].as_f64().expect("rps") > 80.0);
    assert_eq!(s["slo"]["ok"], true);
    assert_eq!(s["ok"], true);
    assert_eq!(s["thresholds"][0]["expr"], "rate_failed<0.01");
    let written: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("loadtest.json")).expect("loadtest.json"),
    )
    .expect("JSON");
    assert_eq!(written["scheduled"], s["scheduled"]);
    let timeline = std::fs::read_to_string(dir.path().join("timeline.csv")).expect("timeline");
    let mut lines = timeline.lines();
    assert!(
        lines
            .next()
            .expect("header")
            .starts_with("second,phase,target_rps,scheduled")
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() >= 2, "{timeline}");
    let sent: u64 = rows
        .iter()
        .map(|r| {
            r.split(',')
                .nth(4)
                .expect("sent")
                .parse::<u64>()
                .expect("n")
        })
        .sum();
    assert_eq!(sent, n("sent"));
}

#[test]
fn a_failed_threshold_or_slo_exits_with_99() {
    let srv = server();
    let target = format!("http://{}/", srv.addr);
    let out = rightsize()
        .args(["loadtest", "--rate", "50", "--duration", "1s"])
        .args(["--threshold", "p(99)<0.001", "--target", &target])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(99));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("failed: p(99)<0.001"), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAIL p(99)<0.001"), "{text}");
    let out = rightsize()
        .args(["loadtest", "--rate", "50", "--duration", "1s"])
        .args(["--slo-p99-ms", "0.001", "--target", &target])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(99));
}

#[test]
fn bodies_come_from_json_lines_in_turn() {
    let srv = server();
    let dir = tempfile::tempdir().expect("tempdir");
    let ids = dir.path().join("users.jsonl");
    std::fs::write(&ids, "17\n42\n99\n").expect("write");
    run_ok(
        rightsize()
            .args([
                "loadtest",
                "--rate",
                "30",
                "--duration",
                "1s",
                "--arrivals",
                "uniform",
            ])
            .args([
                "--method",
                "POST",
                "--body",
                "{\"user_id\": {{line}}, \"k\": 20}",
            ])
            .arg("--bodies")
            .arg(&ids)
            .arg("--target")
            .arg(format!("http://{}/v1/recommend", srv.addr)),
    );
    let bodies = srv.bodies.lock().expect("lock").clone();
    assert_eq!(bodies.len(), 30);
    for id in [17, 42, 99] {
        let want = format!("{{\"user_id\": {id}, \"k\": 20}}");
        assert_eq!(
            bodies.iter().filter(|b| **b == want).count(),
            10,
            "{bodies:?}"
        );
    }
}

#[test]
fn the_recorded_peak_becomes_a_profile_for_the_load_test_and_the_exports() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A night at 100 req/s, a two-hour ramp to 1,300 and ten minutes of peak.
    let minutes: Vec<f64> = (0..300)
        .map(|m| match m {
            0..80 => 100.0,
            80..200 => 100.0 + (m - 80) as f64 * 10.0,
            200..210 => 1300.0,
            _ => 600.0,
        })
        .collect();
    let analysis = dir.path().join("analysis.json");
    std::fs::write(
        &analysis,
        serde_json::json!({"traffic": {"minute_rps": minutes,
            "minute_rps_start": "2026-11-02T00:00:00Z"}})
        .to_string(),
    )
    .expect("write");
    let out = run_ok(
        rightsize()
            .args(["loadtest", "--dry-run", "--target", "http://127.0.0.1:9/"])
            .arg("--from-analysis")
            .arg(&analysis)
            .args(["--window", "peak", "--compress", "10", "--scale", "0.5"]),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // An hour of ramp compressed to 6 minutes, then 16 minutes of peak in real time.
    assert!(text.contains("ramp from Mon 2026-11-02 02:"), "{text}");
    assert!(text.contains("compressed 10x to 360 s"), "{text}");
    assert!(text.contains("650 req/s at most"), "{text}");
    assert!(text.contains("1320 s"), "{text}");
    run_ok(
        rightsize()
            .args(["export", "k6", "--target", "http://reco/"])
            .arg("--from-analysis")
            .arg(&analysis)
            .args(["--window", "peak", "--compress", "10", "--out"])
            .arg(dir.path().join("k6")),
    );
    assert!(dir.path().join("k6/script.js").exists());
}

#[test]
fn bad_flags_and_files_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    fails_with(
        rightsize()
            .args(["loadtest", "--rate", "10", "--duration", "1s"])
            .args(["--target", "http://192.0.2.1:8080/"]),
        "--allow-remote",
    );
    fails_with(
        rightsize()
            .args(["loadtest", "--rate", "10", "--duration", "1s"])
            .args(["--target", "http://127.0.0.1:9/", "--threshold", "p(99)~3"]),
        "threshold \"p(99)~3\"",
    );
    let rates = dir.path().join("rates.txt");
    std::fs::write(&rates, "10\n20\nfast\n").expect("write");
    fails_with(
        rightsize()
            .args([
                "loadtest",
                "--target",
                "http://127.0.0.1:9/",
                "--rates-file",
            ])
            .arg(&rates),
        "rates.txt:3:",
    );
    fails_with(
        rightsize()
            .args(["loadtest", "--rate", "2000000", "--duration", "1s"])
            .args(["--target", "http://127.0.0.1:9/"]),
        "more than the",
    );
    // Nothing listens on the discard port: one clear error, not a run of failures.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    fails_with(
        rightsize()
            .args(["loadtest", "--rate", "10", "--duration", "1s", "--target"])
            .arg(format!("http://127.0.0.1:{port}/")),
        "cannot connect",
    );
}

#[test]
fn ctrl_c_stops_the_run_and_still_writes_what_ran_marked_partial() {
    let srv = server();
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = assert_cmd::cargo::cargo_bin("rightsize");
    let child = std::process::Command::new(bin)
        .args(["loadtest", "--rate", "50", "--duration", "60s"])
        .arg("--target")
        .arg(format!("http://{}/", srv.addr))
        .arg("--out")
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let began = std::time::Instant::now();
    let out = child.wait_with_output().expect("wait");
    assert!(began.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("loadtest.json")).expect("loadtest.json"),
    )
    .expect("JSON");
    assert_eq!(s["partial"], true);
    let n = |k: &str| s[k].as_u64().expect(k);
    assert!(n("scheduled") > 20 && n("scheduled") < 500, "{s}");
    assert_eq!(n("scheduled"), n("completed") + n("failed") + n("dropped"));
    assert!(dir.path().join("timeline.csv").exists());
}
