//! Traffic patterns: the per-minute rate, the hour-of-week profile, daily peaks and troughs,
//! peak windows, bursts, weekday against weekend, how well yesterday predicts today, and the
//! off-peak hours.

use serde::Serialize;

use super::series::{Series, quantile, rfc3339_minute};
use super::{OffPeakRule, mean};

/// Peak windows are the periods above this share of the weekly peak.
pub const PEAK_WINDOW_SHARE: f64 = 0.8;
/// A burst is a minute this much above its baseline.
pub const BURST_RATIO: f64 = 1.3;
/// Minutes of smoothing for daily peaks, troughs and peak windows.
const SMOOTH_MINUTES: usize = 15;

/// Traffic findings.
#[derive(Debug, Clone, Serialize)]
pub struct Traffic {
    /// Mean request rate over the span, sample-corrected.
    pub mean_rps: f64,
    /// Busiest minute's rate.
    pub peak_rps_1m: f64,
    /// When that minute began.
    pub peak_at: String,
    /// Quietest 15-minute stretch's mean rate.
    pub trough_rps_15m: f64,
    /// Busiest 15-minute mean over the quietest.
    pub peak_to_trough_ratio: Option<f64>,
    /// Requests per second of every minute from `minute_rps_start` on.
    pub minute_rps: Vec<f64>,
    /// The first minute of `minute_rps`, RFC 3339 UTC.
    pub minute_rps_start: String,
    /// Mean of the minute rates in each hour of the week (0 = Monday 00:00-01:00 local);
    /// `null` where the span holds no minute of that hour.
    pub hour_of_week_rps: Vec<Option<f64>>,
    /// 95th percentile of the minute rates in each hour of the week.
    pub hour_of_week_rps_p95: Vec<Option<f64>>,
    /// Each local day's peak and trough (15-minute means).
    pub daily: Vec<DailyExtremes>,
    /// Contiguous periods whose 15-minute mean is above 80% of the weekly peak.
    pub peak_windows: Vec<Window>,
    /// Sudden rises above the recent baseline.
    pub bursts: Bursts,
    /// Weekday against weekend.
    pub weekday_weekend: Option<WeekdayWeekend>,
    /// How well the same hour of the previous day predicts each hour.
    pub forecastability: Option<Forecastability>,
    /// Hour-of-week indices counted off-peak.
    pub off_peak_hours: Vec<u8>,
    /// The off-peak hours as local clock ranges, e.g. `Mon 00:00-Mon 09:00`.
    pub off_peak_ranges: Vec<String>,
    /// The off-peak stretches of the span as `[first, end)` indices into `minute_rps`.
    pub off_peak_minute_ranges: Vec<[usize; 2]>,
    /// How the off-peak hours were chosen.
    pub off_peak_rule: String,
}

/// One local day's extremes.
#[derive(Debug, Clone, Serialize)]
pub struct DailyExtremes {
    /// Local date.
    pub date: String,
    /// Busiest 15-minute mean.
    pub peak_rps: f64,
    /// When that stretch began (RFC 3339 UTC).
    pub peak_at: String,
    /// Quietest 15-minute mean.
    pub trough_rps: f64,
    /// When that stretch began.
    pub trough_at: String,
}

/// A stretch of time.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    /// Start, RFC 3339 UTC.
    pub start: String,
    /// End (exclusive).
    pub end: String,
    /// Minutes.
    pub minutes: usize,
    /// Mean request rate.
    pub mean_rps: f64,
}

/// Bursts: minutes whose rate is more than 30% above the mean of the half hour that ended five
/// minutes earlier, by more than four standard deviations of the sampling noise.
#[derive(Debug, Clone, Serialize)]
pub struct Bursts {
    /// Bursts (runs of burst minutes).
    pub count: usize,
    /// Bursts per day of span.
    pub per_day: f64,
    /// Median of each burst's peak over its baseline.
    pub median_ratio: Option<f64>,
    /// The largest bursts, largest first (at most 20).
    pub largest: Vec<Burst>,
}

/// One burst.
#[derive(Debug, Clone, Serialize)]
pub struct Burst {
    /// Start, RFC 3339 UTC.
    pub start: String,
    /// Minutes above the threshold.
    pub minutes: usize,
    /// The highest minute rate.
    pub peak_rps: f64,
    /// The baseline it rose from.
    pub baseline_rps: f64,
    /// `peak_rps / baseline_rps`.
    pub ratio: f64,
}

/// Weekday against weekend (local days).
#[derive(Debug, Clone, Serialize)]
pub struct WeekdayWeekend {
    /// Mean rate on Monday to Friday.
    pub weekday_mean_rps: f64,
    /// Mean rate on Saturday and Sunday.
    pub weekend_mean_rps: f64,
    /// Weekend over weekday.
    pub weekend_ratio: f64,
}

/// The seasonal-naive forecast (same hour, previous day) against what happened.
#[derive(Debug, Clone, Serialize)]
pub struct Forecastability {
    /// Mean absolute percentage error of the hourly rate.
    pub mape: f64,
    /// Hours compared.
    pub hours: usize,
    /// `1 - mape`, floored at 0: 1 is perfectly repeatable.
    pub score: f64,
}

/// Centered moving mean over `w` minutes (shorter at the edges).
pub fn smooth(values: &[f64], w: usize) -> Vec<f64> {
    let n = values.len();
    let mut prefix = vec![0.0; n + 1];
    for (i, v) in values.iter().enumerate() {
        prefix[i + 1] = prefix[i] + v;
    }
    (0..n)
        .map(|i| {
            let lo = i.saturating_sub(w / 2);
            let hi = (i + w - w / 2).min(n);
            (prefix[hi] - prefix[lo]) / (hi - lo).max(1) as f64
        })
        .collect()
}

/// Hour-of-week means of a per-minute series.
pub fn hour_of_week_means(s: &Series, values: &[f64]) -> Vec<Option<f64>> {
    let mut sum = [0.0f64; 168];
    let mut n = [0u32; 168];
    for (i, v) in values.iter().enumerate() {
        let h = usize::from(s.how[i]);
        sum[h] += v;
        n[h] += 1;
    }
    (0..168)
        .map(|h| (n[h] > 0).then(|| sum[h] / f64::from(n[h])))
        .collect()
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// `Mon 22:00` for the start of hour-of-week `h`.
pub fn how_label(h: usize) -> String {
    format!("{} {:02}:00", DAYS[(h / 24) % 7], h % 24)
}

/// Contiguous hour-of-week ranges (wrapping from Sunday to Monday) as `Mon 22:00-Tue 07:00`.
pub fn clock_ranges(hours: &[u8]) -> Vec<String> {
    let mut set = [false; 168];
    for &h in hours {
        set[usize::from(h) % 168] = true;
    }
    if set.iter().all(|x| *x) {
        return vec!["all week".to_string()];
    }
    // Start scanning just after an hour that is not in the set, so a range wrapping the week's
    // end stays whole.
    let Some(origin) = (0..168).find(|&h| !set[h]) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut run: Option<usize> = None;
    for k in 1..=168 {
        let h = (origin + k) % 168;
        match (set[h], run) {
            (true, None) => run = Some(h),
            (false, Some(start)) => {
                out.push(format!("{}-{}", how_label(start), how_label(h)));
                run = None;
            }
            _ => {}
        }
    }
    out
}

/// Parses `22:00-07:00` into minutes of the day `[start, end)`.
pub fn parse_daily_window(text: &str) -> Result<(u32, u32), String> {
    let parse = |t: &str| -> Option<u32> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h <= 24 && m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
    };
    let (a, b) = text
        .split_once('-')
        .ok_or_else(|| format!("{text:?}: expected a daily window such as 22:00-07:00"))?;
    match (parse(a), parse(b)) {
        (Some(s), Some(e)) if s != e => Ok((s, e)),
        (Some(_), Some(_)) => Err(format!(
            "{text:?}: the window starts and ends at the same time"
        )),
        _ => Err(format!(
            "{text:?}: expected HH:MM-HH:MM in 24-hour time, e.g. 22:00-07:00"
        )),
    }
}

/// The off-peak hour-of-week indices and a description of the rule.
pub fn off_peak_hours(profile: &[Option<f64>], rule: &OffPeakRule) -> (Vec<u8>, String) {
    match rule {
        OffPeakRule::Threshold(f) => {
            let busiest = profile.iter().flatten().fold(0.0f64, |a, b| a.max(*b));
            let hours = profile
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_some_and(|v| v < f * busiest))
                .map(|(h, _)| h as u8)
                .collect();
            (
                hours,
                format!(
                    "hours of the week whose mean rate is below {f} x the busiest hour's ({busiest:.1} req/s)"
                ),
            )
        }
        OffPeakRule::DailyWindow {
            start_minute,
            end_minute,
        } => {
            let in_window = |hour: u32| {
                let (s, e, m) = (*start_minute, *end_minute, hour * 60);
                // An hour counts when it starts inside the window.
                if s < e {
                    m >= s && m < e
                } else {
                    m >= s || m < e
                }
            };
            let hours = (0..168u32)
                .filter(|h| in_window(h % 24))
                .map(|h| h as u8)
                .collect();
            (
                hours,
                format!(
                    "every day {:02}:{:02}-{:02}:{:02} (--off-peak)",
                    start_minute / 60,
                    start_minute % 60,
                    end_minute / 60,
                    end_minute % 60
                ),
            )
        }
    }
}

/// Computes the traffic findings.
pub fn traffic(s: &Series, rule: &OffPeakRule) -> Traffic {
    let n = s.len();
    let (peak_i, peak) =
        s.rps.iter().enumerate().fold(
            (0, 0.0f64),
            |(bi, b), (i, v)| if *v > b { (i, *v) } else { (bi, b) },
        );
    let smoothed = smooth(&s.rps, SMOOTH_MINUTES);
    // The edge minutes are partial: leave them out of extremes.
    let inner = |i: usize| n < 3 || (i > 0 && i + 1 < n);
    let trough = (0..n)
        .filter(|&i| inner(i))
        .map(|i| smoothed[i])
        .fold(f64::INFINITY, f64::min);
    let peak_smoothed = (0..n)
        .filter(|&i| inner(i))
        .map(|i| smoothed[i])
        .fold(0.0f64, f64::max);

    let hour_of_week_rps = hour_of_week_means(s, &s.rps);
    let mut by_how: Vec<Vec<f64>> = vec![Vec::new(); 168];
    for i in 0..n {
        by_how[usize::from(s.how[i])].push(s.rps[i]);
    }
    let hour_of_week_rps_p95 = by_how.iter_mut().map(|v| quantile(v, 0.95)).collect();

    // Daily extremes by local day.
    let mut daily = Vec::new();
    let mut i = 0;
    while i < n {
        let d = s.day[i];
        let mut j = i;
        while j < n && s.day[j] == d {
            j += 1;
        }
        let idx: Vec<usize> = (i..j).filter(|&k| inner(k)).collect();
        if let (Some(&pk), Some(&tr)) = (
            idx.iter()
                .max_by(|a, b| smoothed[**a].total_cmp(&smoothed[**b])),
            idx.iter()
                .min_by(|a, b| smoothed[**a].total_cmp(&smoothed[**b])),
        ) {
            let date = jiff::civil::date(1970, 1, 1)
                .checked_add(jiff::Span::new().days(i64::from(d)))
                .map(|x| x.to_string())
                .unwrap_or_default();
            daily.push(DailyExtremes {
                date,
                peak_rps: smoothed[pk],
                peak_at: s.time(pk.saturating_sub(SMOOTH_MINUTES / 2)),
                trough_rps: smoothed[tr],
                trough_at: s.time(tr.saturating_sub(SMOOTH_MINUTES / 2)),
            });
        }
        i = j;
    }

    // Peak windows: runs above 80% of the smoothed peak, merging gaps under 10 minutes.
    let threshold = PEAK_WINDOW_SHARE * peak_smoothed;
    let mut peak_windows: Vec<Window> = Vec::new();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for k in 0..=n {
        let above = smoothed.get(k).is_some_and(|v| *v >= threshold) && threshold > 0.0;
        match (above, start) {
            (true, None) => start = Some(k),
            (false, Some(st)) => {
                match runs.last_mut() {
                    Some(last) if st - last.1 < 10 => last.1 = k,
                    _ => runs.push((st, k)),
                }
                start = None;
            }
            _ => {}
        }
    }
    for (a, b) in runs {
        peak_windows.push(Window {
            start: s.time(a),
            end: s.time(b),
            minutes: b - a,
            mean_rps: mean(&s.rps[a..b]),
        });
    }

    let bursts = bursts(s);

    // Weekday against weekend by local weekday (hour-of-week / 24).
    let (mut wd, mut we) = (Vec::new(), Vec::new());
    for i in (0..n).filter(|&i| inner(i)) {
        if s.how[i] / 24 >= 5 {
            we.push(s.rps[i]);
        } else {
            wd.push(s.rps[i]);
        }
    }
    let weekday_weekend = (!wd.is_empty() && !we.is_empty()).then(|| {
        let (a, b) = (mean(&wd), mean(&we));
        WeekdayWeekend {
            weekday_mean_rps: a,
            weekend_mean_rps: b,
            weekend_ratio: if a > 0.0 { b / a } else { 0.0 },
        }
    });

    // Seasonal naive: hourly means, each against the same hour a day earlier.
    let hourly: Vec<f64> = s
        .rps
        .chunks(60)
        .filter(|c| c.len() == 60)
        .map(mean)
        .collect();
    let errors: Vec<f64> = (24..hourly.len())
        .filter(|&h| hourly[h] > 0.0)
        .map(|h| (hourly[h] - hourly[h - 24]).abs() / hourly[h])
        .collect();
    let forecastability = (!errors.is_empty()).then(|| {
        let mape = mean(&errors);
        Forecastability {
            mape,
            hours: errors.len(),
            score: (1.0 - mape).max(0.0),
        }
    });

    let (off_peak_hours, off_peak_rule) = off_peak_hours(&hour_of_week_rps, rule);
    let off_peak_ranges = clock_ranges(&off_peak_hours);
    let mut off_peak_minute_ranges: Vec<[usize; 2]> = Vec::new();
    for (i, how) in s.how.iter().enumerate() {
        if !off_peak_hours.contains(how) {
            continue;
        }
        match off_peak_minute_ranges.last_mut() {
            Some(r) if r[1] == i => r[1] = i + 1,
            _ => off_peak_minute_ranges.push([i, i + 1]),
        }
    }
    Traffic {
        mean_rps: mean(&s.rps),
        peak_rps_1m: peak,
        peak_at: s.time(peak_i),
        trough_rps_15m: if trough.is_finite() { trough } else { 0.0 },
        peak_to_trough_ratio: (trough > 0.0 && trough.is_finite()).then(|| peak_smoothed / trough),
        minute_rps: s.rps.clone(),
        minute_rps_start: rfc3339_minute(s.start_minute),
        hour_of_week_rps,
        hour_of_week_rps_p95,
        daily,
        peak_windows,
        bursts,
        weekday_weekend,
        forecastability,
        off_peak_hours,
        off_peak_ranges,
        off_peak_minute_ranges,
        off_peak_rule,
    }
}

fn bursts(s: &Series) -> Bursts {
    let n = s.len();
    let mut list: Vec<Burst> = Vec::new();
    let mut open: Option<Burst> = None;
    for i in 35..n.saturating_sub(1) {
        // Baseline: the half hour that ended five minutes ago.
        let base_rows = s.rows[i - 35..i - 5].iter().sum::<u64>() as f64 / 30.0;
        let base_rps = base_rows / s.sample_rate / 60.0;
        let rows = s.rows[i] as f64;
        let is_burst = base_rows > 0.0
            && rows > BURST_RATIO * base_rows
            && rows - base_rows > 4.0 * base_rows.sqrt();
        match (is_burst, open.as_mut()) {
            (true, Some(b)) => {
                b.minutes += 1;
                if s.rps[i] > b.peak_rps {
                    b.peak_rps = s.rps[i];
                    b.ratio = b.peak_rps / b.baseline_rps;
                }
            }
            (true, None) => {
                open = Some(Burst {
                    start: s.time(i),
                    minutes: 1,
                    peak_rps: s.rps[i],
                    baseline_rps: base_rps,
                    ratio: s.rps[i] / base_rps,
                })
            }
            (false, _) => list.extend(open.take()),
        }
    }
    list.extend(open);
    let days = n as f64 / 1440.0;
    let mut ratios: Vec<f64> = list.iter().map(|b| b.ratio).collect();
    let count = list.len();
    list.sort_by(|a, b| b.ratio.total_cmp(&a.ratio));
    list.truncate(20);
    Bursts {
        count,
        per_day: if days > 0.0 { count as f64 / days } else { 0.0 },
        median_ratio: quantile(&mut ratios, 0.5),
        largest: list,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_ranges_wrap_the_week() {
        let nights: Vec<u8> = (0..168u8).filter(|h| h % 24 < 7 || h % 24 >= 22).collect();
        let r = clock_ranges(&nights);
        assert_eq!(r.len(), 7);
        assert_eq!(r[0], "Mon 22:00-Tue 07:00");
        assert_eq!(r[6], "Sun 22:00-Mon 07:00");
        assert_eq!(clock_ranges(&[3, 4]), vec!["Mon 03:00-Mon 05:00"]);
        assert!(clock_ranges(&[]).is_empty());
    }

    #[test]
    fn daily_windows_parse_and_select_hours() {
        assert_eq!(parse_daily_window("22:00-07:00"), Ok((1320, 420)));
        assert!(parse_daily_window("22-07").is_err());
        assert!(parse_daily_window("25:00-07:00").is_err());
        let (hours, _) = off_peak_hours(
            &[Some(1.0); 168],
            &OffPeakRule::DailyWindow {
                start_minute: 1320,
                end_minute: 420,
            },
        );
        assert_eq!(hours.len(), 9 * 7);
        assert!(hours.contains(&22) && hours.contains(&6) && !hours.contains(&7));
    }

    #[test]
    fn threshold_picks_quiet_hours() {
        let mut profile = vec![Some(100.0); 168];
        profile[3] = Some(40.0);
        profile[4] = Some(49.0);
        profile[5] = None;
        let (hours, _) = off_peak_hours(&profile, &OffPeakRule::Threshold(0.5));
        assert_eq!(hours, vec![3, 4]);
    }
}
