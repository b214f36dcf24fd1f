//! The simulator against a world whose controller is known: replaying today's HPA over the
//! generated week must reproduce the ready pods and the p99 the telemetry shows; and model
//! properties (more pods never raise p99 at equal load; more node-hours never cost less; the
//! same inputs give the same output).

use super::setup::{SetupOptions, fidelity, setup};
use super::*;
use crate::analysis::{AnalysisConfig, analyze};
use crate::cluster::ClusterConfig;
use crate::cluster::nodes::Catalogue;
use crate::queueing::{PodQueue, ServiceTime};
use crate::testworld::{HPA_YAML, hpa_week, telemetry_of};

fn world() -> (crate::analysis::Analysis, Demand, ClusterConfig) {
    let t = telemetry_of(&hpa_week(0.01));
    let mut config = ClusterConfig::new();
    config.read(HPA_YAML, "world.yaml").expect("config");
    let a = analyze(
        &t,
        &config,
        &Catalogue::built_in(),
        &AnalysisConfig {
            slo_p99_ms: 600.0,
            ..AnalysisConfig::default()
        },
    )
    .expect("analyses");
    (a, Demand::from_telemetry(&t).expect("demand"), config)
}

#[test]
fn the_baseline_replay_matches_the_recorded_week() {
    let (a, demand, config) = world();
    let s = setup(
        &a,
        Some(&demand),
        &config,
        &Catalogue::built_in(),
        &jiff::tz::TimeZone::UTC,
        &SetupOptions::default(),
    )
    .expect("setup");
    assert!(matches!(s.scaler, Scaler::Hpa(_)));
    let r = simulate(&demand, &s.service, &s.pool, &s.scaler, &s.config).expect("replays");
    let f = fidelity(&a, &r);
    eprintln!("baseline fidelity: {f:?} start-up {:?}", s.startup);
    let ready = f.ready_pods_mape.expect("hours");
    let p99 = f.p99_mape.expect("windows");
    assert!(ready < 0.10, "ready pods MAPE {ready}: {f:?} {:?}", s.notes);
    assert!(p99 < 0.15, "p99 MAPE {p99}: {f:?}");
    // The world's HPA keeps between 10 and 40 pods; the replay respects its bounds.
    assert!(r.summary.max_ready_pods <= 40 && r.summary.mean_ready_pods >= 10.0 * 0.9);
    assert!(r.summary.cost_total > r.summary.cost_off_peak && r.summary.cost_off_peak > 0.0);
    assert_eq!(r.series.hourly_ready_pods.len(), 168);
}

fn flat(rps: f64, seconds: usize) -> Demand {
    Demand {
        start_unix_s: 1_763_942_400,
        rps: vec![rps; seconds],
    }
}

fn service() -> ServiceModel {
    let queue = PodQueue {
        servers: 2,
        service: ServiceTime::lognormal(50.0, 0.35),
    };
    ServiceModel {
        latency: LatencyTable::new(&queue, 1_000.0),
        cpu_per_request_core_s: 0.02,
        idle_cpu_cores: 0.05,
        cpu_request_cores: 1.0,
        startup_s: 30.0,
        cold_s: 0.0,
        cold_factor: 1.0,
        load_spread_cv: 0.0,
    }
}

fn pool(provisioner: Provisioner) -> NodePool {
    NodePool {
        pods_per_node: 4,
        usd_per_node_hour: 0.2,
        min_nodes: 1,
        max_nodes: Some(50),
        provisioner,
    }
}

#[test]
fn more_pods_never_raise_p99_and_more_nodes_never_cost_less() {
    let d = flat(60.0, 3_600);
    let cfg = SimConfig::default();
    let mut last_p99 = f64::INFINITY;
    let mut last_cost = 0.0;
    for pods in [2u32, 3, 4, 6, 8, 12, 16] {
        let r = simulate(
            &d,
            &service(),
            &pool(Provisioner::Fixed),
            &Scaler::Fixed(pods),
            &cfg,
        )
        .expect("replays");
        let p99 = r.summary.worst_p99_ms;
        assert!(
            p99 <= last_p99 + 1e-9,
            "{pods} pods: p99 {p99} > {last_p99}"
        );
        last_p99 = p99;
        // Fixed pools hold min_nodes; give each count the nodes it needs.
        let nodes = pods.div_ceil(4);
        let p = NodePool {
            min_nodes: nodes,
            ..pool(Provisioner::Fixed)
        };
        let r = simulate(&d, &service(), &p, &Scaler::Fixed(pods), &cfg).expect("replays");
        assert!(r.summary.cost_total >= last_cost, "{pods} pods cost less");
        assert!((r.summary.node_hours - f64::from(nodes)).abs() < 1e-6);
        last_cost = r.summary.cost_total;
    }
    // Two pods at 30 req/s each of a 40 req/s pod: ρ = 0.75, a real queue; sixteen: idle.
    assert!(last_p99 < 200.0);
    // An uneven spread never lowers p99 at the same load.
    let even = simulate(
        &d,
        &service(),
        &pool(Provisioner::Fixed),
        &Scaler::Fixed(3),
        &cfg,
    )
    .expect("replays");
    let uneven = ServiceModel {
        load_spread_cv: 0.3,
        ..service()
    };
    let skewed = simulate(
        &d,
        &uneven,
        &pool(Provisioner::Fixed),
        &Scaler::Fixed(3),
        &cfg,
    )
    .expect("replays");
    assert!(skewed.summary.worst_p99_ms > even.summary.worst_p99_ms * 1.05);
    // Many configurations at once give what one at a time gives, in order, for any threads.
    let scalers: Vec<Scaler> = [2u32, 5, 9].iter().map(|&n| Scaler::Fixed(n)).collect();
    let one: Vec<String> = scalers
        .iter()
        .map(|sc| {
            let r = simulate(&d, &service(), &pool(Provisioner::Fixed), sc, &cfg).expect("replays");
            serde_json::to_string(&r).expect("json")
        })
        .collect();
    for threads in [1, 2, 8] {
        let all: Vec<String> = simulate_all(
            &d,
            &service(),
            &pool(Provisioner::Fixed),
            &scalers,
            &cfg,
            threads,
        )
        .into_iter()
        .map(|r| serde_json::to_string(&r.expect("replays")).expect("json"))
        .collect();
        assert_eq!(all, one, "{threads} threads");
    }
}

#[test]
fn a_cpu_hpa_follows_a_step_and_the_cluster_autoscaler_adds_then_removes_nodes() {
    let hpa = cpu_hpa(2, 30, 50);
    // Two hours: 20 req/s, then 200 req/s for an hour... then back.
    let mut d = flat(20.0, 3 * 3_600);
    for v in &mut d.rps[3_600..7_200] {
        *v = 200.0;
    }
    let cfg = SimConfig {
        initial_replicas: Some(2),
        ..SimConfig::default()
    };
    let run = || {
        simulate(
            &d,
            &service(),
            &pool(Provisioner::cluster_autoscaler(75.0)),
            &Scaler::Hpa(hpa.clone()),
            &cfg,
        )
        .expect("replays")
    };
    let r = run();
    // At 200 req/s a pod at 50% of a core serves (0.5 - 0.05) / 0.02 = 22.5 req/s: 9 pods.
    let peak = r.series.hourly_ready_pods[1];
    assert!((8.0..=11.0).contains(&peak), "peak hour mean {peak}");
    let nodes = &r.series.hourly_nodes;
    assert!(nodes[1] > nodes[0] + 1.0, "{nodes:?}");
    // After the load falls, pods go within minutes, nodes after 10 unneeded minutes.
    assert!(nodes[2] < nodes[1], "{nodes:?}");
    assert!(r.summary.scale_events >= 2);
    // Same inputs, same output.
    let again = run();
    assert_eq!(
        serde_json::to_string(&r).expect("json"),
        serde_json::to_string(&again).expect("json")
    );
}

/// An HPA on CPU utilisation for Deployment `reco`.
fn cpu_hpa(min: u32, max: u32, utilization: u32) -> Hpa {
    c_hpa(&format!(
        "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: reco}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: reco}}
  minReplicas: {min}
  maxReplicas: {max}
  metrics:
  - type: Resource
    resource: {{name: cpu, target: {{type: Utilization, averageUtilization: {utilization}}}}}
"
    ))
}

fn c_hpa(yaml: &str) -> Hpa {
    let mut c = ClusterConfig::new();
    c.read(yaml, "hpa.yaml").expect("valid");
    c.hpas.remove(0)
}

#[test]
fn a_keda_cron_floor_holds_replicas_in_its_window_and_karpenter_consolidates_after() {
    let yaml = "apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: reco}
spec:
  scaleTargetRef: {name: reco}
  minReplicaCount: 2
  maxReplicaCount: 40
  advanced:
    horizontalPodAutoscalerConfig:
      behavior:
        scaleDown: {stabilizationWindowSeconds: 60}
  triggers:
  - type: cron
    metadata: {timezone: UTC, start: '0 1 * * *', end: '0 2 * * *', desiredReplicas: '12'}
  - type: prometheus
    metadata: {serverAddress: 'http://prom:9090', query: 'sum(rate(http_requests_total[2m]))', threshold: '20'}
";
    let mut c = ClusterConfig::new();
    c.read(yaml, "so.yaml").expect("valid");
    let so = c.scaled_objects.remove(0);
    // Three hours from Monday 00:00 at a steady 30 req/s: 2 pods by load, 12 from 01:00 to
    // 02:00 by the cron floor.
    let d = flat(30.0, 3 * 3_600);
    let r = simulate(
        &d,
        &service(),
        &pool(Provisioner::Karpenter {
            provision_s: 50.0,
            consolidate_after_s: 60.0,
            underutilized: true,
            budget: Budget::DEFAULT,
            instance_types: Vec::new(),
        }),
        &Scaler::Keda(so),
        &SimConfig {
            initial_replicas: Some(2),
            ..SimConfig::default()
        },
    )
    .expect("replays");
    let ready = &r.series.hourly_ready_pods;
    assert!(ready[0] < 2.5, "{ready:?}");
    assert!(ready[1] > 10.0, "{ready:?}");
    assert!(ready[2] < 4.0, "{ready:?}");
    let nodes = &r.series.hourly_nodes;
    assert!(nodes[1] > 2.5 && nodes[2] < nodes[1], "{nodes:?}");
}

/// Ready nodes holding `pods` serving pods each.
fn world_of(pods_per_node: &[u32]) -> World {
    let mut w = World::new(Vec::new(), Vec::new());
    for (k, &n) in pods_per_node.iter().enumerate() {
        let shape = NodeShape {
            name: "test".into(),
            pods_per_node: 4,
            usd_per_node_hour: 0.2,
        };
        w.nodes.push(Node {
            pods: n,
            last_pod_event: 0.0,
            ..Node::of(&shape, f64::NEG_INFINITY)
        });
        for _ in 0..n {
            w.pods.push(Pod {
                id: 0,
                created: f64::NEG_INFINITY,
                node: Some(k),
                ready_at: f64::NEG_INFINITY,
                deleted_at: None,
            });
        }
    }
    w
}

fn alive(w: &World) -> Vec<u32> {
    w.nodes
        .iter()
        .filter(|n| !n.deleted)
        .map(|n| n.pods)
        .collect()
}

#[test]
fn cluster_autoscaler_scale_down_follows_its_rules() {
    /// Nodes' pods, min nodes, calls at these times, nodes left with their pods.
    type Case = (Vec<u32>, u32, Vec<f64>, Vec<u32>);
    let cases: Vec<Case> = vec![
        // Unneeded for 10 minutes: the empty node goes at 600 s, not at 599 s.
        (vec![4, 1, 0], 1, vec![0.0, 599.0], vec![4, 1, 0]),
        (vec![4, 1, 0], 1, vec![0.0, 600.0], vec![4, 1]),
        // Then the 1-pod node cannot go: its pod fits nowhere once the empty node is gone.
        (
            vec![4, 1, 0],
            1,
            vec![0.0, 600.0, 610.0, 1300.0],
            vec![4, 1],
        ),
        // At or above 50% of its slots a node is needed.
        (vec![2, 2, 2], 1, vec![0.0, 700.0], vec![2, 2, 2]),
        // Below 50% with room elsewhere: the empty node goes first, then the underused one is
        // drained and its pod starts again on the node with room.
        (vec![1, 2, 0], 1, vec![0.0, 600.0, 610.0, 1300.0], vec![3]),
        // Never below the group's minimum.
        (vec![0, 0, 0], 3, vec![0.0, 600.0], vec![0, 0, 0]),
        (vec![0, 0, 0, 0], 2, vec![0.0, 600.0], vec![0, 0]),
    ];
    for (i, (nodes, min, calls, left)) in cases.into_iter().enumerate() {
        let mut w = world_of(&nodes);
        for t in calls {
            let _ = scale_down_ca(&mut w, t, min, 600.0, 0.5);
            w.refresh(t, &service(), 30.0);
        }
        let mut got = alive(&w);
        got.sort_unstable();
        let mut want = left;
        want.sort_unstable();
        assert_eq!(got, want, "case {i}");
    }
}

#[test]
fn karpenter_consolidates_after_its_delay_within_its_budget() {
    // Ten empty nodes, consolidateAfter 60 s (plus the 15 s validation), budget 10%: one node
    // per pass, and none before 75 s after the last pod event.
    let mut w = world_of(&[0; 10]);
    assert!(!consolidate_karpenter(
        &mut w,
        74.0,
        0,
        60.0,
        false,
        Budget::Percent(10.0)
    ));
    assert_eq!(alive(&w).len(), 10);
    assert!(consolidate_karpenter(
        &mut w,
        75.0,
        0,
        60.0,
        false,
        Budget::Percent(10.0)
    ));
    assert_eq!(alive(&w).len(), 9);
    // WhenEmpty leaves an underused node alone; WhenEmptyOrUnderutilized moves its pod.
    let mut w = world_of(&[3, 1]);
    assert!(!consolidate_karpenter(
        &mut w,
        100.0,
        0,
        60.0,
        false,
        Budget::Percent(100.0)
    ));
    assert_eq!(alive(&w), vec![3, 1]);
    assert!(consolidate_karpenter(
        &mut w,
        100.0,
        0,
        60.0,
        true,
        Budget::Percent(100.0)
    ));
    assert_eq!(alive(&w), vec![3]);
    assert_eq!(w.pods.iter().filter(|p| p.node.is_none()).count(), 1);
}

#[test]
fn ring_and_prefix_means_match_the_plain_definition() {
    let ring: Vec<f64> = (0..7).map(|i| f64::from(i * i)).collect();
    for now in 0..30usize {
        for window in 1..10usize {
            // The last min(window, now + 1, len) values written at indices now, now - 1, …
            let n = window.min(now + 1).min(ring.len());
            let plain = (0..n)
                .map(|k| ring[(now + ring.len() * 2 - k) % ring.len()])
                .sum::<f64>()
                / n as f64;
            let got = ring_mean(&ring, now, window);
            assert!((got - plain).abs() < 1e-12, "now {now} window {window}");
            if now < ring.len() {
                let prefix: Vec<f64> = std::iter::once(0.0)
                    .chain(ring.iter().scan(0.0, |s, x| {
                        *s += x;
                        Some(*s)
                    }))
                    .collect();
                let n = window.min(now + 1);
                let plain = ring[now + 1 - n..=now].iter().sum::<f64>() / n as f64;
                let got = prefix_mean(&prefix, now, window);
                assert!((got - plain).abs() < 1e-12, "now {now} window {window}");
            }
        }
    }
}

#[test]
fn karpenter_launches_the_cheapest_type_that_fits_each_node_claim() {
    let shape = |name: &str, pods: u32, usd: f64| NodeShape {
        name: name.into(),
        pods_per_node: pods,
        usd_per_node_hour: usd,
    };
    let shapes = [
        shape("large", 4, 0.2),
        shape("2xlarge", 8, 0.3),
        shape("4xlarge", 16, 0.7),
    ];
    // Pending pods, most nodes, the types launched.
    let cases: &[(u32, u32, &[&str])] = &[
        (3, 10, &["large"]),
        (4, 10, &["large"]),
        (5, 10, &["2xlarge"]),
        (16, 10, &["4xlarge"]),
        // A claim takes as many pods as the largest type holds; the rest get the cheapest fit.
        (20, 10, &["4xlarge", "large"]),
        (40, 2, &["4xlarge", "4xlarge"]),
        (0, 10, &[]),
        (5, 0, &[]),
    ];
    for (pods, most, want) in cases {
        let got: Vec<&str> = karpenter_launch(&shapes, *pods, *most)
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(&got, want, "{pods} pods, at most {most} nodes");
    }
    // Equal prices: the smaller type.
    let tie = [shape("a", 8, 0.3), shape("b", 4, 0.3)];
    assert_eq!(karpenter_launch(&tie, 2, 5)[0].name, "b");
}

#[test]
fn disruption_budgets_take_the_tightest_always_active_one() {
    let b = |s: &[&str]| Budget::of_budgets(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>());
    assert_eq!(b(&[r#"{"nodes":"10%"}"#]), Some(Budget::Percent(10.0)));
    assert_eq!(b(&[r#"{"nodes":"3"}"#]), Some(Budget::Nodes(3)));
    assert_eq!(
        b(&[r#"{"nodes":"20%"}"#, r#"{"nodes":"5%"}"#]),
        Some(Budget::Percent(5.0))
    );
    // A scheduled budget (here: none during business hours) is not always active.
    assert_eq!(
        b(&[
            r#"{"nodes":"20%"}"#,
            r#"{"nodes":"0","schedule":"0 9 * * mon-fri","duration":"8h"}"#
        ]),
        Some(Budget::Percent(20.0))
    );
    assert_eq!(b(&[]), None);
    assert_eq!(Budget::Percent(10.0).allowed(25), 3);
    assert_eq!(Budget::Percent(10.0).allowed(0), 0);
    assert_eq!(Budget::Nodes(2).allowed(25), 2);
}

#[test]
fn karpenter_replays_launch_bigger_types_when_allowed() {
    // The same step in load on a pool of small nodes, then with a bigger type allowed:
    // Karpenter packs each claim as full as the largest type allows, so the peak runs on
    // fewer nodes. (It is not always cheaper: a claim for 5 pods buys the big type, which
    // Karpenter's replacement consolidation, not modelled, would later swap.)
    let mut demand = flat(20.0, 3 * 3600);
    for r in &mut demand.rps[3600..7200] {
        *r = 400.0;
    }
    let hpa = cpu_hpa(2, 40, 60);
    let karpenter = |types: Vec<NodeShape>| NodePool {
        pods_per_node: 4,
        usd_per_node_hour: 0.2,
        min_nodes: 1,
        max_nodes: None,
        provisioner: Provisioner::Karpenter {
            provision_s: 50.0,
            consolidate_after_s: 60.0,
            underutilized: true,
            budget: Budget::DEFAULT,
            instance_types: types,
        },
    };
    let small = NodeShape {
        name: "small".into(),
        pods_per_node: 4,
        usd_per_node_hour: 0.2,
    };
    let big = NodeShape {
        name: "big".into(),
        pods_per_node: 16,
        usd_per_node_hour: 0.6,
    };
    let cfg = SimConfig::default();
    let run = |pool: NodePool| {
        simulate(&demand, &service(), &pool, &Scaler::Hpa(hpa.clone()), &cfg).expect("replays")
    };
    let only_small = run(karpenter(vec![small.clone()]));
    let mixed = run(karpenter(vec![small, big]));
    assert!(
        only_small.summary.max_ready_pods >= 10,
        "{:?}",
        only_small.summary
    );
    // Both serve the same pods; the big type was bought (the costs differ).
    assert_eq!(
        mixed.summary.max_ready_pods,
        only_small.summary.max_ready_pods
    );
    assert!((mixed.summary.cost_total - only_small.summary.cost_total).abs() > 0.01);
    assert!(mixed.summary.max_nodes < only_small.summary.max_nodes);
}

#[test]
fn keda_fallback_takes_over_a_failing_trigger_after_its_threshold() {
    // A kafka trigger (not modelled: every read fails) beside a prometheus one. Without a
    // fallback the failure only blocks scale-down; with `fallback: {failureThreshold: 3,
    // replicas: 6}` the fourth failed sync (~60 s in) makes the HPA ask for 6 replicas.
    let so = |fallback: &str| {
        let yaml = format!(
            "apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {{name: reco}}
spec:
  scaleTargetRef: {{name: reco}}
  minReplicaCount: 2
  maxReplicaCount: 20
{fallback}
  triggers:
  - type: kafka
    metadata: {{bootstrapServers: 'kafka:9092', consumerGroup: reco, topic: requests, lagThreshold: '50'}}
  - type: prometheus
    metadata: {{serverAddress: 'http://prom:9090', query: 'sum(rate(http_requests_total[1m]))', threshold: '20'}}
"
        );
        let mut c = ClusterConfig::new();
        c.read(&yaml, "so.yaml").expect("valid");
        c.scaled_objects.remove(0)
    };
    let d = flat(30.0, 1_800);
    let cfg = SimConfig {
        initial_replicas: Some(2),
        ..SimConfig::default()
    };
    let run = |so| {
        let room = NodePool {
            min_nodes: 3,
            ..pool(Provisioner::Fixed)
        };
        simulate(&d, &service(), &room, &Scaler::Keda(so), &cfg).expect("replays")
    };
    let without = run(so(""));
    assert!(without.warnings.iter().any(|w| w.contains("kafka")));
    assert_eq!(without.summary.max_ready_pods, 2, "{:?}", without.summary);
    let with = run(so("  fallback: {failureThreshold: 3, replicas: 6}"));
    assert!(
        with.warnings.iter().any(|w| w.contains("fallback of 6")),
        "{:?}",
        with.warnings
    );
    assert_eq!(with.summary.max_ready_pods, 6, "{:?}", with.summary);
    // Held from the second minute on: 4 syncs of 15 s, then start-up.
    assert!(with.series.hourly_ready_pods[0] > 5.5, "{:?}", with.series);
    // `currentReplicasIfHigher` with a fallback below the current count keeps the count.
    let higher = run(so(
        "  fallback: {failureThreshold: 3, replicas: 1, behavior: currentReplicasIfHigher}",
    ));
    assert_eq!(higher.summary.max_ready_pods, 2, "{:?}", higher.summary);
}

#[test]
fn the_start_up_is_fitted_from_sharp_scale_ups_and_not_claimed_from_none() {
    use super::setup::{Setup, StartupBasis, fit_startup};
    // A day with five sharp rises (30 → 300 req/s for 40 minutes, every ~4 hours), served by
    // pods that take 180 s to start: what the telemetry would show is the replay's ready pods.
    let mut demand = flat(30.0, 24 * 3_600);
    for k in 0..5 {
        let from = 3_600 + k * 4 * 3_600;
        for r in &mut demand.rps[from..from + 2_400] {
            *r = 300.0;
        }
    }
    let truth = ServiceModel {
        startup_s: 180.0,
        ..service()
    };
    let s = Setup {
        service: service(),
        pool: pool(Provisioner::Fixed),
        scaler: Scaler::Hpa(cpu_hpa(2, 40, 60)),
        config: SimConfig {
            initial_replicas: Some(2),
            ..SimConfig::default()
        },
        notes: Vec::new(),
        startup: StartupBasis::Default,
    };
    let s = Setup {
        pool: NodePool {
            min_nodes: 10,
            ..s.pool
        },
        ..s
    };
    let seen = simulate(&demand, &truth, &s.pool, &s.scaler, &s.config).expect("replays");
    let observed: Vec<u32> = seen
        .series
        .ready_pods_1m
        .iter()
        .map(|r| r.round() as u32)
        .collect();
    let fit = fit_startup(&observed, &demand, &s, 2).expect("visible");
    assert_eq!(fit.startup_s, 180.0, "{fit:?}");
    assert!(fit.scale_ups >= 5, "{fit:?}");
    // A steady load shows no scale-up: nothing is claimed.
    let steady = flat(30.0, 6 * 3_600);
    let seen = simulate(&steady, &truth, &s.pool, &s.scaler, &s.config).expect("replays");
    let observed: Vec<u32> = seen
        .series
        .ready_pods_1m
        .iter()
        .map(|r| *r as u32)
        .collect();
    assert_eq!(fit_startup(&observed, &steady, &s, 2), None);
    // Nor for a fixed replica count.
    let fixed = Setup {
        scaler: Scaler::Fixed(4),
        ..s
    };
    assert_eq!(fit_startup(&observed, &steady, &fixed, 1), None);
}

#[test]
fn analysis_json_gives_back_the_facts_the_simulator_reads() {
    let (a, demand, config) = world();
    let facts = super::setup::Facts::of(&a);
    let json = serde_json::to_value(&a).expect("serialises");
    let back = super::setup::Facts::from_analysis_json(&json).expect("reads back");
    // JSON keeps every f64 to the last digit or the next one.
    let q = facts.queue.as_ref().expect("a fitted queue");
    let qb = back.queue.as_ref().expect("a queue read back");
    assert_eq!(q.servers, qb.servers);
    assert_eq!(q.service.points().len(), qb.service.points().len());
    for (x, y) in q.service.points().iter().zip(qb.service.points()) {
        assert!(
            (x.0 - y.0).abs() <= 1e-12 * x.0 && (x.1 - y.1).abs() <= 1e-12,
            "{x:?} {y:?}"
        );
    }
    assert_eq!(
        super::setup::Facts {
            queue: None,
            ..facts.clone()
        },
        super::setup::Facts {
            queue: None,
            ..back.clone()
        }
    );
    // The same replay from either.
    let catalogue = Catalogue::built_in();
    let tz = jiff::tz::TimeZone::UTC;
    let opts = SetupOptions {
        startup_s: Some(30.0),
        ..SetupOptions::default()
    };
    let run = |f: &super::setup::Facts| {
        let s = super::setup::setup_of(f, None, &config, &catalogue, &tz, &opts).expect("setup");
        simulate(&demand, &s.service, &s.pool, &s.scaler, &s.config).expect("replays")
    };
    let (x, y) = (run(&facts), run(&back));
    assert!((x.summary.cost_total - y.summary.cost_total).abs() < 1e-6);
    assert!(
        (x.summary.worst_p99_ms - y.summary.worst_p99_ms).abs() < 1e-3 * x.summary.worst_p99_ms
    );
    // A document that is not an analysis is named.
    let err = super::setup::Facts::from_analysis_json(&serde_json::json!({"a": 1}))
        .expect_err("rejected");
    assert!(err.contains("schema_version"), "{err}");
    let mut broken = json.clone();
    broken["capacity"]["model"] = serde_json::json!({"servers": 0});
    let err = super::setup::Facts::from_analysis_json(&broken).expect_err("rejected");
    assert!(err.starts_with("capacity.model"), "{err}");
}

#[test]
fn a_cluster_stepped_by_hand_is_the_simulator() {
    // The testbed steps the same Cluster with measured rates: stepping it with the demand
    // must give the pods the simulator reports.
    let d = flat(200.0, 1800);
    let mut d2 = d.clone();
    for (i, r) in d2.rps.iter_mut().enumerate() {
        if (600..1200).contains(&i) {
            *r = 900.0;
        }
    }
    let svc = service();
    let p = pool(Provisioner::cluster_autoscaler(60.0));
    let scaler = Scaler::Hpa(cpu_hpa(2, 20, 60));
    let cfg = SimConfig::default();
    let r = simulate(&d2, &svc, &p, &scaler, &cfg).expect("replays");
    let (mut c, _) =
        Cluster::new(&svc, &p, &scaler, &cfg, d2.start_unix_s, d2.rps.len()).expect("cluster");
    let mut minute_ready = Vec::new();
    let mut sum = 0.0;
    for (i, r) in d2.rps.iter().enumerate() {
        let s = c.step(*r);
        sum += f64::from(s.ready);
        if i % 60 == 59 {
            minute_ready.push(sum / 60.0);
            sum = 0.0;
        }
    }
    assert_eq!(minute_ready, r.series.ready_pods_1m);
    assert_eq!(c.scale_events(), r.summary.scale_events);
    let mut ids: Vec<u64> = c.serving_pods().iter().map(|p| p.id).collect();
    assert_eq!(ids.len() as f64, *minute_ready.last().expect("minutes"));
    ids.dedup();
    assert_eq!(ids.len() as f64, *minute_ready.last().expect("minutes"));
}
