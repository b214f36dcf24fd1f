//! `rightsize demo`: the whole pipeline on a built-in scenario, run as the commands a user would
//! type (each step's command line is printed), into one bundle with an index.html.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;

use crate::output::write_atomic;

/// Flags of `rightsize demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the bundle goes (created; files in it are replaced).
    #[arg(long, value_name = "DIR", default_value = "rightsize-demo")]
    out: PathBuf,
}

/// Today's manifests of the demo cluster: the Deployment, its HPA (12-40 pods at 60% CPU), the
/// eksctl node group and the DaemonSets that share its nodes.
const MANIFESTS: [(&str, &str); 4] = [
    ("deployment.yml", include_str!("demo/deployment.yml")),
    ("hpa.yaml", include_str!("demo/hpa.yaml")),
    ("eksctl.yaml", include_str!("demo/eksctl.yaml")),
    ("daemonsets.yaml", include_str!("demo/daemonsets.yaml")),
];

/// The demo's SLO, ms.
const SLO_MS: &str = "100";
/// The telemetry's sampling.
const SAMPLE_RATE: &str = "0.01";

fn os(parts: &[&str]) -> Vec<OsString> {
    parts.iter().map(OsString::from).collect()
}

/// Runs one step as its command line, printed first.
fn step(n: usize, what: &str, args: Vec<OsString>) -> anyhow::Result<()> {
    let line: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    eprintln!("\n== {n}. {what}\n$ rightsize {}", line.join(" "));
    crate::run_args(&args)
}

/// Runs the command.
pub fn run(a: DemoArgs) -> anyhow::Result<()> {
    let began = Instant::now();
    let out = &a.out;
    let k8s = out.join("k8s");
    std::fs::create_dir_all(&k8s)
        .with_context(|| format!("{}: cannot create the directory", k8s.display()))?;
    for (name, text) in MANIFESTS {
        write_atomic(&k8s.join(name), |w| {
            w.write_all(text.as_bytes())?;
            Ok(())
        })?;
    }
    let week = out.join("telemetry").join("week.csv.gz");
    if let Some(dir) = week.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the directory", dir.display()))?;
    }
    let p = |path: &Path| OsString::from(path);
    let analysis = out.join("analysis.json");

    let mut g = os(&[
        "generate",
        "--scenario",
        "demo",
        "--sample-rate",
        SAMPLE_RATE,
        "--out",
    ]);
    g.push(p(&week));
    step(
        1,
        "a week of 1% sampled telemetry of a recommendation cluster",
        g,
    )?;

    let inputs = |cmd: &str| {
        let mut v = os(&[cmd, "--telemetry"]);
        v.push(p(&week));
        v.extend(os(&[
            "--sample-rate",
            SAMPLE_RATE,
            "--slo-p99-ms",
            SLO_MS,
            "--config",
        ]));
        v.push(p(&k8s));
        v.push("--out".into());
        v.push(p(out));
        v
    };
    step(
        2,
        "analysis: traffic, pods, capacity, cost and waste",
        inputs("analyze"),
    )?;
    step(
        3,
        "the cheapest configuration that keeps p99 under the SLO",
        inputs("recommend"),
    )
    .context("the search found nothing to propose")?;

    let mut r = os(&["loadtest", "replay", "--config"]);
    r.push(p(&k8s));
    r.push("--policy".into());
    r.push(p(&out.join("proposed")));
    r.push("--analysis".into());
    r.push(p(&analysis));
    r.extend(os(&["--time-scale", "60", "--max-ramp", "10m", "--out"]));
    r.push(p(out));
    let replay = step(
        4,
        "the recorded peak against the emulated cluster, today and proposed (60x faster)",
        r,
    );
    let replay_failed = match replay {
        Ok(()) => None,
        Err(e) if e.downcast_ref::<crate::CheckFailed>().is_some() => Some(e.to_string()),
        Err(e) => return Err(e),
    };

    let mut ro = os(&["rollout", "--config"]);
    ro.push(p(&k8s));
    ro.push("--analysis".into());
    ro.push(p(&analysis));
    ro.push("--recommendation".into());
    ro.push(p(out));
    ro.push("--loadtest-report".into());
    ro.push(p(&out.join("loadtest-report.json")));
    ro.push("--out".into());
    ro.push(p(out));
    step(5, "the rollout plan, rollback alerts and dashboard", ro)?;

    for (n, tool, extra) in [
        (6, "k6", ["--target", "http://127.0.0.1:8080/v1/recommend"]),
        (7, "locust", ["--path", "/v1/recommend"]),
    ] {
        let mut e = os(&["export", tool, "--from-analysis"]);
        e.push(p(&analysis));
        e.extend(os(&["--window", "peak", "--compress", "10"]));
        e.extend(os(&extra));
        e.push("--out".into());
        e.push(p(&out.join(tool)));
        step(n, &format!("the peak as a {tool} load test"), e)?;
    }

    let index = index_html(out)?;
    write_atomic(&out.join("index.html"), |w| {
        w.write_all(index.as_bytes())?;
        Ok(())
    })?;
    eprintln!(
        "\ndone in {:.0} s. Start at {}",
        began.elapsed().as_secs_f64(),
        out.join("index.html").display()
    );
    println!("{}", out.join("index.html").display());
    if let Some(e) = replay_failed {
        bail!(crate::CheckFailed(e));
    }
    Ok(())
}

fn read_json(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read it", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page a manager reads first: savings, the SLO verdict, and links to everything.
fn index_html(out: &Path) -> anyhow::Result<String> {
    let rec = read_json(&out.join("recommendation.json"))?;
    let replay = read_json(&out.join("loadtest-report.json"))?;
    let num = |v: &serde_json::Value, path: &str| v.pointer(path).and_then(|x| x.as_f64());
    let money = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("${v:.0}"));
    let pct = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.0}%"));
    let rows = [
        ("Proposal", esc(rec["label"].as_str().unwrap_or("-"))),
        (
            "Off-peak node cost over the week",
            format!(
                "{} &rarr; {} (<b>{} less</b>)",
                money(num(&rec, "/predicted/cost_off_peak_before")),
                money(num(&rec, "/predicted/cost_off_peak_after")),
                pct(num(&rec, "/predicted/off_peak_savings_pct"))
            ),
        ),
        (
            "Total node cost over the week",
            format!(
                "{} &rarr; {} ({} less)",
                money(num(&rec, "/predicted/cost_total_before")),
                money(num(&rec, "/predicted/cost_total_after")),
                pct(num(&rec, "/predicted/total_savings_pct"))
            ),
        ),
        (
            "SLO (p99)",
            format!(
                "{} ms; 5-minute windows above it in the replayed week: {} today, {} proposed",
                replay["slo_p99_ms"],
                rec.pointer("/predicted/slo_violation_windows_before")
                    .unwrap_or(&serde_json::Value::Null),
                rec.pointer("/predicted/slo_violation_windows_after")
                    .unwrap_or(&serde_json::Value::Null)
            ),
        ),
        (
            "Peak load test",
            esc(replay["verdict"].as_str().unwrap_or("-")),
        ),
    ];
    let links = [
        (
            "analysis.html",
            "Analysis: traffic, pods, capacity, cost and waste",
        ),
        (
            "recommendation.md",
            "Recommendation: the search and why this proposal",
        ),
        ("proposed/", "Proposed manifests, ready to apply"),
        (
            "loadtest-report.html",
            "Peak load test: today and proposed, measured beside predicted",
        ),
        ("rollout-plan.pdf", "Rollout plan (two pages)"),
        ("rollout-plan.html", "Rollout plan (HTML)"),
        (
            "alerts/rollback-rules.yaml",
            "Rollback triggers (PrometheusRule)",
        ),
        ("alerts/rules.test.yml", "Their promtool unit tests"),
        (
            "dashboards/rollout.json",
            "Grafana dashboard of the triggers' signals",
        ),
        ("k6/", "The peak as a k6 script and k6-operator TestRun"),
        ("locust/", "The peak as a Locust locustfile"),
        (
            "analysis.json",
            "Machine-readable: analysis.json, recommendation.json, loadtest-report.json",
        ),
    ];
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>rightsize: the bundle</title><style>body{font-family:system-ui,sans-serif;color:#222;margin:0}main{max-width:900px;margin:0 auto;padding:24px}table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:4px 10px;text-align:left;vertical-align:top}th{background:#f4f6f8}li{margin:.3em 0}</style></head><body><main><h1>Cut off-peak serving cost without breaching the SLO</h1><table>",
    );
    for (k, v) in rows {
        html.push_str(&format!("<tr><th>{k}</th><td>{v}</td></tr>"));
    }
    html.push_str("</table><h2>In this bundle</h2><ul>");
    for (href, text) in links {
        html.push_str(&format!("<li><a href=\"{href}\">{}</a></li>", esc(text)));
    }
    html.push_str("</ul><p>Made by <code>rightsize demo</code> from a generated week (<code>telemetry/week.csv.gz</code>) and today's manifests (<code>k8s/</code>); every step is a command printed as it ran.</p></main></body></html>\n");
    Ok(html)
}
