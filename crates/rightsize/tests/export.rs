//! End-to-end tests of `rightsize export k6`: the script parses as JavaScript (Node's syntax
//! check, as an ES module), carries the profile's stages and thresholds, and bad profiles are
//! refused clearly.

mod common;

use common::{fails_with, rightsize, run_ok};

#[test]
fn the_k6_script_is_valid_javascript_with_the_profiles_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_ok(
        rightsize()
            .args([
                "export",
                "k6",
                "--stages",
                "30s:100,2m:2000,1m:2000",
                "--target",
                "http://127.0.0.1:8080/v1/recommend",
                "--method",
                "POST",
                "--body",
                r#"{"user_id": 7, "k": 20}"#,
                "--slo-p99-ms",
                "120",
                "--parallelism",
                "3",
                "--out",
            ])
            .arg(dir.path()),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    // 30 s ramping to 100 (1,500), 2 minutes to 2,000 (126,000), a minute at 2,000 (120,000).
    assert!(stdout.contains("the profile asks for 247500"), "{stdout}");
    let script = std::fs::read_to_string(dir.path().join("script.js")).expect("script.js");
    assert!(
        script.contains("executor: 'ramping-arrival-rate'"),
        "{script}"
    );
    assert!(
        script.contains("http_req_duration: ['p(99)<120']"),
        "{script}"
    );
    // Node parses it as the ES module k6 reads.
    let module = dir.path().join("script.mjs");
    std::fs::copy(dir.path().join("script.js"), &module).expect("copy");
    let check = std::process::Command::new("node")
        .arg("--check")
        .arg(&module)
        .output()
        .expect("node is installed (.ci/run installs it)");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let run = std::fs::read_to_string(dir.path().join("testrun.yaml")).expect("testrun.yaml");
    assert!(run.contains("parallelism: 3"), "{run}");
}

#[test]
fn bad_profiles_are_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (args, expected) in [
        (vec!["--rate", "100"], "--rate needs --duration"),
        (vec!["--stages", "30x:100"], "unknown unit"),
        (
            vec!["--rate", "100", "--duration", "48h"],
            "more than the 86400 s allowed",
        ),
        (
            vec!["--rate", "5000000", "--duration", "1m"],
            "more than the 1000000 allowed",
        ),
        (vec![], "give a profile"),
    ] {
        fails_with(
            rightsize()
                .args(["export", "k6", "--target", "http://127.0.0.1:1/"])
                .args(&args)
                .arg("--out")
                .arg(dir.path()),
            expected,
        );
    }
}
