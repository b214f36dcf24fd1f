//! The k6 export: a script whose `ramping-arrival-rate` scenario reproduces a rate curve, and a
//! k6-operator `TestRun` that runs it with parallelism.

use super::schedule::RateCurve;

/// k6 stages for a curve, rates per minute (`timeUnit: '1m'`, so that whole targets round by
/// at most half a request a minute): `(startRate, [(duration_s, target)])`. Each stage's end
/// target makes its linear ramp carry exactly the requests of its seconds (so errors do not
/// build up), and seconds are merged into one stage while that ramp stays within `tolerance`
/// (relative, at least a hundredth of a request a second) of every second's rate.
pub fn stages(curve: &RateCurve, tolerance: f64) -> (u64, Vec<(u64, u64)>) {
    let rps = &curve.rps;
    let n = rps.len();
    if n == 0 {
        return (0, Vec::new());
    }
    let per_min = |r: f64| (r * 60.0).round().max(0.0) as u64;
    // The rate at the start: where the line through the first two seconds' means meets 0 s.
    let start = per_min(if n > 1 {
        1.5 * rps[0] - 0.5 * rps[1]
    } else {
        rps[0]
    });
    let mut out = Vec::new();
    // The ramp's rate where the current stage starts (as k6 will run it, after rounding).
    let mut va = start as f64 / 60.0;
    let mut a = 0usize;
    while a < n {
        // The end rate that makes [a, b) carry its requests exactly.
        let end_for = |b: usize| {
            let sum: f64 = rps[a..b].iter().sum();
            (2.0 * sum / (b - a) as f64 - va).max(0.0)
        };
        let fits = |b: usize| {
            let vb = end_for(b);
            (a..b).all(|s| {
                let mid = (s - a) as f64 + 0.5;
                let line = va + (vb - va) * mid / (b - a) as f64;
                (line - rps[s]).abs() <= (tolerance * rps[s]).max(0.01)
            })
        };
        let mut b = a + 1;
        while b < n && fits(b + 1) {
            b += 1;
        }
        let target = per_min(end_for(b));
        out.push(((b - a) as u64, target));
        va = target as f64 / 60.0;
        a = b;
    }
    (start, out)
}

/// Requests the stages ask for, by the linear ramps k6 runs between targets.
pub fn stage_total(start_per_min: u64, stages: &[(u64, u64)]) -> f64 {
    let mut from = start_per_min as f64 / 60.0;
    let mut total = 0.0;
    for &(d, target) in stages {
        let to = target as f64 / 60.0;
        total += (from + to) / 2.0 * d as f64;
        from = to;
    }
    total
}

/// What the script sends and checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// The URL requests go to.
    pub url: String,
    /// `GET` or `POST`.
    pub method: String,
    /// A JSON body for `POST`, if any.
    pub body: Option<String>,
    /// The p99 objective, milliseconds (a threshold on `http_req_duration`).
    pub slo_p99_ms: Option<f64>,
    /// Requests that may be dropped for want of VUs before the run fails (`dropped_iterations`).
    pub max_dropped: u64,
}

fn js_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The k6 script for `curve`.
pub fn script(curve: &RateCurve, s: &Script) -> String {
    let (start, stages) = stages(curve, 0.01);
    let peak = curve.rps.iter().copied().fold(0.0, f64::max);
    // VUs: enough for the peak at a second per request, the usual open-model sizing.
    let pre = (peak.ceil() as u64).max(1);
    let stage_lines: Vec<String> = stages
        .iter()
        .map(|(d, t)| format!("        {{ duration: '{d}s', target: {t} }},"))
        .collect();
    let mut thresholds = vec![format!(
        "    dropped_iterations: ['count<={}'],",
        s.max_dropped
    )];
    if let Some(slo) = s.slo_p99_ms {
        thresholds.push(format!("    http_req_duration: ['p(99)<{slo}'],"));
    }
    let request = match (&s.method[..], &s.body) {
        ("POST", Some(b)) => format!(
            "  http.post(URL, {}, {{ headers: {{ 'Content-Type': 'application/json' }} }});",
            js_string(b)
        ),
        ("POST", None) => "  http.post(URL);".into(),
        _ => "  http.get(URL);".into(),
    };
    format!(
        "// Written by rightsize export k6: the load profile as k6's
// open-model ramping-arrival-rate executor ({} requests over {} s; rates per minute).
import http from 'k6/http';

const URL = __ENV.TARGET_URL || {url};

export const options = {{
  discardResponseBodies: true,
  scenarios: {{
    replay: {{
      executor: 'ramping-arrival-rate',
      startRate: {start},
      timeUnit: '1m',
      preAllocatedVUs: {pre},
      maxVUs: {max},
      stages: [
{stages}
      ],
    }},
  }},
  thresholds: {{
{thresholds}
  }},
}};

export default function () {{
{request}
}}
",
        stage_total(start, &stages).round(),
        curve.rps.len(),
        url = js_string(&s.url),
        max = pre * 4,
        stages = stage_lines.join("\n"),
        thresholds = thresholds.join("\n"),
    )
}

/// A k6-operator `TestRun` running the script from a ConfigMap on `parallelism` pods.
pub fn testrun(name: &str, configmap: &str, parallelism: u32) -> String {
    format!(
        "# Written by rightsize export k6. Create the ConfigMap first:
#   kubectl create configmap {configmap} --from-file=script.js
apiVersion: k6.io/v1alpha1
kind: TestRun
metadata:
  name: {name}
spec:
  parallelism: {parallelism}
  script:
    configMap:
      name: {configmap}
      file: script.js
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_reproduce_the_curve_within_a_thousandth_of_its_requests() {
        for curve in [
            RateCurve::stages("30s:100,2m:2000,1m:2000,30s:0", 0.0).expect("stages"),
            RateCurve::constant(37.3, 90).expect("constant"),
            // A rough curve: every second different.
            RateCurve {
                rps: (0..600)
                    .map(|s| 500.0 + 300.0 * ((s as f64) / 37.0).sin() + (s % 7) as f64 * 11.0)
                    .collect(),
            },
        ] {
            let (start, st) = stages(&curve, 0.01);
            let total: u64 = st.iter().map(|s| s.0).sum();
            assert_eq!(total as usize, curve.rps.len());
            let (want, got) = (curve.total(), stage_total(start, &st));
            assert!((got - want).abs() <= 0.001 * want, "{got} vs {want}");
        }
        // A staged curve needs no more stages than it was written with (plus none).
        let c = RateCurve::stages("30s:100,2m:2000,1m:2000", 0.0).expect("stages");
        let (start, st) = stages(&c, 0.01);
        assert_eq!(start, 0, "the ramp starts from nothing");
        assert!(st.len() <= 6, "{st:?}");
        let last = st.last().map_or(0, |s| s.1) as f64;
        assert!((last - 120_000.0).abs() < 1_200.0, "{st:?}");
    }

    #[test]
    fn the_script_carries_the_stages_and_thresholds() {
        let c = RateCurve::stages("10s:50,10s:50", 0.0).expect("stages");
        let js = script(
            &c,
            &Script {
                url: "http://127.0.0.1:8080/v1/recommend".into(),
                method: "POST".into(),
                body: Some(r#"{"user_id": 7, "k": 20}"#.into()),
                slo_p99_ms: Some(120.0),
                max_dropped: 0,
            },
        );
        assert!(js.contains("executor: 'ramping-arrival-rate'"), "{js}");
        assert!(js.contains("timeUnit: '1m'"), "{js}");
        assert!(js.contains("http_req_duration: ['p(99)<120']"), "{js}");
        assert!(js.contains("dropped_iterations: ['count<=0']"), "{js}");
        assert!(js.contains(r#""{\"user_id\": 7, \"k\": 20}""#), "{js}");
        let run = testrun("replay", "replay-script", 4);
        assert!(
            run.contains("parallelism: 4") && run.contains("kind: TestRun"),
            "{run}"
        );
    }
}
