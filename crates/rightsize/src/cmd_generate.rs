//! `rightsize generate`: deterministic synthetic telemetry in every supported format, written
//! atomically.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use rightsize_core::telemetry::generate::{
    GenerateConfig, Generator, StatusStyle, TextLayout, TimestampStyle, write_text,
};

use crate::output::write_atomic;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Csv,
    Tsv,
    Jsonl,
    Parquet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Compress {
    None,
    Gzip,
    Zstd,
}

/// Built-in scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// The demo's week (GenerateConfig::demo in rightsize-core).
    Demo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Timestamps {
    /// 2025-11-24T20:00:00.123456Z (Parquet: a UTC timestamp column)
    Rfc3339,
    /// Decimal epoch seconds
    EpochS,
    /// Integer epoch milliseconds
    EpochMs,
    /// Integer epoch microseconds
    EpochUs,
    /// Integer epoch nanoseconds
    EpochNs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Statuses {
    /// HTTP codes (200, 404, 503, ...)
    Http,
    /// gRPC names (OK, NOT_FOUND, UNAVAILABLE, ...)
    Grpc,
}

/// Flags of `rightsize generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// A recorded traffic shape instead of the diurnal curve: per-second request counts,
    /// whitespace-separated, plain or gzip/zstd-compressed (e.g. the NASA 1995 trace in
    /// shared/data). Smoothed, then scaled so that its busiest second is --peak-rps.
    #[arg(long, value_name = "FILE")]
    shape: Option<PathBuf>,
    /// Days of the shape to skip before the generated span starts.
    #[arg(long, value_name = "DAYS", default_value_t = 0.0)]
    shape_skip_days: f64,
    /// Seconds of the moving mean over the shape's counts.
    #[arg(long, value_name = "S", default_value_t = 60)]
    shape_smooth_s: usize,
    /// Where to write; - for stdout. The format and compression follow the name
    /// (.csv, .tsv, .jsonl, .parquet, + .gz or .zst) unless given.
    #[arg(long, short, value_name = "FILE")]
    out: PathBuf,
    /// Output format.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Compression around text formats.
    #[arg(long, value_enum)]
    compress: Option<Compress>,
    /// Aim for this many rows (sets the peak rate); otherwise --peak-rps decides.
    #[arg(long, value_name = "N")]
    rows: Option<u64>,
    /// Full (unsampled) weekday peak request rate.
    #[arg(long, value_name = "RPS", default_value_t = 2000.0)]
    peak_rps: f64,
    /// Days of traffic.
    #[arg(long, value_name = "DAYS", default_value_t = 7.0)]
    days: f64,
    /// First instant (RFC 3339); default Monday 2025-11-24T00:00:00Z.
    #[arg(long, value_name = "TIME")]
    start: Option<jiff::Timestamp>,
    /// Pods serving the traffic; default: enough for 60% utilisation at the peak (250 rps a
    /// pod), at least 3.
    #[arg(long, value_name = "N")]
    pods: Option<u32>,
    /// Fraction of requests written.
    #[arg(long, value_name = "R", default_value_t = 0.01)]
    sample_rate: f64,
    /// Seed of the random stream: same seed, same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A built-in scenario instead of the plain diurnal week: `demo` is the week `rightsize
    /// demo` analyses (bursts, today's CPU HPA pinned high at night, a mid-week rollout, cold
    /// starts; --peak-rps and --pods are then the scenario's). --days, --start, --sample-rate and
    /// --seed still apply.
    #[arg(long, value_enum)]
    scenario: Option<Scenario>,
    /// Timestamp form.
    #[arg(long, value_enum, default_value_t = Timestamps::Rfc3339)]
    timestamps: Timestamps,
    /// Status form.
    #[arg(long, value_enum, default_value_t = Statuses::Http)]
    status: Statuses,
}

fn infer(path: &std::path::Path) -> (Option<Format>, Option<Compress>) {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (stem, compress) = if let Some(s) = name.strip_suffix(".gz") {
        (s.to_string(), Some(Compress::Gzip))
    } else if let Some(s) = name.strip_suffix(".zst") {
        (s.to_string(), Some(Compress::Zstd))
    } else {
        (name.clone(), None)
    };
    let format = match stem.rsplit('.').next() {
        Some("csv") => Some(Format::Csv),
        Some("tsv") => Some(Format::Tsv),
        Some("jsonl" | "ndjson" | "json") => Some(Format::Jsonl),
        Some("parquet") => Some(Format::Parquet),
        _ => None,
    };
    (format, compress)
}

/// The shape's seconds the span uses, from per-second counts in `path`.
fn read_shape(path: &Path, args: &GenerateArgs, duration_s: u64) -> anyhow::Result<Vec<f64>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("{}: cannot open the shape", path.display()))?;
    let (_, mut reader) =
        rightsize_core::telemetry::source::decompress(std::io::BufReader::new(file))
            .with_context(|| format!("{}: cannot read the shape", path.display()))?;
    let mut text = String::new();
    reader
        .read_to_string(&mut text)
        .with_context(|| format!("{}: cannot read the shape", path.display()))?;
    let mut counts = Vec::new();
    for (i, word) in text.split_whitespace().enumerate() {
        let v: f64 = word.parse().ok().filter(|v: &f64| v.is_finite() && *v >= 0.0).with_context(|| {
            format!(
                "{}: value {} ({word:?}) is not a non-negative number; the shape is per-second request counts separated by spaces",
                path.display(),
                i + 1
            )
        })?;
        counts.push(v);
    }
    if !(args.shape_skip_days.is_finite() && args.shape_skip_days >= 0.0) {
        anyhow::bail!("--shape-skip-days must be a non-negative number of days");
    }
    let skip = (args.shape_skip_days * 86_400.0).round() as usize;
    let end = skip + duration_s as usize;
    if end > counts.len() {
        anyhow::bail!(
            "{}: holds {} seconds ({:.1} days); skipping {:.1} days and generating {:.1} needs {end}",
            path.display(),
            counts.len(),
            counts.len() as f64 / 86_400.0,
            args.shape_skip_days,
            duration_s as f64 / 86_400.0
        );
    }
    rightsize_core::telemetry::generate::shape_from_counts(&counts[skip..end], args.shape_smooth_s)
        .with_context(|| format!("{}: the chosen days hold no request", path.display()))
}

/// Runs the command.
pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    if !(args.sample_rate > 0.0 && args.sample_rate <= 1.0) {
        bail!(
            "--sample-rate {} is outside (0, 1]: give the fraction of requests written",
            args.sample_rate
        );
    }
    if args.pods == Some(0) {
        bail!("--pods must be at least 1");
    }
    if args.days.is_nan() || args.days <= 0.0 {
        bail!("--days must be positive");
    }
    let (inferred_format, inferred_compress) = infer(&args.out);
    let format = args.format.or(inferred_format).unwrap_or(Format::Csv);
    let compress = args
        .compress
        .or(inferred_compress)
        .unwrap_or(Compress::None);
    let scenario = matches!(args.scenario, Some(Scenario::Demo));
    let mut cfg = if scenario {
        GenerateConfig {
            duration_s: (args.days * 86_400.0).round() as u64,
            sample_rate: args.sample_rate,
            seed: args.seed,
            ..GenerateConfig::demo()
        }
    } else {
        GenerateConfig {
            duration_s: (args.days * 86_400.0).round() as u64,
            peak_rps: args.peak_rps,
            sample_rate: args.sample_rate,
            seed: args.seed,
            ..GenerateConfig::default()
        }
    };
    if let Some(start) = args.start {
        cfg.start_unix_s = start.as_second();
    }
    if let Some(path) = &args.shape {
        cfg.shape = Some(read_shape(path, &args, cfg.duration_s)?.into());
    }
    if let Some(rows) = args.rows {
        cfg = cfg.with_expected_rows(rows);
    }
    if !scenario {
        cfg.pods = args.pods.unwrap_or_else(|| {
            let needed = cfg.peak_rps / (0.6 * cfg.pod_capacity_rps);
            (needed.ceil() as u32).max(3)
        });
    }
    let pods = cfg.pod_names();
    let rows = Generator::new(cfg);
    let ts = match args.timestamps {
        Timestamps::Rfc3339 => TimestampStyle::Rfc3339,
        Timestamps::EpochS => TimestampStyle::EpochSeconds,
        Timestamps::EpochMs => TimestampStyle::EpochMillis,
        Timestamps::EpochUs => TimestampStyle::EpochMicros,
        Timestamps::EpochNs => TimestampStyle::EpochNanos,
    };
    let st = match args.status {
        Statuses::Http => StatusStyle::Http,
        Statuses::Grpc => StatusStyle::Grpc,
    };
    let written = write_atomic(&args.out, |out| {
        let mut sink: Box<dyn Write + Send + '_> = match compress {
            Compress::None => Box::new(out),
            Compress::Gzip => Box::new(flate2::write::GzEncoder::new(
                out,
                flate2::Compression::default(),
            )),
            Compress::Zstd => Box::new(
                zstd::stream::write::Encoder::new(out, 3)
                    .context("starting zstd")?
                    .auto_finish(),
            ),
        };
        let n = match format {
            Format::Csv => write_text(rows, &pods, TextLayout::Csv, ts, st, &mut sink)?,
            Format::Tsv => write_text(rows, &pods, TextLayout::Tsv, ts, st, &mut sink)?,
            Format::Jsonl => write_text(rows, &pods, TextLayout::JsonLines, ts, st, &mut sink)?,
            Format::Parquet => write_parquet(rows, &pods, ts, st, &mut sink)?,
        };
        sink.flush()?;
        drop(sink);
        Ok(n)
    })?;
    eprintln!(
        "wrote {written} rows ({} pods, sample rate {}) to {}",
        pods.len(),
        args.sample_rate,
        args.out.display()
    );
    Ok(())
}

#[cfg(feature = "parquet")]
fn write_parquet(
    rows: Generator,
    pods: &[String],
    ts: TimestampStyle,
    st: StatusStyle,
    sink: &mut (dyn Write + Send),
) -> anyhow::Result<u64> {
    Ok(rightsize_parquet::write_parquet(rows, pods, ts, st, sink)?)
}

#[cfg(not(feature = "parquet"))]
fn write_parquet(
    _rows: Generator,
    _pods: &[String],
    _ts: TimestampStyle,
    _st: StatusStyle,
    _sink: &mut (dyn Write + Send),
) -> anyhow::Result<u64> {
    bail!("this rightsize was built without the `parquet` feature; rebuild with default features")
}
