//! End-to-end tests of `rightsize export k6`: the script parses as JavaScript (Node's syntax
//! check, as an ES module), carries the profile's stages and thresholds, and bad profiles are
//! refused clearly.

mod common;

use common::{fails_with, rightsize, run_ok};

#[test]
fn the_k6_script_is_valid_javascript_with_the_profiles_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_ok(
        rightsize()
            .args([
                "export",
                "k6",
                "--stages",
                "30s:100,2m:2000,1m:2000",
                "--target",
                "http://127.0.0.1:8080/v1/recommend",
                "--method",
                "POST",
                "--body",
                r#"{"user_id": 7, "k": 20}"#,
                "--slo-p99-ms",
                "120",
                "--parallelism",
                "3",
                "--out",
            ])
            .arg(dir.path()),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    // 30 s ramping to 100 (1,500), 2 minutes to 2,000 (126,000), a minute at 2,000 (120,000).
    assert!(stdout.contains("the profile asks for 247500"), "{stdout}");
    let script = std::fs::read_to_string(dir.path().join("script.js")).expect("script.js");
    assert!(
        script.contains("executor: 'ramping-arrival-rate'"),
        "{script}"
    );
    assert!(
        script.contains("http_req_duration: ['p(99)<120']"),
        "{script}"
    );
    // Node parses it as the ES module k6 reads.
    let module = dir.path().join("script.mjs");
    std::fs::copy(dir.path().join("script.js"), &module).expect("copy");
    match std::process::Command::new("node")
        .arg("--check")
        .arg(&module)
        .output()
    {
        Ok(check) => assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        ),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must install Node.js: .ci/run does"
            );
            eprintln!("skipped the syntax check: no node (apt-get install nodejs)");
        }
    }
    let run = std::fs::read_to_string(dir.path().join("testrun.yaml")).expect("testrun.yaml");
    assert!(run.contains("parallelism: 3"), "{run}");
}

#[test]
fn bad_profiles_are_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (args, expected) in [
        (vec!["--rate", "100"], "--rate needs --duration"),
        (vec!["--stages", "30x:100"], "unknown unit"),
        (
            vec!["--rate", "100", "--duration", "48h"],
            "more than the 86400 s allowed",
        ),
        (
            vec!["--rate", "5000000", "--duration", "1m"],
            "more than the 1000000 allowed",
        ),
        (vec![], "give one profile"),
    ] {
        fails_with(
            rightsize()
                .args(["export", "k6", "--target", "http://127.0.0.1:1/"])
                .args(&args)
                .arg("--out")
                .arg(dir.path()),
            expected,
        );
    }
}

/// A minimal HTTP/1.1 server on 127.0.0.1 that answers every request with 200 and counts them;
/// stopped when dropped.
struct CountingServer {
    addr: std::net::SocketAddr,
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl CountingServer {
    fn start() -> CountingServer {
        use std::io::{BufRead, BufReader, Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (c, s) = (count.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let c = c.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
                    let mut writer = conn;
                    loop {
                        let mut length = 0usize;
                        let mut line = String::new();
                        // The request line and headers, up to the blank line.
                        let mut first = true;
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" && !first {
                                break;
                            }
                            first = false;
                            if let Some(v) =
                                line.to_ascii_lowercase().strip_prefix("content-length:")
                            {
                                length = v.trim().parse().unwrap_or(0);
                            }
                        }
                        let mut body = vec![0u8; length];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        c.fetch_add(1, Ordering::SeqCst);
                        let reply = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
                        if writer.write_all(reply).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        CountingServer { addr, count, stop }
    }
}

impl Drop for CountingServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = std::net::TcpStream::connect(self.addr);
    }
}

#[test]
fn the_locust_export_runs_in_real_locust_at_the_profiles_rate() {
    let found = std::process::Command::new("locust")
        .arg("--version")
        .output();
    if !found.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install Locust (pip install locust): .ci/run does"
        );
        eprintln!("skipped: no locust (pip install locust)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // 20 req/s for 5 s, evenly spaced: 100 requests.
    run_ok(
        rightsize()
            .args([
                "export",
                "locust",
                "--rate",
                "20",
                "--duration",
                "5s",
                "--arrivals",
                "uniform",
                "--path",
                "/v1/recommend",
                "--method",
                "POST",
                "--body",
                r#"{"user_id": 7}"#,
                "--grace-s",
                "2",
                "--out",
            ])
            .arg(dir.path()),
    );
    let server = CountingServer::start();
    let started = std::time::Instant::now();
    let out = std::process::Command::new("python3")
        .args(["-m", "locust", "-f"])
        .arg(dir.path().join("locustfile.py"))
        .args([
            "--headless",
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--host",
        ])
        .arg(format!("http://{}", server.addr))
        .current_dir(dir.path())
        .output()
        .expect("locust runs");
    let took = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let served = server.count.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (95..=100).contains(&served),
        "the server saw {served} requests"
    );
    // The shape ends the run: the curve's 5 s plus the grace, plus start-up.
    assert!(took < 30.0, "{took} s");
}
