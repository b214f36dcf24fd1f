//! Node groups from the three places teams define them: eksctl `ClusterConfig`
//! (`managedNodeGroups`, `nodeGroups`), Karpenter `NodePool` (`karpenter.sh/v1`) and GKE's
//! Config Connector `ContainerNodePool`; and the VerticalPodAutoscaler (`autoscaling.k8s.io/v1`).

use serde::{Deserialize, Serialize};

use super::hpa::{Invalid, ObjectMeta, TargetRef};
use super::quantity::Quantity;

/// How nodes are bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capacity {
    /// On-demand.
    OnDemand,
    /// Spot or preemptible.
    Spot,
    /// Either (a Karpenter pool allowing both, an eksctl instances distribution).
    Mixed,
}

impl std::fmt::Display for Capacity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Capacity::OnDemand => "on-demand",
            Capacity::Spot => "spot",
            Capacity::Mixed => "on-demand and spot",
        })
    }
}

/// Karpenter's consolidation settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Consolidation {
    /// `WhenEmptyOrUnderutilized` (default) or `WhenEmpty`.
    pub policy: String,
    /// Seconds a node must be consolidatable first (`Never` is `None`).
    pub after_s: Option<u64>,
    /// Disruption budgets as written (`nodes: "10%"` by default).
    pub budgets: Vec<String>,
}

/// A node group of any origin, normalised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeGroup {
    /// `eksctl managedNodeGroup`, `eksctl nodeGroup`, `Karpenter NodePool`, `GKE ContainerNodePool`.
    pub source: &'static str,
    /// The group's name.
    pub name: String,
    /// Instance types it may launch.
    pub instance_types: Vec<String>,
    /// Fewest nodes.
    pub min_nodes: u32,
    /// Most nodes (Karpenter: unbounded unless limits say otherwise).
    pub max_nodes: Option<u32>,
    /// Nodes at creation, if given.
    pub desired_nodes: Option<u32>,
    /// How nodes are bought.
    pub capacity: Capacity,
    /// Pods per node override.
    pub max_pods_per_node: Option<u32>,
    /// Karpenter's CPU limit in cores.
    pub limit_cpu_cores: Option<f64>,
    /// Karpenter's consolidation.
    pub consolidation: Option<Consolidation>,
    /// eksctl: the `metadata.name` and `metadata.region` of the ClusterConfig it came from
    /// (what a rewritten file must carry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eksctl_cluster: Option<(String, String)>,
    /// Karpenter: the EC2NodeClass its `nodeClassRef` names (what a rewritten NodePool must
    /// name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub karpenter_node_class: Option<String>,
}

// ---- eksctl -----------------------------------------------------------------------------------

/// eksctl's `ClusterConfig`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EksctlConfig {
    /// Cluster name and region.
    #[serde(default)]
    pub metadata: serde_json::Value,
    /// Managed node groups.
    #[serde(default)]
    pub managed_node_groups: Vec<EksctlNodeGroup>,
    /// Self-managed node groups.
    #[serde(default)]
    pub node_groups: Vec<EksctlNodeGroup>,
}

/// One eksctl node group.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EksctlNodeGroup {
    /// Name.
    pub name: String,
    /// One type.
    pub instance_type: Option<String>,
    /// Several types (managed groups).
    pub instance_types: Option<Vec<String>>,
    /// Mixed instances (self-managed groups).
    pub instances_distribution: Option<InstancesDistribution>,
    /// Fewest nodes.
    pub min_size: Option<u32>,
    /// Most nodes.
    pub max_size: Option<u32>,
    /// Nodes at creation.
    pub desired_capacity: Option<u32>,
    /// Spot (managed groups).
    pub spot: Option<bool>,
    /// Pods per node.
    pub max_pods_per_node: Option<u32>,
}

/// `instancesDistribution`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstancesDistribution {
    /// Types.
    pub instance_types: Vec<String>,
    /// On-demand nodes before any spot.
    pub on_demand_base_capacity: Option<u32>,
    /// Percent on-demand above the base (default 100).
    pub on_demand_percentage_above_base_capacity: Option<u32>,
}

fn eksctl_group(g: &EksctlNodeGroup, managed: bool) -> Result<NodeGroup, Invalid> {
    let path = if managed {
        "managedNodeGroups"
    } else {
        "nodeGroups"
    };
    let (types, capacity) = match (
        &g.instance_type,
        &g.instance_types,
        &g.instances_distribution,
    ) {
        (_, _, Some(d)) => {
            let on_demand = d.on_demand_percentage_above_base_capacity.unwrap_or(100);
            let cap = if on_demand >= 100 {
                Capacity::OnDemand
            } else if on_demand == 0 && d.on_demand_base_capacity.unwrap_or(0) == 0 {
                Capacity::Spot
            } else {
                Capacity::Mixed
            };
            (d.instance_types.clone(), cap)
        }
        (_, Some(ts), None) if !ts.is_empty() => (
            ts.clone(),
            if g.spot == Some(true) {
                Capacity::Spot
            } else {
                Capacity::OnDemand
            },
        ),
        (Some(t), _, None) => (
            vec![t.clone()],
            if g.spot == Some(true) {
                Capacity::Spot
            } else {
                Capacity::OnDemand
            },
        ),
        // eksctl's default instance type.
        _ => (
            vec!["m5.large".to_string()],
            if g.spot == Some(true) {
                Capacity::Spot
            } else {
                Capacity::OnDemand
            },
        ),
    };
    // eksctl defaults: desired 2, min and max follow desired.
    let desired = g.desired_capacity.unwrap_or(2);
    let min = g.min_size.unwrap_or(desired);
    let max = g.max_size.unwrap_or(desired.max(min));
    if min > max {
        return Err(Invalid {
            path: format!("{path}[{}].minSize", g.name),
            line: 1,
            column: 1,
            message: format!("minSize {min} is above maxSize {max}"),
        });
    }
    Ok(NodeGroup {
        source: if managed {
            "eksctl managedNodeGroup"
        } else {
            "eksctl nodeGroup"
        },
        name: g.name.clone(),
        instance_types: types,
        min_nodes: min,
        max_nodes: Some(max),
        desired_nodes: Some(desired.clamp(min, max)),
        capacity,
        max_pods_per_node: g.max_pods_per_node,
        limit_cpu_cores: None,
        consolidation: None,
        eksctl_cluster: None,
        karpenter_node_class: None,
    })
}

impl EksctlConfig {
    /// The node groups, normalised with eksctl's defaults.
    pub fn node_groups(&self) -> Result<Vec<NodeGroup>, Invalid> {
        let managed = self
            .managed_node_groups
            .iter()
            .map(|g| eksctl_group(g, true));
        let unmanaged = self.node_groups.iter().map(|g| eksctl_group(g, false));
        let field = |k: &str| {
            self.metadata
                .get(k)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let cluster = field("name").zip(field("region"));
        managed
            .chain(unmanaged)
            .map(|g| {
                g.map(|g| NodeGroup {
                    eksctl_cluster: cluster.clone(),
                    ..g
                })
            })
            .collect()
    }
}

// ---- Karpenter --------------------------------------------------------------------------------

/// A Karpenter `NodePool`.
#[derive(Debug, Clone, Deserialize)]
pub struct NodePoolManifest {
    /// Name.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: NodePoolSpec,
}

/// `spec`.
#[derive(Debug, Clone, Deserialize)]
pub struct NodePoolSpec {
    /// The node template.
    pub template: NodePoolTemplate,
    /// Resource limits over the pool.
    pub limits: Option<std::collections::BTreeMap<String, Quantity>>,
    /// Disruption settings.
    pub disruption: Option<DisruptionManifest>,
}

/// `spec.template`.
#[derive(Debug, Clone, Deserialize)]
pub struct NodePoolTemplate {
    /// `spec.template.spec`.
    pub spec: NodePoolTemplateSpec,
}

/// `spec.template.spec`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolTemplateSpec {
    /// Scheduling requirements.
    #[serde(default)]
    pub requirements: Vec<Requirement>,
    /// The cloud's node class (kept as written).
    pub node_class_ref: Option<serde_json::Value>,
}

/// One requirement.
#[derive(Debug, Clone, Deserialize)]
pub struct Requirement {
    /// Label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `Gt`, `Lt`.
    pub operator: String,
    /// Values.
    #[serde(default)]
    pub values: Vec<String>,
}

/// `spec.disruption`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DisruptionManifest {
    /// `WhenEmptyOrUnderutilized` or `WhenEmpty`.
    pub consolidation_policy: Option<String>,
    /// A duration (`30s`, `5m`, `1h`) or `Never`.
    pub consolidate_after: Option<String>,
    /// Budgets.
    #[serde(default)]
    pub budgets: Vec<serde_json::Value>,
}

/// Seconds of a Go-style duration such as `90s`, `5m`, `1h30m`.
pub fn duration_s(text: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().ok()?;
        number.clear();
        total += n * match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
    }
    if !number.is_empty() {
        return None;
    }
    Some(total)
}

impl NodePoolManifest {
    /// The pool, normalised with Karpenter's defaults.
    pub fn node_group(&self) -> Result<NodeGroup, Invalid> {
        let req = |key: &str| {
            self.spec
                .template
                .spec
                .requirements
                .iter()
                .find(|r| r.key == key && r.operator == "In")
                .map(|r| r.values.clone())
        };
        let types = req("node.kubernetes.io/instance-type").unwrap_or_default();
        let capacity = match req("karpenter.sh/capacity-type").as_deref() {
            Some([one]) if one == "spot" => Capacity::Spot,
            Some([one]) if one == "on-demand" => Capacity::OnDemand,
            Some(_) => Capacity::Mixed,
            // Karpenter launches on-demand unless spot is allowed.
            None => Capacity::OnDemand,
        };
        let d = self.spec.disruption.as_ref();
        let after = d
            .and_then(|d| d.consolidate_after.clone())
            .unwrap_or_else(|| "0s".into());
        let after_s = if after == "Never" {
            None
        } else {
            Some(duration_s(&after).ok_or_else(|| Invalid {
                path: "spec.disruption.consolidateAfter".into(),
                line: 1,
                column: 1,
                message: format!("expected a duration such as 30s, 5m or Never, found {after:?}"),
            })?)
        };
        let budgets = match d.map(|d| &d.budgets) {
            Some(b) if !b.is_empty() => b.iter().map(|v| v.to_string()).collect(),
            _ => vec![r#"{"nodes":"10%"}"#.to_string()],
        };
        Ok(NodeGroup {
            source: "Karpenter NodePool",
            name: self.metadata.name.clone(),
            instance_types: types,
            min_nodes: 0,
            max_nodes: None,
            desired_nodes: None,
            capacity,
            max_pods_per_node: None,
            limit_cpu_cores: self
                .spec
                .limits
                .as_ref()
                .and_then(|l| l.get("cpu"))
                .map(Quantity::value),
            consolidation: Some(Consolidation {
                policy: d
                    .and_then(|d| d.consolidation_policy.clone())
                    .unwrap_or_else(|| "WhenEmptyOrUnderutilized".into()),
                after_s,
                budgets,
            }),
            eksctl_cluster: None,
            karpenter_node_class: self
                .spec
                .template
                .spec
                .node_class_ref
                .as_ref()
                .and_then(|r| r.get("name"))
                .and_then(|n| n.as_str())
                .map(str::to_string),
        })
    }
}

// ---- GKE (Config Connector) -------------------------------------------------------------------

/// A `ContainerNodePool`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerNodePoolManifest {
    /// Name.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: ContainerNodePoolSpec,
}

/// `spec`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerNodePoolSpec {
    /// Nodes at creation (per zone).
    pub initial_node_count: Option<u32>,
    /// Fixed size without autoscaling.
    pub node_count: Option<u32>,
    /// Autoscaling bounds.
    pub autoscaling: Option<GkeAutoscaling>,
    /// Machine type and spot.
    pub node_config: Option<GkeNodeConfig>,
    /// Pods per node.
    pub max_pods_per_node: Option<u32>,
}

/// `spec.autoscaling`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GkeAutoscaling {
    /// Per-zone minimum.
    pub min_node_count: Option<u32>,
    /// Per-zone maximum.
    pub max_node_count: Option<u32>,
    /// Whole-pool minimum.
    pub total_min_node_count: Option<u32>,
    /// Whole-pool maximum.
    pub total_max_node_count: Option<u32>,
}

/// `spec.nodeConfig`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GkeNodeConfig {
    /// Machine type (default e2-medium).
    pub machine_type: Option<String>,
    /// Spot VMs.
    pub spot: Option<bool>,
    /// Preemptible VMs.
    pub preemptible: Option<bool>,
}

impl ContainerNodePoolManifest {
    /// The pool, normalised with GKE's defaults.
    pub fn node_group(&self) -> NodeGroup {
        let s = &self.spec;
        let cfg = s.node_config.as_ref();
        let spot = cfg.is_some_and(|c| c.spot == Some(true) || c.preemptible == Some(true));
        let a = s.autoscaling.as_ref();
        let fixed = s.node_count.or(s.initial_node_count).unwrap_or(1);
        let min = a
            .and_then(|a| a.total_min_node_count.or(a.min_node_count))
            .unwrap_or(fixed);
        let max = a
            .and_then(|a| a.total_max_node_count.or(a.max_node_count))
            .unwrap_or(fixed.max(min));
        NodeGroup {
            source: "GKE ContainerNodePool",
            name: self.metadata.name.clone(),
            instance_types: vec![
                cfg.and_then(|c| c.machine_type.clone())
                    .unwrap_or_else(|| "e2-medium".into()),
            ],
            min_nodes: min,
            max_nodes: Some(max),
            desired_nodes: s.initial_node_count,
            capacity: if spot {
                Capacity::Spot
            } else {
                Capacity::OnDemand
            },
            max_pods_per_node: s.max_pods_per_node,
            limit_cpu_cores: None,
            consolidation: None,
            eksctl_cluster: None,
            karpenter_node_class: None,
        }
    }
}

// ---- VPA --------------------------------------------------------------------------------------

/// A VerticalPodAutoscaler manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct VpaManifest {
    /// Name.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: VpaSpec,
}

/// `spec`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VpaSpec {
    /// What it sizes.
    pub target_ref: TargetRef,
    /// Update policy.
    pub update_policy: Option<VpaUpdatePolicy>,
    /// Per-container bounds (kept as written).
    pub resource_policy: Option<serde_json::Value>,
}

/// `spec.updatePolicy`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VpaUpdatePolicy {
    /// `Off`, `Initial`, `Recreate`, `InPlaceOrRecreate` or `Auto` (default).
    pub update_mode: Option<String>,
    /// Fewest live replicas for eviction.
    pub min_replicas: Option<u32>,
}

/// A VPA, normalised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Vpa {
    /// Name.
    pub name: String,
    /// Namespace, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// What it sizes.
    pub target: TargetRef,
    /// The update mode (default `Auto`).
    pub update_mode: String,
}

impl VpaManifest {
    /// The VPA with its default update mode; an unknown mode is an error.
    pub fn vpa(&self) -> Result<Vpa, Invalid> {
        let mode = self
            .spec
            .update_policy
            .as_ref()
            .and_then(|p| p.update_mode.clone())
            .unwrap_or_else(|| "Auto".into());
        if !matches!(
            mode.as_str(),
            "Off" | "Initial" | "Recreate" | "InPlaceOrRecreate" | "Auto"
        ) {
            return Err(Invalid {
                path: "spec.updatePolicy.updateMode".into(),
                line: 1,
                column: 1,
                message: format!(
                    "expected Off, Initial, Recreate, InPlaceOrRecreate or Auto, found {mode:?}"
                ),
            });
        }
        Ok(Vpa {
            name: self.metadata.name.clone(),
            namespace: self.metadata.namespace.clone(),
            target: self.spec.target_ref.clone(),
            update_mode: mode,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::yaml::{parse_document, split_documents};

    fn parse<T: serde::de::DeserializeOwned>(text: &str) -> T {
        let docs = split_documents(text);
        parse_document(&docs[0], "x.yaml", &mut Vec::new()).expect("parses")
    }

    #[test]
    fn eksctl_groups_with_defaults() {
        let c: EksctlConfig = parse(
            "apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata: {name: prod, region: us-east-1}
managedNodeGroups:
- name: serving
  instanceType: m5.2xlarge
  minSize: 6
  maxSize: 30
  desiredCapacity: 12
- name: spot
  instanceTypes: [m5.xlarge, m6i.xlarge]
  spot: true
nodeGroups:
- name: mixed
  instancesDistribution:
    instanceTypes: [c5.xlarge, c6i.xlarge]
    onDemandBaseCapacity: 2
    onDemandPercentageAboveBaseCapacity: 50
  minSize: 2
  maxSize: 10
",
        );
        let g = c.node_groups().expect("valid");
        assert_eq!(g.len(), 3);
        assert_eq!(
            (g[0].min_nodes, g[0].max_nodes, g[0].desired_nodes),
            (6, Some(30), Some(12))
        );
        assert_eq!(g[0].instance_types, vec!["m5.2xlarge"]);
        assert_eq!(
            (g[1].capacity, g[1].min_nodes, g[1].max_nodes),
            (Capacity::Spot, 2, Some(2))
        );
        assert_eq!(g[2].capacity, Capacity::Mixed);
    }

    #[test]
    fn karpenter_pool_with_defaults() {
        let p: NodePoolManifest = parse(
            "apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: serving}
spec:
  template:
    spec:
      requirements:
      - {key: node.kubernetes.io/instance-type, operator: In, values: [m5.2xlarge, m6i.2xlarge]}
      - {key: karpenter.sh/capacity-type, operator: In, values: [spot, on-demand]}
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
  limits: {cpu: \"400\"}
  disruption:
    consolidateAfter: 5m
",
        );
        let g = p.node_group().expect("valid");
        assert_eq!(g.instance_types.len(), 2);
        assert_eq!(g.capacity, Capacity::Mixed);
        assert_eq!(g.limit_cpu_cores, Some(400.0));
        let c = g.consolidation.expect("consolidation");
        assert_eq!(c.policy, "WhenEmptyOrUnderutilized");
        assert_eq!(c.after_s, Some(300));
        assert_eq!(c.budgets, vec![r#"{"nodes":"10%"}"#.to_string()]);
        assert_eq!(duration_s("1h30m"), Some(5400));
        assert_eq!(duration_s("5x"), None);
    }

    #[test]
    fn gke_pool_and_vpa() {
        let p: ContainerNodePoolManifest = parse(
            "apiVersion: container.cnrm.cloud.google.com/v1beta1
kind: ContainerNodePool
metadata: {name: serving}
spec:
  initialNodeCount: 3
  autoscaling: {minNodeCount: 1, maxNodeCount: 20}
  nodeConfig: {machineType: n2-standard-8, spot: true}
",
        );
        let g = p.node_group();
        assert_eq!(
            (g.min_nodes, g.max_nodes, g.capacity),
            (1, Some(20), Capacity::Spot)
        );
        assert_eq!(g.instance_types, vec!["n2-standard-8"]);
        let v: VpaManifest = parse(
            "apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: reco}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: reco}
  updatePolicy: {updateMode: \"Off\"}
",
        );
        assert_eq!(v.vpa().expect("valid").update_mode, "Off");
        let bad: VpaManifest = parse(
            "apiVersion: autoscaling.k8s.io/v1\nkind: VerticalPodAutoscaler\nmetadata: {name: r}\nspec:\n  targetRef: {kind: Deployment, name: r}\n  updatePolicy: {updateMode: Sometimes}\n",
        );
        assert!(bad.vpa().is_err());
    }
}
