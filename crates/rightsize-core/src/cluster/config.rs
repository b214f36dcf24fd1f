//! Reading a set of configuration files into one model: documents are told apart by their
//! `apiVersion` and `kind`, not by file name; kinds rightsize does not read are listed and
//! skipped; unknown fields of known kinds are warnings.

use serde::{Deserialize, Serialize};

use super::hpa::{Hpa, HpaManifest, Invalid};
use super::keda::{ScaledObject, ScaledObjectManifest};
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
    /// KEDA ScaledObjects.
    pub scaled_objects: Vec<ScaledObject>,
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

    /// The model in words a reviewer can check.
    pub fn describe(&self) -> Vec<String> {
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
