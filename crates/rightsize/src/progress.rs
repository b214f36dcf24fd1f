//! The ingestion progress bar: bytes read and rows per second on stderr, only when stderr is a
//! terminal (quiet in pipes, CI and tests).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rightsize_core::telemetry::Progress;

/// Progress of one ingestion over all its inputs.
#[derive(Debug)]
pub struct IngestProgress {
    bar: Option<ProgressBar>,
    rows: AtomicU64,
    started: Instant,
}

impl IngestProgress {
    /// A bar over `total_bytes` (0 when unknown, e.g. stdin) if stderr is a terminal.
    pub fn new(total_bytes: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = if total_bytes > 0 {
                ProgressBar::new(total_bytes)
            } else {
                ProgressBar::new_spinner()
            };
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
            let template = if total_bytes > 0 {
                "{bar:30} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta}) {msg}"
            } else {
                "{spinner} {bytes} ({bytes_per_sec}) {msg}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        IngestProgress {
            bar,
            rows: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// `n` more bytes of input were read.
    pub fn bytes(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for IngestProgress {
    fn rows(&self, n: u64) {
        let total = self.rows.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(bar) = &self.bar {
            let secs = self.started.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!(
                "{:.1} M rows, {:.2} M rows/s",
                total as f64 / 1e6,
                total as f64 / secs / 1e6
            ));
        }
    }
}
