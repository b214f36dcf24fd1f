//! `rightsize analyze`: telemetry and manifests in; analysis.json, analysis.md and
//! analysis.html out, and the ranked findings on stdout.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use rightsize_core::analysis::{self, AnalysisConfig, OffPeakRule, traffic};
use rightsize_core::report;

use crate::cmd_config::{ClusterArgs, read_config};
use crate::inputs::{self, TelemetryArgs};
use crate::output::write_atomic;

/// Flags of every command that analyses telemetry.
#[derive(Debug, Clone, Args)]
pub struct AnalysisArgs {
    /// The p99 latency objective in milliseconds: capacity is the per-pod rate a warm pod
    /// serves with p99 at or under it.
    #[arg(long, value_name = "MS")]
    pub slo_p99_ms: f64,
    /// Zone of hour-of-week indices and clock ranges (index 0 = Monday 00:00-01:00 there): an
    /// IANA name or an offset.
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = inputs::parse_tz, allow_hyphen_values = true)]
    pub tz: jiff::tz::TimeZone,
    /// Off-peak: hours of the week whose mean rate is below this fraction of the busiest
    /// hour's.
    #[arg(
        long,
        value_name = "F",
        default_value_t = 0.5,
        conflicts_with = "off_peak"
    )]
    pub off_peak_threshold: f64,
    /// Off-peak: the same local clock window every day instead, e.g. "22:00-07:00".
    #[arg(long, value_name = "HH:MM-HH:MM", value_parser = traffic::parse_daily_window)]
    pub off_peak: Option<(u32, u32)>,
    /// Requests a pod serves at once (its worker or thread count), when known; fitted from
    /// the latency curve otherwise.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub pod_concurrency: Option<u32>,
}

impl AnalysisArgs {
    /// The core's analysis config, or a usage error.
    pub fn config(&self) -> anyhow::Result<AnalysisConfig> {
        if !(self.slo_p99_ms > 0.0 && self.slo_p99_ms.is_finite()) {
            anyhow::bail!(
                "--slo-p99-ms must be a positive number of milliseconds, found {}",
                self.slo_p99_ms
            );
        }
        let off_peak = match self.off_peak {
            Some((start_minute, end_minute)) => OffPeakRule::DailyWindow {
                start_minute,
                end_minute,
            },
            None => OffPeakRule::Threshold(self.off_peak_threshold),
        };
        Ok(AnalysisConfig {
            slo_p99_ms: self.slo_p99_ms,
            tz_name: self
                .tz
                .iana_name()
                .map_or_else(|| format!("{:?}", self.tz), str::to_string),
            tz: self.tz.clone(),
            off_peak,
            pod_concurrency: self.pod_concurrency,
        })
    }
}

/// Reads the configuration of `--config` (an empty one, with a note, when none is given).
pub fn cluster_config(
    cluster: &ClusterArgs,
) -> anyhow::Result<rightsize_core::cluster::ClusterConfig> {
    let config = if cluster.config.is_empty() {
        eprintln!(
            "note: no --config given: no HPA to assess and no node prices, so there are no dollar figures"
        );
        rightsize_core::cluster::ClusterConfig::new()
    } else {
        read_config(&cluster.config)?
    };
    for w in &config.warnings {
        eprintln!("warning: {w}");
    }
    Ok(config)
}

/// What every command that analyses reads: telemetry, configuration, and the analysis's
/// settings.
#[derive(Debug, Args)]
pub struct AnalysisInputs {
    /// Telemetry files, directories, globs (quote them: 'logs/*.csv.gz'), or - for stdin.
    #[arg(long, required = true, num_args = 1.., value_name = "FILES")]
    pub telemetry: Vec<String>,
    #[command(flatten)]
    pub telemetry_flags: TelemetryArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

/// Reads the telemetry and analyses it against the configuration.
pub fn analyse(
    inputs: &AnalysisInputs,
) -> anyhow::Result<(
    rightsize_core::telemetry::Telemetry,
    rightsize_core::cluster::ClusterConfig,
    rightsize_core::cluster::nodes::Catalogue,
    analysis::Analysis,
)> {
    let cfg = inputs.analysis.config()?;
    let catalogue = inputs.cluster.catalogue()?;
    let config = cluster_config(&inputs.cluster)?;
    let telemetry = inputs::read_telemetry(&inputs.telemetry, &inputs.telemetry_flags)?;
    let a = analysis::analyze(&telemetry, &config, &catalogue, &cfg)?;
    Ok((telemetry, config, catalogue, a))
}

/// Flags of `rightsize analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub inputs: AnalysisInputs,
    /// Directory for analysis.json, analysis.md and analysis.html (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Runs the command.
pub fn run(args: AnalyzeArgs) -> anyhow::Result<()> {
    let (_, _, _, a) = analyse(&args.inputs)?;

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create the output directory", args.out.display()))?;
    let doc = report::analysis::document(&a);
    let json_path = args.out.join("analysis.json");
    write_atomic(&json_path, |w| {
        serde_json::to_writer_pretty(&mut *w, &a)?;
        w.write_all(b"\n")?;
        Ok(())
    })?;
    let md_path = args.out.join("analysis.md");
    write_atomic(&md_path, |w| {
        Ok(w.write_all(doc.markdown("analysis.html").as_bytes())?)
    })?;
    let html_path = args.out.join("analysis.html");
    write_atomic(&html_path, |w| Ok(w.write_all(doc.html().as_bytes())?))?;

    for w in &a.warnings {
        eprintln!("warning: {w}");
    }
    if a.findings.is_empty() {
        println!("no findings");
    }
    for f in &a.findings {
        println!("{}. {}", f.rank, f.text);
    }
    println!(
        "wrote {}, {} and {}",
        json_path.display(),
        md_path.display(),
        html_path.display()
    );
    Ok(())
}
