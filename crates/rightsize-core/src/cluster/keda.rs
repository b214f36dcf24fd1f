//! KEDA `ScaledObject` (`keda.sh/v1alpha1`): bounds, polling, cooldown, fallback, the behavior
//! handed to the HPA KEDA creates, and the `prometheus`, `cpu`, `memory` and `cron` triggers with
//! KEDA's defaults (../shared/docs/autoscaling-semantics.md §5).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::hpa::{Behavior, BehaviorManifest, Invalid, ObjectMeta, TargetType, behavior};

/// A ScaledObject as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaledObjectManifest {
    /// `keda.sh/v1alpha1`.
    pub api_version: String,
    /// `ScaledObject`.
    pub kind: String,
    /// Name and namespace.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The spec.
    pub spec: ScaledObjectSpecManifest,
}

/// `spec`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaledObjectSpecManifest {
    /// What it scales (`kind` defaults to Deployment).
    pub scale_target_ref: ScaleTargetManifest,
    /// Seconds between KEDA's activity checks (default 30).
    pub polling_interval: Option<u32>,
    /// Seconds inactive before scaling to zero or idle (default 300).
    pub cooldown_period: Option<u32>,
    /// Seconds after creation before the first scale to zero (default 0).
    pub initial_cooldown_period: Option<u32>,
    /// Lower bound (default 0).
    pub min_replica_count: Option<Spanned<i64>>,
    /// Upper bound (default 100).
    pub max_replica_count: Option<Spanned<i64>>,
    /// Replicas while inactive; only 0 works (keda#2314).
    pub idle_replica_count: Option<Spanned<i64>>,
    /// What to do when a scaler keeps failing.
    pub fallback: Option<FallbackManifest>,
    /// The HPA KEDA creates.
    pub advanced: Option<AdvancedManifest>,
    /// Triggers.
    pub triggers: Vec<TriggerManifest>,
}

/// `scaleTargetRef`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleTargetManifest {
    /// Name.
    pub name: String,
    /// Kind (default Deployment).
    pub kind: Option<String>,
    /// API version (default apps/v1).
    pub api_version: Option<String>,
}

/// `fallback`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FallbackManifest {
    /// Failures before the fallback applies.
    pub failure_threshold: u32,
    /// Replicas to hold.
    pub replicas: u32,
    /// `static` (default), `currentReplicas`, `currentReplicasIfHigher`, `currentReplicasIfLower`.
    pub behavior: Option<String>,
}

/// `advanced`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvancedManifest {
    /// `horizontalPodAutoscalerConfig`.
    pub horizontal_pod_autoscaler_config: Option<HpaConfigManifest>,
    /// Scale back to the original replicas when the ScaledObject is deleted.
    pub restore_to_original_replica_count: Option<bool>,
    /// A composite metric over the triggers (kept as written; not modelled yet).
    pub scaling_modifiers: Option<serde_json::Value>,
}

/// `advanced.horizontalPodAutoscalerConfig`.
#[derive(Debug, Clone, Deserialize)]
pub struct HpaConfigManifest {
    /// The HPA's name (default `keda-hpa-<name>`).
    pub name: Option<String>,
    /// Copied verbatim into the HPA.
    pub behavior: Option<BehaviorManifest>,
}

/// One trigger.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerManifest {
    /// `prometheus`, `cpu`, `memory`, `cron`, …
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    /// `AverageValue` (default), `Value` or `Utilization` (cpu/memory).
    pub metric_type: Option<TargetType>,
    /// The scaler's settings; KEDA writes numbers as strings.
    #[serde(default)]
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// A name for the trigger.
    pub name: Option<String>,
    /// Credentials for the scaler (kept as written; not used by rightsize).
    pub authentication_ref: Option<serde_json::Value>,
    /// KEDA's metric cache switch.
    pub use_cached_metrics: Option<bool>,
}

/// Fallback with its default.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fallback {
    /// Failures before it applies.
    pub failure_threshold: u32,
    /// Replicas it holds.
    pub replicas: u32,
    /// How it combines with the current replicas.
    pub behavior: String,
}

/// A trigger with KEDA's defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Trigger {
    /// A Prometheus query; the HPA target is `threshold` per replica (AverageValue).
    Prometheus {
        /// The server.
        server_address: String,
        /// The query (must return one element).
        query: String,
        /// The target.
        threshold: f64,
        /// Active when the value is strictly above this (default 0).
        activation_threshold: f64,
        /// An empty result counts as 0 (default true).
        ignore_null_values: bool,
        /// AverageValue or Value.
        metric_type: TargetType,
    },
    /// CPU or memory of the pods, as an HPA Resource metric.
    Resource {
        /// `cpu` or `memory`.
        name: String,
        /// Utilization (percent) or AverageValue.
        metric_type: TargetType,
        /// The target.
        value: f64,
    },
    /// A replica floor during a cron window.
    Cron {
        /// IANA zone.
        timezone: String,
        /// Five-field cron expression opening the window.
        start: String,
        /// Five-field cron expression closing it.
        end: String,
        /// Replicas during the window.
        desired_replicas: u32,
    },
    /// A scaler rightsize does not model; listed, not simulated.
    Other {
        /// The trigger type.
        kind: String,
    },
}

/// A ScaledObject with KEDA's defaults applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaledObject {
    /// Name and namespace.
    pub metadata: ObjectMeta,
    /// Kind and name of what it scales.
    pub scale_target: (String, String),
    /// Seconds between activity checks.
    pub polling_interval_s: u32,
    /// Seconds of inactivity before scaling to zero or idle.
    pub cooldown_period_s: u32,
    /// Lower bound (the HPA gets at least 1).
    pub min_replica_count: u32,
    /// Upper bound.
    pub max_replica_count: u32,
    /// Replicas while inactive.
    pub idle_replica_count: Option<u32>,
    /// Fallback, if set.
    pub fallback: Option<Fallback>,
    /// The behavior KEDA gives its HPA (`None`: the HPA's legacy path).
    pub hpa_behavior: Option<Behavior>,
    /// Triggers.
    pub triggers: Vec<Trigger>,
    /// Fields that took their default.
    pub defaulted: Vec<&'static str>,
}

fn meta_str(t: &TriggerManifest, key: &str) -> Option<String> {
    t.metadata.get(key).and_then(|v| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

fn trigger(t: &TriggerManifest, path: &str) -> Result<Trigger, Invalid> {
    let fail = |message: String| Invalid {
        path: format!("{path}.metadata"),
        line: t.kind.referenced.line(),
        column: t.kind.referenced.column(),
        message,
    };
    let require = |key: &str| {
        meta_str(t, key)
            .ok_or_else(|| fail(format!("a {} trigger needs metadata.{key}", t.kind.value)))
    };
    let number = |key: &str, text: String| {
        text.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| fail(format!("metadata.{key}: expected a number, found {text:?}")))
    };
    Ok(match t.kind.value.as_str() {
        "prometheus" => {
            let metric_type = t.metric_type.unwrap_or(TargetType::AverageValue);
            if metric_type == TargetType::Utilization {
                return Err(fail("metricType Utilization is rejected for external scalers; use AverageValue or Value".into()));
            }
            Trigger::Prometheus {
                server_address: require("serverAddress")?,
                query: require("query")?,
                threshold: number("threshold", require("threshold")?)?,
                activation_threshold: match meta_str(t, "activationThreshold") {
                    Some(v) => number("activationThreshold", v)?,
                    None => 0.0,
                },
                ignore_null_values: meta_str(t, "ignoreNullValues").is_none_or(|v| v != "false"),
                metric_type,
            }
        }
        "cpu" | "memory" => Trigger::Resource {
            name: t.kind.value.clone(),
            metric_type: t.metric_type.unwrap_or(TargetType::Utilization),
            value: number("value", require("value")?)?,
        },
        "cron" => {
            let start = require("start")?;
            let end = require("end")?;
            for (key, expr) in [("start", &start), ("end", &end)] {
                if expr.split_whitespace().count() != 5 {
                    return Err(fail(format!(
                        "metadata.{key}: expected a five-field cron expression, found {expr:?}"
                    )));
                }
            }
            if start.trim() == end.trim() {
                return Err(fail("metadata.start and metadata.end must differ".into()));
            }
            let desired = number("desiredReplicas", require("desiredReplicas")?)?;
            if desired < 1.0 || desired.fract() != 0.0 {
                return Err(fail(format!(
                    "metadata.desiredReplicas: expected a positive whole number, found {desired}"
                )));
            }
            Trigger::Cron {
                timezone: require("timezone")?,
                start,
                end,
                desired_replicas: desired as u32,
            }
        }
        other => Trigger::Other {
            kind: other.to_string(),
        },
    })
}

impl ScaledObject {
    /// Applies KEDA's defaults and checks bounds.
    pub fn from_manifest(m: &ScaledObjectManifest) -> Result<ScaledObject, Invalid> {
        let s = &m.spec;
        let mut defaulted = Vec::new();
        let bound = |v: &Option<Spanned<i64>>,
                     path: &str,
                     default: u32,
                     defaulted: &mut Vec<&'static str>,
                     name: &'static str|
         -> Result<u32, Invalid> {
            match v {
                Some(v) if (0..=i64::from(i32::MAX)).contains(&v.value) => Ok(v.value as u32),
                Some(v) => Err(Invalid {
                    path: path.to_string(),
                    line: v.referenced.line(),
                    column: v.referenced.column(),
                    message: format!("must be between 0 and {}, found {}", i32::MAX, v.value),
                }),
                None => {
                    defaulted.push(name);
                    Ok(default)
                }
            }
        };
        let min = bound(
            &s.min_replica_count,
            "spec.minReplicaCount",
            0,
            &mut defaulted,
            "minReplicaCount",
        )?;
        let max = bound(
            &s.max_replica_count,
            "spec.maxReplicaCount",
            100,
            &mut defaulted,
            "maxReplicaCount",
        )?;
        if min > max {
            let at = s
                .min_replica_count
                .as_ref()
                .or(s.max_replica_count.as_ref());
            return Err(Invalid {
                path: "spec.minReplicaCount".into(),
                line: at.map_or(1, |a| a.referenced.line()),
                column: at.map_or(1, |a| a.referenced.column()),
                message: format!("minReplicaCount {min} is above maxReplicaCount {max}"),
            });
        }
        let idle = match &s.idle_replica_count {
            Some(v) if v.value >= 0 && (v.value as u64) < u64::from(min) => Some(v.value as u32),
            Some(v) => {
                return Err(Invalid {
                    path: "spec.idleReplicaCount".into(),
                    line: v.referenced.line(),
                    column: v.referenced.column(),
                    message: format!("must be below minReplicaCount {min}, found {}", v.value),
                });
            }
            None => None,
        };
        let polling_interval_s = s.polling_interval.unwrap_or_else(|| {
            defaulted.push("pollingInterval");
            30
        });
        let cooldown_period_s = s.cooldown_period.unwrap_or_else(|| {
            defaulted.push("cooldownPeriod");
            300
        });
        let hpa_behavior = s
            .advanced
            .as_ref()
            .and_then(|a| a.horizontal_pod_autoscaler_config.as_ref())
            .and_then(|c| c.behavior.as_ref())
            .map(|b| behavior(b, "spec.advanced.horizontalPodAutoscalerConfig.behavior"))
            .transpose()?;
        let triggers = s
            .triggers
            .iter()
            .enumerate()
            .map(|(i, t)| trigger(t, &format!("spec.triggers[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ScaledObject {
            metadata: m.metadata.clone(),
            scale_target: (
                s.scale_target_ref
                    .kind
                    .clone()
                    .unwrap_or_else(|| "Deployment".into()),
                s.scale_target_ref.name.clone(),
            ),
            polling_interval_s,
            cooldown_period_s,
            min_replica_count: min,
            max_replica_count: max,
            idle_replica_count: idle,
            fallback: s.fallback.as_ref().map(|f| Fallback {
                failure_threshold: f.failure_threshold,
                replicas: f.replicas,
                behavior: f.behavior.clone().unwrap_or_else(|| "static".into()),
            }),
            hpa_behavior,
            triggers,
            defaulted,
        })
    }

    /// The ScaledObject in words a reviewer can check.
    pub fn describe(&self) -> Vec<String> {
        let d = |f: &str| {
            if self.defaulted.contains(&f) {
                " (default)"
            } else {
                ""
            }
        };
        let mut out = vec![format!(
            "ScaledObject {} scales {} {}",
            self.metadata.name, self.scale_target.0, self.scale_target.1
        )];
        out.push(format!(
            "  replicas: {}{} to {}{} (the HPA KEDA creates gets at least 1){}",
            self.min_replica_count,
            d("minReplicaCount"),
            self.max_replica_count,
            d("maxReplicaCount"),
            self.idle_replica_count
                .map_or(String::new(), |i| format!(", {i} while idle")),
        ));
        out.push(format!(
            "  KEDA polls every {} s{}, scales to zero or idle after {} s inactive{}",
            self.polling_interval_s,
            d("pollingInterval"),
            self.cooldown_period_s,
            d("cooldownPeriod")
        ));
        for t in &self.triggers {
            out.push(match t {
                Trigger::Prometheus { query, threshold, activation_threshold, metric_type, .. } => format!(
                    "  trigger prometheus: {query} → target {threshold} {}, active above {activation_threshold}",
                    if *metric_type == TargetType::Value { "in total" } else { "per replica" }
                ),
                Trigger::Resource { name, metric_type, value } => format!(
                    "  trigger {name}: target {value}{}",
                    if *metric_type == TargetType::Utilization { "% of requests" } else { " per pod" }
                ),
                Trigger::Cron { timezone, start, end, desired_replicas } => format!(
                    "  trigger cron: at least {desired_replicas} replicas from \"{start}\" to \"{end}\" ({timezone})"
                ),
                Trigger::Other { kind } => format!("  trigger {kind}: not modelled by rightsize"),
            });
        }
        if let Some(f) = &self.fallback {
            out.push(format!(
                "  fallback: {} replicas ({}) after {} failures",
                f.replicas, f.behavior, f.failure_threshold
            ));
        }
        if self.hpa_behavior.is_none() {
            out.push(
                "  HPA behavior: none given (legacy limits, 300 s scale-down stabilization)".into(),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::yaml::{parse_document, split_documents};

    const SO: &str = "apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: llm-server}
spec:
  scaleTargetRef: {name: llm-server}
  pollingInterval: 15
  cooldownPeriod: 600
  minReplicaCount: 0
  maxReplicaCount: 32
  fallback: {failureThreshold: 3, replicas: 4, behavior: currentReplicasIfHigher}
  advanced:
    horizontalPodAutoscalerConfig:
      behavior:
        scaleDown: {stabilizationWindowSeconds: 300, policies: [{type: Percent, value: 25, periodSeconds: 60}]}
  triggers:
  - type: prometheus
    metadata:
      serverAddress: http://prometheus.monitoring:9090
      query: sum(rate(http_requests_total[1m]))
      threshold: \"8\"
      activationThreshold: \"0.5\"
  - type: cron
    metadata: {timezone: Europe/Paris, start: \"0 8 * * 1-5\", end: \"0 19 * * 1-5\", desiredReplicas: \"6\"}
";

    fn load(text: &str) -> Result<ScaledObject, String> {
        let docs = split_documents(text);
        let m: ScaledObjectManifest =
            parse_document(&docs[0], "so.yaml", &mut Vec::new()).map_err(|e| e.to_string())?;
        ScaledObject::from_manifest(&m)
            .map_err(|e| format!("{}:{}: {}: {}", e.line, e.column, e.path, e.message))
    }

    #[test]
    fn the_spec_example_reads_with_defaults() {
        let so = load(SO).expect("valid");
        assert_eq!((so.min_replica_count, so.max_replica_count), (0, 32));
        assert_eq!(so.polling_interval_s, 15);
        assert_eq!(so.triggers.len(), 2);
        assert_eq!(
            so.triggers[0],
            Trigger::Prometheus {
                server_address: "http://prometheus.monitoring:9090".into(),
                query: "sum(rate(http_requests_total[1m]))".into(),
                threshold: 8.0,
                activation_threshold: 0.5,
                ignore_null_values: true,
                metric_type: TargetType::AverageValue,
            }
        );
        assert_eq!(
            so.triggers[1],
            Trigger::Cron {
                timezone: "Europe/Paris".into(),
                start: "0 8 * * 1-5".into(),
                end: "0 19 * * 1-5".into(),
                desired_replicas: 6,
            }
        );
        let b = so.hpa_behavior.as_ref().expect("behavior");
        assert_eq!(b.scale_down.stabilization_window_s, 300);
        assert_eq!(b.scale_up.stabilization_window_s, 0);
        let text = so.describe().join("\n");
        assert!(text.contains("trigger cron: at least 6 replicas from \"0 8 * * 1-5\" to \"0 19 * * 1-5\" (Europe/Paris)"), "{text}");
        let minimal = load("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: a}\nspec:\n  scaleTargetRef: {name: a}\n  triggers: [{type: cpu, metadata: {value: \"60\"}}]\n").expect("valid");
        assert_eq!(
            (
                minimal.min_replica_count,
                minimal.max_replica_count,
                minimal.cooldown_period_s
            ),
            (0, 100, 300)
        );
        assert_eq!(
            minimal.triggers[0],
            Trigger::Resource {
                name: "cpu".into(),
                metric_type: TargetType::Utilization,
                value: 60.0
            }
        );
    }

    #[test]
    fn bad_triggers_and_bounds_are_explained() {
        let err =
            load(&SO.replace("threshold: \"8\"", "threshold: \"eight\"")).expect_err("threshold");
        assert!(
            err.contains(
                "spec.triggers[0].metadata: metadata.threshold: expected a number, found \"eight\""
            ),
            "{err}"
        );
        let err = load(&SO.replace("end: \"0 19 * * 1-5\"", "end: \"0 8 * * 1-5\""))
            .expect_err("same window");
        assert!(err.contains("must differ"), "{err}");
        let err =
            load(&SO.replace("minReplicaCount: 0", "minReplicaCount: 40")).expect_err("bounds");
        assert_eq!(
            err,
            "8:20: spec.minReplicaCount: minReplicaCount 40 is above maxReplicaCount 32"
        );
        let err = load(&SO.replace("start: \"0 8 * * 1-5\", ", "")).expect_err("no start");
        assert!(err.contains("a cron trigger needs metadata.start"), "{err}");
    }
}
