#!/usr/bin/env python3
"""Agent mode under series churn: does memory stay flat however long it runs?

`vane run --agent` scrapes a churning fleet (the workspace's `fleet` binary: a share of every
target's series replaced every --churn-every) and remote-writes to a sink on 127.0.0.1 that
only counts bytes. Every --sample seconds the script reads the agent's RSS (/proc), its
active and created series, WAL bytes on disk and samples sent, and prints one row; at the end
a summary compares the RSS after the first truncations with the RSS at the end.

Usage: python3 benches/side_by_side/agent_soak.py [--minutes 10] [--targets 10]
       [--series-per-target 2000] [--interval 5s] [--churn-share 0.5] [--churn-every 30s]
       [--truncate-every 1m] [--min-time 1m] [--sample 30]
Needs: release builds of vane and fleet (cargo build --release -p daemon -p vane-benches).
Everything listens on 127.0.0.1 and stops by itself.
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from remote_write import metric_sum, serve_sink  # noqa: E402
from scrape_cpu import ROOT, free_port, wait_http  # noqa: E402


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def dir_bytes(path):
    return sum(p.stat().st_size for p in pathlib.Path(path).rglob("*") if p.is_file())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--targets", type=int, default=10)
    ap.add_argument("--series-per-target", type=int, default=2000)
    ap.add_argument("--interval", default="5s")
    ap.add_argument("--churn-share", type=float, default=0.5)
    ap.add_argument("--churn-every", default="30s")
    ap.add_argument("--truncate-every", default="1m")
    ap.add_argument("--min-time", default="1m")
    ap.add_argument("--sample", type=float, default=30)
    ap.add_argument("--vane", default=str(ROOT / "target/release/vane"))
    ap.add_argument("--fleet", default=str(ROOT / "target/release/fleet"))
    a = ap.parse_args()

    work = pathlib.Path(tempfile.mkdtemp(prefix="vane-agent-soak-"))
    fleet = subprocess.Popen(
        [a.fleet, "--targets", str(a.targets), "--series-per-target", str(a.series_per_target),
         "--interval", a.interval, "--churn-share", str(a.churn_share),
         "--churn-every", a.churn_every, "--exit-after", f"{int(a.minutes * 60) + 120}s"],
        stdout=subprocess.PIPE, text=True)
    info = json.loads(fleet.stdout.readline())
    sink, sink_stats = serve_sink()
    port = free_port()
    cfg = work / "agent.yml"
    targets = ", ".join(f"'{t}'" for t in info["targets"])
    cfg.write_text(
        f"global:\n  scrape_interval: {a.interval}\n"
        f"scrape_configs:\n  - job_name: fleet\n    static_configs: [{{targets: [{targets}]}}]\n"
        f"remote_write:\n  - url: http://127.0.0.1:{sink.server_address[1]}/api/v1/write\n")
    log = open(work / "vane.log", "w")
    vane = subprocess.Popen(
        [a.vane, "run", "--agent", f"--config.file={cfg}", f"--storage.agent.path={work / 'agent'}",
         f"--web.listen-address=127.0.0.1:{port}",
         f"--storage.agent.wal-truncate-frequency={a.truncate_every}",
         f"--storage.agent.retention.min-time={a.min_time}"],
        stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        wait_http(base + "/-/ready")
        start = time.time()
        end = start + a.minutes * 60
        print(f"{a.targets} targets x {a.series_per_target} series every {a.interval}, "
              f"{a.churn_share:.0%} replaced every {a.churn_every}; truncation every "
              f"{a.truncate_every}, min time {a.min_time}; {a.minutes:g} min")
        print(f"{'min':>6} {'RSS MiB':>8} {'active':>8} {'created':>9} {'WAL MiB':>8} {'sent':>11} {'sink MiB':>9}")
        while True:
            m = lambda n: metric_sum(base + "/metrics", n)  # noqa: E731
            row = {
                "minute": (time.time() - start) / 60,
                "rss_mib": rss_mib(vane.pid),
                "active": m("vane_agent_active_series"),
                "created": m("vane_agent_series_created_total"),
                "wal_mib": dir_bytes(work / "agent" / "wal") / 2**20,
                "sent": m("vane_remote_storage_samples_total"),
                "sink_mib": sink_stats()["bytes"] / 2**20,
            }
            rows.append(row)
            print(f"{row['minute']:6.1f} {row['rss_mib']:8.1f} {row['active']:8.0f} "
                  f"{row['created']:9.0f} {row['wal_mib']:8.1f} {row['sent']:11.0f} {row['sink_mib']:9.1f}",
                  flush=True)
            if time.time() >= end:
                break
            time.sleep(min(a.sample, max(0.0, end - time.time())))
    finally:
        vane.terminate()
        vane.wait(timeout=120)
        fleet.terminate()
        fleet.wait(timeout=30)
        sink.shutdown()
    # Steady state: from the third truncation on (the WAL has reached its working size).
    settle = 3 * parse_minutes(a.truncate_every) + parse_minutes(a.min_time)
    steady = [r for r in rows if r["minute"] >= settle] or rows[-1:]
    first, last = steady[0], rows[-1]
    peak = max(r["rss_mib"] for r in steady)
    print(f"\nseries created {last['created']:.0f}, active at the end {last['active']:.0f}; "
          f"RSS from minute {first['minute']:.1f} to the end: {first['rss_mib']:.1f} -> "
          f"{last['rss_mib']:.1f} MiB (peak {peak:.1f}), "
          f"{(last['rss_mib'] - first['rss_mib']) / max(first['rss_mib'], 1e-9):+.1%}; "
          f"WAL {first['wal_mib']:.1f} -> {last['wal_mib']:.1f} MiB")
    print(f"work directory: {work}")


def parse_minutes(d):
    units = {"s": 1 / 60, "m": 1, "h": 60}
    return float(d[:-1]) * units[d[-1]]


if __name__ == "__main__":
    main()
