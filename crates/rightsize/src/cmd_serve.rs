//! `rightsize serve`: the recommendation service, for load tests and the testbed.

use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use rightsize_serve::access_log::AccessLog;
use rightsize_serve::model::{Model, ModelConfig};
use rightsize_serve::server::{ServeConfig, Service, serve};

/// `rightsize serve …`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen; port 0 picks a free port (the address is printed on stdout).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Scoring worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Scoring jobs that may wait for a worker; beyond that a request gets 503 at once.
    #[arg(long, value_name = "N", default_value_t = 64)]
    queue: usize,
    /// Items in the catalogue (each request scores all of them on the coarse dimensions).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    items: usize,
    /// Users with an embedding (ids wrap around).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    users: usize,
    /// Embedding dimensions (a multiple of 8).
    #[arg(long, value_name = "N", default_value_t = 64)]
    dims: usize,
    /// Seed of the embedding tables.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write an access log, one CSV row per answered request (timestamp,latency_ms,status,pod;
    /// Unix milliseconds at arrival): telemetry that rightsize analyze reads, e.g. to fit the
    /// capacity model of this service and compare it with `loadtest capacity`.
    #[arg(long, value_name = "FILE")]
    access_log: Option<std::path::PathBuf>,
    /// The pod column of the access log.
    #[arg(long, value_name = "NAME", default_value = "rightsize-serve-0")]
    pod: String,
}

/// Runs the command until Ctrl-C.
pub fn run(a: ServeArgs) -> anyhow::Result<()> {
    if a.queue == 0 {
        bail!("--queue must be at least 1");
    }
    if a.workers == Some(0) {
        bail!("--workers must be at least 1");
    }
    let model = Model::generate(ModelConfig {
        users: a.users,
        items: a.items,
        dims: a.dims,
        coarse_dims: 16.min(a.dims),
        seed: a.seed,
        ..ModelConfig::default()
    })?;
    let cfg = ServeConfig {
        workers: a.workers.unwrap_or(ServeConfig::default().workers),
        queue: a.queue,
        ..ServeConfig::default()
    };
    let access_log = match &a.access_log {
        Some(path) => Some(
            AccessLog::create(path, &a.pod)
                .with_context(|| format!("{}: cannot create the access log", path.display()))?,
        ),
        None => None,
    };
    let service = Service::start_logged(Arc::new(model), cfg, access_log);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .with_context(|| format!("cannot listen on {}", a.listen))?;
        let addr = listener.local_addr()?;
        println!("listening on http://{addr} (POST /v1/recommend, GET /healthz /readyz /metrics)");
        eprintln!(
            "{} items x {} dims, {} worker(s), queue {}; Ctrl-C stops",
            a.items, a.dims, cfg.workers, cfg.queue
        );
        serve(listener, service.clone(), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving failed")
    })?;
    if let Some((rows, dropped)) = service
        .finish_access_log()
        .context("cannot finish the access log")?
    {
        eprintln!(
            "access log: {rows} rows written{}",
            if dropped > 0 {
                format!(", {dropped} dropped because the disk fell behind")
            } else {
                String::new()
            }
        );
    }
    Ok(())
}
