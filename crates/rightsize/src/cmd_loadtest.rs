//! `rightsize loadtest`: the open-model load generator against a target, with live progress,
//! a summary, thresholds and the SLO verdict, and loadtest.json and timeline.csv.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use rightsize_core::load::schedule::parse_duration_s;
use rightsize_load::request::{Order, RequestSpec, read_payloads};
use rightsize_load::run::{LoadConfig, RunResult, run};
use rightsize_load::stats::{SecondRow, TIMELINE_HEADER};
use rightsize_load::summary::{Summary, summarize};
use rightsize_load::target::Target;
use rightsize_load::threshold::Threshold;

use crate::cmd_export::ArrivalsArg;
use crate::output::write_atomic;
use crate::profile::ProfileArgs;

/// `rightsize loadtest …`.
#[derive(Debug, Args)]
pub struct LoadtestArgs {
    /// The URL requested, e.g. http://127.0.0.1:8080/v1/recommend. Only loopback unless
    /// --allow-remote.
    #[arg(long, value_name = "URL")]
    target: String,
    #[command(flatten)]
    profile: ProfileArgs,
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
    /// Allow a target that is not on this machine (make sure it is a service that expects the
    /// load: a staging deployment, not production).
    #[arg(long)]
    allow_remote: bool,
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
    let (curve, described) = a.profile.curve_described()?;
    let target = Target::parse(&a.target, a.allow_remote)?;
    let timeout = Duration::from_secs(parse_duration_s(&a.timeout)?);
    if timeout.is_zero() || timeout > Duration::from_secs(600) {
        bail!("--timeout {}: expected 1s to 10m", a.timeout);
    }
    let warmup_s = parse_duration_s(&a.warmup)? as f64;
    if a.threads == 0 || a.threads > 64 {
        bail!("--threads {}: expected 1 to 64", a.threads);
    }
    if a.connections == 0 {
        bail!("--connections must be at least 1");
    }
    if a.max_in_flight == Some(0) {
        bail!("--max-in-flight must be at least 1");
    }
    let payloads = match &a.bodies {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read the payloads", path.display()))?;
            read_payloads(&text, &path.display().to_string())?
        }
        None => Vec::new(),
    };
    let request = RequestSpec::new(
        &a.method,
        &a.headers,
        a.body.as_deref(),
        payloads,
        match a.bodies_order {
            OrderArg::RoundRobin => Order::RoundRobin,
            OrderArg::Random => Order::Random,
        },
        a.seed,
    )?;
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
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the directory", dir.display()))?;
    }
    let cfg = LoadConfig {
        curve,
        arrivals: a.arrivals.into(),
        seed: a.seed,
        target,
        request,
        http2: a.http2,
        timeout,
        max_in_flight: a.max_in_flight,
        threads: a.threads,
        connections: a.connections,
        warmup_s,
    };
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
