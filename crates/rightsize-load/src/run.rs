//! The engine: worker threads, each a single-threaded tokio runtime with its own connections and
//! histograms, dispatch their stripe of the schedule (request i goes to worker i mod W, as k6's
//! execution segments split a test) at the intended instants; the calling thread merges their
//! per-second slices into the timeline as seconds complete.
//!
//! Timing: a dispatcher sleeps to absolute deadlines (no drift) on tokio's millisecond timer
//! until the last few milliseconds, then on a precise timer thread (see [`Timer`]); the runtime
//! keeps serving I/O meanwhile. A request whose instant has passed is sent at once (burst catch-up); its
//! lateness is the schedule lag and is part of its latency.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Request, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rightsize_core::load::schedule::{Arrivals, RateCurve, Schedule};
use tokio::net::TcpStream;

use crate::LoadError;
use crate::request::RequestSpec;
use crate::stats::{Interval, PhaseStats, Quantiles, SecondRow, record};
use crate::target::Target;

/// A load test's settings.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The target rate, second by second.
    pub curve: RateCurve,
    /// How requests arrive within the curve.
    pub arrivals: Arrivals,
    /// Seed of the schedule (and of random payload picks).
    pub seed: u64,
    /// Where requests go.
    pub target: Target,
    /// What they carry.
    pub request: RequestSpec,
    /// HTTP/2 without TLS (h2c, prior knowledge) instead of HTTP/1.1 keep-alive.
    pub http2: bool,
    /// A request with no response this long after its dispatch has failed.
    pub timeout: Duration,
    /// At most this many requests in flight; a request due beyond it is dropped.
    pub max_in_flight: Option<u64>,
    /// Worker threads.
    pub threads: usize,
    /// The most HTTP/1.1 connections open at once (split between threads); a request due when
    /// all are busy waits for one, and the wait is part of its latency.
    pub connections: usize,
    /// Seconds at the start excluded from verdicts (kept in the data).
    pub warmup_s: f64,
    /// Keep each second's latency histogram in the timeline (tens of kilobytes a second).
    pub keep_histograms: bool,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The warm-up phase (requests intended before `warmup_s`).
    pub warmup: PhaseStats,
    /// The measured phase.
    pub measure: PhaseStats,
    /// Second by second, all threads merged.
    pub timeline: Vec<SecondRow>,
    /// Stopped before the schedule's end (Ctrl-C).
    pub partial: bool,
    /// Seconds from the start to the last request's end.
    pub elapsed_s: f64,
}

/// A worker's message to the collector.
enum Msg {
    Second(usize, Box<Interval>),
    Done(usize, Box<[PhaseStats; 2]>),
    Failed(String),
}

/// How long an interrupted run waits for requests in flight.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// Tokio's timer wakes up to a millisecond or two late: it is used until this long before an
/// instant, the precise timer for the rest.
const COARSE: Duration = Duration::from_millis(3);
/// Requests dispatched in a row, when late, before the dispatcher lets responses be read.
const BURST: u32 = 32;

/// Runs the load test. `stop` ends it early (what ran is kept, marked partial); `on_second`
/// sees each second's merged row as it completes (for live progress).
pub fn run(
    cfg: &LoadConfig,
    stop: &Arc<AtomicBool>,
    mut on_second: impl FnMut(&SecondRow),
) -> Result<RunResult, LoadError> {
    preflight(&cfg.target)?;
    let shared = Arc::new(cfg.clone());
    let threads = cfg.threads.max(1);
    // All workers start on the same instant, a moment from now to let their runtimes start and
    // open their first connections.
    let start = Instant::now() + Duration::from_millis(200);
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut timeline = Vec::new();
    let mut phases: [PhaseStats; 2] = Default::default();
    let mut failure = None;
    std::thread::scope(|scope| {
        for w in 0..threads {
            let tx = tx.clone();
            let (cfg, stop) = (shared.clone(), stop.clone());
            scope.spawn(move || {
                let msg = match worker(cfg, w, threads, start, stop, &tx) {
                    Ok(stats) => Msg::Done(w, Box::new(stats)),
                    Err(e) => Msg::Failed(e),
                };
                let _ = tx.send(msg);
            });
        }
        drop(tx);
        let mut pending: std::collections::BTreeMap<u64, Interval> = Default::default();
        let mut reported = vec![0u64; threads];
        let mut done = vec![false; threads];
        let mut next = 0u64;
        for msg in rx {
            match msg {
                Msg::Second(w, iv) => {
                    let s = iv.second;
                    let entry = pending.entry(s).or_insert_with(|| Interval::new(s));
                    merge_interval(entry, &iv);
                    reported[w] = s + 1;
                }
                Msg::Done(w, stats) => {
                    done[w] = true;
                    for (p, s) in phases.iter_mut().zip(stats.iter()) {
                        p.merge(s);
                    }
                }
                Msg::Failed(e) => {
                    failure.get_or_insert(e);
                    stop.store(true, Ordering::Relaxed);
                }
            }
            // A second is complete when every worker still running has sent it.
            while let Some(iv) = pending.get(&next) {
                if (0..threads).any(|w| !done[w] && reported[w] <= next) {
                    break;
                }
                let row = row(cfg, iv);
                on_second(&row);
                timeline.push(row);
                pending.remove(&next);
                next += 1;
            }
        }
        for (_, iv) in std::mem::take(&mut pending) {
            let row = row(cfg, &iv);
            on_second(&row);
            timeline.push(row);
        }
    });
    if let Some(e) = failure {
        return Err(LoadError::Worker(e));
    }
    let [warmup, measure] = phases;
    let elapsed_s = start.elapsed().as_secs_f64();
    let scheduled = warmup.counters.scheduled + measure.counters.scheduled;
    Ok(RunResult {
        partial: stop.load(Ordering::Relaxed) && scheduled < expected_requests(cfg),
        warmup,
        measure,
        timeline,
        elapsed_s,
    })
}

/// Requests in the whole schedule.
fn expected_requests(cfg: &LoadConfig) -> u64 {
    Schedule::new(&cfg.curve, cfg.arrivals, cfg.seed).count() as u64
}

/// One connection before the run, so that a target that is down is one clear error rather than
/// a run of connect failures.
fn preflight(target: &Target) -> Result<(), LoadError> {
    let addr = target.addrs[0];
    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| {
        LoadError::Unreachable {
            url: target.url.clone(),
            reason: e.to_string(),
        }
    })?;
    Ok(())
}

fn merge_interval(into: &mut Interval, o: &Interval) {
    into.counters.add(&o.counters);
    let _ = into.latency.add(&o.latency);
    let _ = into.lag.add(&o.lag);
    into.in_flight += o.in_flight;
}

fn row(cfg: &LoadConfig, iv: &Interval) -> SecondRow {
    SecondRow {
        second: iv.second,
        phase: if (iv.second as f64) < cfg.warmup_s {
            "warmup"
        } else {
            "measure"
        },
        target_rps: cfg
            .curve
            .rps
            .get(iv.second as usize)
            .copied()
            .unwrap_or(0.0),
        counters: iv.counters.clone(),
        in_flight: iv.in_flight,
        latency: Quantiles::of(&iv.latency),
        lag: Quantiles::of(&iv.lag),
        histogram: cfg.keep_histograms.then(|| iv.latency.clone()),
    }
}

type Body = Full<Bytes>;

/// One worker thread's state, shared by its tasks (one thread: `Rc`, no locks).
struct Worker {
    cfg: Arc<LoadConfig>,
    stop: Arc<AtomicBool>,
    /// Idle HTTP/1.1 connections, most recently used last.
    idle: RefCell<Vec<http1::SendRequest<Body>>>,
    /// HTTP/1.1 connections open or being opened (idle ones included).
    open: Cell<usize>,
    /// The most this worker may have open.
    max_open: usize,
    /// Connects in progress.
    connecting: Cell<usize>,
    /// Notified when a connection is returned, closed, or opened.
    freed: tokio::sync::Notify,
    /// The HTTP/2 connection.
    h2: RefCell<Option<http2::SendRequest<Body>>>,
    phases: RefCell<[PhaseStats; 2]>,
    interval: RefCell<Interval>,
    in_flight: [Cell<u64>; 2],
    host: HeaderValue,
    path: Uri,
}

/// Why a request got no response.
enum Failure {
    Connect,
    Reset,
}

struct Exchange {
    sent_at: Instant,
    status: u16,
    bytes: u64,
}

fn worker(
    cfg: Arc<LoadConfig>,
    w: usize,
    threads: usize,
    start: Instant,
    stop: Arc<AtomicBool>,
    tx: &mpsc::Sender<Msg>,
) -> Result<[PhaseStats; 2], String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a worker runtime: {e}"))?;
    let host = HeaderValue::from_str(&cfg.target.authority)
        .map_err(|_| format!("{}: the host is not valid in a header", cfg.target.url))?;
    let path: Uri = cfg
        .target
        .path_and_query
        .parse()
        .map_err(|e| format!("{}: {e}", cfg.target.url))?;
    let state = Rc::new(Worker {
        cfg: cfg.clone(),
        stop: stop.clone(),
        idle: RefCell::new(Vec::new()),
        open: Cell::new(0),
        max_open: cfg.connections.div_ceil(threads).max(1),
        connecting: Cell::new(0),
        freed: tokio::sync::Notify::new(),
        h2: RefCell::new(None),
        phases: RefCell::new(Default::default()),
        interval: RefCell::new(Interval::new(0)),
        in_flight: [Cell::new(0), Cell::new(0)],
        host,
        path,
    });
    let (timer, timer_thread) = Timer::spawn(start);
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        if !cfg.http2 {
            preconnect(&state, threads).await;
        }
        let ticker_state = state.clone();
        let ticker_tx = tx.clone();
        let ticker = local_ticker(ticker_state, w, start, ticker_tx);
        tokio::pin!(ticker);
        let dispatch = dispatch(
            state.clone(),
            w,
            threads,
            start,
            timer.clone(),
            timer_thread.thread().clone(),
        );
        tokio::select! {
            _ = &mut ticker => {}
            _ = dispatch => {}
        }
        // Drain: every request has a timeout, so this ends; an interrupted run waits briefly.
        let began = Instant::now();
        let mut drained = false;
        while !drained {
            let left = state.in_flight[0].get() + state.in_flight[1].get();
            if left == 0 {
                drained = true;
            } else if stop.load(Ordering::Relaxed) && began.elapsed() > STOP_GRACE {
                let mut phases = state.phases.borrow_mut();
                let mut iv = state.interval.borrow_mut();
                for (p, c) in phases.iter_mut().zip(&state.in_flight) {
                    let n = c.replace(0);
                    p.counters.failed += n;
                    p.counters.cancelled += n;
                    iv.counters.failed += n;
                    iv.counters.cancelled += n;
                }
                drained = true;
            } else {
                tokio::select! {
                    _ = &mut ticker => {}
                    _ = tokio::time::sleep(Duration::from_millis(1)) => {}
                }
            }
        }
    });
    timer.stop(timer_thread);
    // The last, partial second.
    let last = {
        let mut iv = state.interval.borrow_mut();
        let next = Interval::new(iv.second + 1);
        std::mem::replace(&mut *iv, next)
    };
    let _ = tx.send(Msg::Second(w, Box::new(last)));
    let phases = state.phases.replace(Default::default());
    Ok(phases)
}

/// Opens the connections the first second's rate needs for a millisecond of answers (a
/// thousandth of the rate, at least one, at most 64 per worker), so that a high rate does not
/// start with a burst of connects. They count as connections of the first phase.
async fn preconnect(state: &Rc<Worker>, threads: usize) {
    let first = state.cfg.curve.rps.first().copied().unwrap_or(0.0) / threads as f64;
    let n = ((first / 1000.0).ceil() as usize)
        .clamp(1, 64)
        .min(state.max_open);
    let phase = usize::from(state.cfg.warmup_s <= 0.0);
    for _ in 0..n {
        let Ok((sender, us)) = connect_h1(&state.cfg).await else {
            return;
        };
        note_connect(state, phase, us);
        state.open.set(state.open.get() + 1);
        state.idle.borrow_mut().push(sender);
    }
}

/// Sends each second's slice when the second ends. Never returns.
async fn local_ticker(state: Rc<Worker>, w: usize, start: Instant, tx: mpsc::Sender<Msg>) {
    let mut s = 0u64;
    loop {
        tokio::time::sleep_until((start + Duration::from_secs(s + 1)).into()).await;
        let mut iv = std::mem::replace(&mut *state.interval.borrow_mut(), Interval::new(s + 1));
        iv.in_flight = state.in_flight[0].get() + state.in_flight[1].get();
        let _ = tx.send(Msg::Second(w, Box::new(iv)));
        s += 1;
    }
}

/// Dispatches this worker's stripe of the schedule.
async fn dispatch(
    state: Rc<Worker>,
    w: usize,
    threads: usize,
    start: Instant,
    timer: Arc<Timer>,
    timer_thread: std::thread::Thread,
) {
    let cfg = state.cfg.clone();
    let stop = &*state.stop;
    let warmup_ns = (cfg.warmup_s * 1e9) as u64;
    let mut late_in_a_row = 0u32;
    let schedule = Schedule::new(&cfg.curve, cfg.arrivals, cfg.seed)
        .enumerate()
        .filter(|(i, _)| i % threads == w);
    for (i, t_ns) in schedule {
        let intended = start + Duration::from_nanos(t_ns);
        if Instant::now() < intended {
            late_in_a_row = 0;
            wait_until(intended, stop, &timer, &timer_thread).await;
        } else {
            late_in_a_row += 1;
            if late_in_a_row >= BURST {
                late_in_a_row = 0;
                tokio::task::yield_now().await;
            }
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let phase = usize::from(t_ns >= warmup_ns);
        let in_flight = state.in_flight[0].get() + state.in_flight[1].get();
        {
            let mut phases = state.phases.borrow_mut();
            let mut iv = state.interval.borrow_mut();
            phases[phase].counters.scheduled += 1;
            iv.counters.scheduled += 1;
            if cfg.max_in_flight.is_some_and(|m| in_flight >= m) {
                phases[phase].counters.dropped += 1;
                iv.counters.dropped += 1;
                continue;
            }
            phases[phase].counters.sent += 1;
            iv.counters.sent += 1;
        }
        state.in_flight[phase].set(state.in_flight[phase].get() + 1);
        tokio::task::spawn_local(one(state.clone(), i as u64, intended, phase));
    }
}

/// A precise waker for one worker. Tokio's timer has millisecond resolution and wakes up to a
/// millisecond late, which alone would be a schedule lag of ~1 ms; so the last milliseconds
/// before an instant are timed by a thread of its own (a nanosleep) that wakes the runtime
/// through a `Notify` a little early, and the last tens of microseconds are yielded on the
/// runtime, which keeps reading responses meanwhile.
struct Timer {
    start: Instant,
    /// The instant asked for, ns from `start`; `u64::MAX` when none.
    deadline: std::sync::atomic::AtomicU64,
    notify: tokio::sync::Notify,
    quit: AtomicBool,
}

/// The timer thread wakes the dispatcher this much before an instant (the kernel's timer slack
/// is 50 µs, and a wake-up across threads takes some tens of microseconds).
const SLACK: Duration = Duration::from_micros(100);
/// The last stretch before an instant is yielded on the runtime (which reads responses in
/// between); at high rates the dispatcher never sleeps.
const SPIN: Duration = Duration::from_micros(60);

impl Timer {
    fn spawn(start: Instant) -> (Arc<Timer>, std::thread::JoinHandle<()>) {
        let timer = Arc::new(Timer {
            start,
            deadline: std::sync::atomic::AtomicU64::new(u64::MAX),
            notify: tokio::sync::Notify::new(),
            quit: AtomicBool::new(false),
        });
        let t = timer.clone();
        let handle = std::thread::spawn(move || {
            while !t.quit.load(Ordering::Acquire) {
                let d = t.deadline.load(Ordering::Acquire);
                if d == u64::MAX {
                    std::thread::park();
                    continue;
                }
                // Woken a little early: the dispatcher yields the rest on its runtime, so this
                // thread never spins (it may share the runtime's core).
                let at = t.start + Duration::from_nanos(d);
                let now = Instant::now();
                if at > now + SLACK {
                    std::thread::sleep(at - now - SLACK);
                }
                if t.deadline
                    .compare_exchange(d, u64::MAX, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    t.notify.notify_one();
                }
            }
        });
        (timer, handle)
    }

    fn stop(&self, handle: std::thread::JoinHandle<()>) {
        self.quit.store(true, Ordering::Release);
        handle.thread().unpark();
        let _ = handle.join();
    }
}

/// Waits for `deadline`: tokio's timer until a few milliseconds before, then the precise
/// timer. Long waits check `stop` every 100 ms.
async fn wait_until(
    deadline: Instant,
    stop: &AtomicBool,
    timer: &Timer,
    timer_thread: &std::thread::Thread,
) {
    loop {
        let now = Instant::now();
        if now >= deadline || stop.load(Ordering::Relaxed) {
            return;
        }
        let left = deadline - now;
        if left > Duration::from_millis(100) {
            tokio::time::sleep_until((now + Duration::from_millis(100)).into()).await;
        } else if left > COARSE {
            tokio::time::sleep_until((deadline - COARSE).into()).await;
        } else if left <= SPIN {
            tokio::task::yield_now().await;
        } else {
            let ns = deadline.saturating_duration_since(timer.start).as_nanos() as u64;
            timer.deadline.store(ns, Ordering::Release);
            timer_thread.unpark();
            timer.notify.notified().await;
        }
    }
}

/// One request, from dispatch to its end.
async fn one(state: Rc<Worker>, i: u64, intended: Instant, phase: usize) {
    let dispatched = Instant::now();
    let lag_us = dispatched.saturating_duration_since(intended).as_micros() as u64;
    {
        let mut phases = state.phases.borrow_mut();
        record(&mut phases[phase].lag, lag_us);
        record(&mut state.interval.borrow_mut().lag, lag_us);
    }
    let outcome = tokio::time::timeout(state.cfg.timeout, exchange(&state, i, phase)).await;
    let end = Instant::now();
    let latency_us = end.saturating_duration_since(intended).as_micros() as u64;
    let mut phases = state.phases.borrow_mut();
    let mut iv = state.interval.borrow_mut();
    let p = &mut phases[phase];
    match outcome {
        Ok(Ok(x)) => {
            let class = (x.status / 100).clamp(1, 5) as usize - 1;
            for c in [&mut p.counters, &mut iv.counters] {
                c.completed += 1;
                c.status[class] += 1;
                c.bytes += x.bytes;
            }
            record(&mut p.latency, latency_us);
            record(&mut iv.latency, latency_us);
            record(
                &mut p.service,
                end.saturating_duration_since(x.sent_at).as_micros() as u64,
            );
        }
        Ok(Err(f)) => {
            for c in [&mut p.counters, &mut iv.counters] {
                c.failed += 1;
                match f {
                    Failure::Connect => c.connect_errors += 1,
                    Failure::Reset => c.resets += 1,
                }
            }
        }
        Err(_) => {
            // A timeout: the user waited this long and got nothing.
            for c in [&mut p.counters, &mut iv.counters] {
                c.failed += 1;
                c.timeouts += 1;
            }
            record(&mut p.latency, latency_us);
            record(&mut iv.latency, latency_us);
        }
    }
    let left = &state.in_flight[phase];
    left.set(left.get().saturating_sub(1));
}

/// Sends request `i` on an idle connection, or a new one, and reads the response.
async fn exchange(state: &Rc<Worker>, i: u64, phase: usize) -> Result<Exchange, Failure> {
    let cfg = &state.cfg;
    let body = cfg.request.body(i);
    let len = body.len();
    let mut builder = Request::builder().method(cfg.request.method.clone());
    builder = if cfg.http2 {
        builder.uri(cfg.target.uri.clone())
    } else {
        builder
            .uri(state.path.clone())
            .header(HOST, state.host.clone())
    };
    for (name, value) in &cfg.request.headers {
        builder = builder.header(name, value);
    }
    if cfg.request.has_body() {
        builder = builder.header(CONTENT_LENGTH, len);
        if !cfg.request.headers.iter().any(|(n, _)| n == CONTENT_TYPE) {
            builder = builder.header(CONTENT_TYPE, "application/json");
        }
    }
    let req = builder.body(Full::new(body)).map_err(|_| Failure::Reset)?;
    let (sent_at, response) = if cfg.http2 {
        let sender = state
            .h2
            .borrow()
            .as_ref()
            .filter(|s| !s.is_closed())
            .cloned();
        let mut sender = match sender {
            Some(s) => s,
            None => {
                let (s, us) = connect_h2(cfg).await?;
                note_connect(state, phase, us);
                *state.h2.borrow_mut() = Some(s.clone());
                s
            }
        };
        sender.ready().await.map_err(|_| Failure::Reset)?;
        let sent_at = Instant::now();
        (
            sent_at,
            sender.send_request(req).await.map_err(|_| Failure::Reset)?,
        )
    } else {
        let mut lease = lease(state, phase).await?;
        let Some(sender) = lease.sender.as_mut() else {
            return Err(Failure::Connect);
        };
        sender.ready().await.map_err(|_| Failure::Reset)?;
        let sent_at = Instant::now();
        let response = sender.send_request(req).await.map_err(|_| Failure::Reset)?;
        let status = response.status().as_u16();
        let bytes = read_body(response.into_body()).await?;
        // The connection is free again once the response is read.
        lease.release();
        return Ok(Exchange {
            sent_at,
            status,
            bytes,
        });
    };
    let status = response.status().as_u16();
    let bytes = read_body(response.into_body()).await?;
    Ok(Exchange {
        sent_at,
        status,
        bytes,
    })
}

/// A connection lent to one request, holding its place in the pool. Dropped without
/// [`Lease::release`] (an error, a timeout, a failed connect), the connection is closed and its
/// place freed.
struct Lease {
    sender: Option<http1::SendRequest<Body>>,
    /// A place taken for a connection being opened.
    connecting: bool,
    state: Rc<Worker>,
}

impl Lease {
    /// Returns the connection to the idle pool and wakes a waiting request.
    fn release(mut self) {
        if let Some(sender) = self.sender.take() {
            self.state.idle.borrow_mut().push(sender);
            self.state.freed.notify_one();
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.sender.is_some() || self.connecting {
            let open = &self.state.open;
            open.set(open.get().saturating_sub(1));
            self.state.freed.notify_one();
        }
    }
}

/// Counts a connect in progress while it lives (a timed-out request may drop it midway).
struct Connecting<'a>(&'a Cell<usize>);

impl Drop for Connecting<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

/// Connects opened at once by one worker. After a hiccup many requests are due together and
/// every connection is busy, most with answers already waiting to be read: opening a
/// connection for each of them would cost more than the hiccup (a storm that feeds itself).
/// So a few connects run at once, and the other requests take whichever frees first, a
/// returned connection or a new one.
const MAX_CONNECTING: usize = 16;

/// Turns of the runtime a request waits for a busy connection to come back before opening one.
const PATIENCE: u32 = 3;

/// An idle connection, a new one, or the next one freed.
async fn lease(state: &Rc<Worker>, phase: usize) -> Result<Lease, Failure> {
    let mut counted = false;
    let mut patience = PATIENCE;
    loop {
        loop {
            let Some(s) = state.idle.borrow_mut().pop() else {
                break;
            };
            if s.is_ready() {
                return Ok(Lease {
                    sender: Some(s),
                    connecting: false,
                    state: state.clone(),
                });
            }
            // Closed by the server while idle: its place is free.
            state.open.set(state.open.get().saturating_sub(1));
        }
        // Busy connections often hold answers not read yet: a few turns of the runtime read
        // them and return their connections.
        if patience > 0 && state.open.get() > 0 {
            patience -= 1;
            tokio::task::yield_now().await;
            continue;
        }
        let at_cap = state.open.get() >= state.max_open;
        if !at_cap && state.connecting.get() < MAX_CONNECTING {
            state.open.set(state.open.get() + 1);
            state.connecting.set(state.connecting.get() + 1);
            let mut lease = Lease {
                sender: None,
                connecting: true,
                state: state.clone(),
            };
            let connected = {
                let _counting = Connecting(&state.connecting);
                connect_h1(&state.cfg).await
            };
            // Another waiting request may start a connect now.
            state.freed.notify_one();
            let (sender, us) = connected?;
            note_connect(state, phase, us);
            lease.sender = Some(sender);
            lease.connecting = false;
            return Ok(lease);
        }
        if at_cap && !counted {
            counted = true;
            state.phases.borrow_mut()[phase].counters.conn_waits += 1;
        }
        state.freed.notified().await;
    }
}

fn note_connect(state: &Worker, phase: usize, us: u64) {
    let mut phases = state.phases.borrow_mut();
    record(&mut phases[phase].connect, us);
    phases[phase].counters.connections += 1;
    state.interval.borrow_mut().counters.connections += 1;
}

async fn read_body(mut body: hyper::body::Incoming) -> Result<u64, Failure> {
    let mut bytes = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Failure::Reset)?;
        if let Some(data) = frame.data_ref() {
            bytes += data.len() as u64;
        }
    }
    Ok(bytes)
}

async fn tcp(cfg: &LoadConfig) -> Result<(TcpStream, u64), Failure> {
    let began = Instant::now();
    let stream = TcpStream::connect(cfg.target.addrs[0])
        .await
        .map_err(|_| Failure::Connect)?;
    let _ = stream.set_nodelay(true);
    Ok((stream, began.elapsed().as_micros() as u64))
}

async fn connect_h1(cfg: &LoadConfig) -> Result<(http1::SendRequest<Body>, u64), Failure> {
    let (stream, us) = tcp(cfg).await?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| Failure::Connect)?;
    tokio::task::spawn_local(async move {
        let _ = conn.await;
    });
    Ok((sender, us))
}

async fn connect_h2(cfg: &LoadConfig) -> Result<(http2::SendRequest<Body>, u64), Failure> {
    let (stream, us) = tcp(cfg).await?;
    let (sender, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
        .await
        .map_err(|_| Failure::Connect)?;
    tokio::task::spawn_local(async move {
        let _ = conn.await;
    });
    Ok((sender, us))
}
