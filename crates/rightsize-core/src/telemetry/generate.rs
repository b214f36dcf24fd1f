//! A small deterministic telemetry writer for tests and benchmarks: sampled rows of a diurnal,
//! weekly-modulated rate with Poisson arrivals, named pods, and a latency that grows with load.
//! Same config and seed, same bytes.

use std::io::{self, Write};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, LogNormal, Poisson};

/// How timestamps are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampStyle {
    /// `2026-11-23T20:15:03.123456Z`.
    Rfc3339,
    /// Decimal epoch seconds, `1764188103.123456`.
    EpochSeconds,
    /// Integer epoch milliseconds.
    EpochMillis,
    /// Integer epoch microseconds.
    EpochMicros,
    /// Integer epoch nanoseconds.
    EpochNanos,
}

/// How status is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusStyle {
    /// HTTP codes.
    Http,
    /// gRPC code names.
    Grpc,
}

/// The traffic and service the generator imitates.
#[derive(Debug, Clone)]
pub struct GenerateConfig {
    /// First second, Unix seconds (UTC).
    pub start_unix_s: i64,
    /// Seconds of traffic.
    pub duration_s: u64,
    /// Full (unsampled) request rate at the daily peak on a weekday.
    pub peak_rps: f64,
    /// Trough rate as a fraction of the peak.
    pub trough_ratio: f64,
    /// Weekend rates as a fraction of weekday rates.
    pub weekend_factor: f64,
    /// Hour of day (UTC) of the daily peak.
    pub peak_hour: f64,
    /// Replicas serving the traffic.
    pub pods: u32,
    /// Requests per second one pod serves at 100% utilisation.
    pub pod_capacity_rps: f64,
    /// Median latency at low load, milliseconds.
    pub base_latency_ms: f64,
    /// Fraction of requests written.
    pub sample_rate: f64,
    /// Seed of the random stream.
    pub seed: u64,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        GenerateConfig {
            start_unix_s: 1_763_942_400, // Monday 2025-11-24T00:00:00Z
            duration_s: 7 * 86_400,
            peak_rps: 2_000.0,
            trough_ratio: 0.2,
            weekend_factor: 0.8,
            peak_hour: 20.0,
            pods: 12,
            pod_capacity_rps: 250.0,
            base_latency_ms: 18.0,
            sample_rate: 0.01,
            seed: 1,
        }
    }
}

impl GenerateConfig {
    /// The full (unsampled) request rate at Unix second `t`.
    pub fn rate_at(&self, t: i64) -> f64 {
        let day_s = t.rem_euclid(86_400) as f64;
        let hour = day_s / 3600.0;
        let phase = 2.0 * std::f64::consts::PI * (hour - self.peak_hour) / 24.0;
        let diurnal = (1.0 + phase.cos()) / 2.0;
        // 1970-01-01 was a Thursday: day 0 = Thursday, so days 2 and 3 (mod 7) are Sat and Sun.
        let weekday = t.div_euclid(86_400).rem_euclid(7);
        let week = if weekday == 2 || weekday == 3 {
            self.weekend_factor
        } else {
            1.0
        };
        let trough = self.peak_rps * self.trough_ratio;
        (trough + (self.peak_rps - trough) * diurnal) * week
    }

    /// Sets `peak_rps` so that the expected number of written rows is `rows`.
    pub fn with_expected_rows(mut self, rows: u64) -> Self {
        self.peak_rps = 1.0;
        let per_unit: f64 = (0..self.duration_s as i64)
            .map(|s| self.rate_at(self.start_unix_s + s))
            .sum::<f64>()
            * self.sample_rate;
        if per_unit > 0.0 {
            self.peak_rps = rows as f64 / per_unit;
        }
        self
    }

    /// The pods' names: Deployment-style `reco-<hash>-<suffix>`.
    pub fn pod_names(&self) -> Vec<String> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed ^ 0x9e37_79b9_7f4a_7c15);
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..self.pods)
            .map(|_| {
                let suffix: String = (0..5)
                    .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                    .collect();
                format!("reco-7c9f5d6b4-{suffix}")
            })
            .collect()
    }
}

/// One generated request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenRow {
    /// Arrival, Unix nanoseconds.
    pub ts_ns: i64,
    /// Latency, microseconds.
    pub latency_us: u64,
    /// HTTP status code.
    pub status: u16,
    /// Index into [`GenerateConfig::pod_names`].
    pub pod: u32,
}

/// The row stream: second by second, rows within a second in arrival-jittered order (not
/// sorted, as log shippers deliver them).
#[derive(Debug)]
pub struct Generator {
    cfg: GenerateConfig,
    rng: Xoshiro256PlusPlus,
    second: u64,
    pending: Vec<GenRow>,
    latency: LogNormal<f64>,
}

impl Generator {
    /// A generator for `cfg`.
    pub fn new(cfg: GenerateConfig) -> Self {
        let sigma = 0.35;
        let latency =
            LogNormal::new(cfg.base_latency_ms.max(0.001).ln(), sigma).unwrap_or_else(|_| {
                LogNormal::new(0.0, sigma).expect("constant lognormal parameters are valid")
            });
        Generator {
            rng: Xoshiro256PlusPlus::seed_from_u64(cfg.seed),
            cfg,
            second: 0,
            pending: Vec::new(),
            latency,
        }
    }

    fn fill_second(&mut self) {
        let t = self.cfg.start_unix_s + self.second as i64;
        let rate = self.cfg.rate_at(t);
        let lambda = rate * self.cfg.sample_rate;
        let n = match Poisson::new(lambda) {
            Ok(p) if lambda > 0.0 => p.sample(&mut self.rng) as u64,
            _ => 0,
        };
        let capacity = f64::from(self.cfg.pods.max(1)) * self.cfg.pod_capacity_rps;
        let rho = (rate / capacity).clamp(0.0, 0.97);
        let queueing = 1.0 / (1.0 - rho);
        let p_shed = ((rho - 0.9) * 2.0).max(0.0);
        for _ in 0..n {
            let frac: f64 = self.rng.random();
            let pod = self.rng.random_range(0..self.cfg.pods.max(1));
            let latency_ms = self.latency.sample(&mut self.rng) * queueing;
            let u: f64 = self.rng.random();
            let status = if u < p_shed {
                503
            } else if latency_ms > 1_000.0 || u < p_shed + 0.0005 {
                504
            } else if u < p_shed + 0.0015 {
                500
            } else if u < p_shed + 0.0055 {
                404
            } else {
                200
            };
            let latency_ms = if status == 503 { 0.4 } else { latency_ms };
            self.pending.push(GenRow {
                ts_ns: t * 1_000_000_000 + (frac * 1e9) as i64,
                latency_us: (latency_ms * 1000.0).round() as u64,
                status,
                pod,
            });
        }
        // Timestamps within a second are drawn independently, so rows are not sorted; reversing
        // makes pop() hand them out in the order they were drawn.
        self.pending.reverse();
    }
}

impl Iterator for Generator {
    type Item = GenRow;
    fn next(&mut self) -> Option<GenRow> {
        while self.pending.is_empty() {
            if self.second >= self.cfg.duration_s {
                return None;
            }
            self.fill_second();
            self.second += 1;
        }
        self.pending.pop()
    }
}

/// The gRPC name standing for an HTTP status in generated data.
pub fn grpc_name(http: u16) -> &'static str {
    match http {
        200..=399 => "OK",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        400..=499 => "INVALID_ARGUMENT",
        _ => "INTERNAL",
    }
}

/// The text layouts the generator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextLayout {
    /// Comma-separated with a header.
    Csv,
    /// Tab-separated with a header.
    Tsv,
    /// One JSON object per line.
    JsonLines,
}

/// Formats a timestamp in a style.
pub fn format_timestamp(ts_ns: i64, style: TimestampStyle) -> String {
    let secs = ts_ns.div_euclid(1_000_000_000);
    let nanos = ts_ns.rem_euclid(1_000_000_000);
    match style {
        TimestampStyle::Rfc3339 => {
            let days = secs.div_euclid(86_400);
            let sod = secs.rem_euclid(86_400);
            let (y, m, d) = civil_from_days(days);
            format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
                sod / 3600,
                sod / 60 % 60,
                sod % 60,
                nanos / 1000
            )
        }
        TimestampStyle::EpochSeconds => format!("{secs}.{:06}", nanos / 1000),
        TimestampStyle::EpochMillis => format!("{}", ts_ns.div_euclid(1_000_000)),
        TimestampStyle::EpochMicros => format!("{}", ts_ns.div_euclid(1_000)),
        TimestampStyle::EpochNanos => format!("{ts_ns}"),
    }
}

/// Inverse of `days_from_civil` (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Writes rows as text. Returns the number of rows written.
pub fn write_text(
    rows: impl Iterator<Item = GenRow>,
    pod_names: &[String],
    layout: TextLayout,
    timestamps: TimestampStyle,
    statuses: StatusStyle,
    out: &mut dyn Write,
) -> io::Result<u64> {
    let mut out = io::BufWriter::with_capacity(1 << 20, out);
    let sep = match layout {
        TextLayout::Tsv => '\t',
        _ => ',',
    };
    if layout != TextLayout::JsonLines {
        writeln!(out, "timestamp{sep}latency_ms{sep}status{sep}pod")?;
    }
    let mut n = 0u64;
    for r in rows {
        let ts = format_timestamp(r.ts_ns, timestamps);
        let pod = pod_names.get(r.pod as usize).map_or("?", String::as_str);
        let lat_ms = r.latency_us / 1000;
        let lat_frac = r.latency_us % 1000;
        match layout {
            TextLayout::JsonLines => {
                let ts_json = if timestamps == TimestampStyle::Rfc3339 {
                    format!("\"{ts}\"")
                } else {
                    ts
                };
                let status = match statuses {
                    StatusStyle::Http => r.status.to_string(),
                    StatusStyle::Grpc => format!("\"{}\"", grpc_name(r.status)),
                };
                writeln!(
                    out,
                    "{{\"timestamp\":{ts_json},\"latency_ms\":{lat_ms}.{lat_frac:03},\"status\":{status},\"pod\":\"{pod}\"}}"
                )?;
            }
            _ => {
                match statuses {
                    StatusStyle::Http => write!(
                        out,
                        "{ts}{sep}{lat_ms}.{lat_frac:03}{sep}{}{sep}{pod}",
                        r.status
                    )?,
                    StatusStyle::Grpc => write!(
                        out,
                        "{ts}{sep}{lat_ms}.{lat_frac:03}{sep}{}{sep}{pod}",
                        grpc_name(r.status)
                    )?,
                }
                out.write_all(b"\n")?;
            }
        }
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> GenerateConfig {
        GenerateConfig {
            duration_s: 3600,
            sample_rate: 0.05,
            ..GenerateConfig::default()
        }
    }

    #[test]
    fn same_seed_same_rows_other_seed_other_rows() {
        let a: Vec<GenRow> = Generator::new(small()).collect();
        let b: Vec<GenRow> = Generator::new(small()).collect();
        let c: Vec<GenRow> = Generator::new(GenerateConfig { seed: 2, ..small() }).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(!a.is_empty());
    }

    #[test]
    fn expected_rows_are_met_within_poisson_noise() {
        let cfg = small().with_expected_rows(20_000);
        let n = Generator::new(cfg).count() as f64;
        // Poisson: sd = sqrt(20000) ~ 141; 5 sd either way.
        assert!((n - 20_000.0).abs() < 710.0, "{n}");
    }

    #[test]
    fn diurnal_shape_peaks_at_the_peak_hour() {
        let cfg = GenerateConfig::default();
        let monday = cfg.start_unix_s;
        let peak = cfg.rate_at(monday + 20 * 3600);
        let trough = cfg.rate_at(monday + 8 * 3600);
        assert!((peak - cfg.peak_rps).abs() < 1e-6);
        assert!((trough - cfg.peak_rps * cfg.trough_ratio).abs() < 1e-6);
        let saturday = monday + 5 * 86_400;
        assert!((cfg.rate_at(saturday + 20 * 3600) - peak * cfg.weekend_factor).abs() < 1e-6);
    }

    #[test]
    fn timestamps_format_as_rfc3339() {
        assert_eq!(
            format_timestamp(1_764_756_000_123_456_789, TimestampStyle::Rfc3339),
            "2025-12-03T10:00:00.123456Z"
        );
        assert_eq!(
            super::super::timestamp::days_from_civil(2025, 12, 3),
            1_764_756_000 / 86_400
        );
        assert_eq!(civil_from_days(1_764_756_000 / 86_400), (2025, 12, 3));
    }
}
