//! What each request carries: method, headers and a body from a template, filled from a
//! JSON-lines file of payloads (e.g. recorded user ids) in turn or at random.

use bytes::Bytes;
use hyper::Method;
use hyper::header::{HeaderName, HeaderValue};

/// How payloads are picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Request i takes payload i mod n.
    RoundRobin,
    /// Request i takes a payload drawn from (seed, i): the same seed picks the same payloads
    /// whatever the number of threads.
    Random,
}

/// A piece of a body template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    /// `{{line}}`: the payload.
    Line,
    /// `{{i}}`: the request's index in the schedule.
    Index,
}

/// The requests' shape.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// GET, POST, …
    pub method: Method,
    /// Extra headers (Host and Content-Length are set by the generator).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    template: Vec<Part>,
    payloads: Vec<String>,
    order: Order,
    seed: u64,
    /// Bodies rendered ahead of time when the template does not use `{{i}}`.
    rendered: Vec<Bytes>,
}

/// Why a request shape is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RequestError(pub String);

impl RequestSpec {
    /// A request with `method`, `headers` (`Name: value`), an optional body `template` and
    /// payloads. The template's `{{line}}` is replaced by a payload and `{{i}}` by the request's
    /// index; with payloads and no template the body is the payload itself.
    pub fn new(
        method: &str,
        headers: &[String],
        template: Option<&str>,
        payloads: Vec<String>,
        order: Order,
        seed: u64,
    ) -> Result<RequestSpec, RequestError> {
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| RequestError(format!("method {method:?} is not an HTTP method")))?;
        let headers = headers
            .iter()
            .map(|h| {
                let (name, value) = h.split_once(':').ok_or_else(|| {
                    RequestError(format!(
                        "header {h:?}: expected 'Name: value', e.g. 'Content-Type: application/json'"
                    ))
                })?;
                let name = HeaderName::from_bytes(name.trim().as_bytes())
                    .map_err(|_| RequestError(format!("header {h:?}: {name:?} is not a header name")))?;
                let value = HeaderValue::from_str(value.trim())
                    .map_err(|_| RequestError(format!("header {h:?}: the value is not valid in a header")))?;
                Ok((name, value))
            })
            .collect::<Result<Vec<_>, RequestError>>()?;
        let template = match (template, payloads.is_empty()) {
            (Some(t), _) => parse_template(t),
            (None, false) => vec![Part::Line],
            (None, true) => Vec::new(),
        };
        if template.contains(&Part::Line) && payloads.is_empty() {
            return Err(RequestError(
                "the body template uses {{line}} but no payloads were given (--bodies FILE.jsonl)"
                    .into(),
            ));
        }
        let mut spec = RequestSpec {
            method,
            headers,
            template,
            payloads,
            order,
            seed,
            rendered: Vec::new(),
        };
        if !spec.template.contains(&Part::Index) {
            let n = spec.payloads.len().max(1);
            spec.rendered = (0..n).map(|p| Bytes::from(spec.render(p, 0))).collect();
        }
        Ok(spec)
    }

    /// Whether requests carry a body.
    pub fn has_body(&self) -> bool {
        !self.template.is_empty()
    }

    /// The body of request `i`.
    pub fn body(&self, i: u64) -> Bytes {
        let p = self.payload_index(i);
        match self.rendered.get(p) {
            Some(b) => b.clone(),
            None => Bytes::from(self.render(p, i)),
        }
    }

    fn payload_index(&self, i: u64) -> usize {
        let n = self.payloads.len().max(1) as u64;
        (match self.order {
            Order::RoundRobin => i % n,
            Order::Random => splitmix64(self.seed ^ splitmix64(i)) % n,
        }) as usize
    }

    fn render(&self, payload: usize, i: u64) -> String {
        let mut out = String::new();
        for part in &self.template {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Line => out.push_str(self.payloads.get(payload).map_or("", |s| s)),
                Part::Index => out.push_str(&i.to_string()),
            }
        }
        out
    }
}

/// Reads payloads, one JSON value per line; `name` is used in errors, which give the line.
pub fn read_payloads(text: &str, name: &str) -> Result<Vec<String>, RequestError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        serde_json::from_str::<serde_json::Value>(line).map_err(|e| {
            RequestError(format!(
                "{name}:{}: not a JSON value ({e}); the file holds one JSON payload per line",
                i + 1
            ))
        })?;
        out.push(line.to_string());
    }
    if out.is_empty() {
        return Err(RequestError(format!("{name}: no payloads in the file")));
    }
    Ok(out)
}

fn parse_template(t: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut rest = t;
    while let Some(at) = rest.find("{{") {
        let (text, tail) = rest.split_at(at);
        let (part, len) = if tail.starts_with("{{line}}") {
            (Part::Line, 8)
        } else if tail.starts_with("{{i}}") {
            (Part::Index, 5)
        } else {
            (Part::Text("{{".into()), 2)
        };
        if !text.is_empty() {
            parts.push(Part::Text(text.into()));
        }
        parts.push(part);
        rest = &tail[len..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.into()));
    }
    parts
}

/// A 64-bit mixer (SplitMix64's finaliser).
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> Vec<String> {
        vec![
            "{\"user_id\": 1}".into(),
            "{\"user_id\": 2}".into(),
            "{\"user_id\": 3}".into(),
        ]
    }

    #[test]
    fn templates_fill_payloads_in_turn_and_indices() {
        let s = RequestSpec::new(
            "POST",
            &["Content-Type: application/json".into()],
            Some("{\"q\": {{line}}, \"n\": {{i}}}"),
            lines(),
            Order::RoundRobin,
            1,
        )
        .expect("spec");
        assert_eq!(s.body(4), "{\"q\": {\"user_id\": 2}, \"n\": 4}");
        assert_eq!(s.headers[0].0, "content-type");
        let plain =
            RequestSpec::new("POST", &[], None, lines(), Order::RoundRobin, 1).expect("plain");
        assert_eq!(plain.body(2), "{\"user_id\": 3}");
        let get = RequestSpec::new("GET", &[], None, vec![], Order::RoundRobin, 1).expect("get");
        assert!(!get.has_body() && get.body(9).is_empty());
        let fixed = RequestSpec::new(
            "POST",
            &[],
            Some("{\"k\": 20}"),
            vec![],
            Order::RoundRobin,
            1,
        )
        .expect("fixed");
        assert_eq!(fixed.body(1), "{\"k\": 20}");
    }

    #[test]
    fn random_picks_are_seeded_and_even() {
        let many: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        let s = RequestSpec::new("POST", &[], None, many.clone(), Order::Random, 5).expect("spec");
        let again = RequestSpec::new("POST", &[], None, many, Order::Random, 5).expect("spec");
        let mut counts = [0u32; 10];
        for i in 0..100_000 {
            let b = s.body(i);
            assert_eq!(b, again.body(i));
            counts[std::str::from_utf8(&b)
                .expect("utf8")
                .parse::<usize>()
                .expect("n")] += 1;
        }
        // Each within 5% of 10,000.
        assert!(
            counts.iter().all(|&c| (9_500..=10_500).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn bad_requests_are_named() {
        assert!(RequestSpec::new("GE T", &[], None, vec![], Order::RoundRobin, 1).is_err());
        let e = RequestSpec::new(
            "GET",
            &["NoColon".into()],
            None,
            vec![],
            Order::RoundRobin,
            1,
        )
        .expect_err("header");
        assert!(e.0.contains("Name: value"), "{e}");
        assert!(
            RequestSpec::new("POST", &[], Some("{{line}}"), vec![], Order::RoundRobin, 1).is_err()
        );
        let e = read_payloads("{\"a\":1}\n{oops\n", "ids.jsonl").expect_err("bad line");
        assert!(e.0.starts_with("ids.jsonl:2:"), "{e}");
        assert_eq!(read_payloads("1\n\n\"x\"\n", "p").expect("ok").len(), 2);
    }
}
