//! The simulator's speed: one week at 1 s steps through an HPA on CPU with the cluster
//! autoscaler, and through a KEDA ScaledObject (prometheus and cron triggers) with Karpenter.
//! `cargo bench -p rightsize-core --bench simulate`; figures in BENCHMARKS.md.

use criterion::{Criterion, criterion_group, criterion_main};
use rightsize_core::cluster::ClusterConfig;
use rightsize_core::queueing::{PodQueue, ServiceTime};
use rightsize_core::sim::latency::LatencyTable;
use rightsize_core::sim::{
    Budget, Demand, NodePool, Provisioner, Scaler, ServiceModel, SimConfig, simulate,
};
use rightsize_core::telemetry::generate::GenerateConfig;

const HPA: &str = "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: reco}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: reco}
  minReplicas: 4
  maxReplicas: 60
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
";

const KEDA: &str = "apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: reco}
spec:
  scaleTargetRef: {name: reco}
  minReplicaCount: 2
  maxReplicaCount: 60
  triggers:
  - type: prometheus
    metadata: {serverAddress: 'http://prom:9090', query: 'sum(rate(http_requests_total[2m]))', threshold: '40'}
  - type: cron
    metadata: {timezone: UTC, start: '0 17 * * mon-fri', end: '0 22 * * mon-fri', desiredReplicas: '30'}
";

fn week() -> Demand {
    let g = GenerateConfig::default();
    Demand {
        start_unix_s: g.start_unix_s,
        rps: (0..7 * 86_400)
            .map(|s| g.rate_at(g.start_unix_s + s))
            .collect(),
    }
}

fn service() -> ServiceModel {
    let queue = PodQueue {
        servers: 4,
        service: ServiceTime::lognormal(20.0, 0.35),
    };
    ServiceModel {
        latency: LatencyTable::new(&queue, 1_000.0),
        cpu_per_request_core_s: 0.004,
        idle_cpu_cores: 0.05,
        cpu_request_cores: 1.0,
        startup_s: 30.0,
        cold_s: 120.0,
        cold_factor: 1.5,
        load_spread_cv: 0.0,
    }
}

fn bench(c: &mut Criterion) {
    let demand = week();
    let service = service();
    let mut config = ClusterConfig::new();
    config.read(HPA, "hpa.yaml").expect("valid HPA");
    config.read(KEDA, "keda.yaml").expect("valid ScaledObject");
    let hpa = Scaler::Hpa(config.hpas[0].clone());
    let keda = Scaler::Keda(config.scaled_objects[0].clone());
    let ca = NodePool {
        pods_per_node: 7,
        usd_per_node_hour: 0.384,
        min_nodes: 1,
        max_nodes: Some(20),
        provisioner: Provisioner::cluster_autoscaler(75.0),
    };
    let karpenter = NodePool {
        provisioner: Provisioner::Karpenter {
            provision_s: 50.0,
            consolidate_after_s: 300.0,
            underutilized: true,
            budget: Budget::DEFAULT,
            instance_types: Vec::new(),
        },
        ..ca.clone()
    };
    let cfg = SimConfig::default();
    let mut group = c.benchmark_group("simulate a week at 1 s steps");
    group.sample_size(10);
    group.bench_function("HPA on CPU, cluster autoscaler", |b| {
        b.iter(|| simulate(&demand, &service, &ca, &hpa, &cfg).expect("replays"))
    });
    group.bench_function("KEDA prometheus + cron, Karpenter", |b| {
        b.iter(|| simulate(&demand, &service, &karpenter, &keda, &cfg).expect("replays"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
