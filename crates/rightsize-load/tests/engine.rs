//! The engine against real HTTP servers on 127.0.0.1: accounting, open-model timing, and the
//! delay, stall, reset and timeout cases.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rightsize_core::load::schedule::{Arrivals, RateCurve};
use rightsize_load::request::{Order, RequestSpec};
use rightsize_load::run::{LoadConfig, RunResult, run};
use rightsize_load::summary::{Summary, summarize};
use rightsize_load::target::Target;
use rightsize_load::threshold::Threshold;

/// What the test server does with each request.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    /// Answers at once.
    Ok,
    /// Answers after a fixed delay.
    Delay(Duration),
    /// Holds every request that arrives in [at, at + length) until at + length.
    StallOnce { at: Duration, length: Duration },
    /// Closes the connection instead of answering every nth request.
    ResetEvery(u64),
    /// Never answers every nth request.
    HangEvery(u64),
}

struct Server {
    addr: SocketAddr,
    hits: Arc<AtomicU64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn server(behaviour: Behaviour, http2: bool) -> Server {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let hits = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
    let counter = hits.clone();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let began = Instant::now();
            loop {
                let (stream, _) = tokio::select! {
                    _ = &mut rx => return,
                    a = listener.accept() => match a { Ok(a) => a, Err(_) => continue },
                };
                let _ = stream.set_nodelay(true);
                let counter = counter.clone();
                let svc = service_fn(move |_req: Request<hyper::body::Incoming>| {
                    let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
                    async move {
                        match behaviour {
                            Behaviour::Ok => {}
                            Behaviour::Delay(d) => tokio::time::sleep(d).await,
                            Behaviour::StallOnce { at, length } => {
                                let t = began.elapsed();
                                if t >= at && t < at + length {
                                    tokio::time::sleep(at + length - t).await;
                                }
                            }
                            Behaviour::ResetEvery(k) if n.is_multiple_of(k) => {
                                return Err("reset".to_string());
                            }
                            Behaviour::HangEvery(k) if n.is_multiple_of(k) => {
                                tokio::time::sleep(Duration::from_secs(30)).await;
                            }
                            _ => {}
                        }
                        Ok::<_, String>(Response::new(Full::new(Bytes::from_static(b"ok"))))
                    }
                });
                tokio::spawn(async move {
                    let io = TokioIo::new(stream);
                    if http2 {
                        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                            .serve_connection(io, svc)
                            .await;
                    } else {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, svc)
                            .await;
                    }
                });
            }
        });
    });
    Server {
        addr,
        hits,
        stop: Some(tx),
        thread: Some(thread),
    }
}

fn config(addr: SocketAddr, curve: RateCurve, arrivals: Arrivals) -> LoadConfig {
    LoadConfig {
        curve,
        arrivals,
        seed: 1,
        target: Target::parse(&format!("http://{addr}/v1/recommend"), false).expect("target"),
        request: RequestSpec::new("GET", &[], None, vec![], Order::RoundRobin, 1).expect("spec"),
        http2: false,
        timeout: Duration::from_secs(5),
        max_in_flight: None,
        threads: 1,
        connections: 1024,
        warmup_s: 0.0,
        keep_histograms: false,
    }
}

fn go(cfg: &LoadConfig) -> (RunResult, Summary) {
    let stop = Arc::new(AtomicBool::new(false));
    let result = run(cfg, &stop, |_| {}).expect("run");
    let summary = summarize(cfg, &result, &[], None);
    (result, summary)
}

/// Every scheduled request is accounted for, in the summary and in the timeline.
fn accounted(result: &RunResult, s: &Summary) {
    let m = &s.measure;
    assert_eq!(m.scheduled, m.completed + m.failed + m.dropped, "{m:?}");
    assert_eq!(m.sent, m.completed + m.failed, "{m:?}");
    let c = result
        .timeline
        .iter()
        .fold(rightsize_load::stats::Counters::default(), |mut a, r| {
            a.scheduled += r.counters.scheduled;
            a.completed += r.counters.completed;
            a.failed += r.counters.failed;
            a.dropped += r.counters.dropped;
            a
        });
    assert_eq!(
        (c.scheduled, c.completed, c.failed, c.dropped),
        (m.scheduled, m.completed, m.failed, m.dropped)
    );
}

#[test]
fn a_steady_rate_is_sent_on_schedule_and_every_request_accounted_for() {
    let srv = server(Behaviour::Ok, false);
    let cfg = config(
        srv.addr,
        RateCurve::constant(1000.0, 4).expect("curve"),
        Arrivals::Uniform,
    );
    let (result, s) = go(&cfg);
    accounted(&result, &s);
    assert_eq!(s.measure.scheduled, 4000);
    assert_eq!(s.measure.completed, 4000);
    assert_eq!(srv.hits.load(Ordering::Relaxed), 4000);
    assert_eq!(s.measure.status.get("2xx"), Some(&4000));
    // Each full second sends its thousand within 2%.
    for row in &result.timeline[..4] {
        assert!(
            (980..=1020).contains(&row.counters.sent),
            "second {}: {}",
            row.second,
            row.counters.sent
        );
    }
    // Keep-alive: a handful of connections, not one per request.
    assert!(s.measure.connections < 50, "{}", s.measure.connections);
    assert!(s.measure.connect_ms.count == s.measure.connections);
    assert!(!s.partial);
}

#[test]
fn a_fixed_delay_shows_in_the_latency_and_the_service_time() {
    let srv = server(Behaviour::Delay(Duration::from_millis(20)), false);
    let cfg = config(
        srv.addr,
        RateCurve::constant(200.0, 3).expect("curve"),
        Arrivals::Poisson,
    );
    let (result, s) = go(&cfg);
    accounted(&result, &s);
    let l = s.measure.latency_ms;
    assert!((20.0..26.0).contains(&l.p50), "{l:?}");
    assert!(
        (20.0..26.0).contains(&s.measure.service_ms.p50),
        "{:?}",
        s.measure.service_ms
    );
    // Open model: requests overlap, so more than one connection is in use.
    assert!(s.measure.connections > 1);
}

#[test]
fn a_one_second_stall_shows_in_the_latency_from_the_intended_time() {
    let srv = server(
        Behaviour::StallOnce {
            at: Duration::from_millis(2000),
            length: Duration::from_secs(1),
        },
        false,
    );
    let cfg = config(
        srv.addr,
        RateCurve::constant(500.0, 5).expect("curve"),
        Arrivals::Uniform,
    );
    let (result, s) = go(&cfg);
    accounted(&result, &s);
    // A fifth of the run waits 0-1 s: the p99 sits near 1 s, the median is untouched.
    let l = s.measure.latency_ms;
    assert!(l.p99 >= 500.0, "{l:?}");
    assert!(l.p50 < 50.0, "{l:?}");
    // The stall is in the timeline: the second after it holds the slow requests.
    assert!(result.timeline.iter().any(|r| r.latency.max >= 500.0));
}

#[test]
fn resets_are_failures_and_the_run_goes_on() {
    let srv = server(Behaviour::ResetEvery(10), false);
    let cfg = config(
        srv.addr,
        RateCurve::constant(300.0, 2).expect("curve"),
        Arrivals::Uniform,
    );
    let (result, s) = go(&cfg);
    accounted(&result, &s);
    let resets = s.measure.failures.get("reset").copied().unwrap_or(0);
    assert!((50..=70).contains(&resets), "{resets} of 600");
    assert_eq!(s.measure.failed, resets);
    let t = Threshold::parse("rate_failed<0.05").expect("threshold");
    let judged = summarize(&cfg, &result, &[t], None);
    assert!(!judged.ok && !judged.thresholds[0].ok);
}

#[test]
fn timeouts_are_failures_recorded_at_the_time_given_up() {
    let srv = server(Behaviour::HangEvery(20), false);
    let mut cfg = config(
        srv.addr,
        RateCurve::constant(200.0, 2).expect("curve"),
        Arrivals::Uniform,
    );
    cfg.timeout = Duration::from_millis(300);
    let (result, s) = go(&cfg);
    accounted(&result, &s);
    let timeouts = s.measure.failures.get("timeout").copied().unwrap_or(0);
    assert_eq!(timeouts, 20, "{:?}", s.measure);
    // Timeouts are in the latency at 300 ms: 5% of it.
    assert!(s.measure.latency_ms.max >= 300.0);
    assert!(
        s.measure.latency_ms.p99 >= 300.0,
        "{:?}",
        s.measure.latency_ms
    );
    assert_eq!(s.measure.latency_ms.count, s.measure.completed + timeouts);
    // The SLO verdict: 5% timed out, so the p99 is a timeout.
    let judged = summarize(&cfg, &result, &[], Some(100.0));
    assert!(!judged.slo.expect("slo").ok);
}

#[test]
fn a_cap_on_requests_in_flight_drops_and_flags_the_run() {
    let srv = server(Behaviour::Delay(Duration::from_secs(2)), false);
    let mut cfg = config(
        srv.addr,
        RateCurve::constant(10.0, 3).expect("curve"),
        Arrivals::Uniform,
    );
    cfg.max_in_flight = Some(10);
    let (result, s) = go(&cfg);
    accounted(&result, &s);
    // 30 scheduled; the first 10 hold the cap for 2 s, so 10 are dropped, then 10 more fit.
    assert_eq!(s.measure.scheduled, 30);
    assert!((8..=12).contains(&s.measure.dropped), "{:?}", s.measure);
    assert!(s.generator_limited);
    assert!(s.generator_notes[0].contains("dropped"));
}

#[test]
fn warm_up_breaches_do_not_fail_the_verdict_but_stay_in_the_data() {
    let srv = server(
        Behaviour::StallOnce {
            at: Duration::from_millis(300),
            length: Duration::from_millis(600),
        },
        false,
    );
    let mut cfg = config(
        srv.addr,
        RateCurve::constant(200.0, 4).expect("curve"),
        Arrivals::Uniform,
    );
    cfg.warmup_s = 2.0;
    let stop = Arc::new(AtomicBool::new(false));
    let result = run(&cfg, &stop, |_| {}).expect("run");
    let t = [Threshold::parse("p(99)<100").expect("t")];
    let s = summarize(&cfg, &result, &t, Some(100.0));
    assert!(s.ok, "{:?} {:?}", s.thresholds, s.slo);
    let w = s.warmup.expect("warm-up");
    assert!(w.latency_ms.max >= 300.0, "{w:?}");
    assert_eq!(w.scheduled + s.measure.scheduled, 800);
    assert!(result.timeline[0].phase == "warmup" && result.timeline[3].phase == "measure");
}

#[test]
fn h2c_multiplexes_on_one_connection() {
    let srv = server(Behaviour::Delay(Duration::from_millis(5)), true);
    let mut cfg = config(
        srv.addr,
        RateCurve::constant(400.0, 2).expect("curve"),
        Arrivals::Poisson,
    );
    cfg.http2 = true;
    let (result, s) = go(&cfg);
    accounted(&result, &s);
    assert_eq!(s.measure.failed, 0, "{:?}", s.measure);
    assert_eq!(s.measure.completed, s.measure.scheduled);
    assert_eq!(s.measure.connections, 1);
    assert_eq!(s.protocol, "h2c");
}

#[test]
fn threads_split_the_schedule_and_merge_their_histograms() {
    let srv = server(Behaviour::Ok, false);
    let mut cfg = config(
        srv.addr,
        RateCurve::constant(800.0, 2).expect("curve"),
        Arrivals::Poisson,
    );
    let (_, one) = go(&cfg);
    cfg.threads = 3;
    let (result, three) = go(&cfg);
    accounted(&result, &three);
    // The same seed: the same requests, whichever threads sent them.
    assert_eq!(one.measure.scheduled, three.measure.scheduled);
    assert_eq!(three.measure.completed, three.measure.scheduled);
}

#[test]
fn a_stop_ends_the_run_early_and_marks_it_partial() {
    let srv = server(Behaviour::Ok, false);
    let cfg = config(
        srv.addr,
        RateCurve::constant(100.0, 30).expect("curve"),
        Arrivals::Uniform,
    );
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let began = Instant::now();
    let result = run(&cfg, &stop, move |row| {
        if row.second == 1 {
            flag.store(true, Ordering::Relaxed);
        }
    })
    .expect("run");
    assert!(began.elapsed() < Duration::from_secs(10));
    let s = summarize(&cfg, &result, &[], None);
    assert!(s.partial);
    accounted(&result, &s);
    assert!(
        (150..=400).contains(&s.measure.scheduled),
        "{}",
        s.measure.scheduled
    );
}

#[test]
fn a_target_that_is_down_is_one_clear_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let cfg = config(
        format!("127.0.0.1:{port}").parse().expect("addr"),
        RateCurve::constant(10.0, 1).expect("curve"),
        Arrivals::Uniform,
    );
    let stop = Arc::new(AtomicBool::new(false));
    let e = run(&cfg, &stop, |_| {}).expect_err("down");
    assert!(e.to_string().contains("cannot connect"), "{e}");
}

#[test]
fn a_cap_on_connections_queues_requests_counts_the_waits_and_flags_the_run() {
    let srv = server(Behaviour::Delay(Duration::from_millis(50)), false);
    let mut cfg = config(
        srv.addr,
        RateCurve::constant(100.0, 2).expect("curve"),
        Arrivals::Uniform,
    );
    // 100 req/s of 50 ms answers need 5 connections; 2 serve 40 req/s.
    cfg.connections = 2;
    let (result, s) = go(&cfg);
    accounted(&result, &s);
    assert_eq!(s.measure.connections, 2);
    assert!(s.measure.connection_waits > 50, "{:?}", s.measure);
    assert_eq!(s.measure.completed, 200);
    // The queue is in the latency from the intended time, not in the service time.
    assert!(
        s.measure.latency_ms.p99 > 1000.0,
        "{:?}",
        s.measure.latency_ms
    );
    assert!(
        s.measure.service_ms.p99 < 100.0,
        "{:?}",
        s.measure.service_ms
    );
    assert!(s.generator_limited);
    assert!(
        s.generator_notes
            .iter()
            .any(|n| n.contains("--connections"))
    );
}
