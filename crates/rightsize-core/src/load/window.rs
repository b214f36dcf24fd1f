//! The recorded peak as a load profile: the ramp into the week's highest traffic and the peak
//! itself, from an analysis's per-minute rates, optionally scaled and with the ramp compressed.
//!
//! Compression is rate-preserving: K seconds of the recorded ramp become one second at their
//! mean rate, so the ramp is K times shorter and K times steeper and carries 1/K of its
//! requests. Autoscalers see the steeper slope: an HPA syncing every 15 s with a 5-minute
//! scale-down window, pods starting in 30-60 s and nodes in minutes react to the same levels but
//! have 1/K of the time, so a compressed ramp tests a harder case than the recording (more
//! queueing while capacity catches up). The peak itself stays in real time unless asked,
//! so the latency at the peak is measured on the recorded load and its real duration.

use super::schedule::{ProfileError, RateCurve};

/// How the window is cut from the week.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowOptions {
    /// The longest ramp taken before the peak, minutes.
    pub max_ramp_minutes: usize,
    /// Minutes of the peak kept before and after its highest 5-minute mean.
    pub peak_before_minutes: usize,
    /// Minutes kept after the peak's highest 5-minute mean.
    pub peak_after_minutes: usize,
    /// Multiplies every rate (e.g. 0.1 for a staging cluster a tenth of production's size).
    pub scale: f64,
    /// Time compression of the ramp (1 = real time).
    pub compress: u32,
    /// Compress the peak too.
    pub compress_peak: bool,
}

impl Default for WindowOptions {
    fn default() -> Self {
        WindowOptions {
            max_ramp_minutes: 60,
            peak_before_minutes: 5,
            peak_after_minutes: 10,
            scale: 1.0,
            compress: 1,
            compress_peak: false,
        }
    }
}

/// The window and its profile.
#[derive(Debug, Clone, PartialEq)]
pub struct PeakWindow {
    /// The recorded minute the ramp starts at (an index into the analysis's minutes).
    pub ramp_start_minute: usize,
    /// The recorded minute the peak part starts at.
    pub peak_start_minute: usize,
    /// The middle minute of the highest 5-minute mean.
    pub peak_minute: usize,
    /// One past the last recorded minute taken.
    pub end_minute: usize,
    /// Seconds of the profile spent on the ramp (after compression).
    pub ramp_seconds: usize,
    /// The profile, second by second (scaled and compressed).
    pub curve: RateCurve,
}

/// Cuts the peak window from per-minute rates. The peak is the highest 5-minute mean (one busy
/// minute is not the peak); the ramp starts at the lowest 5-minute mean within
/// `max_ramp_minutes` before the peak part.
pub fn peak_window(minute_rps: &[f64], opts: &WindowOptions) -> Result<PeakWindow, ProfileError> {
    if minute_rps.len() < 5 {
        return Err(ProfileError(format!(
            "the analysis has {} minutes of traffic; a peak window needs at least 5",
            minute_rps.len()
        )));
    }
    if !(opts.scale.is_finite() && opts.scale > 0.0) {
        return Err(ProfileError(format!(
            "scale {}: expected a positive factor",
            opts.scale
        )));
    }
    if opts.compress == 0 {
        return Err(ProfileError("compress must be at least 1".into()));
    }
    let rolling: Vec<f64> = (0..minute_rps.len())
        .map(|m| {
            let lo = m.saturating_sub(2);
            let hi = (m + 3).min(minute_rps.len());
            minute_rps[lo..hi].iter().sum::<f64>() / (hi - lo) as f64
        })
        .collect();
    let mut peak = 0;
    for (m, &r) in rolling.iter().enumerate() {
        if r > rolling[peak] {
            peak = m;
        }
    }
    let peak_start = peak.saturating_sub(opts.peak_before_minutes);
    let end = (peak + opts.peak_after_minutes + 1).min(minute_rps.len());
    let lowest_from = peak_start.saturating_sub(opts.max_ramp_minutes);
    let mut ramp_start = peak_start;
    for m in (lowest_from..peak_start).rev() {
        if rolling[m] < rolling[ramp_start] {
            ramp_start = m;
        }
    }
    let ramp = per_second(&minute_rps[ramp_start..peak_start]);
    let hold = per_second(&minute_rps[peak_start..end]);
    let k = opts.compress as usize;
    let ramp = compress(&ramp, k);
    let hold = if opts.compress_peak {
        compress(&hold, k)
    } else {
        hold
    };
    let ramp_seconds = ramp.len();
    let rps = ramp
        .into_iter()
        .chain(hold)
        .map(|r| r * opts.scale)
        .collect();
    Ok(PeakWindow {
        ramp_start_minute: ramp_start,
        peak_start_minute: peak_start,
        peak_minute: peak,
        end_minute: end,
        ramp_seconds,
        curve: RateCurve { rps },
    })
}

/// Minutes to seconds: linear between minutes' middles where the rate rises or falls through
/// the minute, flat at turns, then each minute's 60 seconds rescaled to carry exactly the
/// minute's requests. The recorded peak rate is kept, never overshot.
fn per_second(minutes: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(minutes.len() * 60);
    for (m, &rate) in minutes.iter().enumerate() {
        let prev = if m > 0 { minutes[m - 1] } else { rate };
        let next = minutes.get(m + 1).copied().unwrap_or(rate);
        let start = out.len();
        // A minute at a turn (a peak, a trough, a step's edge) stays flat: interpolating there
        // and keeping the minute's requests would overshoot the recorded rate.
        if (rate - prev) * (next - rate) <= 0.0 {
            out.extend(std::iter::repeat_n(rate.max(0.0), 60));
            continue;
        }
        for s in 0..60 {
            // Seconds from the minute's middle, in minutes.
            let x = (s as f64 + 0.5 - 30.0) / 60.0;
            let v = if x < 0.0 {
                rate + (rate - prev) * x
            } else {
                rate + (next - rate) * x
            };
            out.push(v.max(0.0));
        }
        let sum: f64 = out[start..].iter().sum();
        let want = rate.max(0.0) * 60.0;
        for v in &mut out[start..] {
            *v = if sum > 0.0 {
                *v * want / sum
            } else {
                rate.max(0.0)
            };
        }
    }
    out
}

/// K seconds to one at their mean rate.
fn compress(seconds: &[f64], k: usize) -> Vec<f64> {
    if k <= 1 {
        return seconds.to_vec();
    }
    seconds
        .chunks(k)
        .map(|c| c.iter().sum::<f64>() / c.len() as f64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quiet night, a two-hour ramp, a peak at minute 200, and a decline.
    fn week() -> Vec<f64> {
        (0..300)
            .map(|m| match m {
                0..80 => 100.0,
                80..200 => 100.0 + (m - 80) as f64 * 10.0,
                200..210 => 1300.0,
                _ => 600.0,
            })
            .collect()
    }

    #[test]
    fn the_window_is_the_ramp_into_the_highest_five_minutes_and_keeps_each_minutes_requests() {
        let w = week();
        let p = peak_window(&w, &WindowOptions::default()).expect("window");
        // The recorded peak rate is kept, not overshot next to the cliff after it.
        let top = p.curve.rps.iter().copied().fold(0.0, f64::max);
        assert!((top - 1300.0).abs() < 1e-9, "{top}");
        // The highest 5-minute mean sits inside the 10-minute plateau.
        assert!((202..=207).contains(&p.peak_minute), "{}", p.peak_minute);
        assert_eq!(p.peak_start_minute, p.peak_minute - 5);
        // The ramp is capped at an hour: it starts where the hour's rolling mean is lowest.
        assert_eq!(p.ramp_start_minute, p.peak_start_minute - 60);
        assert_eq!(p.ramp_seconds, 3600);
        let minutes = p.end_minute - p.ramp_start_minute;
        assert_eq!(p.curve.rps.len(), minutes * 60);
        let want: f64 = w[p.ramp_start_minute..p.end_minute].iter().sum::<f64>() * 60.0;
        assert!((p.curve.total() - want).abs() < 1e-6 * want);
        // Seconds follow the ramp smoothly: no step bigger than a minute's rise.
        let ramp = &p.curve.rps[..p.ramp_seconds + 60];
        assert!(ramp.windows(2).all(|x| (x[1] - x[0]).abs() < 10.0 + 1e-9));
        // A long ramp is taken from its foot when it is within reach.
        let long = peak_window(
            &w,
            &WindowOptions {
                max_ramp_minutes: 200,
                ..WindowOptions::default()
            },
        )
        .expect("long");
        assert!(
            (76..=82).contains(&long.ramp_start_minute),
            "{}",
            long.ramp_start_minute
        );
    }

    #[test]
    fn compression_shortens_the_ramp_keeps_the_peak_real_and_scales_rates() {
        let w = week();
        let real = peak_window(&w, &WindowOptions::default()).expect("real");
        let opts = WindowOptions {
            compress: 10,
            scale: 0.5,
            ..WindowOptions::default()
        };
        let c = peak_window(&w, &opts).expect("compressed");
        assert_eq!(c.ramp_seconds, 360);
        let hold = real.curve.rps.len() - real.ramp_seconds;
        assert_eq!(c.curve.rps.len(), 360 + hold);
        // The peak's highest rate is kept (scaled), and its part carries its requests.
        let peak = |p: &PeakWindow| p.curve.rps.iter().copied().fold(0.0, f64::max);
        assert!((peak(&c) - 0.5 * peak(&real)).abs() < 1e-9);
        let hold_total = |p: &PeakWindow| p.curve.rps[p.ramp_seconds..].iter().sum::<f64>();
        assert!((hold_total(&c) - 0.5 * hold_total(&real)).abs() < 1e-6);
        // The ramp carries a tenth of its requests.
        let ramp_total = |p: &PeakWindow| p.curve.rps[..p.ramp_seconds].iter().sum::<f64>();
        assert!((ramp_total(&c) - 0.05 * ramp_total(&real)).abs() < 1e-6 * ramp_total(&real));
        let all = peak_window(
            &w,
            &WindowOptions {
                compress: 10,
                compress_peak: true,
                ..WindowOptions::default()
            },
        )
        .expect("all");
        assert_eq!(all.curve.rps.len(), 360 + hold.div_ceil(10));
        for bad in [
            WindowOptions {
                compress: 0,
                ..WindowOptions::default()
            },
            WindowOptions {
                scale: -1.0,
                ..WindowOptions::default()
            },
        ] {
            assert!(peak_window(&w, &bad).is_err());
        }
        assert!(peak_window(&[1.0, 2.0], &WindowOptions::default()).is_err());
    }
}
