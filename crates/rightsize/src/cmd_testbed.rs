//! `rightsize testbed`: an emulated autoscaled cluster behind one HTTP endpoint, for load
//! tests of a configuration without a cluster.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use rightsize_core::cluster::ClusterConfig;
use rightsize_core::queueing::PodQueue;
use rightsize_core::sim::setup::{Facts, Setup, SetupOptions, setup_of};
use rightsize_serve::model::{Model, ModelConfig};
use rightsize_serve::testbed::{Testbed, TestbedConfig, serve_testbed};

use crate::cmd_config::{ClusterArgs, read_config};
use crate::cmd_simulate::{ReplayArgs, SETUP_CONTEXT, describe};
use crate::profile::read_analysis;

/// Flags of `rightsize testbed`.
#[derive(Debug, Args)]
pub struct TestbedArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// A proposal to run instead of today's scaling: manifests with an HPA or a KEDA
    /// ScaledObject, and optionally a node group (as `recommend` writes to proposed/); what
    /// they do not give comes from --config. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub policy: Vec<PathBuf>,
    /// analysis.json from rightsize analyze: the pods' fitted concurrency and service-time
    /// law, warm-up, load spread and CPU per request.
    #[arg(long, value_name = "FILE")]
    pub analysis: PathBuf,
    /// Emulated seconds per real second: the autoscaler, pod start-up and node provisioning
    /// run K times faster; request latency stays real.
    #[arg(long, value_name = "K", default_value_t = 1.0)]
    pub time_scale: f64,
    /// Where to listen; port 0 picks a free port (the address is printed on stdout).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The emulated clock's start, RFC 3339 (cron windows are read against it; default: now).
    #[arg(long, value_name = "TIME")]
    pub start: Option<jiff::Timestamp>,
    /// Replicas at the start (default: the first minute's ready pods in the analysis, else
    /// the scaler's minimum).
    #[arg(long, value_name = "N")]
    pub replicas: Option<u32>,
    /// Requests that may wait at one pod beyond its servers before it answers 503.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub pod_queue: usize,
    /// Run the real recommendation model for each request instead of holding a server for a
    /// service time drawn from the analysis's law (the latency is then this machine's).
    #[arg(long)]
    pub real_work: bool,
    /// Seed of the load balancer's choices and the service times.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[command(flatten)]
    pub replay: ReplayArgs,
}

/// A configuration set up for the emulated cluster, with its pod queue.
pub struct Emulated {
    /// The simulator's inputs for the configuration.
    pub setup: Setup,
    /// One pod as a queue.
    pub queue: PodQueue,
    /// The configuration in words.
    pub label: String,
}

/// Reads the analysis's facts.
pub fn read_facts(path: &Path) -> anyhow::Result<Facts> {
    let json = read_analysis(path)?;
    Facts::from_analysis_json(&json).map_err(|e| {
        anyhow!(
            "{}: {e}; re-run rightsize analyze to write a current analysis.json",
            path.display()
        )
    })
}

/// Sets up `config` (today's, or with `policy` applied) against the analysis's facts.
pub fn emulate(
    facts: &Facts,
    base: &ClusterConfig,
    policy: Option<&ClusterConfig>,
    cluster: &ClusterArgs,
    opts: &SetupOptions,
) -> anyhow::Result<Emulated> {
    let catalogue = cluster.catalogue()?;
    let tz = crate::inputs::parse_tz(&facts.time_zone)
        .map_err(|e| anyhow!("the analysis's time zone {:?}: {e}", facts.time_zone))?;
    let (config, label) = match policy {
        Some(p) => {
            let merged = base.with_policy(p).map_err(|e| anyhow!("--policy: {e}"))?;
            let label = format!("proposed: {}", describe(&merged));
            (merged, label)
        }
        None => (base.clone(), format!("today: {}", describe(base))),
    };
    let setup = setup_of(facts, None, &config, &catalogue, &tz, opts).context(SETUP_CONTEXT)?;
    let queue = facts.queue.clone().ok_or_else(|| {
        anyhow!(
            "the analysis has no capacity model: {}",
            facts.capacity_notes.join("; ")
        )
    })?;
    Ok(Emulated {
        setup,
        queue,
        label,
    })
}

/// The testbed's settings for an emulated configuration.
pub fn testbed_config(
    e: &Emulated,
    start_unix_s: i64,
    time_scale: f64,
    seed: u64,
    pod_queue: usize,
    real_work: bool,
) -> anyhow::Result<TestbedConfig> {
    if !(time_scale.is_finite() && time_scale > 0.0 && time_scale <= 600.0) {
        bail!("--time-scale {time_scale}: expected a factor above 0 and at most 600");
    }
    if pod_queue == 0 {
        bail!("--pod-queue must be at least 1");
    }
    let real_work = if real_work {
        Some(Arc::new(Model::generate(ModelConfig::default())?))
    } else {
        None
    };
    Ok(TestbedConfig {
        service: e.setup.service.clone(),
        queue: e.queue.clone(),
        pool: e.setup.pool.clone(),
        scaler: e.setup.scaler.clone(),
        sim: e.setup.config.clone(),
        start_unix_s,
        time_scale,
        seed,
        pod_queue,
        real_work,
    })
}

/// Runs the command until Ctrl-C.
pub fn run(a: TestbedArgs) -> anyhow::Result<()> {
    let opts = a.replay.options()?;
    let facts = read_facts(&a.analysis)?;
    if a.cluster.config.is_empty() {
        bail!(
            "give today's manifests with --config (the HPA or ScaledObject, the Deployment and the node group)"
        );
    }
    let base = read_config(&a.cluster.config)?;
    let policy = if a.policy.is_empty() {
        None
    } else {
        Some(read_config(&a.policy).context("reading --policy")?)
    };
    let mut e = emulate(&facts, &base, policy.as_ref(), &a.cluster, &opts)?;
    if let Some(r) = a.replicas {
        e.setup.config.initial_replicas = Some(r);
    }
    let start = a.start.unwrap_or_else(jiff::Timestamp::now).as_second();
    let cfg = testbed_config(&e, start, a.time_scale, a.seed, a.pod_queue, a.real_work)?;
    let tb = Testbed::start(cfg)?;
    for w in tb.warnings() {
        eprintln!("warning: {w}");
    }
    for n in &e.setup.notes {
        eprintln!("note: {n}");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let result = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .with_context(|| format!("cannot listen on {}", a.listen))?;
        let addr = listener.local_addr()?;
        println!("listening on http://{addr} (any path serves; GET /healthz /readyz /metrics)");
        eprintln!(
            "{}; pods of {} server(s), mean service {:.1} ms; time x{}; Ctrl-C stops",
            e.label,
            e.queue.servers,
            e.queue.service.mean_ms(),
            a.time_scale
        );
        serve_testbed(listener, tb.clone(), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving failed")
    });
    tb.stop();
    result
}
