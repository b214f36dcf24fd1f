#!/usr/bin/env bash
# The recommender's whole search, stress replays included, against the issue's target of 60 s on
# two cores for a week at 1 s steps. No open tool runs the same search, so the peer in the same
# run is `rightsize analyze` on the same week (what the search starts from): the figure to read
# is the search's own time, recommend minus analyze.
#
#   bench/recommend.sh               # the 10-million-row week of the other benchmarks, 5 runs
#   ROWS=1000000 RUNS=3 bench/recommend.sh
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

exec python3 - "$BIN" "$CSV" "$CONFIG" "$RUNS" "$OUT" <<'PY'
import statistics, subprocess, sys, time
bin_, csv, config, runs, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
common = ["--threads", "2", "--telemetry", csv, "--config", config, "--slo-p99-ms", "100"]
analyze = [bin_, "analyze", *common, "--out", f"{out}/analysis"]
recommend = [bin_, "recommend", *common, "--out", f"{out}/recommendation"]
def timed(cmd):
    t = time.perf_counter()
    # recommend exits 1 when nothing qualifies: still a whole search.
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode not in (0, 1):
        sys.exit(f"{cmd[1]} failed with {r.returncode}")
    return time.perf_counter() - t
timed(analyze)  # warm the page cache
ta, tr = [], []
for _ in range(runs):
    ta.append(timed(analyze))
    tr.append(timed(recommend))
ma, mr = statistics.median(ta), statistics.median(tr)
print(f"file       {csv}")
print(f"analyze    median {ma:.2f} s  runs {' '.join(f'{x:.2f}' for x in ta)}")
print(f"recommend  median {mr:.2f} s  runs {' '.join(f'{x:.2f}' for x in tr)}")
print(f"the search itself: {mr - ma:.2f} s by medians (target: the whole recommend under 60 s)")
PY
