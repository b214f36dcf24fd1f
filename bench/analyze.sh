#!/usr/bin/env bash
# Analysis overhead: `rightsize analyze` against `rightsize ingest --json` on the same file, in
# one run, alternating them. The issue's target: analysis adds less than 10% to ingestion.
#
#   bench/analyze.sh                 # 10 million rows (the ingest benchmark's CSV), 5 runs each
#   ROWS=1000000 RUNS=3 bench/analyze.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-10000000}
RUNS=${RUNS:-5}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
cargo build --release --quiet
BIN=target/release/rightsize
CSV="$OUT/telemetry-$ROWS.csv"
[ -s "$CSV" ] || "$BIN" generate --rows "$ROWS" --seed 42 --out "$CSV"
CONFIG=crates/rightsize/tests/fixtures/config

exec python3 - "$BIN" "$CSV" "$CONFIG" "$RUNS" "$OUT/analysis" <<'PY'
import statistics, subprocess, sys, time
bin_, csv, config, runs, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
ingest = [bin_, "ingest", "--json", "--threads", "2", csv]
analyze = [bin_, "analyze", "--threads", "2", "--telemetry", csv, "--config", config,
           "--slo-p99-ms", "100", "--out", out]
def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t
timed(ingest)  # warm the page cache
ti, ta = [], []
for _ in range(runs):
    ti.append(timed(ingest))
    ta.append(timed(analyze))
mi, ma = statistics.median(ti), statistics.median(ta)
bi, ba = min(ti), min(ta)
print(f"file      {csv}")
print(f"ingest    median {mi:.2f} s  best {bi:.2f} s  runs {' '.join(f'{x:.2f}' for x in ti)}")
print(f"analyze   median {ma:.2f} s  best {ba:.2f} s  runs {' '.join(f'{x:.2f}' for x in ta)}")
print(f"analysis adds {100 * (ma - mi) / mi:+.1f}% to ingestion by medians, "
      f"{100 * (ba - bi) / bi:+.1f}% best against best (target: under +10%)")
PY
