//! `rightsize testbed`: one HTTP endpoint in front of emulated pods that a real autoscaler
//! configuration scales. The cluster — metric pipelines, the HPA or KEDA's executor, the
//! Deployment, the scheduler, the node provisioner — is the simulator's own
//! [`Cluster`](rightsize_core::sim::Cluster), stepped once per emulated second with the
//! arrival rate the endpoint measured, in real time compressed by `time_scale`. The pods are
//! real queues: each serves `servers` requests at once, each request holding a server for a
//! service time drawn from the analysis's fitted law (slower while the pod warms up), the
//! rest waiting in order. Latency is real; only the control loop's clock is compressed.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rightsize_core::queueing::PodQueue;
use rightsize_core::sim::{Cluster, NodePool, Scaler, ServiceModel, SimConfig, SimError};

use crate::metrics::Metrics;
use crate::model::Model;

/// What the testbed emulates.
#[derive(Clone)]
pub struct TestbedConfig {
    /// The service's behaviour (start-up, warm-up, CPU per request, load spread).
    pub service: ServiceModel,
    /// One pod as a queue: servers and the service-time law.
    pub queue: PodQueue,
    /// The nodes.
    pub pool: NodePool,
    /// The autoscaler.
    pub scaler: Scaler,
    /// Metric pipelines' settings, the HPA's phase, the initial replicas.
    pub sim: SimConfig,
    /// The emulated clock's start (cron windows are read against it), Unix seconds.
    pub start_unix_s: i64,
    /// Emulated seconds per real second.
    pub time_scale: f64,
    /// Seeds the load balancer's choices and the service times.
    pub seed: u64,
    /// Requests waiting at one pod beyond its servers before it answers 503.
    pub pod_queue: usize,
    /// Run the real scoring code instead of holding a server for a drawn service time.
    pub real_work: Option<Arc<Model>>,
}

impl std::fmt::Debug for TestbedConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestbedConfig")
            .field("time_scale", &self.time_scale)
            .field("start_unix_s", &self.start_unix_s)
            .field("servers", &self.queue.servers)
            .finish_non_exhaustive()
    }
}

/// One emulated second as the cluster saw it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StepRecord {
    /// Emulated seconds since the start.
    pub t_s: u64,
    /// Real seconds since the start.
    pub real_s: f64,
    /// Arrivals per second the endpoint measured over the step.
    pub rps: f64,
    /// Pods serving.
    pub ready: u32,
    /// Replicas the autoscaler asked for.
    pub desired: u32,
    /// Nodes (provisioning ones included).
    pub nodes: u32,
}

/// A serving pod.
struct EmuPod {
    id: u64,
    /// Emulated second from which it is warm.
    warm_at_s: f64,
    servers: tokio::sync::Semaphore,
    waiting: AtomicUsize,
}

/// The pods requests may go to, with cumulative weights (the observed imbalance: pods with
/// odd ids take `1 - cv` of an even share, the others `1 + cv`, as the simulator splits them).
#[derive(Default)]
struct Routing {
    pods: Vec<Arc<EmuPod>>,
    cumulative: Vec<f64>,
}

struct Inner {
    cfg: TestbedConfig,
    /// Cumulative service-time weights over `cfg.queue.service.points()`.
    service_cdf: Vec<f64>,
    routing: Mutex<Arc<Routing>>,
    arrivals: AtomicU64,
    /// Emulated seconds stepped.
    emulated_s: AtomicU64,
    desired: AtomicU64,
    ready: AtomicU64,
    nodes: AtomicU64,
    rng: Mutex<Xoshiro256PlusPlus>,
    steps: Mutex<Vec<StepRecord>>,
    metrics: Metrics,
    stop: AtomicBool,
    warnings: Vec<String>,
}

/// The emulated cluster. Dropping the last handle does not stop the control loop: call
/// [`Testbed::stop`].
#[derive(Clone)]
pub struct Testbed {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Testbed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Testbed")
            .field("cfg", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

/// The largest request body the testbed reads, bytes.
const MAX_BODY: usize = 64 * 1024;

impl Testbed {
    /// Builds the cluster in its steady state and starts its control loop on a thread of its
    /// own (one step per `1 / time_scale` real seconds).
    pub fn start(cfg: TestbedConfig) -> Result<Testbed, SimError> {
        if !(cfg.time_scale.is_finite() && cfg.time_scale > 0.0) {
            return Err(SimError::Invalid(format!(
                "time scale {} must be a positive number",
                cfg.time_scale
            )));
        }
        if cfg.queue.servers == 0 || cfg.queue.service.points().is_empty() {
            return Err(SimError::Invalid(
                "the pod model has no servers or no service time".into(),
            ));
        }
        // A week of cron windows; beyond it the last minute's state holds.
        let horizon_s = 8 * 86_400;
        let (cluster, warnings) = Cluster::new(
            &cfg.service,
            &cfg.pool,
            &cfg.scaler,
            &cfg.sim,
            cfg.start_unix_s,
            horizon_s,
        )?;
        let mut acc = 0.0;
        let service_cdf = cfg
            .queue
            .service
            .points()
            .iter()
            .map(|(_, w)| {
                acc += w;
                acc
            })
            .collect();
        let inner = Arc::new(Inner {
            rng: Mutex::new(Xoshiro256PlusPlus::seed_from_u64(cfg.seed)),
            cfg,
            service_cdf,
            routing: Mutex::new(Arc::new(Routing::default())),
            arrivals: AtomicU64::new(0),
            emulated_s: AtomicU64::new(0),
            desired: AtomicU64::new(0),
            ready: AtomicU64::new(0),
            nodes: AtomicU64::new(0),
            steps: Mutex::new(Vec::new()),
            metrics: Metrics::default(),
            stop: AtomicBool::new(false),
            warnings,
        });
        let tb = Testbed { inner };
        let mut cluster = cluster;
        // Step 0 with no load publishes the initial pods before the endpoint opens.
        tb.inner.apply(&mut cluster, 0.0, 0.0);
        let loop_tb = tb.clone();
        std::thread::Builder::new()
            .name("testbed-control".into())
            .spawn(move || loop_tb.inner.control_loop(cluster))
            .map_err(|e| SimError::Invalid(format!("cannot start the control loop: {e}")))?;
        Ok(tb)
    }

    /// Stops the control loop (the pods keep their last state).
    pub fn stop(&self) {
        self.inner.stop.store(true, Ordering::Relaxed);
    }

    /// What the cluster could not model, in words.
    pub fn warnings(&self) -> &[String] {
        &self.inner.warnings
    }

    /// Every emulated second so far.
    pub fn steps(&self) -> Vec<StepRecord> {
        self.inner
            .steps
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// The serving metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The routes: `/metrics`, `/healthz`, `/readyz`; every other request goes to the pods.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(|| async { "ready\n" }))
            .route("/metrics", get(metrics_text))
            .fallback(serve_request)
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(self.clone())
    }

    /// The Prometheus text: the serving metrics and the cluster's gauges.
    pub fn render_metrics(&self) -> String {
        let i = &self.inner;
        let mut out = i
            .metrics
            .render(i.cfg.queue.servers as usize, i.cfg.pod_queue);
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        for (name, help, v) in [
            (
                "rightsize_testbed_desired_replicas",
                "Replicas the autoscaler asks for.",
                g(&i.desired),
            ),
            (
                "rightsize_testbed_ready_replicas",
                "Emulated pods serving.",
                g(&i.ready),
            ),
            (
                "rightsize_testbed_nodes",
                "Emulated nodes, provisioning ones included.",
                g(&i.nodes),
            ),
            (
                "rightsize_testbed_emulated_seconds",
                "Emulated seconds since the start.",
                g(&i.emulated_s),
            ),
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n"
            ));
        }
        out
    }
}

impl Inner {
    /// Steps the cluster once per `1 / time_scale` seconds at absolute deadlines; a late
    /// wake-up steps every second that is due, sharing the arrivals among them.
    fn control_loop(&self, mut cluster: Cluster) {
        let period = Duration::from_secs_f64(1.0 / self.cfg.time_scale);
        let start = Instant::now();
        let mut k: u32 = 1;
        while !self.stop.load(Ordering::Relaxed) {
            let due = start + period * k;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
                continue;
            }
            let elapsed = start.elapsed();
            let steps_due = (elapsed.as_secs_f64() / period.as_secs_f64()) as u32 + 1 - k;
            let steps_due = steps_due.max(1);
            let arrived = self.arrivals.swap(0, Ordering::Relaxed) as f64;
            let rps = arrived * self.cfg.time_scale / f64::from(steps_due);
            for _ in 0..steps_due {
                self.apply(&mut cluster, rps, elapsed.as_secs_f64());
            }
            k += steps_due;
        }
    }

    /// One emulated second: step the cluster, publish its pods and gauges, log it.
    fn apply(&self, cluster: &mut Cluster, rps: f64, real_s: f64) {
        let t = cluster.now_s();
        let state = cluster.step(rps);
        let serving = cluster.serving_pods();
        let cold_s = self.cfg.service.cold_s;
        let cv = self.cfg.service.load_spread_cv.clamp(0.0, 0.9);
        if let Ok(mut routing) = self.routing.lock() {
            let same = routing.pods.len() == serving.len()
                && routing.pods.iter().zip(&serving).all(|(a, b)| a.id == b.id);
            if !same {
                let mut pods = Vec::with_capacity(serving.len());
                let mut cumulative = Vec::with_capacity(serving.len());
                let mut acc = 0.0;
                for p in &serving {
                    let pod = routing
                        .pods
                        .iter()
                        .find(|q| q.id == p.id)
                        .cloned()
                        .unwrap_or_else(|| {
                            Arc::new(EmuPod {
                                id: p.id,
                                warm_at_s: p.ready_at_s + cold_s,
                                servers: tokio::sync::Semaphore::new(
                                    self.cfg.queue.servers as usize,
                                ),
                                waiting: AtomicUsize::new(0),
                            })
                        });
                    acc += if pod.id % 2 == 1 { 1.0 - cv } else { 1.0 + cv };
                    cumulative.push(acc);
                    pods.push(pod);
                }
                *routing = Arc::new(Routing { pods, cumulative });
            }
        }
        self.emulated_s.store(t as u64 + 1, Ordering::Relaxed);
        self.desired.store(u64::from(state.spec), Ordering::Relaxed);
        self.ready.store(serving.len() as u64, Ordering::Relaxed);
        self.nodes
            .store(u64::from(state.live_nodes), Ordering::Relaxed);
        if let Ok(mut steps) = self.steps.lock() {
            steps.push(StepRecord {
                t_s: t as u64,
                real_s,
                rps,
                ready: state.ready,
                desired: state.spec,
                nodes: state.live_nodes,
            });
        }
    }

    /// A pod for the next request (weighted at random), and a uniform draw for its service
    /// time.
    fn choose(&self, routing: &Routing) -> (Option<Arc<EmuPod>>, f64) {
        let (a, b) = match self.rng.lock() {
            Ok(mut r) => (r.random::<f64>(), r.random::<f64>()),
            Err(_) => (0.5, 0.5),
        };
        let total = routing.cumulative.last().copied().unwrap_or(0.0);
        let pod = if routing.pods.is_empty() || total <= 0.0 {
            None
        } else {
            let k = routing.cumulative.partition_point(|c| *c <= a * total);
            routing.pods.get(k.min(routing.pods.len() - 1)).cloned()
        };
        (pod, b)
    }

    /// The service time of draw `u`, milliseconds (inverse of the fitted law's CDF).
    fn service_ms(&self, u: f64) -> f64 {
        let points = self.cfg.queue.service.points();
        let k = self.service_cdf.partition_point(|c| *c < u);
        points
            .get(k.min(points.len().saturating_sub(1)))
            .map_or(0.0, |p| p.0)
    }
}

/// Serves the testbed on `listener` until `shutdown` completes.
pub async fn serve_testbed(
    listener: tokio::net::TcpListener,
    tb: Testbed,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, tb.router())
        .with_graceful_shutdown(shutdown)
        .await
}

async fn metrics_text(State(tb): State<Testbed>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        tb.render_metrics(),
    )
        .into_response()
}

/// Any request but the probes: routed to a pod, queued for one of its servers, served.
async fn serve_request(State(tb): State<Testbed>, _body: Bytes) -> Response {
    let started = Instant::now();
    let i = &tb.inner;
    i.arrivals.fetch_add(1, Ordering::Relaxed);
    i.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let routing = match i.routing.lock() {
        Ok(r) => r.clone(),
        Err(_) => Arc::new(Routing::default()),
    };
    let (pod, u) = i.choose(&routing);
    drop(routing);
    let (status, body) = match pod {
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "{\"error\":\"no ready pod\"}".to_string(),
        ),
        Some(pod) => serve_on(&tb, &pod, u).await,
    };
    i.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    i.metrics
        .observe(status.as_u16(), started.elapsed().as_secs_f64());
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn serve_on(tb: &Testbed, pod: &EmuPod, u: f64) -> (StatusCode, String) {
    let i = &tb.inner;
    if pod.waiting.fetch_add(1, Ordering::Relaxed) >= i.cfg.pod_queue + i.cfg.queue.servers as usize
    {
        pod.waiting.fetch_sub(1, Ordering::Relaxed);
        i.metrics.shed.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{{\"error\":\"pod {} queue full\"}}", pod.id),
        );
    }
    let permit = pod.servers.acquire().await;
    let now_s = i.emulated_s.load(Ordering::Relaxed) as f64;
    let cold = now_s < pod.warm_at_s;
    let factor = if cold {
        i.cfg.service.cold_factor.max(1.0)
    } else {
        1.0
    };
    let service_ms = match &i.cfg.real_work {
        Some(model) => {
            let model = model.clone();
            let user = (u * 1e9) as u64;
            let t0 = Instant::now();
            let _ = tokio::task::spawn_blocking(move || model.recommend(user, 20)).await;
            let spent = t0.elapsed().as_secs_f64() * 1000.0;
            if factor > 1.0 {
                tokio::time::sleep(Duration::from_secs_f64(spent * (factor - 1.0) / 1000.0)).await;
            }
            spent * factor
        }
        None => {
            let ms = i.service_ms(u) * factor;
            tokio::time::sleep(Duration::from_secs_f64(ms / 1000.0)).await;
            ms
        }
    };
    drop(permit);
    pod.waiting.fetch_sub(1, Ordering::Relaxed);
    (
        StatusCode::OK,
        format!(
            "{{\"pod\":{},\"service_ms\":{service_ms:.3},\"cold\":{cold}}}",
            pod.id
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rightsize_core::queueing::ServiceTime;
    use rightsize_core::sim::latency::LatencyTable;
    use rightsize_core::sim::{NodePool, Provisioner};

    fn config(replicas: u32, cv: f64) -> TestbedConfig {
        let queue = PodQueue {
            servers: 2,
            service: ServiceTime::lognormal(20.0, 0.5),
        };
        TestbedConfig {
            service: ServiceModel {
                latency: LatencyTable::new(&queue, 1000.0),
                cpu_per_request_core_s: 0.01,
                idle_cpu_cores: 0.0,
                cpu_request_cores: 1.0,
                startup_s: 30.0,
                cold_s: 0.0,
                cold_factor: 1.0,
                load_spread_cv: cv,
            },
            queue,
            pool: NodePool {
                pods_per_node: 4,
                usd_per_node_hour: 0.1,
                min_nodes: 1,
                max_nodes: None,
                provisioner: Provisioner::Fixed,
            },
            scaler: Scaler::Fixed(replicas),
            sim: SimConfig::default(),
            start_unix_s: 1_763_942_400,
            time_scale: 10.0,
            seed: 7,
            pod_queue: 10,
            real_work: None,
        }
    }

    #[test]
    fn service_times_follow_the_fitted_law_and_pods_share_by_the_observed_spread() {
        let tb = Testbed::start(config(2, 0.5)).expect("starts");
        let i = &tb.inner;
        let n = 20_000;
        let mean = (0..n)
            .map(|k| i.service_ms((f64::from(k) + 0.5) / f64::from(n)))
            .sum::<f64>()
            / f64::from(n);
        let law = i.cfg.queue.service.mean_ms();
        assert!((mean - law).abs() < 0.01 * law, "{mean} vs {law}");
        // Two pods, spread 0.5: one takes 75% of the requests, the other 25%.
        let routing = i.routing.lock().expect("lock").clone();
        assert_eq!(routing.pods.len(), 2);
        let mut first = 0;
        for _ in 0..10_000 {
            if i.choose(&routing).0.expect("a pod").id == routing.pods[0].id {
                first += 1;
            }
        }
        let share = f64::from(first) / 10_000.0;
        let expected = if routing.pods[0].id % 2 == 1 {
            0.25
        } else {
            0.75
        };
        assert!((share - expected).abs() < 0.03, "{share} vs {expected}");
        tb.stop();
    }

    #[test]
    fn real_work_runs_the_scoring_code() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let model = Model::generate(crate::model::ModelConfig {
            users: 100,
            items: 2000,
            ..crate::model::ModelConfig::default()
        })
        .expect("model");
        let tb = Testbed::start(TestbedConfig {
            real_work: Some(Arc::new(model)),
            ..config(1, 0.0)
        })
        .expect("starts");
        let (status, body) = rt.block_on(async {
            let r = serve_request(State(tb.clone()), Bytes::new()).await;
            let status = r.status();
            let body = axum::body::to_bytes(r.into_body(), 1024)
                .await
                .expect("body");
            (status, String::from_utf8_lossy(&body).to_string())
        });
        tb.stop();
        assert_eq!(status, StatusCode::OK, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        let ms = v["service_ms"].as_f64().expect("service_ms");
        // Scored, not slept: 2,000 items take well under a millisecond, while the configured
        // law (median 20 ms, sigma 0.5) falls below 2 ms once in a million draws.
        assert!(ms > 0.0 && ms < 2.0, "{body}");
    }

    #[test]
    fn no_ready_pod_and_a_full_pod_queue_answer_503() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let tb = Testbed::start(config(0, 0.0)).expect("starts");
        let (status, body) = rt.block_on(async {
            let r = serve_request(State(tb.clone()), Bytes::new()).await;
            let status = r.status();
            let body = axum::body::to_bytes(r.into_body(), 1024)
                .await
                .expect("body");
            (status, String::from_utf8_lossy(&body).to_string())
        });
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("no ready pod"), "{body}");
        tb.stop();
        // One pod of two servers and a queue of 10: the 13th request at once is refused.
        let tb = Testbed::start(config(1, 0.0)).expect("starts");
        let statuses = rt.block_on(async {
            let calls: Vec<_> = (0..13)
                .map(|_| tokio::spawn(serve_request(State(tb.clone()), Bytes::new())))
                .collect();
            let mut out = Vec::new();
            for c in calls {
                out.push(c.await.expect("joins").status());
            }
            out
        });
        let refused = statuses
            .iter()
            .filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE)
            .count();
        assert_eq!(refused, 1, "{statuses:?}");
        assert_eq!(tb.metrics().shed.load(Ordering::Relaxed), 1);
        tb.stop();
    }
}
