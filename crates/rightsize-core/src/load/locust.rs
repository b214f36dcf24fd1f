//! The Locust export: a locustfile that replays a rate curve as an open model. Locust's users
//! are closed loops (each waits for its answer); here one dispatcher user sends every request
//! at its scheduled instant on a greenlet of its own, so that slow answers do not slow the
//! arrivals, and a `LoadTestShape` ends the run when the curve does.

use super::schedule::{Arrivals, RateCurve};

/// What the locustfile sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Locustfile {
    /// The path requested on `--host`.
    pub path: String,
    /// `GET` or `POST`.
    pub method: String,
    /// A JSON body for `POST`, if any.
    pub body: Option<String>,
    /// How requests arrive.
    pub arrivals: Arrivals,
    /// The schedule's seed.
    pub seed: u64,
    /// Seconds after the curve's end that answers still in flight are waited for.
    pub grace_s: u64,
}

fn py_string(s: &str) -> String {
    // A JSON string is a valid Python string literal for the characters JSON escapes.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The locustfile for `curve`.
pub fn locustfile(curve: &RateCurve, f: &Locustfile) -> String {
    let rates: Vec<String> = curve
        .rps
        .iter()
        .map(|r| {
            let s = format!("{r:.4}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        })
        .collect();
    let send = match (&f.method[..], &f.body) {
        ("POST", Some(b)) => format!(
            "self.client.post(PATH, data={}, headers={{\"Content-Type\": \"application/json\"}})",
            py_string(b)
        ),
        ("POST", None) => "self.client.post(PATH)".into(),
        _ => "self.client.get(PATH)".into(),
    };
    format!(
        r#"# Written by rightsize export locust: the load profile as an open model in Locust.
# One dispatcher user sends each request at its scheduled instant on a greenlet of its own
# (answers never hold back arrivals); the shape ends the run {grace} s after the curve.
# Run with one process:  locust -f locustfile.py --headless --host http://TARGET
import random
import time

import gevent
from locust import HttpUser, LoadTestShape, task

PATH = {path}
ARRIVALS = "{arrivals}"
SEED = {seed}
GRACE_S = {grace}
# Requests per second, second by second ({seconds} s, {total:.0} requests).
RATES = [{rates}]


def schedule():
    """Intended send times in seconds from the start: the curve's cumulative count inverted at
    exponential (poisson) or unit (uniform) steps, as rightsize computes them."""
    rng = random.Random(SEED)
    step = (lambda: rng.expovariate(1.0)) if ARRIVALS == "poisson" else (lambda: 1.0)
    x = step() if ARRIVALS == "poisson" else 0.5
    before = 0.0
    out = []
    for second, rate in enumerate(RATES):
        after = before + rate
        while x < after:
            out.append(second + (x - before) / rate)
            x += step()
        before = after
    return out


class Replay(HttpUser):
    def _send(self):
        {send}

    @task
    def dispatch(self):
        start = time.monotonic()
        for at in schedule():
            delay = start + at - time.monotonic()
            if delay > 0:
                gevent.sleep(delay)
            gevent.spawn(self._send)
        # The curve is done: idle until the shape stops the run.
        while True:
            gevent.sleep(3600)


class Curve(LoadTestShape):
    def tick(self):
        if self.get_run_time() < len(RATES) + GRACE_S:
            return (1, 1)
        return None
"#,
        grace = f.grace_s,
        path = py_string(&f.path),
        arrivals = match f.arrivals {
            Arrivals::Poisson => "poisson",
            Arrivals::Uniform => "uniform",
        },
        seed = f.seed,
        seconds = curve.rps.len(),
        total = curve.total(),
        rates = rates.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locustfile_embeds_the_curve_and_the_request() {
        let c = RateCurve::stages("3s:30", 0.0).expect("stages");
        let py = locustfile(
            &c,
            &Locustfile {
                path: "/v1/recommend".into(),
                method: "POST".into(),
                body: Some(r#"{"user_id": 7}"#.into()),
                arrivals: Arrivals::Uniform,
                seed: 3,
                grace_s: 5,
            },
        );
        assert!(py.contains("RATES = [5, 15, 25]"), "{py}");
        assert!(py.contains(r#"PATH = "/v1/recommend""#), "{py}");
        assert!(py.contains(r#"data="{\"user_id\": 7}""#), "{py}");
        assert!(py.contains(r#"ARRIVALS = "uniform""#), "{py}");
        assert!(py.contains("class Curve(LoadTestShape)"), "{py}");
    }
}
