//! `rightsize ingest`: read telemetry, print the summary (text or JSON), fail on too many bad
//! rows.

use anyhow::anyhow;
use clap::Args;
use rightsize_core::telemetry::Summary;

use crate::inputs::{self, Input, TelemetryArgs};
use crate::progress::IngestProgress;

/// Flags of `rightsize ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Telemetry files, directories, globs (quote them: 'logs/*.csv.gz'), or - for stdin.
    #[arg(required = true, value_name = "FILES")]
    pub files: Vec<String>,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    /// Print the summary as JSON (schema in docs/formats.md).
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: IngestArgs) -> anyhow::Result<()> {
    let inputs = inputs::expand(&args.files)?;
    let total_bytes = inputs
        .iter()
        .map(|i| match i {
            Input::File(p) => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            Input::Stdin => 0,
        })
        .sum();
    let progress = IngestProgress::new(total_bytes);
    let telemetry = inputs::ingest_all(&inputs, &args.telemetry, &progress);
    progress.finish();
    let telemetry = telemetry?;
    telemetry
        .diagnostics
        .check_bad_fraction(telemetry.rows, args.telemetry.max_bad_fraction)
        .map_err(|msg| anyhow!(msg))?;
    let summary = Summary::of(&telemetry);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{summary}");
    }
    Ok(())
}
