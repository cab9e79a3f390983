#!/usr/bin/env python3
"""Query latency: Vane against Prometheus on the same data, the same queries.

Writes the PromQL benchmark fixture (10,000 series x one day at 15 s, the store of
benches/benches/promql.rs) as OpenMetrics, backfills it into both systems with their own
tools (`vane tsdb import`, `promtool tsdb create-blocks-from openmetrics`, the same two 12 h
blocks),
starts both on 127.0.0.1, and sends each query of the set as an instant query and as range
queries over 1 h (15 s step) and 24 h (60 s step). Requests alternate between the systems;
the report gives the median latency of each and the ratio Vane / Prometheus, and whether the
answers agree within 1e-6.

Query times sit 7 s after a sample, so no window edge meets a sample: Prometheus 2.42 closes
windows on the left, Vane (like Prometheus 3) opens them. Windows that reach back before the
first sample are extrapolated differently by 2.x and 3.x `rate`; such points are counted as
known differences, not hidden.

Usage: python3 benches/side_by_side/query_latency.py [--runs 7] [--vane target/release/vane]
       [--keep DIR [--prepare]]
Needs: a release build of vane and of the fixture writer (the script builds both), Debian's
prometheus (with promtool). About 5 GB of temporary disk.
"""

import argparse
import json
import math
import os
import pathlib
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]

START = 1_699_920_000  # first sample (s); see vane_benches::query_fixture
END = START + 5759 * 15  # last sample
AT = END + 7  # query time: 7 s after the last sample

QUERIES = [
    ("selector", 'http_requests_total{job="job-3"}'),
    ("rate", "rate(http_requests_total[5m])"),
    ("sum_by_rate", "sum by (job) (rate(http_requests_total[5m]))"),
    ("histogram_quantile",
     "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"),
    ("topk", "topk(10, rate(http_requests_total[5m]))"),
    ("binary_on",
     'sum by (job) (rate(http_requests_total{code="500"}[5m])) / on(job) '
     "sum by (job) (rate(http_requests_total[5m]))"),
    ("subquery_1h", "max_over_time(sum by (job) (rate(http_requests_total[5m]))[1h:1m])"),
]
MODES = [
    ("instant", None),
    ("range_1h_15s", (3600, 15)),
    ("range_24h_60s", (END - START - 60, 60)),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, secs=300):
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} not ready after {secs}s")


def run(cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def request(addr, path, form):
    data = urllib.parse.urlencode(form).encode()
    t0 = time.perf_counter()
    with urllib.request.urlopen(f"http://{addr}{path}", data=data, timeout=600) as r:
        body = r.read()
    return time.perf_counter() - t0, json.loads(body)


def points(result):
    out = {}
    data = result["data"]
    if data["resultType"] in ("scalar", "string"):
        return {"{}": [tuple(data["result"])]}
    for s in data["result"]:
        key = json.dumps(s["metric"], sort_keys=True)
        out[key] = [tuple(p) for p in (s.get("values") or [s["value"]])]
    return out


def differences(a, b):
    """Points whose values differ by more than 1e-6 (relative), or that only one side has."""
    pa, pb = points(a), points(b)
    n = 0
    for k in set(pa) | set(pb):
        va, vb = dict(pa.get(k, [])), dict(pb.get(k, []))
        for t in set(va) | set(vb):
            x, y = va.get(t), vb.get(t)
            if x is None or y is None:
                n += 1
                continue
            x, y = float(x), float(y)
            if x == y or (math.isnan(x) and math.isnan(y)):
                continue
            if abs(x - y) > 1e-6 * max(abs(x), abs(y)):
                n += 1
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--vane", default=str(ROOT / "target/release/vane"))
    ap.add_argument("--keep", help="keep (and reuse) the data in this directory")
    ap.add_argument("--prepare", action="store_true",
                    help="only write and import the data (with --keep, to measure later)")
    args = ap.parse_args()
    if not shutil.which("prometheus") or not shutil.which("promtool"):
        raise SystemExit("needs Debian's prometheus (apt-get install prometheus)")
    run(["cargo", "build", "--release", "-p", "daemon", "-p", "vane-benches",
         "--bin", "vane", "--bin", "query-fixture"], cwd=ROOT)
    work = pathlib.Path(args.keep) if args.keep else pathlib.Path(tempfile.mkdtemp())
    work.mkdir(parents=True, exist_ok=True)
    om, vdata, pdata = work / "fixture.om", work / "vane", work / "prom"
    if not (vdata / "imported").exists():
        if not om.exists():
            run([ROOT / "target/release/query-fixture", om])
        shutil.rmtree(vdata, ignore_errors=True)
        shutil.rmtree(pdata, ignore_errors=True)
        t0 = time.time()
        # promtool's --max-block-duration=24h writes 12h blocks; Vane gets the same layout.
        run([args.vane, "tsdb", "import", om, f"--storage.tsdb.path={vdata}",
             "--block-duration=12h"])
        print(f"vane import: {time.time() - t0:.1f}s")
        t0 = time.time()
        run(["promtool", "tsdb", "create-blocks-from", "openmetrics",
             "--max-block-duration=24h", om, pdata])
        print(f"promtool import: {time.time() - t0:.1f}s")
        (vdata / "imported").touch()
    if not args.keep:
        om.unlink(missing_ok=True)
    if args.prepare:
        return
    cfg = work / "empty.yml"
    cfg.write_text("scrape_configs: []\n")
    vaddr, paddr = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    logs = [open(work / "vane.log", "w"), open(work / "prometheus.log", "w")]
    procs = [
        subprocess.Popen([args.vane, "run", f"--config.file={cfg}",
                          f"--storage.tsdb.path={vdata}", f"--web.listen-address={vaddr}",
                          "--storage.tsdb.retention.time=0"],
                         stdout=subprocess.DEVNULL, stderr=logs[0]),
        subprocess.Popen(["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={pdata}",
                          f"--web.listen-address={paddr}", "--storage.tsdb.retention.time=100y"],
                         stdout=subprocess.DEVNULL, stderr=logs[1]),
    ]
    try:
        wait_ready(f"http://{vaddr}/-/ready")
        wait_ready(f"http://{paddr}/-/ready")
        rows = []
        for mode, rng in MODES:
            for name, q in QUERIES:
                if rng is None:
                    path, form = "/api/v1/query", {"query": q, "time": AT}
                else:
                    path = "/api/v1/query_range"
                    form = {"query": q, "start": AT - rng[0], "end": AT, "step": rng[1]}
                times = {"vane": [], "prometheus": []}
                last = {}
                for i in range(args.runs + 1):
                    order = [("vane", vaddr), ("prometheus", paddr)]
                    if i % 2:
                        order.reverse()
                    for who, addr in order:
                        dt, res = request(addr, path, form)
                        if res.get("status") != "success":
                            raise SystemExit(f"{who} failed {name} {mode}: {res}")
                        if i > 0:  # the first round warms caches
                            times[who].append(dt)
                        last[who] = res
                mv = statistics.median(times["vane"])
                mp = statistics.median(times["prometheus"])
                diff = differences(last["vane"], last["prometheus"])
                rows.append((mode, name, mv * 1e3, mp * 1e3, mv / mp, diff))
                print(f"{mode:14} {name:20} vane {mv * 1e3:9.2f} ms  prometheus {mp * 1e3:9.2f} ms"
                      f"  ratio {mv / mp:5.2f}  differing points {diff}", flush=True)
        print()
        print("| mode | query | Vane median (ms) | Prometheus 2.42 median (ms) | ratio | differing points |")
        print("| --- | --- | --: | --: | --: | --: |")
        for mode, name, mv, mp, r, d in rows:
            print(f"| {mode} | {name} | {mv:.2f} | {mp:.2f} | {r:.2f} | {d} |")
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=60)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
