//! The service over real HTTP on 127.0.0.1: answers, errors, metrics that promtool accepts, and
//! load shedding at ten times its capacity with a bounded queue, then recovery.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rightsize_core::load::schedule::{Arrivals, RateCurve};
use rightsize_load::request::{Order, RequestSpec};
use rightsize_load::run::{LoadConfig, run};
use rightsize_load::summary::summarize;
use rightsize_load::target::Target;
use rightsize_serve::model::{Model, ModelConfig};
use rightsize_serve::server::{ServeConfig, Service, serve};

struct Running {
    addr: SocketAddr,
    service: Service,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start(model: ModelConfig, cfg: ServeConfig) -> Running {
    let service = Service::start(Arc::new(Model::generate(model).expect("model")), cfg);
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let addr = std_listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let svc = service.clone();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
            let _ = serve(listener, svc, async {
                let _ = rx.await;
            })
            .await;
        });
    });
    Running {
        addr,
        service,
        stop: Some(tx),
        thread: Some(thread),
    }
}

/// One request on a fresh connection: (status, body).
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn small() -> ModelConfig {
    ModelConfig {
        users: 1_000,
        items: 20_000,
        ..ModelConfig::default()
    }
}

#[test]
fn it_recommends_and_explains_bad_requests() {
    let srv = start(small(), ServeConfig::default());
    let (status, body) = http(
        srv.addr,
        "POST",
        "/v1/recommend",
        r#"{"user_id": 42, "k": 5}"#,
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let items = v["items"].as_array().expect("items");
    assert_eq!(items.len(), 5);
    let scores: Vec<f64> = items
        .iter()
        .map(|i| i["score"].as_f64().expect("score"))
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]));
    // The same user, the same answer; string ids work.
    assert_eq!(
        http(
            srv.addr,
            "POST",
            "/v1/recommend",
            r#"{"user_id": 42, "k": 5}"#
        )
        .1,
        body
    );
    assert_eq!(
        http(srv.addr, "POST", "/v1/recommend", r#"{"user_id": "u-42"}"#).0,
        200
    );
    let (status, body) = http(srv.addr, "POST", "/v1/recommend", "{oops");
    assert_eq!(status, 400);
    assert!(body.contains("user_id"), "{body}");
    assert_eq!(
        http(
            srv.addr,
            "POST",
            "/v1/recommend",
            r#"{"user_id": 1, "k": 0}"#
        )
        .0,
        400
    );
    assert_eq!(
        http(srv.addr, "POST", "/v1/recommend", r#"{"user": 1}"#).0,
        400
    );
    let big = format!(r#"{{"user_id": 1, "pad": "{}"}}"#, "x".repeat(100_000));
    assert_eq!(http(srv.addr, "POST", "/v1/recommend", &big).0, 413);
    assert_eq!(http(srv.addr, "GET", "/healthz", "").0, 200);
    assert_eq!(http(srv.addr, "GET", "/readyz", "").0, 200);
    assert_eq!(http(srv.addr, "GET", "/nowhere", "").0, 404);
    let (status, metrics) = http(srv.addr, "GET", "/metrics", "");
    assert_eq!(status, 200);
    // Three recommendations, /healthz and /readyz.
    assert!(
        metrics.contains("rightsize_serve_requests_total{code=\"200\"} 5"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rightsize_serve_requests_total{code=\"400\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rightsize_serve_requests_total{code=\"413\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("rightsize_serve_request_duration_seconds_bucket{le=\"+Inf\"}"));
    promtool_accepts(&metrics);
}

/// `promtool check metrics` on the text (CI installs Debian's prometheus; elsewhere the check
/// is skipped when promtool is missing).
fn promtool_accepts(text: &str) {
    let child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "promtool is missing in CI: {e}"
            );
            eprintln!("promtool not found: skipping its check");
            return;
        }
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn load(addr: SocketAddr, rate: f64, seconds: u64) -> rightsize_load::summary::PhaseSummary {
    let cfg = LoadConfig {
        curve: RateCurve::constant(rate, seconds).expect("curve"),
        arrivals: Arrivals::Poisson,
        seed: 3,
        target: Target::parse(&format!("http://{addr}/v1/recommend"), false).expect("target"),
        request: RequestSpec::new(
            "POST",
            &[],
            Some(r#"{"user_id": {{i}}, "k": 20}"#),
            vec![],
            Order::RoundRobin,
            1,
        )
        .expect("spec"),
        http2: false,
        timeout: Duration::from_secs(5),
        max_in_flight: None,
        threads: 1,
        connections: 4096,
        warmup_s: 0.0,
        keep_histograms: false,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let result = run(&cfg, &stop, |_| {}).expect("run");
    summarize(&cfg, &result, &[], None).measure
}

#[test]
fn it_sheds_load_at_ten_times_capacity_with_a_bounded_queue_and_recovers() {
    // One worker and a queue of 8: the capacity is one scoring at a time.
    let model = ModelConfig {
        users: 1_000,
        items: 100_000,
        ..ModelConfig::default()
    };
    let srv = start(
        model,
        ServeConfig {
            workers: 1,
            queue: 8,
            ..ServeConfig::default()
        },
    );
    // Capacity from sequential requests.
    let began = Instant::now();
    for u in 0..30 {
        assert_eq!(
            http(
                srv.addr,
                "POST",
                "/v1/recommend",
                &format!(r#"{{"user_id": {u}}}"#)
            )
            .0,
            200
        );
    }
    let per_request = began.elapsed().as_secs_f64() / 30.0;
    let capacity = 1.0 / per_request;
    let overload = (10.0 * capacity).min(4000.0);
    let s = load(srv.addr, overload, 3);
    let ok = s.status.get("2xx").copied().unwrap_or(0);
    let shed = s.status.get("5xx").copied().unwrap_or(0);
    assert_eq!(s.failed, 0, "{s:?}");
    assert!(
        shed as f64 > 0.5 * s.completed as f64,
        "at {overload:.0} req/s ({capacity:.0} capacity): {ok} answered, {shed} shed"
    );
    // The queue never held more than its bound (the gauge also counts a job being handed to
    // the channel and one the worker has taken but not yet counted off).
    let m = srv.service.metrics();
    let deepest = m.queue_depth_max.load(Ordering::Relaxed);
    assert!((8..=10).contains(&deepest), "{deepest}");
    assert!(m.shed.load(Ordering::Relaxed) >= shed);
    // Load drops: everything is answered again.
    let calm = load(srv.addr, (0.3 * capacity).max(5.0), 2);
    assert_eq!(
        calm.status.get("2xx").copied(),
        Some(calm.completed),
        "{calm:?}"
    );
    assert_eq!(calm.failed, 0);
}
