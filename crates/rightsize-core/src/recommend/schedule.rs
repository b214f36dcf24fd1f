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
