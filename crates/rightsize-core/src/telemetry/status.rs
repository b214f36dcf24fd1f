//! Status classes: HTTP codes, gRPC codes (names or numbers) and free strings folded into the five
//! outcomes rightsize reasons about. The mapping is documented in docs/telemetry.md.

use serde::{Deserialize, Serialize};

/// The outcome of one request, as far as capacity planning cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusClass {
    /// Served: HTTP 1xx-3xx, gRPC OK, or an empty/"ok" string.
    Ok,
    /// The caller's fault (HTTP 4xx but 429, gRPC INVALID_ARGUMENT and kin). Outside the SLO's
    /// error budget by default.
    ClientError,
    /// The server failed (HTTP 5xx but 503/504, gRPC INTERNAL and kin, unknown strings).
    ServerError,
    /// The request ran out of time (HTTP 504, gRPC DEADLINE_EXCEEDED, "timeout").
    Timeout,
    /// The server refused work it had no capacity for (HTTP 429/503, gRPC UNAVAILABLE and
    /// RESOURCE_EXHAUSTED).
    Shed,
}

impl StatusClass {
    /// Every class, in index order.
    pub const ALL: [StatusClass; 5] = [
        StatusClass::Ok,
        StatusClass::ClientError,
        StatusClass::ServerError,
        StatusClass::Timeout,
        StatusClass::Shed,
    ];

    /// A dense index for per-class counters.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The snake_case name used in JSON and reports.
    pub fn name(self) -> &'static str {
        match self {
            StatusClass::Ok => "ok",
            StatusClass::ClientError => "client_error",
            StatusClass::ServerError => "server_error",
            StatusClass::Timeout => "timeout",
            StatusClass::Shed => "shed",
        }
    }

    /// Whether the class spends the SLO's error budget (everything but ok and client errors).
    pub fn is_slo_error(self) -> bool {
        matches!(
            self,
            StatusClass::ServerError | StatusClass::Timeout | StatusClass::Shed
        )
    }
}

/// How a numeric status column is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusConvention {
    /// 100-599 are HTTP codes, 0-16 gRPC codes; anything else is a server error.
    Auto,
    /// The column holds gRPC codes (its name starts with `grpc`).
    Grpc,
}

impl StatusConvention {
    /// The convention implied by a column name.
    pub fn for_column(name: &str) -> Self {
        if name.to_ascii_lowercase().starts_with("grpc") {
            StatusConvention::Grpc
        } else {
            StatusConvention::Auto
        }
    }
}

/// Classifies an HTTP status code.
pub fn classify_http(code: u32) -> StatusClass {
    match code {
        429 | 503 => StatusClass::Shed,
        504 => StatusClass::Timeout,
        500..=599 => StatusClass::ServerError,
        400..=499 => StatusClass::ClientError,
        _ => StatusClass::Ok,
    }
}

/// Classifies a gRPC status code number (see grpc/doc/statuscodes.md).
pub fn classify_grpc(code: u32) -> StatusClass {
    match code {
        0 => StatusClass::Ok,
        4 => StatusClass::Timeout,
        8 | 14 => StatusClass::Shed,
        // INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, FAILED_PRECONDITION,
        // OUT_OF_RANGE, UNAUTHENTICATED, and CANCELLED (the caller gave up).
        1 | 3 | 5 | 6 | 7 | 9 | 11 | 16 => StatusClass::ClientError,
        // UNKNOWN, ABORTED, UNIMPLEMENTED, INTERNAL, DATA_LOSS, and numbers outside the table.
        _ => StatusClass::ServerError,
    }
}

const GRPC_NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// Classifies a numeric status under a convention.
pub fn classify_number(code: i64, convention: StatusConvention) -> StatusClass {
    if code < 0 {
        return StatusClass::ServerError;
    }
    let code = code.min(u32::MAX as i64) as u32;
    match convention {
        StatusConvention::Grpc => classify_grpc(code),
        StatusConvention::Auto => match code {
            100..=599 => classify_http(code),
            0..=16 => classify_grpc(code),
            _ => StatusClass::ServerError,
        },
    }
}

/// The result of classifying a textual status: the class, and whether the text was an
/// unrecognised free string (which the summary counts by value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    /// The outcome.
    pub class: StatusClass,
    /// True when the value matched no known convention and was taken as an error.
    pub free_error: bool,
}

/// Classifies a textual status: a number, a gRPC name (any case, `StatusCode.` prefix allowed),
/// or a free string (empty, ok, success, none, false: ok; timeout: timeout; true: error;
/// anything else: error).
pub fn classify_text(text: &str, convention: StatusConvention) -> Classified {
    let t = text.trim();
    let known = |class| Classified {
        class,
        free_error: false,
    };
    if let Ok(n) = t.parse::<i64>() {
        return known(classify_number(n, convention));
    }
    if let Ok(f) = t.parse::<f64>()
        && f.fract() == 0.0
        && f.is_finite()
    {
        return known(classify_number(f as i64, convention));
    }
    let name = t
        .strip_prefix("StatusCode.")
        .or_else(|| t.strip_prefix("grpc."))
        .unwrap_or(t);
    if let Some(code) = GRPC_NAMES.iter().position(|g| g.eq_ignore_ascii_case(name)) {
        return known(classify_grpc(code as u32));
    }
    const OK_WORDS: [&str; 5] = ["", "ok", "success", "none", "false"];
    if OK_WORDS.iter().any(|w| w.eq_ignore_ascii_case(t)) {
        return known(StatusClass::Ok);
    }
    if t.eq_ignore_ascii_case("timeout") || t.eq_ignore_ascii_case("timed_out") {
        return known(StatusClass::Timeout);
    }
    if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("error") {
        return known(StatusClass::ServerError);
    }
    Classified {
        class: StatusClass::ServerError,
        free_error: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StatusClass::*;

    fn check(text: &str, convention: StatusConvention, expected: StatusClass) {
        assert_eq!(
            classify_text(text, convention).class,
            expected,
            "status {text:?} under {convention:?}"
        );
    }

    #[test]
    fn http_codes() {
        let a = StatusConvention::Auto;
        for (t, c) in [
            ("200", Ok),
            ("204", Ok),
            ("301", Ok),
            ("304", Ok),
            ("400", ClientError),
            ("404", ClientError),
            ("408", ClientError),
            ("429", Shed),
            ("499", ClientError),
            ("500", ServerError),
            ("502", ServerError),
            ("503", Shed),
            ("504", Timeout),
            ("200.0", Ok),
        ] {
            check(t, a, c);
        }
    }

    #[test]
    fn grpc_numbers_and_names() {
        let g = StatusConvention::Grpc;
        for (t, c) in [
            ("0", Ok),
            ("1", ClientError),
            ("2", ServerError),
            ("3", ClientError),
            ("4", Timeout),
            ("5", ClientError),
            ("8", Shed),
            ("13", ServerError),
            ("14", Shed),
            ("16", ClientError),
        ] {
            check(t, g, c);
        }
        let a = StatusConvention::Auto;
        for (t, c) in [
            ("OK", Ok),
            ("DEADLINE_EXCEEDED", Timeout),
            ("deadline_exceeded", Timeout),
            ("StatusCode.UNAVAILABLE", Shed),
            ("RESOURCE_EXHAUSTED", Shed),
            ("INTERNAL", ServerError),
            ("UNKNOWN", ServerError),
            ("INVALID_ARGUMENT", ClientError),
            ("NOT_FOUND", ClientError),
            ("4", Timeout),
            ("14", Shed),
        ] {
            check(t, a, c);
        }
    }

    #[test]
    fn free_strings() {
        let a = StatusConvention::Auto;
        for (t, c) in [
            ("", Ok),
            ("ok", Ok),
            ("Success", Ok),
            ("none", Ok),
            ("timeout", Timeout),
            ("boom", ServerError),
        ] {
            check(t, a, c);
        }
        assert!(classify_text("boom", a).free_error);
        assert!(!classify_text("ok", a).free_error);
        assert!(!classify_text("503", a).free_error);
    }

    #[test]
    fn grpc_columns_follow_the_column_name() {
        assert_eq!(
            StatusConvention::for_column("grpc_status"),
            StatusConvention::Grpc
        );
        assert_eq!(
            StatusConvention::for_column("status"),
            StatusConvention::Auto
        );
        // 404 in a gRPC column is not a gRPC code: a server error, not a client error.
        assert_eq!(classify_number(404, StatusConvention::Grpc), ServerError);
    }
}
