//! rightsize's load generator: an open-model HTTP client that sends every request at its
//! intended instant, whatever the target does, and measures latency from that instant (wrk2's
//! correction for coordinated omission) as well as from the actual send.
//!
//! - [`run`]: worker threads with managed keep-alive (or h2c) connections and per-thread
//!   HdrHistograms, merged per second and at the end;
//! - [`summary`]: the run's summary, thresholds and SLO verdict;
//! - [`threshold`]: k6's threshold syntax;
//! - [`target`], [`request`]: where requests go and what they carry.
//!
//! The schedule (rate curves, arrival processes) is pure and lives in `rightsize-core`.

pub mod request;
pub mod run;
pub mod stats;
pub mod summary;
pub mod target;
pub mod threshold;

/// Why a load test cannot run.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The target refused the preflight connection.
    #[error("cannot connect to {url}: {reason}; is the service running and listening there?")]
    Unreachable {
        /// The target.
        url: String,
        /// The OS's reason.
        reason: String,
    },
    /// A worker thread could not run.
    #[error("{0}")]
    Worker(String),
}
