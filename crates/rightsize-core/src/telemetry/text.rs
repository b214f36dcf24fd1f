//! Delimited text and JSON Lines: the stream is cut into chunks at line boundaries on the calling
//! thread (which also decompresses), and worker threads parse chunks into partial aggregates
//! that merge exactly at the end. No global order is needed.

use std::borrow::Cow;
use std::io::Read;
use std::sync::Mutex;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use super::aggregate::{Aggregator, FieldValue, RowInterpreter, retire_finished};
use super::aggregate::{UNKNOWN_POD, classify_status_bytes};
use super::diagnostics::{BadReason, BadRows, Diagnostics, Location};
use super::schema::ColumnMap;
use super::schema::plain_decimal_prefix;
use super::source::{InputFormat, sniff_format};
use super::status::StatusClass;
use super::timestamp::{HourCache, epoch_int_to_ns, parse_iso_prefix};
use super::{IngestConfig, IngestError, Progress};

/// A parsing thread hands its finished minutes to the shared aggregate every this many chunks.
const RETIRE_EVERY_CHUNKS: u32 = 2;

/// How the workers read a line.
enum Layout {
    Delimited { delimiter: u8, map: ColumnMap },
    Json { keys: [Option<String>; 4] },
}

/// Reads `need` more bytes into `buf` unless the stream ends first; returns true at the end.
fn fill(reader: &mut impl Read, buf: &mut Vec<u8>, need: usize) -> std::io::Result<bool> {
    let want = need.saturating_sub(buf.len()) as u64;
    if want == 0 {
        return Ok(false);
    }
    let got = reader.by_ref().take(want).read_to_end(buf)?;
    Ok((got as u64) < want)
}

/// Splits one delimited line into fields, honouring RFC 4180 quotes (a quote opens only at the
/// start of a field; `""` inside quotes is one quote).
fn split_quoted(line: &[u8], delimiter: u8, out: &mut Vec<Vec<u8>>) {
    out.clear();
    let mut field = Vec::new();
    let mut in_quotes = false;
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if in_quotes {
            if b == b'"' {
                if line.get(i + 1) == Some(&b'"') {
                    field.push(b'"');
                    i += 1;
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(b);
            }
        } else if b == b'"' && field.is_empty() {
            in_quotes = true;
        } else if b == delimiter {
            out.push(std::mem::take(&mut field));
        } else {
            field.push(b);
        }
        i += 1;
    }
    out.push(field);
}

/// A word with the high bit set in every byte of `word` equal to `byte` (exact: no false
/// positives, unlike the shorter `haszero` trick).
fn bytes_equal(word: u64, byte: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = word ^ (u64::from(byte) * 0x0101_0101_0101_0101);
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// Cuts the first `need` fields of an unquoted line into `out` as byte ranges, eight bytes at a
/// time (SWAR): for short lines this beats a SIMD search per field, whose set-up dominates.
/// Returns false, leaving `out` unspecified, when a quote comes before the `need`-th field ends.
fn split_plain(line: &[u8], delimiter: u8, need: usize, out: &mut Vec<(usize, usize)>) -> bool {
    out.clear();
    let mut start = 0;
    let mut base = 0;
    let mut words = line.chunks_exact(8);
    for word in words.by_ref() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let w = u64::from_le_bytes(bytes);
        let mut hits = bytes_equal(w, delimiter) | bytes_equal(w, b'"');
        while hits != 0 {
            let pos = base + (hits.trailing_zeros() / 8) as usize;
            if line[pos] == b'"' {
                return false;
            }
            out.push((start, pos));
            if out.len() == need {
                return true;
            }
            start = pos + 1;
            hits &= hits - 1;
        }
        base += 8;
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        if b == b'"' {
            return false;
        }
        if b == delimiter {
            out.push((start, base + i));
            if out.len() == need {
                return true;
            }
            start = base + i + 1;
        }
    }
    out.push((start, line.len()));
    true
}

/// Reads the header line of delimited text into column names.
fn header_names(line: &[u8], delimiter: u8) -> Vec<String> {
    let mut fields = Vec::new();
    split_quoted(line, delimiter, &mut fields);
    fields
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_string())
        .collect()
}

/// Counts a line that failed to parse: as binary junk when it holds NUL bytes or invalid UTF-8
/// (checked only on failure, so clean input never pays for it), else as `otherwise` says.
fn reject(
    agg: &mut Aggregator,
    line: &[u8],
    at: Location,
    otherwise: impl FnOnce(&mut Aggregator),
) {
    if is_junk(line) {
        agg.bad.record(at, BadReason::BinaryJunk, None, Some(line));
    } else {
        otherwise(agg);
    }
}

/// NUL bytes or invalid UTF-8: not text.
fn is_junk(line: &[u8]) -> bool {
    memchr::memchr(0, line).is_some() || std::str::from_utf8(line).is_err()
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The fast lane's role codes for each column.
const ROLE_TIMESTAMP: u8 = 0;
const ROLE_LATENCY: u8 = 1;
const ROLE_STATUS: u8 = 2;
const ROLE_POD: u8 = 3;
const NO_ROLE: u8 = u8::MAX;

/// What the delimited fast lane needs to know about the layout, computed once.
struct FastLane {
    /// For each column up to the last role column, the role it plays ([`ROLE_TIMESTAMP`] …) or
    /// [`NO_ROLE`].
    col_role: Vec<u8>,
}

impl FastLane {
    fn for_layout(layout: &Layout) -> Self {
        let Layout::Delimited { map, .. } = layout else {
            return FastLane {
                col_role: vec![NO_ROLE],
            };
        };
        let mut col_role = vec![NO_ROLE; map.max_index() + 1];
        for (role, index) in [
            (ROLE_TIMESTAMP, Some(map.timestamp)),
            (ROLE_LATENCY, Some(map.latency)),
            (ROLE_STATUS, map.status),
            (ROLE_POD, map.pod),
        ] {
            if let Some(i) = index {
                col_role[i] = role;
            }
        }
        FastLane { col_role }
    }
}

struct Worker<'a> {
    layout: &'a Layout,
    lane: FastLane,
    interp: &'a RowInterpreter,
    file: u32,
    max_line_bytes: usize,
    agg: Aggregator,
    ranges: Vec<(usize, usize)>,
    quoted: Vec<Vec<u8>>,
    hours: HourCache,
}

impl Worker<'_> {
    fn process(&mut self, data: &[u8], first_line: u64) -> u64 {
        let before = self.agg.accepted() + self.agg.bad.total();
        if let Layout::Delimited { delimiter, .. } = self.layout {
            self.process_delimited(data, first_line, *delimiter);
            return self.agg.accepted() + self.agg.bad.total() - before;
        }
        let mut line_no = first_line;
        let mut start = 0;
        while start < data.len() {
            let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |p| start + p);
            let line = strip_cr(&data[start..end]);
            start = end + 1;
            let at = Location {
                file: self.file,
                line: line_no,
            };
            line_no += 1;
            self.line(line, at);
        }
        self.agg.accepted() + self.agg.bad.total() - before
    }

    /// Delimited chunks go through a fast lane that reads each line's fields while it finds
    /// their ends: a timestamp in ISO form with an offset (or an integer epoch), a plain decimal
    /// latency, a numeric status and a clean ASCII pod name, in whatever column order the
    /// header gave, each followed by exactly the delimiter. A line it cannot read that way, and
    /// any doubt, goes to [`Worker::line`], the general path, so the lane changes speed, never
    /// results.
    fn process_delimited(&mut self, data: &[u8], first_line: u64, delimiter: u8) {
        let mut pos = 0;
        let mut line_no = first_line;
        while pos < data.len() {
            let next = match self.lane_line(data, pos, delimiter) {
                Some(next) => next,
                None => {
                    let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |p| pos + p);
                    let at = Location {
                        file: self.file,
                        line: line_no,
                    };
                    self.line(strip_cr(&data[pos..end]), at);
                    end + 1
                }
            };
            pos = next;
            line_no += 1;
        }
    }

    /// Reads one line starting at `start` through the fast lane and returns where the next
    /// line starts, or `None` (having added nothing) when the line needs the general path.
    fn lane_line(&mut self, data: &[u8], start: usize, delimiter: u8) -> Option<usize> {
        let mut pos = start;
        let mut ts_ns = None;
        let mut latency_ns = None;
        let mut class = StatusClass::Ok;
        let mut pod: &[u8] = UNKNOWN_POD.as_bytes();
        let last = self.lane.col_role.len() - 1;
        for (col, &role) in self.lane.col_role.iter().enumerate() {
            let rest = &data[pos..];
            let len = match role {
                ROLE_TIMESTAMP => {
                    let (ns, len) = parse_iso_prefix(rest, &mut self.hours).or_else(|| {
                        let digits = rest
                            .iter()
                            .take(19)
                            .take_while(|b| b.is_ascii_digit())
                            .count();
                        let value = rest[..digits]
                            .iter()
                            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
                        (digits > 0)
                            .then(|| epoch_int_to_ns(value, &self.interp.timestamps))
                            .flatten()
                            .map(|ns| (ns, digits))
                    })?;
                    ts_ns = Some(ns);
                    len
                }
                ROLE_LATENCY => {
                    let (ns, len) = plain_decimal_prefix(rest, self.interp.latency_unit)?;
                    latency_ns = Some(ns);
                    len
                }
                ROLE_STATUS => {
                    let len = rest
                        .iter()
                        .take(4)
                        .take_while(|b| b.is_ascii_digit())
                        .count();
                    class = classify_status_bytes(&rest[..len], self.interp.status_convention)?;
                    len
                }
                _ => {
                    // The pod, or a column that plays no role: up to the delimiter or the line's
                    // end; a quote anywhere in it needs the general path.
                    let stop = if col == last {
                        memchr::memchr3(b'\n', b'"', delimiter, rest)
                    } else {
                        memchr::memchr3(delimiter, b'"', b'\n', rest)
                    }
                    .unwrap_or(rest.len());
                    if rest.get(stop) == Some(&b'"') {
                        return None;
                    }
                    let mut len = stop;
                    if role == ROLE_POD {
                        let field = &rest[..len];
                        let field = field.strip_suffix(b"\r").unwrap_or(field);
                        let clean = !field.is_empty()
                            && field.is_ascii()
                            && !field[0].is_ascii_whitespace()
                            && !field[field.len() - 1].is_ascii_whitespace();
                        if !clean {
                            return None;
                        }
                        pod = field;
                        len = field.len();
                    }
                    len
                }
            };
            pos += len;
            if col < last {
                if data.get(pos) != Some(&delimiter) {
                    return None;
                }
                pos += 1;
            }
        }
        // The line ends here, or more columns follow that play no role.
        let next = match data.get(pos) {
            None => data.len(),
            Some(b'\n') => pos + 1,
            Some(b'\r') if data.get(pos + 1) == Some(&b'\n') => pos + 2,
            Some(&b) if b == delimiter => {
                memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |p| pos + p + 1)
            }
            Some(_) => return None,
        };
        if next - start > self.max_line_bytes {
            return None;
        }
        self.agg.push(ts_ns?, latency_ns?, class, pod);
        Some(next)
    }

    fn line(&mut self, line: &[u8], at: Location) {
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            return;
        }
        if line.len() > self.max_line_bytes {
            self.agg.bad.record(at, BadReason::LineTooLong, None, None);
            return;
        }
        match self.layout {
            Layout::Delimited { delimiter, map } => self.delimited(line, at, *delimiter, map),
            Layout::Json { keys } => self.json(line, at, keys),
        }
    }

    fn delimited(&mut self, line: &[u8], at: Location, delimiter: u8, map: &ColumnMap) {
        // Fast path: cut only as many fields as the roles need; a quote among those fields sends
        // the line to the RFC 4180 splitter.
        let need = map.max_index() + 1;
        let quoted = !split_plain(line, delimiter, need, &mut self.ranges);
        let values = if !quoted {
            let ranges = &self.ranges;
            role_values(map, |i| {
                ranges
                    .get(i)
                    .map_or(FieldValue::Missing, |&(a, b)| FieldValue::Text(&line[a..b]))
            })
        } else {
            split_quoted(line, delimiter, &mut self.quoted);
            let quoted = &self.quoted;
            role_values(map, |i| {
                quoted
                    .get(i)
                    .map_or(FieldValue::Missing, |f| FieldValue::Text(f))
            })
        };
        match self
            .interp
            .interpret(&values, map.pod.is_some(), &mut self.hours)
        {
            Ok(row) => self.agg.push_row(&row),
            Err(r) => {
                let interp = self.interp;
                reject(&mut self.agg, line, at, |agg| {
                    interp.record(agg, at, &values, r);
                });
            }
        }
    }

    fn json(&mut self, line: &[u8], at: Location, keys: &[Option<String>; 4]) {
        let trimmed = line.trim_ascii_start();
        let parsed = if trimmed.first() == Some(&b'{') {
            let mut de = serde_json::Deserializer::from_slice(trimmed);
            RowSeed { keys }
                .deserialize(&mut de)
                .and_then(|row| de.end().map(|()| row))
                .ok()
        } else {
            None
        };
        let Some(row) = parsed else {
            reject(&mut self.agg, line, at, |agg| {
                agg.bad.record(at, BadReason::BrokenJson, None, Some(line));
            });
            return;
        };
        let [ts, lat, status, pod] = &row.0;
        let values = [ts.field(), lat.field(), status.field(), pod.field()];
        match self
            .interp
            .interpret(&values, keys[3].is_some(), &mut self.hours)
        {
            Ok(row) => self.agg.push_row(&row),
            Err(r) => self.interp.record(&mut self.agg, at, &values, r),
        }
    }
}

/// The four role fields of a delimited row, by column index.
fn role_values<'a>(map: &ColumnMap, get: impl Fn(usize) -> FieldValue<'a>) -> [FieldValue<'a>; 4] {
    [
        get(map.timestamp),
        get(map.latency),
        map.status.map_or(FieldValue::Missing, &get),
        map.pod.map_or(FieldValue::Missing, &get),
    ]
}

/// A JSON value as far as rightsize cares: scalars, or `Missing` for null and nested values.
#[derive(Debug, Default)]
enum JsonVal<'de> {
    #[default]
    Missing,
    Str(Cow<'de, str>),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
}

impl JsonVal<'_> {
    fn field(&self) -> FieldValue<'_> {
        match self {
            JsonVal::Missing => FieldValue::Missing,
            JsonVal::Str(s) => FieldValue::Text(s.as_bytes()),
            JsonVal::Int(i) => FieldValue::Int(*i),
            JsonVal::UInt(u) => FieldValue::UInt(*u),
            JsonVal::Float(f) => FieldValue::Float(*f),
            JsonVal::Bool(b) => FieldValue::Bool(*b),
        }
    }
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
    type Value = JsonVal<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(JsonVal::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(JsonVal::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(JsonVal::Str(Cow::Owned(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(JsonVal::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(JsonVal::UInt(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(JsonVal::Float(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(JsonVal::Bool(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(JsonVal::Missing)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(JsonVal::Missing)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(JsonVal::Missing)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(JsonVal::Missing)
    }
}

impl<'de> de::Deserialize<'de> for JsonVal<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValVisitor)
    }
}

/// Matches an object key against the four role keys without allocating.
struct KeySeed<'k> {
    keys: &'k [Option<String>; 4],
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self
            .keys
            .iter()
            .position(|k| k.as_deref().is_some_and(|k| k.eq_ignore_ascii_case(v))))
    }
}

/// The four role values of one JSON object.
struct JsonRow<'de>([JsonVal<'de>; 4]);

struct RowSeed<'k> {
    keys: &'k [Option<String>; 4],
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = JsonRow<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = JsonRow<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut row = JsonRow(Default::default());
        while let Some(slot) = map.next_key_seed(KeySeed { keys: self.keys })? {
            match slot {
                Some(i) => row.0[i] = map.next_value()?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(row)
    }
}

/// The keys of the first line that parses as a JSON object, in order.
fn first_object_keys(head: &[u8]) -> Option<Vec<String>> {
    head.split(|b| *b == b'\n')
        .take(1000)
        .find_map(|line| {
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(strip_cr(line))
                .ok()
        })
        .map(|m| m.keys().cloned().collect())
}

/// Ingests one text input (already decompressed) into `agg`, on `cfg.threads` worker threads.
/// `file` indexes `diag.files`. Returns the format found.
pub fn ingest_text<R: Read + Send>(
    mut reader: R,
    file: u32,
    cfg: &IngestConfig,
    agg: &mut Aggregator,
    diag: &mut Diagnostics,
    progress: &dyn Progress,
) -> Result<InputFormat, IngestError> {
    let file_name = diag
        .files
        .get(file as usize)
        .cloned()
        .unwrap_or_else(|| "?".into());
    let io_err = |source| IngestError::Io {
        file: file_name.clone(),
        source,
    };
    let chunk_bytes = cfg.chunk_bytes.max(cfg.max_line_bytes + 1);
    let mut buf = Vec::with_capacity(chunk_bytes);
    let eof = fill(&mut reader, &mut buf, chunk_bytes).map_err(io_err)?;
    if buf.starts_with(b"\xef\xbb\xbf") {
        buf.drain(..3);
    }
    if buf.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(IngestError::Empty { file: file_name });
    }
    let format = sniff_format(&buf);
    let (layout, map, first_line) = match format {
        InputFormat::Parquet => {
            return Err(IngestError::Unsupported {
                file: file_name,
                what: "Parquet handed to the text reader".into(),
            });
        }
        InputFormat::JsonLines => {
            let keys = first_object_keys(&buf).ok_or_else(|| IngestError::NoJsonObject {
                file: file_name.clone(),
            })?;
            let map =
                ColumnMap::resolve(&keys, &cfg.columns).map_err(|source| IngestError::Columns {
                    file: file_name.clone(),
                    source,
                })?;
            let key = |i: Option<usize>| i.map(|i| map.name(i).to_string());
            let layout = Layout::Json {
                keys: [
                    key(Some(map.timestamp)),
                    key(Some(map.latency)),
                    key(map.status),
                    key(map.pod),
                ],
            };
            (layout, map, 1)
        }
        InputFormat::Delimited(delimiter) => {
            let Some(end) = memchr::memchr(b'\n', &buf) else {
                if buf.len() > cfg.max_line_bytes {
                    return Err(IngestError::Unsupported {
                        file: file_name,
                        what: "the first line is longer than the line limit: is this text?".into(),
                    });
                }
                return Err(IngestError::HeaderOnly { file: file_name });
            };
            let names = header_names(strip_cr(&buf[..end]), delimiter);
            if let Some(first) = names.first()
                && super::timestamp::parse_timestamp(first.as_bytes(), &cfg.timestamps).is_some()
            {
                return Err(IngestError::NoHeader {
                    file: file_name,
                    line: String::from_utf8_lossy(strip_cr(&buf[..end])).into_owned(),
                });
            }
            let map = ColumnMap::resolve(&names, &cfg.columns).map_err(|source| {
                IngestError::Columns {
                    file: file_name.clone(),
                    source,
                }
            })?;
            buf.drain(..=end);
            (
                Layout::Delimited {
                    delimiter,
                    map: map.clone(),
                },
                map,
                2,
            )
        }
    };
    diag.note_layout(&map, &file_name);
    let interp = RowInterpreter::for_layout(&map, cfg);
    let threads = cfg.threads.max(1);
    let rows_before = agg.accepted() + agg.bad.total();
    let shared = Mutex::new(std::mem::take(agg));
    let source = Mutex::new(ChunkSource {
        reader,
        pending: buf,
        eof,
        line_no: first_line,
        chunk_bytes,
        file,
        bad: BadRows::default(),
        error: None,
    });

    let partials = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (layout, interp, shared, source) = (&layout, &interp, &shared, &source);
                scope.spawn(move || {
                    let mut w = Worker {
                        layout,
                        lane: FastLane::for_layout(layout),
                        interp,
                        file,
                        max_line_bytes: cfg.max_line_bytes,
                        agg: Aggregator::new(),
                        ranges: Vec::new(),
                        quoted: Vec::new(),
                        hours: HourCache::default(),
                    };
                    // Each thread reads its next chunk itself, under the lock, into its own
                    // buffer: no reader thread, no hand-off, no allocation per chunk.
                    let mut buf = Vec::new();
                    let mut chunks = 0u32;
                    loop {
                        let next = match source.lock() {
                            Ok(mut src) => match src.next(&mut buf) {
                                Ok(next) => next,
                                Err(e) => {
                                    src.error = Some(e);
                                    None
                                }
                            },
                            Err(_) => None,
                        };
                        let Some((len, first_line)) = next else { break };
                        let rows = w.process(&buf[..len], first_line);
                        progress.rows(rows);
                        chunks += 1;
                        if chunks.is_multiple_of(RETIRE_EVERY_CHUNKS) {
                            retire_finished(&mut w.agg, shared);
                        }
                    }
                    w.agg
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| IngestError::Internal("a parsing thread panicked".into()))
            })
            .collect::<Result<Vec<Aggregator>, IngestError>>()
    })?;
    let source = source
        .into_inner()
        .map_err(|_| IngestError::Internal("a parsing thread panicked".into()))?;
    if let Some(e) = source.error {
        return Err(io_err(e));
    }
    *agg = shared
        .into_inner()
        .map_err(|_| IngestError::Internal("a parsing thread panicked".into()))?;
    for p in partials {
        agg.merge(p);
    }
    agg.bad.merge(source.bad);
    if agg.accepted() + agg.bad.total() == rows_before {
        return Err(IngestError::HeaderOnly { file: file_name });
    }
    Ok(format)
}

/// The input that parsing threads share: each takes the next run of whole lines under a lock.
struct ChunkSource<R> {
    reader: R,
    /// Bytes read but not handed out yet (the start of a line).
    pending: Vec<u8>,
    eof: bool,
    /// Line number of the first line in `pending`.
    line_no: u64,
    chunk_bytes: usize,
    file: u32,
    /// Lines too long to hold, counted here.
    bad: BadRows,
    /// The first read error, which ends the ingestion.
    error: Option<std::io::Error>,
}

impl<R: Read> ChunkSource<R> {
    /// Reads until `data` is full or the input ends; returns the bytes filled and whether the
    /// input ended.
    fn read_into(&mut self, data: &mut [u8], mut filled: usize) -> std::io::Result<(usize, bool)> {
        while filled < data.len() {
            match self.reader.read(&mut data[filled..]) {
                Ok(0) => return Ok((filled, true)),
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok((filled, false))
    }

    /// Fills `data` with the next run of whole lines and returns its length and first line
    /// number; `None` at the end of the input.
    fn next(&mut self, data: &mut Vec<u8>) -> std::io::Result<Option<(usize, u64)>> {
        if data.len() != self.chunk_bytes {
            data.resize(self.chunk_bytes, 0);
        }
        loop {
            let carry = self.pending.len().min(self.chunk_bytes);
            data[..carry].copy_from_slice(&self.pending[..carry]);
            self.pending.drain(..carry);
            let (filled, at_end) = if self.eof {
                (carry, true)
            } else {
                self.read_into(data, carry)?
            };
            self.eof = at_end && self.pending.is_empty();
            if filled == 0 {
                return Ok(None);
            }
            let cut = if self.eof {
                Some(filled)
            } else {
                memchr::memrchr(b'\n', &data[..filled]).map(|p| p + 1)
            };
            let Some(cut) = cut else {
                // A full buffer without a newline: one line longer than a chunk. Count it and
                // skip to the next newline without holding it.
                let at = Location {
                    file: self.file,
                    line: self.line_no,
                };
                self.bad.record(at, BadReason::LineTooLong, None, None);
                self.line_no += 1;
                loop {
                    let (n, at_end) = self.read_into(data, 0)?;
                    if let Some(p) = memchr::memchr(b'\n', &data[..n]) {
                        self.pending.extend_from_slice(&data[p + 1..n]);
                        self.eof = at_end && self.pending.is_empty();
                        break;
                    }
                    if at_end {
                        self.eof = true;
                        return Ok(None);
                    }
                }
                continue;
            };
            self.pending.extend_from_slice(&data[cut..filled]);
            let lines = memchr::memchr_iter(b'\n', &data[..cut]).count() as u64;
            let first = self.line_no;
            self.line_no += lines + u64::from(data[cut - 1] != b'\n');
            return Ok(Some((cut, first)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_split_matches_a_naive_split() {
        let mut out = Vec::new();
        for line in [
            &b"2025-11-24T00:00:00.100150Z,13.743,200,reco-7c9f5d6b4-57ll5"[..],
            b"a,b",
            b",,,",
            b"",
            b"abcdefgh,ijklmnop,qrstuvwx,yz",
            b"abcdefg,",
        ] {
            let text = std::str::from_utf8(line).expect("ascii");
            let naive: Vec<&str> = text.split(',').collect();
            for need in 1..6 {
                assert!(split_plain(line, b',', need, &mut out));
                let got: Vec<&str> = out.iter().map(|&(a, b)| &text[a..b]).collect();
                let want: Vec<&str> = naive.iter().take(need).copied().collect();
                assert_eq!(got, want, "{text:?} need {need}");
            }
        }
        assert!(!split_plain(b"a,\"b,c\",d", b',', 3, &mut out));
        assert!(split_plain(b"a,b,\"c\"", b',', 2, &mut out));
        assert!(!split_plain(b"abcdefghij\"", b',', 2, &mut out));
    }

    #[test]
    fn quoted_fields() {
        let mut out = Vec::new();
        split_quoted(br#"a,"b,c","say ""hi""",,x"#, b',', &mut out);
        let got: Vec<&[u8]> = out.iter().map(Vec::as_slice).collect();
        assert_eq!(got, vec![&b"a"[..], b"b,c", br#"say "hi""#, b"", b"x"]);
    }
}
