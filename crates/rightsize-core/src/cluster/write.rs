//! Writing the model back as manifests an engineer can `kubectl apply` or hand to eksctl or
//! Karpenter: stable field order (the order of the structs below, Kubernetes' own), a short
//! `# why` comment on top, every default written out so the file says what it does.

use std::collections::BTreeMap;

use serde::Serialize;

use super::hpa::{Hpa, MetricSource, PolicyKind, SelectPolicy, Target, TargetRef};
use super::keda::{ScaledObject, Trigger};
use super::nodegroup::{Capacity, NodeGroup, Vpa};
use super::quantity::Quantity;

/// Why a manifest could not be written (a serializer failure; not expected).
#[derive(Debug, thiserror::Error)]
#[error("cannot write {what}: {message}")]
pub struct WriteError {
    what: &'static str,
    message: String,
}

fn yaml<T: Serialize>(value: &T, why: &str, what: &'static str) -> Result<String, WriteError> {
    let body = serde_saphyr::to_string(value).map_err(|e| WriteError {
        what,
        message: e.to_string(),
    })?;
    let mut out = String::new();
    for line in why.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&body);
    Ok(out)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Meta<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest<'a, S> {
    api_version: &'a str,
    kind: &'a str,
    metadata: Meta<'a>,
    spec: S,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HpaSpecOut<'a> {
    scale_target_ref: &'a TargetRef,
    min_replicas: u32,
    max_replicas: u32,
    metrics: Vec<MetricOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    behavior: Option<BehaviorOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MetricOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<ResourceOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container_resource: Option<ResourceOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pods: Option<NamedOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<ObjectOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external: Option<NamedOut<'a>>,
}

#[derive(Serialize)]
struct ResourceOut<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<&'a str>,
    target: TargetOut,
}

#[derive(Serialize)]
struct NamedOut<'a> {
    metric: &'a super::hpa::MetricIdentifier,
    target: TargetOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ObjectOut<'a> {
    described_object: &'a TargetRef,
    metric: &'a super::hpa::MetricIdentifier,
    target: TargetOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TargetOut {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    average_utilization: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    average_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn target_out(t: &Target) -> TargetOut {
    match t {
        Target::Utilization(p) => TargetOut {
            kind: "Utilization",
            average_utilization: Some(*p),
            average_value: None,
            value: None,
        },
        Target::AverageValue(v) => TargetOut {
            kind: "AverageValue",
            average_utilization: None,
            average_value: Some(number(*v)),
            value: None,
        },
        Target::Value(v) => TargetOut {
            kind: "Value",
            average_utilization: None,
            average_value: None,
            value: Some(number(*v)),
        },
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BehaviorOut {
    scale_up: RulesOut,
    scale_down: RulesOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RulesOut {
    stabilization_window_seconds: u32,
    select_policy: SelectPolicy,
    policies: Vec<PolicyOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tolerance: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicyOut {
    #[serde(rename = "type")]
    kind: PolicyKind,
    value: u32,
    period_seconds: u32,
}

fn rules_out(r: &super::hpa::ScalingRules) -> RulesOut {
    RulesOut {
        stabilization_window_seconds: r.stabilization_window_s,
        select_policy: r.select_policy,
        policies: r
            .policies
            .iter()
            .map(|p| PolicyOut {
                kind: p.kind,
                value: p.value,
                period_seconds: p.period_s,
            })
            .collect(),
        // The per-direction tolerance needs the HPAConfigurableTolerance gate: write it only
        // when it differs from the cluster default, so the manifest applies everywhere else.
        tolerance: ((r.tolerance - super::hpa::DEFAULT_TOLERANCE).abs() > 1e-12)
            .then(|| number(r.tolerance)),
    }
}

/// Writes an HPA as `autoscaling/v2` with every behavior field explicit.
pub fn hpa_yaml(h: &Hpa, why: &str) -> Result<String, WriteError> {
    let metrics = h
        .metrics
        .iter()
        .map(|m| {
            let t = target_out(&m.target);
            let mut out = MetricOut {
                kind: "Resource",
                resource: None,
                container_resource: None,
                pods: None,
                object: None,
                external: None,
            };
            match &m.source {
                MetricSource::Resource {
                    name,
                    container: None,
                } => {
                    out.resource = Some(ResourceOut {
                        name,
                        container: None,
                        target: t,
                    });
                }
                MetricSource::Resource {
                    name,
                    container: Some(c),
                } => {
                    out.kind = "ContainerResource";
                    out.container_resource = Some(ResourceOut {
                        name,
                        container: Some(c),
                        target: t,
                    });
                }
                MetricSource::Pods { metric } => {
                    out.kind = "Pods";
                    out.pods = Some(NamedOut { metric, target: t });
                }
                MetricSource::External { metric } => {
                    out.kind = "External";
                    out.external = Some(NamedOut { metric, target: t });
                }
                MetricSource::Object {
                    described_object,
                    metric,
                } => {
                    out.kind = "Object";
                    out.object = Some(ObjectOut {
                        described_object,
                        metric,
                        target: t,
                    });
                }
            }
            out
        })
        .collect();
    let m = Manifest {
        api_version: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata: Meta {
            name: &h.metadata.name,
            namespace: h.metadata.namespace.as_deref(),
        },
        spec: HpaSpecOut {
            scale_target_ref: &h.scale_target,
            min_replicas: h.min_replicas,
            max_replicas: h.max_replicas,
            metrics,
            behavior: h.behavior.as_ref().map(|b| BehaviorOut {
                scale_up: rules_out(&b.scale_up),
                scale_down: rules_out(&b.scale_down),
            }),
        },
    };
    yaml(&m, why, "HorizontalPodAutoscaler")
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScaledObjectSpecOut<'a> {
    scale_target_ref: BTreeMap<&'static str, &'a str>,
    polling_interval: u32,
    cooldown_period: u32,
    min_replica_count: u32,
    max_replica_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    idle_replica_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    advanced: Option<AdvancedOut>,
    triggers: Vec<TriggerOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AdvancedOut {
    horizontal_pod_autoscaler_config: HpaConfigOut,
}

#[derive(Serialize)]
struct HpaConfigOut {
    behavior: BehaviorOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TriggerOut {
    #[serde(rename = "type")]
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    metric_type: Option<super::hpa::TargetType>,
    metadata: BTreeMap<&'static str, String>,
}

/// Writes a KEDA ScaledObject; trigger metadata is written as strings, as KEDA documents it.
pub fn scaled_object_yaml(so: &ScaledObject, why: &str) -> Result<String, WriteError> {
    let triggers = so
        .triggers
        .iter()
        .filter_map(|t| {
            let mut md = BTreeMap::new();
            let (kind, metric_type) = match t {
                Trigger::Prometheus {
                    server_address,
                    query,
                    threshold,
                    activation_threshold,
                    ignore_null_values,
                    metric_type,
                } => {
                    md.insert("serverAddress", server_address.clone());
                    md.insert("query", query.clone());
                    md.insert("threshold", number(*threshold));
                    md.insert("activationThreshold", number(*activation_threshold));
                    md.insert("ignoreNullValues", ignore_null_values.to_string());
                    ("prometheus".to_string(), Some(*metric_type))
                }
                Trigger::Resource {
                    name,
                    metric_type,
                    value,
                } => {
                    md.insert("value", number(*value));
                    (name.clone(), Some(*metric_type))
                }
                Trigger::Cron {
                    timezone,
                    start,
                    end,
                    desired_replicas,
                } => {
                    md.insert("timezone", timezone.clone());
                    md.insert("start", start.clone());
                    md.insert("end", end.clone());
                    md.insert("desiredReplicas", desired_replicas.to_string());
                    ("cron".to_string(), None)
                }
                // A trigger rightsize does not model has no settings of its to write back.
                Trigger::Other { .. } => return None,
            };
            Some(TriggerOut {
                kind,
                metric_type,
                metadata: md,
            })
        })
        .collect();
    let mut target = BTreeMap::new();
    target.insert("kind", so.scale_target.0.as_str());
    target.insert("name", so.scale_target.1.as_str());
    let m = Manifest {
        api_version: "keda.sh/v1alpha1",
        kind: "ScaledObject",
        metadata: Meta {
            name: &so.metadata.name,
            namespace: so.metadata.namespace.as_deref(),
        },
        spec: ScaledObjectSpecOut {
            scale_target_ref: target,
            polling_interval: so.polling_interval_s,
            cooldown_period: so.cooldown_period_s,
            min_replica_count: so.min_replica_count,
            max_replica_count: so.max_replica_count,
            idle_replica_count: so.idle_replica_count,
            advanced: so.hpa_behavior.as_ref().map(|b| AdvancedOut {
                horizontal_pod_autoscaler_config: HpaConfigOut {
                    behavior: BehaviorOut {
                        scale_up: rules_out(&b.scale_up),
                        scale_down: rules_out(&b.scale_down),
                    },
                },
            }),
            triggers,
        },
    };
    yaml(&m, why, "ScaledObject")
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VpaSpecOut<'a> {
    target_ref: &'a TargetRef,
    update_policy: BTreeMap<&'static str, &'a str>,
}

/// Writes a VerticalPodAutoscaler.
pub fn vpa_yaml(v: &Vpa, why: &str) -> Result<String, WriteError> {
    let mut policy = BTreeMap::new();
    policy.insert("updateMode", v.update_mode.as_str());
    let m = Manifest {
        api_version: "autoscaling.k8s.io/v1",
        kind: "VerticalPodAutoscaler",
        metadata: Meta {
            name: &v.name,
            namespace: v.namespace.as_deref(),
        },
        spec: VpaSpecOut {
            target_ref: &v.target,
            update_policy: policy,
        },
    };
    yaml(&m, why, "VerticalPodAutoscaler")
}

/// New requests (and optionally limits) for one container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerResources {
    /// Container name.
    pub name: String,
    /// CPU request in cores.
    pub cpu_request_cores: Option<f64>,
    /// Memory request in bytes.
    pub memory_request_bytes: Option<f64>,
    /// Memory limit in bytes.
    pub memory_limit_bytes: Option<f64>,
}

/// Writes a strategic-merge patch for a Deployment's container resources
/// (`kubectl patch deployment NAME --patch-file FILE`).
pub fn resources_patch_yaml(
    containers: &[ContainerResources],
    why: &str,
) -> Result<String, WriteError> {
    #[derive(Serialize)]
    struct Patch {
        spec: PatchSpec,
    }
    #[derive(Serialize)]
    struct PatchSpec {
        template: PatchTemplate,
    }
    #[derive(Serialize)]
    struct PatchTemplate {
        spec: PatchPodSpec,
    }
    #[derive(Serialize)]
    struct PatchPodSpec {
        containers: Vec<PatchContainer>,
    }
    #[derive(Serialize)]
    struct PatchContainer {
        name: String,
        resources: BTreeMap<&'static str, BTreeMap<&'static str, Quantity>>,
    }
    let containers = containers
        .iter()
        .map(|c| {
            let mut requests = BTreeMap::new();
            if let Some(v) = c.cpu_request_cores {
                requests.insert("cpu", Quantity::cpu(v));
            }
            if let Some(v) = c.memory_request_bytes {
                requests.insert("memory", Quantity::bytes(v));
            }
            let mut resources = BTreeMap::new();
            resources.insert("requests", requests);
            if let Some(v) = c.memory_limit_bytes {
                let mut limits = BTreeMap::new();
                limits.insert("memory", Quantity::bytes(v));
                resources.insert("limits", limits);
            }
            PatchContainer {
                name: c.name.clone(),
                resources,
            }
        })
        .collect();
    let p = Patch {
        spec: PatchSpec {
            template: PatchTemplate {
                spec: PatchPodSpec { containers },
            },
        },
    };
    yaml(&p, why, "Deployment patch")
}

/// Writes an eksctl `ClusterConfig` holding one managed node group.
pub fn eksctl_yaml(
    cluster: &str,
    region: &str,
    g: &NodeGroup,
    why: &str,
) -> Result<String, WriteError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Config<'a> {
        api_version: &'static str,
        kind: &'static str,
        metadata: BTreeMap<&'static str, &'a str>,
        managed_node_groups: Vec<Group<'a>>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Group<'a> {
        name: &'a str,
        instance_types: &'a [String],
        min_size: u32,
        max_size: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        desired_capacity: Option<u32>,
        spot: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        max_pods_per_node: Option<u32>,
    }
    let mut metadata = BTreeMap::new();
    metadata.insert("name", cluster);
    metadata.insert("region", region);
    let c = Config {
        api_version: "eksctl.io/v1alpha5",
        kind: "ClusterConfig",
        metadata,
        managed_node_groups: vec![Group {
            name: &g.name,
            instance_types: &g.instance_types,
            min_size: g.min_nodes,
            max_size: g.max_nodes.unwrap_or(g.min_nodes),
            desired_capacity: g.desired_nodes,
            spot: g.capacity == Capacity::Spot,
            max_pods_per_node: g.max_pods_per_node,
        }],
    };
    yaml(&c, why, "eksctl ClusterConfig")
}

/// Writes a Karpenter `NodePool` (`karpenter.sh/v1`) for an EC2NodeClass named `node_class`.
pub fn nodepool_yaml(g: &NodeGroup, node_class: &str, why: &str) -> Result<String, WriteError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Spec<'a> {
        template: Template<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        limits: Option<BTreeMap<&'static str, String>>,
        disruption: Disruption<'a>,
    }
    #[derive(Serialize)]
    struct Template<'a> {
        spec: TemplateSpec<'a>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct TemplateSpec<'a> {
        requirements: Vec<Req<'a>>,
        node_class_ref: BTreeMap<&'static str, &'a str>,
    }
    #[derive(Serialize)]
    struct Req<'a> {
        key: &'static str,
        operator: &'static str,
        values: Vec<&'a str>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Disruption<'a> {
        consolidation_policy: &'a str,
        consolidate_after: String,
    }
    let capacity: Vec<&str> = match g.capacity {
        Capacity::OnDemand => vec!["on-demand"],
        Capacity::Spot => vec!["spot"],
        Capacity::Mixed => vec!["spot", "on-demand"],
    };
    let mut node_class_ref = BTreeMap::new();
    node_class_ref.insert("group", "karpenter.k8s.aws");
    node_class_ref.insert("kind", "EC2NodeClass");
    node_class_ref.insert("name", node_class);
    let consolidation = g.consolidation.as_ref();
    let spec = Spec {
        template: Template {
            spec: TemplateSpec {
                requirements: vec![
                    Req {
                        key: "node.kubernetes.io/instance-type",
                        operator: "In",
                        values: g.instance_types.iter().map(String::as_str).collect(),
                    },
                    Req {
                        key: "karpenter.sh/capacity-type",
                        operator: "In",
                        values: capacity,
                    },
                ],
                node_class_ref,
            },
        },
        limits: g.limit_cpu_cores.map(|c| {
            let mut l = BTreeMap::new();
            l.insert("cpu", number(c));
            l
        }),
        disruption: Disruption {
            consolidation_policy: consolidation
                .map_or("WhenEmptyOrUnderutilized", |c| c.policy.as_str()),
            consolidate_after: match consolidation.map(|c| c.after_s) {
                Some(None) => "Never".to_string(),
                Some(Some(s)) => format!("{s}s"),
                None => "0s".to_string(),
            },
        },
    };
    let m = Manifest {
        api_version: "karpenter.sh/v1",
        kind: "NodePool",
        metadata: Meta {
            name: &g.name,
            namespace: None,
        },
        spec,
    };
    yaml(&m, why, "NodePool")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ClusterConfig;

    const INPUT: &str = "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: reco, namespace: serving}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: reco}
  minReplicas: 4
  maxReplicas: 40
  metrics:
  - type: Pods
    pods:
      metric: {name: http_requests_per_second}
      target: {type: AverageValue, averageValue: \"150\"}
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 600}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: reco}
spec:
  scaleTargetRef: {name: reco}
  minReplicaCount: 3
  maxReplicaCount: 40
  advanced:
    horizontalPodAutoscalerConfig:
      behavior:
        scaleUp: {policies: [{type: Percent, value: 200, periodSeconds: 30}]}
  triggers:
  - type: prometheus
    metadata: {serverAddress: 'http://prometheus:9090', query: 'sum(rate(x[1m]))', threshold: '150'}
  - type: cron
    metadata: {timezone: Europe/Berlin, start: '30 17 * * *', end: '0 23 * * *', desiredReplicas: '20'}
---
apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: reco}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: reco}
  updatePolicy: {updateMode: 'Off'}
---
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: serving}
spec:
  template:
    spec:
      requirements:
      - {key: node.kubernetes.io/instance-type, operator: In, values: [m5.2xlarge]}
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
  limits: {cpu: '400'}
  disruption: {consolidationPolicy: WhenEmptyOrUnderutilized, consolidateAfter: 5m}
";

    fn strip_defaults(c: &mut ClusterConfig) {
        for h in &mut c.hpas {
            h.defaulted.clear();
            if let Some(b) = &mut h.behavior {
                b.scale_up.defaulted.clear();
                b.scale_down.defaulted.clear();
            }
        }
        for so in &mut c.scaled_objects {
            so.defaulted.clear();
            if let Some(b) = &mut so.hpa_behavior {
                b.scale_up.defaulted.clear();
                b.scale_down.defaulted.clear();
            }
        }
    }

    #[test]
    fn written_manifests_read_back_equal() {
        let mut original = ClusterConfig::new();
        original.read(INPUT, "in.yaml").expect("reads");
        let mut written = String::new();
        written.push_str(&hpa_yaml(&original.hpas[0], "why: test").expect("hpa"));
        written.push_str("---\n");
        written.push_str(&scaled_object_yaml(&original.scaled_objects[0], "why").expect("so"));
        written.push_str("---\n");
        written.push_str(&vpa_yaml(&original.vpas[0], "why").expect("vpa"));
        written.push_str("---\n");
        written.push_str(&nodepool_yaml(&original.node_groups[0], "default", "why").expect("pool"));
        let mut again = ClusterConfig::new();
        again
            .read(&written, "out.yaml")
            .expect("reads what it wrote");
        assert!(again.warnings.is_empty(), "{:?}", again.warnings);
        assert!(again.skipped.is_empty(), "{:?}", again.skipped);
        strip_defaults(&mut original);
        strip_defaults(&mut again);
        assert_eq!(again.hpas, original.hpas);
        assert_eq!(again.scaled_objects, original.scaled_objects);
        assert_eq!(again.vpas, original.vpas);
        let (a, b) = (&again.node_groups[0], &original.node_groups[0]);
        assert_eq!(
            (
                &a.instance_types,
                a.limit_cpu_cores,
                &a.consolidation.as_ref().map(|c| c.after_s)
            ),
            (
                &b.instance_types,
                b.limit_cpu_cores,
                &b.consolidation.as_ref().map(|c| c.after_s)
            )
        );
        // Stable output: the same model writes the same bytes.
        assert_eq!(
            hpa_yaml(&original.hpas[0], "x").expect("a"),
            hpa_yaml(&original.hpas[0], "x").expect("b")
        );
        assert!(
            written.starts_with(
                "# why: test\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
            ),
            "{written}"
        );
    }

    #[test]
    fn eksctl_and_patch_round_trip() {
        let g = NodeGroup {
            source: "eksctl managedNodeGroup",
            name: "serving".into(),
            instance_types: vec!["m6i.2xlarge".into()],
            min_nodes: 2,
            max_nodes: Some(30),
            desired_nodes: Some(4),
            capacity: Capacity::OnDemand,
            max_pods_per_node: Some(20),
            limit_cpu_cores: None,
            consolidation: None,
            eksctl_cluster: Some(("prod".into(), "us-east-1".into())),
            karpenter_node_class: None,
        };
        let text = eksctl_yaml("prod", "us-east-1", &g, "smaller night floor").expect("eksctl");
        let mut c = ClusterConfig::new();
        c.read(&text, "eksctl.yaml").expect("reads");
        assert_eq!(c.node_groups, vec![g]);
        let patch = resources_patch_yaml(
            &[ContainerResources {
                name: "model".into(),
                cpu_request_cores: Some(1.25),
                memory_request_bytes: Some(3.0 * 1073741824.0),
                memory_limit_bytes: Some(4.0 * 1073741824.0),
            }],
            "right-sized from the week's p95",
        )
        .expect("patch");
        assert!(patch.contains("cpu: 1250m"), "{patch}");
        assert!(patch.contains("memory: 3Gi"), "{patch}");
        assert!(patch.contains("- name: model"), "{patch}");
    }
}
