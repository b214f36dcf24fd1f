#!/usr/bin/env bash
# The capacity model against a measured knee, on one real service: `rightsize serve` with one
# scoring worker (pinned to CPU 1; the load generator on CPU 0).
#
# 1. Measure: `rightsize loadtest capacity` finds the highest constant rate whose p99 (from
#    intended send times, failures counted) stays within the SLO: the knee.
# 2. Model: the same service serves a staircase of one-minute steps from 10% to 110% of that
#    knee while it writes its access log (--access-log); `rightsize analyze` fits its capacity
#    model (M/G/c, one server: --pod-concurrency 1) from the log alone, and its requests per
#    pod at the SLO are compared with the knee (`loadtest capacity --analysis` prints the same
#    comparison).
#
#   bench/capacity.sh                 # SLO 50 ms; SLO=… ITEMS=… to change
set -euo pipefail
cd "$(dirname "$0")/.."
SLO=${SLO:-50}
ITEMS=${ITEMS:-500000}
OUT=${OUT:-bench/out/capacity}
mkdir -p "$OUT"
command -v taskset >/dev/null || { echo "bench/capacity.sh needs taskset"; exit 2; }
cargo build --release --quiet
BIN=$PWD/target/release/rightsize

start_serve() { # $1: access log or empty
  local log=()
  [ -n "$1" ] && log=(--access-log "$1")
  taskset -c 1 "$BIN" serve --listen 127.0.0.1:0 --workers 1 --items "$ITEMS" --users 1000 "${log[@]}" \
    > "$OUT/serve.out" 2> "$OUT/serve.err" &
  SERVE=$!
  for _ in $(seq 100); do grep -q listening "$OUT/serve.out" 2>/dev/null && break; sleep 0.1; done
  URL=$(grep -o 'http://[0-9.:]*' "$OUT/serve.out")/v1/recommend
}
stop_serve() { kill -INT "$SERVE"; wait "$SERVE" || true; }

# 1. The knee, measured.
start_serve ""
taskset -c 0 "$BIN" loadtest capacity --target "$URL" --method POST \
  --body '{"user_id": {{i}}, "k": 20}' --slo-p99-ms "$SLO" --out "$OUT" > "$OUT/capacity.txt"
stop_serve
KNEE=$(python3 -c "import json;print(json.load(open('$OUT/capacity.json'))['knee_rps'])")
echo "measured knee: $KNEE req/s at p99 <= $SLO ms"

# 2. The staircase with the access log, then the model.
STAGES=$(python3 -c "
k=$KNEE
steps=['1m:%.1f' % (0.1*k)]
for f in [0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.85,0.9,0.95,1.0,1.05,1.1]:
    steps += ['1s:%.1f' % (f*k), '59s:%.1f' % (f*k)]
print(','.join(steps))")
start_serve "$OUT/access.csv"
taskset -c 0 "$BIN" loadtest --target "$URL" --method POST --body '{"user_id": {{i}}, "k": 20}' \
  --stages "$STAGES" --out "$OUT/stairs" > "$OUT/stairs.txt" 2>&1 || true
stop_serve
"$BIN" analyze --telemetry "$OUT/access.csv" --slo-p99-ms "$SLO" --pod-concurrency 1 \
  --out "$OUT/analysis" > "$OUT/analyze.txt" 2>&1
python3 - "$OUT" "$KNEE" "$SLO" <<'PY'
import json, sys
out, knee, slo = sys.argv[1], float(sys.argv[2]), sys.argv[3]
c = json.load(open(f"{out}/analysis/analysis.json"))["capacity"]
m = c["rps_per_pod_at_slo"]
lo, hi = c["interval"] or [None, None]
print(f"model: {m:.1f} req/s per pod at p99 <= {slo} ms (95% interval {lo:.1f}-{hi:.1f}), "
      f"service time {c['service_time_mean_ms']:.2f} ms, knee observed: {c['knee_observed']}")
print(f"model / measured knee = {m / knee:.2f}; knee inside the interval: {lo <= knee <= hi}")
PY
