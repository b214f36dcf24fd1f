//! `rightsize ingest`: read telemetry, print the summary (text or JSON), fail on too many bad
//! rows.

use clap::Args;
use rightsize_core::telemetry::Summary;

use crate::inputs::{self, TelemetryArgs};

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
    let telemetry = inputs::read_telemetry(&args.files, &args.telemetry)?;
    let summary = Summary::of(&telemetry);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{summary}");
    }
    Ok(())
}
