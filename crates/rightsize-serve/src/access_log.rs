//! The access log: one CSV row per answered request (`timestamp,latency_ms,status,pod`, the
//! timestamp in Unix milliseconds at arrival), the telemetry `rightsize analyze` reads. Rows go
//! through a bounded channel to a writer thread, so a slow disk never slows a request: when the
//! channel is full the row is dropped and counted.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Rows that may wait for the writer.
const BACKLOG: usize = 65_536;

/// The header of the log.
pub const HEADER: &str = "timestamp,latency_ms,status,pod";

struct Row {
    arrival_ms: u64,
    latency_us: u64,
    status: u16,
}

/// An access log being written.
#[derive(Debug)]
pub struct AccessLog {
    tx: Mutex<Option<SyncSender<Row>>>,
    writer: Mutex<Option<JoinHandle<std::io::Result<u64>>>>,
    /// Rows dropped because the writer fell behind.
    pub dropped: AtomicU64,
}

impl AccessLog {
    /// Creates (truncates) `path`, writes the header, and starts the writer; `pod` fills the
    /// pod column.
    pub fn create(path: &Path, pod: &str) -> std::io::Result<AccessLog> {
        let file = std::fs::File::create(path)?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        writeln!(out, "{HEADER}")?;
        let pod = csv_field(pod);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Row>(BACKLOG);
        let writer = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_rows(rx, out, &pod))?;
        Ok(AccessLog {
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            dropped: AtomicU64::new(0),
        })
    }

    /// Logs a request that arrived at `arrival` and was answered with `status` after `latency`.
    pub fn record(&self, arrival: SystemTime, latency: Duration, status: u16) {
        let arrival_ms = arrival
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let row = Row {
            arrival_ms,
            latency_us: latency.as_micros() as u64,
            status,
        };
        let tx = self.tx.lock().unwrap_or_else(PoisonError::into_inner);
        let sent = match tx.as_ref() {
            Some(tx) => tx.try_send(row),
            None => Err(TrySendError::Disconnected(row)),
        };
        if sent.is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Stops logging, writes what is queued, flushes; the rows written.
    pub fn finish(&self) -> std::io::Result<u64> {
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let handle = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match handle {
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the access log writer panicked"))),
            None => Ok(0),
        }
    }
}

/// A CSV field, quoted when it needs to be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write_rows(
    rx: Receiver<Row>,
    mut out: BufWriter<std::fs::File>,
    pod: &str,
) -> std::io::Result<u64> {
    let mut rows = 0u64;
    loop {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(r) => {
                writeln!(
                    out,
                    "{},{}.{:03},{},{pod}",
                    r.arrival_ms,
                    r.latency_us / 1000,
                    r.latency_us % 1000,
                    r.status
                )?;
                rows += 1;
            }
            // A quiet second: what is buffered reaches the file.
            Err(RecvTimeoutError::Timeout) => out.flush()?,
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    out.flush()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_written_in_order_and_flushed_at_the_end() {
        let dir = std::env::temp_dir().join(format!("rightsize-access-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("access.csv");
        let log = AccessLog::create(&path, "pod,a").expect("creates");
        let t0 = UNIX_EPOCH + Duration::from_millis(1_764_000_000_123);
        log.record(t0, Duration::from_micros(12_345), 200);
        log.record(t0 + Duration::from_millis(5), Duration::from_micros(7), 503);
        assert_eq!(log.finish().expect("finishes"), 2);
        // After finishing, rows are counted as dropped, not written.
        log.record(t0, Duration::from_micros(1), 200);
        assert_eq!(log.dropped.load(Ordering::Relaxed), 1);
        let text = std::fs::read_to_string(&path).expect("reads");
        assert_eq!(
            text,
            "timestamp,latency_ms,status,pod\n1764000000123,12.345,200,\"pod,a\"\n1764000000128,0.007,503,\"pod,a\"\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
