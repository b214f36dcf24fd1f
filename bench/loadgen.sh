#!/usr/bin/env bash
# The load generator against its peers, in one run, on this machine's two cores: nginx (one
# worker) pinned to CPU 1, every generator pinned to CPU 0.
#
# 1. Ceiling: the highest rate `rightsize loadtest` sustains on one core (achieved >= 99% of the
#    target, nothing dropped, schedule lag p99 <= 1 ms, 10 s runs, uniform arrivals as wrk2
#    sends), beside `wrk -t1` (closed loop: its ceiling) and Locust (closed loop, as many users
#    as it can drive, FastHttpUser and HttpUser). Targets: >= 0.8x wrk, >= 10x Locust.
# 2. Accuracy: nginx answering after a fixed 20 ms (echo_sleep) at 5,000 req/s: p50 within
#    1 ms of 20 ms; and nginx's worker stopped for 1 s (SIGSTOP) in the middle of a run at
#    1,000 req/s: the p99 shows the stall.
#
# Needs Debian's nginx, libnginx-mod-http-echo and wrk, and pip's locust:
#   apt-get install -y nginx libnginx-mod-http-echo wrk && pip install locust
#
#   bench/loadgen.sh                 # RUNS=3 medians
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
OUT=${OUT:-bench/out/loadgen}
PORT=${PORT:-18080}
mkdir -p "$OUT"
for tool in nginx wrk locust taskset; do
  command -v "$tool" >/dev/null || { echo "bench/loadgen.sh needs $tool (see the header)"; exit 2; }
done
cargo build --release --quiet
BIN=$PWD/target/release/rightsize
NGX=$(mktemp -d)
cat > "$NGX/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
worker_processes 1;
worker_cpu_affinity 10;
daemon off;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  client_body_temp_path $NGX/body;
  proxy_temp_path $NGX/proxy;
  fastcgi_temp_path $NGX/fcgi;
  uwsgi_temp_path $NGX/uwsgi;
  scgi_temp_path $NGX/scgi;
  server {
    listen 127.0.0.1:$PORT;
    location / { return 200 "ok\n"; }
    location /delay { echo_sleep 0.02; echo "ok"; }
  }
}
CONF
nginx -c "$NGX/nginx.conf" -p "$NGX" &
NGINX_PID=$!
trap 'kill $NGINX_PID 2>/dev/null; rm -rf "$NGX"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/" >/dev/null && break; sleep 0.1; done

exec python3 - "$BIN" "$PORT" "$RUNS" "$OUT" "$NGX" <<'PY'
import csv, glob, json, os, re, signal, statistics, subprocess, sys, threading, time
bin_, port, runs, out, ngx = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
url = f"http://127.0.0.1:{port}/"
cpu0 = ["taskset", "-c", "0"]

def loadtest(rate, seconds=10, path="", extra=()):
    cmd = cpu0 + [bin_, "loadtest", "--target", url + path, "--rate", str(rate),
                  "--duration", f"{seconds}s", "--arrivals", "uniform", "--json", *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode not in (0, 99):
        sys.exit(f"loadtest failed ({r.returncode}): {r.stderr}")
    return json.loads(r.stdout)

def sustained(s):
    return (s["achieved_rps"] >= 0.99 * s["target_rps"] and s["dropped"] == 0
            and s["failed"] == 0 and s["schedule_lag_ms"]["p99"] <= 1.0)

def ceiling():
    """The highest rate passing, by doubling then bisection to within 2.5%."""
    lo, hi = 0, None
    rate = 4000
    while hi is None:
        if sustained(loadtest(rate)):
            lo, rate = rate, rate * 2
        else:
            hi = rate
        if rate > 400000:
            break
    hi = hi or rate
    while hi - lo > 0.025 * hi:
        mid = (lo + hi) // 2
        if sustained(loadtest(mid)):
            lo = mid
        else:
            hi = mid
    return lo

def wrk():
    r = subprocess.run(cpu0 + ["wrk", "-t1", "-c50", "-d10s", url], capture_output=True, text=True)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    if not m:
        sys.exit(f"wrk printed no rate: {r.stdout} {r.stderr}")
    return float(m.group(1))

LOCUSTFILE = """
from locust import HttpUser, task
from locust.contrib.fasthttp import FastHttpUser
class Fast(FastHttpUser):
    @task
    def get(self):
        self.client.get("/")
class Plain(HttpUser):
    @task
    def get(self):
        self.client.get("/")
"""

def locust(user_class):
    path = os.path.join(out, "locust_max.py")
    with open(path, "w") as f:
        f.write(LOCUSTFILE)
    prefix = os.path.join(out, f"locust-{user_class}")
    subprocess.run(cpu0 + ["locust", "-f", path, user_class, "--headless", "-u", "50", "-r", "50",
                           "-t", "12s", "--host", url.rstrip("/"), "--csv", prefix,
                           "--only-summary", "--loglevel", "ERROR"],
                   capture_output=True, text=True)
    with open(prefix + "_stats.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"]
    # The whole run's mean includes the 1 s spawn; close enough and in Locust's favour.
    return float(rows[0]["Requests/s"])

results = {"rightsize": [], "wrk": [], "locust_fast": [], "locust_http": []}
for i in range(runs):
    results["wrk"].append(wrk())
    results["rightsize"].append(ceiling())
    results["locust_fast"].append(locust("Fast"))
    results["locust_http"].append(locust("Plain"))
    print(f"run {i + 1}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in results.items()), flush=True)
med = {k: statistics.median(v) for k, v in results.items()}

# Accuracy: a fixed 20 ms at 5,000 req/s.
delay = loadtest(5000, seconds=10, path="delay")
# A 1 s stall of nginx's worker in the middle of a 10 s run at 1,000 req/s.
worker = subprocess.run(["pgrep", "-f", "nginx: worker"], capture_output=True, text=True).stdout.split()
def stall():
    time.sleep(5)
    for p in worker:
        os.kill(int(p), signal.SIGSTOP)
    time.sleep(1)
    for p in worker:
        os.kill(int(p), signal.SIGCONT)
t = threading.Thread(target=stall)
t.start()
stalled = loadtest(1000, seconds=10)
t.join()

print()
print(f"one core, ceiling (median of {runs}):")
print(f"  rightsize loadtest   {med['rightsize']:>9.0f} req/s sustained (open model, lag p99 <= 1 ms)")
print(f"  wrk -t1 -c50         {med['wrk']:>9.0f} req/s (closed loop)     ratio {med['rightsize'] / med['wrk']:.2f}x (target >= 0.8x)")
print(f"  Locust FastHttpUser  {med['locust_fast']:>9.0f} req/s (closed loop)     ratio {med['rightsize'] / med['locust_fast']:.1f}x (target >= 10x)")
print(f"  Locust HttpUser      {med['locust_http']:>9.0f} req/s (closed loop)     ratio {med['rightsize'] / med['locust_http']:.1f}x")
d = delay
print(f"accuracy, nginx +20 ms at 5,000 req/s: achieved {d['achieved_rps']:.0f}/s, latency p50 {d['latency_ms']['p50']:.2f} ms"
      f" (|p50 - 20| = {abs(d['latency_ms']['p50'] - 20):.2f} ms, target <= 1), p99 {d['latency_ms']['p99']:.2f} ms, lag p99 {d['schedule_lag_ms']['p99']:.3f} ms")
s = stalled
print(f"stall, nginx stopped 1 s at 1,000 req/s: latency p50 {s['latency_ms']['p50']:.2f} ms, p99 {s['latency_ms']['p99']:.1f} ms,"
      f" max {s['latency_ms']['max']:.0f} ms; service p99 {s['service_ms']['p99']:.1f} ms; {s['completed']} of {s['scheduled']} answered")
with open(os.path.join(out, "loadgen.json"), "w") as f:
    json.dump({"runs": results, "median": med, "delay": delay, "stall": stalled}, f, indent=1)
PY
