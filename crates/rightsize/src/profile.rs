//! The rate profile flags shared by `loadtest` and the exports: a constant rate, k6-style
//! stages, a file of per-second rates, or the recorded peak from an analysis.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use rightsize_core::load::schedule::{RateCurve, parse_duration_s};
use rightsize_core::load::window::{WindowOptions, peak_window};

/// The rate profile flags shared by the load commands.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// A constant rate, requests per second (with --duration).
    #[arg(long, value_name = "RPS", conflicts_with_all = ["stages", "rates_file", "from_analysis"])]
    pub rate: Option<f64>,
    /// How long the constant rate runs: 30s, 5m, 1h, 1m30s.
    #[arg(long, value_name = "D", requires = "rate")]
    pub duration: Option<String>,
    /// Ramps and steps as k6 writes them, DURATION:TARGET,… (from --start-rate, each stage moves
    /// linearly to its target), e.g. 30s:100,2m:2000,1m:2000.
    #[arg(long, value_name = "STAGES", conflicts_with_all = ["rates_file", "from_analysis"])]
    pub stages: Option<String>,
    /// The rate the first stage starts from.
    #[arg(long, value_name = "RPS", default_value_t = 0.0)]
    pub start_rate: f64,
    /// A file of per-second rates: one rate per line, or time,rate lines (a header and #
    /// comments are skipped).
    #[arg(long, value_name = "FILE", conflicts_with = "from_analysis")]
    pub rates_file: Option<PathBuf>,
    /// The recorded traffic of an analysis (analysis.json from rightsize analyze), cut by
    /// --window.
    #[arg(long, value_name = "FILE", requires = "window")]
    pub from_analysis: Option<PathBuf>,
    /// Which part of the analysed week: peak is the ramp into the week's highest 5 minutes
    /// (at most --max-ramp long, from its lowest point) and the peak itself, 5 minutes before
    /// to 10 after.
    #[arg(long, value_name = "WINDOW", value_parser = ["peak"], requires = "from_analysis")]
    pub window: Option<String>,
    /// The longest ramp taken before the peak.
    #[arg(long, value_name = "D", default_value = "60m")]
    pub max_ramp: String,
    /// Multiply every rate, e.g. 0.1 for a staging cluster a tenth of production's size.
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    pub scale: f64,
    /// Compress the recorded ramp K times (K seconds become one at their mean rate: the ramp is
    /// K times shorter and steeper, and autoscalers get 1/K of the time to react, a harder test
    /// than the recording). The peak stays in real time unless --compress-peak.
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub compress: u32,
    /// Compress the peak as well as the ramp.
    #[arg(long)]
    pub compress_peak: bool,
}

/// The longest profile a load command accepts.
pub const MAX_DURATION_S: u64 = 24 * 3600;
/// The highest rate a load command accepts, requests per second.
pub const MAX_RATE: f64 = 1_000_000.0;
/// The most requests one profile may ask for.
pub const MAX_REQUESTS: f64 = 200_000_000.0;

impl ProfileArgs {
    /// The rate curve, checked against the bounds, and a line saying where it came from.
    pub fn curve(&self) -> anyhow::Result<RateCurve> {
        Ok(self.curve_described()?.0)
    }

    /// The rate curve and, for a recorded window, a description of it.
    pub fn curve_described(&self) -> anyhow::Result<(RateCurve, Option<String>)> {
        if !(self.scale.is_finite() && self.scale > 0.0) {
            bail!("--scale {}: expected a positive factor", self.scale);
        }
        let mut described = None;
        let curve = match (
            &self.rate,
            &self.stages,
            &self.rates_file,
            &self.from_analysis,
        ) {
            (Some(rate), None, None, None) => match &self.duration {
                Some(d) => RateCurve::constant(*rate, parse_duration_s(d)?)?,
                None => bail!("--rate needs --duration (e.g. --duration 5m)"),
            },
            (None, Some(stages), None, None) => RateCurve::stages(stages, self.start_rate)?,
            (None, None, Some(path), None) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("{}: cannot read the rates file", path.display()))?;
                RateCurve::from_rates_text(&text, &path.display().to_string())?
            }
            (None, None, None, Some(path)) => {
                let (curve, text) = self.recorded(path)?;
                described = Some(text);
                curve
            }
            _ => bail!(
                "give one profile: --rate N --duration D, --stages DURATION:TARGET,…, \
                 --rates-file FILE, or --from-analysis analysis.json --window peak"
            ),
        };
        if self.from_analysis.is_none() && self.scale != 1.0 {
            return Ok((check(curve.scaled(self.scale))?, described));
        }
        Ok((check(curve)?, described))
    }

    fn recorded(&self, path: &std::path::Path) -> anyhow::Result<(RateCurve, String)> {
        let name = path.display();
        let json = read_analysis(path)?;
        let minutes: Vec<f64> = json
            .pointer("/traffic/minute_rps")
            .and_then(|v| v.as_array())
            .with_context(|| {
                format!(
                    "{name}: no traffic.minute_rps; expected analysis.json from rightsize analyze"
                )
            })?
            .iter()
            .map(|v| v.as_f64().unwrap_or(0.0))
            .collect();
        let start = json
            .pointer("/traffic/minute_rps_start")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse::<jiff::Timestamp>().ok());
        let opts = WindowOptions {
            max_ramp_minutes: (parse_duration_s(&self.max_ramp)? / 60) as usize,
            scale: self.scale,
            compress: self.compress,
            compress_peak: self.compress_peak,
            ..WindowOptions::default()
        };
        let w = peak_window(&minutes, &opts).with_context(|| format!("{name}"))?;
        let at = |m: usize| match start {
            Some(t) => (t + jiff::SignedDuration::from_secs(m as i64 * 60))
                .strftime("%a %Y-%m-%d %H:%M UTC")
                .to_string(),
            None => format!("minute {m}"),
        };
        let text = format!(
            "the recorded peak: ramp from {} ({} min{}), peak {} to {} in real time{}, \
             {:.0} req/s at most{}",
            at(w.ramp_start_minute),
            w.peak_start_minute - w.ramp_start_minute,
            if self.compress > 1 {
                format!(", compressed {}x to {} s", self.compress, w.ramp_seconds)
            } else {
                String::new()
            },
            at(w.peak_start_minute),
            at(w.end_minute),
            if self.compress_peak && self.compress > 1 {
                " (compressed too)"
            } else {
                ""
            },
            w.curve.rps.iter().copied().fold(0.0, f64::max),
            if self.scale != 1.0 {
                format!(", scaled x{}", self.scale)
            } else {
                String::new()
            },
        );
        Ok((w.curve, text))
    }
}

fn check(curve: RateCurve) -> anyhow::Result<RateCurve> {
    if curve.rps.is_empty() {
        bail!("the profile lasts no time");
    }
    if curve.rps.len() as u64 > MAX_DURATION_S {
        bail!(
            "the profile lasts {} s, more than the {MAX_DURATION_S} s allowed",
            curve.rps.len()
        );
    }
    let peak = curve.rps.iter().copied().fold(0.0, f64::max);
    if peak > MAX_RATE {
        bail!("the profile peaks at {peak} req/s, more than the {MAX_RATE} allowed");
    }
    if curve.total() > MAX_REQUESTS {
        bail!(
            "the profile asks for {:.0} requests, more than the {MAX_REQUESTS} allowed",
            curve.total()
        );
    }
    Ok(curve)
}

/// An analysis.json, as JSON (the load commands read a few fields of it).
pub fn read_analysis(path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let name = path.display();
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{name}: cannot read the analysis"))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{name}: not JSON; expected analysis.json from rightsize analyze"))
}
