//! Bad rows and other findings about the input: counted by reason, located by file and line,
//! and turned into a message that says which assumption failed when there are too many.

use std::collections::BTreeMap;

use serde::Serialize;

use super::schema::{ColumnMap, Role};

/// How many located examples of bad rows are kept.
pub const MAX_EXAMPLES: usize = 5;
/// How many distinct free-string status values are counted by value before the rest are lumped.
const MAX_FREE_STATUS_VALUES: usize = 64;
/// A field value quoted in a message is cut to this many characters.
const MAX_QUOTED_CHARS: usize = 40;

/// Why a row was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BadReason {
    /// The timestamp field is in no form rightsize reads.
    UnparsableTimestamp,
    /// The latency field is not a number.
    LatencyNotANumber,
    /// The latency field is below zero.
    NegativeLatency,
    /// A field the columns promise is absent or empty.
    MissingField,
    /// A JSON Lines row is not a JSON object.
    BrokenJson,
    /// The line holds NUL bytes or invalid UTF-8.
    BinaryJunk,
    /// The line is longer than the limit (1 MiB by default).
    LineTooLong,
}

impl BadReason {
    /// Every reason, in index order.
    pub const ALL: [BadReason; 7] = [
        BadReason::UnparsableTimestamp,
        BadReason::LatencyNotANumber,
        BadReason::NegativeLatency,
        BadReason::MissingField,
        BadReason::BrokenJson,
        BadReason::BinaryJunk,
        BadReason::LineTooLong,
    ];

    /// The snake_case key used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            BadReason::UnparsableTimestamp => "unparsable_timestamp",
            BadReason::LatencyNotANumber => "latency_not_a_number",
            BadReason::NegativeLatency => "negative_latency",
            BadReason::MissingField => "missing_field",
            BadReason::BrokenJson => "broken_json",
            BadReason::BinaryJunk => "binary_junk",
            BadReason::LineTooLong => "line_too_long",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Where a row came from: an index into [`Diagnostics::files`] and the 1-based line (for
/// Parquet, the 1-based row number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    /// Index of the file in the ingestion's file list.
    pub file: u32,
    /// 1-based line (text) or row (Parquet).
    pub line: u64,
}

/// One bad row, located, with the offending column and value when there is one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct BadRowExample {
    /// Where it is.
    pub location: Location,
    /// Why it was skipped.
    pub reason: BadReason,
    /// The column involved, when one is.
    pub column: Option<String>,
    /// The offending value, cut to 40 characters.
    pub value: Option<String>,
}

/// Bad-row accounting of one worker; merged across workers and files.
#[derive(Debug, Clone, Default)]
pub struct BadRows {
    counts: [u64; 7],
    examples: Vec<BadRowExample>,
    /// The earliest example of each reason (by location), for the failure message.
    first_of_reason: [Option<BadRowExample>; 7],
    free_status: BTreeMap<String, u64>,
}

/// Quotes a byte field for a message: lossy UTF-8, control characters escaped, cut short.
pub fn quote_field(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text
        .chars()
        .take(MAX_QUOTED_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().count() > MAX_QUOTED_CHARS {
        out.push('…');
    }
    out
}

impl BadRows {
    /// Counts one bad row.
    pub fn record(
        &mut self,
        location: Location,
        reason: BadReason,
        column: Option<&str>,
        value: Option<&[u8]>,
    ) {
        self.counts[reason.index()] += 1;
        let keep_example = self.examples.len() < MAX_EXAMPLES
            || self.examples.last().is_some_and(|e| e.location > location);
        let first = &self.first_of_reason[reason.index()];
        let keep_first = first.as_ref().is_none_or(|e| e.location > location);
        if !(keep_example || keep_first) {
            return;
        }
        let example = BadRowExample {
            location,
            reason,
            column: column.map(str::to_string),
            value: value.map(quote_field),
        };
        if keep_first {
            self.first_of_reason[reason.index()] = Some(example.clone());
        }
        if keep_example {
            self.insert_example(example);
        }
    }

    fn insert_example(&mut self, example: BadRowExample) {
        let pos = self.examples.partition_point(|e| e < &example);
        self.examples.insert(pos, example);
        self.examples.truncate(MAX_EXAMPLES);
    }

    /// Counts a status value that matched no convention (it is classed as a server error).
    pub fn record_free_status(&mut self, value: &[u8]) {
        let key = quote_field(value);
        if let Some(n) = self.free_status.get_mut(&key) {
            *n += 1;
        } else if self.free_status.len() < MAX_FREE_STATUS_VALUES {
            self.free_status.insert(key, 1);
        } else {
            *self.free_status.entry("(other values)".into()).or_default() += 1;
        }
    }

    /// Adds another worker's accounting.
    pub fn merge(&mut self, other: BadRows) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        for e in other.examples {
            self.insert_example(e);
        }
        for (mine, theirs) in self.first_of_reason.iter_mut().zip(other.first_of_reason) {
            if let Some(t) = theirs
                && mine.as_ref().is_none_or(|m| m.location > t.location)
            {
                *mine = Some(t);
            }
        }
        for (k, v) in other.free_status {
            if let Some(n) = self.free_status.get_mut(&k) {
                *n += v;
            } else if self.free_status.len() < MAX_FREE_STATUS_VALUES {
                self.free_status.insert(k, v);
            } else {
                *self.free_status.entry("(other values)".into()).or_default() += v;
            }
        }
    }

    /// All bad rows.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Bad rows of one reason.
    pub fn count(&self, reason: BadReason) -> u64 {
        self.counts[reason.index()]
    }

    /// Counts by reason, only the non-zero ones, keyed by the reason's JSON name.
    pub fn by_reason(&self) -> BTreeMap<&'static str, u64> {
        BadReason::ALL
            .iter()
            .filter(|r| self.count(**r) > 0)
            .map(|r| (r.name(), self.count(*r)))
            .collect()
    }

    /// The first five bad rows by file and line.
    pub fn examples(&self) -> &[BadRowExample] {
        &self.examples
    }

    /// Unrecognised status strings and how often each occurred (raw, not sample-corrected).
    pub fn free_status_values(&self) -> &BTreeMap<String, u64> {
        &self.free_status
    }

    /// The most common reason and its earliest example.
    fn dominant(&self) -> Option<(BadReason, &BadRowExample)> {
        let reason = BadReason::ALL
            .into_iter()
            .filter(|r| self.count(*r) > 0)
            .max_by_key(|r| (self.count(*r), std::cmp::Reverse(*r)))?;
        Some((reason, self.first_of_reason[reason.index()].as_ref()?))
    }
}

/// Everything ingestion learned about its input besides the aggregate itself.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    /// Display names of the inputs, indexed by [`Location::file`].
    pub files: Vec<String>,
    /// Bad rows by reason, with examples.
    pub bad: BadRows,
    /// Columns that play no role, listed once across files.
    pub ignored_columns: Vec<String>,
    /// Things the user should know that are not errors (e.g. no status column).
    pub warnings: Vec<String>,
}

impl Diagnostics {
    /// `file:line` of a location.
    pub fn locate(&self, location: Location) -> String {
        let file = self
            .files
            .get(location.file as usize)
            .map(String::as_str)
            .unwrap_or("?");
        format!("{file}:{}", location.line)
    }

    /// Records columns as ignored, once each.
    pub fn note_ignored(&mut self, columns: &[String]) {
        for c in columns {
            if !self.ignored_columns.iter().any(|i| i == c) {
                self.ignored_columns.push(c.clone());
            }
        }
    }

    /// Notes what a file's column layout leaves out: ignored columns, and a warning for a
    /// missing status or pod column.
    pub fn note_layout(&mut self, map: &ColumnMap, file: &str) {
        self.note_ignored(&map.ignored());
        if map.status.is_none() {
            self.warn(format!(
                "{file}: no status column (looked for {}): every row counts as ok",
                Role::Status.known_names().join(", ")
            ));
        }
        if map.pod.is_none() {
            self.warn(format!(
                "{file}: no pod column (looked for {}): every row belongs to pod 'unknown'",
                Role::Pod.known_names().join(", ")
            ));
        }
    }

    /// Adds a warning unless the same text is already there.
    pub fn warn(&mut self, text: String) {
        if !self.warnings.contains(&text) {
            self.warnings.push(text);
        }
    }

    /// One line per example: `file:line: reason (column 'x' holds 'y')`.
    pub fn example_lines(&self) -> Vec<String> {
        self.bad
            .examples()
            .iter()
            .map(|e| {
                let mut s = format!("{}: {}", self.locate(e.location), e.reason.name());
                match (&e.column, &e.value) {
                    (Some(c), Some(v)) => s.push_str(&format!(" (column '{c}' holds '{v}')")),
                    (None, Some(v)) => s.push_str(&format!(" ('{v}')")),
                    _ => {}
                }
                s
            })
            .collect()
    }

    /// Fails when more than `max_fraction` of all rows were bad, with a message naming the
    /// assumption that failed and what to do about it.
    pub fn check_bad_fraction(&self, accepted: u64, max_fraction: f64) -> Result<(), String> {
        let bad = self.bad.total();
        let total = accepted + bad;
        if total == 0 || bad == 0 {
            return Ok(());
        }
        let fraction = bad as f64 / total as f64;
        if fraction <= max_fraction {
            return Ok(());
        }
        let Some((reason, e)) = self.bad.dominant() else {
            return Ok(());
        };
        let share = 100.0 * self.bad.count(reason) as f64 / total as f64;
        let at = self.locate(e.location);
        let column = e.column.as_deref().unwrap_or("?");
        let value = e.value.as_deref().unwrap_or("");
        let why = match reason {
            BadReason::LatencyNotANumber => format!(
                "column '{column}' holds '{value}' in {share:.0}% of rows: is it numeric? \
                 (first at {at}; pick another column with --column latency=NAME)"
            ),
            BadReason::NegativeLatency => format!(
                "column '{column}' holds negative values such as '{value}' in {share:.0}% of rows: \
                 is it a latency? (first at {at}; pick another with --column latency=NAME)"
            ),
            BadReason::UnparsableTimestamp => format!(
                "column '{column}' holds '{value}' in {share:.0}% of rows, which is no timestamp \
                 rightsize reads (RFC 3339, access-log time, or epoch numbers): is it the time \
                 column? (first at {at}; pick another with --column timestamp=NAME)"
            ),
            BadReason::MissingField => format!(
                "{share:.0}% of rows lack the '{column}' field (first at {at}): is the delimiter \
                 right, or are rows cut short?"
            ),
            BadReason::BrokenJson => format!(
                "{share:.0}% of lines are not JSON objects, e.g. '{value}' at {at}: is this JSON \
                 Lines (one object per line)?"
            ),
            BadReason::BinaryJunk => format!(
                "{share:.0}% of lines hold binary data (first at {at}): is the file corrupt, or \
                 compressed in a way rightsize does not detect (it reads gzip and zstd)?"
            ),
            BadReason::LineTooLong => format!(
                "{share:.0}% of lines are longer than the line limit (first at {at}): is this \
                 line-delimited text?"
            ),
        };
        Err(format!(
            "{why}; {bad} of {total} rows were bad ({:.2}%), above --max-bad-fraction {max_fraction}",
            100.0 * fraction
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(file: u32, line: u64) -> Location {
        Location { file, line }
    }

    #[test]
    fn keeps_the_first_five_examples_by_location_across_merges() {
        let mut a = BadRows::default();
        let mut b = BadRows::default();
        for line in [50, 10, 30, 70, 90, 20] {
            a.record(loc(0, line), BadReason::MissingField, None, None);
        }
        for line in [5, 60] {
            b.record(loc(0, line), BadReason::BrokenJson, None, Some(b"{"));
        }
        b.record(loc(1, 1), BadReason::BinaryJunk, None, None);
        a.merge(b);
        let lines: Vec<u64> = a.examples().iter().map(|e| e.location.line).collect();
        assert_eq!(lines, vec![5, 10, 20, 30, 50]);
        assert_eq!(a.total(), 9);
        assert_eq!(a.by_reason().get("missing_field"), Some(&6));
    }

    #[test]
    fn failure_message_names_the_assumption() {
        let mut d = Diagnostics {
            files: vec!["week.csv".into()],
            ..Diagnostics::default()
        };
        for line in 2..64 {
            d.bad.record(
                loc(0, line),
                BadReason::LatencyNotANumber,
                Some("latency"),
                Some(b"fast"),
            );
        }
        let err = d.check_bad_fraction(38, 0.01).expect_err("62% bad");
        assert!(
            err.starts_with("column 'latency' holds 'fast' in 62% of rows: is it numeric?"),
            "{err}"
        );
        assert!(err.contains("week.csv:2"), "{err}");
        assert!(d.check_bad_fraction(1_000_000, 0.01).is_ok());
    }

    #[test]
    fn quotes_are_cut_and_escaped() {
        assert_eq!(quote_field(b"a\x00b"), "a\\0b");
        assert_eq!(quote_field(&[b'x'; 50]).chars().count(), 41);
    }
}
