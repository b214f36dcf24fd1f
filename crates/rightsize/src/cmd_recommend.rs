//! `rightsize recommend`: search for the cheapest scaling configuration that keeps p99 under
//! the SLO as today does, and write it as manifests with the predictions and the evidence.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use rightsize_core::recommend::{self, Inputs, Objective, Options, report};
use rightsize_core::sim::setup::SetupOptions;

use crate::CheckFailed;
use crate::cmd_analyze::AnalysisInputs;
use crate::cmd_simulate::{Prepared, ReplayArgs, SETUP_CONTEXT, prepare};
use crate::output::write_atomic;

/// What to minimise.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ObjectiveArg {
    /// Node cost in the off-peak hours (as the analysis defines them).
    OffPeak,
    /// Node cost over the whole span.
    Total,
}

/// Flags of `rightsize recommend`.
#[derive(Debug, Args)]
pub struct RecommendArgs {
    #[command(flatten)]
    pub inputs: AnalysisInputs,
    #[command(flatten)]
    pub replay: ReplayArgs,
    /// What the search minimises.
    #[arg(long, value_enum, default_value = "off-peak")]
    pub objective: ObjectiveArg,
    /// Savings on the objective's cost a proposal must reach, as a fraction (0.30: 30%).
    /// Without a candidate that reaches it, the command says so and exits with 1.
    #[arg(long, value_name = "F", default_value_t = 0.30)]
    pub min_savings: f64,
    /// Fewest replicas any proposal keeps (high availability).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub min_replicas_floor: u32,
    /// The Prometheus server a KEDA prometheus trigger queries.
    #[arg(long, value_name = "URL", default_value = recommend::DEFAULT_PROMETHEUS)]
    pub prometheus_address: String,
    /// The PromQL query that returns the workload's total request rate (default:
    /// sum(rate(http_requests_total{namespace="NS", pod=~"NAME-.*"}[1m]))).
    #[arg(long, value_name = "PROMQL")]
    pub rate_query: Option<String>,
    /// Leave out the strategies that need KEDA (a request-rate trigger, cron floors): for
    /// clusters without it. The request rate is then scaled on through an HPA Pods metric that
    /// prometheus-adapter serves.
    #[arg(long)]
    pub without_keda: bool,
    /// Directory for proposed/, recommendation.json and recommendation.md.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Files `proposed/` may hold; stale ones from an earlier run are removed.
const PROPOSED_NAMES: [&str; 7] = [
    "hpa.yaml",
    "keda-scaledobject.yaml",
    "prometheus-adapter-rule.yaml",
    "deployment-patch.yaml",
    "vpa.yaml",
    "nodegroup.yaml",
    "karpenter-nodepool.yaml",
];

/// Runs the command.
pub fn run(args: RecommendArgs) -> anyhow::Result<()> {
    if !(args.min_savings.is_finite() && (0.0..1.0).contains(&args.min_savings)) {
        anyhow::bail!(
            "--min-savings must be a fraction in [0, 1), found {}",
            args.min_savings
        );
    }
    let opts = args.replay.options()?;
    let Prepared {
        base,
        catalogue,
        analysis: a,
        demand,
        tz,
        today,
    } = prepare(&args.inputs, &opts)?;
    let context = SETUP_CONTEXT;
    // Every candidate is replayed with today's start-up.
    let setup_opts = SetupOptions {
        startup_s: Some(today.service.startup_s),
        ..opts
    };
    let inputs = Inputs {
        analysis: &a,
        base: &base,
        catalogue: &catalogue,
        tz: &tz,
        setup: &setup_opts,
        demand: &demand,
    };
    let ropts = Options {
        objective: match args.objective {
            ObjectiveArg::OffPeak => Objective::OffPeak,
            ObjectiveArg::Total => Objective::Total,
        },
        min_savings: args.min_savings,
        min_replicas_floor: args.min_replicas_floor,
        prometheus_address: args.prometheus_address.clone(),
        rate_query: args.rate_query.clone(),
        without_keda: args.without_keda,
        // Replays share the parsing threads' setting.
        threads: args.inputs.telemetry_flags.config().threads,
        ..Options::default()
    };
    let rec = recommend::recommend(&inputs, &ropts).map_err(|e| anyhow!(e).context(context))?;

    // The chosen candidate's files, read back and replayed: the predictions are what a user
    // gets from `rightsize simulate --policy proposed/`.
    let (files, predicted, sizing) = match &rec.chosen {
        Some(c) => {
            let mut files =
                recommend::proposed_files(&inputs, &ropts, c).map_err(|e| anyhow!(e))?;
            let after = recommend::replay_files(&inputs, &files).map_err(|e| anyhow!(e))?;
            if after.summary.cost_total != c.judged.cost_total
                || after.summary.slo_violation_windows_5m != c.judged.violation_windows
            {
                anyhow::bail!(
                    "the written files replay differently from the candidate they were written from (cost ${:.4} vs ${:.4}, {} vs {} windows): a bug, please report it",
                    after.summary.cost_total,
                    c.judged.cost_total,
                    after.summary.slo_violation_windows_5m,
                    c.judged.violation_windows
                );
            }
            // A VPA in updateMode Off changes nothing a replay models (the tests replay the
            // written directory, VPA included, to the same figures).
            let sizing = recommend::cpu_sizing(&inputs, &files, &after);
            if let Some(z) = &sizing
                && let Some(f) = recommend::vpa_file(&inputs, z).map_err(|e| anyhow!(e))?
            {
                files.push(f);
            }
            (files, Some(report::predicted(&rec.today, &after)), sizing)
        }
        None => (Vec::new(), None, None),
    };

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create the directory", args.out.display()))?;
    let proposed = args.out.join("proposed");
    std::fs::create_dir_all(&proposed)
        .with_context(|| format!("{}: cannot create the directory", proposed.display()))?;
    for name in PROPOSED_NAMES {
        let stale = proposed.join(name);
        if stale.exists() && !files.iter().any(|f| f.name == name) {
            std::fs::remove_file(&stale)
                .with_context(|| format!("{}: cannot remove the stale file", stale.display()))?;
        }
    }
    for f in &files {
        write_atomic(&proposed.join(&f.name), |w| {
            Ok(w.write_all(f.text.as_bytes())?)
        })?;
    }
    let doc = report::document(&rec, predicted.clone(), sizing.as_ref(), &files);
    let json_path = args.out.join("recommendation.json");
    write_atomic(&json_path, |w| {
        serde_json::to_writer_pretty(&mut *w, &doc)?;
        Ok(w.write_all(b"\n")?)
    })?;
    let md = report::markdown(&rec, predicted.as_ref(), sizing.as_ref(), &files);
    let md_path = args.out.join("recommendation.md");
    write_atomic(&md_path, |w| Ok(w.write_all(md.as_bytes())?))?;

    for n in today.notes.iter().chain(&rec.notes) {
        eprintln!("note: {n}");
    }
    match (&rec.chosen, &predicted) {
        (Some(c), Some(p)) => {
            println!("{}", c.label);
            println!(
                "  off-peak cost ${:.2} -> ${:.2} ({:.0}% less); total ${:.2} -> ${:.2} ({:.0}% less)",
                p.cost_off_peak_before,
                p.cost_off_peak_after,
                p.off_peak_savings_pct,
                p.cost_total_before,
                p.cost_total_after,
                p.total_savings_pct
            );
            println!(
                "  SLO windows {} -> {}; worst p99 {:.0} -> {:.0} ms; stress replays: {}",
                p.slo_violation_windows_before,
                p.slo_violation_windows_after,
                p.worst_p99_ms_before,
                p.worst_p99_ms_after,
                c.checks
                    .iter()
                    .map(|ch| format!("{} {}", ch.name, if ch.passed { "held" } else { "failed" }))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!(
                "wrote {} in {}, recommendation.json and recommendation.md",
                files
                    .iter()
                    .map(|f| format!("proposed/{}", f.name))
                    .collect::<Vec<_>>()
                    .join(", "),
                args.out.display()
            );
            Ok(())
        }
        _ => {
            let closest: Vec<String> = rec
                .candidates
                .iter()
                .take(3)
                .map(|e| {
                    format!(
                        "{} ({:.0}% {} savings): {}",
                        e.label,
                        100.0 * e.savings(ropts.objective),
                        match ropts.objective {
                            Objective::OffPeak => "off-peak",
                            Objective::Total => "total",
                        },
                        if e.breaks.is_empty() {
                            "saves too little".to_string()
                        } else {
                            e.breaks.join("; ")
                        }
                    )
                })
                .collect();
            Err(CheckFailed(format!(
                "no configuration keeps the SLO as today does and saves {:.0}%; the closest of {} candidates:\n  {}\nsee {}",
                100.0 * args.min_savings,
                rec.candidates.len(),
                closest.join("\n  "),
                md_path.display()
            ))
            .into())
        }
    }
}
