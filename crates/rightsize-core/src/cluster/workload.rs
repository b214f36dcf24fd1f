//! Deployments and StatefulSets (`apps/v1`): replicas, each container's requests and limits,
//! readiness probe timings, `maxSurge` and the termination grace period, with Kubernetes'
//! defaults.

use serde::{Deserialize, Serialize};

use super::hpa::ObjectMeta;
use super::quantity::Quantity;

/// A workload manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadManifest {
    /// `apps/v1`.
    pub api_version: String,
    /// `Deployment` or `StatefulSet`.
    pub kind: String,
    /// Name and namespace.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The spec.
    pub spec: WorkloadSpecManifest,
}

/// `spec`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSpecManifest {
    /// Replicas (default 1).
    pub replicas: Option<u32>,
    /// Deployment rollout strategy.
    pub strategy: Option<StrategyManifest>,
    /// The pod template.
    pub template: TemplateManifest,
}

/// `spec.strategy`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StrategyManifest {
    /// `RollingUpdate` or `Recreate`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Rolling update limits.
    pub rolling_update: Option<RollingUpdateManifest>,
}

/// `spec.strategy.rollingUpdate`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollingUpdateManifest {
    /// A count or a percent string.
    pub max_surge: Option<IntOrPercent>,
    /// A count or a percent string.
    pub max_unavailable: Option<IntOrPercent>,
}

/// An integer or a percent, as `maxSurge` takes.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum IntOrPercent {
    /// A count.
    Int(u32),
    /// `"25%"`.
    Percent(String),
}

impl IntOrPercent {
    /// The count for `replicas`, rounding a percent up (as the Deployment controller does for
    /// `maxSurge`).
    pub fn resolve_up(&self, replicas: u32) -> Option<u32> {
        match self {
            IntOrPercent::Int(n) => Some(*n),
            IntOrPercent::Percent(p) => {
                let pct: f64 = p.trim().strip_suffix('%')?.parse().ok()?;
                Some((f64::from(replicas) * pct / 100.0).ceil() as u32)
            }
        }
    }
}

/// `spec.template`.
#[derive(Debug, Clone, Deserialize)]
pub struct TemplateManifest {
    /// The pod spec.
    pub spec: PodSpecManifest,
}

/// `spec.template.spec`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpecManifest {
    /// Containers.
    pub containers: Vec<ContainerManifest>,
    /// Seconds between SIGTERM and SIGKILL (default 30).
    pub termination_grace_period_seconds: Option<u32>,
}

/// One container.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerManifest {
    /// Name.
    pub name: String,
    /// Requests and limits.
    #[serde(default)]
    pub resources: ResourcesManifest,
    /// Readiness probe.
    pub readiness_probe: Option<ProbeManifest>,
}

/// `resources`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ResourcesManifest {
    /// Requests by resource name.
    #[serde(default)]
    pub requests: ResourceList,
    /// Limits by resource name.
    #[serde(default)]
    pub limits: ResourceList,
}

/// CPU and memory of a resource list (other resources, such as GPUs, are kept by name).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ResourceList {
    /// CPU.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_negative"
    )]
    pub cpu: Option<Quantity>,
    /// Memory.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_negative"
    )]
    pub memory: Option<Quantity>,
    /// `nvidia.com/gpu` and the like.
    #[serde(flatten)]
    pub other: std::collections::BTreeMap<String, Quantity>,
}

fn non_negative<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Quantity>, D::Error> {
    let q = Quantity::deserialize(d)?;
    if q.value() < 0.0 {
        return Err(serde::de::Error::custom(format!(
            "must not be negative, found {q}"
        )));
    }
    Ok(Some(q))
}

/// A readiness probe's timings.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeManifest {
    /// Default 0.
    pub initial_delay_seconds: Option<u32>,
    /// Default 10.
    pub period_seconds: Option<u32>,
    /// Default 1.
    pub success_threshold: Option<u32>,
    /// Default 3.
    pub failure_threshold: Option<u32>,
    /// Default 1.
    pub timeout_seconds: Option<u32>,
}

/// Readiness probe timings with Kubernetes' defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Readiness {
    /// Seconds before the first probe.
    pub initial_delay_s: u32,
    /// Seconds between probes.
    pub period_s: u32,
    /// Successes needed to become ready.
    pub success_threshold: u32,
    /// Failures to become unready.
    pub failure_threshold: u32,
}

impl Readiness {
    /// The earliest a started container can be ready: the initial delay plus the probes it
    /// must pass.
    pub fn earliest_ready_s(&self) -> u32 {
        self.initial_delay_s + self.period_s * self.success_threshold.saturating_sub(1)
    }
}

/// A container with its resources in base units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Container {
    /// Name.
    pub name: String,
    /// Requested CPU cores.
    pub cpu_request_cores: Option<f64>,
    /// CPU limit in cores.
    pub cpu_limit_cores: Option<f64>,
    /// Requested memory bytes.
    pub memory_request_bytes: Option<f64>,
    /// Memory limit in bytes.
    pub memory_limit_bytes: Option<f64>,
    /// Readiness probe, if any.
    pub readiness: Option<Readiness>,
}

/// A Deployment or StatefulSet as rightsize models it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workload {
    /// `Deployment` or `StatefulSet`.
    pub kind: String,
    /// Name and namespace.
    pub metadata: ObjectMeta,
    /// Desired replicas (default 1; an HPA overrides it).
    pub replicas: u32,
    /// Containers.
    pub containers: Vec<Container>,
    /// Extra pods a rolling update may add (Deployment default 25%, rounded up).
    pub max_surge: u32,
    /// Seconds a terminating pod may take (default 30).
    pub termination_grace_period_s: u32,
}

impl Workload {
    /// Applies the defaults of the apps/v1 API.
    pub fn from_manifest(m: &WorkloadManifest) -> Workload {
        let replicas = m.spec.replicas.unwrap_or(1);
        let max_surge = if m.kind == "Deployment" {
            m.spec
                .strategy
                .as_ref()
                .and_then(|s| s.rolling_update.as_ref())
                .and_then(|r| r.max_surge.as_ref())
                .unwrap_or(&IntOrPercent::Percent("25%".into()))
                .resolve_up(replicas)
                .unwrap_or(1)
        } else {
            // StatefulSets replace pods one at a time.
            0
        };
        let containers = m
            .spec
            .template
            .spec
            .containers
            .iter()
            .map(|c| Container {
                name: c.name.clone(),
                cpu_request_cores: c.resources.requests.cpu.as_ref().map(Quantity::value),
                cpu_limit_cores: c.resources.limits.cpu.as_ref().map(Quantity::value),
                memory_request_bytes: c.resources.requests.memory.as_ref().map(Quantity::value),
                memory_limit_bytes: c.resources.limits.memory.as_ref().map(Quantity::value),
                readiness: c.readiness_probe.as_ref().map(|p| Readiness {
                    initial_delay_s: p.initial_delay_seconds.unwrap_or(0),
                    period_s: p.period_seconds.unwrap_or(10),
                    success_threshold: p.success_threshold.unwrap_or(1),
                    failure_threshold: p.failure_threshold.unwrap_or(3),
                }),
            })
            .collect();
        Workload {
            kind: m.kind.clone(),
            metadata: m.metadata.clone(),
            replicas,
            containers,
            max_surge,
            termination_grace_period_s: m
                .spec
                .template
                .spec
                .termination_grace_period_seconds
                .unwrap_or(30),
        }
    }

    /// The pod's CPU request: the sum over containers (containers without one count as 0).
    pub fn pod_cpu_request_cores(&self) -> f64 {
        self.containers
            .iter()
            .filter_map(|c| c.cpu_request_cores)
            .sum()
    }

    /// The pod's memory request in bytes.
    pub fn pod_memory_request_bytes(&self) -> f64 {
        self.containers
            .iter()
            .filter_map(|c| c.memory_request_bytes)
            .sum()
    }

    /// The workload in words a reviewer can check.
    pub fn describe(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{} {}: {} replica(s), max surge {}, termination grace {} s",
            self.kind,
            self.metadata.name,
            self.replicas,
            self.max_surge,
            self.termination_grace_period_s
        )];
        for c in &self.containers {
            let cores = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v} cores"));
            let mib =
                |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.0} MiB", v / 1048576.0));
            let mut line = format!(
                "  container {}: requests {} / {}, limits {} / {}",
                c.name,
                cores(c.cpu_request_cores),
                mib(c.memory_request_bytes),
                cores(c.cpu_limit_cores),
                mib(c.memory_limit_bytes)
            );
            if let Some(r) = c.readiness {
                line.push_str(&format!(
                    ", ready at the earliest {} s after start (probe every {} s)",
                    r.earliest_ready_s(),
                    r.period_s
                ));
            }
            out.push(line);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::yaml::{parse_document, split_documents};

    #[test]
    fn deployment_with_defaults() {
        let text = "apiVersion: apps/v1
kind: Deployment
metadata: {name: reco}
spec:
  replicas: 12
  template:
    spec:
      containers:
      - name: model
        resources:
          requests: {cpu: 1500m, memory: 4Gi, nvidia.com/gpu: 1}
          limits: {cpu: 2, memory: 6Gi}
        readinessProbe:
          initialDelaySeconds: 20
          periodSeconds: 5
          successThreshold: 2
      - name: sidecar
        resources:
          requests: {cpu: 100m, memory: 128Mi}
";
        let docs = split_documents(text);
        let m: WorkloadManifest =
            parse_document(&docs[0], "d.yaml", &mut Vec::new()).expect("parses");
        let w = Workload::from_manifest(&m);
        assert_eq!(w.replicas, 12);
        assert_eq!(w.max_surge, 3, "25% of 12, rounded up");
        assert_eq!(w.termination_grace_period_s, 30);
        assert!((w.pod_cpu_request_cores() - 1.6).abs() < 1e-9);
        assert_eq!(
            w.pod_memory_request_bytes(),
            4.0 * 1073741824.0 + 128.0 * 1048576.0
        );
        let r = w.containers[0].readiness.expect("probe");
        assert_eq!(r.earliest_ready_s(), 25);
        assert!(
            w.describe()[1].contains("requests 1.5 cores / 4096 MiB"),
            "{:?}",
            w.describe()
        );
    }

    #[test]
    fn bad_and_negative_quantities_fail_with_the_path() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        resources:\n          requests: {cpu: fast}\n";
        let docs = split_documents(text);
        let err = parse_document::<WorkloadManifest>(&docs[0], "d.yaml", &mut Vec::new())
            .expect_err("bad cpu");
        assert!(err.to_string().starts_with("d.yaml:10:"), "{err}");
        assert!(err.path.ends_with("resources.requests.cpu"), "{err}");
        let neg = text.replace("cpu: fast", "cpu: -500m");
        let docs = split_documents(&neg);
        let err = parse_document::<WorkloadManifest>(&docs[0], "d.yaml", &mut Vec::new())
            .expect_err("negative cpu");
        assert!(err.to_string().contains("must not be negative"), "{err}");
    }
}
