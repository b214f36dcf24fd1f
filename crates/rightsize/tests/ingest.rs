//! End-to-end tests of `rightsize ingest` and `rightsize generate`: the binary on fixtures in
//! every format, timestamp form, status convention and bad-row case, plain and compressed.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::{fixture, rightsize, run_ok};
use serde_json::Value;

/// Runs `rightsize ingest --json ARGS` and parses its output; panics with stderr on failure.
fn ingest_json(args: &[&str]) -> Value {
    let out = run_ok(rightsize().arg("ingest").arg("--json").args(args));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// Copies of a file gzip- and zstd-compressed, under names that do not say so: detection must
/// come from the bytes.
fn compressed_copies(src: &Path, dir: &Path) -> Vec<PathBuf> {
    let data = std::fs::read(src).expect("fixture");
    let gz = dir.join("copy-gzip.dat");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&data).expect("gzip");
    std::fs::write(&gz, e.finish().expect("gzip")).expect("write");
    let zst = dir.join("copy-zstd.dat");
    std::fs::write(&zst, zstd::encode_all(&data[..], 3).expect("zstd")).expect("write");
    vec![src.to_path_buf(), gz, zst]
}

/// Latency percentiles come from histogram buckets: within 0.78% of the exact value.
#[track_caller]
fn assert_ms(v: &Value, expected: f64) {
    let got = v.as_f64().unwrap_or(f64::NAN);
    assert!(
        ((got - expected) / expected).abs() <= 1.0 / 128.0,
        "expected ~{expected} ms, got {v}"
    );
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn every_timestamp_form_lands_on_the_right_instant() {
    let dir = tempfile::tempdir().expect("tempdir");
    for path in compressed_copies(&fixture("timestamps.csv"), dir.path()) {
        let s = ingest_json(&[p(&path)]);
        assert_eq!(s["rows"], 12, "{path:?}: {s}");
        assert_eq!(s["bad_rows"], 0, "{path:?}: {s}");
        assert_eq!(s["start"], "2025-12-03T10:00:00Z");
        assert_eq!(s["end"], "2025-12-03T10:00:04Z");
        assert_eq!(s["pods"], 2);
        // Rows per second: 2, 2, 2, then 4 (epoch s, decimal s, ms and us), then 2.
        assert_eq!(s["peak_rps_1s"], 4.0);
        assert_eq!(s["peak_1s_at"], "2025-12-03T10:00:03Z");
        assert_ms(&s["latency_ms"]["p50"], 60.0);
        assert_ms(&s["latency_ms"]["max"], 120.0);
    }
}

#[test]
fn crlf_line_ends_and_trailing_spaces_read_like_lf() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lf = std::fs::read_to_string(fixture("timestamps.csv")).expect("fixture");
    let crlf = dir.path().join("crlf.csv");
    std::fs::write(&crlf, lf.replace('\n', "\r\n")).expect("write");
    let padded = dir.path().join("padded.csv");
    std::fs::write(&padded, lf.replace(",pod-", ", pod-")).expect("write");
    let mut want = ingest_json(&[p(&fixture("timestamps.csv"))]);
    want["files"] = Value::Null;
    for f in [&crlf, &padded] {
        let mut got = ingest_json(&[p(f)]);
        got["files"] = Value::Null;
        assert_eq!(got, want, "{f:?}");
    }
}

#[test]
fn status_conventions_fold_into_classes() {
    let s = ingest_json(&[p(&fixture("statuses.csv"))]);
    let classes = &s["status_classes"];
    // ok: 200 302 OK "" success; client: 404 INVALID_ARGUMENT; server: 500 INTERNAL kaboom x2;
    // timeout: 504 DEADLINE_EXCEEDED timeout; shed: 429 503 UNAVAILABLE RESOURCE_EXHAUSTED.
    assert_eq!(classes["ok"], 5, "{s}");
    assert_eq!(classes["client_error"], 2, "{s}");
    assert_eq!(classes["server_error"], 4, "{s}");
    assert_eq!(classes["timeout"], 3, "{s}");
    assert_eq!(classes["shed"], 4, "{s}");
    assert_eq!(s["unrecognised_status_values"]["kaboom"], 2);
    let error_rate = s["error_rate"].as_f64().expect("number");
    assert!((error_rate - 11.0 / 18.0).abs() < 1e-9, "{error_rate}");
}

#[test]
fn json_lines_with_aliases_grpc_codes_and_seconds() {
    let dir = tempfile::tempdir().expect("tempdir");
    for path in compressed_copies(&fixture("grpc.jsonl"), dir.path()) {
        let s = ingest_json(&[p(&path)]);
        assert_eq!(s["rows"], 6, "{s}");
        assert_eq!(s["pods"], 2);
        assert_eq!(s["status_classes"]["ok"], 1);
        assert_eq!(s["status_classes"]["timeout"], 1);
        assert_eq!(s["status_classes"]["shed"], 2);
        assert_eq!(s["status_classes"]["server_error"], 1);
        assert_eq!(s["status_classes"]["client_error"], 1);
        // duration_s is seconds: 0.060 s is 60 ms.
        assert_ms(&s["latency_ms"]["max"], 60.0);
        let ignored: Vec<&str> = s["ignored_columns"]
            .as_array()
            .expect("array")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(ignored, vec!["path"]);
    }
}

#[test]
fn access_log_tsv_with_request_time_in_seconds() {
    let s = ingest_json(&[p(&fixture("access.tsv"))]);
    assert_eq!(s["rows"], 3);
    assert_ms(&s["latency_ms"]["max"], 56.0);
    assert_eq!(s["status_classes"]["shed"], 1);
    assert_eq!(s["pods"], 2);
}

#[test]
fn semicolons_microseconds_quotes_and_crlf() {
    let s = ingest_json(&[p(&fixture("semicolon.csv"))]);
    assert_eq!(s["rows"], 2);
    assert_ms(&s["latency_ms"]["max"], 2.5);
    let s = ingest_json(&[p(&fixture("quoted_crlf.csv"))]);
    assert_eq!(s["rows"], 2, "{s}");
    assert_eq!(s["pods"], 2);
    assert_ms(&s["latency_ms"]["max"], 12.5);
}

#[test]
fn column_and_unit_overrides() {
    // Read 'latency_ms' as microseconds and take the pod from another column.
    let s = ingest_json(&[
        p(&fixture("access.tsv")),
        "--column",
        "pod=user",
        "--latency-unit",
        "ms",
    ]);
    assert_eq!(s["pods"], 3);
    assert_ms(&s["latency_ms"]["max"], 0.056);
    let out = rightsize()
        .args(["ingest", p(&fixture("access.tsv")), "--column", "pod=nope"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--column pod=nope names no column"), "{err}");
}

#[test]
fn epoch_unit_and_input_zone_flags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("epoch.csv");
    std::fs::write(&f, "ts,latency_ms\n1764756000,1\n").expect("write");
    let s = ingest_json(&[p(&f), "--epoch-unit", "ms"]);
    assert_eq!(s["start"], "1970-01-21T10:12:36Z");
    let g = dir.path().join("local.csv");
    std::fs::write(
        &g,
        "ts,latency_ms\n2025-07-01T12:00:00,1\n2025-12-03T12:00:00,1\n",
    )
    .expect("write");
    let s = ingest_json(&[p(&g), "--input-tz", "Europe/Berlin"]);
    // Summer time (+02:00) and winter time (+01:00).
    assert_eq!(s["start"], "2025-07-01T10:00:00Z");
    assert_eq!(s["end"], "2025-12-03T11:00:00Z");
    let s = ingest_json(&[p(&g), "--input-tz", "-05:00"]);
    assert_eq!(s["start"], "2025-07-01T17:00:00Z");
}

#[test]
fn bad_rows_are_counted_by_reason_and_located() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("bad.csv");
    let mut data = std::fs::read(fixture("bad_rows.csv")).expect("fixture");
    data.extend_from_slice(b"2025-12-03T10:00:00Z,12,200,");
    data.extend(std::iter::repeat_n(b'x', 1100 * 1024));
    data.extend_from_slice(b"\n2025-12-03T10:59:58Z,9,200,pod-2\n");
    std::fs::write(&src, &data).expect("write");
    for path in compressed_copies(&src, dir.path()) {
        let s = ingest_json(&[p(&path), "--max-bad-fraction", "0.1"]);
        assert_eq!(s["rows"], 202, "{path:?} {s}");
        let reasons = &s["bad_row_reasons"];
        assert_eq!(reasons["unparsable_timestamp"], 1, "{s}");
        assert_eq!(reasons["latency_not_a_number"], 1);
        assert_eq!(reasons["negative_latency"], 1);
        assert_eq!(reasons["missing_field"], 2);
        assert_eq!(reasons["binary_junk"], 1);
        assert_eq!(reasons["line_too_long"], 1);
        assert_eq!(s["bad_rows"], 7);
        let examples: Vec<&str> = s["bad_row_examples"]
            .as_array()
            .expect("array")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(examples.len(), 5);
        let name = path.display().to_string();
        assert_eq!(
            examples[0],
            format!("{name}:202: unparsable_timestamp (column 'timestamp' holds 'yesterday')")
        );
        assert_eq!(
            examples[1],
            format!("{name}:203: latency_not_a_number (column 'latency_ms' holds 'fast')")
        );
        assert!(examples[3].starts_with(&format!("{name}:205: missing_field")));
    }
}

#[test]
fn too_many_bad_rows_fail_with_the_broken_assumption() {
    let out = rightsize()
        .args(["ingest", p(&fixture("mostly_bad.csv"))])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("column 'latency_ms' holds 'fast' in 62% of rows: is it numeric?"),
        "{err}"
    );
    // The same input passes when the user accepts that many bad rows.
    let s = ingest_json(&[p(&fixture("mostly_bad.csv")), "--max-bad-fraction", "0.7"]);
    assert_eq!(s["rows"], 38);
}

#[test]
fn unusable_inputs_are_clear_errors() {
    for (name, expected) in [
        ("empty.csv", "the file is empty"),
        ("header_only.csv", "no data rows, only a header"),
        (
            "no_timestamp.csv",
            "no timestamp column: looked for timestamp, ts",
        ),
        (
            "no_header.csv",
            "the first line looks like data, not a header",
        ),
        ("nope.csv", "no such file or directory"),
    ] {
        let out = rightsize()
            .args(["ingest", p(&fixture(name))])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
}

#[test]
fn generated_week_reads_the_same_in_every_format_and_compression() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut summaries = Vec::new();
    for name in [
        "w.csv",
        "w.tsv",
        "w.jsonl",
        "w.parquet",
        "w.csv.gz",
        "w.jsonl.zst",
        "w.parquet.gz",
    ] {
        let out = dir.path().join(name);
        rightsize()
            .args(["generate", "--rows", "30000", "--days", "1", "--seed", "7"])
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        let mut s = ingest_json(&[p(&out), "--sample-rate", "0.01"]);
        s["files"] = Value::Null;
        summaries.push((name, s));
    }
    let (_, first) = &summaries[0];
    assert!(first["rows"].as_u64().expect("rows") > 25_000, "{first}");
    for (name, s) in &summaries[1..] {
        assert_eq!(s, first, "{name} differs from w.csv");
    }
}

#[test]
fn epoch_and_grpc_generated_forms_agree_with_rfc3339_and_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("base.csv");
    rightsize()
        .args(["generate", "--rows", "5000", "--days", "1"])
        .arg("--out")
        .arg(&base)
        .assert()
        .success();
    let mut reference = ingest_json(&[p(&base)]);
    reference["files"] = Value::Null;
    for (ts, status, ext) in [
        ("epoch-s", "http", "csv"),
        ("epoch-ms", "http", "csv"),
        ("epoch-us", "grpc", "jsonl"),
        ("epoch-ns", "grpc", "parquet"),
        ("epoch-ms", "http", "parquet"),
        ("epoch-s", "grpc", "parquet"),
    ] {
        let out = dir.path().join(format!("x-{ts}-{status}.{ext}"));
        rightsize()
            .args(["generate", "--rows", "5000", "--days", "1"])
            .args(["--timestamps", ts, "--status", status])
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        let mut s = ingest_json(&[p(&out)]);
        s["files"] = Value::Null;
        // Epoch forms coarser than microseconds shift instants within their second; compare
        // what does not depend on sub-millisecond placement.
        for key in ["rows", "pods", "status_classes", "latency_ms", "bad_rows"] {
            assert_eq!(s[key], reference[key], "{ts} {status} {ext}: {key}");
        }
    }
}

#[test]
fn stdin_directories_and_globs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let days = dir.path().join("days");
    std::fs::create_dir(&days).expect("mkdir");
    for (i, start) in ["2025-11-24T00:00:00Z", "2025-11-25T00:00:00Z"]
        .iter()
        .enumerate()
    {
        rightsize()
            .args([
                "generate", "--rows", "2000", "--days", "1", "--start", start,
            ])
            .args(["--seed", &i.to_string()])
            .arg("--out")
            .arg(days.join(format!("day{i}.csv.gz")))
            .assert()
            .success();
    }
    let by_dir = ingest_json(&[p(&days)]);
    let glob = format!("{}/day*.csv.gz", days.display());
    let by_glob = ingest_json(&[&glob]);
    assert_eq!(by_dir["rows"], by_glob["rows"]);
    assert_eq!(by_dir["files"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        by_dir["start"].as_str().map(|s| &s[..10]),
        Some("2025-11-24")
    );
    assert_eq!(by_dir["end"].as_str().map(|s| &s[..10]), Some("2025-11-25"));

    let bytes = std::fs::read(days.join("day0.csv.gz")).expect("read");
    let out = run_ok(
        rightsize()
            .args(["ingest", "--json", "-"])
            .write_stdin(bytes),
    );
    let s: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(s["files"][0], "<stdin>");
    assert!(s["rows"].as_u64().expect("rows") > 1500);
}

#[test]
fn sample_rate_scales_counts_and_rates_but_not_percentiles() {
    let f = p(&fixture("timestamps.csv")).to_string();
    let full = ingest_json(&[&f]);
    let sampled = ingest_json(&[&f, "--sample-rate", "0.25"]);
    assert_eq!(sampled["rows"], full["rows"]);
    assert_eq!(sampled["latency_ms"], full["latency_ms"]);
    let ratio = |k: &str| sampled[k].as_f64().expect("number") / full[k].as_f64().expect("number");
    for k in [
        "mean_rps",
        "peak_rps_1m",
        "peak_rps_1s",
        "requests_estimated",
    ] {
        assert!((ratio(k) - 4.0).abs() < 1e-9, "{k}");
    }
    let out = rightsize()
        .args(["ingest", &f, "--sample-rate", "0"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn text_summary_reads_like_a_report() {
    let out = rightsize()
        .args(["ingest", p(&fixture("statuses.csv"))])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for line in ["rows ", "span ", "pods ", "rate ", "status ", "latency "] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(text.contains("'kaboom' 2"), "{text}");
    // No progress bar when stderr is not a terminal.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn generate_is_deterministic_and_atomic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    for f in [&a, &b] {
        rightsize()
            .args(["generate", "--rows", "3000", "--days", "1", "--seed", "3"])
            .arg("--out")
            .arg(f)
            .assert()
            .success();
    }
    assert_eq!(std::fs::read(&a).expect("a"), std::fs::read(&b).expect("b"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".rightsize-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}
