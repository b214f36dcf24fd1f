//! Pass/fail thresholds in k6's syntax: `AGGREGATION OPERATOR VALUE`, e.g. `p(99)<120`,
//! `rate_failed<0.01`, `service:p(99.9)<=250`.
//!
//! A threshold names a metric (before a colon; `latency` when absent) and an aggregation:
//! - `latency` (from the intended send time; what users see), `service` (from the actual send;
//!   what k6 calls `http_req_duration`), `lag` (the generator's lateness) and `connect`: `p(N)`
//!   (0 ≤ N ≤ 100), `avg`, `med`, `min`, `max`, in milliseconds;
//! - `rate_failed`, `rate_dropped` (fractions of the scheduled requests) and `count_failed`,
//!   `count_dropped`, `count_completed`.
//!
//! Operators: `<`, `<=`, `>`, `>=`, `==` (or `===`), `!=`. A failed threshold makes
//! `rightsize loadtest` exit with 99, as k6 does.

use std::fmt;

/// Which series a threshold reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Completion minus intended send time.
    Latency,
    /// Completion minus actual send time.
    Service,
    /// Actual minus intended send time.
    Lag,
    /// TCP connect time of new connections.
    Connect,
}

/// What is computed from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregation {
    /// A percentile, 0-100.
    Percentile(f64),
    /// The mean.
    Avg,
    /// The median.
    Med,
    /// The smallest value.
    Min,
    /// The largest value.
    Max,
    /// Failed requests over scheduled ones.
    RateFailed,
    /// Dropped requests over scheduled ones.
    RateDropped,
    /// Failed requests.
    CountFailed,
    /// Dropped requests.
    CountDropped,
    /// Completed requests.
    CountCompleted,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==` or `===`
    Eq,
    /// `!=`
    Ne,
}

/// One parsed threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The text as given.
    pub expr: String,
    /// The series (for percentile-like aggregations).
    pub metric: Metric,
    /// What is computed.
    pub aggregation: Aggregation,
    /// The comparison.
    pub op: Op,
    /// The bound.
    pub value: f64,
}

/// Why a threshold does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("threshold {expr:?}: {reason}")]
pub struct ThresholdError {
    /// The text as given.
    pub expr: String,
    /// What is wrong and what is expected.
    pub reason: String,
}

impl Threshold {
    /// Parses `[METRIC:]AGGREGATION OP VALUE`.
    pub fn parse(text: &str) -> Result<Threshold, ThresholdError> {
        let err = |reason: String| ThresholdError {
            expr: text.to_string(),
            reason,
        };
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let (metric, rest) = match compact.split_once(':') {
            Some((m, rest)) => (
                match m {
                    "latency" => Metric::Latency,
                    "service" | "http_req_duration" => Metric::Service,
                    "lag" => Metric::Lag,
                    "connect" => Metric::Connect,
                    _ => {
                        return Err(err(format!(
                            "unknown metric {m:?}; use latency, service, lag or connect"
                        )));
                    }
                },
                rest,
            ),
            None => (Metric::Latency, compact.as_str()),
        };
        let at = rest.find(['<', '>', '=', '!']).ok_or_else(|| {
            err("expected AGGREGATION OPERATOR VALUE, e.g. p(99)<120 or rate_failed<0.01".into())
        })?;
        let (agg, tail) = rest.split_at(at);
        let (op, value) = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("===", Op::Eq),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ]
        .iter()
        .find_map(|(s, op)| tail.strip_prefix(s).map(|v| (*op, v)))
        .ok_or_else(|| err(format!("unknown operator in {tail:?}; use < <= > >= == !=")))?;
        let value: f64 = value
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| err(format!("the bound {value:?} is not a number")))?;
        let aggregation = match agg {
            "avg" => Aggregation::Avg,
            "med" => Aggregation::Med,
            "min" => Aggregation::Min,
            "max" => Aggregation::Max,
            "rate_failed" => Aggregation::RateFailed,
            "rate_dropped" => Aggregation::RateDropped,
            "count_failed" => Aggregation::CountFailed,
            "count_dropped" => Aggregation::CountDropped,
            "count_completed" => Aggregation::CountCompleted,
            _ => {
                let n = agg
                    .strip_prefix("p(")
                    .and_then(|a| a.strip_suffix(')'))
                    .ok_or_else(|| {
                        err(format!(
                            "unknown aggregation {agg:?}; use p(N), avg, med, min, max, \
                             rate_failed, rate_dropped, count_failed, count_dropped or \
                             count_completed"
                        ))
                    })?;
                let n: f64 = n
                    .parse()
                    .ok()
                    .filter(|n: &f64| (0.0..=100.0).contains(n))
                    .ok_or_else(|| err(format!("p({n}): the percentile must be 0 to 100")))?;
                Aggregation::Percentile(n)
            }
        };
        Ok(Threshold {
            expr: text.to_string(),
            metric,
            aggregation,
            op,
            value,
        })
    }

    /// Whether `observed` meets the threshold.
    pub fn holds(&self, observed: f64) -> bool {
        match self.op {
            Op::Lt => observed < self.value,
            Op::Le => observed <= self.value,
            Op::Gt => observed > self.value,
            Op::Ge => observed >= self.value,
            Op::Eq => observed == self.value,
            Op::Ne => observed != self.value,
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_k6_documentation_examples_parse() {
        let t = |s: &str| Threshold::parse(s).expect(s);
        let p = t("p(99)<250");
        assert_eq!(
            (p.metric, p.aggregation, p.op, p.value),
            (
                Metric::Latency,
                Aggregation::Percentile(99.0),
                Op::Lt,
                250.0
            )
        );
        assert_eq!(t("p(90) < 120").aggregation, Aggregation::Percentile(90.0));
        assert_eq!(
            t("p(99.99)<500").aggregation,
            Aggregation::Percentile(99.99)
        );
        assert_eq!(t("avg<80").aggregation, Aggregation::Avg);
        assert_eq!(t("med<=50").op, Op::Le);
        assert_eq!(t("max>=1").op, Op::Ge);
        assert_eq!(t("min>0").op, Op::Gt);
        assert_eq!(t("count_dropped==0").op, Op::Eq);
        assert_eq!(t("count_dropped===0").op, Op::Eq);
        assert_eq!(t("count_failed!=3").op, Op::Ne);
        assert_eq!(t("rate_failed<0.01").aggregation, Aggregation::RateFailed);
        assert_eq!(t("service:p(99)<100").metric, Metric::Service);
        assert_eq!(t("http_req_duration:p(95)<100").metric, Metric::Service);
        assert_eq!(t("lag:p(99)<1").metric, Metric::Lag);
        for bad in [
            "p(101)<5",
            "p(x)<5",
            "p99<5",
            "avg<",
            "avg~5",
            "avg<abc",
            "rps:avg<5",
            "",
        ] {
            let e = Threshold::parse(bad).expect_err(bad);
            assert!(e.to_string().contains("threshold"), "{e}");
        }
    }

    #[test]
    fn thresholds_compare_as_written() {
        let t = |s: &str, v: f64| Threshold::parse(s).expect(s).holds(v);
        assert!(t("p(99)<120", 119.9) && !t("p(99)<120", 120.0));
        assert!(t("p(99)<=120", 120.0) && !t("p(99)<=120", 120.1));
        assert!(t("count_completed>10", 11.0) && !t("count_completed>10", 10.0));
        assert!(t("count_dropped==0", 0.0) && !t("count_dropped!=0", 0.0));
    }
}
