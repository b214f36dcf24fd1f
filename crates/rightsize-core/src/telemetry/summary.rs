//! The ingestion summary `rightsize ingest` prints: sizes, span, rates (sample-corrected), status
//! classes and latency percentiles, as JSON for tools and as text for people.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::aggregate::Telemetry;
use super::histogram::LatencyHistogram;
use super::status::StatusClass;

/// Version of the summary's JSON layout (see docs/formats.md).
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyPercentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// 99.9th percentile.
    pub p999: Option<f64>,
    /// Largest (bucket midpoint).
    pub max: Option<f64>,
}

/// What `rightsize ingest` reports. Counts named `rows` are raw sample sizes; rates and
/// `requests_estimated` are divided by the sample rate.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Layout version.
    pub schema_version: u32,
    /// Inputs, in the order given.
    pub files: Vec<String>,
    /// Accepted rows (raw).
    pub rows: u64,
    /// Skipped rows.
    pub bad_rows: u64,
    /// Skipped rows by reason.
    pub bad_row_reasons: BTreeMap<&'static str, u64>,
    /// The first five bad rows as `file:line: reason (detail)`.
    pub bad_row_examples: Vec<String>,
    /// Earliest request, RFC 3339 UTC.
    pub start: Option<String>,
    /// Latest request, RFC 3339 UTC.
    pub end: Option<String>,
    /// Seconds from start to end.
    pub span_seconds: f64,
    /// Distinct pods.
    pub pods: usize,
    /// The fraction of requests the telemetry holds.
    pub sample_rate: f64,
    /// Requests the rows stand for (rows / sample rate).
    pub requests_estimated: f64,
    /// Mean request rate over the span (sample-corrected).
    pub mean_rps: f64,
    /// Busiest calendar minute's rate (sample-corrected).
    pub peak_rps_1m: f64,
    /// When that minute began.
    pub peak_1m_at: Option<String>,
    /// Busiest second's rate (sample-corrected).
    pub peak_rps_1s: f64,
    /// When that second began.
    pub peak_1s_at: Option<String>,
    /// Rows by status class (raw).
    pub status_classes: BTreeMap<&'static str, u64>,
    /// Share of rows that spend the SLO's error budget (server errors, timeouts, shed).
    pub error_rate: f64,
    /// Share of rows that are client errors (outside the error budget).
    pub client_error_rate: f64,
    /// Status strings that matched no convention, by value (counted as server errors).
    pub unrecognised_status_values: BTreeMap<String, u64>,
    /// Latency percentiles over every accepted row, in milliseconds.
    pub latency_ms: LatencyPercentiles,
    /// Columns that play no role.
    pub ignored_columns: Vec<String>,
    /// Things to know that are not errors.
    pub warnings: Vec<String>,
}

fn rfc3339(ns: i64) -> Option<String> {
    jiff::Timestamp::from_nanosecond(i128::from(ns))
        .ok()
        .map(|t| t.to_string())
}

impl Summary {
    /// Summarises an aggregate.
    pub fn of(t: &Telemetry) -> Summary {
        let rate = if t.sample_rate > 0.0 {
            t.sample_rate
        } else {
            1.0
        };
        let start = t.pods.iter().map(|p| p.first_seen_ns).min();
        let end = t.pods.iter().map(|p| p.last_seen_ns).max();
        let span_seconds = match (start, end) {
            (Some(s), Some(e)) => (e - s) as f64 / 1e9,
            _ => 0.0,
        };
        let mut by_class = [0u64; 5];
        let mut peak_1s = (0u64, None);
        // Seconds come in ascending order, so minutes close one after another.
        let mut peak_1m = (0u64, None);
        let mut minute = (i64::MIN, 0u64);
        for (second, counts) in t.seconds.iter() {
            let n: u64 = counts.iter().map(|c| u64::from(*c)).sum();
            for (a, c) in by_class.iter_mut().zip(counts) {
                *a += u64::from(c);
            }
            if n > peak_1s.0 {
                peak_1s = (n, Some(second));
            }
            let m = second.div_euclid(60);
            if m != minute.0 {
                minute = (m, 0);
            }
            minute.1 += n;
            if minute.1 > peak_1m.0 {
                peak_1m = (minute.1, Some(m));
            }
        }
        let rows = t.rows;
        let share = |n: u64| {
            if rows == 0 {
                0.0
            } else {
                n as f64 / rows as f64
            }
        };
        let slo_errors: u64 = StatusClass::ALL
            .iter()
            .filter(|c| c.is_slo_error())
            .map(|c| by_class[c.index()])
            .sum();
        let latency = LatencyHistogram::sum(t.cells.iter().map(|c| &c.cell.latency));
        let diag = &t.diagnostics;
        Summary {
            schema_version: SUMMARY_SCHEMA_VERSION,
            files: diag.files.clone(),
            rows,
            bad_rows: diag.bad.total(),
            bad_row_reasons: diag.bad.by_reason(),
            bad_row_examples: diag.example_lines(),
            start: start.and_then(rfc3339),
            end: end.and_then(rfc3339),
            span_seconds,
            pods: t.pods.len(),
            sample_rate: t.sample_rate,
            requests_estimated: rows as f64 / rate,
            mean_rps: if span_seconds > 0.0 {
                rows as f64 / rate / span_seconds.max(1.0)
            } else {
                rows as f64 / rate
            },
            peak_rps_1m: peak_1m.0 as f64 / 60.0 / rate,
            peak_1m_at: peak_1m.1.and_then(|m| rfc3339(m * 60_000_000_000)),
            peak_rps_1s: peak_1s.0 as f64 / rate,
            peak_1s_at: peak_1s.1.and_then(|s| rfc3339(s * 1_000_000_000)),
            status_classes: StatusClass::ALL
                .iter()
                .map(|c| (c.name(), by_class[c.index()]))
                .collect(),
            error_rate: share(slo_errors),
            client_error_rate: share(by_class[StatusClass::ClientError.index()]),
            unrecognised_status_values: diag.bad.free_status_values().clone(),
            latency_ms: LatencyPercentiles {
                p50: latency.quantile_ms(0.5),
                p90: latency.quantile_ms(0.9),
                p99: latency.quantile_ms(0.99),
                p999: latency.quantile_ms(0.999),
                max: latency.quantile_ms(1.0),
            },
            ignored_columns: diag.ignored_columns.clone(),
            warnings: diag.warnings.clone(),
        }
    }
}

/// Formats a count with thousands separators.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1} ms"))
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.rows + self.bad_rows;
        let bad_pct = if total == 0 {
            0.0
        } else {
            100.0 * self.bad_rows as f64 / total as f64
        };
        writeln!(
            f,
            "rows      {} accepted, {} bad ({bad_pct:.2}%) from {} file(s)",
            thousands(self.rows),
            thousands(self.bad_rows),
            self.files.len()
        )?;
        if !self.bad_row_reasons.is_empty() {
            let reasons: Vec<String> = self
                .bad_row_reasons
                .iter()
                .map(|(r, n)| format!("{r} {}", thousands(*n)))
                .collect();
            writeln!(f, "  bad     {}", reasons.join(", "))?;
            for e in &self.bad_row_examples {
                writeln!(f, "          {e}")?;
            }
        }
        writeln!(
            f,
            "span      {} .. {} ({:.2} days)",
            self.start.as_deref().unwrap_or("-"),
            self.end.as_deref().unwrap_or("-"),
            self.span_seconds / 86_400.0
        )?;
        writeln!(f, "pods      {}", self.pods)?;
        let sampled = if self.sample_rate < 1.0 {
            format!(
                " (sample-corrected: rows / {}; ~{} requests)",
                self.sample_rate,
                thousands(self.requests_estimated.round() as u64)
            )
        } else {
            String::new()
        };
        writeln!(
            f,
            "rate      mean {:.1} rps, peak {:.1} rps over 1 min (at {}), {:.0} rps over 1 s{sampled}",
            self.mean_rps,
            self.peak_rps_1m,
            self.peak_1m_at.as_deref().unwrap_or("-"),
            self.peak_rps_1s,
        )?;
        let classes: Vec<String> = self
            .status_classes
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(c, n)| format!("{c} {:.2}%", 100.0 * *n as f64 / self.rows.max(1) as f64))
            .collect();
        writeln!(
            f,
            "status    {} (error rate {:.3}%, client errors {:.3}%)",
            classes.join(", "),
            100.0 * self.error_rate,
            100.0 * self.client_error_rate
        )?;
        if !self.unrecognised_status_values.is_empty() {
            let vals: Vec<String> = self
                .unrecognised_status_values
                .iter()
                .map(|(v, n)| format!("'{v}' {}", thousands(*n)))
                .collect();
            writeln!(
                f,
                "  unrecognised (counted as server errors): {}",
                vals.join(", ")
            )?;
        }
        let l = &self.latency_ms;
        writeln!(
            f,
            "latency   p50 {}, p90 {}, p99 {}, p99.9 {}, max {} (n = {})",
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.p999),
            ms(l.max),
            thousands(self.rows)
        )?;
        if !self.ignored_columns.is_empty() {
            writeln!(f, "ignored   {}", self.ignored_columns.join(", "))?;
        }
        for w in &self.warnings {
            writeln!(f, "warning   {w}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
