//! The HTTP side: routes, the bounded queue in front of the scoring workers, and metrics.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::sync::oneshot;

use crate::access_log::AccessLog;
use crate::metrics::Metrics;
use crate::model::{Model, Scored};

/// The service's settings.
#[derive(Debug, Clone, Copy)]
pub struct ServeConfig {
    /// Scoring worker threads.
    pub workers: usize,
    /// Jobs waiting beyond the workers' before 503.
    pub queue: usize,
    /// The largest request body, bytes (larger: 413).
    pub max_body: usize,
    /// The largest k.
    pub max_k: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            queue: 64,
            max_body: 16 * 1024,
            max_k: 1000,
        }
    }
}

struct Job {
    user: u64,
    k: usize,
    reply: oneshot::Sender<Vec<Scored>>,
}

/// The service: the model, its workers and its metrics.
#[derive(Debug, Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: ServeConfig,
    jobs: Mutex<Option<SyncSender<Job>>>,
    metrics: Metrics,
    access_log: Option<AccessLog>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").field("cfg", &self.cfg).finish()
    }
}

impl Service {
    /// Starts the scoring workers over `model`. They stop when the service is dropped.
    pub fn start(model: Arc<Model>, cfg: ServeConfig) -> Service {
        Service::start_logged(model, cfg, None)
    }

    /// [`Service::start`], logging every answered request to `access_log`.
    pub fn start_logged(
        model: Arc<Model>,
        cfg: ServeConfig,
        access_log: Option<AccessLog>,
    ) -> Service {
        let workers = cfg.workers.max(1);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(cfg.queue);
        let rx = Arc::new(Mutex::new(rx));
        let inner = Arc::new(Inner {
            cfg: ServeConfig { workers, ..cfg },
            jobs: Mutex::new(Some(tx)),
            metrics: Metrics::default(),
            access_log,
        });
        for _ in 0..workers {
            let rx = rx.clone();
            let weak = Arc::downgrade(&inner);
            let model = model.clone();
            std::thread::spawn(move || {
                loop {
                    let job = {
                        let Ok(guard) = rx.lock() else { return };
                        match guard.recv() {
                            Ok(job) => job,
                            Err(_) => return,
                        }
                    };
                    if let Some(inner) = weak.upgrade() {
                        inner.metrics.queue_depth.fetch_sub(1, Ordering::Relaxed);
                    }
                    let _ = job.reply.send(model.recommend(job.user, job.k));
                }
            });
        }
        Service { inner }
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The routes.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/recommend", post(recommend))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(|| async { "ready\n" }))
            .route("/metrics", get(metrics_text))
            .layer(DefaultBodyLimit::max(self.inner.cfg.max_body))
            .layer(middleware::from_fn_with_state(self.clone(), observe))
            .with_state(self.clone())
    }

    /// Stops taking jobs; the workers end when the queue is empty.
    pub fn close(&self) {
        if let Ok(mut jobs) = self.inner.jobs.lock() {
            jobs.take();
        }
    }

    /// Closes the access log, if any: rows written and rows dropped.
    pub fn finish_access_log(&self) -> std::io::Result<Option<(u64, u64)>> {
        match &self.inner.access_log {
            Some(log) => Ok(Some((log.finish()?, log.dropped.load(Ordering::Relaxed)))),
            None => Ok(None),
        }
    }
}

/// Serves `service` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: Service,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = service.router();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    service.close();
    result
}

/// Counts every request: in flight while served, then by status and duration.
async fn observe(State(svc): State<Service>, req: Request, next: Next) -> Response {
    let m = &svc.inner.metrics;
    let began = Instant::now();
    let arrival = std::time::SystemTime::now();
    let path = req.uri().path();
    let scrape = path == "/metrics";
    // The access log is the service's traffic: probes and scrapes stay out of it.
    let probe = scrape || path == "/healthz" || path == "/readyz";
    m.in_flight.fetch_add(1, Ordering::Relaxed);
    let response = next.run(req).await;
    m.in_flight.fetch_sub(1, Ordering::Relaxed);
    let took = began.elapsed();
    let status = response.status().as_u16();
    if !scrape {
        m.observe(status, took.as_secs_f64());
    }
    if let (Some(log), false) = (&svc.inner.access_log, probe) {
        log.record(arrival, took, status);
    }
    response
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Ask {
    user_id: UserId,
    #[serde(default = "default_k")]
    k: usize,
}

fn default_k() -> usize {
    20
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum UserId {
    Number(u64),
    Text(String),
}

fn problem(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "error": message }).to_string(),
    )
        .into_response()
}

async fn recommend(State(svc): State<Service>, body: Bytes) -> Response {
    let ask: Ask = match serde_json::from_slice(&body) {
        Ok(a) => a,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                format!(
                    "the body is not a recommendation request ({e}); send {{\"user_id\": 42, \"k\": 20}}"
                ),
            );
        }
    };
    let max_k = svc.inner.cfg.max_k;
    if ask.k == 0 || ask.k > max_k {
        return problem(
            StatusCode::BAD_REQUEST,
            format!("k {}: expected 1 to {max_k}", ask.k),
        );
    }
    let user = match &ask.user_id {
        UserId::Number(n) => *n,
        UserId::Text(s) => fnv1a(s.as_bytes()),
    };
    let (reply, answer) = oneshot::channel();
    // Counted before it is sent: a worker may take it at once.
    svc.inner.metrics.enqueued();
    let sent = {
        let jobs = svc.inner.jobs.lock();
        match jobs.as_ref().ok().and_then(|j| j.as_ref()) {
            Some(tx) => tx.try_send(Job {
                user,
                k: ask.k,
                reply,
            }),
            None => Err(TrySendError::Disconnected(Job {
                user,
                k: ask.k,
                reply,
            })),
        }
    };
    if sent.is_err() {
        svc.inner
            .metrics
            .queue_depth
            .fetch_sub(1, Ordering::Relaxed);
    }
    match sent {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            svc.inner.metrics.shed.fetch_add(1, Ordering::Relaxed);
            return problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded: the queue is full".into(),
            );
        }
        Err(TrySendError::Disconnected(_)) => {
            return problem(StatusCode::SERVICE_UNAVAILABLE, "shutting down".into());
        }
    }
    match answer.await {
        Ok(items) => (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "user_id": user, "items": items }).to_string(),
        )
            .into_response(),
        Err(_) => problem(StatusCode::INTERNAL_SERVER_ERROR, "scoring failed".into()),
    }
}

async fn metrics_text(State(svc): State<Service>) -> Response {
    let cfg = &svc.inner.cfg;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        svc.inner.metrics.render(cfg.workers, cfg.queue),
    )
        .into_response()
}

/// FNV-1a: string user ids to numbers.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
