//! The `rightsize` command: flags, files, progress bars and exit codes around rightsize-core.
//! Exit codes: 0 ok, 1 a check failed, 2 bad usage, bad input or I/O; `loadtest` also 99 (a
//! threshold failed, as k6) and 130 (interrupted).

mod cmd_analyze;
mod cmd_config;
mod cmd_demo;
mod cmd_export;
mod cmd_generate;
mod cmd_ingest;
mod cmd_loadtest;
mod cmd_recommend;
mod cmd_replay;
mod cmd_rollout;
mod cmd_serve;
mod cmd_simulate;
mod cmd_testbed;
mod inputs;
mod output;
mod profile;
mod progress;

use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

/// Cut off-peak serving cost without breaching the p99 SLO.
///
/// rightsize reads a week of request-level telemetry (timestamp, latency, status, pod), models
/// the service's capacity, and proposes the cheapest autoscaling that keeps p99 under the SLO.
#[derive(Debug, Parser)]
#[command(name = "rightsize", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read request telemetry and print what it holds: rows, bad rows, span, pods, rates,
    /// status classes and latency percentiles.
    ///
    /// Accepts CSV, TSV, JSON Lines and Parquet, plain or gzip/zstd-compressed (detected from
    /// the bytes), as files, directories, globs or - for stdin. Columns are found by name; see
    /// docs/telemetry.md for the names, timestamp forms and status conventions.
    Ingest(cmd_ingest::IngestArgs),
    /// Write synthetic request telemetry: a diurnal week of sampled rows with Poisson arrivals,
    /// named pods and a load-dependent latency. Deterministic for a seed; for tests and
    /// benchmarks.
    Generate(cmd_generate::GenerateArgs),
    /// Read cluster configuration (HPAs, ScaledObjects, VPAs, workloads, node groups) and
    /// show what rightsize understood.
    Config(cmd_config::ConfigArgs),
    /// Analyse a week of telemetry against today's configuration: traffic patterns, off-peak
    /// hours, ready pods, latency against the SLO, a capacity model (requests per pod at the
    /// SLO), cost and waste, and ranked findings.
    ///
    /// Writes analysis.json (docs/formats.md), analysis.md and analysis.html (with charts) to
    /// --out, and prints the findings.
    ///
    /// Example: rightsize analyze --telemetry 'logs/*.csv.gz' --sample-rate 0.01
    /// --config manifests/ --slo-p99-ms 250 --out analysis/
    Analyze(cmd_analyze::AnalyzeArgs),
    /// Replay the recorded week through today's scaling configuration, or a proposed one
    /// (--policy), second by second: HPA or KEDA with metric lag, pods starting and warming
    /// up, nodes from the cluster autoscaler or Karpenter, latency from the capacity model.
    ///
    /// Prints cost (peak and off-peak), pods, nodes and p99 per five minutes against the SLO;
    /// --baseline also replays today's configuration and says how closely it matches the
    /// telemetry. --json for tools (docs/formats.md).
    ///
    /// Example: rightsize simulate --telemetry week.csv.gz --sample-rate 0.01 --config
    /// manifests/ --slo-p99-ms 250 --policy proposal/hpa.yaml --baseline
    Simulate(cmd_simulate::SimulateArgs),
    /// Search for the cheapest scaling configuration that keeps p99 under the SLO as today's
    /// does: HPA tuning, KEDA on the request rate, KEDA cron floors from the weekly profile
    /// with a reactive trigger, a smaller node floor; each candidate replayed over the week
    /// and judged against today's replay, the cheapest then stressed (traffic x1.15, a burst
    /// at the steepest ramp, schedules built on days 1-5 and replayed on days 6-7).
    ///
    /// Writes proposed/ (only the manifests the winner changes), recommendation.json and
    /// recommendation.md to --out. Exits with 1 when no candidate keeps the SLO and saves
    /// --min-savings, listing the closest and what each breaks.
    ///
    /// Example: rightsize recommend --telemetry week.csv.gz --sample-rate 0.01 --config
    /// manifests/ --slo-p99-ms 250 --out recommendation/
    Recommend(cmd_recommend::RecommendArgs),
    /// Send an open-model HTTP load to a target: every request at its scheduled instant
    /// whatever the target does, latency from that instant (no coordinated omission) and from
    /// the actual send, per-second timeline, k6-style thresholds and an SLO verdict.
    ///
    /// Profiles: a constant --rate, --stages ramps, a --rates-file, or the recorded peak of an
    /// analysis (--from-analysis analysis.json --window peak, with --scale and --compress).
    /// Exit codes: 0 passed, 99 a threshold or the SLO failed, 130 interrupted (what ran is
    /// still written), 2 bad usage or an unreachable target.
    ///
    /// Example: rightsize loadtest --target http://127.0.0.1:8080/v1/recommend --method POST
    /// --bodies users.jsonl --stages 30s:200,2m:2000,1m:2000 --warmup 30s --slo-p99-ms 120
    /// --threshold 'rate_failed<0.01' --out loadtest/
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Loadtest(cmd_loadtest::LoadtestArgs),
    /// Run a real recommendation service to load-test: POST /v1/recommend {"user_id": 42,
    /// "k": 20} scores an embedding model (candidate retrieval over every item, then
    /// re-ranking) on worker threads behind a bounded queue (503 beyond it); GET /healthz,
    /// /readyz, /metrics (Prometheus text).
    ///
    /// Example: rightsize serve --listen 127.0.0.1:0 --workers 1
    Serve(cmd_serve::ServeArgs),
    /// The whole pipeline on a built-in scenario, in about a minute and a half: a generated week
    /// of a recommendation cluster (1% sampled telemetry, bursts, today's HPA pinned high at night
    /// on an eksctl node group, a mid-week rollout, cold starts), analysed, a proposal searched,
    /// the peak replayed against the emulated cluster, the rollout plan, alerts, dashboard and
    /// load-test exports written, with index.html to start from.
    ///
    /// Example: rightsize demo --out rightsize-demo
    Demo(cmd_demo::DemoArgs),
    /// Write the rollout plan (rollout-plan.md and .html: scope and savings, pre-flight checks,
    /// phases starting off-peak with observation windows and exit criteria, rollback triggers
    /// with their numbers, who acts and the commands that restore the saved configuration), the
    /// triggers as Prometheus rules with promtool unit tests (alerts/) and a Grafana dashboard
    /// of their signals (dashboards/rollout.json).
    ///
    /// Example: rightsize rollout --config k8s/ --analysis analysis/analysis.json
    /// --recommendation recommendation/ --loadtest-report replay/loadtest-report.json --out plan/
    Rollout(Box<cmd_rollout::RolloutArgs>),
    /// Run an emulated autoscaled cluster behind one HTTP endpoint: pods with the analysis's
    /// fitted concurrency and service times (real queueing, real latency), scaled by the given
    /// HPA or KEDA configuration with the simulator's own controllers, nodes with a
    /// provisioning delay, in real time compressed by --time-scale. /metrics adds desired and
    /// ready replicas and nodes.
    ///
    /// Example: rightsize testbed --config k8s/ --policy proposed/ --analysis
    /// analysis/analysis.json --time-scale 10 --listen 127.0.0.1:0
    Testbed(Box<cmd_testbed::TestbedArgs>),
    /// Export a load profile for other tools: k6 (a ramping-arrival-rate script and a
    /// k6-operator TestRun) or Locust (an open-model locustfile).
    Export(cmd_export::ExportArgs),
}

/// A check that ran and failed (an SLO threshold, no feasible configuration): exit code 1.
/// Every other error is bad usage, bad input or I/O: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CheckFailed(pub String);

/// Runs one subcommand.
fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Ingest(args) => cmd_ingest::run(args),
        Command::Generate(args) => cmd_generate::run(args),
        Command::Config(args) => cmd_config::run(args),
        Command::Analyze(args) => cmd_analyze::run(args),
        Command::Simulate(args) => cmd_simulate::run(args),
        Command::Recommend(args) => cmd_recommend::run(args),
        Command::Export(args) => cmd_export::run(args),
        Command::Loadtest(args) => cmd_loadtest::run_cmd(args),
        Command::Serve(args) => cmd_serve::run(args),
        Command::Testbed(args) => cmd_testbed::run(*args),
        Command::Rollout(args) => cmd_rollout::run(*args),
        Command::Demo(args) => cmd_demo::run(args),
    }
}

/// Parses `args` (without the program name) as a command line and runs it: how `demo` runs
/// the steps a user would type.
pub fn run_args(args: &[std::ffi::OsString]) -> anyhow::Result<()> {
    let mut argv = vec![std::ffi::OsString::from("rightsize")];
    argv.extend(args.iter().cloned());
    let cli = Cli::try_parse_from(argv).map_err(|e| anyhow::anyhow!("{e}"))?;
    dispatch(cli.command)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = dispatch(cli.command);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if let Some(exit) = e.downcast_ref::<cmd_loadtest::LoadtestExit>() {
                ExitCode::from(exit.code)
            } else if e.downcast_ref::<CheckFailed>().is_some() {
                ExitCode::from(1)
            } else {
                ExitCode::from(2)
            }
        }
    }
}
