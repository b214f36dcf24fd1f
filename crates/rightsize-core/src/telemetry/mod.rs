//! Telemetry: reading request rows in any supported format and folding them, in one pass and in
//! bounded memory, into the [`Telemetry`] aggregate that analysis and simulation read.
//!
//! The core reads only from readers it is handed; opening files, stdin and globs is the binary's.

pub mod aggregate;
pub mod diagnostics;
pub mod generate;
pub mod histogram;
pub mod schema;
pub mod source;
pub mod status;
pub mod summary;
pub mod text;
pub mod timestamp;

pub use aggregate::{
    Aggregator, CellEntry, ClassCounts, FieldValue, PodMinute, PodStats, RowInterpreter,
    SecondCounts, Telemetry,
};
pub use diagnostics::{BadReason, Diagnostics, Location};
pub use histogram::LatencyHistogram;
pub use schema::{ColumnError, ColumnMap, ColumnOverrides, LatencyUnit, Role};
pub use source::{Compression, InputFormat};
pub use status::StatusClass;
pub use summary::Summary;
pub use timestamp::{EpochUnit, TimestampRules};

/// How rows are read. Built by the binary from flags; the same config gives the same aggregate.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// `--column ROLE=NAME` overrides.
    pub columns: ColumnOverrides,
    /// Forces the latency unit instead of reading it from the column name.
    pub latency_unit: Option<LatencyUnit>,
    /// Timestamp zone and epoch unit.
    pub timestamps: TimestampRules,
    /// Parsing threads (the calling thread reads and decompresses besides these).
    pub threads: usize,
    /// A line longer than this is a bad row.
    pub max_line_bytes: usize,
    /// Bytes per chunk handed to a parsing thread.
    pub chunk_bytes: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            columns: ColumnOverrides::default(),
            latency_unit: None,
            timestamps: TimestampRules::default(),
            threads: 2,
            max_line_bytes: 1 << 20,
            chunk_bytes: 4 << 20,
        }
    }
}

/// Receives progress while ingestion runs (a progress bar, or nothing).
pub trait Progress: Sync {
    /// `n` more rows were read (accepted or bad).
    fn rows(&self, n: u64);
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn rows(&self, _n: u64) {}
}

/// Why an input could not be ingested at all (as opposed to bad rows, which are counted).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Reading failed.
    #[error("{file}: {source}")]
    Io {
        /// The input.
        file: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The input holds nothing.
    #[error("{file}: the file is empty: export the telemetry again, or leave this file out")]
    Empty {
        /// The input.
        file: String,
    },
    /// A header and no rows.
    #[error("{file}: no data rows, only a header: is this the right file?")]
    HeaderOnly {
        /// The input.
        file: String,
    },
    /// The first line is data, not a header.
    #[error(
        "{file}:1: the first line looks like data, not a header ({line:?}): add a header line \
         naming the columns (e.g. timestamp,latency_ms,status,pod)"
    )]
    NoHeader {
        /// The input.
        file: String,
        /// The first line.
        line: String,
    },
    /// No line of a JSON Lines input is an object.
    #[error("{file}: no line among the first thousand is a JSON object: is this JSON Lines?")]
    NoJsonObject {
        /// The input.
        file: String,
    },
    /// The columns do not cover the required roles.
    #[error("{file}: {source}")]
    Columns {
        /// The input.
        file: String,
        /// What is missing.
        source: ColumnError,
    },
    /// The input is of a kind rightsize cannot read.
    #[error("{file}: {what}")]
    Unsupported {
        /// The input.
        file: String,
        /// What is wrong.
        what: String,
    },
    /// A bug: a worker thread failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl std::error::Error for ColumnError {}
