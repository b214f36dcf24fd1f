//! The analysis report: `analysis.md` and `analysis.html` built from an [`Analysis`], the
//! findings first, then the evidence section by section with its charts.

use super::doc::{Block, Document};
use super::svg::{Chart, Mark, RefLine, Series};
use crate::analysis::Analysis;
use crate::analysis::traffic::how_label;

const BLUE: &str = "#1f77b4";
const ORANGE: &str = "#ff7f0e";
const GREEN: &str = "#2ca02c";
const RED: &str = "#c62828";
const GREY: &str = "#7f7f7f";
/// Most points a per-minute line draws; longer series are averaged in buckets.
const MAX_LINE_POINTS: usize = 2_000;

fn num(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v.abs() >= 100.0 {
        group_thousands(v.round() as i64)
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn group_thousands(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0 { format!("-{out}") } else { out }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), num)
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{} ms", num(v)))
}

fn usd(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("${}", num(v)))
}

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_string()).collect()
}

/// Averages `values` into at most [`MAX_LINE_POINTS`] buckets; x in days from index 0.
fn per_minute_points(
    values: impl Iterator<Item = Option<f64>>,
    len: usize,
) -> Vec<(f64, Option<f64>)> {
    let bucket = len.div_ceil(MAX_LINE_POINTS).max(1);
    let mut out = Vec::with_capacity(len / bucket + 1);
    let (mut sum, mut n, mut start) = (0.0, 0usize, 0usize);
    for (i, v) in values.enumerate() {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            sum += v;
            n += 1;
        }
        if (i + 1) % bucket == 0 || i + 1 == len {
            let mid = (start + i) as f64 / 2.0;
            out.push((mid / 1440.0, (n > 0).then(|| sum / n as f64)));
            (sum, n, start) = (0.0, 0, i + 1);
        }
    }
    out
}

/// Day ticks for a per-minute x axis in days: each UTC midnight inside the span.
fn day_ticks(start: &str, minutes: usize) -> Vec<(f64, String)> {
    let Ok(t0) = start.parse::<jiff::Timestamp>() else {
        return Vec::new();
    };
    let first_minute = t0.as_second().div_euclid(60);
    let offset = (1440 - first_minute.rem_euclid(1440)) % 1440;
    let mut out = Vec::new();
    let mut m = offset;
    while (m as usize) <= minutes {
        if let Ok(t) = jiff::Timestamp::from_second((first_minute + m) * 60) {
            out.push((
                m as f64 / 1440.0,
                t.to_zoned(jiff::tz::TimeZone::UTC)
                    .strftime("%a %d")
                    .to_string(),
            ));
        }
        m += 1440;
    }
    out
}

fn week_ticks() -> Vec<(f64, String)> {
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", ""]
        .iter()
        .enumerate()
        .map(|(d, name)| ((d * 24) as f64, (*name).to_string()))
        .collect()
}

/// Off-peak hours as merged `[start, end)` bands on an hour-of-week axis.
fn hour_bands(hours: &[u8]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for &h in hours {
        let h = f64::from(h);
        match out.last_mut() {
            Some(b) if b.1 == h => b.1 = h + 1.0,
            _ => out.push((h, h + 1.0)),
        }
    }
    out
}

fn hour_series(name: &str, color: &'static str, values: &[Option<f64>]) -> Series {
    Series {
        name: name.into(),
        color,
        mark: Mark::Step,
        points: values
            .iter()
            .enumerate()
            .map(|(h, v)| (h as f64, *v))
            .chain(std::iter::once((168.0, values.last().copied().flatten())))
            .collect(),
    }
}

/// The charts of the analysis, in report order, each with its caption.
pub fn charts(a: &Analysis) -> Vec<(Chart, String)> {
    let t = &a.traffic;
    let n = t.minute_rps.len();
    let minute_bands: Vec<(f64, f64)> = t
        .off_peak_minute_ranges
        .iter()
        .map(|r| (r[0] as f64 / 1440.0, r[1] as f64 / 1440.0))
        .collect();
    let days = (n as f64 / 1440.0).max(1.0 / 1440.0);
    let ticks = day_ticks(&t.minute_rps_start, n);
    let off_peak_label = "off-peak".to_string();
    let mut out = Vec::new();

    out.push((
        Chart {
            title: "Request rate per minute".into(),
            x_label: "day (UTC)".into(),
            y_label: "requests per second".into(),
            x_ticks: ticks.clone(),
            x_range: Some((0.0, days)),
            series: vec![Series {
                name: "req/s".into(),
                color: BLUE,
                mark: Mark::Line,
                points: per_minute_points(t.minute_rps.iter().map(|v| Some(*v)), n),
            }],
            bands: minute_bands.clone(),
            band_label: off_peak_label.clone(),
            ..Chart::default()
        },
        format!(
            "Sample-corrected; mean {} req/s, busiest minute {} req/s at {}.",
            num(t.mean_rps),
            num(t.peak_rps_1m),
            t.peak_at
        ),
    ));

    // Charts over the hour of the week, off-peak hours shaded.
    let week_chart = |title: &str, y_label: &str, series: Vec<Series>| Chart {
        title: title.into(),
        x_label: format!("hour of the week ({})", a.time_zone),
        y_label: y_label.into(),
        x_ticks: week_ticks(),
        x_range: Some((0.0, 168.0)),
        series,
        bands: hour_bands(&t.off_peak_hours),
        band_label: off_peak_label.clone(),
        ..Chart::default()
    };
    out.push((
        week_chart(
            "Hour-of-week profile",
            "requests per second",
            vec![
                hour_series("mean", BLUE, &t.hour_of_week_rps),
                hour_series("p95 of minutes", ORANGE, &t.hour_of_week_rps_p95),
            ],
        ),
        format!("Off-peak: {}.", t.off_peak_rule),
    ));

    out.push((
        week_chart(
            "Ready pods against pods needed at the SLO",
            "pods",
            vec![
                hour_series("ready (observed)", BLUE, &a.pods.hour_of_week_ready),
                hour_series("needed at capacity", GREEN, &a.waste.hour_of_week_needed_pods),
            ],
        ),
        match a.capacity.rps_per_pod_at_slo {
            Some(c) => format!(
                "Needed pods: each hour's rate over {} req/s per pod (the capacity model), at least one.",
                num(c)
            ),
            None => "No capacity model: needed pods are unknown.".into(),
        },
    ));

    out.push((
        Chart {
            title: "Ready pods per minute".into(),
            x_label: "day (UTC)".into(),
            y_label: "pods".into(),
            x_ticks: ticks.clone(),
            x_range: Some((0.0, days)),
            series: vec![Series {
                name: "ready pods".into(),
                color: BLUE,
                mark: Mark::Line,
                points: per_minute_points(
                    a.pods.ready_per_minute.iter().map(|v| Some(f64::from(*v))),
                    a.pods.ready_per_minute.len(),
                ),
            }],
            bands: minute_bands.clone(),
            band_label: off_peak_label.clone(),
            ..Chart::default()
        },
        format!(
            "Inferred from which pods served; {} to {} ready, {} on average.",
            a.pods.min_ready,
            a.pods.max_ready,
            num(a.pods.mean_ready)
        ),
    ));

    let per5: Vec<(f64, Option<f64>)> = a
        .latency
        .per_5m
        .iter()
        .enumerate()
        .map(|(i, w)| (i as f64 * 5.0 / 1440.0, w.p99))
        .collect();
    let mut p99s: Vec<f64> = per5.iter().filter_map(|p| p.1).collect();
    p99s.sort_by(f64::total_cmp);
    let high = p99s
        .get(p99s.len().saturating_sub(1).min(p99s.len() * 995 / 1000))
        .copied()
        .unwrap_or(0.0);
    out.push((
        Chart {
            title: "p99 latency per 5-minute window".into(),
            x_label: "day (UTC)".into(),
            y_label: "milliseconds".into(),
            x_ticks: ticks,
            x_range: Some((0.0, days)),
            y_max: Some((a.slo_p99_ms * 1.5).max(high * 1.1)),
            series: vec![Series {
                name: "p99".into(),
                color: BLUE,
                mark: Mark::Line,
                points: per5,
            }],
            bands: minute_bands,
            band_label: off_peak_label,
            h_lines: vec![RefLine {
                at: a.slo_p99_ms,
                label: format!("SLO {} ms", num(a.slo_p99_ms)),
                color: RED,
            }],
            ..Chart::default()
        },
        format!(
            "{} of {} windows above the SLO with enough rows to tell; {} more above it on too few rows.",
            a.latency.slo_violation_windows_5m,
            a.latency.windows_5m,
            a.latency.uncertain_violation_windows_5m
        ),
    ));

    let c = &a.capacity;
    let x_max = c
        .model_curve
        .iter()
        .map(|p| p[0])
        .chain(c.bins.iter().map(|b| b.rps_per_pod))
        .chain(c.interval.map(|i| i[1]))
        .fold(0.0f64, f64::max)
        * 1.05;
    out.push((
        Chart {
            title: "Capacity model: p99 against requests per pod".into(),
            x_label: "requests per second per warm pod".into(),
            y_label: "p99 milliseconds".into(),
            x_range: Some((0.0, x_max.max(1.0))),
            y_max: Some(a.slo_p99_ms * 2.0),
            series: vec![
                Series {
                    name: "observed (bins)".into(),
                    color: GREY,
                    mark: Mark::Dots,
                    points: c.bins.iter().map(|b| (b.rps_per_pod, b.p99_ms)).collect(),
                },
                Series {
                    name: "fitted queue".into(),
                    color: BLUE,
                    mark: Mark::Line,
                    points: c.model_curve.iter().map(|p| (p[0], Some(p[1]))).collect(),
                },
            ],
            bands: c.interval.map(|i| vec![(i[0], i[1])]).unwrap_or_default(),
            band_label: "95% interval".into(),
            h_lines: vec![RefLine {
                at: a.slo_p99_ms,
                label: format!("SLO {} ms", num(a.slo_p99_ms)),
                color: RED,
            }],
            v_lines: c
                .rps_per_pod_at_slo
                .map(|v| RefLine {
                    at: v,
                    label: format!("{} req/s per pod", num(v)),
                    color: GREEN,
                })
                .into_iter()
                .collect(),
            ..Chart::default()
        },
        if c.knee_observed {
            "The knee was observed: the busiest minutes loaded pods far enough that latency rose.".into()
        } else {
            "No knee observed: the estimate is extrapolated and its interval is wide; a load test should find the knee.".into()
        },
    ));
    out
}

/// The analysis as a document.
pub fn document(a: &Analysis) -> Document {
    let mut d = Document::new("rightsize analysis");
    let t = &a.traffic;
    d.push(Block::Paragraph(format!(
        "{} to {} ({:.2} days, {} rows, sample rate {}); SLO p99 <= {} ms; hours of the week in {}.",
        a.span.start,
        a.span.end,
        a.span.days,
        group_thousands(a.span.rows as i64),
        a.span.sample_rate,
        num(a.slo_p99_ms),
        a.time_zone
    )));

    d.push(Block::Heading(1, "Findings".into()));
    if a.findings.is_empty() {
        d.push(Block::Paragraph("Nothing stands out.".into()));
    } else {
        d.push(Block::Numbered(
            a.findings
                .iter()
                .map(|f| {
                    if f.evidence.is_empty() {
                        f.text.clone()
                    } else {
                        format!("{} ({})", f.text, f.evidence)
                    }
                })
                .collect(),
        ));
    }
    if !a.warnings.is_empty() {
        d.push(Block::Heading(2, "Warnings".into()));
        d.push(Block::List(a.warnings.clone()));
    }

    d.push(Block::Heading(1, "Key figures".into()));
    d.push(Block::Table(
        row(&["figure", "value"]),
        vec![
            row(&["mean rate", &format!("{} req/s", num(t.mean_rps))]),
            row(&[
                "peak rate (1 min)",
                &format!("{} req/s at {}", num(t.peak_rps_1m), t.peak_at),
            ]),
            row(&["peak / trough (15 min)", &opt(t.peak_to_trough_ratio)]),
            row(&[
                "ready pods",
                &format!(
                    "{} to {}, mean {}",
                    a.pods.min_ready,
                    a.pods.max_ready,
                    num(a.pods.mean_ready)
                ),
            ]),
            row(&["p99 latency (span)", &ms(a.latency.p99_ms)]),
            row(&[
                "5-minute windows above the SLO",
                &format!(
                    "{} of {}",
                    a.latency.slo_violation_windows_5m, a.latency.windows_5m
                ),
            ]),
            row(&[
                "capacity at the SLO",
                &match (a.capacity.rps_per_pod_at_slo, a.capacity.interval) {
                    (Some(c), Some([lo, hi])) => {
                        format!("{} req/s per pod (95%: {} to {})", num(c), num(lo), num(hi))
                    }
                    (Some(c), None) => format!("{} req/s per pod", num(c)),
                    _ => "-".into(),
                },
            ]),
            row(&["cost over the span", &usd(a.cost.baseline_total)]),
            row(&[
                "of which off-peak",
                &format!(
                    "{} ({})",
                    usd(a.cost.baseline_off_peak),
                    a.cost.off_peak_share.map_or("-".into(), pct)
                ),
            ]),
            row(&[
                "excess node-hours off-peak",
                &opt(a.waste.off_peak_node_hours),
            ]),
            row(&[
                "excess cost",
                &format!(
                    "{} ({} off-peak)",
                    usd(a.waste.usd),
                    usd(a.waste.off_peak_usd)
                ),
            ]),
        ],
    ));

    let mut charts = charts(a).into_iter();
    let mut chart = |d: &mut Document| {
        if let Some((c, caption)) = charts.next() {
            d.push(Block::Chart(Box::new(c), caption));
        }
    };

    d.push(Block::Heading(1, "Traffic".into()));
    chart(&mut d);
    chart(&mut d);
    d.push(Block::Paragraph(format!(
        "Off-peak hours ({} of 168): {}.",
        t.off_peak_hours.len(),
        if t.off_peak_ranges.is_empty() {
            "none".into()
        } else {
            t.off_peak_ranges.join(", ")
        }
    )));
    let mut facts = Vec::new();
    if let Some(w) = &t.weekday_weekend {
        facts.push(format!(
            "Weekdays average {} req/s, weekends {} req/s ({:.2}x).",
            num(w.weekday_mean_rps),
            num(w.weekend_mean_rps),
            w.weekend_ratio
        ));
    }
    if let Some(f) = &t.forecastability {
        facts.push(format!(
            "The same hour of the previous day predicts each hour within {} on average (score {:.2} over {} hours): {}.",
            pct(f.mape),
            f.score,
            f.hours,
            if f.score >= 0.8 {
                "the pattern repeats, scheduled scaling can follow it"
            } else {
                "the pattern is irregular, scale on load rather than on a schedule"
            }
        ));
    }
    facts.push(format!(
        "{} burst{} ({:.1} a day) rose more than 30% above the recent baseline within five minutes{}.",
        t.bursts.count,
        if t.bursts.count == 1 { "" } else { "s" },
        t.bursts.per_day,
        t.bursts
            .median_ratio
            .map_or(String::new(), |r| format!("; median size {r:.2}x"))
    ));
    d.push(Block::List(facts));
    if !t.daily.is_empty() {
        d.push(Block::Table(
            row(&["day", "peak req/s (15 min)", "at", "trough req/s", "at"]),
            t.daily
                .iter()
                .map(|x| {
                    vec![
                        x.date.clone(),
                        num(x.peak_rps),
                        x.peak_at.clone(),
                        num(x.trough_rps),
                        x.trough_at.clone(),
                    ]
                })
                .collect(),
        ));
    }
    if !t.peak_windows.is_empty() {
        d.push(Block::Paragraph(format!(
            "Peak windows (15-minute mean above 80% of the weekly peak): {}.",
            t.peak_windows
                .iter()
                .take(10)
                .map(|w| format!(
                    "{} for {} min at {} req/s",
                    w.start,
                    w.minutes,
                    num(w.mean_rps)
                ))
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }

    d.push(Block::Heading(1, "Pods".into()));
    chart(&mut d);
    chart(&mut d);
    let p = &a.pods;
    d.push(Block::Table(
        row(&["figure", "mean", "median", "p95", "max"]),
        [
            ("req/s per ready pod", &p.rps_per_pod),
            (
                "requests in flight per pod (Little's law)",
                &p.concurrency_per_pod,
            ),
        ]
        .into_iter()
        .map(|(label, d)| {
            vec![
                label.into(),
                num(d.mean),
                num(d.p50),
                num(d.p95),
                num(d.max),
            ]
        })
        .collect(),
    ));
    let mut facts = vec![format!(
        "{} distinct pods; {} serving stretches, {} starts ({:.1} a day), {} stops; median lifetime {} minutes.",
        p.distinct,
        p.churn.stretches,
        p.churn.starts,
        p.churn.starts_per_day,
        p.churn.stops,
        opt(p.churn.median_lifetime_minutes)
    )];
    facts.push(match (p.imbalance.median_cv, p.imbalance.median_max_over_mean) {
        (Some(cv), Some(m)) => format!(
            "Load spread over pods: median coefficient of variation {cv:.2} beyond sampling noise; the busiest pod takes {m:.2}x the mean in a typical minute{}.",
            if p.imbalance.hot_pods.is_empty() {
                String::new()
            } else {
                format!(
                    "; consistently hot: {}",
                    p.imbalance
                        .hot_pods
                        .iter()
                        .take(5)
                        .map(|h| format!("{} ({:.2}x)", h.pod, h.share_ratio))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ),
        _ => "Too few rows per pod-minute to judge how evenly load spreads.".into(),
    });
    facts.push(match p.cold_start.cold_p99_ratio {
        Some(r) if p.cold_start.cold_minutes > 0 => format!(
            "Cold start: {} pods started inside the span; they are slower for {} minute(s), p99 {:.2}x warm pods'.",
            p.cold_start.pods_observed, p.cold_start.cold_minutes, r
        ),
        _ => format!(
            "Cold start: {} pods started inside the span; no slow first minutes detected.",
            p.cold_start.pods_observed
        ),
    });
    d.push(Block::List(facts));

    d.push(Block::Heading(1, "Latency and errors".into()));
    chart(&mut d);
    let l = &a.latency;
    d.push(Block::Table(
        row(&["p50", "p90", "p99", "p99.9", "error rate"]),
        vec![vec![
            ms(l.p50_ms),
            ms(l.p90_ms),
            ms(l.p99_ms),
            ms(l.p999_ms),
            pct(l.error_rate),
        ]],
    ));
    d.push(Block::Paragraph(format!(
        "Status classes: {}.",
        l.status_shares
            .iter()
            .map(|(k, v)| format!("{k} {}", pct(*v)))
            .collect::<Vec<_>>()
            .join(", ")
    )));
    let violating: Vec<Vec<String>> = l
        .per_5m
        .iter()
        .filter(|w| w.p99.is_some_and(|p| p > a.slo_p99_ms))
        .take(12)
        .map(|w| {
            vec![
                w.start.clone(),
                w.n.to_string(),
                ms(w.p99),
                w.p99_interval
                    .map_or("-".into(), |[lo, hi]| format!("{} to {}", num(lo), num(hi))),
                if w.p99_low_sample {
                    "few rows".into()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    if !violating.is_empty() {
        d.push(Block::Paragraph("Windows above the SLO (first 12):".into()));
        d.push(Block::Table(
            row(&["window", "rows", "p99", "95% interval", ""]),
            violating,
        ));
    }
    if !l.error_rate_by_pod.is_empty() {
        d.push(Block::Table(
            row(&["pod (worst error rate first)", "rows", "error rate"]),
            l.error_rate_by_pod
                .iter()
                .take(5)
                .map(|e| vec![e.pod.clone(), e.rows.to_string(), pct(e.error_rate)])
                .collect(),
        ));
    }

    d.push(Block::Heading(1, "Capacity".into()));
    chart(&mut d);
    let c = &a.capacity;
    d.push(Block::Table(
        row(&["figure", "value"]),
        vec![
            row(&["requests per pod at the SLO", &opt(c.rps_per_pod_at_slo)]),
            row(&[
                "95% interval",
                &c.interval
                    .map_or("-".into(), |[lo, hi]| format!("{} to {}", num(lo), num(hi))),
            ]),
            row(&["knee observed", if c.knee_observed { "yes" } else { "no" }]),
            row(&[
                "highest rate that met the SLO",
                &opt(c.demonstrated_rps_per_pod),
            ]),
            row(&["busiest load seen", &num(c.max_observed_rps_per_pod)]),
            row(&[
                "servers per pod",
                &format!(
                    "{}{}",
                    c.servers_per_pod.map_or("-".into(), |s| s.to_string()),
                    if c.servers_given {
                        " (given)"
                    } else {
                        " (fitted)"
                    }
                ),
            ]),
            row(&["mean service time", &ms(c.service_time_mean_ms)]),
            row(&[
                "saturation",
                &format!("{} req/s per pod", opt(c.saturation_rps_per_pod)),
            ]),
            row(&["fit residual (RMS, log)", &opt(c.residual_rms_log)]),
        ],
    ));
    if !c.notes.is_empty() {
        d.push(Block::List(c.notes.clone()));
    }
    if let Some(cpu) = &a.cpu {
        d.push(Block::Heading(2, "CPU per request".into()));
        d.push(Block::Paragraph(format!(
            "Today's HPA holds {} CPU of a {}-core request at {} req/s per pod (spread {}, {} steady minutes). CPU per request {} core-seconds, idle CPU {} cores{}; R² {}. {}",
            pct(cpu.target_utilization),
            num(cpu.cpu_request_cores),
            num(cpu.rps_per_pod_at_target),
            pct(cpu.rps_per_pod_at_target_spread),
            cpu.steady_minutes,
            num(cpu.cpu_per_request_core_s),
            num(cpu.idle_cpu_cores),
            if cpu.separated { "" } else { " (not separable: idle taken as 0)" },
            opt(cpu.r_squared),
            cpu.note
        )));
    }

    d.push(Block::Heading(1, "Cost and waste".into()));
    if let Some(h) = &a.hpa {
        d.push(Block::Paragraph(format!(
            "Today's HPA {}: {}.",
            h.name, h.summary
        )));
    }
    if let Some(m) = &a.cost.node_model {
        d.push(Block::Paragraph(format!(
            "{} pods ({} cores, {:.0} MiB requested) on node group {} of {}: {} per node, ${}/h, at least {} node(s).",
            m.workload,
            num(m.pod_cpu_request_cores),
            m.pod_memory_request_bytes / 1_048_576.0,
            m.node_group,
            m.instance_type,
            m.pods_per_node,
            m.usd_per_node_hour,
            m.min_nodes
        )));
    }
    let w = &a.waste;
    d.push(Block::Table(
        row(&["", "total", "peak", "off-peak"]),
        vec![
            vec![
                "cost over the span".into(),
                usd(a.cost.baseline_total),
                usd(a.cost.baseline_peak),
                usd(a.cost.baseline_off_peak),
            ],
            vec![
                "excess node-hours".into(),
                opt(w.node_hours),
                opt(w.peak_node_hours),
                opt(w.off_peak_node_hours),
            ],
            vec![
                "excess cost".into(),
                usd(w.usd),
                usd(w.peak_usd),
                usd(w.off_peak_usd),
            ],
            vec![
                "ready over needed pods".into(),
                "-".into(),
                opt(w.peak_overprovision_ratio),
                opt(w.off_peak_overprovision_ratio),
            ],
        ],
    ));
    if a.cost.baseline_per_week.is_some() {
        d.push(Block::Paragraph(format!(
            "Scaled to a 7-day week: {}; {} node-hours over the span.",
            usd(a.cost.baseline_per_week),
            opt(a.cost.node_hours)
        )));
    }
    for note in &a.cost.notes {
        d.push(Block::Paragraph(note.clone()));
    }
    // Every chart made it into the document.
    debug_assert!(charts.next().is_none());
    d.push(Block::Paragraph(format!(
        "Hour-of-week index 0 is {} in {}; analysis.json holds every figure (docs/formats.md).",
        how_label(0),
        a.time_zone
    )));
    d
}
