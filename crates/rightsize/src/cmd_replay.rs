//! `rightsize loadtest replay`: the recorded peak sent to the emulated cluster once with
//! today's configuration and once with the proposal, measured, and set beside the simulator's
//! prediction for the same traffic (loadtest-report.json, .md, .html).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use hdrhistogram::Histogram;
use rightsize_core::load::schedule::{Arrivals, RateCurve, parse_duration_s};
use rightsize_core::load::window::{WindowOptions, peak_window};
use rightsize_core::report::replay::{
    Agreement, REPLAY_SCHEMA_VERSION, ReplayMinute, ReplayReport, ReplayRun, document,
};
use rightsize_core::sim::{self, Demand, SimResult};
use rightsize_load::request::{Order, RequestSpec};
use rightsize_load::run::{LoadConfig, RunResult, run};
use rightsize_load::stats::histogram;
use rightsize_load::summary::{p99_failures_slowest, summarize};
use rightsize_load::target::Target;
use rightsize_serve::testbed::{StepRecord, Testbed, serve_testbed};

use crate::cmd_config::{ClusterArgs, read_config};
use crate::cmd_simulate::ReplayArgs;
use crate::cmd_testbed::{Emulated, emulate, read_facts, testbed_config};
use crate::output::write_atomic;
use crate::profile::read_analysis;

/// `rightsize loadtest replay …`.
#[derive(Debug, Args)]
pub struct ReplayCmdArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// The proposal (proposed/ from rightsize recommend): replayed after today's
    /// configuration. Without it only today's runs.
    #[arg(long, value_name = "PATH")]
    policy: Vec<PathBuf>,
    /// analysis.json from rightsize analyze: the recorded traffic and the pods' model.
    #[arg(long, value_name = "FILE")]
    analysis: PathBuf,
    /// Which part of the week: peak is the ramp into the week's highest 5 minutes (at most
    /// --max-ramp long) and the peak, 5 minutes before to 10 after.
    #[arg(long, value_name = "WINDOW", value_parser = ["peak"], default_value = "peak")]
    window: String,
    /// The longest ramp taken before the peak.
    #[arg(long, value_name = "D", default_value = "60m")]
    max_ramp: String,
    /// Emulated seconds per real second (a divisor of 60, so that an emulated minute is whole
    /// real seconds): the window runs K times faster, at its recorded rates.
    #[arg(long, value_name = "K", default_value_t = 10)]
    time_scale: u32,
    /// Multiply every rate (the cluster then needs fewer pods for the same per-pod load).
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    scale: f64,
    /// The p99 objective, ms (default: the analysis's).
    #[arg(long, value_name = "MS")]
    slo_p99_ms: Option<f64>,
    /// Seed of the arrivals, the load balancer and the service times.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A request with no answer this long after it was sent has failed.
    #[arg(long, value_name = "D", default_value = "10s")]
    timeout: String,
    /// Load generator threads.
    #[arg(long, value_name = "N", default_value_t = 1)]
    threads: usize,
    /// Where loadtest-report.json, .md and .html go.
    #[arg(long, value_name = "DIR", default_value = "loadtest-replay")]
    out: PathBuf,
    #[command(flatten)]
    replay: ReplayArgs,
}

/// Runs the command. Exit code 1 (a failed check) when a replayed configuration breaks the
/// SLO: the proposal's, or today's when there is no proposal.
pub fn run_replay(a: ReplayCmdArgs) -> anyhow::Result<()> {
    let k = a.time_scale;
    if k == 0 || 60 % k != 0 {
        bail!(
            "--time-scale {k}: expected a divisor of 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)"
        );
    }
    if !(a.scale.is_finite() && a.scale > 0.0) {
        bail!("--scale {}: expected a positive factor", a.scale);
    }
    if a.cluster.config.is_empty() {
        bail!(
            "give today's manifests with --config (the HPA or ScaledObject, the Deployment and the node group)"
        );
    }
    let opts = a.replay.options()?;
    let facts = read_facts(&a.analysis)?;
    let slo = a.slo_p99_ms.unwrap_or(facts.slo_p99_ms);
    if !(slo.is_finite() && slo > 0.0) {
        bail!("--slo-p99-ms {slo}: expected a positive number of milliseconds");
    }
    let json = read_analysis(&a.analysis)?;
    let name = a.analysis.display();
    let minute_rps: Vec<f64> = json
        .pointer("/traffic/minute_rps")
        .and_then(|v| v.as_array())
        .with_context(|| {
            format!("{name}: no traffic.minute_rps; expected analysis.json from rightsize analyze")
        })?
        .iter()
        .map(|v| v.as_f64().unwrap_or(0.0) * a.scale)
        .collect();
    let week_start = json
        .pointer("/traffic/minute_rps_start")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .with_context(|| format!("{name}: traffic.minute_rps_start: expected an RFC 3339 time"))?
        .as_second();
    let w = peak_window(
        &minute_rps,
        &WindowOptions {
            max_ramp_minutes: (parse_duration_s(&a.max_ramp)? / 60) as usize,
            compress: k,
            compress_peak: true,
            ..WindowOptions::default()
        },
    )
    .with_context(|| format!("{name}"))?;
    let window_start = week_start + w.ramp_start_minute as i64 * 60;
    let curve = w.curve.clone();
    // The same traffic in emulated seconds: each real second's rate held K seconds.
    let emulated = Demand {
        start_unix_s: window_start,
        rps: curve
            .rps
            .iter()
            .flat_map(|r| std::iter::repeat_n(*r, k as usize))
            .collect(),
    };
    let week = Demand {
        start_unix_s: week_start,
        rps: minute_rps
            .iter()
            .flat_map(|r| std::iter::repeat_n(*r, 60))
            .collect(),
    };
    let window_text = format!(
        "The recorded peak: {} minutes from {} (ramp {} min, peak {} min), {:.0} req/s at most",
        w.end_minute - w.ramp_start_minute,
        rfc3339(window_start),
        w.peak_start_minute - w.ramp_start_minute,
        w.end_minute - w.peak_start_minute,
        curve.rps.iter().copied().fold(0.0, f64::max)
    );
    eprintln!("{window_text}; {} s per run at x{k}", curve.rps.len());

    let base = read_config(&a.cluster.config)?;
    let policy = if a.policy.is_empty() {
        None
    } else {
        Some(read_config(&a.policy).context("reading --policy")?)
    };
    let mut configs = vec![("today", None)];
    if let Some(p) = &policy {
        configs.push(("proposal", Some(p)));
    }
    let mut runs = Vec::new();
    let mut raw = Vec::new();
    let mut real_seconds = 0.0;
    for (label, pol) in configs {
        let mut e = emulate(&facts, &base, pol, &a.cluster, &opts)?;
        // The state at the window's start: the week replayed up to it.
        let wk = simulate(&week, &e)?;
        let initial = wk
            .series
            .ready_pods_1m
            .get(w.ramp_start_minute)
            .map_or(1, |r| r.round().max(1.0) as u32);
        e.setup.config.initial_replicas = Some(initial);
        let predicted = simulate(&emulated, &e)?;
        eprintln!("{}, from {initial} replicas", e.label);
        let (result, steps, load) = replay_once(&e, &curve, window_start, &a, k)?;
        real_seconds = result.elapsed_s;
        // The load generator's own summary of the run, as `rightsize loadtest` writes it.
        raw.push((
            format!("loadtest-{label}.json"),
            summarize(&load, &result, &[], Some(slo)),
        ));
        runs.push(summarise(
            label, &e, initial, &result, &steps, &predicted, k, slo,
        ));
    }
    let verdict = ReplayReport::conclude(&runs, slo);
    let report = ReplayReport {
        schema_version: REPLAY_SCHEMA_VERSION,
        slo_p99_ms: slo,
        window: window_text,
        window_start: rfc3339(window_start),
        time_scale: k,
        scale: a.scale,
        real_seconds,
        verdict: verdict.clone(),
        runs,
    };
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create the directory", a.out.display()))?;
    let doc = document(&report);
    write_atomic(&a.out.join("loadtest-report.json"), |w| {
        serde_json::to_writer_pretty(&mut *w, &report)?;
        writeln!(w)?;
        Ok(())
    })?;
    for (name, summary) in &raw {
        write_atomic(&a.out.join(name), |w| {
            serde_json::to_writer_pretty(&mut *w, summary)?;
            writeln!(w)?;
            Ok(())
        })?;
    }
    write_atomic(&a.out.join("loadtest-report.md"), |w| {
        w.write_all(doc.markdown("loadtest-report.html").as_bytes())?;
        Ok(())
    })?;
    write_atomic(&a.out.join("loadtest-report.html"), |w| {
        w.write_all(doc.html().as_bytes())?;
        Ok(())
    })?;
    for run in &report.runs {
        println!(
            "{:<9} {}  SLO {}  minutes over {}/{}  worst p99 {} ms (predicted {} ms)  measured within 20% of predicted in {} of {} minutes",
            run.name,
            run.configuration,
            if run.holds_slo { "holds" } else { "BREAKS" },
            run.minutes_over_slo,
            run.minutes.len(),
            fmt_ms(run.worst_measured_p99_ms),
            fmt_ms(run.worst_predicted_p99_ms),
            run.agreement
                .share_within_tolerance
                .map_or("-".into(), |s| format!("{:.0}%", s * 100.0)),
            run.agreement.minutes
        );
    }
    println!("{verdict}");
    println!(
        "wrote loadtest-report.json, loadtest-report.md, loadtest-report.html and {} in {}",
        raw.iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        a.out.display()
    );
    let judged = report.runs.last().is_none_or(|r| r.holds_slo);
    if !judged {
        return Err(crate::CheckFailed(format!(
            "{} breaks the SLO in the replayed peak",
            report.runs.last().map_or("", |r| r.name.as_str())
        ))
        .into());
    }
    Ok(())
}

fn fmt_ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1}"))
}

fn rfc3339(unix_s: i64) -> String {
    jiff::Timestamp::from_second(unix_s).map_or_else(|_| unix_s.to_string(), |t| t.to_string())
}

fn simulate(d: &Demand, e: &Emulated) -> anyhow::Result<SimResult> {
    let s = &e.setup;
    Ok(sim::simulate(d, &s.service, &s.pool, &s.scaler, &s.config)?)
}

/// Starts the testbed for `e`, sends `curve` to it, stops it.
fn replay_once(
    e: &Emulated,
    curve: &RateCurve,
    window_start: i64,
    a: &ReplayCmdArgs,
    k: u32,
) -> anyhow::Result<(RunResult, Vec<StepRecord>, LoadConfig)> {
    let cfg = testbed_config(e, window_start, f64::from(k), a.seed, 1000, false)?;
    let timeout = Duration::from_secs(parse_duration_s(&a.timeout)?);
    if timeout.is_zero() || timeout > Duration::from_secs(600) {
        bail!("--timeout {}: expected 1s to 10m", a.timeout);
    }
    if a.threads == 0 || a.threads > 64 {
        bail!("--threads {}: expected 1 to 64", a.threads);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .context("cannot listen on 127.0.0.1")?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let tb = Testbed::start(cfg)?;
    let server = rt.spawn(serve_testbed(listener, tb.clone(), async {
        let _ = rx.await;
    }));
    let load = LoadConfig {
        curve: curve.clone(),
        arrivals: Arrivals::Poisson,
        seed: a.seed,
        target: Target::parse(&format!("http://{addr}/v1/recommend"), false)?,
        request: RequestSpec::new(
            "POST",
            &[],
            Some("{\"user_id\": {{i}}, \"k\": 20}"),
            Vec::new(),
            Order::RoundRobin,
            a.seed,
        )?,
        http2: false,
        timeout,
        max_in_flight: None,
        threads: a.threads,
        connections: 4096,
        warmup_s: 0.0,
        keep_histograms: true,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let result = run(&load, &stop, |_| {});
    tb.stop();
    let _ = tx.send(());
    let _ = rt.block_on(server);
    let result = result.map_err(|e| anyhow!("{e}"))?;
    Ok((result, tb.steps(), load))
}

/// Folds a run into emulated minutes beside the prediction.
#[allow(clippy::too_many_arguments)]
fn summarise(
    name: &str,
    e: &Emulated,
    initial: u32,
    r: &RunResult,
    steps: &[StepRecord],
    predicted: &SimResult,
    k: u32,
    slo: f64,
) -> ReplayRun {
    let per_minute = (60 / k) as usize;
    let minutes = predicted.series.p99_1m_ms.len();
    // Each second's counts and histogram into its emulated minute, in one pass.
    #[derive(Default)]
    struct Acc {
        hist: Option<Histogram<u64>>,
        seconds: usize,
        target: f64,
        requests: u64,
        no_answer: u64,
        timeouts: u64,
        s5xx: u64,
    }
    let mut acc: Vec<Acc> = (0..minutes).map(|_| Acc::default()).collect();
    for row in &r.timeline {
        let Some(a) = acc.get_mut(row.second as usize / per_minute) else {
            continue;
        };
        if let Some(x) = &row.histogram {
            let _ = a.hist.get_or_insert_with(histogram).add(x);
        }
        let c = &row.counters;
        a.seconds += 1;
        a.target += row.target_rps;
        a.requests += c.completed + c.failed;
        a.no_answer += c.failed;
        a.timeouts += c.timeouts;
        a.s5xx += c.status[4];
    }
    // The testbed's emulated seconds, likewise: ready pods summed, the most desired and nodes.
    let mut pods = vec![(0.0, 0usize, 0u32, 0u32); minutes];
    for st in steps {
        if let Some(p) = pods.get_mut(st.t_s as usize / 60) {
            p.0 += f64::from(st.ready);
            p.1 += 1;
            p.2 = p.2.max(st.desired);
            p.3 = p.3.max(st.nodes);
        }
    }
    let empty = histogram();
    let out: Vec<ReplayMinute> = acc
        .iter()
        .zip(&pods)
        .enumerate()
        .map(
            |(m, (a, &(ready_sum, steps_in, desired, nodes)))| ReplayMinute {
                minute: m,
                target_rps: a.target / a.seconds.max(1) as f64,
                requests: a.requests,
                failed: a.no_answer + a.s5xx,
                measured_p99_ms: p99_failures_slowest(
                    a.hist.as_ref().unwrap_or(&empty),
                    a.no_answer - a.timeouts.min(a.no_answer),
                    a.s5xx,
                ),
                predicted_p99_ms: predicted.series.p99_1m_ms[m],
                ready: if steps_in == 0 {
                    0.0
                } else {
                    ready_sum / steps_in as f64
                },
                desired,
                nodes,
                predicted_ready: predicted
                    .series
                    .ready_pods_1m
                    .get(m)
                    .copied()
                    .unwrap_or(0.0),
            },
        )
        .collect();
    let over = out
        .iter()
        .filter(|m| m.requests > 0 && m.measured_p99_ms.is_none_or(|p| p > slo))
        .count();
    let worst_measured = if out
        .iter()
        .any(|m| m.requests > 0 && m.measured_p99_ms.is_none())
    {
        None
    } else {
        out.iter()
            .filter_map(|m| m.measured_p99_ms)
            .reduce(f64::max)
    };
    let c = &r.measure.counters;
    let failed = c.failed + c.status[4];
    let mut notes = e.setup.notes.clone();
    notes.sort();
    notes.dedup();
    ReplayRun {
        name: name.into(),
        configuration: e.label.clone(),
        initial_replicas: initial,
        holds_slo: over == 0,
        minutes_over_slo: over,
        worst_measured_p99_ms: worst_measured,
        worst_predicted_p99_ms: predicted
            .series
            .p99_1m_ms
            .iter()
            .flatten()
            .copied()
            .reduce(f64::max),
        measured_p99_ms: p99_failures_slowest(
            &r.measure.latency,
            c.failed - c.timeouts.min(c.failed),
            c.status[4],
        ),
        requests: c.completed + c.failed,
        failed,
        generator_limited: c.dropped > 0 || c.conn_waits > 0,
        lag_p99_ms: r.measure.lag.value_at_quantile(0.99) as f64 / 1000.0,
        agreement: Agreement::of(&out),
        minutes: out,
        notes,
    }
}
