#!/usr/bin/env python3
"""API throughput under concurrency: Vane against Prometheus, a Grafana-like request mix.

Uses the store of query_latency.py (10,000 series x one day; `--keep DIR` of that script,
prepared if missing) and `wrk` (installed from Debian if missing). Each system runs alone
on 127.0.0.1 and gets 32 connections for `--seconds` from 2 wrk threads cycling through the
mix below: what a dashboard refresh sends (instant and 1 h range queries over one job,
label and series browsing). Reports requests per second and wrk's latency percentiles.

Usage: python3 benches/side_by_side/api_load.py --keep DIR [--seconds 20] [--connections 32]
"""

import argparse
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import query_latency as ql  # noqa: E402

AT = ql.AT
JOB = 'job="job-3"'
MIX = [
    ("query_range", {"query": f"sum by (instance) (rate(http_requests_total{{{JOB}}}[5m]))",
                     "start": AT - 3600, "end": AT, "step": 15}),
    ("query_range", {"query": f"histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{{{JOB}}}[5m])))",
                     "start": AT - 3600, "end": AT, "step": 15}),
    ("query", {"query": f"sum(rate(http_requests_total{{{JOB}, code=\"500\"}}[5m])) / sum(rate(http_requests_total{{{JOB}}}[5m]))",
               "time": AT}),
    ("query", {"query": f"topk(5, sum by (instance) (rate(http_requests_total{{{JOB}}}[5m])))", "time": AT}),
    ("query_range", {"query": f"count by (code) (http_requests_total{{{JOB}}})",
                     "start": AT - 3600, "end": AT, "step": 60}),
    ("labels", {"start": AT - 3600, "end": AT}),
    ("label/instance/values", {"match[]": f"http_requests_total{{{JOB}}}", "start": AT - 3600, "end": AT}),
    ("series", {"match[]": f"http_request_duration_seconds_bucket{{{JOB}, le=\"+Inf\"}}",
                "start": AT - 3600, "end": AT}),
]

LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def wrk(addr, seconds, connections, script):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script,
         f"http://{addr}"], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, lat, int(errors.group(1)) if errors else 0, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", required=True, help="the data directory of query_latency.py")
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--vane", default=str(ql.ROOT / "target/release/vane"))
    args = ap.parse_args()
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    work = pathlib.Path(args.keep)
    if not (work / "vane" / "imported").exists():
        subprocess.run([sys.executable, str(pathlib.Path(ql.__file__)), "--keep", str(work),
                        "--prepare"], check=True)
    paths = ",".join(
        '"/api/v1/%s?%s"' % (p, urllib.parse.urlencode(q)) for p, q in MIX)
    script = pathlib.Path(tempfile.mkdtemp()) / "mix.lua"
    script.write_text(LUA % paths)
    cfg = work / "empty.yml"
    cfg.write_text("scrape_configs: []\n")
    results = {}
    for name in ["vane", "prometheus"]:
        addr = f"127.0.0.1:{ql.free_port()}"
        cmd = ([args.vane, "run", f"--config.file={cfg}", f"--storage.tsdb.path={work / 'vane'}",
                f"--web.listen-address={addr}", "--storage.tsdb.retention.time=0"]
               if name == "vane" else
               ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={work / 'prom'}",
                f"--web.listen-address={addr}", "--storage.tsdb.retention.time=100y"])
        with open(work / f"{name}-load.log", "w") as log:
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
            try:
                ql.wait_ready(f"http://{addr}/-/ready")
                wrk(addr, 3, args.connections, script)  # warm-up
                results[name] = wrk(addr, args.seconds, args.connections, script)
            finally:
                p.terminate()
                p.wait(timeout=60)
        rps, lat, errors, _ = results[name]
        print(f"{name:11} {rps:9.1f} req/s  p50 {lat.get('50')}  p90 {lat.get('90')}  "
              f"p99 {lat.get('99')}  non-2xx {errors}", flush=True)
    v, p = results["vane"], results["prometheus"]
    print()
    print("| system | requests/s | p50 | p90 | p99 | non-2xx |")
    print("| --- | --: | --: | --: | --: | --: |")
    for name, (rps, lat, errors, _) in results.items():
        print(f"| {name} | {rps:.1f} | {lat.get('50')} | {lat.get('90')} | {lat.get('99')} | {errors} |")
    print(f"\nthroughput ratio Vane / Prometheus: {v[0] / p[0]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
