//! The single-pass aggregate every later stage reads: per-second counts by status class, per
//! pod-minute counts and latency histograms, and per-pod lifetimes. Memory is bounded by
//! seconds + pod-minutes x distinct latency buckets, never by the number of rows.

use std::borrow::Cow;

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::IngestConfig;
use super::diagnostics::{BadReason, BadRows, Diagnostics, Location};
use super::histogram::LatencyHistogram;
use super::schema::{ColumnMap, LatencyError, LatencyUnit, Role, latency_to_ns, parse_latency};
use super::status::{StatusClass, StatusConvention, classify_number, classify_text};
use super::timestamp::{
    HourCache, TimestampRules, epoch_int_to_ns, epoch_to_ns, parse_timestamp_cached,
};

const NS_PER_SEC: i64 = 1_000_000_000;
/// Seconds per page of the per-second table.
const PAGE_SECS: i64 = 1024;

/// Request counts by status class (indexed by [`StatusClass::index`]).
pub type ClassCounts = [u32; 5];

/// Per-second request counts by status class, stored in pages of 1024 seconds so that rows may
/// arrive in any order and a stray timestamp costs one page, not a dense range to it.
#[derive(Debug, Clone, Default)]
pub struct SecondCounts {
    index: FxHashMap<i64, usize>,
    pages: Vec<(i64, Box<[ClassCounts; PAGE_SECS as usize]>)>,
    /// The page the last row went to: rows cluster in time, so this skips most hashing.
    last: Option<(i64, usize)>,
}

impl SecondCounts {
    fn page_mut(&mut self, page: i64) -> &mut [ClassCounts; PAGE_SECS as usize] {
        let slot = match self.last {
            Some((p, slot)) if p == page => slot,
            _ => {
                let next = self.pages.len();
                let slot = *self.index.entry(page).or_insert(next);
                if slot == next {
                    self.pages
                        .push((page, Box::new([[0; 5]; PAGE_SECS as usize])));
                }
                self.last = Some((page, slot));
                slot
            }
        };
        &mut self.pages[slot].1
    }

    fn add(&mut self, second: i64, class: StatusClass, n: u32) {
        let page = self.page_mut(second.div_euclid(PAGE_SECS));
        let c = &mut page[second.rem_euclid(PAGE_SECS) as usize][class.index()];
        *c = c.saturating_add(n);
    }

    fn merge(&mut self, other: SecondCounts) {
        for (page, theirs) in other.pages {
            self.merge_page(page, &theirs);
        }
    }

    /// Moves every page that ends at or before `cutoff_second` into `into`.
    fn retire_before(&mut self, cutoff_second: i64, into: &mut SecondCounts) {
        let pages = std::mem::take(&mut self.pages);
        self.index.clear();
        self.last = None;
        for (page, counts) in pages {
            if (page + 1) * PAGE_SECS <= cutoff_second {
                into.merge_page(page, &counts);
            } else {
                self.index.insert(page, self.pages.len());
                self.pages.push((page, counts));
            }
        }
    }

    fn merge_page(&mut self, page: i64, theirs: &[ClassCounts; PAGE_SECS as usize]) {
        let mine = self.page_mut(page);
        for (m, t) in mine.iter_mut().zip(theirs.iter()) {
            for (a, b) in m.iter_mut().zip(t) {
                *a = a.saturating_add(*b);
            }
        }
    }

    /// Seconds that saw at least one request, ascending, as `(unix_second, counts)`.
    pub fn iter(&self) -> impl Iterator<Item = (i64, ClassCounts)> + '_ {
        let mut order: Vec<usize> = (0..self.pages.len()).collect();
        order.sort_unstable_by_key(|i| self.pages[*i].0);
        order.into_iter().flat_map(move |i| {
            let (p, counts) = &self.pages[i];
            counts
                .iter()
                .enumerate()
                .filter(|(_, c)| c.iter().any(|n| *n > 0))
                .map(move |(i, c)| (p * PAGE_SECS + i as i64, *c))
        })
    }

    /// The counts of one second (zeros when none).
    pub fn get(&self, unix_second: i64) -> ClassCounts {
        let page = unix_second.div_euclid(PAGE_SECS);
        let slot = unix_second.rem_euclid(PAGE_SECS) as usize;
        self.index
            .get(&page)
            .map(|i| self.pages[*i].1[slot])
            .unwrap_or([0; 5])
    }
}

/// What one pod did in one minute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodMinute {
    /// Counts by status class (raw, not sample-corrected).
    pub counts: ClassCounts,
    /// Latency of every accepted row, whatever its status.
    pub latency: LatencyHistogram,
}

impl PodMinute {
    /// Adds another cell of the same pod and minute.
    fn absorb(&mut self, other: &PodMinute) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a = a.saturating_add(b);
        }
        self.latency.merge(&other.latency);
    }
}

/// One pod's lifetime as seen in the telemetry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodStats {
    /// The pod's name.
    pub name: String,
    /// Earliest request, Unix nanoseconds.
    pub first_seen_ns: i64,
    /// Latest request, Unix nanoseconds.
    pub last_seen_ns: i64,
    /// Accepted rows (raw).
    pub rows: u64,
}

/// The pods one minute saw: a short list of ids searched linearly (a minute sees tens of pods,
/// and a scan over packed ids beats hashing), beside their cells.
#[derive(Debug, Default)]
struct MinuteCells {
    pods: Vec<u32>,
    cells: Vec<PodMinute>,
}

/// A worker's partial aggregate. Aggregators merge exactly, so any split of the input over
/// workers gives the same [`Telemetry`].
#[derive(Debug)]
pub struct Aggregator {
    seconds: SecondCounts,
    minute_index: FxHashMap<i64, usize>,
    minutes: Vec<(i64, MinuteCells)>,
    last_minute: Option<(i64, usize)>,
    pod_ids: FxHashMap<Box<[u8]>, u32>,
    pod_cache: [u32; POD_CACHE_SLOTS],
    pods: Vec<PodStats>,
    accepted: u64,
    max_minute: i64,
    /// Bad rows seen by this worker.
    pub bad: BadRows,
}

/// Slots of the pod-name cache (see `Aggregator::pod_id`).
const POD_CACHE_SLOTS: usize = 251;

impl Default for Aggregator {
    fn default() -> Self {
        Aggregator {
            seconds: SecondCounts::default(),
            minute_index: FxHashMap::default(),
            minutes: Vec::new(),
            last_minute: None,
            pod_ids: FxHashMap::default(),
            pod_cache: [u32::MAX; POD_CACHE_SLOTS],
            pods: Vec::new(),
            accepted: 0,
            max_minute: i64::MIN,
            bad: BadRows::default(),
        }
    }
}

impl Aggregator {
    /// An empty aggregate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one interpreted row, counting an unrecognised status value.
    pub fn push_row(&mut self, row: &Row<'_>) {
        if let Some(t) = row.free_status {
            self.bad.record_free_status(t);
        }
        self.push(row.ts_ns, row.latency_ns, row.class, &row.pod);
    }

    fn pod_id(&mut self, pod: &[u8], ts_ns: i64, rows: u64) -> u32 {
        let id = self.intern_pod(pod);
        let p = &mut self.pods[id as usize];
        p.first_seen_ns = p.first_seen_ns.min(ts_ns);
        p.last_seen_ns = p.last_seen_ns.max(ts_ns);
        p.rows += rows;
        id
    }

    /// The id of a pod name, adding it (with no rows yet) if new.
    fn intern_pod(&mut self, pod: &[u8]) -> u32 {
        // A direct-mapped cache in front of the hash map: pod names differ in their last bytes
        // (`reco-7c9f5d6b4-x2k4q`), so those and the length pick a slot, and one comparison
        // confirms it. It saves hashing the name on nearly every row.
        let n = pod.len();
        let slot = (usize::from(pod.last().copied().unwrap_or(0)) * 31
            + usize::from(if n >= 2 { pod[n - 2] } else { 0 }) * 7
            + n)
            % POD_CACHE_SLOTS;
        let cached = self.pod_cache[slot];
        if (cached as usize) < self.pods.len() && self.pods[cached as usize].name.as_bytes() == pod
        {
            cached
        } else {
            let id = match self.pod_ids.get(pod) {
                Some(&id) => id,
                None => {
                    let id = self.pods.len() as u32;
                    self.pod_ids.insert(pod.into(), id);
                    self.pods.push(PodStats {
                        name: String::from_utf8_lossy(pod).into_owned(),
                        first_seen_ns: i64::MAX,
                        last_seen_ns: i64::MIN,
                        rows: 0,
                    });
                    id
                }
            };
            self.pod_cache[slot] = id;
            id
        }
    }

    fn cell_mut(&mut self, minute: i64, pod: u32) -> &mut PodMinute {
        let slot = match self.last_minute {
            Some((m, slot)) if m == minute => slot,
            _ => {
                let next = self.minutes.len();
                let slot = *self.minute_index.entry(minute).or_insert(next);
                if slot == next {
                    self.minutes.push((minute, MinuteCells::default()));
                }
                self.last_minute = Some((minute, slot));
                slot
            }
        };
        let m = &mut self.minutes[slot].1;
        let pos = match m.pods.iter().position(|p| *p == pod) {
            Some(pos) => pos,
            None => {
                m.pods.push(pod);
                m.cells.push(PodMinute::default());
                m.cells.len() - 1
            }
        };
        &mut m.cells[pos]
    }

    /// Adds one accepted row.
    pub fn push(&mut self, ts_ns: i64, latency_ns: u64, class: StatusClass, pod: &[u8]) {
        let id = self.pod_id(pod, ts_ns, 1);
        let second = ts_ns.div_euclid(NS_PER_SEC);
        self.seconds.add(second, class, 1);
        let minute = second.div_euclid(60);
        self.max_minute = self.max_minute.max(minute);
        let cell = self.cell_mut(minute, id);
        let c = &mut cell.counts[class.index()];
        *c = c.saturating_add(1);
        cell.latency.record(latency_ns);
        self.accepted += 1;
    }

    /// Rows accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted
    }

    /// Moves every pod-minute before `cutoff_minute`, and every page of per-second counts that
    /// ends before it, into `into`. Pod lifetimes, row counts and bad rows stay (they are small
    /// and merge at the end). Parsing threads call this as they go, so that a minute they have
    /// finished lives once in a shared aggregate instead of once per thread.
    pub fn retire_before(&mut self, cutoff_minute: i64, into: &mut Aggregator) {
        let mut remap: Vec<Option<u32>> = vec![None; self.pods.len()];
        let minutes = std::mem::take(&mut self.minutes);
        self.minute_index.clear();
        self.last_minute = None;
        for (minute, m) in minutes {
            if minute >= cutoff_minute {
                self.minute_index.insert(minute, self.minutes.len());
                self.minutes.push((minute, m));
                continue;
            }
            for (pod, cell) in m.pods.into_iter().zip(m.cells) {
                let id = *remap[pod as usize].get_or_insert_with(|| {
                    into.intern_pod(self.pods[pod as usize].name.as_bytes())
                });
                into.cell_mut(minute, id).absorb(&cell);
            }
        }
        self.seconds
            .retire_before(cutoff_minute * 60, &mut into.seconds);
    }

    /// The latest minute a row fell in, if any.
    pub fn max_minute(&self) -> Option<i64> {
        (self.max_minute > i64::MIN).then_some(self.max_minute)
    }

    /// Adds another aggregate into this one.
    pub fn merge(&mut self, other: Aggregator) {
        let mut remap = Vec::with_capacity(other.pods.len());
        for p in other.pods {
            let id = self.pod_id(p.name.as_bytes(), p.first_seen_ns, p.rows);
            let mine = &mut self.pods[id as usize];
            mine.last_seen_ns = mine.last_seen_ns.max(p.last_seen_ns);
            remap.push(id);
        }
        for (minute, m) in other.minutes {
            for (pod, cell) in m.pods.into_iter().zip(m.cells) {
                self.cell_mut(minute, remap[pod as usize]).absorb(&cell);
            }
        }
        self.seconds.merge(other.seconds);
        self.accepted += other.accepted;
        self.max_minute = self.max_minute.max(other.max_minute);
        self.bad.merge(other.bad);
    }

    /// Freezes the aggregate: pods sorted by name, cells sorted by minute then pod.
    pub fn finish(mut self, sample_rate: f64, mut diagnostics: Diagnostics) -> Telemetry {
        let mut order: Vec<u32> = (0..self.pods.len() as u32).collect();
        order.sort_by(|a, b| {
            self.pods[*a as usize]
                .name
                .cmp(&self.pods[*b as usize].name)
        });
        let mut new_id = vec![0u32; self.pods.len()];
        for (new, old) in order.iter().enumerate() {
            new_id[*old as usize] = new as u32;
        }
        let pods: Vec<PodStats> = order
            .iter()
            .map(|old| self.pods[*old as usize].clone())
            .collect();
        let mut cells: Vec<CellEntry> = std::mem::take(&mut self.minutes)
            .into_iter()
            .flat_map(|(minute, m)| {
                let new_id = &new_id;
                m.pods
                    .into_iter()
                    .zip(m.cells)
                    .map(move |(p, cell)| CellEntry {
                        unix_minute: minute,
                        pod: new_id[p as usize],
                        cell,
                    })
            })
            .collect();
        cells.sort_unstable_by_key(|c| (c.unix_minute, c.pod));
        diagnostics.bad.merge(std::mem::take(&mut self.bad));
        Telemetry {
            schema_version: TELEMETRY_SCHEMA_VERSION,
            sample_rate,
            rows: self.accepted,
            seconds: self.seconds,
            pods,
            cells,
            diagnostics,
        }
    }
}

/// How far behind its latest minute a parsing thread keeps minutes open: rows of a log arrive
/// roughly in time order, and a row later than this still lands correctly (it opens the minute
/// again, and the two halves merge at the end).
pub const RETIRE_LAG_MINUTES: i64 = 15;

/// Moves a thread's finished minutes into the shared aggregate (see
/// [`Aggregator::retire_before`]). A poisoned lock skips the move: the panic that poisoned it is
/// reported when the thread is joined.
pub fn retire_finished(part: &mut Aggregator, shared: &std::sync::Mutex<Aggregator>) {
    let Some(latest) = part.max_minute() else {
        return;
    };
    if let Ok(mut shared) = shared.lock() {
        part.retire_before(latest - RETIRE_LAG_MINUTES, &mut shared);
    }
}

/// Version of the aggregate's layout (see docs/formats.md).
pub const TELEMETRY_SCHEMA_VERSION: u32 = 1;

/// One pod-minute of the frozen aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellEntry {
    /// Minutes since the Unix epoch.
    pub unix_minute: i64,
    /// Index into [`Telemetry::pods`].
    pub pod: u32,
    /// Counts and latency.
    pub cell: PodMinute,
}

/// The ingested telemetry: what every later stage reads instead of rows.
#[derive(Debug, Clone)]
pub struct Telemetry {
    /// Layout version.
    pub schema_version: u32,
    /// The fraction of requests the telemetry holds (1 = every request). Counts stored here are
    /// raw; divide by this for request counts and rates.
    pub sample_rate: f64,
    /// Accepted rows (raw).
    pub rows: u64,
    /// Per-second counts by class (raw).
    pub seconds: SecondCounts,
    /// Pods sorted by name.
    pub pods: Vec<PodStats>,
    /// Pod-minutes sorted by minute, then pod.
    pub cells: Vec<CellEntry>,
    /// Bad rows, files, ignored columns, warnings.
    pub diagnostics: Diagnostics,
}

/// A field as a row format delivers it, before interpretation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    /// The row has no such field, or it is null.
    Missing,
    /// Text or raw bytes.
    Text(&'a [u8]),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A floating-point number.
    Float(f64),
    /// A boolean (for an `error` column).
    Bool(bool),
    /// An exact instant or duration in nanoseconds from a typed column (a Parquet timestamp or
    /// duration): no unit guessing applies.
    Nanos(i64),
}

impl FieldValue<'_> {
    fn quoted(&self) -> Vec<u8> {
        match self {
            FieldValue::Missing => Vec::new(),
            FieldValue::Text(t) => t.to_vec(),
            FieldValue::Int(i) => i.to_string().into_bytes(),
            FieldValue::UInt(u) => u.to_string().into_bytes(),
            FieldValue::Float(f) => f.to_string().into_bytes(),
            FieldValue::Bool(b) => b.to_string().into_bytes(),
            FieldValue::Nanos(n) => format!("{n}ns").into_bytes(),
        }
    }

    fn is_missing(&self) -> bool {
        match self {
            FieldValue::Missing => true,
            FieldValue::Text(t) => t.iter().all(|b| b.is_ascii_whitespace()),
            _ => false,
        }
    }
}

/// Turns the four fields of a row into an accepted row or a counted bad row. One interpreter
/// serves every format, so CSV, JSON and Parquet agree on every convention.
#[derive(Debug, Clone)]
pub struct RowInterpreter {
    /// Timestamp forms and zone.
    pub timestamps: TimestampRules,
    /// Unit of numeric latency values.
    pub latency_unit: LatencyUnit,
    /// How numeric status values are read.
    pub status_convention: StatusConvention,
    /// Column names for messages: timestamp, latency, status, pod.
    pub column_names: [String; 4],
}

/// Pod name used when the input has no pod column.
pub const UNKNOWN_POD: &str = "unknown";

/// A row that passed interpretation.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<'a> {
    /// Arrival, Unix nanoseconds.
    pub ts_ns: i64,
    /// Latency, nanoseconds.
    pub latency_ns: u64,
    /// Outcome.
    pub class: StatusClass,
    /// Serving pod's name: valid UTF-8, trimmed.
    pub pod: Cow<'a, [u8]>,
    /// The status text when it matched no convention (counted by value).
    pub free_status: Option<&'a [u8]>,
}

/// Why a row was rejected, and which of the four fields (timestamp, latency, status, pod).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    /// The reason.
    pub reason: BadReason,
    /// Index of the offending field in the row's four.
    pub field: usize,
}

impl RowInterpreter {
    /// The interpreter for a resolved column layout under an ingestion config.
    pub fn for_layout(map: &ColumnMap, cfg: &IngestConfig) -> Self {
        let name = |i: Option<usize>, role: Role| {
            i.map_or_else(|| role.name().to_string(), |i| map.name(i).to_string())
        };
        RowInterpreter {
            timestamps: cfg.timestamps.clone(),
            latency_unit: map.latency_unit(cfg.latency_unit),
            status_convention: map.status_convention(),
            column_names: [
                name(Some(map.timestamp), Role::Timestamp),
                name(Some(map.latency), Role::Latency),
                name(map.status, Role::Status),
                name(map.pod, Role::Pod),
            ],
        }
    }

    /// Interprets the four fields of a row.
    pub fn interpret<'a>(
        &self,
        fields: &[FieldValue<'a>; 4],
        has_pod_column: bool,
        hours: &mut HourCache,
    ) -> Result<Row<'a>, Rejection> {
        let reject = |reason, field| Err(Rejection { reason, field });
        let [ts, lat, status, pod] = *fields;
        if ts.is_missing() {
            return reject(BadReason::MissingField, 0);
        }
        let ts_ns = match ts {
            FieldValue::Text(t) => parse_timestamp_cached(t, &self.timestamps, hours),
            FieldValue::Int(i) => epoch_int_to_ns(i, &self.timestamps),
            FieldValue::UInt(u) => i64::try_from(u)
                .ok()
                .and_then(|i| epoch_int_to_ns(i, &self.timestamps)),
            FieldValue::Float(f) => epoch_to_ns(f, &self.timestamps),
            FieldValue::Nanos(n) => Some(n),
            FieldValue::Bool(_) | FieldValue::Missing => None,
        };
        let Some(ts_ns) = ts_ns else {
            return reject(BadReason::UnparsableTimestamp, 0);
        };
        if lat.is_missing() {
            return reject(BadReason::MissingField, 1);
        }
        let latency = match lat {
            FieldValue::Text(t) => parse_latency(t, self.latency_unit),
            FieldValue::Int(i) => latency_to_ns(i as f64, self.latency_unit),
            FieldValue::UInt(u) => latency_to_ns(u as f64, self.latency_unit),
            FieldValue::Float(f) => latency_to_ns(f, self.latency_unit),
            FieldValue::Nanos(n) => u64::try_from(n).map_err(|_| LatencyError::Negative),
            FieldValue::Bool(_) | FieldValue::Missing => Err(LatencyError::NotANumber),
        };
        let latency_ns = match latency {
            Ok(ns) => ns,
            Err(LatencyError::NotANumber) => return reject(BadReason::LatencyNotANumber, 1),
            Err(LatencyError::Negative) => return reject(BadReason::NegativeLatency, 1),
        };
        let mut free_status = None;
        let class = match status {
            FieldValue::Missing => StatusClass::Ok,
            FieldValue::Text(t) => match classify_status_bytes(t, self.status_convention) {
                Some(c) => c,
                None => {
                    let text = String::from_utf8_lossy(t);
                    let c = classify_text(&text, self.status_convention);
                    if c.free_error {
                        free_status = Some(t);
                    }
                    c.class
                }
            },
            FieldValue::Int(i) => classify_number(i, self.status_convention),
            FieldValue::UInt(u) => {
                classify_number(i64::try_from(u).unwrap_or(i64::MAX), self.status_convention)
            }
            FieldValue::Float(f) => classify_number(f as i64, self.status_convention),
            FieldValue::Nanos(_) => StatusClass::ServerError,
            FieldValue::Bool(b) => {
                if b {
                    StatusClass::ServerError
                } else {
                    StatusClass::Ok
                }
            }
        };
        let pod = if !has_pod_column {
            Cow::Borrowed(UNKNOWN_POD.as_bytes())
        } else {
            match pod {
                FieldValue::Text(t) if !pod.is_missing() => {
                    // Names are ASCII in practice; the full UTF-8 check only runs otherwise.
                    if !t.is_ascii() && std::str::from_utf8(t).is_err() {
                        return reject(BadReason::BinaryJunk, 3);
                    }
                    let padded = t.first().is_some_and(u8::is_ascii_whitespace)
                        || t.last().is_some_and(u8::is_ascii_whitespace);
                    Cow::Borrowed(if padded { t.trim_ascii() } else { t })
                }
                FieldValue::Missing | FieldValue::Text(_) => {
                    return reject(BadReason::MissingField, 3);
                }
                other => Cow::Owned(other.quoted()),
            }
        };
        Ok(Row {
            ts_ns,
            latency_ns,
            class,
            pod,
            free_status,
        })
    }

    /// Interprets one row and adds it to `agg`, or counts it as bad.
    pub fn accept(
        &self,
        agg: &mut Aggregator,
        at: Location,
        fields: [FieldValue<'_>; 4],
        has_pod_column: bool,
        hours: &mut HourCache,
    ) {
        match self.interpret(&fields, has_pod_column, hours) {
            Ok(row) => agg.push_row(&row),
            Err(r) => self.record(agg, at, &fields, r),
        }
    }

    /// Counts a rejected row, naming its column and quoting its value.
    pub fn record(
        &self,
        agg: &mut Aggregator,
        at: Location,
        fields: &[FieldValue<'_>; 4],
        rejection: Rejection,
    ) {
        let value = fields[rejection.field].quoted();
        agg.bad.record(
            at,
            rejection.reason,
            Some(&self.column_names[rejection.field]),
            Some(&value),
        );
    }
}

/// Classifies a status of one to three ASCII digits without going through text; `None` sends
/// anything else to [`classify_text`].
pub(crate) fn classify_status_bytes(t: &[u8], convention: StatusConvention) -> Option<StatusClass> {
    let n = match *t {
        [a, b, c] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            i64::from(a - b'0') * 100 + i64::from(b - b'0') * 10 + i64::from(c - b'0')
        }
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            i64::from(a - b'0') * 10 + i64::from(b - b'0')
        }
        [a] if a.is_ascii_digit() => i64::from(a - b'0'),
        _ => return None,
    };
    Some(classify_number(n, convention))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_work_merges_to_the_same_aggregate() {
        let rows: Vec<(i64, u64, StatusClass, &str)> = (0..500)
            .map(|i| {
                let pod = ["a", "b", "c"][i % 3];
                let class = StatusClass::ALL[i % 5];
                (
                    1_700_000_000_000_000_000 + (i as i64) * 7_919_000_000,
                    (i as u64 + 1) * 1_000_000,
                    class,
                    pod,
                )
            })
            .collect();
        let mut one = Aggregator::new();
        for r in &rows {
            one.push(r.0, r.1, r.2, r.3.as_bytes());
        }
        let mut a = Aggregator::new();
        let mut b = Aggregator::new();
        for (i, r) in rows.iter().enumerate().rev() {
            if i % 2 == 0 { &mut a } else { &mut b }.push(r.0, r.1, r.2, r.3.as_bytes());
        }
        b.merge(a);
        // Retiring in steps into a third aggregate and merging the rest changes nothing either.
        let mut c = Aggregator::new();
        let mut d = Aggregator::new();
        for (i, r) in rows.iter().enumerate() {
            c.push(r.0, r.1, r.2, r.3.as_bytes());
            if i % 97 == 0 {
                let cutoff = c.max_minute().expect("rows") - 3;
                c.retire_before(cutoff, &mut d);
            }
        }
        d.merge(c);
        let z = d.finish(1.0, Diagnostics::default());
        let x = one.finish(1.0, Diagnostics::default());
        let y = b.finish(1.0, Diagnostics::default());
        assert_eq!(x.pods, y.pods);
        assert_eq!(x.cells, y.cells);
        assert_eq!(
            x.seconds.iter().collect::<Vec<_>>(),
            y.seconds.iter().collect::<Vec<_>>()
        );
        assert_eq!(x.rows, 500);
        assert_eq!(x.pods, z.pods);
        assert_eq!(x.cells, z.cells);
        assert_eq!(
            x.seconds.iter().collect::<Vec<_>>(),
            z.seconds.iter().collect::<Vec<_>>()
        );
    }
}
