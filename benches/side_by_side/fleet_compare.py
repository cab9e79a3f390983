#!/usr/bin/env python3
"""Vane, Prometheus and VictoriaMetrics side by side: the same fleet, the same scrape config,
at the same time; and the shared recordings imported into all three.

Live mode (the default): installs the missing Debian peers (`prometheus`, `victoria-metrics`),
builds Vane and the fleet (`cargo build --release`), starts the fleet (`vane-benches`' `fleet`
binary: N targets x M series on 127.0.0.1, one port each, values a function of (series, tick))
and then Vane, Prometheus 2.42 and VictoriaMetrics 1.79, each with its own data directory,
all scraping every target with one prometheus.yml. After `--warmup`, for `--duration`:

* CPU per ingested sample: user + system time from /proc/<pid>/stat over the window, divided
  by the growth of the system's own counter of ingested samples
  (`vane_tsdb_head_samples_appended_total`, `prometheus_tsdb_head_samples_appended_total`,
  `vm_rows_inserted_total{type="promscrape"}`);
* RSS: peak (VmHWM) and final (VmRSS) at the end of the window, from /proc/<pid>/status, and
  the final RSS divided by active series (`vane_tsdb_head_series`,
  `prometheus_tsdb_head_series`, VictoriaMetrics `vm_cache_entries{type="storage/hour_metric_ids"}`,
  the series seen in the current hour, which its own dashboards call active series), and
  divided by the fleet's series at a time (the same for all three: each system counts the
  churned series it still holds its own way, and VictoriaMetrics' count restarts every hour).

Then a Grafana-like query set (`QUERIES`), each as an instant query and as a 1 h range query
at a 15 s step, all at the same time T (a multiple of 15 s, 60 s in the past, clear of
VictoriaMetrics' 30 s `-search.latencyOffset`): one warm-up round and `--rounds` timed rounds,
the systems' order rotating each round; median and p99 (nearest rank) latency of the whole
HTTP request. VictoriaMetrics gets `nocache=1` so that it evaluates every request instead of
answering from its rollup result cache. Answers are compared with Prometheus's (relative
difference 1e-6); differing points are listed. They are expected where semantics differ:
Prometheus 2.42 closes range windows on the left (Vane, like Prometheus 3, opens them);
VictoriaMetrics' `rate` and `increase` do not extrapolate and look one sample before the
window; and each system scrapes a target at its own phase within the interval, so its samples
carry other timestamps (the values are the same: a target's body depends only on the tick).

Bytes on disk: the fleet is stopped, the systems write staleness markers, and then each is
made to persist what it holds the way it would by itself: Vane and Prometheus write a
snapshot with the head (`POST /api/v1/admin/tsdb/snapshot`), which compacts the in-memory
head into a block exactly as a head compaction does; bytes are the snapshot's block files,
samples the blocks' `meta.json` `stats.numSamples`. VictoriaMetrics gets
`/internal/force_flush` then `/internal/force_merge`, and the harness waits until
`vm_active_merges` stays at 0; bytes are `data/` + `indexdb/` (and `data/` alone), samples
`vm_rows{type=~"storage/.*"}`.

`--datasets`: each recording in ../shared/datasets/ (`*.om.gz`) is imported into all three:
`vane tsdb import`, `promtool tsdb create-blocks-from openmetrics`, and VictoriaMetrics'
`/api/v1/import/prometheus` (timestamps rewritten to integer milliseconds, as that format
wants), followed by the same flush and forced merge; bytes per sample of each.

Output: a Markdown table and JSON in benches/results/<date>-<size>.{md,json}
(`--out-dir` to change). Every phase has a time limit, `--deadline` bounds the whole run,
and every child is stopped on exit, on Ctrl-C and on SIGTERM (and dies with the harness if
it is killed: PR_SET_PDEATHSIG).

Usage:
  python3 benches/side_by_side/fleet_compare.py --quick     # 20k series at 5 s, 5 min
  python3 benches/side_by_side/fleet_compare.py --large     # 500k series at 10 s, 20 min
  python3 benches/side_by_side/fleet_compare.py --targets 10 --series-per-target 200 \\
      --interval 5s --warmup 30s --duration 1m --rounds 3   # any size
  python3 benches/side_by_side/fleet_compare.py --datasets
Options: --systems vane,prometheus,victoriametrics  --keep DIR  --no-build  --out-dir DIR
"""

import argparse
import ctypes
import datetime
import gzip
import json
import math
import os
import pathlib
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import query_latency as ql  # noqa: E402
import scrape_cpu as sc  # noqa: E402

ROOT = ql.ROOT
SHARED = ROOT.parent / "shared"
SYSTEMS = ("vane", "prometheus", "victoriametrics")
PEERS = ("prometheus", "victoriametrics")

PRESETS = {
    "quick": dict(targets=20, series_per_target=1000, interval="5s", warmup="1m",
                  duration="5m", rounds=10),
    "large": dict(targets=500, series_per_target=1000, interval="10s", warmup="4m",
                  duration="20m", rounds=5),
}
DEFAULTS = dict(churn_share=0.1, churn_every="5m", reset_every="10m", seed=1)

# Each system's own counters: samples ingested, active series.
COUNTERS = {
    "vane": ("vane_tsdb_head_samples_appended_total", "vane_tsdb_head_series"),
    "prometheus": ("prometheus_tsdb_head_samples_appended_total", "prometheus_tsdb_head_series"),
    "victoriametrics": ('vm_rows_inserted_total{type="promscrape"}',
                        'vm_cache_entries{type="storage/hour_metric_ids"}'),
}

# What a node / Kubernetes / service dashboard asks for (names of the fleet's series).
QUERIES = [
    ("cpu_busy", 'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[1m]))'),
    ("memory_used", "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes"),
    ("network_rx_top5", "topk(5, sum by (instance) (rate(node_network_receive_bytes_total[1m])))"),
    ("filesystem_avail",
     "min by (instance) (node_filesystem_avail_bytes / node_filesystem_size_bytes)"),
    ("load1_max_5m", "max_over_time(node_load1[5m])"),
    ("pods_by_phase", "sum by (namespace, phase) (kube_pod_status_phase)"),
    ("cpu_requests_by_node",
     'sum by (node) (kube_pod_container_resource_requests{resource="cpu"} '
     "* on (namespace, pod) group_left () kube_pod_info)"),
    ("restarts_5m", "sum by (namespace) (increase(kube_pod_container_status_restarts_total[5m]))"),
    ("http_p99",
     "histogram_quantile(0.99, sum by (le, handler) (rate(http_request_duration_seconds_bucket[1m])))"),
    ("http_rps_by_code", "sum by (code) (rate(http_requests_total[1m]))"),
    ("http_error_ratio",
     'sum by (instance) (rate(http_requests_total{code="500"}[1m])) '
     "/ sum by (instance) (rate(http_requests_total[1m]))"),
]
RANGE = 3600  # range queries: the hour before T
STEP = 15


# ---------------------------------------------------------------------------------------
# Processes: every child is stopped on exit, Ctrl-C, SIGTERM, the deadline, or our death.

class Stop(Exception):
    pass


def _raise_stop(signum, _frame):
    raise Stop(f"signal {signal.Signals(signum).name}")


def _die_with_parent():
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Children:
    def __init__(self, work):
        self.work = work
        self.procs = {}

    def start(self, name, cmd, stdout=None):
        log = open(self.work / f"{name}.log", "w")
        print("+", " ".join(str(c) for c in cmd), flush=True)
        p = subprocess.Popen([str(c) for c in cmd], stdout=stdout or log, stderr=log,
                             stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent,
                             start_new_session=True)
        self.procs[name] = p
        return p

    def stop(self, name, timeout=60):
        p = self.procs.pop(name, None)
        if p is None or p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def stop_all(self):
        for name in list(self.procs)[::-1]:
            self.stop(name, timeout=30)

    def check_alive(self):
        for name, p in self.procs.items():
            if p.poll() is not None:
                raise SystemExit(f"{name} exited with status {p.returncode}; "
                                 f"see {self.work / (name + '.log')}")


# ---------------------------------------------------------------------------------------
# Small helpers.

def seconds(text):
    """A Prometheus-style duration (`90s`, `5m`, `1h30m`) in seconds."""
    total, pos = 0.0, 0
    for m in re.finditer(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise SystemExit(f"not a duration: {text!r}")
    return total


def proc_status(pid, key):
    """A /proc/<pid>/status field in bytes (VmRSS, VmHWM)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def http(url, data=None, timeout=60):
    body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
    with urllib.request.urlopen(url, data=body, timeout=timeout) as r:
        return r.read()


def self_metric(addr, selector):
    """Sum of the series of `selector` (a name, or a name with exact label matches) in a
    system's own /metrics."""
    name, _, want = selector.partition("{")
    want = dict(re.findall(r'(\w+)="([^"]*)"', want))
    total, found = 0.0, False
    for line in http(f"http://{addr}/metrics").decode().splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        sname, _, labels = series.partition("{")
        if sname != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        if all(got.get(k) == v for k, v in want.items()):
            total += float(value)
            found = True
    if not found:
        raise SystemExit(f"{addr}/metrics has no {selector}")
    return total


def dir_bytes(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except FileNotFoundError:
                pass
    return total


def blocks_on_disk(path):
    """Blocks under `path` (Prometheus layout): files' bytes, chunk files' bytes, samples and
    series from each block's meta.json."""
    out = dict(blocks=0, bytes=0, chunk_bytes=0, samples=0, series=0)
    for meta in sorted(pathlib.Path(path).glob("*/meta.json")):
        m = json.loads(meta.read_text())
        out["blocks"] += 1
        out["bytes"] += dir_bytes(meta.parent)
        out["chunk_bytes"] += dir_bytes(meta.parent / "chunks")
        out["samples"] += m["stats"]["numSamples"]
        out["series"] += m["stats"]["numSeries"]
    return out


def ensure_peers(systems, need_promtool=False):
    missing = []
    if ("prometheus" in systems or need_promtool) and not (
            shutil.which("prometheus") and shutil.which("promtool")):
        missing.append("prometheus")
    if "victoriametrics" in systems and not shutil.which("victoria-metrics"):
        missing.append("victoria-metrics")
    if not missing:
        return
    cmd = ["apt-get", "install", "-y", *missing]
    if os.geteuid() != 0 and shutil.which("sudo"):
        cmd = ["sudo", "-n", *cmd]
    ql.run(cmd)


def versions():
    out = {}
    for pkg in ("prometheus", "victoria-metrics"):
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True,
                           text=True)
        out[pkg] = r.stdout.strip() or None
    r = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                       capture_output=True, text=True)
    out["vane"] = r.stdout.strip() or None
    return out


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), platform.processor())
    mem = proc_meminfo_total()
    return dict(cpus=os.cpu_count(), cpu=cpu, memory_gib=round(mem / 2**30, 1),
                kernel=platform.release(), python=platform.python_version(),
                loadavg_at_start=os.getloadavg())


def proc_meminfo_total():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def nearest_rank(xs, q):
    xs = sorted(xs)
    return xs[max(0, math.ceil(q * len(xs)) - 1)]


def fmt(x, digits=2):
    if x is None:
        return "—"
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return str(x)
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


# ---------------------------------------------------------------------------------------
# The systems.

class System:
    """One system under test: how to start it and where it answers."""

    def __init__(self, name, work, bins):
        self.name = name
        self.addr = f"127.0.0.1:{ql.free_port()}"
        self.data = work / name
        self.bins = bins
        self.proc = None

    def command(self, cfg, retention=None):
        if self.name == "vane":
            return [self.bins["vane"], "run", f"--config.file={cfg}",
                    f"--storage.tsdb.path={self.data}", f"--web.listen-address={self.addr}",
                    "--web.enable-admin-api"]
        if self.name == "prometheus":
            return ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={self.data}",
                    f"--web.listen-address={self.addr}", "--web.enable-admin-api"]
        cmd = ["victoria-metrics", f"-storageDataPath={self.data}",
               f"-httpListenAddr={self.addr}"]
        if cfg is not None:
            cmd.append(f"-promscrape.config={cfg}")
        if retention:
            cmd.append(f"-retentionPeriod={retention}")
        return cmd

    @property
    def ready_url(self):
        return f"http://{self.addr}/health" if self.name == "victoriametrics" \
            else f"http://{self.addr}/-/ready"

    def counters(self):
        samples, series = COUNTERS[self.name]
        return self_metric(self.addr, samples), self_metric(self.addr, series)

    def query(self, path, form, timeout=300):
        form = dict(form)
        if self.name == "victoriametrics":
            form["nocache"] = "1"
        t0 = time.perf_counter()
        try:
            body = http(f"http://{self.addr}{path}", form, timeout=timeout)
        except urllib.error.HTTPError as e:
            return time.perf_counter() - t0, {"status": "error", "error": e.read().decode()[:300]}
        dt = time.perf_counter() - t0
        return dt, json.loads(body)

    def persist(self, timeout=600):
        """Makes the system write what it holds as it would by itself; returns the bytes and
        samples on disk."""
        if self.name in ("vane", "prometheus"):
            r = json.loads(http(f"http://{self.addr}/api/v1/admin/tsdb/snapshot", b"",
                                timeout=timeout))
            snap = self.data / "snapshots" / r["data"]["name"]
            out = blocks_on_disk(snap)
            out["how"] = "snapshot with head (POST /api/v1/admin/tsdb/snapshot)"
            return out
        return vm_flush_and_measure(self.addr, self.data, timeout)


def vm_flush_and_measure(addr, data, timeout):
    http(f"http://{addr}/internal/force_flush", timeout=timeout)
    http(f"http://{addr}/internal/force_merge", timeout=timeout)
    deadline, quiet = time.time() + timeout, 0
    while quiet < 3:
        if time.time() > deadline:
            raise SystemExit("VictoriaMetrics merges did not finish in time")
        time.sleep(1)
        quiet = quiet + 1 if self_metric(addr, "vm_active_merges") == 0 else 0
    rows = sum(self_metric(addr, f'vm_rows{{type="storage/{t}"}}') for t in ("small", "big"))
    data_bytes = dir_bytes(data / "data")
    return dict(bytes=data_bytes + dir_bytes(data / "indexdb"), chunk_bytes=data_bytes,
                samples=int(rows), blocks=None, series=None,
                how="/internal/force_flush, /internal/force_merge, vm_active_merges = 0")


# ---------------------------------------------------------------------------------------
# Live mode.

def start_fleet(kids, bins, a, budget):
    p = kids.start("fleet", [
        bins["fleet"], f"--targets={a.targets}", f"--series-per-target={a.series_per_target}",
        f"--interval={a.interval}", f"--churn-share={a.churn_share}",
        f"--churn-every={a.churn_every}", f"--reset-every={a.reset_every}", f"--seed={a.seed}",
        f"--exit-after={int(budget) + 120}s"], stdout=subprocess.PIPE)
    lines = []
    t = threading.Thread(target=lambda: lines.append(p.stdout.readline()), daemon=True)
    t.start()
    t.join(120)
    if not lines or not lines[0]:
        raise SystemExit(f"the fleet did not start; see {kids.work / 'fleet.log'}")
    return p, json.loads(lines[0])


def scrape_config(path, targets, interval):
    lines = ["global:", f"  scrape_interval: {interval}", f"  scrape_timeout: {interval}",
             "scrape_configs:", "  - job_name: fleet", "    static_configs:", "      - targets:"]
    lines += [f"          - '{t}'" for t in targets]
    path.write_text("\n".join(lines) + "\n")


def snapshot(systems, fleet_pid):
    out = {"time": time.time(), "fleet_cpu": sc.cpu_seconds(fleet_pid)}
    for s in systems:
        samples, series = s.counters()
        out[s.name] = dict(cpu=sc.cpu_seconds(s.proc.pid), samples=samples, series=series,
                           rss=proc_status(s.proc.pid, "VmRSS"),
                           hwm=proc_status(s.proc.pid, "VmHWM"))
    return out


def compare(mine, ref):
    """Points of `mine` against Prometheus's `ref`: how many differ by more than 1e-6
    (relative), and how many only one side has."""
    pa, pb = ql.points(mine), ql.points(ref)
    out = dict(points=sum(len(v) for v in pb.values()), differing=0, only_here=0,
               only_prometheus=0, max_rel=0.0, example=None)
    for key in set(pa) | set(pb):
        va, vb = dict(pa.get(key, [])), dict(pb.get(key, []))
        for t in set(va) | set(vb):
            x, y = va.get(t), vb.get(t)
            if x is None or y is None:
                out["only_prometheus" if x is None else "only_here"] += 1
                if out["example"] is None:
                    out["example"] = f"{key} @{t}: {x} vs {y}"
                continue
            x, y = float(x), float(y)
            if x == y or (math.isnan(x) and math.isnan(y)):
                continue
            rel = abs(x - y) / max(abs(x), abs(y))
            if rel > 1e-6:
                out["differing"] += 1
                out["max_rel"] = max(out["max_rel"], rel)
                if out["example"] is None:
                    out["example"] = f"{key} @{t}: {x} vs {y}"
    out["agree"] = out["differing"] == 0 and out["only_here"] == 0 and out["only_prometheus"] == 0
    return out


def run_queries(systems, rounds):
    at = (int(time.time()) - 60) // STEP * STEP
    rows = []
    for name, expr in QUERIES:
        for mode in ("instant", "range_1h_15s"):
            if mode == "instant":
                path, form = "/api/v1/query", {"query": expr, "time": at}
            else:
                path, form = "/api/v1/query_range", {"query": expr, "start": at - RANGE,
                                                     "end": at, "step": STEP}
            times = {s.name: [] for s in systems}
            last, errors = {}, {}
            for i in range(rounds + 1):
                order = systems[i % len(systems):] + systems[:i % len(systems)]
                for s in order:
                    dt, res = s.query(path, form)
                    if res.get("status") != "success":
                        errors[s.name] = res.get("error", str(res))[:300]
                        continue
                    if i > 0:
                        times[s.name].append(dt)
                    last[s.name] = res
            row = dict(query=name, expr=expr, mode=mode, time=at, latency={}, agreement={},
                       errors=errors)
            for s in systems:
                ts = times[s.name]
                row["latency"][s.name] = dict(
                    median_ms=statistics.median(ts) * 1e3 if ts else None,
                    p99_ms=nearest_rank(ts, 0.99) * 1e3 if ts else None, n=len(ts))
            if "prometheus" in last:
                for s in systems:
                    if s.name != "prometheus" and s.name in last:
                        row["agreement"][s.name] = compare(last[s.name], last["prometheus"])
            rows.append(row)
            lat = "  ".join(f"{k} {fmt(v['median_ms'])} ms" for k, v in row["latency"].items())
            agree = "  ".join(f"{k}≠prom {v['differing'] + v['only_here'] + v['only_prometheus']}"
                              f"/{v['points']}" for k, v in row["agreement"].items())
            print(f"  {name:22} {mode:13} {lat}  {agree}"
                  + (f"  errors: {errors}" if errors else ""), flush=True)
    return rows


def live(a, bins, work, out_dir):
    warmup, duration = seconds(a.warmup), seconds(a.duration)
    interval = seconds(a.interval)
    budget = a.deadline or (warmup + duration + max(900, 2 * duration) + 900)
    signal.alarm(int(budget))
    kids = Children(work)
    result = dict(kind="live", size=a.size, date=datetime.date.today().isoformat(),
                  command=" ".join(sys.argv), machine=machine(), versions=versions(),
                  config=dict(targets=a.targets, series_per_target=a.series_per_target,
                              interval=a.interval, churn_share=a.churn_share,
                              churn_every=a.churn_every, reset_every=a.reset_every, seed=a.seed,
                              warmup=a.warmup, duration=a.duration, rounds=a.rounds,
                              systems=a.systems))
    try:
        fleet, info = start_fleet(kids, bins, a, budget)
        result["fleet"] = {k: v for k, v in info.items() if k != "targets"}
        print(f"fleet: {len(info['targets'])} targets, {info['series']} series "
              f"({info['churning_series']} churning every {a.churn_every}), every {a.interval}",
              flush=True)
        cfg = work / "prometheus.yml"
        scrape_config(cfg, info["targets"], a.interval)
        systems = [System(n, work, bins) for n in a.systems]
        for s in systems:
            s.proc = kids.start(s.name, s.command(cfg))
        for s in systems:
            ql.wait_ready(s.ready_url, 120)
        print(f"warm-up {warmup:.0f} s", flush=True)
        time.sleep(warmup)
        kids.check_alive()
        s0 = snapshot(systems, fleet.pid)
        print(f"measuring {duration:.0f} s", flush=True)
        end = s0["time"] + duration
        while time.time() < end:
            time.sleep(min(60, max(0, end - time.time())))
            kids.check_alive()
            now = snapshot(systems, fleet.pid)
            dt = now["time"] - s0["time"]
            print(f"  {dt:5.0f} s  " + "  ".join(
                f"{s.name} {(now[s.name]['samples'] - s0[s.name]['samples']) / dt:,.0f} samples/s "
                f"{(now[s.name]['cpu'] - s0[s.name]['cpu']) / dt * 100:.1f}% CPU"
                for s in systems), flush=True)
        s1 = snapshot(systems, fleet.pid)
        window = s1["time"] - s0["time"]
        result["window_seconds"] = window
        result["fleet"]["cpu_share_in_window"] = (s1["fleet_cpu"] - s0["fleet_cpu"]) / window
        ingest = {}
        for s in systems:
            a0, a1 = s0[s.name], s1[s.name]
            samples, cpu = a1["samples"] - a0["samples"], a1["cpu"] - a0["cpu"]
            ingest[s.name] = dict(
                samples_in_window=samples, samples_per_second=samples / window,
                samples_total=a1["samples"], cpu_seconds=cpu, cpu_share=cpu / window,
                cpu_us_per_sample=cpu * 1e6 / samples if samples else None,
                active_series=a1["series"], rss_final=a1["rss"], rss_peak=a1["hwm"],
                rss_per_series=a1["rss"] / a1["series"] if a1["series"] else None)
        result["ingest"] = ingest
        # Scrape health, as each system sees it.
        for s in systems:
            health = {}
            for key, q in (("targets_up", "count(up == 1)"), ("targets", "count(up)"),
                           ("max_scrape_seconds", "max(scrape_duration_seconds)")):
                _, r = s.query("/api/v1/query", {"query": q})
                v = r.get("data", {}).get("result", []) if r.get("status") == "success" else []
                health[key] = float(v[0]["value"][1]) if v else None
            ingest[s.name].update(health)
        print("queries (median of each system; points differing from Prometheus's)", flush=True)
        result["queries"] = run_queries(systems, a.rounds)
        for s in systems:
            ingest[s.name]["rss_peak_with_queries"] = proc_status(s.proc.pid, "VmHWM")
        # Stop the fleet so that nothing more arrives, let staleness markers land, persist.
        kids.stop("fleet")
        fleet_out = fleet.stdout.read().strip().splitlines()
        if fleet_out:
            result["fleet"]["at_exit"] = json.loads(fleet_out[-1])
        time.sleep(2 * interval + 2)
        disk = {}
        for s in systems:
            print(f"persisting {s.name}", flush=True)
            disk[s.name] = s.persist()
            d = disk[s.name]
            d["bytes_per_sample"] = d["bytes"] / d["samples"] if d["samples"] else None
            d["chunk_bytes_per_sample"] = d["chunk_bytes"] / d["samples"] if d["samples"] else None
        result["disk"] = disk
    finally:
        signal.alarm(0)
        kids.stop_all()
    write_results(result, out_dir, a.size, live_markdown(result))
    return result


def best_peer(values):
    peers = {k: v for k, v in values.items() if k in PEERS and v is not None}
    if "vane" not in values or values["vane"] is None or not peers:
        return None, None
    name = min(peers, key=peers.get)
    return name, values["vane"] / peers[name] if peers[name] else None


def live_markdown(r):
    mib = 2**20
    names = [n for n in SYSTEMS if n in r["ingest"]]
    ing, disk = r["ingest"], r.get("disk", {})
    cfg = r["config"]
    out = [f"# Side by side: {cfg['targets']} targets × {cfg['series_per_target']} series "
           f"every {cfg['interval']} ({r['date']})", "",
           f"- command: `{r['command']}`",
           f"- machine: {r['machine']['cpus']} CPUs ({r['machine']['cpu']}), "
           f"{r['machine']['memory_gib']} GiB, Linux {r['machine']['kernel']}; "
           f"load average at start {', '.join(f'{x:.2f}' for x in r['machine']['loadavg_at_start'])}",
           f"- versions: Vane `{r['versions']['vane']}`, Prometheus {r['versions']['prometheus']}, "
           f"VictoriaMetrics {r['versions']['victoria-metrics']}",
           f"- fleet: {r['fleet']['series']} series, {r['fleet']['churning_series']} of them "
           f"replaced every {cfg['churn_every']}, application counters reset every "
           f"{cfg['reset_every']}; warm-up {cfg['warmup']}, measured {r['window_seconds']:.0f} s",
           f"- the fleet itself used {r['fleet']['cpu_share_in_window'] * 100:.1f} % of one core "
           f"during the window"
           + (f" ({r['fleet']['at_exit']['cpu_seconds']:.1f} CPU s over "
              f"{r['fleet']['at_exit']['wall_seconds']:.0f} s, "
              f"{r['fleet']['at_exit']['requests']} requests)" if "at_exit" in r["fleet"] else ""),
           "", "## Ingestion, memory, disk", "",
           "| | " + " | ".join(names) + " | Vane ÷ best peer | target |",
           "| --- |" + " --: |" * len(names) + " --: | --- |"]

    def row(label, key, src, scale=1.0, digits=2, target=None):
        vals = {n: (src[n][key] * scale if src.get(n, {}).get(key) is not None else None)
                for n in names}
        peer, ratio = best_peer(vals) if target is not None or key in (
            "cpu_us_per_sample", "rss_per_series", "bytes_per_sample") else (None, None)
        mark = ""
        if target is not None and ratio is not None:
            mark = f"≤ {target}× {'✓' if ratio <= target else '✗'}"
        out.append(f"| {label} | " + " | ".join(fmt(vals[n], digits) for n in names)
                   + f" | {fmt(ratio) + f' ({peer})' if ratio is not None else ''} | {mark} |")

    row("samples ingested in the window", "samples_in_window", ing, digits=0)
    row("samples per second", "samples_per_second", ing, digits=0)
    row("CPU, share of one core", "cpu_share", ing, 100, 1)
    row("CPU µs per ingested sample", "cpu_us_per_sample", ing, target=0.5)
    row("active series", "active_series", ing, digits=0)
    row("peak RSS (MiB)", "rss_peak", ing, 1 / mib, 1)
    row("final RSS (MiB)", "rss_final", ing, 1 / mib, 1)
    row("RSS bytes per active series", "rss_per_series", ing, digits=0, target=0.5)
    per_fleet = {n: {"rss": ing[n]["rss_final"] / r["fleet"]["series"]} for n in names
                 if ing[n].get("rss_final") is not None and r["fleet"].get("series")}
    row("final RSS bytes per fleet series", "rss", per_fleet, digits=0, target=0.5)
    row("peak RSS with queries (MiB)", "rss_peak_with_queries", ing, 1 / mib, 1)
    row(f"targets up (of {cfg['targets']})", "targets_up", ing, digits=0)
    row("longest scrape (s)", "max_scrape_seconds", ing, digits=3)
    if disk:
        row("samples on disk", "samples", disk, digits=0)
        row("bytes on disk", "bytes", disk, digits=0)
        row("bytes per sample on disk", "bytes_per_sample", disk, digits=3, target=1.0)
        row("chunk (VM: data) bytes per sample", "chunk_bytes_per_sample", disk, digits=3)
    out += ["", "Bytes on disk: " + "; ".join(f"{n}: {disk[n]['how']}" for n in disk)
            + (". VictoriaMetrics keeps values as decimals of limited precision (lossy for "
               "values with many significant digits; `--datasets` counts them)"
               if "victoriametrics" in disk else ""), "",
            "## Query latency (ms, median / p99 over "
            f"{cfg['rounds']} rounds) at T = {r['queries'][0]['time'] if r.get('queries') else '—'}",
            "", "| query | mode | " + " | ".join(names) + " | Vane ÷ best peer (median) |",
            "| --- | --- |" + " --: |" * len(names) + " --: |"]
    for q in r.get("queries", []):
        lat = q["latency"]
        med = {n: lat[n]["median_ms"] for n in names}
        peer, ratio = best_peer(med)
        cells = [f"{fmt(lat[n]['median_ms'])} / {fmt(lat[n]['p99_ms'])}"
                 + (" (error)" if n in q["errors"] else "") for n in names]
        target = ""
        if ratio is not None and q["mode"] != "instant":
            target = f" {'✓' if ratio <= 0.5 else '✗'} (≤ 0.5)"
        out.append(f"| {q['query']} | {q['mode']} | " + " | ".join(cells)
                   + f" | {fmt(ratio) + f' ({peer})' + target if ratio is not None else ''} |")
    others = [n for n in names if n != "prometheus"]
    if "prometheus" in names and others:
        out += ["", "## Agreement with Prometheus (points differing by more than 1e-6 relative, "
                "or present on one side only)", "",
                "| query | mode | " + " | ".join(f"{n}: differing / only {n} / only Prometheus "
                                               f"of points (max rel.)" for n in others) + " |",
                "| --- | --- |" + " --- |" * len(others)]
        examples = []
        for q in r.get("queries", []):
            cells = []
            for n in others:
                c = q["agreement"].get(n)
                if c is None:
                    cells.append("—")
                    continue
                cells.append("agrees" if c["agree"] else
                             f"{c['differing']} / {c['only_here']} / {c['only_prometheus']} of "
                             f"{c['points']} ({c['max_rel']:.2g})")
                if c["example"]:
                    examples.append(f"- {n}, {q['query']} {q['mode']}: {c['example']}")
            out.append(f"| {q['query']} | {q['mode']} | " + " | ".join(cells) + " |")
        out += ["", "Expected sources of difference: each system scrapes a target at its own "
                "phase in the interval (same values, other timestamps); Prometheus 2.42 closes "
                "range windows on the left where Vane opens them (Prometheus 3); "
                "VictoriaMetrics' `rate`/`increase` do not extrapolate. First difference of "
                "each:", ""] + examples[:40]
    errs = [f"- {q['query']} {q['mode']}: {q['errors']}" for q in r.get("queries", [])
            if q["errors"]]
    if errs:
        out += ["", "## Query errors", ""] + errs
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------
# Datasets mode.

def om_to_prometheus_ms(src, dst):
    """OpenMetrics with timestamps in seconds -> Prometheus text with integer milliseconds
    (what /api/v1/import/prometheus reads); returns the number of samples."""
    n = 0
    with open(src) as f, open(dst, "w") as out:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            head, value, ts = line.rstrip("\n").rsplit(" ", 2)
            out.write(f"{head} {value} {round(float(ts) * 1000)}\n")
            n += 1
    return n


LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def series_key(name, labels):
    return name + json.dumps(sorted(labels.items()))


def changed_values(addr, prom_text):
    """Samples whose value VictoriaMetrics returns differently from the file (it stores
    values as decimals of limited precision), from `/api/v1/export` of every series."""
    want = {}
    with open(prom_text) as f:
        for line in f:
            head, value, ts = line.rstrip("\n").rsplit(" ", 2)
            name, _, labels = head.partition("{")
            labels = {k: v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
                      for k, v in LABEL.findall(labels)}
            want[(series_key(name, labels), int(ts))] = float(value)
    changed, returned = 0, 0
    body = http(f"http://{addr}/api/v1/export", {"match[]": '{__name__=~".+"}'}, timeout=600)
    for line in body.decode().splitlines():
        r = json.loads(line)
        m = dict(r["metric"])
        key = series_key(m.pop("__name__"), m)
        for ts, v in zip(r["timestamps"], r["values"]):
            returned += 1
            x = want.get((key, ts))
            if x is None or (x != float(v) and not (math.isnan(x) and math.isnan(float(v)))):
                changed += 1
    return dict(values_returned=returned, values_changed=changed)


def post_file(url, path, chunk=8 << 20):
    """POSTs a text file in pieces of about `chunk` bytes cut at line ends."""
    with open(path, "rb") as f:
        while True:
            piece = f.read(chunk)
            if not piece:
                break
            piece += f.readline()
            http(url, piece, timeout=600)


def datasets(a, bins, work, out_dir):
    signal.alarm(int(a.deadline or 3600))
    files = sorted(pathlib.Path(a.dataset_dir).glob("*.om.gz")) + \
        sorted(pathlib.Path(a.dataset_dir).glob("*.om"))
    if not files:
        raise SystemExit(f"no *.om.gz recording in {a.dataset_dir}")
    result = dict(kind="datasets", size="datasets", date=datetime.date.today().isoformat(),
                  command=" ".join(sys.argv), machine=machine(), versions=versions(),
                  block_duration=a.block_duration, datasets=[])
    kids = Children(work)
    try:
        for src in files:
            name = src.name.removesuffix(".gz").removesuffix(".om")
            om = work / f"{name}.om"
            if src.suffix == ".gz":
                with gzip.open(src, "rb") as fi, open(om, "wb") as fo:
                    shutil.copyfileobj(fi, fo)
            else:
                shutil.copy(src, om)
            prom_text = work / f"{name}.prom"
            n = om_to_prometheus_ms(om, prom_text)
            entry = dict(dataset=src.name, input_samples=n, systems={})
            print(f"{src.name}: {n} samples", flush=True)
            if "vane" in a.systems:
                d = work / f"vane-{name}"
                ql.run([bins["vane"], "tsdb", "import", om, f"--storage.tsdb.path={d}",
                        f"--block-duration={a.block_duration}"])
                entry["systems"]["vane"] = dict(blocks_on_disk(d), how="vane tsdb import")
            if "prometheus" in a.systems:
                d = work / f"prometheus-{name}"
                ql.run(["promtool", "tsdb", "create-blocks-from", "openmetrics",
                        f"--max-block-duration={a.block_duration}", om, d])
                entry["systems"]["prometheus"] = dict(
                    blocks_on_disk(d), how="promtool tsdb create-blocks-from openmetrics")
            if "victoriametrics" in a.systems:
                s = System("victoriametrics", work, bins)
                s.data = work / f"victoriametrics-{name}"
                s.proc = kids.start("victoriametrics", s.command(None, retention="100y"))
                ql.wait_ready(s.ready_url, 120)
                post_file(f"http://{s.addr}/api/v1/import/prometheus", prom_text)
                inserted = self_metric(s.addr, 'vm_rows_inserted_total{type="prometheus"}')
                m = vm_flush_and_measure(s.addr, s.data, 600)
                m.update(how="/api/v1/import/prometheus, then " + m["how"],
                         rows_inserted=int(inserted), **changed_values(s.addr, prom_text))
                entry["systems"]["victoriametrics"] = m
                kids.stop("victoriametrics")
            for v in entry["systems"].values():
                v["bytes_per_input_sample"] = v["bytes"] / n
                v["bytes_per_stored_sample"] = v["bytes"] / v["samples"] if v["samples"] else None
                v["chunk_bytes_per_input_sample"] = v["chunk_bytes"] / n
                print(f"  {v['how']}: {v['bytes']} bytes, {v['bytes'] / n:.3f} per sample",
                      flush=True)
            result["datasets"].append(entry)
            for p in (om, prom_text):
                p.unlink(missing_ok=True)
    finally:
        signal.alarm(0)
        kids.stop_all()
    write_results(result, out_dir, "datasets", datasets_markdown(result))
    return result


def datasets_markdown(r):
    out = [f"# Recordings imported into each system ({r['date']})", "",
           f"- command: `{r['command']}`",
           f"- versions: Vane `{r['versions']['vane']}`, Prometheus {r['versions']['prometheus']}, "
           f"VictoriaMetrics {r['versions']['victoria-metrics']}",
           f"- block duration (Vane `--block-duration`, promtool `--max-block-duration`): "
           f"{r['block_duration']}", "",
           "| recording | system | samples in file | samples stored | blocks | bytes | "
           "bytes per sample | chunk (VM: data) bytes per sample | Vane ÷ best peer |",
           "| --- | --- | --: | --: | --: | --: | --: | --: | --: |"]
    for d in r["datasets"]:
        per = {k: v["bytes_per_input_sample"] for k, v in d["systems"].items()}
        peer, ratio = best_peer(per)
        for k, v in d["systems"].items():
            out.append(f"| {d['dataset']} | {k} | {d['input_samples']:,} | {v['samples']:,} | "
                       f"{v['blocks'] if v['blocks'] is not None else '—'} | {v['bytes']:,} | "
                       f"{v['bytes_per_input_sample']:.3f} | "
                       f"{v['chunk_bytes_per_input_sample']:.3f} | "
                       + (f"{ratio:.2f} ({peer})" if k == "vane" and ratio is not None else "")
                       + " |")
    for d in r["datasets"]:
        vm = d["systems"].get("victoriametrics")
        if vm and "values_changed" in vm:
            out += ["", f"{d['dataset']}: VictoriaMetrics returned {vm['values_returned']:,} "
                    f"values through /api/v1/export, {vm['values_changed']:,} of them different "
                    "from the file's (it keeps values as decimals of limited precision; Vane and "
                    "Prometheus store the float64 bits)."]
    out += ["", "Bytes per sample divide by the samples in the file (VictoriaMetrics drops NaN "
            "values, so it stores fewer). How each was persisted: "
            + "; ".join(sorted({f"{k}: {v['how']}" for d in r['datasets']
                                for k, v in d['systems'].items()}))]
    return "\n".join(out) + "\n"


def write_results(result, out_dir, size, md):
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"{result['date']}-{size}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    stem.with_suffix(".md").write_text(md)
    print()
    print(md)
    print(f"written: {stem}.md, {stem}.json")


# ---------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="20k series at 5 s for 5 min")
    size.add_argument("--large", action="store_true", help="500k series at 10 s for 20 min")
    size.add_argument("--datasets", action="store_true",
                      help="import the recordings into each system instead")
    ap.add_argument("--targets", type=int)
    ap.add_argument("--series-per-target", type=int)
    ap.add_argument("--interval", help="scrape interval (the fleet ticks with it)")
    ap.add_argument("--warmup")
    ap.add_argument("--duration", help="measured window")
    ap.add_argument("--rounds", type=int, help="timed rounds of the query set")
    ap.add_argument("--churn-share", type=float)
    ap.add_argument("--churn-every")
    ap.add_argument("--reset-every")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--dataset-dir", default=str(SHARED / "datasets"))
    ap.add_argument("--block-duration", default="2h")
    ap.add_argument("--deadline", type=int, help="stop everything after this many seconds")
    ap.add_argument("--keep", help="work in (and keep) this directory")
    ap.add_argument("--out-dir", default=str(ROOT / "benches/results"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--render", metavar="JSON",
                    help="write the Markdown of an earlier run's JSON next to it, and stop")
    a = ap.parse_args()
    if a.render:
        src = pathlib.Path(a.render)
        r = json.loads(src.read_text())
        md = datasets_markdown(r) if "ingest" not in r else live_markdown(r)
        src.with_suffix(".md").write_text(md)
        print(f"written: {src.with_suffix('.md')}")
        return 0
    a.systems = [s.strip() for s in a.systems.split(",") if s.strip()]
    if bad := [s for s in a.systems if s not in SYSTEMS]:
        raise SystemExit(f"unknown systems {bad}; known: {', '.join(SYSTEMS)}")
    a.size = "quick" if a.quick else "large" if a.large else "datasets" if a.datasets else None
    preset = PRESETS.get(a.size) or PRESETS["quick"]
    for k, v in {**preset, **DEFAULTS}.items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    if a.size is None:
        a.size = f"{a.targets * a.series_per_target // 1000}k"

    # Installed explicitly: a shell starting us in the background would leave SIGINT ignored.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(sig, _raise_stop)
    # Hundreds of targets mean thousands of sockets in the fleet and in each scraper; the
    # children inherit the raised limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard and hard != resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ensure_peers(a.systems, need_promtool=a.datasets)
    bins = {"vane": ROOT / "target/release/vane", "fleet": ROOT / "target/release/fleet"}
    if not a.no_build:
        ql.run(["cargo", "build", "--release", "-p", "daemon", "-p", "vane-benches",
                "--bin", "vane", "--bin", "fleet"], cwd=ROOT)
    work = pathlib.Path(a.keep) if a.keep else pathlib.Path(tempfile.mkdtemp(prefix="fleet-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if a.datasets:
            datasets(a, bins, work, pathlib.Path(a.out_dir))
        else:
            live(a, bins, work, pathlib.Path(a.out_dir))
    except Stop as e:
        print(f"stopped ({e}); children stopped", file=sys.stderr)
        return 130
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
