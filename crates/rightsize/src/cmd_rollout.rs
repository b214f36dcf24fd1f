//! `rightsize rollout`: the rollout plan (rollout-plan.md, .html and a two-page .pdf), the
//! rollback triggers as
//! Prometheus rules with their promtool unit tests (alerts/), and a Grafana dashboard of the
//! signals they watch (dashboards/rollout.json), from an analysis, a recommendation and today's
//! manifests.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use clap::Args;
use rightsize_core::analysis::cost::serving_workload;
use rightsize_core::report::pdf::two_pages;
use rightsize_core::rollout::alerts::{
    AlertInputs, ProvisionerKind, prometheus_rule, rule_file, unit_tests,
};
use rightsize_core::rollout::dashboard::dashboard;
use rightsize_core::rollout::plan::{NodeGroupRef, PlanInputs, ScalerKind, plan};
use rightsize_core::sim::Provisioner;
use rightsize_core::sim::setup::{SetupOptions, setup_of};

use crate::cmd_config::{ClusterArgs, read_config};
use crate::cmd_testbed::read_facts;
use crate::output::write_atomic;
use crate::profile::read_analysis;

/// Flags of `rightsize rollout`.
#[derive(Debug, Args)]
pub struct RolloutArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// analysis.json from rightsize analyze.
    #[arg(long, value_name = "FILE")]
    analysis: PathBuf,
    /// The directory rightsize recommend wrote: recommendation.json and proposed/.
    #[arg(long, value_name = "DIR")]
    recommendation: PathBuf,
    /// loadtest-report.json from `rightsize loadtest replay`, for the plan's verdict line.
    #[arg(long, value_name = "FILE")]
    loadtest_report: Option<PathBuf>,
    /// The service's latency histogram (seconds), without `_bucket`.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "http_request_duration_seconds"
    )]
    latency_histogram: String,
    /// The service's request counter, labelled by status code.
    #[arg(long, value_name = "NAME", default_value = "http_requests_total")]
    requests_counter: String,
    /// The status code label of the counter.
    #[arg(long, value_name = "LABEL", default_value = "code")]
    code_label: String,
    /// Label matchers selecting the service's series (default:
    /// namespace="<namespace>",service="<workload>").
    #[arg(long, value_name = "MATCHERS")]
    selector: Option<String>,
    /// Percentage points of 5xx above the analysed week's error rate before the error trigger
    /// fires.
    #[arg(long, value_name = "POINTS", default_value_t = 0.5)]
    error_margin_pct: f64,
    /// Where rollout-plan.md, rollout-plan.html, alerts/ and dashboards/ go.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Runs the command.
pub fn run(a: RolloutArgs) -> anyhow::Result<()> {
    let written = write_rollout(&a)?;
    println!("wrote {} in {}", written.join(", "), a.out.display());
    Ok(())
}

fn number(v: &serde_json::Value, path: &str, file: &Path) -> anyhow::Result<f64> {
    v.pointer(path).and_then(|x| x.as_f64()).ok_or_else(|| {
        anyhow!(
            "{}: {} is missing or not a number",
            file.display(),
            path.trim_start_matches('/').replace('/', ".")
        )
    })
}

/// Writes the plan, the alerts and the dashboard; the files written, relative to `--out`.
pub fn write_rollout(a: &RolloutArgs) -> anyhow::Result<Vec<String>> {
    if !(a.error_margin_pct.is_finite() && a.error_margin_pct > 0.0) {
        bail!(
            "--error-margin-pct {}: expected a positive number of percentage points",
            a.error_margin_pct
        );
    }
    if a.cluster.config.is_empty() {
        bail!(
            "give today's manifests with --config (the Deployment, its HPA or ScaledObject and the node group)"
        );
    }
    let facts = read_facts(&a.analysis)?;
    let analysis = read_analysis(&a.analysis)?;
    let rec_path = a.recommendation.join("recommendation.json");
    let rec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&rec_path)
            .with_context(|| format!("{}: cannot read the recommendation", rec_path.display()))?,
    )
    .with_context(|| format!("{}: not JSON", rec_path.display()))?;
    if rec["strategy"].is_null() {
        bail!(
            "{}: the recommendation found no configuration that qualifies: there is nothing to roll out",
            rec_path.display()
        );
    }
    let base = read_config(&a.cluster.config)?;
    let proposed_dir = a.recommendation.join("proposed");
    let proposal = read_config(std::slice::from_ref(&proposed_dir)).context("reading proposed/")?;
    let merged = base
        .with_policy(&proposal)
        .map_err(|e| anyhow!("{}: {e}", proposed_dir.display()))?;
    let workload = serving_workload(&merged).ok_or_else(|| {
        anyhow!("no Deployment or StatefulSet in --config: the plan needs the workload's name")
    })?;
    let namespace = workload
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let name = workload.metadata.name.clone();
    let (scaler_kind, hpa) = match (proposal.scaled_objects.first(), proposal.hpas.first()) {
        (Some(so), _) => (ScalerKind::Keda, format!("keda-hpa-{}", so.metadata.name)),
        (None, Some(h)) => (ScalerKind::Hpa, h.metadata.name.clone()),
        (None, None) => bail!("{}: no HPA or ScaledObject", proposed_dir.display()),
    };
    let tz = crate::inputs::parse_tz(&facts.time_zone)
        .map_err(|e| anyhow!("the analysis's time zone {:?}: {e}", facts.time_zone))?;
    let s = setup_of(
        &facts,
        None,
        &merged,
        &a.cluster.catalogue()?,
        &tz,
        &SetupOptions::default(),
    )
    .context(crate::cmd_simulate::SETUP_CONTEXT)?;
    let (provision_s, provisioner) = match s.pool.provisioner {
        Provisioner::Karpenter { provision_s, .. } => (provision_s, ProvisionerKind::Karpenter),
        Provisioner::ClusterAutoscaler { provision_s, .. } => {
            (provision_s, ProvisionerKind::ClusterAutoscaler)
        }
        Provisioner::Fixed => (0.0, ProvisionerKind::ClusterAutoscaler),
    };
    let baseline_error_rate = number(&analysis, "/latency/error_rate", &a.analysis)?;
    let alerts = AlertInputs {
        selector: a
            .selector
            .clone()
            .unwrap_or_else(|| format!("namespace=\"{namespace}\",service=\"{name}\"")),
        namespace,
        workload: name,
        hpa,
        slo_p99_ms: facts.slo_p99_ms,
        baseline_error_rate,
        error_margin: a.error_margin_pct / 100.0,
        // Start-up and node provisioning, half as long again: slower than that is a failure.
        pending_bound_s: 1.5 * (s.service.startup_s + provision_s),
        latency_histogram: a.latency_histogram.clone(),
        requests_counter: a.requests_counter.clone(),
        code_label: a.code_label.clone(),
        provisioner,
    };
    let load_test = match &a.loadtest_report {
        Some(path) => {
            let r: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(path).with_context(|| {
                    format!("{}: cannot read the load-test report", path.display())
                })?)
                .with_context(|| format!("{}: not JSON", path.display()))?;
            Some(
                r["verdict"]
                    .as_str()
                    .ok_or_else(|| anyhow!("{}: no verdict", path.display()))?
                    .to_string(),
            )
        }
        None => None,
    };
    let group = base.node_groups.first().map(|g| NodeGroupRef {
        name: g.name.clone(),
        eksctl_cluster: g.eksctl_cluster.as_ref().map(|(c, _)| c.clone()),
        karpenter: g.source.contains("Karpenter"),
        min_nodes: g.min_nodes,
    });
    let p = PlanInputs {
        alerts: alerts.clone(),
        proposal: rec["label"].as_str().unwrap_or("the proposal").to_string(),
        scaler_kind,
        files: rec["files"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter_map(|x| x.as_str().map(|s| format!("proposed/{s}")))
                    .collect()
            })
            .unwrap_or_default(),
        off_peak_cost: (
            number(&rec, "/predicted/cost_off_peak_before", &rec_path)?,
            number(&rec, "/predicted/cost_off_peak_after", &rec_path)?,
        ),
        total_cost: (
            number(&rec, "/predicted/cost_total_before", &rec_path)?,
            number(&rec, "/predicted/cost_total_after", &rec_path)?,
        ),
        span_days: number(&analysis, "/span/days", &a.analysis)?,
        slo_windows: (
            number(&rec, "/predicted/slo_violation_windows_before", &rec_path)? as usize,
            number(&rec, "/predicted/slo_violation_windows_after", &rec_path)? as usize,
        ),
        load_test,
        off_peak_start: off_peak_start(&facts.off_peak_hours, &facts.time_zone),
        node_group: group,
    };
    let doc = plan(&p);
    std::fs::create_dir_all(a.out.join("alerts"))
        .and_then(|()| std::fs::create_dir_all(a.out.join("dashboards")))
        .with_context(|| format!("{}: cannot create the directories", a.out.display()))?;
    let files: Vec<(&str, String)> = vec![
        ("rollout-plan.md", doc.markdown("rollout-plan.html")),
        ("rollout-plan.html", doc.html()),
        ("alerts/rollback-rules.yaml", prometheus_rule(&alerts)),
        ("alerts/rules.yml", rule_file(&alerts)),
        ("alerts/rules.test.yml", unit_tests(&alerts, "rules.yml")),
        (
            "dashboards/rollout.json",
            serde_json::to_string_pretty(&dashboard(&alerts))? + "\n",
        ),
    ];
    for (name, text) in &files {
        write_atomic(&a.out.join(name), |w| {
            w.write_all(text.as_bytes())?;
            Ok(())
        })?;
    }
    // Two pages: the why and the how on the first, the triggers and the rollback on the second.
    let pdf = two_pages(&doc, "Rollback triggers").context("cannot set the plan on two pages")?;
    write_atomic(&a.out.join("rollout-plan.pdf"), |w| {
        w.write_all(&pdf)?;
        Ok(())
    })?;
    let mut written: Vec<String> = files.iter().map(|(n, _)| n.to_string()).collect();
    written.insert(2, "rollout-plan.pdf".into());
    Ok(written)
}

/// When off-peak most often starts in a day: the hour at which an off-peak stretch begins,
/// the most common over the week, as "HH:00 ZONE".
fn off_peak_start(hours: &[u8], tz: &str) -> String {
    let mut off = [false; 168];
    for &h in hours {
        if let Some(x) = off.get_mut(usize::from(h)) {
            *x = true;
        }
    }
    let mut starts = [0u32; 24];
    for h in 0..168 {
        if off[h] && !off[(h + 167) % 168] {
            starts[h % 24] += 1;
        }
    }
    match (0..24).max_by_key(|&h| (starts[h], std::cmp::Reverse(h))) {
        Some(h) if starts[h] > 0 => format!("{h:02}:00 {tz}"),
        _ => format!("the quietest hour ({tz})"),
    }
}

#[cfg(test)]
mod tests {
    use super::off_peak_start;

    #[test]
    fn off_peak_starts_at_the_most_common_beginning() {
        // Every night 22:00-07:00 on weekdays, all weekend.
        let mut hours = Vec::new();
        for d in 0..7u8 {
            for h in 0..24u8 {
                if d >= 5 || !(7..22).contains(&h) {
                    hours.push(d * 24 + h);
                }
            }
        }
        assert_eq!(off_peak_start(&hours, "UTC"), "22:00 UTC");
        assert_eq!(off_peak_start(&[], "UTC"), "the quietest hour (UTC)");
    }
}
