//! HorizontalPodAutoscaler: the manifest as `autoscaling/v2` (and `v2beta2`, and `v1`
//! converted) spells it, and the normalised model with the API server's and the controller's
//! defaults applied (../shared/docs/autoscaling-semantics.md §1.2, §1.3).

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::quantity::Quantity;

/// The controller's cluster-wide tolerance (`--horizontal-pod-autoscaler-tolerance`).
pub const DEFAULT_TOLERANCE: f64 = 0.1;
/// The controller's scale-down stabilization when the HPA names none
/// (`--horizontal-pod-autoscaler-downscale-stabilization`).
pub const DEFAULT_SCALE_DOWN_STABILIZATION_S: u32 = 300;
/// The CPU target the API server adds to an HPA without metrics.
pub const DEFAULT_CPU_UTILIZATION: u32 = 80;

// ---- The manifest, as written -------------------------------------------------------------

/// `metadata` as far as rightsize needs it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ObjectMeta {
    /// Object name.
    #[serde(default)]
    pub name: String,
    /// Namespace, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// An HPA manifest of any supported version.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaManifest {
    /// `autoscaling/v2`, `autoscaling/v2beta2` or `autoscaling/v1`.
    pub api_version: String,
    /// `HorizontalPodAutoscaler`.
    pub kind: String,
    /// Name and namespace.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The spec.
    pub spec: HpaSpecManifest,
}

/// `spec` of any version (v1's `targetCPUUtilizationPercentage` included).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaSpecManifest {
    /// What it scales.
    pub scale_target_ref: TargetRef,
    /// Lower bound (default 1).
    pub min_replicas: Option<Spanned<i64>>,
    /// Upper bound (required).
    pub max_replicas: Spanned<i64>,
    /// v2 metrics.
    #[serde(default)]
    pub metrics: Option<Vec<MetricManifest>>,
    /// v2 behavior.
    pub behavior: Option<BehaviorManifest>,
    /// v1's only metric.
    #[serde(rename = "targetCPUUtilizationPercentage")]
    pub target_cpu_utilization_percentage: Option<Spanned<i64>>,
}

/// `scaleTargetRef`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetRef {
    /// Usually `apps/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Usually `Deployment` or `StatefulSet`.
    pub kind: String,
    /// The workload's name.
    pub name: String,
}

/// The five metric source types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum MetricType {
    /// A resource of the pods (cpu, memory).
    Resource,
    /// A resource of one container of the pods.
    ContainerResource,
    /// A per-pod custom metric.
    Pods,
    /// A metric of another object.
    Object,
    /// A metric from outside the cluster.
    External,
}

/// One entry of `spec.metrics`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricManifest {
    /// Which source below applies.
    #[serde(rename = "type")]
    pub kind: Spanned<MetricType>,
    /// For `Resource`.
    pub resource: Option<ResourceSource>,
    /// For `ContainerResource`.
    pub container_resource: Option<ResourceSource>,
    /// For `Pods`.
    pub pods: Option<NamedSource>,
    /// For `Object`.
    pub object: Option<ObjectSource>,
    /// For `External`.
    pub external: Option<NamedSource>,
}

/// `resource` / `containerResource`.
#[derive(Debug, Clone, Deserialize)]
pub struct ResourceSource {
    /// `cpu` or `memory`.
    pub name: String,
    /// For `containerResource`.
    pub container: Option<String>,
    /// The target.
    pub target: TargetManifest,
}

/// `metric` of a pods/object/external source.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct MetricIdentifier {
    /// The metric's name.
    pub name: String,
    /// A label selector, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<serde_json::Value>,
}

/// `pods` / `external`.
#[derive(Debug, Clone, Deserialize)]
pub struct NamedSource {
    /// The metric.
    pub metric: MetricIdentifier,
    /// The target.
    pub target: TargetManifest,
}

/// `object`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSource {
    /// The object measured.
    pub described_object: TargetRef,
    /// The metric.
    pub metric: MetricIdentifier,
    /// The target.
    pub target: TargetManifest,
}

/// Target value kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum TargetType {
    /// Percent of the pods' requests.
    Utilization,
    /// Total value.
    Value,
    /// Value per pod.
    AverageValue,
}

/// `target`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetManifest {
    /// Which field below applies.
    #[serde(rename = "type")]
    pub kind: Spanned<TargetType>,
    /// For `Utilization`.
    pub average_utilization: Option<i64>,
    /// For `AverageValue`.
    pub average_value: Option<Quantity>,
    /// For `Value`.
    pub value: Option<Quantity>,
}

/// `behavior`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BehaviorManifest {
    /// Scale-up rules.
    pub scale_up: Option<RulesManifest>,
    /// Scale-down rules.
    pub scale_down: Option<RulesManifest>,
}

/// `scaleUp` / `scaleDown`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RulesManifest {
    /// Seconds of recommendations considered.
    pub stabilization_window_seconds: Option<Spanned<i64>>,
    /// How policies combine.
    pub select_policy: Option<SelectPolicy>,
    /// Rate limits.
    pub policies: Option<Vec<PolicyManifest>>,
    /// Per-direction tolerance (KEP-4951).
    pub tolerance: Option<Quantity>,
}

/// `selectPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum SelectPolicy {
    /// The policy allowing the largest change.
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// `policies[].type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum PolicyKind {
    /// An absolute number of pods.
    Pods,
    /// A percent of the current replicas.
    Percent,
}

/// One rate-limit policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyManifest {
    /// Pods or Percent.
    #[serde(rename = "type")]
    pub kind: PolicyKind,
    /// How many pods, or what percent.
    pub value: Spanned<i64>,
    /// Over how long (1 to 1800 s).
    pub period_seconds: Spanned<i64>,
}

// ---- The normalised model ------------------------------------------------------------------

/// What a metric measures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MetricSource {
    /// A pod resource (`cpu`, `memory`), optionally of one container.
    Resource {
        /// `cpu` or `memory`.
        name: String,
        /// The container, for `ContainerResource`.
        #[serde(skip_serializing_if = "Option::is_none")]
        container: Option<String>,
    },
    /// A per-pod custom metric.
    Pods {
        /// The metric.
        metric: MetricIdentifier,
    },
    /// A metric of another object.
    Object {
        /// The object.
        described_object: TargetRef,
        /// The metric.
        metric: MetricIdentifier,
    },
    /// An external metric (summed over its series).
    External {
        /// The metric.
        metric: MetricIdentifier,
    },
}

/// A metric's target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Target {
    /// Percent of requests, averaged over pods.
    Utilization(u32),
    /// Value per pod.
    AverageValue(f64),
    /// Total value.
    Value(f64),
}

/// One metric with its target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// The source.
    pub source: MetricSource,
    /// The target.
    pub target: Target,
}

/// One rate-limit policy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Policy {
    /// Pods or Percent.
    pub kind: PolicyKind,
    /// How many pods, or what percent.
    pub value: u32,
    /// Over how many seconds.
    pub period_s: u32,
}

/// Scaling rules of one direction with defaults applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScalingRules {
    /// Stabilization window in seconds.
    pub stabilization_window_s: u32,
    /// How policies combine.
    pub select_policy: SelectPolicy,
    /// Rate limits.
    pub policies: Vec<Policy>,
    /// The tolerance band around 1.0 of the usage ratio.
    pub tolerance: f64,
    /// Fields that took their default value.
    pub defaulted: Vec<&'static str>,
}

/// The HPA's behavior with defaults applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Behavior {
    /// Scale-up rules.
    pub scale_up: ScalingRules,
    /// Scale-down rules.
    pub scale_down: ScalingRules,
}

/// A HorizontalPodAutoscaler as the controller runs it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hpa {
    /// Name and namespace.
    pub metadata: ObjectMeta,
    /// The version it was written in.
    pub api_version: String,
    /// What it scales.
    pub scale_target: TargetRef,
    /// Lower bound.
    pub min_replicas: u32,
    /// Upper bound.
    pub max_replicas: u32,
    /// Metrics; the API server's CPU 80% when none are given.
    pub metrics: Vec<Metric>,
    /// `None`: the legacy path (§1.7: 300 s scale-down stabilization, up to 2x or +4 a sync).
    pub behavior: Option<Behavior>,
    /// Top-level fields that took their default value.
    pub defaulted: Vec<&'static str>,
}

/// A semantic error: a field path, a location within the document, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Field path.
    pub path: String,
    /// 1-based line within the document.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// What is wrong.
    pub message: String,
}

fn invalid<T>(path: impl Into<String>, at: &Spanned<T>, message: impl Into<String>) -> Invalid {
    Invalid {
        path: path.into(),
        line: at.referenced.line(),
        column: at.referenced.column(),
        message: message.into(),
    }
}

fn in_range(path: &str, v: &Spanned<i64>, lo: i64, hi: i64) -> Result<u32, Invalid> {
    if (lo..=hi).contains(&v.value) {
        Ok(v.value as u32)
    } else {
        Err(invalid(
            path,
            v,
            format!("must be between {lo} and {hi}, found {}", v.value),
        ))
    }
}

fn rules(m: Option<&RulesManifest>, path: &str, up: bool) -> Result<ScalingRules, Invalid> {
    let empty = RulesManifest::default();
    let m = m.unwrap_or(&empty);
    let mut defaulted = Vec::new();
    let stabilization_window_s = match &m.stabilization_window_seconds {
        Some(w) => in_range(&format!("{path}.stabilizationWindowSeconds"), w, 0, 3600)?,
        None => {
            defaulted.push("stabilizationWindowSeconds");
            if up {
                0
            } else {
                DEFAULT_SCALE_DOWN_STABILIZATION_S
            }
        }
    };
    let select_policy = m.select_policy.unwrap_or_else(|| {
        defaulted.push("selectPolicy");
        SelectPolicy::Max
    });
    let policies = match &m.policies {
        Some(ps) => ps
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let at = format!("{path}.policies[{i}]");
                Ok(Policy {
                    kind: p.kind,
                    value: in_range(&format!("{at}.value"), &p.value, 1, i64::from(i32::MAX))?,
                    period_s: in_range(&format!("{at}.periodSeconds"), &p.period_seconds, 1, 1800)?,
                })
            })
            .collect::<Result<Vec<_>, Invalid>>()?,
        None => {
            defaulted.push("policies");
            if up {
                vec![
                    Policy {
                        kind: PolicyKind::Pods,
                        value: 4,
                        period_s: 15,
                    },
                    Policy {
                        kind: PolicyKind::Percent,
                        value: 100,
                        period_s: 15,
                    },
                ]
            } else {
                vec![Policy {
                    kind: PolicyKind::Percent,
                    value: 100,
                    period_s: 15,
                }]
            }
        }
    };
    let tolerance = match &m.tolerance {
        Some(q) if q.value() >= 0.0 => q.value(),
        Some(q) => {
            return Err(Invalid {
                path: format!("{path}.tolerance"),
                line: 1,
                column: 1,
                message: format!("must not be negative, found {q}"),
            });
        }
        None => {
            defaulted.push("tolerance");
            DEFAULT_TOLERANCE
        }
    };
    Ok(ScalingRules {
        stabilization_window_s,
        select_policy,
        policies,
        tolerance,
        defaulted,
    })
}

/// A `behavior` block with the API server's defaults for missing fields (§1.3); `path` is where
/// it stands (an HPA's `spec.behavior`, or a ScaledObject's HPA config).
pub(crate) fn behavior(b: &BehaviorManifest, path: &str) -> Result<Behavior, Invalid> {
    Ok(Behavior {
        scale_up: rules(b.scale_up.as_ref(), &format!("{path}.scaleUp"), true)?,
        scale_down: rules(b.scale_down.as_ref(), &format!("{path}.scaleDown"), false)?,
    })
}

fn target(t: &TargetManifest, path: &str) -> Result<Target, Invalid> {
    let missing = |field: &str| {
        invalid(
            format!("{path}.type"),
            &t.kind,
            format!("type {:?} needs {path}.{field}", t.kind.value),
        )
    };
    match t.kind.value {
        TargetType::Utilization => {
            let v = t
                .average_utilization
                .ok_or_else(|| missing("averageUtilization"))?;
            if !(1..=i64::from(u32::MAX)).contains(&v) {
                return Err(invalid(
                    format!("{path}.averageUtilization"),
                    &t.kind,
                    format!("must be a positive percent, found {v}"),
                ));
            }
            Ok(Target::Utilization(v as u32))
        }
        TargetType::AverageValue => Ok(Target::AverageValue(
            t.average_value
                .as_ref()
                .ok_or_else(|| missing("averageValue"))?
                .value(),
        )),
        TargetType::Value => Ok(Target::Value(
            t.value.as_ref().ok_or_else(|| missing("value"))?.value(),
        )),
    }
}

fn metric(m: &MetricManifest, path: &str) -> Result<Metric, Invalid> {
    let need = |field: &str| {
        invalid(
            format!("{path}.type"),
            &m.kind,
            format!("type {:?} needs {path}.{field}", m.kind.value),
        )
    };
    Ok(match m.kind.value {
        MetricType::Resource | MetricType::ContainerResource => {
            let (field, src) = if m.kind.value == MetricType::Resource {
                ("resource", m.resource.as_ref())
            } else {
                ("containerResource", m.container_resource.as_ref())
            };
            let src = src.ok_or_else(|| need(field))?;
            Metric {
                source: MetricSource::Resource {
                    name: src.name.clone(),
                    container: src.container.clone(),
                },
                target: target(&src.target, &format!("{path}.{field}.target"))?,
            }
        }
        MetricType::Pods => {
            let src = m.pods.as_ref().ok_or_else(|| need("pods"))?;
            Metric {
                source: MetricSource::Pods {
                    metric: src.metric.clone(),
                },
                target: target(&src.target, &format!("{path}.pods.target"))?,
            }
        }
        MetricType::External => {
            let src = m.external.as_ref().ok_or_else(|| need("external"))?;
            Metric {
                source: MetricSource::External {
                    metric: src.metric.clone(),
                },
                target: target(&src.target, &format!("{path}.external.target"))?,
            }
        }
        MetricType::Object => {
            let src = m.object.as_ref().ok_or_else(|| need("object"))?;
            Metric {
                source: MetricSource::Object {
                    described_object: src.described_object.clone(),
                    metric: src.metric.clone(),
                },
                target: target(&src.target, &format!("{path}.object.target"))?,
            }
        }
    })
}

impl Hpa {
    /// Normalises a manifest: converts v1, applies defaults, checks ranges and bounds.
    pub fn from_manifest(m: &HpaManifest) -> Result<Hpa, Invalid> {
        let s = &m.spec;
        let mut defaulted = Vec::new();
        let max_replicas = in_range("spec.maxReplicas", &s.max_replicas, 1, i64::from(i32::MAX))?;
        let min_replicas = match &s.min_replicas {
            // 0 needs the HPAScaleToZero gate and an Object or External metric; accept it and
            // let the simulator treat it as such.
            Some(v) => in_range("spec.minReplicas", v, 0, i64::from(i32::MAX))?,
            None => {
                defaulted.push("minReplicas");
                1
            }
        };
        if min_replicas > max_replicas {
            let at = s.min_replicas.as_ref().unwrap_or(&s.max_replicas);
            return Err(invalid(
                "spec.minReplicas",
                at,
                format!("minReplicas {min_replicas} is above maxReplicas {max_replicas}"),
            ));
        }
        let mut metrics = match (&s.metrics, &s.target_cpu_utilization_percentage) {
            (Some(list), _) if !list.is_empty() => list
                .iter()
                .enumerate()
                .map(|(i, mm)| metric(mm, &format!("spec.metrics[{i}]")))
                .collect::<Result<Vec<_>, _>>()?,
            (_, Some(pct)) => vec![Metric {
                source: MetricSource::Resource {
                    name: "cpu".into(),
                    container: None,
                },
                target: Target::Utilization(in_range(
                    "spec.targetCPUUtilizationPercentage",
                    pct,
                    1,
                    i64::from(i32::MAX),
                )?),
            }],
            _ => Vec::new(),
        };
        if metrics.is_empty() {
            defaulted.push("metrics");
            metrics.push(Metric {
                source: MetricSource::Resource {
                    name: "cpu".into(),
                    container: None,
                },
                target: Target::Utilization(DEFAULT_CPU_UTILIZATION),
            });
        }
        let behavior = s
            .behavior
            .as_ref()
            .map(|b| behavior(b, "spec.behavior"))
            .transpose()?;
        Ok(Hpa {
            metadata: m.metadata.clone(),
            api_version: m.api_version.clone(),
            scale_target: s.scale_target_ref.clone(),
            min_replicas,
            max_replicas,
            metrics,
            behavior,
            defaulted,
        })
    }

    /// The HPA in words a reviewer can check, one fact a line.
    pub fn describe(&self) -> Vec<String> {
        let d = |field: &str, list: &[&str]| {
            if list.contains(&field) {
                " (default)"
            } else {
                ""
            }
        };
        let mut out = vec![format!(
            "HorizontalPodAutoscaler {} ({}) scales {} {}",
            self.metadata.name, self.api_version, self.scale_target.kind, self.scale_target.name
        )];
        out.push(format!(
            "  replicas: {}{} to {}",
            self.min_replicas,
            d("minReplicas", &self.defaulted),
            self.max_replicas
        ));
        for m in &self.metrics {
            let what = match &m.source {
                MetricSource::Resource {
                    name,
                    container: None,
                } => format!("{name} of the pods"),
                MetricSource::Resource {
                    name,
                    container: Some(c),
                } => format!("{name} of container {c}"),
                MetricSource::Pods { metric } => format!("pods metric {}", metric.name),
                MetricSource::Object {
                    described_object,
                    metric,
                } => format!(
                    "metric {} of {} {}",
                    metric.name, described_object.kind, described_object.name
                ),
                MetricSource::External { metric } => {
                    format!("external metric {} (summed)", metric.name)
                }
            };
            let target = match m.target {
                Target::Utilization(p) => format!("{p}% of requests, averaged over pods"),
                Target::AverageValue(v) => format!("{v} per pod"),
                Target::Value(v) => format!("{v} in total"),
            };
            out.push(format!(
                "  metric: {what}, target {target}{}",
                d("metrics", &self.defaulted)
            ));
        }
        match &self.behavior {
            None => {
                out.push(format!(
                    "  scale-up: at most max(2x current, 4) a sync (no behavior: legacy limits), tolerance {DEFAULT_TOLERANCE}"
                ));
                out.push(format!(
                    "  scale-down: stabilization {DEFAULT_SCALE_DOWN_STABILIZATION_S} s (controller default), no rate limit"
                ));
            }
            Some(b) => {
                for (dir, r) in [("scale-up", &b.scale_up), ("scale-down", &b.scale_down)] {
                    let policies: Vec<String> = r
                        .policies
                        .iter()
                        .map(|p| match p.kind {
                            PolicyKind::Pods => format!("{} pods per {} s", p.value, p.period_s),
                            PolicyKind::Percent => format!("{}% per {} s", p.value, p.period_s),
                        })
                        .collect();
                    let select = match r.select_policy {
                        SelectPolicy::Max => "the largest of",
                        SelectPolicy::Min => "the smallest of",
                        SelectPolicy::Disabled => "disabled:",
                    };
                    out.push(format!(
                        "  {dir}: stabilization {} s{}, at most {select} {}{}, tolerance {}{}",
                        r.stabilization_window_s,
                        d("stabilizationWindowSeconds", &r.defaulted),
                        policies.join(", "),
                        d("policies", &r.defaulted),
                        r.tolerance,
                        d("tolerance", &r.defaulted),
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::yaml::{parse_document, split_documents};

    fn load(text: &str) -> Result<Hpa, String> {
        let docs = split_documents(text);
        let m: HpaManifest =
            parse_document(&docs[0], "hpa.yaml", &mut Vec::new()).map_err(|e| e.to_string())?;
        Hpa::from_manifest(&m)
            .map_err(|e| format!("{}:{}: {}: {}", e.line, e.column, e.path, e.message))
    }

    const V2: &str = "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: reco
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: reco
  minReplicas: 6
  maxReplicas: 40
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 60
  - type: Pods
    pods:
      metric:
        name: http_requests_per_second
      target:
        type: AverageValue
        averageValue: 150
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 600
      policies:
      - type: Pods
        value: 2
        periodSeconds: 60
";

    #[test]
    fn v2_with_partial_behavior_gets_the_api_defaults() {
        let h = load(V2).expect("valid");
        assert_eq!((h.min_replicas, h.max_replicas), (6, 40));
        assert_eq!(h.metrics.len(), 2);
        assert_eq!(h.metrics[0].target, Target::Utilization(60));
        assert_eq!(h.metrics[1].target, Target::AverageValue(150.0));
        let b = h.behavior.as_ref().expect("behavior");
        // scaleUp absent: 0 s window, Max, Pods 4/15s and Percent 100/15s (§1.3).
        assert_eq!(b.scale_up.stabilization_window_s, 0);
        assert_eq!(b.scale_up.select_policy, SelectPolicy::Max);
        assert_eq!(
            b.scale_up.policies,
            vec![
                Policy {
                    kind: PolicyKind::Pods,
                    value: 4,
                    period_s: 15
                },
                Policy {
                    kind: PolicyKind::Percent,
                    value: 100,
                    period_s: 15
                },
            ]
        );
        assert_eq!(b.scale_down.stabilization_window_s, 600);
        assert_eq!(
            b.scale_down.policies,
            vec![Policy {
                kind: PolicyKind::Pods,
                value: 2,
                period_s: 60
            }]
        );
        assert_eq!(b.scale_down.tolerance, 0.1);
        let text = h.describe().join("\n");
        assert!(text.contains("scale-down: stabilization 600 s, at most the largest of 2 pods per 60 s, tolerance 0.1 (default)"), "{text}");
        assert!(
            text.contains("scale-up: stabilization 0 s (default)"),
            "{text}"
        );
    }

    #[test]
    fn no_metrics_no_behavior_and_v1() {
        let h = load("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: a}\nspec:\n  scaleTargetRef: {kind: Deployment, name: a}\n  maxReplicas: 5\n").expect("valid");
        assert_eq!(h.min_replicas, 1);
        assert_eq!(h.metrics[0].target, Target::Utilization(80));
        assert!(h.behavior.is_none());
        assert!(
            h.describe()
                .join("\n")
                .contains("scale-down: stabilization 300 s (controller default)")
        );
        let v1 = load("apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: a}\nspec:\n  scaleTargetRef: {kind: Deployment, name: a}\n  minReplicas: 2\n  maxReplicas: 5\n  targetCPUUtilizationPercentage: 70\n").expect("valid");
        assert_eq!(v1.metrics[0].target, Target::Utilization(70));
        assert_eq!(v1.min_replicas, 2);
    }

    #[test]
    fn bad_values_are_located() {
        let bad = V2.replace("averageUtilization: 60", "averageUtilization: \"60%\"");
        let err = load(&bad).expect_err("string percent");
        assert_eq!(
            err,
            "hpa.yaml:18:29: spec.metrics[0].resource.target.averageUtilization: expected an integer, found \"60%\""
        );
        let err = load(&V2.replace("minReplicas: 6", "minReplicas: 60")).expect_err("min > max");
        assert_eq!(
            err,
            "10:16: spec.minReplicas: minReplicas 60 is above maxReplicas 40"
        );
        let err = load(&V2.replace("type: Pods\n    pods", "type: Podz\n    pods"))
            .expect_err("unknown type");
        assert!(err.starts_with("hpa.yaml:19:"), "{err}");
        assert!(err.contains("spec.metrics[1].type"), "{err}");
        let err =
            load(&V2.replace("periodSeconds: 60", "periodSeconds: 3600")).expect_err("period");
        assert!(err.contains("spec.behavior.scaleDown.policies[0].periodSeconds: must be between 1 and 1800, found 3600"), "{err}");
    }
}
