//! The open model's schedule: every request's intended send time, computed from a rate curve
//! and an arrival process before the run, independent of how the target answers. Latency is
//! then measured from these instants (wrk2's correction for coordinated omission).

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// How requests arrive within the rate curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrivals {
    /// A (non-homogeneous) Poisson process: exponential gaps in the curve's cumulative count;
    /// what independent users produce.
    Poisson,
    /// Evenly spaced in the curve's cumulative count: request k at the instant the curve has
    /// accumulated k + ½ requests.
    Uniform,
}

/// A target rate for each second of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct RateCurve {
    /// Requests per second, second by second.
    pub rps: Vec<f64>,
}

/// Why a profile cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProfileError(pub String);

/// Parses a duration such as `30s`, `2m`, `1h`, `1m30s` or `90` (seconds).
pub fn parse_duration_s(text: &str) -> Result<u64, ProfileError> {
    let t = text.trim();
    if let Ok(s) = t.parse::<u64>() {
        return Ok(s);
    }
    let mut total = 0u64;
    let mut digits = String::new();
    let mut any = false;
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => {
                return Err(ProfileError(format!(
                    "duration {text:?}: unknown unit {c:?} (use s, m or h, e.g. 1m30s)"
                )));
            }
        };
        let n: u64 = digits.parse().map_err(|_| {
            ProfileError(format!(
                "duration {text:?}: a number must come before {c:?}"
            ))
        })?;
        total = total.saturating_add(n.saturating_mul(unit));
        digits.clear();
        any = true;
    }
    if !digits.is_empty() || !any {
        return Err(ProfileError(format!(
            "duration {text:?}: expected a number with a unit, e.g. 30s, 2m, 1h or 1m30s"
        )));
    }
    Ok(total)
}

impl RateCurve {
    /// `rate` requests per second for `duration_s` seconds.
    pub fn constant(rate: f64, duration_s: u64) -> Result<RateCurve, ProfileError> {
        if !(rate.is_finite() && rate >= 0.0) {
            return Err(ProfileError(format!(
                "rate {rate}: expected a non-negative number"
            )));
        }
        Ok(RateCurve {
            rps: vec![rate; duration_s as usize],
        })
    }

    /// k6's `ramping-arrival-rate` stages, `DURATION:TARGET,…` (e.g. `30s:100,2m:2000,1m:2000`):
    /// from `start_rate`, each stage moves linearly to its target over its duration. A second's
    /// rate is the ramp's mean over that second.
    pub fn stages(text: &str, start_rate: f64) -> Result<RateCurve, ProfileError> {
        let mut rps = Vec::new();
        let mut from = start_rate;
        for (i, stage) in text.split(',').enumerate() {
            let (d, target) = stage.split_once(':').ok_or_else(|| {
                ProfileError(format!(
                    "stage {} {stage:?}: expected DURATION:TARGET, e.g. 30s:100",
                    i + 1
                ))
            })?;
            let duration = parse_duration_s(d)?;
            let target: f64 = target
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    ProfileError(format!(
                        "stage {} {stage:?}: the target {target:?} is not a non-negative rate",
                        i + 1
                    ))
                })?;
            for s in 0..duration {
                let mid = (s as f64 + 0.5) / duration as f64;
                rps.push(from + (target - from) * mid);
            }
            from = target;
        }
        Ok(RateCurve { rps })
    }

    /// A file of per-second rates: one rate per line, or `time,rate` lines whose last field is
    /// the rate (a header line and `#` comments are skipped). `name` is the file's name, used in
    /// errors, which give the line.
    pub fn from_rates_text(text: &str, name: &str) -> Result<RateCurve, ProfileError> {
        let mut rps = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let field = line.rsplit([',', '\t', ' ']).next().unwrap_or(line).trim();
            match field.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => rps.push(v),
                // A header names its columns: the first line that is not a number.
                Err(_) if rps.is_empty() && i == 0 => continue,
                _ => {
                    return Err(ProfileError(format!(
                        "{name}:{}: the rate {field:?} is not a non-negative number of requests \
                         per second (one rate per line, or time,rate)",
                        i + 1
                    )));
                }
            }
        }
        if rps.is_empty() {
            return Err(ProfileError(format!("{name}: no rates in the file")));
        }
        Ok(RateCurve { rps })
    }

    /// Requests the curve asks for in all.
    pub fn total(&self) -> f64 {
        self.rps.iter().sum()
    }

    /// The curve with every rate multiplied by `k` (e.g. to a staging cluster's size).
    pub fn scaled(&self, k: f64) -> RateCurve {
        RateCurve {
            rps: self.rps.iter().map(|r| r * k).collect(),
        }
    }
}

/// Every request's intended send time, nanoseconds from the start, in order: the curve's
/// cumulative count inverted at exponential (Poisson) or unit (uniform) steps. The same curve,
/// process and seed give the same schedule.
pub fn schedule(curve: &RateCurve, arrivals: Arrivals, seed: u64) -> Vec<u64> {
    let mut out = Vec::with_capacity(curve.total().ceil().max(0.0) as usize + 16);
    out.extend(Schedule::new(curve, arrivals, seed));
    out
}

/// The schedule as an iterator, for runs too long to hold in memory: yields what [`schedule`]
/// returns, one instant at a time.
#[derive(Debug, Clone)]
pub struct Schedule<'a> {
    rps: &'a [f64],
    arrivals: Arrivals,
    rng: Xoshiro256PlusPlus,
    /// Position in the cumulative count.
    x: f64,
    /// The second being walked and the count before it.
    second: usize,
    before: f64,
}

impl<'a> Schedule<'a> {
    /// The schedule of `curve`.
    pub fn new(curve: &'a RateCurve, arrivals: Arrivals, seed: u64) -> Schedule<'a> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let x = match arrivals {
            Arrivals::Poisson => exponential(&mut rng),
            Arrivals::Uniform => 0.5,
        };
        Schedule {
            rps: &curve.rps,
            arrivals,
            rng,
            x,
            second: 0,
            before: 0.0,
        }
    }
}

impl Iterator for Schedule<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        loop {
            let rate = self.rps.get(self.second)?.max(0.0);
            let after = self.before + rate;
            if self.x < after {
                let within = (self.x - self.before) / rate;
                let t = ((self.second as f64 + within) * 1e9) as u64;
                self.x += match self.arrivals {
                    Arrivals::Poisson => exponential(&mut self.rng),
                    Arrivals::Uniform => 1.0,
                };
                return Some(t);
            }
            self.before = after;
            self.second += 1;
        }
    }
}

/// An exponential(1) draw.
fn exponential(rng: &mut Xoshiro256PlusPlus) -> f64 {
    // 1 - u is in (0, 1]: its logarithm is finite.
    let u: f64 = rng.random();
    -(1.0 - u).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn per_second(times: &[u64], seconds: usize) -> Vec<u64> {
        let mut counts = vec![0u64; seconds];
        for &t in times {
            counts[(t / 1_000_000_000) as usize] += 1;
        }
        counts
    }

    #[test]
    fn durations_and_stages_parse_like_k6() {
        assert_eq!(parse_duration_s("30s"), Ok(30));
        assert_eq!(parse_duration_s("2m"), Ok(120));
        assert_eq!(parse_duration_s("1m30s"), Ok(90));
        assert_eq!(parse_duration_s("1h"), Ok(3600));
        assert_eq!(parse_duration_s("45"), Ok(45));
        assert!(parse_duration_s("5x").is_err());
        assert!(parse_duration_s("m").is_err());
        assert!(parse_duration_s("").is_err());
        let c = RateCurve::stages("10s:100,5s:100,10s:0", 0.0).expect("stages");
        assert_eq!(c.rps.len(), 25);
        // A linear ramp from 0 to 100 over 10 s: each second's mean.
        assert!((c.rps[0] - 5.0).abs() < 1e-9 && (c.rps[9] - 95.0).abs() < 1e-9);
        assert_eq!(&c.rps[10..15], &[100.0; 5]);
        // Ramps' totals are their trapezoids: 500 + 500 + 500.
        assert!((c.total() - 1500.0).abs() < 1e-6);
        for bad in ["10s", "10s:-1", "10s:x", "x:10"] {
            assert!(RateCurve::stages(bad, 0.0).is_err(), "{bad}");
        }
        assert!(RateCurve::constant(f64::NAN, 3).is_err());
    }

    #[test]
    fn rates_files_read_plain_and_timed_lines_and_name_bad_lines() {
        let c = RateCurve::from_rates_text("# rates\n10\n20.5\n\n0\n", "r.txt").expect("plain");
        assert_eq!(c.rps, vec![10.0, 20.5, 0.0]);
        let c = RateCurve::from_rates_text("t,rps\n0,5\n1,6\n", "r.csv").expect("timed");
        assert_eq!(c.rps, vec![5.0, 6.0]);
        let e = RateCurve::from_rates_text("1\n2\nx\n", "r.txt").expect_err("bad");
        assert!(e.0.starts_with("r.txt:3:"), "{e}");
        assert!(RateCurve::from_rates_text("5\n-1\n", "r").is_err());
        assert!(RateCurve::from_rates_text("# nothing\n", "r").is_err());
    }

    #[test]
    fn uniform_counts_per_second_match_the_curves_integral() {
        let c = RateCurve::stages("20s:1000,20s:1000,20s:10", 0.0).expect("stages");
        let t = schedule(&c, Arrivals::Uniform, 1);
        assert_eq!(t.len() as f64, c.total().round());
        let counts = per_second(&t, c.rps.len());
        let mut cum_rate = 0.0;
        let mut cum_count = 0u64;
        for (s, (&n, &r)) in counts.iter().zip(&c.rps).enumerate() {
            cum_rate += r;
            cum_count += n;
            // Cumulatively never more than one request from the integral.
            assert!(
                (cum_count as f64 - cum_rate).abs() <= 1.0,
                "second {s}: {cum_count} vs {cum_rate}"
            );
        }
        assert!(t.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn poisson_schedules_are_reproducible_unbiased_and_poisson_dispersed() {
        let c = RateCurve::constant(200.0, 300).expect("curve");
        let a = schedule(&c, Arrivals::Poisson, 7);
        assert_eq!(a, schedule(&c, Arrivals::Poisson, 7));
        assert_ne!(a, schedule(&c, Arrivals::Poisson, 8));
        assert!(a.windows(2).all(|w| w[0] <= w[1]));
        // The total within three standard deviations of 60,000.
        let n = a.len() as f64;
        assert!((n - 60_000.0).abs() < 3.0 * 60_000f64.sqrt(), "{n}");
        // Counts per second: variance over mean (the index of dispersion) near 1; a uniform
        // schedule has none.
        let counts = per_second(&a, 300);
        let mean = counts.iter().sum::<u64>() as f64 / 300.0;
        let var = counts
            .iter()
            .map(|&c| (c as f64 - mean).powi(2))
            .sum::<f64>()
            / 299.0;
        let dispersion = var / mean;
        // For 300 seconds the index has a standard error of about sqrt(2/299) = 0.08.
        assert!((dispersion - 1.0).abs() < 0.3, "{dispersion}");
        let u = per_second(&schedule(&c, Arrivals::Uniform, 7), 300);
        assert!(u.iter().all(|&x| x == 200));
        // A varying curve: the Poisson counts follow it.
        let ramp = RateCurve::stages("100s:400", 0.0).expect("ramp");
        let p = per_second(&schedule(&ramp, Arrivals::Poisson, 3), 100);
        let (first, last): (u64, u64) = (p[..50].iter().sum(), p[50..].iter().sum());
        // Expected 5,000 and 15,000.
        assert!((first as f64 - 5_000.0).abs() < 300.0, "{first}");
        assert!((last as f64 - 15_000.0).abs() < 500.0, "{last}");
    }
}
