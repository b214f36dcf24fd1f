//! Generated worlds whose truth is known, shared by the tests of the analysis and the
//! simulator: a week served by pods that an HPA on CPU scales, each pod an M/G/c queue.

use crate::telemetry::generate::{
    ColdStart, CpuHpaWorld, GenerateConfig, Generator, LatencyModel, PodScaling,
};
use crate::telemetry::status::{StatusConvention, classify_number};
use crate::telemetry::{Aggregator, Diagnostics, Telemetry};

/// Ingests a generated world without going through text.
pub(crate) fn telemetry_of(cfg: &GenerateConfig) -> Telemetry {
    let names = cfg.pod_names();
    let mut agg = Aggregator::new();
    for r in Generator::new(cfg.clone()) {
        agg.push(
            r.ts_ns,
            r.latency_us * 1000,
            classify_number(i64::from(r.status), StatusConvention::Auto),
            names[r.pod as usize].as_bytes(),
        );
    }
    agg.finish(cfg.sample_rate, Diagnostics::default())
}

/// A week at 260 req/s peak served by 10 to 40 pods of two servers each (100 ms median
/// service), scaled by an HPA on CPU at 75%, with slow first minutes.
pub(crate) fn hpa_week(sample_rate: f64) -> GenerateConfig {
    GenerateConfig {
        peak_rps: 260.0,
        trough_ratio: 0.2,
        base_latency_ms: 100.0,
        sample_rate,
        seed: 5,
        latency_model: LatencyModel::Queue { servers_per_pod: 2 },
        scaling: PodScaling::CpuHpa(CpuHpaWorld {
            min_replicas: 10,
            max_replicas: 40,
            target_utilization: 0.75,
            cpu_request_cores: 1.0,
            cpu_per_request_core_s: 0.05,
            idle_cpu_cores: 0.1,
            scale_down_stabilization_s: 300,
            ready_delay_s: 30,
        }),
        cold_start: ColdStart {
            duration_s: 120,
            factor: 2.0,
        },
        ..GenerateConfig::default()
    }
}

pub(crate) const HPA_YAML: &str = "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: reco}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: reco}
  minReplicas: 10
  maxReplicas: 40
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 75}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reco}
spec:
  replicas: 4
  template:
    spec:
      containers: [{name: model, image: reco:1, resources: {requests: {cpu: '1', memory: 2Gi}}}]
---
apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata: {name: prod, region: us-east-1}
managedNodeGroups:
- name: serving
  instanceType: m5.xlarge
  minSize: 1
  maxSize: 20
";
