//! The rollback triggers against the real `promtool` (Debian package `prometheus`): the rule
//! file and the PrometheusRule's groups pass `promtool check rules`, and the generated unit
//! tests pass `promtool test rules` — every trigger fires on the scenario that should fire it and
//! stays quiet on the other — for the cluster autoscaler and for Karpenter. A test also breaks a
//! threshold on purpose and expects promtool to fail, so that the unit tests can fail.

use std::path::Path;
use std::process::Command;

use rightsize_core::rollout::alerts::{
    AlertInputs, ProvisionerKind, prometheus_rule, rule_file, unit_tests,
};

fn inputs(provisioner: ProvisionerKind) -> AlertInputs {
    AlertInputs {
        hpa: "keda-hpa-reco".into(),
        slo_p99_ms: 120.0,
        provisioner,
        ..AlertInputs::example()
    }
}

/// promtool's output for `args`, or `None` when it is not installed (CI must have it).
fn promtool(dir: &Path, args: &[&str]) -> Option<(bool, String)> {
    match Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
    {
        Ok(out) => Some((
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must install promtool (apt-get install prometheus): .ci/run does"
            );
            eprintln!("skipped: no promtool (apt-get install prometheus)");
            None
        }
    }
}

fn write_all(dir: &Path, i: &AlertInputs) {
    std::fs::write(dir.join("rules.yml"), rule_file(i)).expect("write");
    std::fs::write(dir.join("rules.test.yml"), unit_tests(i, "rules.yml")).expect("write");
    // The PrometheusRule's spec as a rule file (what the operator hands Prometheus).
    let cr = prometheus_rule(i);
    let spec: String = cr
        .split("spec:\n")
        .nth(1)
        .expect("spec")
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
        .collect();
    std::fs::write(dir.join("cr-spec.yml"), spec).expect("write");
}

#[test]
fn the_rules_pass_promtool_and_every_trigger_fires_only_when_it_should() {
    for p in [
        ProvisionerKind::ClusterAutoscaler,
        ProvisionerKind::Karpenter,
    ] {
        let dir = tempfile_dir();
        let i = inputs(p);
        write_all(&dir, &i);
        let Some((ok, out)) = promtool(&dir, &["check", "rules", "rules.yml", "cr-spec.yml"])
        else {
            return;
        };
        assert!(ok, "{p:?}: {out}");
        assert!(out.contains("6 rules found"), "{p:?}: {out}");
        let (ok, out) = promtool(&dir, &["test", "rules", "rules.test.yml"]).expect("promtool");
        assert!(ok, "{p:?}: {out}\n{}", unit_tests(&i, "rules.yml"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_wrong_threshold_fails_the_unit_tests() {
    let dir = tempfile_dir();
    let i = inputs(ProvisionerKind::ClusterAutoscaler);
    write_all(&dir, &i);
    // The rules of a 1-second SLO against the tests of a 120 ms one: the slow scenario no longer
    // fires, and promtool must say so.
    let loose = AlertInputs {
        slo_p99_ms: 1000.0,
        ..i.clone()
    };
    std::fs::write(dir.join("rules.yml"), rule_file(&loose)).expect("write");
    let Some((ok, out)) = promtool(&dir, &["test", "rules", "rules.test.yml"]) else {
        return;
    };
    assert!(!ok, "{out}");
    assert!(out.contains("RightsizeP99AboveSLO"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "rightsize-promtool-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}
