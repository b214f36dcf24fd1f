//! `rightsize export k6`: a load profile as a k6 script (the open-model `ramping-arrival-rate`
//! executor) and a k6-operator `TestRun`, for teams that run their load tests with k6.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use rightsize_core::load::schedule::Arrivals;
use rightsize_core::load::{k6, locust};

use crate::output::write_atomic;
use crate::profile::ProfileArgs;

/// `rightsize export …`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    command: ExportCommand,
}

#[derive(Debug, Subcommand)]
enum ExportCommand {
    /// Write script.js (k6's ramping-arrival-rate executor reproducing the profile, rates per
    /// minute, within 0.1% of its requests; thresholds from the SLO and on dropped iterations)
    /// and testrun.yaml (a k6-operator TestRun with --parallelism pods).
    ///
    /// Example: rightsize export k6 --stages 2m:500,10m:2000,5m:2000 --target
    /// http://reco.staging:8080/v1/recommend --method POST --body '{"user_id": 7, "k": 20}'
    /// --slo-p99-ms 120 --out k6/
    K6(K6Args),
    /// Write locustfile.py: the profile as an open model in Locust (one dispatcher user sends
    /// each request at its scheduled instant on a greenlet of its own; a LoadTestShape ends the
    /// run with the curve). Run it with one process: locust -f locustfile.py --headless --host
    /// URL.
    Locust(LocustArgs),
}

#[derive(Debug, Args)]
struct K6Args {
    #[command(flatten)]
    profile: ProfileArgs,
    /// The URL the script requests (the TARGET_URL environment variable overrides it when k6
    /// runs).
    #[arg(long, value_name = "URL")]
    target: String,
    /// GET or POST.
    #[arg(long, default_value = "GET", value_parser = ["GET", "POST"])]
    method: String,
    /// A JSON body for POST.
    #[arg(long, value_name = "JSON")]
    body: Option<String>,
    /// The p99 objective: a threshold p(99)<N on http_req_duration.
    #[arg(long, value_name = "MS")]
    slo_p99_ms: Option<f64>,
    /// Iterations k6 may drop for want of VUs before the run fails.
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_dropped: u64,
    /// Pods of the k6-operator TestRun.
    #[arg(long, value_name = "N", default_value_t = 1)]
    parallelism: u32,
    /// Directory for script.js and testrun.yaml.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct LocustArgs {
    #[command(flatten)]
    profile: ProfileArgs,
    /// The path requested on Locust's --host.
    #[arg(long, value_name = "PATH", default_value = "/")]
    path: String,
    /// GET or POST.
    #[arg(long, default_value = "GET", value_parser = ["GET", "POST"])]
    method: String,
    /// A JSON body for POST.
    #[arg(long, value_name = "JSON")]
    body: Option<String>,
    /// How requests arrive: poisson (independent users) or uniform (evenly spaced).
    #[arg(long, value_enum, default_value = "poisson")]
    arrivals: ArrivalsArg,
    /// Seed of the arrival schedule.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seconds after the curve that answers still in flight are waited for.
    #[arg(long, value_name = "S", default_value_t = 10)]
    grace_s: u64,
    /// Directory for locustfile.py.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// How requests arrive.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ArrivalsArg {
    /// A Poisson process following the rate curve.
    Poisson,
    /// Evenly spaced along the rate curve.
    Uniform,
}

impl From<ArrivalsArg> for Arrivals {
    fn from(a: ArrivalsArg) -> Self {
        match a {
            ArrivalsArg::Poisson => Arrivals::Poisson,
            ArrivalsArg::Uniform => Arrivals::Uniform,
        }
    }
}

/// Runs the command.
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    match args.command {
        ExportCommand::K6(a) => k6_export(a),
        ExportCommand::Locust(a) => locust_export(a),
    }
}

fn json_body(body: &Option<String>) -> anyhow::Result<()> {
    if let Some(b) = body {
        serde_json::from_str::<serde_json::Value>(b)
            .with_context(|| format!("--body {b:?} is not JSON"))?;
    }
    Ok(())
}

fn locust_export(a: LocustArgs) -> anyhow::Result<()> {
    let curve = a.profile.curve()?;
    json_body(&a.body)?;
    if !a.path.starts_with('/') {
        bail!("--path must start with / (it is appended to Locust's --host)");
    }
    let text = locust::locustfile(
        &curve,
        &locust::Locustfile {
            path: a.path.clone(),
            method: a.method.clone(),
            body: a.body.clone(),
            arrivals: a.arrivals.into(),
            seed: a.seed,
            grace_s: a.grace_s,
        },
    );
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create the directory", a.out.display()))?;
    let path = a.out.join("locustfile.py");
    write_atomic(&path, |w| Ok(w.write_all(text.as_bytes())?))?;
    println!(
        "wrote {} ({:.0} requests over {} s)",
        path.display(),
        curve.total(),
        curve.rps.len()
    );
    Ok(())
}

fn k6_export(a: K6Args) -> anyhow::Result<()> {
    let curve = a.profile.curve()?;
    json_body(&a.body)?;
    if a.parallelism == 0 {
        bail!("--parallelism must be at least 1");
    }
    let script = k6::script(
        &curve,
        &k6::Script {
            url: a.target.clone(),
            method: a.method.clone(),
            body: a.body.clone(),
            slo_p99_ms: a.slo_p99_ms,
            max_dropped: a.max_dropped,
        },
    );
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create the directory", a.out.display()))?;
    write_atomic(&a.out.join("script.js"), |w| {
        Ok(w.write_all(script.as_bytes())?)
    })?;
    let run = k6::testrun("rightsize-replay", "rightsize-replay-script", a.parallelism);
    write_atomic(&a.out.join("testrun.yaml"), |w| {
        Ok(w.write_all(run.as_bytes())?)
    })?;
    let (start, stages) = k6::stages(&curve, 0.01);
    println!(
        "wrote {}/script.js ({} stages, {:.0} requests over {} s; the profile asks for {:.0}) and testrun.yaml",
        a.out.display(),
        stages.len(),
        k6::stage_total(start, &stages),
        curve.rps.len(),
        curve.total()
    );
    Ok(())
}
