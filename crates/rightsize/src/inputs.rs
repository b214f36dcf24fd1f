//! Telemetry inputs: expanding files, directories, globs and `-`, opening them, and routing
//! each to the text or Parquet reader by its bytes.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use rightsize_core::telemetry::source::{self, InputFormat};
use rightsize_core::telemetry::{
    Aggregator, ColumnOverrides, Diagnostics, EpochUnit, IngestConfig, IngestError, LatencyUnit,
    Telemetry, TimestampRules, text,
};

use crate::progress::IngestProgress;

/// Reads every input with a progress bar on a terminal, then fails (exit 2) when the bad rows
/// pass `--max-bad-fraction`.
pub fn read_telemetry(files: &[String], args: &TelemetryArgs) -> anyhow::Result<Telemetry> {
    let inputs = expand(files)?;
    let total_bytes = inputs
        .iter()
        .map(|i| match i {
            Input::File(p) => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            Input::Stdin => 0,
        })
        .sum();
    let progress = IngestProgress::new(total_bytes);
    let telemetry = ingest_all(&inputs, args, &progress);
    progress.finish();
    let telemetry = telemetry?;
    telemetry
        .diagnostics
        .check_bad_fraction(telemetry.rows, args.max_bad_fraction)
        .map_err(|msg| anyhow::anyhow!(msg))?;
    Ok(telemetry)
}

/// Flags shared by every command that reads telemetry.
#[derive(Debug, Clone, Args)]
pub struct TelemetryArgs {
    /// Use column NAME for ROLE (timestamp, latency, status or pod); repeatable.
    #[arg(long = "column", value_name = "ROLE=NAME", value_parser = parse_column)]
    pub columns: Vec<(rightsize_core::telemetry::Role, String)>,
    /// Unit of latency values (s, ms, us, ns); default: from the column name's suffix
    /// (_ms, _s, _us, _ns; request_time is seconds), else ms.
    #[arg(long, value_name = "UNIT", value_parser = parse_latency_unit)]
    pub latency_unit: Option<LatencyUnit>,
    /// Unit of numeric epoch timestamps (s, ms, us, ns); default: from their magnitude.
    #[arg(long, value_name = "UNIT", value_parser = parse_epoch_unit)]
    pub epoch_unit: Option<EpochUnit>,
    /// Zone of timestamps that carry no offset: an IANA name (Europe/Berlin) or an offset
    /// (+02:00).
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = parse_tz, allow_hyphen_values = true)]
    pub input_tz: jiff::tz::TimeZone,
    /// Fraction of requests the telemetry holds (0 < R <= 1): counts and rates are divided by
    /// it; percentiles are not; sample sizes stay raw.
    #[arg(long, value_name = "R", default_value_t = 1.0, value_parser = parse_sample_rate)]
    pub sample_rate: f64,
    /// Fail (exit 2) when more than this fraction of rows is bad.
    #[arg(long, value_name = "F", default_value_t = 0.01)]
    pub max_bad_fraction: f64,
    /// Parsing threads; default: every core.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

fn parse_column(s: &str) -> Result<(rightsize_core::telemetry::Role, String), String> {
    ColumnOverrides::parse_pair(s)
}

fn parse_latency_unit(s: &str) -> Result<LatencyUnit, String> {
    LatencyUnit::parse(s).ok_or_else(|| format!("unknown unit {s:?}: use s, ms, us or ns"))
}

fn parse_epoch_unit(s: &str) -> Result<EpochUnit, String> {
    EpochUnit::parse(s).ok_or_else(|| format!("unknown unit {s:?}: use s, ms, us or ns"))
}

/// A time zone flag: `UTC`, an IANA name or a fixed offset.
pub fn parse_tz(s: &str) -> Result<jiff::tz::TimeZone, String> {
    if s.eq_ignore_ascii_case("utc") || s == "Z" {
        return Ok(jiff::tz::TimeZone::UTC);
    }
    if let Some(offset) = parse_offset(s) {
        return Ok(jiff::tz::TimeZone::fixed(offset));
    }
    jiff::tz::TimeZone::get(s).map_err(|e| {
        format!("unknown time zone {s:?} ({e}): use an IANA name such as Europe/Berlin or an offset such as +02:00")
    })
}

/// `+02:00`, `-0530`, `+01`.
fn parse_offset(s: &str) -> Option<jiff::tz::Offset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    if h > 25 || m > 59 {
        return None;
    }
    jiff::tz::Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()
}

fn parse_sample_rate(s: &str) -> Result<f64, String> {
    let r: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number: give the sampled fraction, e.g. 0.01"))?;
    if r > 0.0 && r <= 1.0 {
        Ok(r)
    } else {
        Err(format!(
            "{r} is outside (0, 1]: give the fraction of requests kept, e.g. 0.01 for 1%"
        ))
    }
}

impl TelemetryArgs {
    /// The core's ingestion config.
    pub fn config(&self) -> IngestConfig {
        let threads = self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2)
        });
        IngestConfig {
            columns: ColumnOverrides {
                pairs: self.columns.clone(),
            },
            latency_unit: self.latency_unit,
            timestamps: TimestampRules {
                input_tz: self.input_tz.clone(),
                epoch_unit: self.epoch_unit,
            },
            threads: threads.max(1),
            ..IngestConfig::default()
        }
    }
}

/// One input to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input.
    Stdin,
    /// A file.
    File(PathBuf),
}

impl Input {
    /// The name used in messages.
    pub fn display(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".into(),
            Input::File(p) => p.display().to_string(),
        }
    }
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// Expands arguments into inputs: `-` is stdin, a directory is its (non-hidden) files in name
/// order, a pattern with `*?[` is a glob in name order, anything else is a file.
pub fn expand(args: &[String]) -> anyhow::Result<Vec<Input>> {
    let mut out = Vec::new();
    for arg in args {
        if arg == "-" {
            out.push(Input::Stdin);
            continue;
        }
        let path = Path::new(arg);
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("{arg}: cannot list the directory"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && !is_hidden(p))
                .collect();
            files.sort();
            if files.is_empty() {
                bail!("{arg}: the directory holds no files");
            }
            out.extend(files.into_iter().map(Input::File));
        } else if path.exists() {
            out.push(Input::File(path.to_path_buf()));
        } else if arg.contains(['*', '?', '[']) {
            let mut files: Vec<PathBuf> = glob::glob(arg)
                .with_context(|| format!("{arg}: not a valid glob pattern"))?
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            if files.is_empty() {
                bail!("{arg}: the pattern matches no file");
            }
            out.extend(files.into_iter().map(Input::File));
        } else {
            bail!("{arg}: no such file or directory");
        }
    }
    Ok(out)
}

/// Counts bytes as they are read, for the progress bar.
struct Counting<'a, R> {
    inner: R,
    progress: &'a IngestProgress,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.bytes(n as u64);
        Ok(n)
    }
}

/// Reads every input into one aggregate.
pub fn ingest_all(
    inputs: &[Input],
    args: &TelemetryArgs,
    progress: &IngestProgress,
) -> anyhow::Result<Telemetry> {
    let cfg = args.config();
    let mut agg = Aggregator::new();
    let mut diag = Diagnostics::default();
    for input in inputs {
        let file = diag.files.len() as u32;
        diag.files.push(input.display());
        ingest_one(input, file, &cfg, &mut agg, &mut diag, progress)?;
    }
    Ok(agg.finish(args.sample_rate, diag))
}

fn ingest_one(
    input: &Input,
    file: u32,
    cfg: &IngestConfig,
    agg: &mut Aggregator,
    diag: &mut Diagnostics,
    progress: &IngestProgress,
) -> Result<(), IngestError> {
    let name = input.display();
    let io_err = |source| IngestError::Io {
        file: name.clone(),
        source,
    };
    let raw: Box<dyn Read + Send> = match input {
        Input::Stdin => Box::new(io::stdin()),
        Input::File(p) => Box::new(File::open(p).map_err(io_err)?),
    };
    let mut reader = BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: raw,
            progress,
        },
    );
    // Parquet on disk is read in place, row groups in parallel.
    if let Input::File(path) = input
        && reader.fill_buf().map_err(io_err)?.starts_with(b"PAR1")
    {
        drop(reader);
        #[cfg(feature = "parquet")]
        {
            let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            let result = rightsize_parquet::ingest_parquet(
                || File::open(path),
                file,
                cfg,
                agg,
                diag,
                progress,
            );
            progress.bytes(len);
            return result;
        }
        #[cfg(not(feature = "parquet"))]
        return Err(no_parquet(&name, path));
    }
    let (_, decoded) = source::decompress(reader).map_err(io_err)?;
    let (head, decoded) = source::peek(decoded, 4).map_err(io_err)?;
    if source::sniff_format(&head) == InputFormat::Parquet {
        // Compressed or piped Parquet needs random access: hold it in memory.
        let mut bytes = Vec::new();
        let mut decoded = decoded;
        decoded.read_to_end(&mut bytes).map_err(io_err)?;
        #[cfg(feature = "parquet")]
        {
            let bytes = bytes::Bytes::from(bytes);
            return rightsize_parquet::ingest_parquet(
                || Ok(bytes.clone()),
                file,
                cfg,
                agg,
                diag,
                progress,
            );
        }
        #[cfg(not(feature = "parquet"))]
        return Err(no_parquet(&name, Path::new(&name)));
    }
    text::ingest_text(decoded, file, cfg, agg, diag, progress).map(|_| ())
}

#[cfg(not(feature = "parquet"))]
fn no_parquet(name: &str, _path: &Path) -> IngestError {
    IngestError::Unsupported {
        file: name.to_string(),
        what: "this rightsize was built without the `parquet` feature; rebuild with default \
               features, or convert the file to CSV"
            .into(),
    }
}
