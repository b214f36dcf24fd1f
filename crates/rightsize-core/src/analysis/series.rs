//! The minute grid every part of the analysis reads: sample-corrected request rates, local
//! hour-of-week, and the pods that were ready in each minute (inferred from which pods served,
//! robust to sampling).

use crate::telemetry::Telemetry;

/// A gap in a pod's rows ends its life when rows at its local rate would leave a gap this long
/// with at most this probability: shorter gaps are taken as sampling.
const GAP_PROBABILITY: f64 = 1e-6;
/// Minutes on each side of a gap whose rows estimate the pod's local rate.
const GAP_RATE_MINUTES: usize = 5;

/// One stretch of minutes in which a pod served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Index into `Telemetry::pods`.
    pub pod: u32,
    /// First minute (index into the grid).
    pub first: usize,
    /// Last minute (inclusive).
    pub last: usize,
}

/// The minute grid.
#[derive(Debug, Clone)]
pub struct Series {
    /// Unix minute of index 0.
    pub start_minute: i64,
    /// Raw rows per minute (all status classes).
    pub rows: Vec<u64>,
    /// Requests per second per minute, sample-corrected.
    pub rps: Vec<f64>,
    /// Local hour-of-week (0 = Monday 00:00-01:00) of each minute.
    pub how: Vec<u8>,
    /// Local calendar day (days since the Unix epoch in the zone) of each minute.
    pub day: Vec<i32>,
    /// Pods ready in each minute.
    pub ready: Vec<u32>,
    /// Every pod's serving stretches, by pod then time.
    pub segments: Vec<Segment>,
    /// The index into `Telemetry::cells` where each minute's cells begin (one past the end
    /// last).
    pub cell_start: Vec<usize>,
    /// The fraction of requests the rows hold.
    pub sample_rate: f64,
}

impl Series {
    /// Builds the grid; `None` when the telemetry holds no rows.
    pub fn new(t: &Telemetry, tz: &jiff::tz::TimeZone) -> Option<Series> {
        let first = t.cells.first()?.unix_minute;
        let last = t.cells.last()?.unix_minute;
        let len = usize::try_from(last - first + 1).ok()?;
        let sample_rate = if t.sample_rate > 0.0 {
            t.sample_rate
        } else {
            1.0
        };
        let mut rows = vec![0u64; len];
        let mut cell_start = vec![t.cells.len(); len + 1];
        let mut per_pod: Vec<Vec<(usize, u64)>> = vec![Vec::new(); t.pods.len()];
        for (k, c) in t.cells.iter().enumerate() {
            let i = (c.unix_minute - first) as usize;
            if cell_start[i] == t.cells.len() || k < cell_start[i] {
                cell_start[i] = k.min(cell_start[i]);
            }
            let n: u64 = c.cell.counts.iter().map(|&x| u64::from(x)).sum();
            rows[i] += n;
            if n > 0
                && let Some(p) = per_pod.get_mut(c.pod as usize)
            {
                p.push((i, n));
            }
        }
        // Minutes without cells start where the next minute's cells start.
        for i in (0..len).rev() {
            if cell_start[i] > cell_start[i + 1] {
                cell_start[i] = cell_start[i + 1];
            }
        }
        let rps = rows
            .iter()
            .map(|&n| n as f64 / sample_rate / 60.0)
            .collect();
        let mut how = Vec::with_capacity(len);
        let mut day = Vec::with_capacity(len);
        let mut cached: Option<(i64, u8, i32)> = None;
        for i in 0..len {
            let minute = first + i as i64;
            let hour = minute.div_euclid(60);
            let (h, d) = match cached {
                Some((ch, h, d)) if ch == hour && minute.rem_euclid(60) != 0 => (h, d),
                _ => {
                    let (h, d) = local_hour_of_week(minute * 60, tz);
                    cached = Some((hour, h, d));
                    (h, d)
                }
            };
            how.push(h);
            day.push(d);
        }
        let segments = segments(&per_pod);
        let mut ready = vec![0u32; len];
        for s in &segments {
            for r in &mut ready[s.first..=s.last] {
                *r += 1;
            }
        }
        Some(Series {
            start_minute: first,
            rows,
            rps,
            how,
            day,
            ready,
            segments,
            cell_start,
            sample_rate,
        })
    }

    /// Minutes in the grid.
    pub fn len(&self) -> usize {
        self.rps.len()
    }

    /// True for an empty grid (never built).
    pub fn is_empty(&self) -> bool {
        self.rps.is_empty()
    }

    /// RFC 3339 UTC of minute `i`'s start.
    pub fn time(&self, i: usize) -> String {
        rfc3339_minute(self.start_minute + i as i64)
    }
}

/// RFC 3339 UTC of a Unix minute.
pub fn rfc3339_minute(unix_minute: i64) -> String {
    jiff::Timestamp::from_second(unix_minute * 60)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Hour-of-week (0 = Monday 00:00) and local day number of a Unix second in `tz`.
fn local_hour_of_week(unix_s: i64, tz: &jiff::tz::TimeZone) -> (u8, i32) {
    let Ok(ts) = jiff::Timestamp::from_second(unix_s) else {
        return (0, 0);
    };
    let z = ts.to_zoned(tz.clone());
    let weekday = i32::from(z.weekday().to_monday_zero_offset());
    let hour = i32::from(z.hour());
    let date = z.date();
    let day = date
        .since(jiff::civil::date(1970, 1, 1))
        .map(|s| s.get_days())
        .unwrap_or(0);
    ((weekday * 24 + hour) as u8, day)
}

/// Each pod's serving stretches: a gap ends a stretch when the pod's rows at its local rate
/// would almost never leave it (probability below [`GAP_PROBABILITY`]).
fn segments(per_pod: &[Vec<(usize, u64)>]) -> Vec<Segment> {
    let mut out = Vec::new();
    for (pod, seen) in per_pod.iter().enumerate() {
        let Some(&(first, _)) = seen.first() else {
            continue;
        };
        let mut start = first;
        for w in 1..seen.len() {
            let (a, b) = (seen[w - 1].0, seen[w].0);
            let gap = b - a - 1;
            if gap == 0 {
                continue;
            }
            let before = &seen[w.saturating_sub(GAP_RATE_MINUTES)..w];
            let after = &seen[w..(w + GAP_RATE_MINUTES).min(seen.len())];
            // Rows per minute over the minutes the neighbours span, empty minutes included.
            let mean = |s: &[(usize, u64)]| match (s.first(), s.last()) {
                (Some(f), Some(l)) => {
                    s.iter().map(|x| x.1 as f64).sum::<f64>() / (l.0 - f.0 + 1) as f64
                }
                _ => 0.0,
            };
            let rate = mean(before).min(mean(after));
            if (-rate * gap as f64).exp() < GAP_PROBABILITY {
                out.push(Segment {
                    pod: pod as u32,
                    first: start,
                    last: a,
                });
                start = b;
            }
        }
        if let Some(&(last, _)) = seen.last() {
            out.push(Segment {
                pod: pod as u32,
                first: start,
                last,
            });
        }
    }
    out
}

/// The `q`-quantile of values (linear interpolation); `None` when empty.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(values[lo] + (values[hi] - values[lo]) * (pos - lo as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_gaps_bridge_and_real_gaps_split() {
        // 3 rows a minute: a 2-minute gap is sampling (e^-6), a 10-minute gap is not (e^-30).
        let mut seen: Vec<(usize, u64)> = (0..10).map(|i| (i, 3)).collect();
        seen.extend((12..20).map(|i| (i, 3)));
        seen.extend((30..40).map(|i| (i, 3)));
        let s = segments(&[seen]);
        assert_eq!(
            s,
            vec![
                Segment {
                    pod: 0,
                    first: 0,
                    last: 19
                },
                Segment {
                    pod: 0,
                    first: 30,
                    last: 39
                }
            ]
        );
        // About 0.4 rows a minute: a 10-minute gap is plausible sampling (e^-4).
        let sparse: Vec<(usize, u64)> = [0, 3, 5, 16, 20].iter().map(|&i| (i, 1)).collect();
        assert_eq!(segments(&[sparse]).len(), 1);
    }

    #[test]
    fn hour_of_week_in_a_zone() {
        // 2025-11-24 is a Monday: 00:30 UTC is hour 0 in UTC, Sunday 19:30 (hour 163) at -05:00.
        let monday = 1_763_942_400 + 1800;
        assert_eq!(local_hour_of_week(monday, &jiff::tz::TimeZone::UTC).0, 0);
        let ny = jiff::tz::TimeZone::fixed(jiff::tz::offset(-5));
        assert_eq!(local_hour_of_week(monday, &ny).0, 6 * 24 + 19);
    }
}
