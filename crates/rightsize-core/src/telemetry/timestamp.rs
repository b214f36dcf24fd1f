//! Timestamp parsing for every form rightsize accepts: RFC 3339 / ISO 8601 (with `Z`, an offset
//! or none), the access-log form `03/Dec/2026:10:00:00 +0000`, and epoch numbers whose unit is
//! read from their magnitude. A hand-written fast path, because it runs once per row.

use jiff::tz::TimeZone;

/// The unit of an integer epoch timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochUnit {
    /// Seconds since 1970-01-01T00:00:00Z.
    Seconds,
    /// Milliseconds.
    Millis,
    /// Microseconds.
    Micros,
    /// Nanoseconds.
    Nanos,
}

impl EpochUnit {
    /// Nanoseconds per unit.
    pub fn nanos(self) -> i64 {
        match self {
            EpochUnit::Seconds => 1_000_000_000,
            EpochUnit::Millis => 1_000_000,
            EpochUnit::Micros => 1_000,
            EpochUnit::Nanos => 1,
        }
    }

    /// The unit implied by an epoch's magnitude: below 1e11 seconds (until the year 5138),
    /// below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds.
    pub fn from_magnitude(value: f64) -> Self {
        let v = value.abs();
        if v < 1e11 {
            EpochUnit::Seconds
        } else if v < 1e14 {
            EpochUnit::Millis
        } else if v < 1e17 {
            EpochUnit::Micros
        } else {
            EpochUnit::Nanos
        }
    }

    /// Parses `s`, `ms`, `us`, `ns` (and long forms).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "s" | "sec" | "secs" | "seconds" => Some(EpochUnit::Seconds),
            "ms" | "millis" | "milliseconds" => Some(EpochUnit::Millis),
            "us" | "µs" | "micros" | "microseconds" => Some(EpochUnit::Micros),
            "ns" | "nanos" | "nanoseconds" => Some(EpochUnit::Nanos),
            _ => None,
        }
    }
}

/// How timestamps without an explicit zone or unit are read.
#[derive(Debug, Clone)]
pub struct TimestampRules {
    /// The zone of timestamps that carry no offset (UTC by default).
    pub input_tz: TimeZone,
    /// Forces the unit of numeric epochs instead of guessing it from their magnitude.
    pub epoch_unit: Option<EpochUnit>,
}

impl Default for TimestampRules {
    fn default() -> Self {
        TimestampRules {
            input_tz: TimeZone::UTC,
            epoch_unit: None,
        }
    }
}

/// Converts an epoch number to Unix nanoseconds.
pub fn epoch_to_ns(value: f64, rules: &TimestampRules) -> Option<i64> {
    if !value.is_finite() {
        return None;
    }
    let unit = rules
        .epoch_unit
        .unwrap_or_else(|| EpochUnit::from_magnitude(value));
    let ns = value * unit.nanos() as f64;
    if ns.abs() >= i64::MAX as f64 {
        return None;
    }
    Some(ns as i64)
}

/// Converts an integer epoch to Unix nanoseconds without going through floating point.
pub fn epoch_int_to_ns(value: i64, rules: &TimestampRules) -> Option<i64> {
    let unit = rules
        .epoch_unit
        .unwrap_or_else(|| EpochUnit::from_magnitude(value as f64));
    value.checked_mul(unit.nanos())
}

/// Reads a zone-less instant (a civil time stored as if it were UTC, as Parquet timestamps
/// without `isAdjustedToUTC` are) in the rules' zone.
pub fn naive_ns_to_utc(naive_ns: i64, rules: &TimestampRules) -> Option<i64> {
    if rules.input_tz == TimeZone::UTC {
        return Some(naive_ns);
    }
    let dt = jiff::Timestamp::from_nanosecond(i128::from(naive_ns))
        .ok()?
        .to_zoned(TimeZone::UTC)
        .datetime();
    let ts = rules
        .input_tz
        .to_ambiguous_timestamp(dt)
        .compatible()
        .ok()?;
    i64::try_from(ts.as_nanosecond()).ok()
}

/// Parses a textual timestamp into Unix nanoseconds.
pub fn parse_timestamp(text: &[u8], rules: &TimestampRules) -> Option<i64> {
    parse_timestamp_cached(text, rules, &mut HourCache::default())
}

/// Remembers the last ISO `YYYY-MM-DDTHH` prefix and its instant, so that the rows of one hour
/// (nearly all rows of a log, in any order within the hour) skip the calendar arithmetic.
/// One per parsing thread.
#[derive(Debug, Clone, Default)]
pub struct HourCache {
    prefix: [u8; 13],
    hour_ns: Option<i64>,
}

/// [`parse_timestamp`] with a per-thread [`HourCache`].
pub fn parse_timestamp_cached(
    text: &[u8],
    rules: &TimestampRules,
    cache: &mut HourCache,
) -> Option<i64> {
    let t = trim(text);
    let first = *t.first()?;
    if first.is_ascii_digit() && t.len() >= 10 && t[4] == b'-' {
        if let Some(ns) = parse_iso_fast(t, cache) {
            return Some(ns);
        }
        return parse_iso(t, rules);
    }
    if first.is_ascii_digit() && t.len() >= 20 && t[2] == b'/' {
        return parse_access_log(t, rules);
    }
    parse_epoch_text(t, rules)
}

fn trim(mut t: &[u8]) -> &[u8] {
    if let (Some(a), Some(b)) = (t.first(), t.last())
        && a.is_ascii_alphanumeric()
        && b.is_ascii_alphanumeric()
    {
        return t;
    }
    while let [b' ' | b'\t' | b'"' | b'[', rest @ ..] = t {
        t = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'"' | b']' | b'\r'] = t {
        t = rest;
    }
    t
}

fn parse_epoch_text(t: &[u8], rules: &TimestampRules) -> Option<i64> {
    let s = std::str::from_utf8(t).ok()?;
    if let Ok(i) = s.parse::<i64>() {
        return epoch_int_to_ns(i, rules);
    }
    // Decimal epochs: split at the point so that nanosecond fractions survive (an f64 holds only
    // about 16 significant digits, which is microseconds for epoch seconds).
    let (int_part, frac_part) = s.split_once('.')?;
    if frac_part.is_empty() || !frac_part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let negative = int_part.starts_with('-');
    let whole: i64 = int_part.parse().ok()?;
    let unit = rules
        .epoch_unit
        .unwrap_or_else(|| EpochUnit::from_magnitude(whole as f64));
    let frac_digits = &frac_part.as_bytes()[..frac_part.len().min(18)];
    let mut frac: i128 = 0;
    for &d in frac_digits {
        frac = frac * 10 + i128::from(d - b'0');
    }
    let scale = 10i128.pow(frac_digits.len() as u32);
    let frac_ns = frac * i128::from(unit.nanos()) / scale;
    let whole_ns = i128::from(whole) * i128::from(unit.nanos());
    let ns = if negative {
        whole_ns - frac_ns
    } else {
        whole_ns + frac_ns
    };
    i64::try_from(ns).ok()
}

fn digits(t: &[u8], at: usize, n: usize) -> Option<i64> {
    let s = t.get(at..at + n)?;
    let mut v = 0i64;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(b - b'0');
    }
    Some(v)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            if leap { 29 } else { 28 }
        }
    }
}

/// A civil date-time with nanoseconds, before a zone is applied.
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    nanos: i64,
}

impl Civil {
    fn valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
            && (0..24).contains(&self.hour)
            && (0..60).contains(&self.minute)
            && (0..=60).contains(&self.second)
    }

    /// Nanoseconds since the epoch if this civil time were UTC.
    fn as_utc_ns(&self) -> Option<i64> {
        let days = days_from_civil(self.year, self.month, self.day);
        let secs = days * 86_400 + self.hour * 3600 + self.minute * 60 + self.second;
        secs.checked_mul(1_000_000_000)?.checked_add(self.nanos)
    }

    /// Applies an explicit offset, or the rules' zone when there is none.
    fn resolve(&self, offset_secs: Option<i64>, rules: &TimestampRules) -> Option<i64> {
        if !self.valid() {
            return None;
        }
        let utc = self.as_utc_ns()?;
        match offset_secs {
            Some(off) => utc.checked_sub(off * 1_000_000_000),
            None if rules.input_tz == TimeZone::UTC => Some(utc),
            None => {
                // A civil time in a named zone: let jiff resolve gaps and folds ("compatible",
                // as RFC 9557 and java.time do). Leap second 60 is folded onto :59.
                let dt = jiff::civil::DateTime::new(
                    i16::try_from(self.year).ok()?,
                    self.month as i8,
                    self.day as i8,
                    self.hour as i8,
                    self.minute as i8,
                    self.second.min(59) as i8,
                    self.nanos as i32,
                )
                .ok()?;
                let ts = rules
                    .input_tz
                    .to_ambiguous_timestamp(dt)
                    .compatible()
                    .ok()?;
                i64::try_from(ts.as_nanosecond()).ok()
            }
        }
    }
}

/// Reads a fraction of a second starting after the separator; returns nanoseconds and the index
/// after the last digit.
fn fraction(t: &[u8], i: usize) -> (i64, usize) {
    const SCALE: [i64; 10] = [
        1_000_000_000,
        100_000_000,
        10_000_000,
        1_000_000,
        100_000,
        10_000,
        1_000,
        100,
        10,
        1,
    ];
    // Eight bytes at a time when there are eight: find how many lead digits there are and
    // convert them with three multiplications (the well-known SWAR digit trick).
    if let Some(word) = t.get(i..i + 8) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let w = u64::from_le_bytes(bytes);
        let not_digit = non_digit_bytes(w);
        let kept = (not_digit.trailing_zeros() / 8) as usize;
        if kept < 8 {
            let digits = (w.wrapping_sub(0x3030_3030_3030_3030)) << (8 * (8 - kept) as u32 % 64);
            let digits = if kept == 0 { 0 } else { digits };
            return (swar_8_digits(digits) as i64 * SCALE[kept], i + kept);
        }
    }
    let mut nanos = 0i64;
    let mut j = i;
    let stop = t.len().min(i + 9);
    while j < stop {
        let d = t[j].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        nanos = nanos * 10 + i64::from(d);
        j += 1;
    }
    let kept = j - i;
    // Digits past nanoseconds are read and dropped.
    while j < t.len() && t[j].is_ascii_digit() {
        j += 1;
    }
    (nanos * SCALE[kept], j)
}

/// A word with the high bit set in each byte of `w` that is not an ASCII digit (exact, no carry
/// between bytes).
fn non_digit_bytes(w: u64) -> u64 {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let x = w ^ 0x3030_3030_3030_3030; // digits become 0..=9
    let big = (x & 0x7f7f_7f7f_7f7f_7f7f) + 0x7676_7676_7676_7676; // high bit when >= 10
    (big | x) & HIGH
}

/// The value of eight decimal digits stored one per byte (0–9), most significant in the lowest
/// byte, as little-endian text is.
fn swar_8_digits(v: u64) -> u64 {
    let v = (v.wrapping_mul(10)).wrapping_add(v >> 8) & 0x00ff_00ff_00ff_00ff;
    let v = (v.wrapping_mul(100)).wrapping_add(v >> 16) & 0x0000_ffff_0000_ffff;
    (v.wrapping_mul(10_000)).wrapping_add(v >> 32) & 0xffff_ffff
}

/// Parses `Z`, `+HH:MM`, `+HHMM`, `+HH`, ` UTC` or nothing at the end of a timestamp.
/// Returns `Some(None)` for no offset and `None` for trailing garbage.
fn offset(rest: &[u8]) -> Option<Option<i64>> {
    let rest = trim(rest);
    match rest {
        [] => Some(None),
        [b'Z' | b'z'] => Some(Some(0)),
        b"UTC" | b"GMT" | b" UTC" => Some(Some(0)),
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let sign = if *sign == b'-' { -1 } else { 1 };
            let (h, m) = match tail.len() {
                2 => (digits(tail, 0, 2)?, 0),
                4 => (digits(tail, 0, 2)?, digits(tail, 2, 2)?),
                5 if tail[2] == b':' => (digits(tail, 0, 2)?, digits(tail, 3, 2)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            Some(Some(sign * (h * 3600 + m * 60)))
        }
        _ => None,
    }
}

/// The fast path of [`parse_iso`]: a whole `YYYY-MM-DDTHH:MM:SS[.f]` with an explicit offset,
/// the hour taken from the cache when its prefix matches. `None` sends the text to the full
/// parser (which also handles zone-less times, whose zone may shift within an hour).
fn parse_iso_fast(t: &[u8], cache: &mut HourCache) -> Option<i64> {
    match parse_iso_prefix(t, cache) {
        Some((ns, len)) if len == t.len() => Some(ns),
        _ => None,
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH[:]MM|±HH)` at the start of `t` and returns the
/// instant and the bytes it took: the delimited fast lane reads a field while it finds its
/// end. Anything else (a comma fraction, no offset, a zone name) is `None`, for the general
/// parser.
pub(crate) fn parse_iso_prefix(t: &[u8], cache: &mut HourCache) -> Option<(i64, usize)> {
    if t.len() < 20 || t[13] != b':' || t[16] != b':' {
        return None;
    }
    // Two overlapping 8-byte compares instead of a call to memcmp.
    let word = |s: &[u8], at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&s[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let hour_ns = match cache.hour_ns {
        Some(ns)
            if word(&cache.prefix, 0) == word(t, 0) && word(&cache.prefix, 5) == word(t, 5) =>
        {
            ns
        }
        _ => {
            if t[4] != b'-' || t[7] != b'-' || !matches!(t[10], b'T' | b't' | b' ') {
                return None;
            }
            let civil = Civil {
                year: digits(t, 0, 4)?,
                month: digits(t, 5, 2)?,
                day: digits(t, 8, 2)?,
                hour: digits(t, 11, 2)?,
                minute: 0,
                second: 0,
                nanos: 0,
            };
            if !civil.valid() {
                return None;
            }
            let ns = civil.as_utc_ns()?;
            cache.prefix.copy_from_slice(&t[..13]);
            cache.hour_ns = Some(ns);
            ns
        }
    };
    let minute = digits(t, 14, 2)?;
    let second = digits(t, 17, 2)?;
    if minute > 59 || second > 60 {
        return None;
    }
    let mut nanos = 0;
    let mut i = 19;
    if t.get(19) == Some(&b'.') {
        let (n, end) = fraction(t, 20);
        if end == 20 {
            return None;
        }
        nanos = n;
        i = end;
    }
    let off = match t.get(i) {
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let h = digits(t, i + 1, 2)?;
            i += 3;
            let m = if t.get(i) == Some(&b':') {
                i += 3;
                digits(t, i - 2, 2)?
            } else if t.get(i).is_some_and(u8::is_ascii_digit) {
                i += 2;
                digits(t, i - 2, 2)?
            } else {
                0
            };
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            if sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    Some((
        hour_ns + (minute * 60 + second - off) * 1_000_000_000 + nanos,
        i,
    ))
}

/// `2026-12-03T10:00:00.123456789Z`, `2026-12-03 10:00:00+01:00`, `2026-12-03T10:00`, ...
fn parse_iso(t: &[u8], rules: &TimestampRules) -> Option<i64> {
    if t.get(7) != Some(&b'-') {
        return None;
    }
    let year = digits(t, 0, 4)?;
    let month = digits(t, 5, 2)?;
    let day = digits(t, 8, 2)?;
    let mut civil = Civil {
        year,
        month,
        day,
        hour: 0,
        minute: 0,
        second: 0,
        nanos: 0,
    };
    if t.len() == 10 {
        return civil.resolve(None, rules);
    }
    if !matches!(t[10], b'T' | b't' | b' ') || t.get(13) != Some(&b':') {
        return None;
    }
    civil.hour = digits(t, 11, 2)?;
    civil.minute = digits(t, 14, 2)?;
    let mut i = 16;
    if t.get(16) == Some(&b':') {
        civil.second = digits(t, 17, 2)?;
        i = 19;
        if matches!(t.get(19), Some(b'.' | b',')) {
            let (nanos, end) = fraction(t, 20);
            if end == 20 {
                return None;
            }
            civil.nanos = nanos;
            i = end;
        }
    }
    let off = offset(&t[i..])?;
    civil.resolve(off, rules)
}

/// The access-log form: `03/Dec/2026:10:00:00 +0000` (nginx `$time_local`, Apache `%t`).
fn parse_access_log(t: &[u8], rules: &TimestampRules) -> Option<i64> {
    const MONTHS: [&[u8]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let day = digits(t, 0, 2)?;
    let mon = t.get(3..6)?;
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(mon))? as i64 + 1;
    if t.get(6) != Some(&b'/') || t.get(11) != Some(&b':') {
        return None;
    }
    let year = digits(t, 7, 4)?;
    let hour = digits(t, 12, 2)?;
    let minute = digits(t, 15, 2)?;
    let second = digits(t, 18, 2)?;
    let mut civil = Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanos: 0,
    };
    let mut i = 20;
    if matches!(t.get(20), Some(b'.' | b',')) {
        let (nanos, end) = fraction(t, 21);
        civil.nanos = nanos;
        i = end;
    }
    let off = offset(&t[i..])?;
    civil.resolve(off, rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: i64 = 1_764_756_000_000_000_000; // 2025-12-03T10:00:00Z

    fn check(text: &str, rules: &TimestampRules, expected: Option<i64>) {
        assert_eq!(
            parse_timestamp(text.as_bytes(), rules),
            expected,
            "timestamp {text:?}"
        );
    }

    #[test]
    fn rfc3339_and_iso_forms() {
        let r = TimestampRules::default();
        for (text, expected) in [
            ("2025-12-03T10:00:00Z", Some(BASE)),
            ("2025-12-03t10:00:00z", Some(BASE)),
            ("2025-12-03 10:00:00Z", Some(BASE)),
            ("2025-12-03T10:00:00", Some(BASE)),
            ("2025-12-03T10:00", Some(BASE)),
            ("2025-12-03T11:00:00+01:00", Some(BASE)),
            ("2025-12-03T11:00:00+0100", Some(BASE)),
            ("2025-12-03T11:00:00+01", Some(BASE)),
            ("2025-12-03T05:30:00-04:30", Some(BASE)),
            ("2025-12-03T10:00:00.5Z", Some(BASE + 500_000_000)),
            ("2025-12-03T10:00:00,25Z", Some(BASE + 250_000_000)),
            ("2025-12-03T10:00:00.123456789Z", Some(BASE + 123_456_789)),
            ("2025-12-03T10:00:00.1234567891Z", Some(BASE + 123_456_789)),
            ("2025-12-03T10:00:00.000001+00:00", Some(BASE + 1_000)),
            ("\"2025-12-03T10:00:00Z\"", Some(BASE)),
            ("2025-12-03", Some(BASE - 36_000_000_000_000)),
            ("2025-12-03 10:00:00 UTC", Some(BASE)),
            ("2025-02-30T10:00:00Z", None),
            ("2025-12-03T25:00:00Z", None),
            ("2025-12-03T10:00:00Q", None),
            ("2025-12-03T10:00:00.Z", None),
            ("2025-13-03T10:00:00Z", None),
            ("yesterday", None),
            ("", None),
        ] {
            check(text, &r, expected);
        }
    }

    #[test]
    fn swar_fraction_matches_the_digit_loop() {
        for text in [
            "123456Z,",
            "1Z",
            "123456789Z",
            "1234567891234",
            "12345678",
            "1234567Z",
            "Z",
            "5",
            "0000001x",
            "9999999,",
            "12",
        ] {
            let t = text.as_bytes();
            let mut nanos = 0i64;
            let mut n = 0;
            let mut j = 0;
            while j < t.len() && t[j].is_ascii_digit() {
                if n < 9 {
                    nanos = nanos * 10 + i64::from(t[j] - b'0');
                    n += 1;
                }
                j += 1;
            }
            for _ in n..9 {
                nanos *= 10;
            }
            assert_eq!(fraction(t, 0), (nanos, j), "{text}");
        }
    }

    #[test]
    fn access_log_form() {
        let r = TimestampRules::default();
        check("03/Dec/2025:10:00:00 +0000", &r, Some(BASE));
        check("[03/Dec/2025:11:00:00 +0100]", &r, Some(BASE));
        check("03/Foo/2025:10:00:00 +0000", &r, None);
    }

    #[test]
    fn epochs_by_magnitude() {
        let r = TimestampRules::default();
        let s = BASE / 1_000_000_000;
        for (text, expected) in [
            (format!("{s}"), Some(BASE)),
            (format!("{s}.25"), Some(BASE + 250_000_000)),
            (format!("{s}.123456789"), Some(BASE + 123_456_789)),
            (format!("{}", BASE / 1_000_000), Some(BASE)),
            (format!("{}", BASE / 1_000), Some(BASE)),
            (format!("{BASE}"), Some(BASE)),
            (format!("{}.5", BASE / 1_000_000), Some(BASE + 500_000)),
            ("12.x".to_string(), None),
            ("1e9".to_string(), None),
        ] {
            check(&text, &r, expected);
        }
    }

    #[test]
    fn forced_epoch_unit() {
        let r = TimestampRules {
            epoch_unit: Some(EpochUnit::Millis),
            ..TimestampRules::default()
        };
        check("1500", &r, Some(1_500_000_000));
        assert_eq!(epoch_to_ns(1.5, &r), Some(1_500_000));
    }

    #[test]
    fn input_tz_applies_only_without_offset() {
        let r = TimestampRules {
            input_tz: TimeZone::fixed(jiff::tz::offset(1)),
            epoch_unit: None,
        };
        check("2025-12-03T11:00:00", &r, Some(BASE));
        check("2025-12-03T11:00:00Z", &r, Some(BASE + 3_600_000_000_000));
        check("2025-12-03T11:00:00+01:00", &r, Some(BASE));
        // The prefix parser agrees with the full one and says where the timestamp ends.
        let mut cache = HourCache::default();
        for text in [
            "2025-12-03T10:00:00Z",
            "2025-12-03T10:00:00.123456Z",
            "2025-12-03 11:00:00+01:00",
            "2025-12-03T11:00:00+0100",
            "2025-12-03T11:00:00+01",
            "2025-12-03T05:30:00.5-04:30",
        ] {
            let want = parse_timestamp(text.as_bytes(), &r);
            let line = format!("{text},12,200");
            let got = parse_iso_prefix(line.as_bytes(), &mut cache);
            assert_eq!(got, want.map(|ns| (ns, text.len())), "{text}");
        }
        assert_eq!(
            parse_iso_prefix(b"2025-12-03T10:00:00,5Z", &mut cache),
            None
        );
        assert_eq!(parse_iso_prefix(b"2025-12-03T10:00:00,x", &mut cache), None);
        // The hour cache must not leak across zones or forms.
        let mut cache = HourCache::default();
        let t = |s: &str, c: &mut HourCache| parse_timestamp_cached(s.as_bytes(), &r, c);
        assert_eq!(
            t("2025-12-03T11:00:00Z", &mut cache),
            Some(BASE + 3_600_000_000_000)
        );
        assert_eq!(t("2025-12-03T11:00:00", &mut cache), Some(BASE));
        assert_eq!(
            t("2025-12-03T11:30:00+01:00", &mut cache),
            Some(BASE + 1_800_000_000_000)
        );
        assert_eq!(t("2025-12-03T11:61:00Z", &mut cache), None);
        assert_eq!(
            t("2025-12-03T12:00:00Z", &mut cache),
            Some(BASE + 7_200_000_000_000)
        );
        assert_eq!(naive_ns_to_utc(BASE + 3_600_000_000_000, &r), Some(BASE));
        assert_eq!(
            naive_ns_to_utc(BASE, &TimestampRules::default()),
            Some(BASE)
        );
    }
}
