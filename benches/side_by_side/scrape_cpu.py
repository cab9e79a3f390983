#!/usr/bin/env python3
"""CPU and memory of scraping: Vane against Prometheus on the same targets.

Starts a node exporter and N synthetic targets (one threaded HTTP server on 127.0.0.1, each
path answering with a payload of the shared conformance data, values changed every request),
then runs each scraper alone for the same time with the same prometheus.yml and reads its
CPU time (user + system, from /proc) over the steady part of the run, and its final RSS.

Usage: python3 benches/side_by_side/scrape_cpu.py [--targets 20] [--seconds 60]
       [--interval 1s] [--vane target/release/vane]
Needs: a release build of vane (cargo build --release), Debian's prometheus and
prometheus-node-exporter. Everything listens on 127.0.0.1 and stops by itself.
"""

import argparse
import http.server
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAYLOAD = ROOT.parent / "shared/conformance/prometheus/model/textparse/testdata/alltypes.237mfs.prom.txt"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def payload_variants(text, k=16):
    """k copies of the payload with different sample values (so chunks see real deltas)."""
    out = []
    for i in range(k):
        lines = []
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                lines.append(line)
                continue
            end = line.rfind("}") + 1 if "}" in line else line.find(" ")
            series, rest = line[:end], line[end:].split()
            try:
                v = float(rest[0])
                rest[0] = repr(v + i) if v == v and abs(v) != float("inf") else rest[0]
            except ValueError:
                pass
            lines.append(series + " " + " ".join(rest[:1]))  # drop timestamps
        out.append(("\n".join(lines) + "\n").encode())
    return out


def serve_targets(variants):
    counter = {"n": 0}

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            counter["n"] += 1
            body = variants[counter["n"] % len(variants)]
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def wait_http(url, secs=30):
    end = time.time() + secs
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"{url} not ready")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(name, cmd, ready_url, seconds, workdir):
    log = open(workdir / f"{name}.log", "w")
    p = subprocess.Popen(cmd, stdout=log, stderr=log)
    try:
        wait_http(ready_url)
        warm = min(15, seconds // 4)
        time.sleep(warm)  # discovery, first scrapes, series creation
        c0, t0 = cpu_seconds(p.pid), time.time()
        time.sleep(seconds - warm)
        c1, t1 = cpu_seconds(p.pid), time.time()
        return (c1 - c0) / (t1 - t0), rss_mib(p.pid)
    finally:
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--interval", default="1s")
    ap.add_argument("--vane", default=str(ROOT / "target/release/vane"))
    a = ap.parse_args()
    for prog in ("prometheus", "prometheus-node-exporter"):
        if not shutil.which(prog):
            raise SystemExit(f"{prog} is not installed (apt-get install -y {prog})")
    variants = payload_variants(PAYLOAD.read_text())
    samples_per_body = sum(1 for l in variants[0].decode().splitlines() if l and not l.startswith("#"))
    srv = serve_targets(variants)
    app = f"127.0.0.1:{srv.server_address[1]}"
    ne_port = free_port()
    ne = subprocess.Popen(
        ["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{ne_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    work = pathlib.Path(tempfile.mkdtemp(prefix="scrape-cpu-"))
    try:
        wait_http(f"http://127.0.0.1:{ne_port}/metrics")
        paths = "\n".join(
            f"  - job_name: app{i}\n    metrics_path: /t{i}\n    static_configs: [{{targets: ['{app}']}}]"
            for i in range(a.targets))
        cfg = work / "prometheus.yml"
        cfg.write_text(
            f"global:\n  scrape_interval: {a.interval}\n  scrape_timeout: {a.interval}\n"
            f"scrape_configs:\n  - job_name: node\n    static_configs: [{{targets: ['127.0.0.1:{ne_port}']}}]\n{paths}\n")
        rate = a.targets * samples_per_body
        print(f"{a.targets} targets x {samples_per_body} samples + a node exporter, every {a.interval} "
              f"(about {rate} samples per interval), {a.seconds} s per scraper")
        results = {}
        port = free_port()
        results["vane"] = measure("vane", [a.vane, "run", f"--config.file={cfg}",
                                           f"--storage.tsdb.path={work / 'vane'}",
                                           f"--web.listen-address=127.0.0.1:{port}"],
                                  f"http://127.0.0.1:{port}/-/ready", a.seconds, work)
        port = free_port()
        results["prometheus"] = measure("prometheus", ["prometheus", f"--config.file={cfg}",
                                                       f"--storage.tsdb.path={work / 'prom'}",
                                                       f"--web.listen-address=127.0.0.1:{port}"],
                                        f"http://127.0.0.1:{port}/-/ready", a.seconds, work)
        for k, (cpu, rss) in results.items():
            print(f"{k:<11} CPU {cpu * 100:6.2f}% of one core   RSS {rss:7.1f} MiB")
        v, p = results["vane"], results["prometheus"]
        print(f"ratio vane/prometheus: CPU {v[0] / p[0]:.2f}, RSS {v[1] / p[1]:.2f}")
    finally:
        ne.terminate()
        srv.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
