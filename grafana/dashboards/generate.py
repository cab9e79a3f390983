#!/usr/bin/env python3
"""Writes the dashboards in this folder (edit the panels here, then run it).

Every panel query uses the provisioned data source (uid `vane`), `$__rate_interval` for
rates and the dashboard's variables; tests/integration/grafana.rs runs each query against a
live Vane and checks that it parses and returns data.
"""

import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
DS = {"type": "prometheus", "uid": "vane"}


def panel(title, exprs, unit="short", x=0, y=0, w=12, h=8, legend=None):
    return {
        "type": "timeseries",
        "title": title,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [
            {
                "datasource": DS,
                "refId": chr(ord("A") + i),
                "expr": e,
                "legendFormat": (legend[i] if legend else "__auto"),
                "range": True,
            }
            for i, e in enumerate(exprs)
        ],
    }


def variable(name, query, label):
    return {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DS,
        "query": {"query": query, "refId": "var"},
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".+",
        "current": {"selected": True, "text": "All", "value": "$__all"},
    }


def dashboard(uid, title, panels, variables):
    # Two panels per row, in order.
    for i, p in enumerate(panels):
        p["gridPos"].update({"x": (i % 2) * 12, "y": (i // 2) * 8})
        p["id"] = i + 1
    return {
        "uid": uid,
        "title": title,
        "tags": ["vane"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "templating": {"list": variables},
        "panels": panels,
    }


SEL = 'instance=~"$instance"'
RATE = "$__rate_interval"

health = dashboard(
    "vane-health",
    "Vane: health",
    [
        panel("Samples ingested / s",
              [f"sum by (instance) (rate(vane_tsdb_head_samples_appended_total{{{SEL}}}[{RATE}]))"],
              "short"),
        panel("Head series", [f"vane_tsdb_head_series{{{SEL}}}"]),
        panel("WAL: size and bytes written / s",
              [f"vane_tsdb_wal_storage_size_bytes{{{SEL}}}",
               f"rate(vane_tsdb_wal_bytes_written_total{{{SEL}}}[{RATE}])"],
              "bytes", legend=["size {{instance}}", "written/s {{instance}}"]),
        panel("Compactions / s (and failures)",
              [f"rate(vane_tsdb_compactions_total{{{SEL}}}[{RATE}])",
               f"rate(vane_tsdb_compactions_failed_total{{{SEL}}}[{RATE}])"],
              legend=["compactions {{instance}}", "failed {{instance}}"]),
        panel("Scrape failures / s by reason",
              [f"sum by (reason) (rate(vane_scrape_failures_total{{{SEL}}}[{RATE}]))"],
              legend=["{{reason}}"]),
        panel("Query latency (p50, p99)",
              [f"histogram_quantile(0.5, sum by (le, endpoint) (rate(vane_api_query_duration_seconds_bucket{{{SEL}}}[{RATE}])))",
               f"histogram_quantile(0.99, sum by (le, endpoint) (rate(vane_api_query_duration_seconds_bucket{{{SEL}}}[{RATE}])))"],
              "s", legend=["p50 {{endpoint}}", "p99 {{endpoint}}"]),
        panel("Queries / s by result",
              [f"sum by (endpoint, result) (rate(vane_api_queries_total{{{SEL}}}[{RATE}]))"],
              legend=["{{endpoint}} {{result}}"]),
        panel("Storage: blocks and head chunks",
              [f"vane_tsdb_storage_blocks_bytes{{{SEL}}}",
               f"vane_tsdb_head_chunks_size_bytes{{{SEL}}}"],
              "bytes", legend=["blocks {{instance}}", "head chunks {{instance}}"]),
        panel("Memory and CPU",
              [f"process_resident_memory_bytes{{{SEL}}}",
               f"rate(process_cpu_seconds_total{{{SEL}}}[{RATE}])"],
              "short", legend=["RSS {{instance}}", "CPU cores {{instance}}"]),
        panel("Active targets", [f"vane_scrape_targets_active{{{SEL}}}"]),
    ],
    [variable("instance", "label_values(vane_build_info, instance)", "Vane")],
)

JOB = 'job=~"$job"'
targets = dashboard(
    "vane-targets",
    "Vane: targets",
    [
        panel("Targets up by job", [f"sum by (job) (up{{{JOB}}})"], legend=["{{job}}"]),
        panel("Targets down by job", [f"sum by (job) (1 - up{{{JOB}}})"], legend=["{{job}}"]),
        panel("Scrape duration", [f"scrape_duration_seconds{{{JOB}}}"], "s",
              legend=["{{job}} {{instance}}"]),
        panel("Samples scraped", [f"scrape_samples_scraped{{{JOB}}}"],
              legend=["{{job}} {{instance}}"]),
        panel("Series added per scrape", [f"sum by (job) (scrape_series_added{{{JOB}}})"],
              legend=["{{job}}"]),
        panel("Samples after relabeling", [f"sum by (job) (scrape_samples_post_metric_relabeling{{{JOB}}})"],
              legend=["{{job}}"]),
    ],
    [variable("job", "label_values(up, job)", "Job")],
)

NODE = 'instance=~"$instance"'
node = dashboard(
    "vane-node",
    "Node exporter hosts",
    [
        panel("CPU busy",
              [f"1 - avg by (instance) (rate(node_cpu_seconds_total{{mode=\"idle\", {NODE}}}[{RATE}]))"],
              "percentunit", legend=["{{instance}}"]),
        panel("Memory used",
              [f"1 - node_memory_MemAvailable_bytes{{{NODE}}} / node_memory_MemTotal_bytes{{{NODE}}}"],
              "percentunit", legend=["{{instance}}"]),
        panel("Load", [f"node_load1{{{NODE}}}", f"node_load5{{{NODE}}}"],
              legend=["1m {{instance}}", "5m {{instance}}"]),
        panel("Disk I/O",
              [f"sum by (instance) (rate(node_disk_read_bytes_total{{{NODE}}}[{RATE}]))",
               f"sum by (instance) (rate(node_disk_written_bytes_total{{{NODE}}}[{RATE}]))"],
              "Bps", legend=["read {{instance}}", "written {{instance}}"]),
        panel("Network",
              [f"sum by (instance) (rate(node_network_receive_bytes_total{{device!=\"lo\", {NODE}}}[{RATE}]))",
               f"sum by (instance) (rate(node_network_transmit_bytes_total{{device!=\"lo\", {NODE}}}[{RATE}]))"],
              "Bps", legend=["in {{instance}}", "out {{instance}}"]),
        panel("Filesystem used",
              [f"1 - node_filesystem_avail_bytes{{fstype!~\"tmpfs|ramfs\", {NODE}}} / node_filesystem_size_bytes{{fstype!~\"tmpfs|ramfs\", {NODE}}}"],
              "percentunit", legend=["{{instance}} {{mountpoint}}"]),
    ],
    [variable("instance", "label_values(node_uname_info, instance)", "Host")],
)

# The autoscalers: the decision series the controller writes into the store at every
# evaluation (labelled `autoscaler`), and its counters on Vane's /metrics.
AS = 'autoscaler=~"$autoscaler"'
autoscalers = dashboard(
    "vane-autoscalers",
    "Vane: autoscalers",
    [
        panel("Desired and current replicas",
              [f"vane_autoscaler_desired_replicas{{{AS}}}",
               f"vane_autoscaler_current_replicas{{{AS}}}"],
              legend=["desired {{autoscaler}}", "current {{autoscaler}}"]),
        panel("Signal", [f"vane_autoscaler_signal{{{AS}}}"], legend=["{{autoscaler}}"]),
        panel("Signal per desired replica",
              [f"vane_autoscaler_signal{{{AS}}} / vane_autoscaler_desired_replicas{{{AS}}}"],
              legend=["{{autoscaler}}"]),
        panel("Panic mode (concurrency policy)", [f"vane_autoscaler_panic_mode{{{AS}}}"],
              legend=["{{autoscaler}}"]),
        panel("Decisions / s by reason",
              [f"sum by (autoscaler, reason) (rate(vane_autoscaler_decisions_total{{{AS}}}[{RATE}]))"],
              legend=["{{autoscaler}} {{reason}}"]),
        panel("Replica count changes (5m)",
              [f"changes(vane_autoscaler_desired_replicas{{{AS}}}[5m])"],
              legend=["{{autoscaler}}"]),
        panel("Pushes to targets / s by result",
              [f"sum by (autoscaler, result) (rate(vane_autoscaler_target_requests_total{{{AS}}}[{RATE}]))"],
              legend=["{{autoscaler}} {{result}}"]),
        panel("Target failures / s (retries and refusals)",
              [f"sum by (autoscaler, result) (rate(vane_autoscaler_target_requests_total{{result!=\"ok\", {AS}}}[{RATE}]))"],
              legend=["{{autoscaler}} {{result}}"]),
    ],
    [variable("autoscaler", "label_values(vane_autoscaler_desired_replicas, autoscaler)",
              "Autoscaler")],
)

for name, d in [("vane-health.json", health), ("vane-targets.json", targets),
                ("node-exporter.json", node), ("vane-autoscalers.json", autoscalers)]:
    (HERE / name).write_text(json.dumps(d, indent=2) + "\n")
    print("wrote", name)
