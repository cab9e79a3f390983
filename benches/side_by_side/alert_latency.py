#!/usr/bin/env python3
"""Alert latency: from a condition becoming true in scraped data to the webhook request.

A target on 127.0.0.1 exposes `demo_value`; a webhook receiver records when notifications
arrive. The rule `demo_value > 0` has `for: 0s`; scrape and evaluation intervals are 1 s. The
target's value is flipped to 1 (and back to 0) `--flips` times at random moments; each
latency is the time from the flip to the first notification with the alert firing (or
resolved). Measured for:

* vane: Vane's own webhook delivery (`alerting.webhooks`, group_wait 0s);
* prometheus+alertmanager (with `--compare`): Debian's Prometheus 2.42 sending to
  Alertmanager 0.25, whose webhook receiver has group_wait 0s, group_interval 1s.

Reports the median, p90 and maximum of each.

Usage: python3 benches/side_by_side/alert_latency.py [--flips 20] [--compare]
"""

import argparse
import http.server
import json
import pathlib
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import query_latency as ql  # noqa: E402

ROOT = ql.ROOT

RULES = """groups:
  - name: latency
    rules:
      - alert: Flip
        expr: demo_value > 0
        for: 0s
"""


class State:
    value = 0.0
    events = []  # (arrival time, status)
    lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"# TYPE demo_value gauge\ndemo_value {State.value}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        now = time.monotonic()
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            status = json.loads(body).get("status", "")
        except ValueError:
            status = ""
        with State.lock:
            State.events.append((now, status))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def serve():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return f"127.0.0.1:{srv.server_address[1]}"


def wait_event(status, since, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with State.lock:
            for t, s in State.events:
                if t >= since and s == status:
                    return t
        time.sleep(0.005)
    raise SystemExit(f"no {status} notification within {timeout}s")


def measure(flips):
    fire, resolve = [], []
    for _ in range(flips):
        time.sleep(random.uniform(1.0, 2.0))
        t0 = time.monotonic()
        State.value = 1.0
        fire.append(wait_event("firing", t0) - t0)
        time.sleep(random.uniform(1.0, 2.0))
        t0 = time.monotonic()
        State.value = 0.0
        resolve.append(wait_event("resolved", t0) - t0)
    return fire, resolve


def summary(xs):
    xs = sorted(xs)
    p90 = xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]
    return f"median {statistics.median(xs):.2f}s  p90 {p90:.2f}s  max {xs[-1]:.2f}s"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flips", type=int, default=20)
    ap.add_argument("--vane", default=str(ROOT / "target/release/vane"))
    ap.add_argument("--compare", action="store_true",
                    help="also measure Prometheus 2.42 + Alertmanager (Debian packages)")
    args = ap.parse_args()
    ql.run(["cargo", "build", "--release", "-p", "daemon", "--bin", "vane"], cwd=ROOT)
    addr = serve()
    work = pathlib.Path(tempfile.mkdtemp())
    (work / "rules.yml").write_text(RULES)
    scrape = ("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
              "rule_files: [rules.yml]\n"
              f"scrape_configs:\n  - job_name: demo\n    static_configs: [{{targets: ['{addr}']}}]\n")
    results = []
    procs = []
    try:
        vaddr = f"127.0.0.1:{ql.free_port()}"
        (work / "vane.yml").write_text(
            scrape + "alerting:\n  webhooks:\n"
            f"    - {{name: bench, url: 'http://{addr}/hook', group_wait: 0s, "
            "group_interval: 1s, repeat_interval: 1h}\n")
        procs.append(subprocess.Popen(
            [args.vane, "run", f"--config.file={work / 'vane.yml'}",
             f"--storage.tsdb.path={work / 'vane-data'}", f"--web.listen-address={vaddr}"],
            stdout=subprocess.DEVNULL, stderr=open(work / "vane.log", "w")))
        ql.wait_ready(f"http://{vaddr}/-/ready")
        time.sleep(3)
        results.append(("vane (webhook)",) + measure(args.flips))
        procs.pop().terminate()

        if args.compare:
            if not shutil.which("prometheus") or not shutil.which("prometheus-alertmanager"):
                raise SystemExit("needs Debian's prometheus and prometheus-alertmanager")
            amaddr, paddr = f"127.0.0.1:{ql.free_port()}", f"127.0.0.1:{ql.free_port()}"
            (work / "am.yml").write_text(
                "route: {receiver: hook, group_wait: 0s, group_interval: 1s, repeat_interval: 1h}\n"
                f"receivers:\n  - name: hook\n    webhook_configs: [{{url: 'http://{addr}/hook'}}]\n")
            procs.append(subprocess.Popen(
                ["prometheus-alertmanager", f"--config.file={work / 'am.yml'}",
                 f"--storage.path={work / 'am-data'}", f"--web.listen-address={amaddr}",
                 "--cluster.listen-address="],
                stdout=subprocess.DEVNULL, stderr=open(work / "am.log", "w")))
            (work / "prom.yml").write_text(
                scrape + f"alerting:\n  alertmanagers: [{{static_configs: [{{targets: ['{amaddr}']}}]}}]\n")
            procs.append(subprocess.Popen(
                ["prometheus", f"--config.file={work / 'prom.yml'}",
                 f"--storage.tsdb.path={work / 'prom-data'}", f"--web.listen-address={paddr}"],
                stdout=subprocess.DEVNULL, stderr=open(work / "prom.log", "w")))
            ql.wait_ready(f"http://{amaddr}/-/ready")
            ql.wait_ready(f"http://{paddr}/-/ready")
            time.sleep(3)
            results.append(("prometheus+alertmanager",) + measure(args.flips))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
        shutil.rmtree(work, ignore_errors=True)
    for who, fire, resolve in results:
        print(f"{who:26} firing:   {summary(fire)}")
        print(f"{'':26} resolved: {summary(resolve)}")


if __name__ == "__main__":
    main()
