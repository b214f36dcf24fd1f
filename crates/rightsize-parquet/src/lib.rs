//! Parquet input and output for rightsize telemetry, on arrow-rs. Kept in its own crate because
//! arrow and parquet are most of the workspace's clean build time; the binary's default
//! `parquet` feature pulls it in, and `--no-default-features` builds leave it out.
//!
//! Reading projects only the four role columns and spreads row groups over threads; every row
//! goes through rightsize-core's one [`RowInterpreter`], so Parquet and text agree on every
//! convention.

use std::io::Write;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, DurationMicrosecondType, DurationMillisecondType,
    DurationNanosecondType, DurationSecondType, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::basic::Compression as ParquetCompression;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::ChunkReader;

use rightsize_core::telemetry::aggregate::retire_finished;
use rightsize_core::telemetry::generate::{GenRow, StatusStyle, TimestampStyle, grpc_name};
use rightsize_core::telemetry::timestamp::{HourCache, naive_ns_to_utc};
use rightsize_core::telemetry::{
    Aggregator, ColumnMap, Diagnostics, FieldValue, IngestConfig, IngestError, Location, Progress,
    Role, RowInterpreter, TimestampRules,
};

/// Rows per record batch when reading.
const BATCH_ROWS: usize = 64 * 1024;

fn unsupported(file: &str, what: impl std::fmt::Display) -> IngestError {
    IngestError::Unsupported {
        file: file.to_string(),
        what: what.to_string(),
    }
}

/// Converts one column of a batch into field values, or says why its type cannot play the role.
fn column_values<'a>(
    array: &'a ArrayRef,
    role: Role,
    name: &str,
    rules: &TimestampRules,
) -> Result<Vec<FieldValue<'a>>, String> {
    fn prim<'a, T: ArrowPrimitiveType>(
        array: &'a ArrayRef,
        f: impl Fn(T::Native) -> FieldValue<'a>,
    ) -> Vec<FieldValue<'a>> {
        let a = array.as_primitive::<T>();
        (0..a.len())
            .map(|i| {
                if a.is_null(i) {
                    FieldValue::Missing
                } else {
                    f(a.value(i))
                }
            })
            .collect()
    }
    let naive = |ns: Option<i64>, zoned: bool| -> FieldValue<'a> {
        match ns {
            Some(ns) if zoned => FieldValue::Nanos(ns),
            Some(ns) => naive_ns_to_utc(ns, rules).map_or(FieldValue::Missing, FieldValue::Nanos),
            None => FieldValue::Missing,
        }
    };
    Ok(match array.data_type() {
        DataType::Int8 => prim::<Int8Type>(array, |v| FieldValue::Int(v.into())),
        DataType::Int16 => prim::<Int16Type>(array, |v| FieldValue::Int(v.into())),
        DataType::Int32 => prim::<Int32Type>(array, |v| FieldValue::Int(v.into())),
        DataType::Int64 => prim::<Int64Type>(array, FieldValue::Int),
        DataType::UInt8 => prim::<UInt8Type>(array, |v| FieldValue::UInt(v.into())),
        DataType::UInt16 => prim::<UInt16Type>(array, |v| FieldValue::UInt(v.into())),
        DataType::UInt32 => prim::<UInt32Type>(array, |v| FieldValue::UInt(v.into())),
        DataType::UInt64 => prim::<UInt64Type>(array, FieldValue::UInt),
        DataType::Float32 => prim::<Float32Type>(array, |v| FieldValue::Float(v.into())),
        DataType::Float64 => prim::<Float64Type>(array, FieldValue::Float),
        DataType::Boolean => {
            let a = array.as_boolean();
            (0..a.len())
                .map(|i| {
                    if a.is_null(i) {
                        FieldValue::Missing
                    } else {
                        FieldValue::Bool(a.value(i))
                    }
                })
                .collect()
        }
        DataType::Utf8 => text_values(array.as_string::<i32>().iter()),
        DataType::LargeUtf8 => text_values(array.as_string::<i64>().iter()),
        DataType::Utf8View => text_values(array.as_string_view().iter()),
        DataType::Dictionary(_, value_type)
            if matches!(
                value_type.as_ref(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) =>
        {
            let dict = array.as_any_dictionary();
            let values = column_values(dict.values(), role, name, rules)?;
            let keys = dict.normalized_keys();
            (0..array.len())
                .map(|i| {
                    if array.is_null(i) {
                        FieldValue::Missing
                    } else {
                        values.get(keys[i]).copied().unwrap_or(FieldValue::Missing)
                    }
                })
                .collect()
        }
        DataType::Timestamp(unit, tz) if role == Role::Timestamp => {
            let zoned = tz.is_some();
            match unit {
                TimeUnit::Second => prim::<TimestampSecondType>(array, |v| {
                    naive(v.checked_mul(1_000_000_000), zoned)
                }),
                TimeUnit::Millisecond => prim::<TimestampMillisecondType>(array, |v| {
                    naive(v.checked_mul(1_000_000), zoned)
                }),
                TimeUnit::Microsecond => {
                    prim::<TimestampMicrosecondType>(array, |v| naive(v.checked_mul(1_000), zoned))
                }
                TimeUnit::Nanosecond => {
                    prim::<TimestampNanosecondType>(array, |v| naive(Some(v), zoned))
                }
            }
        }
        DataType::Date32 if role == Role::Timestamp => prim::<Date32Type>(array, |v| {
            naive(i64::from(v).checked_mul(86_400_000_000_000), false)
        }),
        DataType::Date64 if role == Role::Timestamp => {
            prim::<Date64Type>(array, |v| naive(v.checked_mul(1_000_000), false))
        }
        DataType::Duration(unit) if role == Role::Latency => {
            let ns = |v: i64, m: i64| {
                v.checked_mul(m)
                    .map_or(FieldValue::Missing, FieldValue::Nanos)
            };
            match unit {
                TimeUnit::Second => prim::<DurationSecondType>(array, |v| ns(v, 1_000_000_000)),
                TimeUnit::Millisecond => {
                    prim::<DurationMillisecondType>(array, |v| ns(v, 1_000_000))
                }
                TimeUnit::Microsecond => prim::<DurationMicrosecondType>(array, |v| ns(v, 1_000)),
                TimeUnit::Nanosecond => prim::<DurationNanosecondType>(array, |v| ns(v, 1)),
            }
        }
        other => {
            return Err(format!(
                "column '{name}' has type {other}, which rightsize cannot read as a {}: \
                 convert it, or pick another column with --column {}=NAME",
                role.name(),
                role.name()
            ));
        }
    })
}

fn text_values<'a>(iter: impl Iterator<Item = Option<&'a str>>) -> Vec<FieldValue<'a>> {
    iter.map(|v| v.map_or(FieldValue::Missing, |s| FieldValue::Text(s.as_bytes())))
        .collect()
}

/// Ingests one Parquet input. `open` yields a fresh reader over the same bytes for each thread
/// (a `File::open`, or a clone of in-memory `Bytes`); row groups are dealt round-robin to
/// `cfg.threads` threads. `file` indexes `diag.files`.
pub fn ingest_parquet<R, F>(
    open: F,
    file: u32,
    cfg: &IngestConfig,
    agg: &mut Aggregator,
    diag: &mut Diagnostics,
    progress: &dyn Progress,
) -> Result<(), IngestError>
where
    R: ChunkReader + 'static,
    F: Fn() -> std::io::Result<R> + Sync,
{
    let file_name = diag
        .files
        .get(file as usize)
        .cloned()
        .unwrap_or_else(|| "?".into());
    let io_err = |source| IngestError::Io {
        file: file_name.clone(),
        source,
    };
    let reader_metadata =
        ArrowReaderMetadata::load(&open().map_err(io_err)?, ArrowReaderOptions::default())
            .map_err(|e| unsupported(&file_name, format!("not a readable Parquet file: {e}")))?;
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(
        open().map_err(io_err)?,
        reader_metadata.clone(),
    );
    let names: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let map = ColumnMap::resolve(&names, &cfg.columns).map_err(|source| IngestError::Columns {
        file: file_name.clone(),
        source,
    })?;
    diag.note_layout(&map, &file_name);
    let metadata = builder.metadata().clone();
    let total_rows: i64 = metadata.row_groups().iter().map(|g| g.num_rows()).sum();
    if total_rows == 0 {
        return Err(IngestError::HeaderOnly { file: file_name });
    }
    // First row number (1-based) of each row group, for locating bad rows.
    let mut group_first_row = Vec::with_capacity(metadata.num_row_groups());
    let mut next = 1u64;
    for g in metadata.row_groups() {
        group_first_row.push(next);
        next += g.num_rows().max(0) as u64;
    }
    let roles: Vec<(Role, Option<usize>)> = vec![
        (Role::Timestamp, Some(map.timestamp)),
        (Role::Latency, Some(map.latency)),
        (Role::Status, map.status),
        (Role::Pod, map.pod),
    ];
    let interp = RowInterpreter::for_layout(&map, cfg);
    let threads = cfg.threads.max(1).min(metadata.num_row_groups().max(1));
    drop(builder);

    let shared = std::sync::Mutex::new(std::mem::take(agg));
    let read_groups = |groups: Vec<usize>| -> Result<Aggregator, IngestError> {
        let mut part = Aggregator::new();
        let mut hours = HourCache::default();
        let used: Vec<usize> = roles.iter().filter_map(|(_, i)| *i).collect();
        let mask = ProjectionMask::roots(reader_metadata.parquet_schema(), used);
        for group in groups {
            let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
                open().map_err(io_err)?,
                reader_metadata.clone(),
            )
            .with_projection(mask.clone())
            .with_row_groups(vec![group])
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| unsupported(&file_name, e))?;
            let mut row = group_first_row[group];
            for batch in reader {
                let batch = batch.map_err(|e| unsupported(&file_name, e))?;
                let n = batch.num_rows();
                let mut cols: Vec<Vec<FieldValue<'_>>> = Vec::with_capacity(4);
                for (role, index) in &roles {
                    match index {
                        None => cols.push(vec![FieldValue::Missing; n]),
                        Some(i) => {
                            let name = map.name(*i);
                            let array = batch.column_by_name(name).ok_or_else(|| {
                                unsupported(&file_name, format!("column '{name}' vanished"))
                            })?;
                            cols.push(
                                column_values(array, *role, name, &cfg.timestamps)
                                    .map_err(|e| unsupported(&file_name, e))?,
                            );
                        }
                    }
                }
                let [ts, lat, status, pod] = [&cols[0], &cols[1], &cols[2], &cols[3]];
                let rows = ts.iter().zip(lat).zip(status).zip(pod);
                for (r, (((ts, lat), status), pod)) in rows.enumerate() {
                    let at = Location {
                        file,
                        line: row + r as u64,
                    };
                    interp.accept(
                        &mut part,
                        at,
                        [*ts, *lat, *status, *pod],
                        map.pod.is_some(),
                        &mut hours,
                    );
                }
                row += n as u64;
                progress.rows(n as u64);
                retire_finished(&mut part, &shared);
            }
        }
        Ok(part)
    };

    let parts = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let groups: Vec<usize> = (t..metadata.num_row_groups()).step_by(threads).collect();
                let read_groups = &read_groups;
                scope.spawn(move || read_groups(groups))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(IngestError::Internal("a Parquet thread panicked".into()))
                })
            })
            .collect::<Vec<_>>()
    });
    *agg = shared
        .into_inner()
        .map_err(|_| IngestError::Internal("a Parquet thread panicked".into()))?;
    for p in parts {
        agg.merge(p?);
    }
    Ok(())
}

/// Writes generated rows as Parquet (Snappy, 1 Mi rows per row group). Timestamps are a UTC
/// microsecond timestamp column for `Rfc3339`, else the epoch number the style names; status is
/// an int32 HTTP code or a gRPC name string. Returns the number of rows written.
pub fn write_parquet<W: Write + Send>(
    rows: impl Iterator<Item = GenRow>,
    pod_names: &[String],
    timestamps: TimestampStyle,
    statuses: StatusStyle,
    out: W,
) -> Result<u64, parquet::errors::ParquetError> {
    let ts_type = match timestamps {
        TimestampStyle::Rfc3339 => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        TimestampStyle::EpochSeconds => DataType::Float64,
        _ => DataType::Int64,
    };
    let status_type = match statuses {
        StatusStyle::Http => DataType::Int32,
        StatusStyle::Grpc => DataType::Utf8,
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("timestamp", ts_type, false),
        Field::new("latency_ms", DataType::Float64, false),
        Field::new("status", status_type, false),
        Field::new("pod", DataType::Utf8, false),
    ]));
    let props = WriterProperties::builder()
        .set_compression(ParquetCompression::SNAPPY)
        .set_max_row_group_row_count(Some(1 << 20))
        .build();
    let mut writer = ArrowWriter::try_new(out, schema.clone(), Some(props))?;
    let mut total = 0u64;
    let mut rows = rows.peekable();
    while rows.peek().is_some() {
        let chunk: Vec<GenRow> = rows.by_ref().take(BATCH_ROWS).collect();
        let ts: ArrayRef = match timestamps {
            TimestampStyle::Rfc3339 => Arc::new(
                TimestampMicrosecondArray::from_iter_values(chunk.iter().map(|r| r.ts_ns / 1000))
                    .with_timezone("UTC"),
            ),
            TimestampStyle::EpochSeconds => Arc::new(Float64Array::from_iter_values(
                chunk.iter().map(|r| r.ts_ns as f64 / 1e9),
            )),
            TimestampStyle::EpochMillis => Arc::new(Int64Array::from_iter_values(
                chunk.iter().map(|r| r.ts_ns / 1_000_000),
            )),
            TimestampStyle::EpochMicros => Arc::new(Int64Array::from_iter_values(
                chunk.iter().map(|r| r.ts_ns / 1_000),
            )),
            TimestampStyle::EpochNanos => {
                Arc::new(Int64Array::from_iter_values(chunk.iter().map(|r| r.ts_ns)))
            }
        };
        let latency: ArrayRef = Arc::new(Float64Array::from_iter_values(
            chunk.iter().map(|r| r.latency_us as f64 / 1000.0),
        ));
        let status: ArrayRef = match statuses {
            StatusStyle::Http => Arc::new(Int32Array::from_iter_values(
                chunk.iter().map(|r| i32::from(r.status)),
            )),
            StatusStyle::Grpc => Arc::new(StringArray::from_iter_values(
                chunk.iter().map(|r| grpc_name(r.status)),
            )),
        };
        let pod: ArrayRef =
            Arc::new(StringArray::from_iter_values(chunk.iter().map(|r| {
                pod_names.get(r.pod as usize).map_or("?", String::as_str)
            })));
        let batch = RecordBatch::try_new(schema.clone(), vec![ts, latency, status, pod])?;
        writer.write(&batch)?;
        total += chunk.len() as u64;
    }
    writer.close()?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::types::Int32Type as DictKey;
    use arrow_array::{
        DictionaryArray, DurationMillisecondArray, Int16Array, TimestampMillisecondArray,
        TimestampNanosecondArray, TimestampSecondArray,
    };
    use rightsize_core::telemetry::{NoProgress, Summary};

    const BASE_S: i64 = 1_764_756_000; // 2025-12-03T10:00:00Z

    fn to_bytes(columns: Vec<(&str, ArrayRef)>) -> bytes::Bytes {
        let batch = RecordBatch::try_from_iter(columns).expect("batch");
        let mut buf = Vec::new();
        let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), None).expect("writer");
        w.write(&batch).expect("write");
        w.close().expect("close");
        bytes::Bytes::from(buf)
    }

    fn ingest(data: bytes::Bytes, cfg: &IngestConfig) -> Result<Summary, IngestError> {
        let mut agg = Aggregator::new();
        let mut diag = Diagnostics {
            files: vec!["t.parquet".into()],
            ..Diagnostics::default()
        };
        ingest_parquet(
            || Ok(data.clone()),
            0,
            cfg,
            &mut agg,
            &mut diag,
            &NoProgress,
        )?;
        Ok(Summary::of(&agg.finish(1.0, diag)))
    }

    fn pods() -> ArrayRef {
        Arc::new(StringArray::from(vec!["a", "b", "a"]))
    }

    fn lat() -> ArrayRef {
        Arc::new(Float64Array::from(vec![10.0, 20.0, 30.0]))
    }

    #[test]
    fn timestamp_columns_of_every_unit_and_int64_epochs() {
        let secs = [BASE_S, BASE_S + 1, BASE_S + 2];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(TimestampSecondArray::from(secs.to_vec()).with_timezone("UTC")),
            Arc::new(
                TimestampMillisecondArray::from(secs.map(|s| s * 1000).to_vec())
                    .with_timezone("+00:00"),
            ),
            Arc::new(TimestampMicrosecondArray::from(
                secs.map(|s| s * 1_000_000).to_vec(),
            )),
            Arc::new(TimestampNanosecondArray::from(
                secs.map(|s| s * 1_000_000_000).to_vec(),
            )),
            Arc::new(Int64Array::from(secs.map(|s| s * 1000).to_vec())),
            Arc::new(Int64Array::from(secs.to_vec())),
            Arc::new(Float64Array::from(secs.map(|s| s as f64).to_vec())),
            Arc::new(StringArray::from(vec![
                "2025-12-03T10:00:00Z",
                "2025-12-03T10:00:01Z",
                "2025-12-03T10:00:02Z",
            ])),
        ];
        for ts in columns {
            let kind = ts.data_type().clone();
            let data = to_bytes(vec![
                ("timestamp", ts),
                ("latency_ms", lat()),
                ("status", Arc::new(Int32Array::from(vec![200, 503, 200]))),
                ("pod", pods()),
            ]);
            let s = ingest(data, &IngestConfig::default()).expect("ingests");
            assert_eq!(s.rows, 3, "{kind}");
            assert_eq!(s.start.as_deref(), Some("2025-12-03T10:00:00Z"), "{kind}");
            assert_eq!(s.end.as_deref(), Some("2025-12-03T10:00:02Z"), "{kind}");
            assert_eq!(s.status_classes["shed"], 1, "{kind}");
        }
    }

    #[test]
    fn zone_less_timestamps_follow_the_input_zone() {
        let data = to_bytes(vec![
            (
                "ts",
                Arc::new(TimestampSecondArray::from(vec![BASE_S + 3600])) as ArrayRef,
            ),
            ("latency_ms", Arc::new(Float64Array::from(vec![1.0]))),
        ]);
        let cfg = IngestConfig {
            timestamps: TimestampRules {
                input_tz: jiff::tz::TimeZone::fixed(jiff::tz::offset(1)),
                epoch_unit: None,
            },
            ..IngestConfig::default()
        };
        let s = ingest(data, &cfg).expect("ingests");
        assert_eq!(s.start.as_deref(), Some("2025-12-03T10:00:00Z"));
        assert_eq!(s.pods, 1);
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
    }

    #[test]
    fn durations_dictionaries_small_ints_and_nulls() {
        let pods: DictionaryArray<DictKey> =
            vec![Some("p1"), Some("p2"), None].into_iter().collect();
        let data = to_bytes(vec![
            (
                "timestamp",
                Arc::new(TimestampSecondArray::from(vec![BASE_S, BASE_S, BASE_S])) as ArrayRef,
            ),
            (
                "duration",
                Arc::new(DurationMillisecondArray::from(vec![5, 7, 9])),
            ),
            ("grpc_code", Arc::new(Int16Array::from(vec![0, 4, 0]))),
            ("pod", Arc::new(pods)),
        ]);
        let s = ingest(data, &IngestConfig::default()).expect("ingests");
        assert_eq!(s.rows, 2);
        assert_eq!(s.bad_row_reasons.get("missing_field"), Some(&1));
        assert_eq!(s.bad_row_examples.len(), 1);
        assert!(s.bad_row_examples[0].starts_with("t.parquet:3: missing_field"));
        assert_eq!(s.status_classes["timeout"], 1);
        let max = s.latency_ms.max.expect("max");
        assert!((max - 7.0).abs() <= 7.0 / 128.0, "{max}");
    }

    #[test]
    fn unreadable_types_and_missing_columns_are_clear_errors() {
        let data = to_bytes(vec![
            ("timestamp", Arc::new(Int32Array::from(vec![1])) as ArrayRef),
            (
                "latency_ms",
                Arc::new(arrow_array::BinaryArray::from(vec![&b"x"[..]])),
            ),
        ]);
        let err = ingest(data, &IngestConfig::default()).expect_err("binary latency");
        assert!(
            err.to_string()
                .contains("column 'latency_ms' has type Binary"),
            "{err}"
        );
        let data = to_bytes(vec![(
            "when",
            Arc::new(Int32Array::from(vec![1])) as ArrayRef,
        )]);
        let err = ingest(data, &IngestConfig::default()).expect_err("no timestamp");
        assert!(err.to_string().contains("no timestamp column"), "{err}");
        let err = ingest(
            bytes::Bytes::from_static(b"PAR1 but not really"),
            &IngestConfig::default(),
        )
        .expect_err("garbage");
        assert!(
            err.to_string().contains("not a readable Parquet file"),
            "{err}"
        );
    }
}
