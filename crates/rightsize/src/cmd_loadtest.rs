//! `rightsize loadtest`: the open-model load generator against a target, with live progress,
//! a summary, thresholds and the SLO verdict, and loadtest.json and timeline.csv.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use rightsize_core::load::schedule::{RateCurve, parse_duration_s};
use rightsize_load::request::{Order, RequestSpec, read_payloads};
use rightsize_load::run::{LoadConfig, RunResult, run};
use rightsize_load::stats::{SecondRow, TIMELINE_HEADER};
use rightsize_load::summary::{Summary, summarize};
use rightsize_load::target::Target;
use rightsize_load::threshold::Threshold;

use crate::cmd_export::ArrivalsArg;
use crate::output::write_atomic;
use crate::profile::{MAX_RATE, ProfileArgs};

/// `rightsize loadtest …`.
#[derive(Debug, Args)]
pub struct LoadtestArgs {
    #[command(subcommand)]
    command: Option<LoadtestCommand>,
    #[command(flatten)]
    request: RequestArgs,
    #[command(flatten)]
    profile: ProfileArgs,
    /// The first part of the run, excluded from thresholds and the SLO verdict (kept in the
    /// data, phase warmup in timeline.csv).
    #[arg(long, value_name = "D", default_value = "0s")]
    warmup: String,
    /// A pass/fail threshold in k6's syntax (repeatable): p(99)<120, avg<50, max<1000,
    /// rate_failed<0.01, count_dropped==0, service:p(99)<80, lag:p(99)<1. Latency is from
    /// the intended send time unless prefixed service: (from the actual send). Exit code 99
    /// when one fails.
    #[arg(long = "threshold", value_name = "EXPR")]
    thresholds: Vec<String>,
    /// The p99 objective, ms: the verdict counts failed requests as slower than any answer.
    /// Exit code 99 when it is breached.
    #[arg(long, value_name = "MS")]
    slo_p99_ms: Option<f64>,
    /// Print the profile (length, requests, peak rate, steepest ramp) and send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the summary as JSON on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// Also write loadtest.json and timeline.csv (one row per second) to this directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum LoadtestCommand {
    /// Find the target's capacity at the SLO: constant-rate steps, each higher than the last,
    /// until the p99 (from intended send times, failures counted as slowest) breaks the SLO or
    /// more than 1% of requests fail or get a non-2xx answer; then bisection between the last
    /// step that held and the first that broke. Reports the knee (the highest rate held) and
    /// the curve. With --analysis, compares the knee with the analysis's capacity model
    /// (requests per pod at the SLO, times --pods).
    ///
    /// Example: rightsize loadtest capacity --target http://127.0.0.1:8080/v1/recommend
    /// --method POST --body '{"user_id": {{i}}}' --slo-p99-ms 50
    Capacity(Box<CapacityArgs>),
    /// Replay the recorded peak against the emulated cluster (rightsize testbed, in process)
    /// with today's configuration and then the proposal, in time compressed K times at the
    /// recorded rates; report rate, replicas and measured p99 per emulated minute beside the
    /// simulator's prediction for the same traffic, and the verdict (loadtest-report.json,
    /// .md, .html). Exit code 1 when the proposal (or today's, alone) breaks the SLO.
    ///
    /// Example: rightsize loadtest replay --config k8s/ --policy recommendation/proposed
    /// --analysis analysis/analysis.json --time-scale 10 --out replay/
    Replay(Box<crate::cmd_replay::ReplayCmdArgs>),
}

/// What the requests are and where they go: shared by `loadtest` and `loadtest capacity`.
#[derive(Debug, Args)]
struct RequestArgs {
    /// The URL requested, e.g. http://127.0.0.1:8080/v1/recommend. Only loopback unless
    /// --allow-remote.
    #[arg(long, value_name = "URL", required = true)]
    target: Option<String>,
    /// How requests arrive: poisson (independent users; the default) or uniform (evenly
    /// spaced, as k6 and wrk2 send).
    #[arg(long, value_enum, default_value = "poisson")]
    arrivals: ArrivalsArg,
    /// Seed of the arrival schedule and of random payload picks: the same seed sends the same
    /// requests at the same instants.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The HTTP method.
    #[arg(long, default_value = "GET")]
    method: String,
    /// A header, 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// The body, a template: {{line}} is replaced by a payload from --bodies and {{i}} by the
    /// request's number. Sent as application/json unless a Content-Type header is given.
    #[arg(long, value_name = "TEMPLATE")]
    body: Option<String>,
    /// A JSON-lines file of payloads (e.g. recorded user ids), one per request in turn (or at
    /// random with --bodies-order random); the body is the payload unless --body places it.
    #[arg(long, value_name = "FILE.jsonl")]
    bodies: Option<PathBuf>,
    /// How payloads are picked.
    #[arg(long, value_enum, default_value = "round-robin")]
    bodies_order: OrderArg,
    /// A request with no response this long after it was sent has failed.
    #[arg(long, value_name = "D", default_value = "10s")]
    timeout: String,
    /// At most N requests in flight; a request due beyond that is dropped, counted, and the
    /// run flagged generator-limited (as k6 drops iterations). Unbounded by default.
    #[arg(long, value_name = "N")]
    max_in_flight: Option<u64>,
    /// HTTP/2 without TLS (h2c, prior knowledge), all requests multiplexed on one connection
    /// per thread, instead of HTTP/1.1 keep-alive connections opened as needed.
    #[arg(long)]
    http2: bool,
    /// The most HTTP/1.1 connections open at once (split between threads). New connections
    /// are opened as requests need them up to this; beyond it a request waits for a free one,
    /// the wait is part of its latency, and the run is flagged generator-limited.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    connections: usize,
    /// Worker threads, each with its own connections; the schedule is split between them.
    #[arg(long, value_name = "N", default_value_t = 1)]
    threads: usize,
    /// Allow a target that is not on this machine (make sure it is a service that expects the
    /// load: a staging deployment, not production).
    #[arg(long)]
    allow_remote: bool,
}

impl RequestArgs {
    /// The load test's settings for `curve`.
    fn config(&self, curve: RateCurve, warmup_s: f64) -> anyhow::Result<LoadConfig> {
        let target = Target::parse(
            self.target.as_deref().context("--target URL is required")?,
            self.allow_remote,
        )?;
        let timeout = Duration::from_secs(parse_duration_s(&self.timeout)?);
        if timeout.is_zero() || timeout > Duration::from_secs(600) {
            bail!("--timeout {}: expected 1s to 10m", self.timeout);
        }
        if self.threads == 0 || self.threads > 64 {
            bail!("--threads {}: expected 1 to 64", self.threads);
        }
        if self.connections == 0 {
            bail!("--connections must be at least 1");
        }
        if self.max_in_flight == Some(0) {
            bail!("--max-in-flight must be at least 1");
        }
        let payloads = match &self.bodies {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("{}: cannot read the payloads", path.display()))?;
                read_payloads(&text, &path.display().to_string())?
            }
            None => Vec::new(),
        };
        let request = RequestSpec::new(
            &self.method,
            &self.headers,
            self.body.as_deref(),
            payloads,
            match self.bodies_order {
                OrderArg::RoundRobin => Order::RoundRobin,
                OrderArg::Random => Order::Random,
            },
            self.seed,
        )?;
        Ok(LoadConfig {
            curve,
            arrivals: self.arrivals.into(),
            seed: self.seed,
            target,
            request,
            http2: self.http2,
            timeout,
            max_in_flight: self.max_in_flight,
            threads: self.threads,
            connections: self.connections,
            warmup_s,
            keep_histograms: false,
        })
    }
}

/// `rightsize loadtest capacity …`.
#[derive(Debug, Args)]
struct CapacityArgs {
    #[command(flatten)]
    request: RequestArgs,
    /// The p99 objective, ms.
    #[arg(long, value_name = "MS")]
    slo_p99_ms: f64,
    /// The first step's rate.
    #[arg(long, value_name = "RPS", default_value_t = 10.0)]
    start_rate: f64,
    /// Each step's rate over the last's.
    #[arg(long, value_name = "F", default_value_t = 1.5)]
    factor: f64,
    /// How long each step runs; its first fifth is a warm-up, not judged.
    #[arg(long, value_name = "D", default_value = "10s")]
    step: String,
    /// The highest rate tried.
    #[arg(long, value_name = "RPS", default_value_t = 20_000.0)]
    max_rate: f64,
    /// Bisection steps between the last rate held and the first broken.
    #[arg(long, value_name = "N", default_value_t = 3)]
    refine: u32,
    /// An analysis of the same service (analysis.json): the knee is compared with its capacity
    /// model.
    #[arg(long, value_name = "FILE")]
    analysis: Option<PathBuf>,
    /// Pods behind the target, for the comparison with the per-pod model.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pods: u32,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Also write capacity.json to this directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// How payloads are picked.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum OrderArg {
    /// In turn.
    RoundRobin,
    /// At random, seeded.
    Random,
}

/// Exit code when a threshold or the SLO fails (k6's).
pub const THRESHOLDS_FAILED: u8 = 99;
/// Exit code of a run interrupted by Ctrl-C (after writing what ran).
pub const INTERRUPTED: u8 = 130;

/// A load test's ending other than success: the code and what to say.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct LoadtestExit {
    /// The process's exit code.
    pub code: u8,
    /// The message.
    pub message: String,
}

/// Runs the command.
pub fn run_cmd(a: LoadtestArgs) -> anyhow::Result<()> {
    match a.command {
        Some(LoadtestCommand::Capacity(c)) => return capacity(*c),
        Some(LoadtestCommand::Replay(r)) => return crate::cmd_replay::run_replay(*r),
        None => {}
    }
    let (curve, described) = a.profile.curve_described()?;
    let warmup_s = parse_duration_s(&a.warmup)? as f64;
    let thresholds = a
        .thresholds
        .iter()
        .map(|t| Threshold::parse(t))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(slo) = a.slo_p99_ms
        && !(slo.is_finite() && slo > 0.0)
    {
        bail!("--slo-p99-ms {slo}: expected a positive number of milliseconds");
    }
    let cfg = a.request.config(curve, warmup_s)?;
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the directory", dir.display()))?;
    }
    let seconds = cfg.curve.rps.len();
    if a.dry_run {
        let steepest = cfg
            .curve
            .rps
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f64::max);
        println!(
            "profile: {seconds} s, {:.0} requests, {:.0} req/s at most, steepest change {:.1} \
             req/s per second, {} arrivals, to {}",
            cfg.curve.total(),
            cfg.curve.rps.iter().copied().fold(0.0, f64::max),
            steepest,
            match cfg.arrivals {
                rightsize_core::load::schedule::Arrivals::Poisson => "poisson",
                rightsize_core::load::schedule::Arrivals::Uniform => "uniform",
            },
            cfg.target.url
        );
        if let Some(d) = described {
            println!("{d}");
        }
        return Ok(());
    }
    eprintln!(
        "load test: {} {} for {} s, {:.0} requests, up to {:.0} req/s ({} arrivals){}",
        cfg.request.method,
        cfg.target.url,
        seconds,
        cfg.curve.total(),
        cfg.curve.rps.iter().copied().fold(0.0, f64::max),
        match cfg.arrivals {
            rightsize_core::load::schedule::Arrivals::Poisson => "poisson",
            rightsize_core::load::schedule::Arrivals::Uniform => "uniform",
        },
        described.map(|d| format!("\n  {d}")).unwrap_or_default()
    );
    let stop = Arc::new(AtomicBool::new(false));
    watch_ctrl_c(stop.clone());
    let live = std::io::stderr().is_terminal();
    let result = run(&cfg, &stop, |row| {
        if live {
            progress(row, seconds);
        }
    })?;
    if live {
        eprint!("\r\x1b[2K");
    }
    let summary = summarize(&cfg, &result, &thresholds, a.slo_p99_ms);
    if let Some(dir) = &a.out {
        write_outputs(dir, &summary, &result)?;
    }
    if a.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &summary)?;
        writeln!(out)?;
    } else {
        print!("{}", text(&summary));
    }
    if let Some(dir) = &a.out {
        eprintln!(
            "wrote {0}/loadtest.json and {0}/timeline.csv",
            dir.display()
        );
    }
    if summary.partial {
        return Err(LoadtestExit {
            code: INTERRUPTED,
            message: "interrupted: the figures cover what ran (partial: true)".into(),
        }
        .into());
    }
    if !summary.ok {
        let failed: Vec<String> = summary
            .thresholds
            .iter()
            .filter(|t| !t.ok)
            .map(|t| t.expr.clone())
            .chain(
                summary
                    .slo
                    .iter()
                    .filter(|s| !s.ok)
                    .map(|s| format!("SLO p99 <= {} ms", s.p99_ms)),
            )
            .collect();
        return Err(LoadtestExit {
            code: THRESHOLDS_FAILED,
            message: format!("failed: {}", failed.join(", ")),
        }
        .into());
    }
    Ok(())
}

/// Sets `stop` on the first Ctrl-C; the run then ends within a couple of seconds.
fn watch_ctrl_c(stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\nstopping: waiting up to 2 s for requests in flight…");
                stop.store(true, Ordering::Relaxed);
            }
        });
    });
}

fn progress(row: &SecondRow, seconds: usize) {
    let c = &row.counters;
    eprint!(
        "\r\x1b[2K{:>5}/{} s  target {:>7.0}/s  sent {:>6}  ok {:>6}  failed {:>4}  dropped {:>4}  \
         in flight {:>5}  p99 {:>8.1} ms  lag p99 {:>5.2} ms",
        row.second + 1,
        seconds,
        row.target_rps,
        c.sent,
        c.completed,
        c.failed,
        c.dropped,
        row.in_flight,
        row.latency.p99,
        row.lag.p99
    );
    let _ = std::io::stderr().flush();
}

fn write_outputs(
    dir: &std::path::Path,
    summary: &Summary,
    result: &RunResult,
) -> anyhow::Result<()> {
    write_atomic(&dir.join("loadtest.json"), |w| {
        serde_json::to_writer_pretty(&mut *w, summary)?;
        writeln!(w)?;
        Ok(())
    })?;
    write_atomic(&dir.join("timeline.csv"), |w| {
        writeln!(w, "{TIMELINE_HEADER}")?;
        for row in &result.timeline {
            writeln!(w, "{}", row.csv())?;
        }
        Ok(())
    })
}

/// The summary for people.
fn text(s: &Summary) -> String {
    use std::fmt::Write as _;
    let m = &s.measure;
    let mut out = String::new();
    let q = |q: &rightsize_load::stats::Quantiles| {
        format!(
            "p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2} ms",
            q.p50, q.p90, q.p99, q.p999, q.max
        )
    };
    let _ = writeln!(
        out,
        "{}{} {} over {:.1} s ({}, {} thread{})",
        if s.partial {
            "PARTIAL (interrupted): "
        } else {
            ""
        },
        s.method,
        s.target,
        s.elapsed_s,
        s.protocol,
        s.threads,
        if s.threads == 1 { "" } else { "s" }
    );
    if let Some(w) = &s.warmup {
        let _ = writeln!(
            out,
            "  warm-up ({} s, not judged): {} sent, {} failed, latency p99 {:.2} ms",
            s.warmup_s, w.sent, w.failed, w.latency_ms.p99
        );
    }
    let _ = writeln!(
        out,
        "  requests    scheduled {}  sent {}  completed {}  failed {}  dropped {}",
        m.scheduled, m.sent, m.completed, m.failed, m.dropped
    );
    let _ = writeln!(
        out,
        "  rate        achieved {:.1}/s of {:.1}/s asked",
        m.achieved_rps, m.target_rps
    );
    let status: Vec<String> = m.status.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let failures: Vec<String> = m.failures.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(
        out,
        "  status      {}{}",
        if status.is_empty() {
            "none".into()
        } else {
            status.join("  ")
        },
        if failures.is_empty() {
            String::new()
        } else {
            format!("   failures: {}", failures.join("  "))
        }
    );
    let _ = writeln!(
        out,
        "  latency     {}  (from the intended send time)",
        q(&m.latency_ms)
    );
    let _ = writeln!(
        out,
        "  service     {}  (from the actual send)",
        q(&m.service_ms)
    );
    let _ = writeln!(out, "  lag         {}", q(&m.schedule_lag_ms));
    let _ = writeln!(
        out,
        "  connections {} opened, connect p99 {:.2} ms",
        m.connections, m.connect_ms.p99
    );
    if s.generator_limited {
        for n in &s.generator_notes {
            let _ = writeln!(out, "  GENERATOR-LIMITED: {n}");
        }
    }
    for t in &s.thresholds {
        let _ = writeln!(
            out,
            "  {} {}  (observed {})",
            if t.ok { "ok  " } else { "FAIL" },
            t.expr,
            t.observed.map_or("nothing".into(), |v| format!("{v:.4}"))
        );
    }
    if let Some(slo) = &s.slo {
        let _ = writeln!(
            out,
            "  {} SLO p99 <= {} ms  (measured {}, failures counted as slowest)",
            if slo.ok { "ok  " } else { "FAIL" },
            slo.p99_ms,
            slo.measured_p99_ms
                .map_or("over: more than 1% failed".into(), |v| format!("{v:.2} ms"))
        );
    }
    out
}

/// One constant-rate step of a capacity search.
#[derive(Debug, Clone, serde::Serialize)]
struct Step {
    rate_rps: f64,
    achieved_rps: f64,
    p50_ms: f64,
    /// From intended send times, failures counted as slowest; null when more than 1% failed.
    p99_ms: Option<f64>,
    /// Failed requests and non-2xx answers over the scheduled, percent.
    errors_pct: f64,
    held: bool,
    /// The generator's schedule lag, p99, ms.
    lag_p99_ms: f64,
    generator_limited: bool,
}

/// The capacity search's result (`capacity.json`).
#[derive(Debug, Clone, serde::Serialize)]
struct CapacityReport {
    target: String,
    slo_p99_ms: f64,
    /// The highest rate that held the SLO; null when none did.
    knee_rps: Option<f64>,
    /// The first rate that broke it, if one was reached.
    broke_at_rps: Option<f64>,
    steps: Vec<Step>,
    model: Option<ModelComparison>,
    notes: Vec<String>,
}

/// The knee against an analysis's capacity model.
#[derive(Debug, Clone, serde::Serialize)]
struct ModelComparison {
    rps_per_pod_at_slo: f64,
    interval: Option<[f64; 2]>,
    pods: u32,
    model_rps: f64,
    /// Measured knee over the model's capacity.
    knee_over_model: Option<f64>,
}

fn capacity(c: CapacityArgs) -> anyhow::Result<()> {
    let step_s = parse_duration_s(&c.step)?;
    if step_s < 2 {
        bail!("--step {}: at least 2s (a fifth is warm-up)", c.step);
    }
    if !(c.slo_p99_ms.is_finite() && c.slo_p99_ms > 0.0) {
        bail!(
            "--slo-p99-ms {}: expected a positive number of milliseconds",
            c.slo_p99_ms
        );
    }
    if !(c.factor > 1.0 && c.factor.is_finite()) {
        bail!("--factor {}: expected more than 1", c.factor);
    }
    if !(c.start_rate > 0.0 && c.start_rate <= c.max_rate && c.max_rate <= MAX_RATE) {
        bail!(
            "--start-rate {} and --max-rate {}: expected 0 < start <= max <= {MAX_RATE}",
            c.start_rate,
            c.max_rate
        );
    }
    let model = match &c.analysis {
        Some(path) => Some(model_capacity(path, c.pods)?),
        None => None,
    };
    // Checks the flags once before the first step.
    c.request
        .config(RateCurve::constant(c.start_rate, step_s)?, 0.0)?;
    let stop = Arc::new(AtomicBool::new(false));
    watch_ctrl_c(stop.clone());
    let mut steps: Vec<Step> = Vec::new();
    let mut notes = Vec::new();
    let measure = |rate: f64, steps: &mut Vec<Step>| -> anyhow::Result<Option<bool>> {
        let curve = RateCurve::constant(rate, step_s)?;
        let cfg = c.request.config(curve, step_s as f64 / 5.0)?;
        let result = run(&cfg, &stop, |_| {})?;
        if result.partial {
            return Ok(None);
        }
        let s = summarize(&cfg, &result, &[], Some(c.slo_p99_ms));
        let m = &s.measure;
        let ok2xx = m.status.get("2xx").copied().unwrap_or(0);
        let errors = m.failed + m.completed.saturating_sub(ok2xx);
        let errors_pct = 100.0 * errors as f64 / m.scheduled.max(1) as f64;
        let p99 = s.slo.as_ref().and_then(|v| v.measured_p99_ms);
        let held = p99.is_some_and(|p| p <= c.slo_p99_ms) && errors_pct <= 1.0;
        let step = Step {
            rate_rps: rate,
            achieved_rps: m.achieved_rps,
            p50_ms: m.latency_ms.p50,
            p99_ms: p99,
            errors_pct,
            held,
            lag_p99_ms: m.schedule_lag_ms.p99,
            generator_limited: s.generator_limited,
        };
        eprintln!(
            "{:>9.1} req/s  p50 {:>8.2} ms  p99 {:>9}  errors {:>5.2}%  lag p99 {:.2} ms  {}{}",
            rate,
            step.p50_ms,
            p99.map_or("failures".into(), |p| format!("{p:.2} ms")),
            errors_pct,
            step.lag_p99_ms,
            if held { "held" } else { "BROKE" },
            if s.generator_limited {
                "  (generator-limited)"
            } else {
                ""
            }
        );
        // A late generator shapes the latency only when its lag is a fair part of the SLO.
        let spoiled = m.dropped > 0 || step.lag_p99_ms > 0.1 * c.slo_p99_ms;
        steps.push(step);
        if spoiled {
            return Err(anyhow::anyhow!(
                "at {rate:.1} req/s the generator could not keep to the schedule (lag p99 \
                 {:.2} ms, {} dropped): the measurement would be the generator's; give it more \
                 CPU or --threads",
                m.schedule_lag_ms.p99,
                m.dropped
            ));
        }
        Ok(Some(held))
    };
    let (mut held_at, mut broke_at): (Option<f64>, Option<f64>) = (None, None);
    let mut rate = c.start_rate;
    loop {
        match measure(rate, &mut steps)? {
            None => break,
            Some(true) => held_at = Some(rate),
            Some(false) => {
                broke_at = Some(rate);
                break;
            }
        }
        if rate >= c.max_rate {
            notes.push(format!(
                "--max-rate {} reached with the SLO held: the capacity is higher",
                c.max_rate
            ));
            break;
        }
        rate = (rate * c.factor).min(c.max_rate);
    }
    if let (Some(_), Some(_)) = (held_at, broke_at) {
        for _ in 0..c.refine {
            let (Some(lo), Some(hi)) = (held_at, broke_at) else {
                break;
            };
            if hi - lo < 0.02 * hi {
                break;
            }
            match measure((lo + hi) / 2.0, &mut steps)? {
                None => break,
                Some(true) => held_at = Some((lo + hi) / 2.0),
                Some(false) => broke_at = Some((lo + hi) / 2.0),
            }
        }
    }
    if steps.iter().any(|s| s.generator_limited) {
        notes.push(
            "a step was flagged generator-limited (queued for a connection, or sent over 1 ms \
             late, under a tenth of the SLO): its latency includes that"
                .into(),
        );
    }
    let model = model.map(|(per_pod, interval)| ModelComparison {
        rps_per_pod_at_slo: per_pod,
        interval,
        pods: c.pods,
        model_rps: per_pod * f64::from(c.pods),
        knee_over_model: held_at.map(|k| k / (per_pod * f64::from(c.pods))),
    });
    let report = CapacityReport {
        target: c.request.target.clone().unwrap_or_default(),
        slo_p99_ms: c.slo_p99_ms,
        knee_rps: held_at,
        broke_at_rps: broke_at,
        steps,
        model,
        notes,
    };
    if let Some(dir) = &c.out {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the directory", dir.display()))?;
        write_atomic(&dir.join("capacity.json"), |w| {
            serde_json::to_writer_pretty(&mut *w, &report)?;
            writeln!(w)?;
            Ok(())
        })?;
    }
    if c.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        match report.knee_rps {
            Some(k) => println!(
                "capacity at p99 <= {} ms: {k:.1} req/s{}",
                c.slo_p99_ms,
                report
                    .broke_at_rps
                    .map(|b| format!(" (broke at {b:.1} req/s)"))
                    .unwrap_or_default()
            ),
            None => println!("no rate held p99 <= {} ms", c.slo_p99_ms),
        }
        if let Some(m) = &report.model {
            println!(
                "the analysis's model: {:.1} req/s per pod at the SLO{} x {} pod(s) = {:.1} req/s{}",
                m.rps_per_pod_at_slo,
                m.interval
                    .map(|[a, b]| format!(" ({a:.1}-{b:.1})"))
                    .unwrap_or_default(),
                m.pods,
                m.model_rps,
                m.knee_over_model
                    .map(|r| format!("; measured / model = {r:.2}"))
                    .unwrap_or_default()
            );
        }
        for n in &report.notes {
            println!("note: {n}");
        }
    }
    if report.knee_rps.is_none() {
        return Err(LoadtestExit {
            code: THRESHOLDS_FAILED,
            message: format!(
                "no rate held the SLO: the first step, {} req/s, broke it",
                c.start_rate
            ),
        }
        .into());
    }
    Ok(())
}

/// The analysis's requests per pod at the SLO and its interval.
fn model_capacity(path: &std::path::Path, pods: u32) -> anyhow::Result<(f64, Option<[f64; 2]>)> {
    if pods == 0 {
        bail!("--pods must be at least 1");
    }
    let name = path.display();
    let json = crate::profile::read_analysis(path)?;
    let per_pod = json
        .pointer("/capacity/rps_per_pod_at_slo")
        .and_then(|v| v.as_f64())
        .with_context(|| {
            format!(
                "{name}: no capacity.rps_per_pod_at_slo (the analysis could not fit a capacity \
                 model; see its capacity.notes)"
            )
        })?;
    let interval = json
        .pointer("/capacity/interval")
        .and_then(|v| v.as_array())
        .and_then(|a| Some([a.first()?.as_f64()?, a.get(1)?.as_f64()?]));
    Ok((per_pod, interval))
}
