//! The peak replay's report (`loadtest-report.json`, `.md`, `.html`): the recorded peak sent
//! to the emulated cluster once per configuration, with rate, replicas and measured p99 per
//! emulated minute beside the simulator's prediction for the same traffic, and the verdict.

use serde::Serialize;

use super::doc::{Block, Document};
use super::svg::{Chart, Mark, RefLine, Series};

/// Version of `loadtest-report.json` (docs/formats.md).
pub const REPLAY_SCHEMA_VERSION: u32 = 1;

/// Relative error within which a measured minute counts as agreeing with the prediction.
pub const AGREEMENT_TOLERANCE: f64 = 0.2;

/// Requests a minute needs before its measured p99 is compared with the prediction.
pub const AGREEMENT_MIN_REQUESTS: u64 = 500;

const BLUE: &str = "#1f77b4";
const ORANGE: &str = "#ff7f0e";
const RED: &str = "#c62828";
const GREY: &str = "#7f7f7f";
const LIGHT_BLUE: &str = "#9ecae1";
const LIGHT_ORANGE: &str = "#fdae6b";

/// One emulated minute of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayMinute {
    /// Emulated minutes since the window's start.
    pub minute: usize,
    /// The profile's mean rate, requests per second.
    pub target_rps: f64,
    /// Requests whose answer (or failure) came in the minute.
    pub requests: u64,
    /// Of which failed (no answer) or answered 5xx.
    pub failed: u64,
    /// p99 from the intended send times, failures counted as slowest (null: more than 1%
    /// failed, or no request).
    pub measured_p99_ms: Option<f64>,
    /// The simulator's p99 for the minute (null without requests).
    pub predicted_p99_ms: Option<f64>,
    /// Mean ready pods the testbed had.
    pub ready: f64,
    /// The most replicas the autoscaler asked for.
    pub desired: u32,
    /// The most nodes.
    pub nodes: u32,
    /// The simulator's mean ready pods.
    pub predicted_ready: f64,
}

/// How the measured minutes compare with the prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    /// Minutes with enough requests on both sides ([`AGREEMENT_MIN_REQUESTS`]).
    pub minutes: usize,
    /// Median of |measured - predicted| / predicted over them.
    pub median_relative_error: Option<f64>,
    /// The largest.
    pub max_relative_error: Option<f64>,
    /// Share of them within [`AGREEMENT_TOLERANCE`].
    pub share_within_tolerance: Option<f64>,
}

impl Agreement {
    /// The agreement of `minutes`.
    pub fn of(minutes: &[ReplayMinute]) -> Agreement {
        let mut errors: Vec<f64> = minutes
            .iter()
            .filter(|m| m.requests >= AGREEMENT_MIN_REQUESTS)
            .filter_map(|m| match (m.measured_p99_ms, m.predicted_p99_ms) {
                (Some(a), Some(b)) if b > 0.0 => Some((a - b).abs() / b),
                _ => None,
            })
            .collect();
        errors.sort_by(f64::total_cmp);
        let n = errors.len();
        Agreement {
            minutes: n,
            median_relative_error: (n > 0).then(|| errors[n / 2]),
            max_relative_error: errors.last().copied(),
            share_within_tolerance: (n > 0).then(|| {
                errors.iter().filter(|e| **e <= AGREEMENT_TOLERANCE).count() as f64 / n as f64
            }),
        }
    }
}

/// One configuration's replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayRun {
    /// `today` or `proposal`.
    pub name: String,
    /// The configuration in words.
    pub configuration: String,
    /// Replicas at the window's start (the simulator's week replay there).
    pub initial_replicas: u32,
    /// Whether every emulated minute's measured p99 met the SLO.
    pub holds_slo: bool,
    /// Minutes whose measured p99 broke it (or lost more than 1% of requests).
    pub minutes_over_slo: usize,
    /// The worst measured minute, ms (null when one failed outright).
    pub worst_measured_p99_ms: Option<f64>,
    /// The simulator's worst minute, ms.
    pub worst_predicted_p99_ms: Option<f64>,
    /// The p99 of the whole run, failures counted as slowest.
    pub measured_p99_ms: Option<f64>,
    /// Requests sent, and failed or answered 5xx.
    pub requests: u64,
    /// See `requests`.
    pub failed: u64,
    /// Whether the load generator kept up (it is the instrument: if not, the run says so).
    pub generator_limited: bool,
    /// The largest lateness of a send, p99, ms.
    pub lag_p99_ms: f64,
    /// Measured against predicted.
    pub agreement: Agreement,
    /// Per emulated minute.
    pub minutes: Vec<ReplayMinute>,
    /// What the emulation could not model, and its assumptions.
    pub notes: Vec<String>,
}

/// The replay of a recorded window against the emulated cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayReport {
    /// [`REPLAY_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The p99 objective, ms.
    pub slo_p99_ms: f64,
    /// The window in words.
    pub window: String,
    /// RFC 3339 of the window's first recorded minute.
    pub window_start: String,
    /// Emulated seconds per real second.
    pub time_scale: u32,
    /// The factor on every rate.
    pub scale: f64,
    /// Real seconds each run took.
    pub real_seconds: f64,
    /// The runs, today first.
    pub runs: Vec<ReplayRun>,
    /// The conclusion in one sentence.
    pub verdict: String,
}

impl ReplayReport {
    /// The sentence that concludes the report.
    pub fn conclude(runs: &[ReplayRun], slo_p99_ms: f64) -> String {
        let say = |r: &ReplayRun| {
            if r.holds_slo {
                format!(
                    "{} held the SLO (p99 <= {slo_p99_ms} ms) in every minute, worst {} ms",
                    r.name,
                    ms(r.worst_measured_p99_ms)
                )
            } else {
                format!(
                    "{} broke the SLO in {} of {} minutes (worst {})",
                    r.name,
                    r.minutes_over_slo,
                    r.minutes.len(),
                    r.worst_measured_p99_ms
                        .map_or("requests failed".to_string(), |v| format!("{v:.1} ms"))
                )
            }
        };
        let mut parts: Vec<String> = runs.iter().map(say).collect();
        if runs.iter().any(|r| r.generator_limited) {
            parts.push(
                "the load generator fell behind, so the measurements understate the load".into(),
            );
        }
        let mut s = parts.join("; ");
        s.push('.');
        s
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.0}%", v * 100.0))
}

fn minute_series(
    name: String,
    color: &'static str,
    mark: Mark,
    minutes: &[ReplayMinute],
    value: impl Fn(&ReplayMinute) -> Option<f64>,
) -> Series {
    Series {
        name,
        color,
        mark,
        points: minutes
            .iter()
            .map(|m| (m.minute as f64, value(m)))
            .collect(),
    }
}

/// The report as a document.
pub fn document(r: &ReplayReport) -> Document {
    let mut d = Document::new("Peak replay against the emulated cluster");
    d.push(Block::Paragraph(r.verdict.clone()));
    d.push(Block::Paragraph(format!(
        "{}. Sent by rightsize's load generator (open model, latency from the intended send time) to `rightsize testbed`, whose autoscaler, pod start-up and node provisioning ran {}x faster than real time while request latency stayed real: each real second carried {} recorded seconds at their mean rate{}. Window starts {}.",
        r.window,
        r.time_scale,
        r.time_scale,
        if r.scale != 1.0 {
            format!(", every rate x{}", r.scale)
        } else {
            String::new()
        },
        r.window_start
    )));
    let rows = r
        .runs
        .iter()
        .map(|run| {
            vec![
                run.name.clone(),
                run.configuration.clone(),
                if run.holds_slo { "holds" } else { "breaks" }.to_string(),
                format!("{} / {}", run.minutes_over_slo, run.minutes.len()),
                ms(run.worst_measured_p99_ms),
                ms(run.worst_predicted_p99_ms),
                format!(
                    "{} of {} minutes, median {}",
                    pct(run.agreement.share_within_tolerance),
                    run.agreement.minutes,
                    pct(run.agreement.median_relative_error)
                ),
                format!("{} / {}", run.failed, run.requests),
            ]
        })
        .collect();
    d.push(Block::Table(
        vec![
            "run".into(),
            "configuration".into(),
            "SLO".into(),
            "minutes over".into(),
            "worst p99 measured, ms".into(),
            "worst p99 predicted, ms".into(),
            format!(
                "measured within {:.0}% of predicted",
                AGREEMENT_TOLERANCE * 100.0
            ),
            "failed / sent".into(),
        ],
        rows,
    ));

    let x_label = format!("emulated minute (x{} real time)", r.time_scale);
    let slo = RefLine {
        at: r.slo_p99_ms,
        label: format!("SLO {} ms", r.slo_p99_ms),
        color: RED,
    };
    let colors = [(BLUE, LIGHT_BLUE), (ORANGE, LIGHT_ORANGE)];
    let mut p99 = Vec::new();
    let mut pods = Vec::new();
    for (run, (strong, light)) in r.runs.iter().zip(colors.iter().cycle()) {
        p99.push(minute_series(
            format!("{} measured", run.name),
            strong,
            Mark::Line,
            &run.minutes,
            |m| m.measured_p99_ms,
        ));
        p99.push(minute_series(
            format!("{} predicted", run.name),
            light,
            Mark::Dots,
            &run.minutes,
            |m| m.predicted_p99_ms,
        ));
        pods.push(minute_series(
            format!("{} ready", run.name),
            strong,
            Mark::Step,
            &run.minutes,
            |m| Some(m.ready),
        ));
        pods.push(minute_series(
            format!("{} desired", run.name),
            light,
            Mark::Step,
            &run.minutes,
            |m| Some(f64::from(m.desired)),
        ));
    }
    let worst = r
        .runs
        .iter()
        .flat_map(|run| run.minutes.iter())
        .filter_map(|m| {
            m.measured_p99_ms
                .into_iter()
                .chain(m.predicted_p99_ms)
                .reduce(f64::max)
        })
        .fold(r.slo_p99_ms, f64::max);
    d.push(Block::Chart(
        Box::new(Chart {
            title: "p99 per emulated minute".into(),
            x_label: x_label.clone(),
            y_label: "ms".into(),
            y_max: Some((worst * 1.1).min(r.slo_p99_ms * 5.0)),
            series: p99,
            h_lines: vec![slo],
            ..Chart::default()
        }),
        "Measured (lines; a gap: more than 1% of the minute's requests failed) and the simulator's prediction for the same traffic and configuration (dots); values above five times the SLO are clipped.".into(),
    ));
    d.push(Block::Chart(
        Box::new(Chart {
            title: "Replicas".into(),
            x_label: x_label.clone(),
            y_label: "pods".into(),
            series: pods,
            ..Chart::default()
        }),
        "Ready pods (mean over the minute) and the replicas the autoscaler asked for (most in the minute).".into(),
    ));
    if let Some(first) = r.runs.first() {
        d.push(Block::Chart(
            Box::new(Chart {
                title: "Request rate".into(),
                x_label,
                y_label: "requests per second".into(),
                series: vec![minute_series(
                    "profile".into(),
                    GREY,
                    Mark::Step,
                    &first.minutes,
                    |m| Some(m.target_rps),
                )],
                ..Chart::default()
            }),
            "The recorded rate of each minute, as sent to every run.".into(),
        ));
    }
    for run in &r.runs {
        d.push(Block::Heading(
            2,
            format!("{}: {}", run.name, run.configuration),
        ));
        let mut facts = vec![
            format!(
                "Starts at {} replicas (the simulator's replay of the week at the window's start).",
                run.initial_replicas
            ),
            format!(
                "{} requests, {} failed or answered 5xx; whole-run p99 {} ms (failures counted as slowest).",
                run.requests,
                run.failed,
                ms(run.measured_p99_ms)
            ),
            format!(
                "Load generator: send lateness p99 {:.2} ms{}.",
                run.lag_p99_ms,
                if run.generator_limited {
                    "; it fell behind (generator-limited)"
                } else {
                    ""
                }
            ),
        ];
        facts.extend(run.notes.iter().cloned());
        d.push(Block::List(facts));
        d.push(Block::Table(
            vec![
                "minute".into(),
                "req/s".into(),
                "requests".into(),
                "failed".into(),
                "p99 measured".into(),
                "p99 predicted".into(),
                "ready".into(),
                "predicted ready".into(),
                "desired".into(),
                "nodes".into(),
            ],
            run.minutes
                .iter()
                .map(|m| {
                    vec![
                        m.minute.to_string(),
                        format!("{:.0}", m.target_rps),
                        m.requests.to_string(),
                        m.failed.to_string(),
                        ms(m.measured_p99_ms),
                        ms(m.predicted_p99_ms),
                        format!("{:.1}", m.ready),
                        format!("{:.1}", m.predicted_ready),
                        m.desired.to_string(),
                        m.nodes.to_string(),
                    ]
                })
                .collect(),
        ));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minute(i: usize, measured: Option<f64>, predicted: Option<f64>) -> ReplayMinute {
        ReplayMinute {
            minute: i,
            target_rps: 100.0,
            requests: 1000,
            failed: 0,
            measured_p99_ms: measured,
            predicted_p99_ms: predicted,
            ready: 2.0,
            desired: 2,
            nodes: 1,
            predicted_ready: 2.0,
        }
    }

    #[test]
    fn agreement_counts_minutes_within_the_tolerance() {
        let ms = [
            minute(0, Some(50.0), Some(50.0)),
            minute(1, Some(55.0), Some(50.0)),
            minute(2, Some(70.0), Some(50.0)),
            minute(3, None, Some(50.0)),
            ReplayMinute {
                requests: 10,
                ..minute(4, Some(500.0), Some(50.0))
            },
        ];
        let a = Agreement::of(&ms);
        assert_eq!(a.minutes, 3);
        assert_eq!(a.share_within_tolerance, Some(2.0 / 3.0));
        assert!((a.max_relative_error.expect("max") - 0.4).abs() < 1e-12);
        assert!((a.median_relative_error.expect("median") - 0.1).abs() < 1e-12);
    }

    #[test]
    fn the_document_has_the_verdict_the_charts_and_a_table_per_run() {
        let run = ReplayRun {
            name: "today".into(),
            configuration: "HPA".into(),
            initial_replicas: 2,
            holds_slo: false,
            minutes_over_slo: 1,
            worst_measured_p99_ms: Some(150.0),
            worst_predicted_p99_ms: Some(140.0),
            measured_p99_ms: Some(90.0),
            requests: 2000,
            failed: 0,
            generator_limited: false,
            lag_p99_ms: 0.1,
            agreement: Agreement::of(&[]),
            minutes: vec![
                minute(0, Some(50.0), Some(50.0)),
                minute(1, Some(150.0), Some(140.0)),
            ],
            notes: vec![],
        };
        let runs = vec![run];
        let r = ReplayReport {
            schema_version: REPLAY_SCHEMA_VERSION,
            slo_p99_ms: 100.0,
            window: "the peak".into(),
            window_start: "2026-01-01T00:00:00Z".into(),
            time_scale: 10,
            scale: 1.0,
            real_seconds: 12.0,
            verdict: ReplayReport::conclude(&runs, 100.0),
            runs,
        };
        assert!(
            r.verdict.contains("today broke the SLO in 1 of 2 minutes"),
            "{}",
            r.verdict
        );
        let d = document(&r);
        assert_eq!(d.charts(), 3);
        let md = d.markdown("loadtest-report.html");
        assert!(
            md.contains("| 1 | 100 | 1000 | 0 | 150.0 | 140.0 |"),
            "{md}"
        );
        let html = d.html();
        assert!(html.contains("SLO 100 ms"));
    }
}
