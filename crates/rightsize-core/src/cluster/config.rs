//! Reading a set of configuration files into one model: documents are told apart by their
//! `apiVersion` and `kind`, not by file name; kinds rightsize does not read are listed and
//! skipped; unknown fields of known kinds are warnings.

use serde::{Deserialize, Serialize};

use super::hpa::{Hpa, HpaManifest, Invalid};
use super::keda::{ScaledObject, ScaledObjectManifest};
use super::nodegroup::{
    ContainerNodePoolManifest, EksctlConfig, NodeGroup, NodePoolManifest, Vpa, VpaManifest,
};
use super::nodes::{Catalogue, DaemonSetOverhead};
use super::workload::{Workload, WorkloadManifest};
use super::yaml::{ConfigError, Document, parse_document, split_documents};

/// Everything read from the configuration files.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClusterConfig {
    /// Schema version of this model's JSON (see docs/formats.md).
    pub schema_version: u32,
    /// HorizontalPodAutoscalers.
    pub hpas: Vec<Hpa>,
    /// Deployments and StatefulSets.
    pub workloads: Vec<Workload>,
    /// DaemonSets: one pod on every node, whose requests come off each node's allocatable.
    pub daemon_sets: Vec<Workload>,
    /// KEDA ScaledObjects.
    pub scaled_objects: Vec<ScaledObject>,
    /// VerticalPodAutoscalers.
    pub vpas: Vec<Vpa>,
    /// Node groups from eksctl, Karpenter and GKE.
    pub node_groups: Vec<NodeGroup>,
    /// Documents of kinds rightsize does not read, as `file:line: Kind name (apiVersion)`.
    pub skipped: Vec<String>,
    /// Unknown fields in kinds rightsize models whole (HPAs, ScaledObjects; not metadata or
    /// status), as
    /// `file:line: Kind name: unknown field path`.
    pub warnings: Vec<String>,
}

/// Version of [`ClusterConfig`]'s JSON.
pub const CLUSTER_CONFIG_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    api_version: Option<String>,
    kind: Option<String>,
    #[serde(default)]
    metadata: HeadMeta,
}

#[derive(Debug, Default, Deserialize)]
struct HeadMeta {
    name: Option<String>,
}

fn located(file: &str, doc: &Document<'_>, e: Invalid) -> ConfigError {
    ConfigError {
        file: file.to_string(),
        line: doc.first_line + e.line.max(1) - 1,
        column: e.column.max(1),
        path: e.path,
        message: e.message,
    }
}

impl ClusterConfig {
    /// This configuration with a policy's scaler in place of its own (the policy's HPAs and
    /// ScaledObjects replace all of today's), and its node groups and workloads where it gives
    /// any: what `simulate --policy` and the recommender replay. An error when the policy holds
    /// no scaler.
    pub fn with_policy(&self, policy: &ClusterConfig) -> Result<ClusterConfig, String> {
        if policy.hpas.is_empty() && policy.scaled_objects.is_empty() {
            return Err(
                "the policy holds no HorizontalPodAutoscaler or ScaledObject: nothing to replay"
                    .into(),
            );
        }
        let mut merged = self.clone();
        merged.hpas = policy.hpas.clone();
        merged.scaled_objects = policy.scaled_objects.clone();
        if !policy.node_groups.is_empty() {
            merged.node_groups = policy.node_groups.clone();
        }
        if !policy.workloads.is_empty() {
            merged.workloads = policy.workloads.clone();
        }
        if !policy.vpas.is_empty() {
            merged.vpas = policy.vpas.clone();
        }
        Ok(merged)
    }

    /// An empty model.
    pub fn new() -> Self {
        ClusterConfig {
            schema_version: CLUSTER_CONFIG_SCHEMA_VERSION,
            ..ClusterConfig::default()
        }
    }

    /// Reads every document of one file's text into the model.
    pub fn read(&mut self, text: &str, file: &str) -> Result<(), ConfigError> {
        for doc in split_documents(text) {
            let head: Head = parse_document(&doc, file, &mut Vec::new())?;
            let (Some(api_version), Some(kind)) = (head.api_version, head.kind) else {
                self.skipped.push(format!(
                    "{file}:{}: a document without apiVersion and kind",
                    doc.first_line
                ));
                continue;
            };
            let name = head.metadata.name.unwrap_or_default();
            let mut unknown = Vec::new();
            let group = api_version.split('/').next().unwrap_or("");
            match (group, api_version.as_str(), kind.as_str()) {
                (
                    "autoscaling",
                    "autoscaling/v2" | "autoscaling/v2beta2" | "autoscaling/v1",
                    "HorizontalPodAutoscaler",
                ) => {
                    let m: HpaManifest = parse_document(&doc, file, &mut unknown)?;
                    self.hpas
                        .push(Hpa::from_manifest(&m).map_err(|e| located(file, &doc, e))?);
                }
                ("keda.sh", "keda.sh/v1alpha1", "ScaledObject") => {
                    let m: ScaledObjectManifest = parse_document(&doc, file, &mut unknown)?;
                    self.scaled_objects
                        .push(ScaledObject::from_manifest(&m).map_err(|e| located(file, &doc, e))?);
                }
                ("autoscaling.k8s.io", "autoscaling.k8s.io/v1", "VerticalPodAutoscaler") => {
                    let m: VpaManifest = parse_document(&doc, file, &mut Vec::new())?;
                    self.vpas.push(m.vpa().map_err(|e| located(file, &doc, e))?);
                }
                ("eksctl.io", _, "ClusterConfig") => {
                    let m: EksctlConfig = parse_document(&doc, file, &mut Vec::new())?;
                    self.node_groups
                        .extend(m.node_groups().map_err(|e| located(file, &doc, e))?);
                }
                ("karpenter.sh", "karpenter.sh/v1", "NodePool") => {
                    let m: NodePoolManifest = parse_document(&doc, file, &mut Vec::new())?;
                    self.node_groups
                        .push(m.node_group().map_err(|e| located(file, &doc, e))?);
                }
                ("container.cnrm.cloud.google.com", _, "ContainerNodePool") => {
                    let m: ContainerNodePoolManifest = parse_document(&doc, file, &mut Vec::new())?;
                    self.node_groups.push(m.node_group());
                }
                ("apps", "apps/v1", "DaemonSet") => {
                    let m: WorkloadManifest = parse_document(&doc, file, &mut Vec::new())?;
                    self.daemon_sets.push(Workload::from_manifest(&m));
                }
                ("apps", "apps/v1", "Deployment" | "StatefulSet") => {
                    // rightsize reads a small part of a large schema: the rest (image, ports,
                    // probes' handlers …) is legitimate and not worth a warning.
                    let m: WorkloadManifest = parse_document(&doc, file, &mut Vec::new())?;
                    self.workloads.push(Workload::from_manifest(&m));
                }
                _ => {
                    self.skipped.push(format!(
                        "{file}:{}: {kind} {name} ({api_version})",
                        doc.first_line
                    ));
                    continue;
                }
            }
            // Metadata and status are the API server's; anything else unknown in a kind that
            // rightsize models whole is most likely a typo.
            unknown.retain(|f| !f.starts_with("metadata") && !f.starts_with("status"));
            for field in unknown {
                self.warnings.push(format!(
                    "{file}:{}: {kind} {name}: unknown field {field} (ignored)",
                    doc.first_line
                ));
            }
        }
        Ok(())
    }

    /// What DaemonSets take on every node: the sum of the given DaemonSets' pod requests, or
    /// [`DaemonSetOverhead::default`] when the configuration names none.
    pub fn daemon_overhead(&self) -> DaemonSetOverhead {
        if self.daemon_sets.is_empty() {
            return DaemonSetOverhead::default();
        }
        DaemonSetOverhead {
            cpu_cores: self
                .daemon_sets
                .iter()
                .map(Workload::pod_cpu_request_cores)
                .sum(),
            memory_bytes: self
                .daemon_sets
                .iter()
                .map(Workload::pod_memory_request_bytes)
                .sum(),
            pods: self.daemon_sets.len() as u32,
        }
    }

    /// The model in words a reviewer can check; node lines price and pack the workloads' pods
    /// with `catalogue`.
    pub fn describe(&self, catalogue: &Catalogue) -> Vec<String> {
        let mut out = Vec::new();
        for h in &self.hpas {
            out.extend(h.describe());
        }
        for so in &self.scaled_objects {
            out.extend(so.describe());
        }
        for w in &self.workloads {
            out.extend(w.describe());
        }
        let daemon = self.daemon_overhead();
        out.push(format!(
            "DaemonSets on every node: {} pod(s) requesting {} cores and {:.0} MiB{}",
            daemon.pods,
            daemon.cpu_cores,
            daemon.memory_bytes / 1048576.0,
            if self.daemon_sets.is_empty() {
                " (default: none given; pass the DaemonSets' manifests to count your own)"
                    .to_string()
            } else {
                format!(
                    " ({})",
                    self.daemon_sets
                        .iter()
                        .map(|d| d.metadata.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ));
        for v in &self.vpas {
            out.push(format!(
                "VerticalPodAutoscaler {} sizes {} {}: update mode {}",
                v.name, v.target.kind, v.target.name, v.update_mode
            ));
        }
        for g in &self.node_groups {
            out.push(format!(
                "node group {} ({}): {}, {} to {} nodes{}, {}",
                g.name,
                g.source,
                if g.instance_types.is_empty() {
                    "any instance type".to_string()
                } else {
                    g.instance_types.join(", ")
                },
                g.min_nodes,
                g.max_nodes
                    .map_or("unbounded".to_string(), |m| m.to_string()),
                g.desired_nodes
                    .map_or(String::new(), |d| format!(" ({d} at creation)")),
                g.capacity,
            ));
            if let Some(c) = &g.consolidation {
                out.push(format!(
                    "  consolidation {} after {}, budgets {}",
                    c.policy,
                    c.after_s.map_or("never".to_string(), |s| format!("{s} s")),
                    c.budgets.join(", ")
                ));
            }
            for t in &g.instance_types {
                let Some(it) = catalogue.get(t) else {
                    out.push(format!(
                        "  node {t}: not in the catalogue; add it with --prices"
                    ));
                    continue;
                };
                let a = it.allocatable();
                let mut line = format!(
                    "  node {t}: {:.2} allocatable cores, {:.1} GiB, {} pods",
                    a.cpu_cores,
                    a.memory_bytes / 1073741824.0,
                    g.max_pods_per_node.unwrap_or(a.pods)
                );
                for w in &self.workloads {
                    let (cpu, mem) = (w.pod_cpu_request_cores(), w.pod_memory_request_bytes());
                    if cpu > 0.0 || mem > 0.0 {
                        let n = it.pods_per_node(cpu, mem, &daemon);
                        line.push_str(&format!(
                            ", {n} {} pods of {cpu} cores each",
                            w.metadata.name
                        ));
                    }
                }
                line.push_str(&format!(", ${}/h", it.usd_per_hour));
                out.push(line);
            }
        }
        for s in &self.skipped {
            out.push(format!("skipped {s}"));
        }
        for w in &self.warnings {
            out.push(format!("warning {w}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kinds_are_told_apart_by_content() {
        let text = "apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reco}
spec:
  replicas: 3
  template:
    spec:
      containers: [{name: m, image: reco:1, resources: {requests: {cpu: 1}}}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: reco}
spec:
  scaleTargetRef: {kind: Deployment, name: reco}
  maxReplicas: 10
  colour: blue
";
        let mut c = ClusterConfig::new();
        c.read(text, "all.yaml").expect("reads");
        assert_eq!(c.hpas.len(), 1);
        assert_eq!(c.workloads.len(), 1);
        assert_eq!(
            c.skipped,
            vec!["all.yaml:1: ConfigMap settings (v1)".to_string()]
        );
        assert_eq!(
            c.warnings,
            vec![
                "all.yaml:14: HorizontalPodAutoscaler reco: unknown field spec.colour (ignored)"
                    .to_string(),
            ]
        );
    }

    #[test]
    fn semantic_errors_carry_file_positions() {
        let text = "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: x}\nspec:\n  scaleTargetRef: {kind: Deployment, name: x}\n  minReplicas: 9\n  maxReplicas: 3\n";
        let err = ClusterConfig::new()
            .read(text, "h.yaml")
            .expect_err("min > max");
        assert_eq!(
            err.to_string(),
            "h.yaml:9:16: spec.minReplicas: minReplicas 9 is above maxReplicas 3"
        );
    }

    #[test]
    fn daemon_sets_come_off_every_node() {
        let text = "apiVersion: apps/v1
kind: DaemonSet
metadata: {name: fluent-bit}
spec:
  template:
    spec:
      containers: [{name: f, image: fb:3, resources: {requests: {cpu: 300m, memory: 512Mi}}}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-exporter}
spec:
  template:
    spec:
      containers: [{name: e, image: ne:1, resources: {requests: {cpu: 200m, memory: 128Mi}}}]
";
        let mut c = ClusterConfig::new();
        assert_eq!(c.daemon_overhead(), DaemonSetOverhead::default());
        c.read(text, "ds.yaml").expect("reads");
        let d = c.daemon_overhead();
        assert_eq!(d.pods, 2);
        assert!((d.cpu_cores - 0.5).abs() < 1e-9);
        assert_eq!(d.memory_bytes, 640.0 * 1048576.0);
        // m5.2xlarge: 7.91 - 0.5 = 7.41 allocatable to pods: 3 pods of 2 cores, 4 of 1.8.
        let m5 = Catalogue::built_in();
        let m5 = m5.get("m5.2xlarge").expect("in the catalogue");
        assert_eq!(m5.pods_per_node(2.0, 1e9, &d), 3);
        assert_eq!(m5.pods_per_node(1.8, 1e9, &d), 4);
        assert!(
            c.describe(&Catalogue::built_in()).iter().any(|l| l
                == "DaemonSets on every node: 2 pod(s) requesting 0.5 cores and 640 MiB (fluent-bit, node-exporter)"),
            "{:?}",
            c.describe(&Catalogue::built_in())
        );
    }

    proptest! {
        #[test]
        fn random_yaml_never_panics(text in "[a-zA-Z0-9:\\-\\[\\]{}, \\n#\"'|>&*!%@.]{0,200}") {
            let _ = ClusterConfig::new().read(&text, "fuzz.yaml");
        }

        #[test]
        fn random_hpa_values_never_panic(
            min in any::<i64>(), max in any::<i64>(), pct in ".{0,6}", window in any::<i64>(),
        ) {
            let text = format!("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: x}}\nspec:\n  scaleTargetRef: {{kind: Deployment, name: x}}\n  minReplicas: {min}\n  maxReplicas: {max}\n  metrics:\n  - type: Resource\n    resource: {{name: cpu, target: {{type: Utilization, averageUtilization: {pct:?}}}}}\n  behavior:\n    scaleDown: {{stabilizationWindowSeconds: {window}}}\n");
            let _ = ClusterConfig::new().read(&text, "fuzz.yaml");
        }
    }
}
