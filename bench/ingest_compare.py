"""Times `rightsize ingest` and DuckDB on the same files; called by bench/ingest.sh.

DuckDB (2 threads) computes what rightsize's aggregate holds: per minute x pod, the request
count and the p99 latency. Its time is the query alone, measured inside the process (no Python
start-up); rightsize's is the whole command, start-up included. Medians of RUNS runs each,
alternating engines so that machine noise hits both alike.
"""
import argparse
import json
import os
import statistics
import subprocess
import time

import duckdb


def run_rightsize(binary, path):
    t = time.perf_counter()
    out = subprocess.run(
        [binary, "ingest", "--json", "--threads", "2", path],
        check=True, capture_output=True,
    )
    elapsed = time.perf_counter() - t
    return elapsed, json.loads(out.stdout)


def run_duckdb(path):
    con = duckdb.connect()
    con.execute("SET threads = 2")
    source = f"read_parquet('{path}')" if path.endswith(".parquet") else f"read_csv('{path}')"
    t = time.perf_counter()
    rows, cells = con.execute(f"""
        SELECT sum(n), count(*) FROM (
          SELECT date_trunc('minute', "timestamp") AS minute, pod, count(*) AS n,
                 quantile_cont(latency_ms, 0.99) AS p99
          FROM {source} GROUP BY ALL)
    """).fetchone()
    elapsed = time.perf_counter() - t
    con.close()
    return elapsed, rows, cells


def peak_rss_mib(binary, path):
    """Peak resident memory of one rightsize run, by GNU time. (The rusage of a child forked
    from this process would include this process's own memory, DuckDB's included.)"""
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%M", binary, "ingest", "--json", "--threads", "2", path],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    return int(out.stderr.strip().splitlines()[-1]) / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    print(f"duckdb {duckdb.__version__}, {os.cpu_count()} cores, {args.runs} runs each, medians\n")
    print(f"{'file':<34} {'MB':>7} {'rows':>11} {'rightsize s':>12} {'duckdb s':>9} "
          f"{'speed-up':>9} {'rightsize peak MiB':>19}")
    for path in args.files:
        ours, theirs = [], []
        summary = None
        for _ in range(args.runs):
            e, summary = run_rightsize(args.bin, path)
            ours.append(e)
            e, rows, cells = run_duckdb(path)
            theirs.append(e)
        assert summary["rows"] == rows, f"row counts differ: {summary['rows']} vs {rows}"
        rss = peak_rss_mib(args.bin, path)
        a, b = statistics.median(ours), statistics.median(theirs)
        size = os.path.getsize(path) / 1e6
        print(f"{os.path.basename(path):<34} {size:>7.0f} {rows:>11,} {a:>12.2f} {b:>9.2f} "
              f"{b / a:>8.2f}x {rss:>19.0f}")
        print(f"{'':<34} all runs: rightsize {[round(x, 2) for x in ours]}, "
              f"duckdb {[round(x, 2) for x in theirs]}; {cells:,} minute x pod cells")


if __name__ == "__main__":
    main()
