//! The analysis stage: `analyze(&Telemetry, &ClusterConfig, &Catalogue, &AnalysisConfig)`
//! turns the ingested week into traffic patterns, pods, latency, a capacity model, cost and
//! waste, and a ranked list of findings that the recommender builds on.

pub mod capacity;
pub mod cost;
pub mod latency;
pub mod pass;
pub mod pods;
pub mod series;
pub mod traffic;

use serde::Serialize;

use crate::cluster::ClusterConfig;
use crate::cluster::nodes::Catalogue;
use crate::telemetry::Telemetry;

pub use capacity::Capacity;
pub use cost::{Cost, CpuFit, HpaBehaviour, NodeModel, Waste};
pub use latency::Latency;
pub use pods::Pods;
pub use series::Series;
pub use traffic::Traffic;

/// Version of `analysis.json` (docs/formats.md).
pub const ANALYSIS_SCHEMA_VERSION: u32 = 1;

/// Which hours are off-peak.
#[derive(Debug, Clone, PartialEq)]
pub enum OffPeakRule {
    /// Hours of the week whose mean rate is below this fraction of the busiest hour's.
    Threshold(f64),
    /// The same local clock window every day, minutes of the day `[start, end)`.
    DailyWindow {
        /// Start, minutes after midnight.
        start_minute: u32,
        /// End, minutes after midnight (before the start: the window crosses midnight).
        end_minute: u32,
    },
}

/// How to analyse.
#[derive(Debug, Clone)]
pub struct AnalysisConfig {
    /// The p99 latency objective, milliseconds.
    pub slo_p99_ms: f64,
    /// The zone of hour-of-week and clock ranges.
    pub tz: jiff::tz::TimeZone,
    /// The zone's name as the user gave it.
    pub tz_name: String,
    /// Which hours are off-peak.
    pub off_peak: OffPeakRule,
    /// Concurrent requests a pod serves, when known; fitted otherwise.
    pub pod_concurrency: Option<u32>,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            slo_p99_ms: 100.0,
            tz: jiff::tz::TimeZone::UTC,
            tz_name: "UTC".into(),
            off_peak: OffPeakRule::Threshold(0.5),
            pod_concurrency: None,
        }
    }
}

/// The recorded span.
#[derive(Debug, Clone, Serialize)]
pub struct Span {
    /// First minute, RFC 3339 UTC.
    pub start: String,
    /// One past the last minute.
    pub end: String,
    /// Minutes.
    pub minutes: usize,
    /// Days.
    pub days: f64,
    /// Rows read (raw).
    pub rows: u64,
    /// The fraction of requests the rows hold.
    pub sample_rate: f64,
}

/// One finding: what, how much it costs, and the evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Rank, 1 first.
    pub rank: usize,
    /// Short machine name (`off_peak_overprovisioning`, `slo_violations`, …).
    pub kind: &'static str,
    /// The finding in plain words.
    pub text: String,
    /// Dollars over the recorded span it concerns, if any.
    pub usd: Option<f64>,
    /// The figures behind it.
    pub evidence: String,
}

/// Everything the analysis found.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// Layout version.
    pub schema_version: u32,
    /// The SLO, milliseconds.
    pub slo_p99_ms: f64,
    /// The zone of hour-of-week indices.
    pub time_zone: String,
    /// The span.
    pub span: Span,
    /// Traffic patterns and off-peak hours.
    pub traffic: Traffic,
    /// Pods.
    pub pods: Pods,
    /// Latency and errors.
    pub latency: Latency,
    /// The capacity model.
    pub capacity: Capacity,
    /// CPU per request, when today's HPA scales on CPU.
    pub cpu: Option<CpuFit>,
    /// What today's HPA did.
    pub hpa: Option<HpaBehaviour>,
    /// Cost over the span.
    pub cost: Cost,
    /// Capacity beyond what the SLO needed.
    pub waste: Waste,
    /// The ranked findings.
    pub findings: Vec<Finding>,
    /// Things to know.
    pub warnings: Vec<String>,
}

/// Why there is nothing to analyse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    /// No rows.
    #[error("the telemetry holds no rows: nothing to analyse")]
    Empty,
    /// A bad setting.
    #[error("{0}")]
    Config(String),
}

/// Mean of values (0 when empty).
pub(crate) fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

pub(crate) fn finite_or_none(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// Analyses the telemetry against the configuration.
pub fn analyze(
    t: &Telemetry,
    config: &ClusterConfig,
    catalogue: &Catalogue,
    cfg: &AnalysisConfig,
) -> Result<Analysis, AnalysisError> {
    if !(cfg.slo_p99_ms > 0.0 && cfg.slo_p99_ms.is_finite()) {
        return Err(AnalysisError::Config(format!(
            "the SLO must be a positive number of milliseconds, found {}",
            cfg.slo_p99_ms
        )));
    }
    if let OffPeakRule::Threshold(f) = cfg.off_peak
        && !(f > 0.0 && f < 1.0)
    {
        return Err(AnalysisError::Config(format!(
            "--off-peak-threshold must be between 0 and 1, found {f}"
        )));
    }
    let s = Series::new(t, &cfg.tz).ok_or(AnalysisError::Empty)?;
    let mut warnings = Vec::new();
    let days = s.len() as f64 / 1440.0;
    if days < 6.5 {
        warnings.push(format!(
            "the telemetry spans {days:.1} days: the hour-of-week profile needs a full week, so hours not seen are null and weekday/weekend figures are partial"
        ));
    }
    let traffic = traffic::traffic(&s, &cfg.off_peak);
    // Pods' ages first (the capacity model leaves cold pods out), then one pass over the
    // pod-minutes on two threads, then what each part makes of it.
    let warmth = pods::warmth(t, &s);
    let warm = warmth.warm();
    let binning = capacity::binning(&s);
    let pass = pass::pass_all(t, &s, &warm, &binning);
    let latency = latency::latency(t, &pass, cfg.slo_p99_ms);
    let pods = pods::pods(t, &s, warmth, &pass.mean_latency_ns);
    let capacity = capacity::capacity(pass.bins, cfg.slo_p99_ms, cfg.pod_concurrency);
    let mut off_peak = [false; 168];
    for &h in &traffic.off_peak_hours {
        off_peak[usize::from(h)] = true;
    }
    let model = cost::node_model(config, catalogue);
    let (cost, waste) = cost::cost_and_waste(&s, &off_peak, capacity.rps_per_pod_at_slo, model);
    let hpa = config.hpas.first().map(|h| cost::hpa_behaviour(&s, h));
    let cpu = config.hpas.first().and_then(|h| {
        let request = cost::serving_workload(config)
            .map(|w| w.pod_cpu_request_cores())
            .unwrap_or(0.0);
        cost::cpu_fit(&s, h, request)
    });
    if config.hpas.first().and_then(cost::cpu_target).is_some() && cpu.is_none() {
        warnings.push("today's HPA scales on CPU, but too few steady minutes between its bounds (or no CPU request) to infer CPU per request".into());
    }
    let span = Span {
        start: s.time(0),
        end: series::rfc3339_minute(s.start_minute + s.len() as i64),
        minutes: s.len(),
        days,
        rows: t.rows,
        sample_rate: s.sample_rate,
    };
    let mut analysis = Analysis {
        schema_version: ANALYSIS_SCHEMA_VERSION,
        slo_p99_ms: cfg.slo_p99_ms,
        time_zone: cfg.tz_name.clone(),
        span,
        traffic,
        pods,
        latency,
        capacity,
        cpu,
        hpa,
        cost,
        waste,
        findings: Vec::new(),
        warnings,
    };
    analysis.findings = findings(&analysis, &off_peak);
    Ok(analysis)
}

fn money(usd: f64) -> String {
    if usd >= 100.0 {
        format!("${usd:.0}")
    } else {
        format!("${usd:.2}")
    }
}

/// Mean of an hour-of-week series over a set of hours (`None` values skipped).
fn mean_over(values: &[Option<f64>], hours: impl Iterator<Item = usize>) -> Option<f64> {
    let v: Vec<f64> = hours
        .filter_map(|h| values.get(h).copied().flatten())
        .collect();
    (!v.is_empty()).then(|| mean(&v))
}

fn findings(a: &Analysis, off_peak: &[bool; 168]) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let cap = a.capacity.rps_per_pod_at_slo;
    let off_hours = || (0..168).filter(|h| off_peak[*h]);
    let peak_hours = || (0..168).filter(|h| !off_peak[*h]);
    let nights = a.span.days.max(1.0 / 24.0);
    // Off-peak over-provisioning.
    if let (Some(ready), Some(rps), Some(need)) = (
        mean_over(&a.pods.hour_of_week_ready, off_hours()),
        mean_over(&a.traffic.hour_of_week_rps, off_hours()),
        mean_over(&a.waste.hour_of_week_needed_pods, off_hours()),
    ) && ready > need * 1.1
    {
        let usd = a.waste.off_peak_usd;
        out.push(Finding {
                rank: 0,
                kind: "off_peak_overprovisioning",
                text: format!(
                    "Off-peak ({}): {ready:.1} pods on average serve {rps:.0} req/s where {need:.1} would meet the SLO{}",
                    summarize_ranges(&a.traffic.off_peak_ranges),
                    usd.map_or(String::new(), |u| format!(
                        ": {} over the span, {} a day",
                        money(u),
                        money(u / nights)
                    ))
                ),
                usd,
                evidence: format!(
                    "capacity {:.1} req/s per pod at p99 <= {} ms; {:.1} excess node-hours off-peak",
                    cap.unwrap_or(0.0),
                    a.slo_p99_ms,
                    a.waste.off_peak_node_hours.unwrap_or(0.0)
                ),
            });
    }
    // Peak over-provisioning.
    if let (Some(ready), Some(need)) = (
        mean_over(&a.pods.hour_of_week_ready, peak_hours()),
        mean_over(&a.waste.hour_of_week_needed_pods, peak_hours()),
    ) && ready > need * 1.2
    {
        out.push(Finding {
            rank: 0,
            kind: "peak_overprovisioning",
            text: format!(
                "Peak hours: {ready:.1} pods on average where {need:.1} would meet the SLO{}",
                a.waste
                    .peak_usd
                    .map_or(String::new(), |u| format!(": {} over the span", money(u)))
            ),
            usd: a.waste.peak_usd,
            evidence: format!(
                "mean ready over needed pods {:.2} at peak",
                a.waste.peak_overprovision_ratio.unwrap_or(0.0)
            ),
        });
    }
    // Today's HPA.
    if let Some(h) = &a.hpa {
        if h.at_min_share > 0.3 {
            out.push(Finding {
                rank: 0,
                kind: "hpa_at_floor",
                text: format!(
                    "Today's HPA {} sat {}: its floor, not the load, sets the off-peak pod count",
                    h.name, h.summary
                ),
                usd: None,
                evidence: format!(
                    "{:.0}% of minutes with ready pods <= {}",
                    h.at_min_share * 100.0,
                    h.min_replicas
                ),
            });
        }
        if h.at_max_share > 0.01 {
            out.push(Finding {
                rank: 0,
                kind: "hpa_at_ceiling",
                text: format!(
                    "Today's HPA {} hit maxReplicas {} for {:.1}% of minutes: the peak may be capped",
                    h.name,
                    h.max_replicas,
                    h.at_max_share * 100.0
                ),
                usd: None,
                evidence: h.summary.clone(),
            });
        }
    }
    // Capacity.
    if let (Some(c), Some([lo, hi])) = (cap, a.capacity.interval) {
        let text = if a.capacity.knee_observed {
            format!(
                "A warm pod meets p99 <= {} ms up to {c:.0} req/s (95% interval {lo:.0}-{hi:.0}); the busiest minutes ran pods at {:.0} req/s",
                a.slo_p99_ms, a.capacity.max_observed_rps_per_pod
            )
        } else {
            format!(
                "The week never loaded pods near saturation (at most {:.0} req/s per pod): capacity at the SLO is between {lo:.0} and {hi:.0} req/s per pod; {c:.0} is assumed until a load test finds the knee",
                a.capacity.max_observed_rps_per_pod
            )
        };
        out.push(Finding {
            rank: 0,
            kind: "capacity",
            text,
            usd: None,
            evidence: a.capacity.notes.join("; "),
        });
    }
    // SLO violations.
    if a.latency.slo_violation_windows_5m > 0 {
        out.push(Finding {
            rank: 0,
            kind: "slo_violations",
            text: format!(
                "{} of {} five-minute windows broke p99 <= {} ms",
                a.latency.slo_violation_windows_5m, a.latency.windows_5m, a.slo_p99_ms
            ),
            usd: None,
            evidence: format!(
                "{} more windows above the SLO had too few rows to be sure",
                a.latency.uncertain_violation_windows_5m
            ),
        });
    }
    // Cold starts.
    if let Some(r) = a.pods.cold_start.cold_p99_ratio
        && a.pods.cold_start.cold_minutes > 0
        && r > 1.1
    {
        out.push(Finding {
                rank: 0,
                kind: "cold_start",
                text: format!(
                    "New pods are slow for their first {} minute(s): p99 {:.1}x that of warm pods in the same minutes; scale up ahead of the ramp",
                    a.pods.cold_start.cold_minutes, r
                ),
                usd: None,
                evidence: format!("{} pods started inside the span", a.pods.cold_start.pods_observed),
            });
    }
    // Bursts.
    if a.traffic.bursts.count > 0 {
        out.push(Finding {
            rank: 0,
            kind: "bursts",
            text: format!(
                "{} burst{} ({:.1} a day) rose more than 30% above the recent baseline within five minutes; the largest reached {:.1}x",
                a.traffic.bursts.count,
                if a.traffic.bursts.count == 1 { "" } else { "s" },
                a.traffic.bursts.per_day,
                a.traffic.bursts.largest.first().map_or(0.0, |b| b.ratio)
            ),
            usd: None,
            evidence: "baseline: the half hour ending five minutes before; above four standard deviations of sampling noise".into(),
        });
    }
    // Imbalance.
    if a.pods.imbalance.median_cv.is_some_and(|cv| cv > 0.15) {
        out.push(Finding {
            rank: 0,
            kind: "imbalance",
            text: format!(
                "Load spreads unevenly: the busiest pod takes {:.2}x the mean pod's requests in a typical minute",
                a.pods.imbalance.median_max_over_mean.unwrap_or(1.0)
            ),
            usd: None,
            evidence: format!(
                "median coefficient of variation {:.2} beyond sampling noise over {} minutes",
                a.pods.imbalance.median_cv.unwrap_or(0.0),
                a.pods.imbalance.minutes
            ),
        });
    }
    for note in &a.cost.notes {
        out.push(Finding {
            rank: 0,
            kind: "no_cost",
            text: format!("No dollar figures: {note}"),
            usd: None,
            evidence: String::new(),
        });
    }
    // Money first, then the order above.
    out.sort_by(|x, y| {
        y.usd
            .unwrap_or(-1.0)
            .partial_cmp(&x.usd.unwrap_or(-1.0))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for (i, f) in out.iter_mut().enumerate() {
        f.rank = i + 1;
    }
    out
}

/// "every day 22:00-07:00"-style summary of ranges when every day has the same one, else the
/// first ranges.
fn summarize_ranges(ranges: &[String]) -> String {
    if ranges.is_empty() {
        return "no hour".into();
    }
    let clocks: Vec<String> = ranges
        .iter()
        .map(|r| {
            let (a, b) = r.split_once('-').unwrap_or((r, r));
            format!(
                "{}-{}",
                a.split(' ').nth(1).unwrap_or(a),
                b.split(' ').nth(1).unwrap_or(b)
            )
        })
        .collect();
    if ranges.len() == 7 && clocks.iter().all(|c| *c == clocks[0]) {
        format!("every day {}", clocks[0])
    } else if ranges.len() <= 3 {
        ranges.join(", ")
    } else {
        format!(
            "{} and {} more ranges",
            ranges[..2].join(", "),
            ranges.len() - 2
        )
    }
}

#[cfg(test)]
mod tests;
