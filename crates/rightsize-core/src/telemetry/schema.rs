//! Which input column plays which role (timestamp, latency, status, pod), found by name and
//! overridable, and the unit of the latency column.

use serde::Serialize;

use super::status::StatusConvention;

/// The four things rightsize reads from a telemetry row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// When the request arrived (or started).
    Timestamp,
    /// How long it took.
    Latency,
    /// How it ended.
    Status,
    /// Which replica served it.
    Pod,
}

impl Role {
    /// Every role, in column-search order.
    pub const ALL: [Role; 4] = [Role::Timestamp, Role::Latency, Role::Status, Role::Pod];

    /// The role's name in flags and messages.
    pub fn name(self) -> &'static str {
        match self {
            Role::Timestamp => "timestamp",
            Role::Latency => "latency",
            Role::Status => "status",
            Role::Pod => "pod",
        }
    }

    /// Parses a role name as given to `--column ROLE=NAME`.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(text.trim()))
    }

    /// Column names recognised for this role, in order of preference (matched
    /// case-insensitively).
    pub fn known_names(self) -> &'static [&'static str] {
        match self {
            Role::Timestamp => &[
                "timestamp",
                "ts",
                "time",
                "@timestamp",
                "start_time",
                "datetime",
            ],
            Role::Latency => &[
                "latency_ms",
                "latency",
                "duration_ms",
                "duration",
                "elapsed_ms",
                "response_time_ms",
                "latency_s",
                "duration_s",
                "latency_us",
                "duration_us",
                "request_time",
            ],
            Role::Status => &[
                "status",
                "status_code",
                "code",
                "http_status",
                "grpc_status",
                "grpc_code",
                "error_code",
                "error",
                "outcome",
            ],
            Role::Pod => &["pod", "pod_name", "instance", "host", "hostname", "replica"],
        }
    }
}

/// The unit of latency values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyUnit {
    /// Seconds.
    Seconds,
    /// Milliseconds.
    Millis,
    /// Microseconds.
    Micros,
    /// Nanoseconds.
    Nanos,
}

impl LatencyUnit {
    /// Nanoseconds per unit.
    pub fn nanos(self) -> f64 {
        match self {
            LatencyUnit::Seconds => 1e9,
            LatencyUnit::Millis => 1e6,
            LatencyUnit::Micros => 1e3,
            LatencyUnit::Nanos => 1.0,
        }
    }

    /// Parses `s`, `ms`, `us`, `ns` (and long forms).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => Some(LatencyUnit::Seconds),
            "ms" | "milli" | "millis" | "milliseconds" => Some(LatencyUnit::Millis),
            "us" | "µs" | "micro" | "micros" | "microseconds" => Some(LatencyUnit::Micros),
            "ns" | "nano" | "nanos" | "nanoseconds" => Some(LatencyUnit::Nanos),
            _ => None,
        }
    }

    /// The unit a column name implies: from its suffix (`_ms`, `_s`, `_sec`, `_seconds`, `_us`,
    /// `_ns`), `request_time` as seconds (nginx's `$request_time`), else milliseconds.
    pub fn for_column(name: &str) -> Self {
        let n = name.to_ascii_lowercase();
        if n == "request_time" || n == "upstream_response_time" {
            return LatencyUnit::Seconds;
        }
        for (suffix, unit) in [
            ("_ms", LatencyUnit::Millis),
            ("_millis", LatencyUnit::Millis),
            ("_seconds", LatencyUnit::Seconds),
            ("_sec", LatencyUnit::Seconds),
            ("_s", LatencyUnit::Seconds),
            ("_us", LatencyUnit::Micros),
            ("_micros", LatencyUnit::Micros),
            ("_ns", LatencyUnit::Nanos),
            ("_nanos", LatencyUnit::Nanos),
        ] {
            if n.ends_with(suffix) {
                return unit;
            }
        }
        LatencyUnit::Millis
    }

    /// The short symbol used in messages.
    pub fn symbol(self) -> &'static str {
        match self {
            LatencyUnit::Seconds => "s",
            LatencyUnit::Millis => "ms",
            LatencyUnit::Micros => "us",
            LatencyUnit::Nanos => "ns",
        }
    }
}

/// Why a latency value was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyError {
    /// Not a number.
    NotANumber,
    /// Below zero.
    Negative,
}

/// Parses a latency value into nanoseconds: a plain number in `unit`, or a number with its own
/// unit suffix (`12.5ms`, `0.3s`, `250us`, `800ns`), as Go and Envoy print durations.
pub fn parse_latency(text: &[u8], unit: LatencyUnit) -> Result<u64, LatencyError> {
    if let Some(ns) = plain_decimal_ns(text, unit) {
        return Ok(ns);
    }
    let s = std::str::from_utf8(text).map_err(|_| LatencyError::NotANumber)?;
    let s = s.trim().trim_matches('"');
    if let Ok(v) = s.parse::<f64>() {
        return latency_to_ns(v, unit);
    }
    let (number, unit) = match s.find(|c: char| c.is_ascii_alphabetic() || c == 'µ') {
        Some(pos) if pos > 0 => {
            let u = LatencyUnit::parse(&s[pos..]).ok_or(LatencyError::NotANumber)?;
            (&s[..pos], u)
        }
        _ => (s, unit),
    };
    let v: f64 = number
        .trim()
        .parse()
        .map_err(|_| LatencyError::NotANumber)?;
    latency_to_ns(v, unit)
}

/// `123` or `123.456` (at most 18 digits): the common case, converted to nanoseconds in integer
/// arithmetic, rounding half up, without going through `str::parse` or floating point.
pub(crate) fn plain_decimal_ns(t: &[u8], unit: LatencyUnit) -> Option<u64> {
    match plain_decimal_prefix(t, unit) {
        Some((ns, len)) if len == t.len() => Some(ns),
        _ => None,
    }
}

/// `mantissa / 10^frac_digits` units in nanoseconds, rounding half up.
fn scale_decimal(mantissa: u64, frac_digits: usize, unit: LatencyUnit) -> Option<u64> {
    const POW10: [u64; 20] = [
        1,
        10,
        100,
        1_000,
        10_000,
        100_000,
        1_000_000,
        10_000_000,
        100_000_000,
        1_000_000_000,
        10_000_000_000,
        100_000_000_000,
        1_000_000_000_000,
        10_000_000_000_000,
        100_000_000_000_000,
        1_000_000_000_000_000,
        10_000_000_000_000_000,
        100_000_000_000_000_000,
        1_000_000_000_000_000_000,
        10_000_000_000_000_000_000,
    ];
    let unit_digits = match unit {
        LatencyUnit::Seconds => 9,
        LatencyUnit::Millis => 6,
        LatencyUnit::Micros => 3,
        LatencyUnit::Nanos => 0,
    };
    // Exact when the unit is a multiple of the fraction's scale (ms with up to 6 decimals, s
    // with up to 9): the usual case, one multiplication.
    if frac_digits <= unit_digits {
        return mantissa.checked_mul(POW10[unit_digits - frac_digits]);
    }
    let scale = u128::from(*POW10.get(frac_digits)?);
    let unit_ns = u128::from(POW10[unit_digits]);
    let ns = (u128::from(mantissa) * unit_ns + scale / 2) / scale;
    u64::try_from(ns).ok()
}

/// `123` or `123.456` at the start of `t`, in nanoseconds, and the bytes it took: the delimited
/// fast lane reads a field while it finds its end. `None` for anything else.
pub(crate) fn plain_decimal_prefix(t: &[u8], unit: LatencyUnit) -> Option<(u64, usize)> {
    let mut mantissa = 0u64;
    let mut digits = 0usize;
    let mut frac: Option<usize> = None;
    let mut len = 0;
    for &b in t {
        let d = b.wrapping_sub(b'0');
        if d <= 9 {
            mantissa = mantissa.checked_mul(10)?.checked_add(u64::from(d))?;
            digits += 1;
        } else if b == b'.' && frac.is_none() {
            frac = Some(digits);
        } else {
            break;
        }
        len += 1;
    }
    if digits == 0 || digits > 18 {
        return None;
    }
    let frac_digits = frac.map_or(0, |at| digits - at);
    Some((scale_decimal(mantissa, frac_digits, unit)?, len))
}

/// Converts a numeric latency in `unit` to nanoseconds.
pub fn latency_to_ns(value: f64, unit: LatencyUnit) -> Result<u64, LatencyError> {
    if value.is_nan() || value.is_infinite() {
        return Err(LatencyError::NotANumber);
    }
    if value < 0.0 {
        return Err(LatencyError::Negative);
    }
    // Half up by adding 0.5 and truncating (the cast saturates): `f64::round` is a libm call
    // on baseline x86-64, and this runs once per row.
    Ok((value * unit.nanos() + 0.5) as u64)
}

/// User overrides of the column search: `--column ROLE=NAME`.
#[derive(Debug, Clone, Default)]
pub struct ColumnOverrides {
    /// Pairs of role and the exact (case-insensitive) column name to use.
    pub pairs: Vec<(Role, String)>,
}

impl ColumnOverrides {
    /// Parses `ROLE=NAME`.
    pub fn parse_pair(text: &str) -> Result<(Role, String), String> {
        let (role, name) = text
            .split_once('=')
            .ok_or_else(|| format!("expected ROLE=NAME, found {text:?}"))?;
        let role = Role::parse(role).ok_or_else(|| {
            format!(
                "unknown role {role:?}: use one of timestamp, latency, status, pod (in {text:?})"
            )
        })?;
        if name.trim().is_empty() {
            return Err(format!("column name is empty in {text:?}"));
        }
        Ok((role, name.trim().to_string()))
    }

    fn get(&self, role: Role) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(r, _)| *r == role)
            .map(|(_, n)| n.as_str())
    }
}

/// The resolved layout of one input: which column index plays which role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnMap {
    /// Column names as the input spells them.
    pub names: Vec<String>,
    /// Index of the timestamp column.
    pub timestamp: usize,
    /// Index of the latency column.
    pub latency: usize,
    /// Index of the status column, if any (without one every row counts as ok).
    pub status: Option<usize>,
    /// Index of the pod column, if any (without one every row belongs to pod `unknown`).
    pub pod: Option<usize>,
}

/// Why no usable column layout could be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnError {
    /// A required role has no column.
    Missing {
        /// The role.
        role: Role,
        /// The columns the input has.
        found: Vec<String>,
    },
    /// An override names a column the input does not have.
    OverrideNotFound {
        /// The role.
        role: Role,
        /// The requested name.
        name: String,
        /// The columns the input has.
        found: Vec<String>,
    },
}

impl std::fmt::Display for ColumnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ColumnError::Missing { role, found } => write!(
                f,
                "no {} column: looked for {} among [{}]; name it with --column {}=NAME",
                role.name(),
                role.known_names().join(", "),
                found.join(", "),
                role.name()
            ),
            ColumnError::OverrideNotFound { role, name, found } => write!(
                f,
                "--column {}={} names no column here; the columns are [{}]",
                role.name(),
                name,
                found.join(", ")
            ),
        }
    }
}

impl ColumnMap {
    /// Finds each role's column among `names`: an override first, else the role's known names in
    /// order of preference. Timestamp and latency are required.
    pub fn resolve(names: &[String], overrides: &ColumnOverrides) -> Result<Self, ColumnError> {
        let find = |role: Role| -> Result<Option<usize>, ColumnError> {
            if let Some(want) = overrides.get(role) {
                return names
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(want))
                    .map(Some)
                    .ok_or_else(|| ColumnError::OverrideNotFound {
                        role,
                        name: want.to_string(),
                        found: names.to_vec(),
                    });
            }
            Ok(role
                .known_names()
                .iter()
                .find_map(|k| names.iter().position(|n| n.trim().eq_ignore_ascii_case(k))))
        };
        let required = |role: Role| {
            find(role)?.ok_or_else(|| ColumnError::Missing {
                role,
                found: names.to_vec(),
            })
        };
        let timestamp = required(Role::Timestamp)?;
        let latency = required(Role::Latency)?;
        let status = find(Role::Status)?;
        let pod = find(Role::Pod)?;
        Ok(ColumnMap {
            names: names.to_vec(),
            timestamp,
            latency,
            status,
            pod,
        })
    }

    /// The name of the column at `index`.
    pub fn name(&self, index: usize) -> &str {
        self.names.get(index).map(String::as_str).unwrap_or("?")
    }

    /// Columns that play no role, in input order.
    pub fn ignored(&self) -> Vec<String> {
        let used = [
            Some(self.timestamp),
            Some(self.latency),
            self.status,
            self.pod,
        ];
        self.names
            .iter()
            .enumerate()
            .filter(|(i, _)| !used.contains(&Some(*i)))
            .map(|(_, n)| n.clone())
            .collect()
    }

    /// The latency unit: the override, else the one the column's name implies.
    pub fn latency_unit(&self, forced: Option<LatencyUnit>) -> LatencyUnit {
        forced.unwrap_or_else(|| LatencyUnit::for_column(self.name(self.latency)))
    }

    /// How the status column's numbers are read.
    pub fn status_convention(&self) -> StatusConvention {
        self.status
            .map(|i| StatusConvention::for_column(self.name(i)))
            .unwrap_or(StatusConvention::Auto)
    }

    /// The highest column index any role uses (rows shorter than this miss a field).
    pub fn max_index(&self) -> usize {
        [
            Some(self.timestamp),
            Some(self.latency),
            self.status,
            self.pod,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn finds_columns_by_known_names_case_insensitively() {
        let m = ColumnMap::resolve(
            &names(&[
                "@Timestamp",
                "Pod_Name",
                "extra",
                "Duration_MS",
                "HTTP_STATUS",
            ]),
            &ColumnOverrides::default(),
        )
        .expect("resolves");
        assert_eq!(
            (m.timestamp, m.latency, m.status, m.pod),
            (0, 3, Some(4), Some(1))
        );
        assert_eq!(m.ignored(), vec!["extra".to_string()]);
        assert_eq!(m.latency_unit(None), LatencyUnit::Millis);
    }

    #[test]
    fn preference_order_wins_over_column_order() {
        let m = ColumnMap::resolve(
            &names(&["time", "timestamp", "latency_s", "latency_ms"]),
            &ColumnOverrides::default(),
        )
        .expect("resolves");
        assert_eq!((m.timestamp, m.latency), (1, 3));
    }

    #[test]
    fn overrides_and_their_errors() {
        let o = ColumnOverrides {
            pairs: vec![(Role::Latency, "took".into())],
        };
        let m = ColumnMap::resolve(&names(&["ts", "took"]), &o).expect("resolves");
        assert_eq!(m.latency, 1);
        let err = ColumnMap::resolve(&names(&["ts", "lat"]), &o).expect_err("no such column");
        assert!(
            err.to_string()
                .contains("--column latency=took names no column")
        );
        let err = ColumnMap::resolve(&names(&["when", "latency"]), &ColumnOverrides::default())
            .expect_err("no timestamp");
        assert!(err.to_string().starts_with("no timestamp column"), "{err}");
        assert!(ColumnOverrides::parse_pair("colour=x").is_err());
        assert_eq!(
            ColumnOverrides::parse_pair("POD=instance_id"),
            Ok((Role::Pod, "instance_id".into()))
        );
    }

    #[test]
    fn latency_units_from_names_and_values() {
        for (name, unit) in [
            ("latency_ms", LatencyUnit::Millis),
            ("latency", LatencyUnit::Millis),
            ("duration", LatencyUnit::Millis),
            ("latency_s", LatencyUnit::Seconds),
            ("duration_seconds", LatencyUnit::Seconds),
            ("latency_us", LatencyUnit::Micros),
            ("duration_ns", LatencyUnit::Nanos),
            ("request_time", LatencyUnit::Seconds),
        ] {
            assert_eq!(LatencyUnit::for_column(name), unit, "{name}");
        }
        let ms = LatencyUnit::Millis;
        assert_eq!(parse_latency(b"12.5", ms), Ok(12_500_000));
        assert_eq!(
            parse_latency(b"0.25", LatencyUnit::Seconds),
            Ok(250_000_000)
        );
        assert_eq!(parse_latency(b"1500", LatencyUnit::Micros), Ok(1_500_000));
        assert_eq!(parse_latency(b"12ms", LatencyUnit::Seconds), Ok(12_000_000));
        assert_eq!(parse_latency(b"0.3s", ms), Ok(300_000_000));
        assert_eq!(parse_latency(b"250us", ms), Ok(250_000));
        assert_eq!(
            parse_latency(b"1.5e-3", LatencyUnit::Seconds),
            Ok(1_500_000)
        );
        assert_eq!(parse_latency(b"13.743", ms), Ok(13_743_000));
        assert_eq!(
            plain_decimal_prefix(b"13.743,200", ms),
            Some((13_743_000, 6))
        );
        assert_eq!(plain_decimal_prefix(b"7\n", ms), Some((7_000_000, 1)));
        assert_eq!(plain_decimal_prefix(b"fast,", ms), None);
        assert_eq!(parse_latency(b"0.001", ms), Ok(1_000));
        assert_eq!(parse_latency(b" 7 ", ms), Ok(7_000_000));
        assert_eq!(parse_latency(b"1.", ms), Ok(1_000_000));
        assert_eq!(parse_latency(b".", ms), Err(LatencyError::NotANumber));
        assert_eq!(parse_latency(b"fast", ms), Err(LatencyError::NotANumber));
        assert_eq!(parse_latency(b"-3", ms), Err(LatencyError::Negative));
        assert_eq!(parse_latency(b"NaN", ms), Err(LatencyError::NotANumber));
        assert_eq!(parse_latency(b"", ms), Err(LatencyError::NotANumber));
    }
}
