"""Real services for the dashboard tests: a Prometheus backfilled with fixture series, and
Loki when it is installed. Each runs on a free port with a temporary directory and is
stopped when the `with` block ends.
"""
import contextlib
import json
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from prom_helpers import free_port, running


def fixture_series(end):
    """Series as the exporters, the collector and the recording rules produce them (names
    and labels from docs/signals.md and the exporters' own metric names). Yields
    (metric, labels, value at step i)."""
    site = {"site": "application"}
    probe = {**site, "instance": "http://application:80", "job": "blackbox-http"}
    yield "up", {"job": "prometheus", "instance": "localhost:9090"}, lambda i: 1
    yield "probe_success", probe, lambda i: 0 if i % 20 == 0 else 1
    yield "probe_http_status_code", probe, lambda i: 500 if i % 20 == 0 else 200
    yield "probe_duration_seconds", probe, lambda i: 0.2
    yield "probe_dns_lookup_time_seconds", probe, lambda i: 0.01
    yield "probe_ssl_earliest_cert_expiry", probe, lambda i: end + 30 * 86400
    for phase in ("resolve", "connect", "tls", "processing", "transfer"):
        yield "probe_http_duration_seconds", {**probe, "phase": phase}, lambda i: 0.05
    yield "probe:duration_seconds:p95_10m", {**site, "instance": probe["instance"]}, lambda i: 0.3
    yield "ALERTS", {"alertname": "LookoutSiteDown", "alertstate": "firing",
                     "severity": "critical", **site}, lambda i: 1
    for status_class in ("2xx", "3xx", "4xx", "5xx"):
        for method in ("GET", "POST"):
            for route in ("/", "/api/items/:id"):
                yield "nginx:requests:rate1m", {**site, "status_class": status_class,
                                                "method": method, "route": route}, lambda i: 2
    for q in ("p50", "p95", "p99"):
        yield f"nginx:request_time_seconds:{q}_5m", site, lambda i: 0.4
    for method in ("GET", "POST"):
        yield "nginx:request_time_seconds:p95_5m_by_route", {**site, "method": method,
                                                             "route": "/api/items/:id"}, lambda i: 1.2
    for method in ("GET", "POST"):
        yield "nginx:slow_requests:rate1m", {**site, "method": method,
                                             "route": "/api/items/:id"}, lambda i: 0.1
    for status, route in (("404", ":unmatched"), ("500", "/api/items/:id")):
        yield "nginx:error_requests:rate1m", {**site, "status": status, "method": "GET",
                                              "route": route}, lambda i: 0.5
    yield "site:http_errors:ratio_rate5m", site, lambda i: 0.03
    for metric in ("ttfb_seconds", "dom_content_loaded_seconds", "load_seconds",
                   "lcp_seconds", "inp_seconds", "cls"):
        family = f"lookout_frontend_{metric}"
        for le, share in (("0.1", 0.1), ("0.5", 0.4), ("1", 0.7), ("2.5", 0.9), ("5", 0.97),
                          ("+Inf", 1.0)):
            yield f"{family}_bucket", {"le": le}, lambda i, s=share: round(10 * i * s)
        yield f"{family}_count", {}, lambda i: 10 * i
        yield f"{family}_sum", {}, lambda i: 9 * i
    for kind in ("error", "resource", "unhandledrejection"):
        yield "lookout_frontend_js_errors_total", {"type": kind}, lambda i: i
    for counter in ("events_accepted_total", "rate_limited_total", "events_forwarded_total",
                    "forward_retries_total", "events_dropped_total"):
        yield f"lookout_collector_{counter}", {}, lambda i: 3 * i
    yield "lookout_collector_events_rejected_total", {"reason": "too_large"}, lambda i: i
    yield "lookout_collector_queue_depth", {}, lambda i: 4
    node = {"job": "node-exporter", "instance": "node-exporter:9100"}
    for mode in ("idle", "user", "system", "iowait"):
        yield "node_cpu_seconds_total", {**node, "cpu": "0", "mode": mode}, lambda i: 3 * i
    for metric, value in (("MemTotal", 8e9), ("MemAvailable", 5e9), ("SwapTotal", 1e9),
                          ("SwapFree", 9e8)):
        yield f"node_memory_{metric}_bytes", node, lambda i, v=value: v
    disk = {**node, "device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}
    yield "node_filesystem_size_bytes", disk, lambda i: 1e11
    yield "node_filesystem_avail_bytes", disk, lambda i: 4e10
    yield "node_load1", node, lambda i: 0.5
    for direction in ("read", "written"):
        yield f"node_disk_{direction}_bytes_total", {**node, "device": "sda"}, lambda i: 1e5 * i
    for direction in ("receive", "transmit"):
        yield f"node_network_{direction}_bytes_total", {**node, "device": "eth0"}, \
            lambda i: 1e4 * i
    for name in ("", "grafana", "prometheus"):  # name="" is the host-wide cgroup
        container = {"job": "cadvisor", "id": f"/docker/{name or 'root'}", "name": name}
        yield "container_cpu_usage_seconds_total", container, lambda i: 2 * i
        yield "container_memory_working_set_bytes", container, lambda i: 2e8
        yield "container_fs_usage_bytes", {**container, "device": "/dev/sda1"}, lambda i: 3e8
        for metric in ("fs_reads_bytes_total", "fs_writes_bytes_total"):
            yield f"container_{metric}", {**container, "device": "/dev/sda1"}, lambda i: 1e4 * i
        for direction in ("receive", "transmit"):
            yield f"container_network_{direction}_bytes_total", {**container,
                                                                 "interface": "eth0"}, \
                lambda i: 1e3 * i




# 75 minutes of samples every 15 s: every window up to $__range (1h) holds data, and a rate()
# over 2m sees several samples.
STEP_SECONDS, STEPS = 15, 300


def openmetrics(end):
    lines = []
    for metric, labels, value in fixture_series(end):
        label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
        for i in range(STEPS):
            timestamp = end - (STEPS - 1 - i) * STEP_SECONDS
            lines.append(f"{metric}{{{label_text}}} {value(i)} {timestamp}")
    return "\n".join(lines) + "\n# EOF\n"


def http_json(url, timeout=10):
    """(status, parsed JSON body) for a GET, also for 4xx/5xx answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body or b"{}")
        except ValueError:
            return error.code, {"error": body.decode(errors="replace")}


@contextlib.contextmanager
def backfilled_prometheus(series_text=None):
    """Yields (base URL, evaluation time) of a Prometheus holding the fixture series, or the
    OpenMetrics text series_text(end) returns."""
    with tempfile.TemporaryDirectory(prefix="lookout-dashboards-") as tmp:
        tmp = Path(tmp)
        end = int(time.time()) // 60 * 60 - 120  # in the past: backfilled blocks only
        (tmp / "series.om").write_text((series_text or openmetrics)(end))
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics",
                        str(tmp / "series.om"), str(tmp / "data")],
                       check=True, capture_output=True, timeout=120)
        (tmp / "prometheus.yml").write_text("global:\n  scrape_interval: 30s\n")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = ["prometheus", f"--config.file={tmp / 'prometheus.yml'}",
                   f"--storage.tsdb.path={tmp / 'data'}",
                   f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
        with running(command, f"{base}/-/ready", tmp / "prometheus.log", timeout=30):
            yield base, end


@contextlib.contextmanager
def loki_server():
    """Yields the base URL of a throw-away single-binary Loki (only its parser is used).
    Written from Loki's docs; it runs only where a loki binary is installed."""
    with tempfile.TemporaryDirectory(prefix="lookout-loki-") as tmp:
        port = free_port()
        config = Path(tmp) / "loki.yaml"
        config.write_text(yaml.safe_dump({
            "auth_enabled": False,
            "server": {"http_listen_address": "127.0.0.1", "http_listen_port": port,
                       "grpc_listen_port": free_port()},
            "common": {"path_prefix": tmp, "replication_factor": 1,
                       "ring": {"kvstore": {"store": "inmemory"}},
                       "storage": {"filesystem": {"chunks_directory": f"{tmp}/chunks",
                                                  "rules_directory": f"{tmp}/rules"}}},
            "storage_config": {"object_store": {"filesystem": {"dir": f"{tmp}/objects"}}},
            "schema_config": {"configs": [{"from": "2024-01-01", "store": "tsdb",
                                           "object_store": "filesystem", "schema": "v13",
                                           "index": {"prefix": "index_", "period": "24h"}}]},
        }))
        base = f"http://127.0.0.1:{port}"
        with running(["loki", f"-config.file={config}"], f"{base}/ready",
                     Path(tmp) / "loki.log", timeout=60):
            yield base
