#!/usr/bin/env python3
"""Remote write out: Vane against Prometheus sending the same scrape data to the same receiver.

Both scrape the same synthetic targets (the payloads of scrape_cpu.py) every interval and
remote-write to one receiver on 127.0.0.1: a small HTTP sink in this script that reads each
request body, counts its bytes and answers 204 (so the receiver costs the same for both and
never pushes back). Each program runs twice, alone: scraping only, then scraping and
remote-writing with the same queue_config. Over the steady part of each run the script reads
the program's CPU time (user + system, /proc) and, for the second run, the samples it
reports sent (vane_remote_storage_samples_total, prometheus_remote_storage_samples_total) and
the request body bytes the sink received. It prints

  * samples sent per second and the CPU added by remote write (second run minus first);
  * samples sent per second per core of that added CPU;
  * bytes on the wire per sample (request bodies, snappy-compressed protobuf).

Usage: python3 benches/side_by_side/remote_write.py [--targets 50] [--seconds 40]
       [--interval 1s] [--series N] [--vane target/release/vane]
(--series N keeps N series per target: with few series a batch holds several samples of
each, which Vane sends under one set of labels.)
Needs: a release build of vane (cargo build --release) and Debian's prometheus. Everything
listens on 127.0.0.1 and stops by itself.
"""

import argparse
import http.server
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from scrape_cpu import (  # noqa: E402  (same conventions and targets as the scrape bench)
    PAYLOAD, ROOT, cpu_seconds, free_port, payload_variants, serve_targets, wait_http)

QUEUE = ("    queue_config:\n      capacity: 10000\n      max_shards: 50\n      min_shards: 1\n"
         "      max_samples_per_send: 2000\n      batch_send_deadline: 5s\n")


def first_samples(body, n):
    """The payload cut after its first n sample lines (comments kept before them)."""
    out, kept = [], 0
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            if kept == n:
                break
            kept += 1
        out.append(line)
    return ("\n".join(out) + "\n").encode()


def serve_sink():
    """A remote write receiver that only counts requests and body bytes."""
    stats = {"requests": 0, "bytes": 0}
    lock = threading.Lock()

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            with lock:
                stats["requests"] += 1
                stats["bytes"] += len(body)
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    def snapshot():
        with lock:
            return dict(stats)

    return srv, snapshot


def metric_sum(url, name):
    with urllib.request.urlopen(url, timeout=10) as r:
        text = r.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def run(name, cmd, port, seconds, workdir, sent_metric, sink):
    log = open(workdir / f"{name}.log", "w")
    p = subprocess.Popen(cmd, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/-/ready")
        warm = min(15, seconds // 3)
        time.sleep(warm)  # first scrapes, series creation, first batches, shard scaling
        c0, t0 = cpu_seconds(p.pid), time.time()
        s0 = metric_sum(base + "/metrics", sent_metric) if sent_metric else 0.0
        own0 = metric_sum(base + "/metrics", sent_metric.replace("samples_total", "bytes_total")) if sent_metric else 0.0
        b0 = sink()["bytes"]
        time.sleep(seconds - warm)
        c1, t1 = cpu_seconds(p.pid), time.time()
        s1 = metric_sum(base + "/metrics", sent_metric) if sent_metric else 0.0
        own1 = metric_sum(base + "/metrics", sent_metric.replace("samples_total", "bytes_total")) if sent_metric else 0.0
        b1 = sink()["bytes"]
        return {"cpu": (c1 - c0) / (t1 - t0), "sent": (s1 - s0) / (t1 - t0),
                "bytes": b1 - b0, "own_bytes": own1 - own0, "samples": s1 - s0}
    finally:
        p.terminate()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=40)
    ap.add_argument("--interval", default="1s")
    ap.add_argument("--series", type=int, default=0,
                    help="keep only the first N samples of each payload (0: all)")
    ap.add_argument("--vane", default=str(ROOT / "target/release/vane"))
    a = ap.parse_args()
    if not shutil.which("prometheus"):
        raise SystemExit("prometheus is not installed (apt-get install -y prometheus)")
    variants = payload_variants(PAYLOAD.read_text())
    if a.series:
        variants = [first_samples(v, a.series) for v in variants]
    per_body = sum(1 for l in variants[0].decode().splitlines() if l and not l.startswith("#"))
    targets = serve_targets(variants)
    app = f"127.0.0.1:{targets.server_address[1]}"
    sink_srv, sink = serve_sink()
    sink_url = f"http://127.0.0.1:{sink_srv.server_address[1]}/api/v1/write"
    work = pathlib.Path(tempfile.mkdtemp(prefix="remote-write-"))
    try:
        jobs = "\n".join(
            f"  - job_name: app{i}\n    metrics_path: /t{i}\n    static_configs: [{{targets: ['{app}']}}]"
            for i in range(a.targets))
        head = (f"global:\n  scrape_interval: {a.interval}\n  scrape_timeout: {a.interval}\n"
                f"scrape_configs:\n{jobs}\n")
        plain = work / "plain.yml"
        plain.write_text(head)
        vane_rw = work / "vane-rw.yml"
        vane_rw.write_text(head + f"remote_write:\n  - url: {sink_url}\n{QUEUE}")
        prom_rw = work / "prom-rw.yml"
        prom_rw.write_text(head + f"remote_write:\n  - url: {sink_url}\n{QUEUE}"
                           "    metadata_config:\n      send: false\n")
        print(f"{a.targets} targets x {per_body} samples every {a.interval} "
              f"(about {a.targets * per_body} samples per interval), {a.seconds} s per run")

        def vane(cfg, tag):
            port = free_port()
            return run(f"vane-{tag}", [a.vane, "run", f"--config.file={cfg}",
                                       f"--storage.tsdb.path={work / ('vane-' + tag)}",
                                       f"--web.listen-address=127.0.0.1:{port}"],
                       port, a.seconds, work,
                       "vane_remote_storage_samples_total" if tag == "rw" else None, sink)

        def prom(cfg, tag):
            port = free_port()
            return run(f"prom-{tag}", ["prometheus", f"--config.file={cfg}",
                                       f"--storage.tsdb.path={work / ('prom-' + tag)}",
                                       f"--web.listen-address=127.0.0.1:{port}"],
                       port, a.seconds, work,
                       "prometheus_remote_storage_samples_total" if tag == "rw" else None, sink)

        results = {
            "vane": (vane(plain, "plain"), vane(vane_rw, "rw")),
            "prometheus": (prom(plain, "plain"), prom(prom_rw, "rw")),
        }
        for k, (base, rw) in results.items():
            added = rw["cpu"] - base["cpu"]
            per_core = rw["sent"] / added if added > 0 else float("inf")
            bps = rw["bytes"] / rw["samples"] if rw["samples"] else float("nan")
            own = rw["own_bytes"] / rw["samples"] if rw["samples"] else float("nan")
            print(f"{k:<11} sent {rw['sent']:9.0f} samples/s   CPU scrape only {base['cpu'] * 100:5.1f}%"
                  f"   with remote write {rw['cpu'] * 100:5.1f}%   added {added * 100:5.1f}%"
                  f"   -> {per_core:10.0f} samples/s per core   {bps:6.3f} bytes/sample on the wire"
                  f" ({own:6.3f} by its own bytes_total)")
    finally:
        targets.shutdown()
        sink_srv.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
