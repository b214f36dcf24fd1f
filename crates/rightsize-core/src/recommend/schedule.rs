//! Schedules from the recorded week: the busiest minute of each hour of the week, the replica
//! floors that serve it ahead of time, and those floors as KEDA `cron` triggers.

use crate::sim::{Demand, hour_of_week};

/// The busiest minute's rate (requests per second) in each hour of the week, over the
/// demand's seconds `[from, to)`; `None` for hours the range does not hold.
pub fn hourly_peaks(
    demand: &Demand,
    tz: &jiff::tz::TimeZone,
    from: usize,
    to: usize,
) -> [Option<f64>; 168] {
    let mut peaks = [None::<f64>; 168];
    let to = to.min(demand.rps.len());
    let mut minute_start = from - from % 60;
    while minute_start < to {
        let end = (minute_start + 60).min(to);
        let begin = minute_start.max(from);
        if end > begin {
            let mean = demand.rps[begin..end].iter().sum::<f64>() / (end - begin) as f64;
            let how = hour_of_week(demand.start_unix_s + minute_start as i64, tz);
            peaks[how] = Some(peaks[how].map_or(mean, |p: f64| p.max(mean)));
        }
        minute_start += 60;
    }
    peaks
}

/// The busiest minute's rate in each hour from second `from` to `to`, in time order (hours
/// counted from `from`).
pub fn hourly_series(demand: &Demand, from: usize, to: usize) -> Vec<f64> {
    let to = to.min(demand.rps.len());
    (from..to)
        .step_by(3600)
        .map(|h| {
            demand.rps[h..(h + 3600).min(to)]
                .chunks(60)
                .map(|c| c.iter().sum::<f64>() / c.len() as f64)
                .fold(0.0, f64::max)
        })
        .collect()
}

/// Additive Holt-Winters with a damped trend: level, trend and a season of `m` values, fitted
/// to `y` with the smoothing constants (of a small grid) that minimise the one-step-ahead
/// squared error, then run `horizon` steps past the end. `None` with fewer than two seasons.
/// Forecasts are never negative.
pub fn holt_winters(y: &[f64], m: usize, horizon: usize) -> Option<Vec<f64>> {
    if m == 0 || y.len() < 2 * m {
        return None;
    }
    const PHI: f64 = 0.98;
    let run = |alpha: f64, beta: f64, gamma: f64| {
        let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
        let mut level = mean(&y[..m]);
        let mut trend = (mean(&y[m..2 * m]) - level) / m as f64;
        let mut season: Vec<f64> = y[..m].iter().map(|v| v - level).collect();
        let mut sse = 0.0;
        for (t, &v) in y.iter().enumerate() {
            let s = season[t % m];
            let forecast = level + PHI * trend + s;
            sse += (v - forecast) * (v - forecast);
            let new_level = alpha * (v - s) + (1.0 - alpha) * (level + PHI * trend);
            trend = beta * (new_level - level) + (1.0 - beta) * PHI * trend;
            level = new_level;
            season[t % m] = gamma * (v - level) + (1.0 - gamma) * s;
        }
        let n = y.len();
        let mut damp = 0.0;
        let ahead: Vec<f64> = (1..=horizon)
            .map(|h| {
                damp += PHI.powi(h as i32);
                (level + damp * trend + season[(n + h - 1) % m]).max(0.0)
            })
            .collect();
        (sse, ahead)
    };
    let mut best: Option<(f64, Vec<f64>)> = None;
    for alpha in [0.1, 0.3, 0.5] {
        for beta in [0.0, 0.05, 0.1] {
            for gamma in [0.1, 0.3, 0.5] {
                let (sse, ahead) = run(alpha, beta, gamma);
                if best.as_ref().is_none_or(|(b, _)| sse < *b) {
                    best = Some((sse, ahead));
                }
            }
        }
    }
    best.map(|(_, ahead)| ahead)
}

/// What floors are sized from: the recorded week's busiest minute per hour of the week, and a
/// forecast of the week after.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Seasonal naive: the range's busiest minute in each hour of the week.
    pub recorded: [Option<f64>; 168],
    /// Holt-Winters (daily season) on the range's hourly peaks, for the 168 hours after it,
    /// by hour of the week; `None` with fewer than two days.
    pub forecast: Option<[Option<f64>; 168]>,
}

impl Profile {
    /// The profile of the demand's seconds `[from, to)`.
    pub fn of(demand: &Demand, tz: &jiff::tz::TimeZone, from: usize, to: usize) -> Profile {
        let to = to.min(demand.rps.len());
        let forecast = holt_winters(&hourly_series(demand, from, to), 24, 168).map(|ahead| {
            let mut by_how = [None; 168];
            let first =
                demand.start_unix_s + from as i64 + (to - from).div_ceil(3600) as i64 * 3600;
            for (k, v) in ahead.into_iter().enumerate() {
                let how = hour_of_week(first + k as i64 * 3600, tz);
                by_how[how] = Some(v);
            }
            by_how
        });
        Profile {
            recorded: hourly_peaks(demand, tz, from, to),
            forecast,
        }
    }

    /// The recorded peaks where the forecast is higher or the range did not record the hour
    /// (a predictive floor never sizes below what was seen).
    pub fn predicted(&self) -> [Option<f64>; 168] {
        let mut out = self.recorded;
        if let Some(f) = &self.forecast {
            for (o, v) in out.iter_mut().zip(f) {
                *o = match (*o, *v) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        out
    }
}

/// Replicas each hour of the week needs at `per_pod` requests per second: the busiest minute of
/// that hour and of the next (so that a floor is up before a ramp), at least `min`. Hours the
/// week did not record need `min`.
pub fn floors(peaks: &[Option<f64>; 168], per_pod: f64, min: u32) -> [u32; 168] {
    let mut out = [min; 168];
    if per_pod <= 0.0 {
        return out;
    }
    for (h, slot) in out.iter_mut().enumerate() {
        let busiest = [peaks[h], peaks[(h + 1) % 168]]
            .into_iter()
            .flatten()
            .fold(0.0, f64::max);
        *slot = ((busiest / per_pod).ceil() as u32).max(min);
    }
    out
}

/// Keeps at most `levels` distinct floors above `min`: each floor drops to the highest kept
/// level at or below it (the reactive trigger on top serves the rest). The kept levels are
/// the highest floor and evenly spaced fractions of it.
pub fn quantize(floors: &[u32; 168], min: u32, levels: u32) -> [u32; 168] {
    let top = floors.iter().copied().max().unwrap_or(min);
    if top <= min || levels == 0 {
        return [min; 168];
    }
    let kept: Vec<u32> = (1..=levels)
        .map(|k| min + ((top - min) * k).div_ceil(levels))
        .collect();
    let mut out = [min; 168];
    for (o, &f) in out.iter_mut().zip(floors) {
        *o = kept
            .iter()
            .copied()
            .filter(|&l| l <= f)
            .max()
            .unwrap_or(min);
    }
    out
}

/// Floors no higher than `max` (the scaler's maximum).
pub fn floors_capped(floors: &[u32; 168], max: u32) -> [u32; 168] {
    floors.map(|f| f.min(max))
}

/// One KEDA `cron` trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronWindow {
    /// Five-field expression opening the window.
    pub start: String,
    /// Five-field expression closing it.
    pub end: String,
    /// Replicas while open.
    pub desired_replicas: u32,
}

/// The floors as cron windows, opening `lead_min` minutes before the hour a level starts and
/// closing when it ends: one window per contiguous run of hours at or above each level, runs
/// with the same times on several days written once with a day list. Start and end carry day
/// lists shifted alike, so that KEDA's rule (a window is open while its next end comes before
/// its next start) holds on days outside the list too.
pub fn cron_windows(floors: &[u32; 168], min: u32, lead_min: u32) -> Vec<CronWindow> {
    let mut levels: Vec<u32> = floors.iter().copied().filter(|&f| f > min).collect();
    levels.sort_unstable();
    levels.dedup();
    // (start minute of day, start day, end minute of day, days from start to end, level)
    let mut runs: Vec<(u32, u32, u32, u32, u32)> = Vec::new();
    for &level in &levels {
        let on = |h: usize| floors[h % 168] >= level;
        // A run that wraps past Sunday midnight starts at its first hour after an off hour.
        let Some(off) = (0..168).find(|&h| !on(h)) else {
            // Always at or above: one window open all week would never close; the level
            // belongs in minReplicaCount instead.
            continue;
        };
        let mut h = off + 1;
        while h < off + 1 + 168 {
            if !on(h) {
                h += 1;
                continue;
            }
            let first = h;
            while on(h) {
                h += 1;
            }
            let start_min = (first as i64 * 60 - i64::from(lead_min)).rem_euclid(168 * 60) as u32;
            let end_min = ((h % 168) * 60) as u32;
            let span_days = ((end_min / 1440) + 7 - start_min / 1440) % 7;
            runs.push((
                start_min % 1440,
                start_min / 1440,
                end_min % 1440,
                span_days,
                level,
            ));
        }
    }
    // Same times and level on several days: one trigger with a day list.
    runs.sort_unstable_by_key(|&(sm, d, em, span, level)| (level, sm, em, span, d));
    let mut out: Vec<CronWindow> = Vec::new();
    let mut i = 0;
    while i < runs.len() {
        let (sm, _, em, span, level) = runs[i];
        let mut days = Vec::new();
        while i < runs.len()
            && (runs[i].0, runs[i].2, runs[i].3, runs[i].4) == (sm, em, span, level)
        {
            days.push(runs[i].1);
            i += 1;
        }
        let list = |shift: u32| {
            let mut d: Vec<u32> = days.iter().map(|d| (d + shift) % 7).collect();
            d.sort_unstable();
            // Hour-of-week day 0 is Monday; cron's day 0 is Sunday.
            d.iter()
                .map(|d| ((d + 1) % 7).to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        out.push(CronWindow {
            start: format!("{} {} * * {}", sm % 60, sm / 60, list(0)),
            end: format!("{} {} * * {}", em % 60, em / 60, list(span)),
            desired_replicas: level,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::keda::{Cron, cron_activity};

    #[test]
    fn floors_look_an_hour_ahead_and_quantize_down() {
        let mut peaks = [Some(10.0); 168];
        peaks[9] = Some(95.0);
        let f = floors(&peaks, 10.0, 2);
        assert_eq!((f[7], f[8], f[9], f[10]), (2, 10, 10, 2));
        let q = quantize(&f, 2, 2);
        // Levels 6 and 10: 10 stays 10.
        assert_eq!((q[8], q[9], q[10]), (10, 10, 2));
        let f2 = [2, 5, 9, 10].repeat(42);
        let q = quantize(&f2.try_into().expect("168"), 2, 2);
        assert_eq!(&q[..4], &[2, 2, 6, 10]);
    }

    /// Whether the windows open the floor's level in each minute of a week from Monday 00:00 UTC.
    fn activity(windows: &[CronWindow]) -> Vec<u32> {
        let monday = 1_763_942_400 / 60; // 2025-11-24 00:00 UTC, a Monday
        let mut level = vec![0u32; 7 * 1440];
        for w in windows {
            let on = cron_activity(
                &Cron::parse(&w.start).expect("start"),
                &Cron::parse(&w.end).expect("end"),
                &jiff::tz::TimeZone::UTC,
                monday,
                7 * 1440,
            );
            for (l, a) in level.iter_mut().zip(on) {
                if a {
                    *l = (*l).max(w.desired_replicas);
                }
            }
        }
        level
    }

    #[test]
    fn cron_windows_reproduce_the_floors_under_kedas_rule() {
        // Weekdays: 8 pods 09:00-18:00, 12 pods 12:00-14:00; Saturday a late evening 20:00-
        // 02:00 Sunday at 6 pods (across midnight); otherwise the minimum of 3.
        let mut f = [3u32; 168];
        for d in 0..5 {
            for h in 9..18 {
                f[d * 24 + h] = 8;
            }
            for h in 12..14 {
                f[d * 24 + h] = 12;
            }
        }
        for slot in &mut f[(5 * 24 + 20)..(6 * 24 + 2)] {
            *slot = 6;
        }
        let w = cron_windows(&f, 3, 15);
        // Weekday windows are written once with a day list.
        assert!(
            w.iter()
                .any(|w| w.start == "45 8 * * 1,2,3,4,5" && w.end == "0 18 * * 1,2,3,4,5"),
            "{w:?}"
        );
        let level = activity(&w);
        for (m, &l) in level.iter().enumerate() {
            let h = m / 60;
            // Open from 15 minutes before each level's first hour to its last hour's end.
            let ahead = f[((m + 15) / 60) % 168];
            let want = if f[h] > 3 { f[h].max(ahead) } else { ahead };
            let want = if want > 3 { want } else { 0 };
            assert_eq!(
                l,
                want,
                "minute {m} of the week (day {}, {:02}:{:02})",
                m / 1440,
                h % 24,
                m % 60
            );
        }
    }

    #[test]
    fn holt_winters_follows_a_daily_season_and_a_trend() {
        // Four days of a daily square wave (100 by night, 300 by day) growing 1% a day.
        let y: Vec<f64> = (0..96)
            .map(|h| {
                let base = if (8..20).contains(&(h % 24)) {
                    300.0
                } else {
                    100.0
                };
                base * (1.0 + 0.01 * (h / 24) as f64)
            })
            .collect();
        let f = holt_winters(&y, 24, 48).expect("two seasons");
        assert_eq!(f.len(), 48);
        // The next day keeps the shape: day hours well above night hours, near the last day's.
        assert!(f[12] > 2.5 * f[2], "{f:?}");
        assert!((f[12] - 309.0).abs() < 15.0, "{}", f[12]);
        assert!((f[2] - 103.0).abs() < 10.0, "{}", f[2]);
        assert!(holt_winters(&y[..30], 24, 5).is_none());
        assert!(
            holt_winters(&[0.0; 48], 24, 3)
                .expect("fits")
                .iter()
                .all(|v| *v == 0.0)
        );
    }

    #[test]
    fn a_profile_forecasts_the_hours_a_range_did_not_record() {
        // Five weekdays of a diurnal rate; the forecast covers the weekend after them.
        let rps: Vec<f64> = (0..5 * 86_400)
            .map(|s| {
                if (8..20).contains(&((s / 3600) % 24)) {
                    300.0
                } else {
                    100.0
                }
            })
            .collect();
        let d = Demand {
            start_unix_s: 1_763_942_400, // a Monday
            rps,
        };
        let p = Profile::of(&d, &jiff::tz::TimeZone::UTC, 0, 5 * 86_400);
        assert_eq!(p.recorded[5 * 24 + 12], None);
        let predicted = p.predicted();
        let saturday_noon = predicted[5 * 24 + 12].expect("forecast");
        assert!((saturday_noon - 300.0).abs() < 10.0, "{saturday_noon}");
        assert_eq!(predicted[12], Some(300.0));
    }

    #[test]
    fn hourly_peaks_take_the_busiest_minute() {
        let mut rps = vec![1.0; 2 * 3600];
        for r in &mut rps[600..660] {
            *r = 50.0;
        }
        let d = Demand {
            start_unix_s: 1_763_942_400,
            rps,
        };
        let p = hourly_peaks(&d, &jiff::tz::TimeZone::UTC, 0, 7200);
        assert_eq!(p[0], Some(50.0));
        assert_eq!(p[1], Some(1.0));
        assert_eq!(p[2], None);
        // A range that leaves the busy minute out.
        assert_eq!(
            hourly_peaks(&d, &jiff::tz::TimeZone::UTC, 3600, 7200)[0],
            None
        );
    }
}
