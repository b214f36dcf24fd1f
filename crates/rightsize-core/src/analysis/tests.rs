//! The analysis against worlds whose truth is known: telemetry generated from a queue of known
//! servers and service time, a known HPA, known off-peak hours; full and 1%-sampled.

use super::*;
use crate::cluster::nodes::Catalogue;
use crate::queueing::{PodQueue, ServiceTime};
use crate::telemetry::Telemetry;
use crate::telemetry::generate::{GenerateConfig, LatencyModel, SERVICE_SIGMA};
use crate::testworld::{HPA_YAML, hpa_week, telemetry_of};

/// The generator's queue: the truth the capacity model must recover.
fn true_capacity(cfg: &GenerateConfig, slo_ms: f64) -> f64 {
    let LatencyModel::Queue { servers_per_pod } = cfg.latency_model else {
        panic!("a queue world")
    };
    PodQueue {
        servers: servers_per_pod,
        service: ServiceTime::lognormal(cfg.base_latency_ms, SERVICE_SIGMA),
    }
    .max_rps_within(slo_ms, 0.99)
}

fn analysis_cfg(slo: f64) -> AnalysisConfig {
    AnalysisConfig {
        slo_p99_ms: slo,
        ..AnalysisConfig::default()
    }
}

/// The analysis of telemetry alone: no manifests, the built-in prices.
fn analyze_without_config(t: &Telemetry, slo: f64) -> Analysis {
    analyze(
        t,
        &ClusterConfig::new(),
        &Catalogue::built_in(),
        &analysis_cfg(slo),
    )
    .expect("analyses")
}

fn within(estimate: f64, truth: f64, tolerance: f64) -> bool {
    (estimate - truth).abs() <= tolerance * truth
}

#[test]
fn full_telemetry_recovers_the_knee() {
    // Two pods of two servers, 150 ms median service: a pod saturates near 12.5 req/s, and the
    // daily peak loads each pod to 10 req/s (ρ ≈ 0.8). Every request is in the telemetry.
    let cfg = GenerateConfig {
        duration_s: 86_400,
        peak_rps: 20.0,
        pods: 2,
        base_latency_ms: 150.0,
        sample_rate: 1.0,
        latency_model: LatencyModel::Queue { servers_per_pod: 2 },
        seed: 11,
        ..GenerateConfig::default()
    };
    let t = telemetry_of(&cfg);
    let slo = 700.0;
    let truth = true_capacity(&cfg, slo);
    let a = analyze_without_config(&t, slo);
    let c = &a.capacity;
    let est = c.rps_per_pod_at_slo.expect("a fit");
    assert!(c.knee_observed, "{:?}", c.notes);
    assert!(
        within(est, truth, 0.15),
        "estimate {est} vs truth {truth}: {:?}",
        c.notes
    );
    let [lo, hi] = c.interval.expect("interval");
    assert!(lo <= est && est <= hi && hi / lo < 1.6, "{lo}..{hi}");
    assert_eq!(c.servers_per_pod, Some(2), "{:?}", c.notes);
    assert_eq!(a.pods.max_ready, 2);
    assert_eq!(a.span.minutes, 1440);
}

#[test]
fn a_sampled_hpa_week_matches_its_truth() {
    let cfg = hpa_week(0.01);
    let t = telemetry_of(&cfg);
    let mut config = ClusterConfig::new();
    config.read(HPA_YAML, "world.yaml").expect("config");
    let slo = 600.0;
    let a = analyze(&t, &config, &Catalogue::built_in(), &analysis_cfg(slo)).expect("analyses");

    // Capacity within 15% of the queue's truth.
    let truth = true_capacity(&cfg, slo);
    let est = a.capacity.rps_per_pod_at_slo.expect("a fit");
    assert!(
        within(est, truth, 0.15),
        "estimate {est} vs truth {truth}: {:?} {:?}",
        a.capacity.notes,
        a.capacity.bins
    );

    // Ready pods per minute match the plan (pods serving at the minute's midpoint).
    let plan = cfg.replica_plan();
    let offset = (t.cells[0].unix_minute * 60 - cfg.start_unix_s) as u64;
    let mut abs_err = 0.0;
    for (i, &r) in a.pods.ready_per_minute.iter().enumerate() {
        let mid = offset + i as u64 * 60 + 30;
        let truth = plan
            .iter()
            .filter(|l| l.ready_s <= mid && mid < l.deleted_s)
            .count() as f64;
        abs_err += (f64::from(r) - truth).abs();
    }
    let mae = abs_err / a.pods.ready_per_minute.len() as f64;
    assert!(mae < 0.25, "mean absolute error of ready pods {mae}");

    // Off-peak hours: the generator's hour-of-week means below half the busiest.
    let mut profile = vec![0.0; 168];
    for h in 0..168i64 {
        profile[h as usize] = (0..60)
            .map(|m| cfg.rate_at(cfg.start_unix_s + h * 3600 + m * 60))
            .sum::<f64>()
            / 60.0;
    }
    let busiest = profile.iter().fold(0.0f64, |a, b| a.max(*b));
    let expected: Vec<u8> = (0..168u8)
        .filter(|&h| profile[usize::from(h)] < 0.5 * busiest)
        .collect();
    let got = &a.traffic.off_peak_hours;
    let differ = expected.iter().filter(|h| !got.contains(h)).count()
        + got.iter().filter(|h| !expected.contains(h)).count();
    // Hours right at the threshold may fall either way under sampling noise.
    assert!(differ <= 4, "expected {expected:?}, got {got:?}");
    assert!(expected.len() > 50);

    // The CPU HPA's equilibrium: (0.75 × 1 − 0.1) / 0.05 = 13 req/s per pod.
    let cpu = a.cpu.as_ref().expect("a CPU fit");
    assert!(within(cpu.rps_per_pod_at_target, 13.0, 0.15), "{cpu:?}");
    // CPU per request (0.05 core-s) and idle CPU (0.1 cores) from the replica changes: the
    // tolerance band and the sampled rate blur them, so the check is loose.
    assert!(cpu.separated, "{cpu:?}");
    assert!(within(cpu.cpu_per_request_core_s, 0.05, 0.3), "{cpu:?}");
    assert!(cpu.idle_cpu_cores < 0.3, "{cpu:?}");

    // Cold pods: twice as slow for two minutes.
    let cold = &a.pods.cold_start;
    assert!(cold.pods_observed > 20, "{cold:?}");
    assert!((1..=3).contains(&cold.cold_minutes), "{cold:?}");
    assert!(
        cold.p50_ratio_by_minute[0].is_some_and(|r| r > 1.5),
        "{cold:?}"
    );

    // Cost: m5.xlarge holds 3 one-core pods; money over the week, off-peak a share of it.
    let total = a.cost.baseline_total.expect("priced");
    let off = a.cost.baseline_off_peak.expect("priced");
    assert!(total > 0.0 && off > 0.0 && off < total);
    assert_eq!(a.cost.node_model.as_ref().map(|m| m.pods_per_node), Some(3));
    assert!(a.waste.off_peak_node_hours.is_some());
    assert!(a.hpa.as_ref().is_some_and(|h| h.at_min_share > 0.05));
    assert!(!a.findings.is_empty());
}

#[test]
fn an_unsaturated_week_reports_a_wide_interval() {
    // Forty pods for the load of a few: per-pod load never passes ρ ≈ 0.2.
    let cfg = GenerateConfig {
        duration_s: 86_400,
        peak_rps: 1_000.0,
        pods: 40,
        base_latency_ms: 20.0,
        sample_rate: 0.02,
        latency_model: LatencyModel::Queue { servers_per_pod: 4 },
        seed: 3,
        ..GenerateConfig::default()
    };
    let t = telemetry_of(&cfg);
    let slo = 120.0;
    let truth = true_capacity(&cfg, slo);
    let a = analyze_without_config(&t, slo);
    let c = &a.capacity;
    assert!(!c.knee_observed, "{:?}", c.notes);
    let [lo, hi] = c.interval.expect("interval");
    assert!(hi / lo > 1.5, "a narrow interval {lo}..{hi} without a knee");
    let est = c.rps_per_pod_at_slo.expect("estimate");
    // The estimate is the conservative end: never above the truth by more than the tolerance.
    assert!(est <= truth * 1.15, "estimate {est} vs truth {truth}");
    assert!(
        est >= c.max_observed_rps_per_pod * 0.9,
        "{est} below what was demonstrated"
    );
    assert!(
        a.findings
            .iter()
            .any(|f| f.kind == "capacity" && f.text.contains("never loaded pods near saturation"))
    );
}
