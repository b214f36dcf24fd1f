//! `rightsize simulate`: replay the recorded week through today's scaling configuration or a
//! proposed one, and say what it would have cost and how p99 would have fared; with
//! `--baseline`, also how closely the replay of today's configuration matches the telemetry.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::Args;
use rightsize_core::cluster::ClusterConfig;
use rightsize_core::sim::setup::{Fidelity, Setup, SetupOptions, StartupBasis, fidelity, setup};
use rightsize_core::sim::{self, Demand, SIM_SCHEMA_VERSION, SimResult};
use serde::Serialize;

use crate::cmd_analyze::{AnalysisInputs, analyse};
use crate::cmd_config::read_config;

/// Flags of `rightsize simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub inputs: AnalysisInputs,
    /// The configuration to replay instead of today's: manifests with an HPA or a KEDA
    /// ScaledObject, and optionally a node group; what they do not give is taken from
    /// --config. Repeatable; files or directories.
    #[arg(long, value_name = "PATH")]
    pub policy: Vec<PathBuf>,
    /// Also replay today's configuration and report how closely it matches the telemetry
    /// (hourly ready pods and 5-minute p99, as mean absolute percentage errors).
    #[arg(long)]
    pub baseline: bool,
    #[command(flatten)]
    pub replay: ReplayArgs,
    /// Print the result as JSON (schema in docs/formats.md).
    #[arg(long)]
    pub json: bool,
}

/// How the simulator models what the telemetry cannot tell: shared by `simulate` and
/// `recommend`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Seconds from a pod being scheduled to serving (default: fitted from the telemetry's
    /// scale-ups when they show it, else the readiness probe's earliest plus 10 s, or 30 s
    /// without a probe).
    #[arg(long, value_name = "S")]
    pub startup_s: Option<f64>,
    /// Seconds from a node request to a Ready node (default: 75 s for EKS and AKS, 210 s for
    /// GKE, 50 s for Karpenter).
    #[arg(long, value_name = "S")]
    pub provision_s: Option<f64>,
    /// CPU one request costs in core-seconds, when today's HPA does not scale on CPU (then the
    /// analysis infers it).
    #[arg(long, value_name = "CORE_S")]
    pub cpu_per_request: Option<f64>,
    /// CPU an idle pod uses, cores.
    #[arg(long, value_name = "CORES")]
    pub idle_cpu: Option<f64>,
    /// Latency counted for requests that reach an overloaded pod (your client timeout);
    /// default ten times the SLO.
    #[arg(long, value_name = "MS")]
    pub overload_ms: Option<f64>,
    /// Spread requests evenly over ready pods instead of with the imbalance the telemetry
    /// showed (the analysis's coefficient of variation of per-pod load).
    #[arg(long)]
    pub even_spread: bool,
}

impl ReplayArgs {
    /// The simulator's settings, checked.
    pub fn options(&self) -> anyhow::Result<SetupOptions> {
        non_negative("--startup-s", self.startup_s)?;
        non_negative("--provision-s", self.provision_s)?;
        non_negative("--cpu-per-request", self.cpu_per_request)?;
        non_negative("--idle-cpu", self.idle_cpu)?;
        non_negative("--overload-ms", self.overload_ms)?;
        Ok(SetupOptions {
            startup_s: self.startup_s,
            provision_s: self.provision_s,
            overload_ms: self.overload_ms,
            cpu_per_request_core_s: self.cpu_per_request,
            idle_cpu_cores: self.idle_cpu,
            even_spread: self.even_spread,
        })
    }
}

#[derive(Debug, Serialize)]
struct Replay<'a> {
    summary: &'a sim::Summary,
    series: &'a sim::SimSeries,
}

#[derive(Debug, Serialize)]
struct Output<'a> {
    schema_version: u32,
    configuration: String,
    summary: &'a sim::Summary,
    series: &'a sim::SimSeries,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<Replay<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fidelity: Option<&'a Fidelity>,
    startup: Startup<'a>,
    notes: Vec<String>,
    warnings: Vec<String>,
}

/// The pods' start-up the replays used, and where it came from.
#[derive(Debug, Serialize)]
struct Startup<'a> {
    seconds: f64,
    #[serde(flatten)]
    basis: &'a StartupBasis,
}

fn non_negative(flag: &str, v: Option<f64>) -> anyhow::Result<()> {
    match v {
        Some(x) if !(x >= 0.0 && x.is_finite()) => {
            Err(anyhow!("{flag} must be a non-negative number, found {x}"))
        }
        _ => Ok(()),
    }
}

pub fn describe(config: &ClusterConfig) -> String {
    if let Some(h) = config.hpas.first() {
        format!("HorizontalPodAutoscaler {}", h.metadata.name)
    } else if let Some(so) = config.scaled_objects.first() {
        format!("ScaledObject {}", so.metadata.name)
    } else {
        "fixed replicas".into()
    }
}

fn print_text(what: &str, r: &SimResult) {
    let s = &r.summary;
    println!("{what}");
    println!(
        "  cost      ${:.2} over the span: ${:.2} off-peak, ${:.2} peak ({:.1} node-hours, {:.1} pod-hours)",
        s.cost_total, s.cost_off_peak, s.cost_peak, s.node_hours, s.pod_hours
    );
    println!(
        "  pods      mean {:.1} ready, at most {}; at most {} nodes; {} scale events",
        s.mean_ready_pods, s.max_ready_pods, s.max_nodes, s.scale_events
    );
    println!(
        "  latency   worst 5-minute p99 {:.0} ms; {} of {} windows above the SLO; {:.3}% of requests timed out at an overloaded pod, {:.3}% shed with no pod ready",
        s.worst_p99_ms,
        s.slo_violation_windows_5m,
        s.windows_5m,
        100.0 * s.timed_out_requests / s.requests.max(1.0),
        100.0 * s.shed_requests / s.requests.max(1.0)
    );
}

/// What a failed set-up tells the user to do.
pub const SETUP_CONTEXT: &str =
    "cannot set up the replay; fix the configuration or give the missing figure as a flag";

/// The week analysed, its demand, and today's configuration set up for replays.
pub struct Prepared {
    /// Today's configuration.
    pub base: ClusterConfig,
    /// Prices and sizes.
    pub catalogue: rightsize_core::cluster::nodes::Catalogue,
    /// The analysis of the week.
    pub analysis: rightsize_core::analysis::Analysis,
    /// Its arrival rate per second.
    pub demand: Demand,
    /// The zone of hours.
    pub tz: jiff::tz::TimeZone,
    /// Today's configuration, set up: the telemetry ran under it, so the pods' start-up is
    /// fitted against its replay (when the data shows it) and then holds for any proposal.
    pub today: Setup,
}

/// Reads and analyses the week, and sets up today's configuration.
pub fn prepare(inputs: &AnalysisInputs, opts: &SetupOptions) -> anyhow::Result<Prepared> {
    let (telemetry, base, catalogue, analysis) = analyse(inputs)?;
    let demand =
        Demand::from_telemetry(&telemetry).ok_or(anyhow!("the telemetry holds no rows"))?;
    let tz = inputs.analysis.tz.clone();
    let today =
        setup(&analysis, Some(&demand), &base, &catalogue, &tz, opts).context(SETUP_CONTEXT)?;
    Ok(Prepared {
        base,
        catalogue,
        analysis,
        demand,
        tz,
        today,
    })
}

/// Runs the command.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let opts = args.replay.options()?;
    let policy = if args.policy.is_empty() {
        None
    } else {
        Some(read_config(&args.policy).context("reading --policy")?)
    };
    let Prepared {
        base,
        catalogue,
        analysis: a,
        demand,
        tz,
        today,
    } = prepare(&args.inputs, &opts)?;
    let context = SETUP_CONTEXT;
    let mut notes = today.notes.clone();
    let replay_today = || {
        sim::simulate(
            &demand,
            &today.service,
            &today.pool,
            &today.scaler,
            &today.config,
        )
    };
    let (result, baseline, label) = match &policy {
        Some(p) => {
            let merged = base.with_policy(p).map_err(|e| anyhow!("--policy: {e}"))?;
            let label = format!("proposed: {}", describe(&merged));
            let fixed = SetupOptions {
                startup_s: Some(today.service.startup_s),
                ..opts.clone()
            };
            let s = setup(&a, None, &merged, &catalogue, &tz, &fixed).context(context)?;
            notes.extend(s.notes.iter().cloned());
            let r = sim::simulate(&demand, &s.service, &s.pool, &s.scaler, &s.config)?;
            let baseline = if args.baseline {
                Some(replay_today()?)
            } else {
                None
            };
            (r, baseline, label)
        }
        None => (replay_today()?, None, format!("today: {}", describe(&base))),
    };
    let fid = if args.baseline {
        Some(fidelity(&a, baseline.as_ref().unwrap_or(&result)))
    } else {
        None
    };
    let mut warnings = result.warnings.clone();
    warnings.extend(a.warnings.iter().cloned());
    notes.sort();
    notes.dedup();

    if args.json {
        let out = Output {
            schema_version: SIM_SCHEMA_VERSION,
            configuration: label,
            summary: &result.summary,
            series: &result.series,
            baseline: baseline.as_ref().map(|b| Replay {
                summary: &b.summary,
                series: &b.series,
            }),
            fidelity: fid.as_ref(),
            startup: Startup {
                seconds: today.service.startup_s,
                basis: &today.startup,
            },
            notes,
            warnings,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    for n in &notes {
        eprintln!("note: {n}");
    }
    print_text(&label, &result);
    if let Some(b) = &baseline {
        print_text(&format!("today: {}", describe(&base)), b);
    }
    if let Some(f) = &fid {
        println!(
            "fidelity  today's configuration replayed against the telemetry: ready pods within {} (hourly, {} hours), p99 within {} (5-minute windows with at least {} rows, {} windows)",
            f.ready_pods_mape
                .map_or("-".into(), |m| format!("{:.1}%", m * 100.0)),
            f.hours,
            f.p99_mape
                .map_or("-".into(), |m| format!("{:.1}%", m * 100.0)),
            rightsize_core::sim::setup::FIDELITY_MIN_ROWS,
            f.windows
        );
    }
    Ok(())
}
