#!/usr/bin/env bash
# Ingestion benchmark: `rightsize ingest` against DuckDB (2 threads) on the same files, in one
# run. Writes a ROWS-row CSV and Parquet file with `rightsize generate` (once; reused after),
# times each engine RUNS times, prints medians, ratios and rightsize's peak memory.
#
#   bench/ingest.sh                 # 10 million rows, 5 runs each
#   ROWS=1000000 RUNS=3 bench/ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-10000000}
RUNS=${RUNS:-5}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"

python3 -c 'import duckdb' 2>/dev/null || pip install --quiet duckdb
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
cargo build --release --quiet
BIN=target/release/rightsize

for fmt in csv parquet; do
  f="$OUT/telemetry-$ROWS.$fmt"
  if [ ! -s "$f" ]; then
    "$BIN" generate --rows "$ROWS" --seed 42 --out "$f"
  fi
done

exec python3 bench/ingest_compare.py --bin "$BIN" --runs "$RUNS" \
  "$OUT/telemetry-$ROWS.csv" "$OUT/telemetry-$ROWS.parquet"
