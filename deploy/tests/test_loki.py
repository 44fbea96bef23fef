"""Loki's configuration (deploy/monitoring/loki/loki.yml), parsed and asserted.

These tests hold the settings the product depends on: 7-day retention that really deletes
(compactor), tsdb schema v13 with 24h index tables, everything written under the loki_data
volume, the ruler reading our rule files and remote-writing to Prometheus, and ingestion
limits that accept a line read twice. With a Grafana `loki` binary on PATH (it cannot be
installed here; CI skips those tests), the real Loki starts with the shipped file, writes
nothing outside its volume, and the compose healthcheck passes against it (the ruler's rules
are exercised in test_loki_rules.py).
"""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_loki  # noqa: E402
from grafana_binaries import needs  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
LOKI_DIR = REPO / "deploy/monitoring/loki"
CONFIG = yaml.safe_load((LOKI_DIR / "loki.yml").read_text())
# Compose mounts the loki_data volume here and deploy/monitoring/loki at /etc/loki.
VOLUME, CONFIG_MOUNT = "/loki", "/etc/loki"

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def seconds(duration):
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(int(n) * UNITS[u] for n, u in parts)


def size_bytes(value):
    m = re.fullmatch(r"(\d+)(KB|MB|GB)?", str(value))
    assert m, value
    return int(m.group(1)) * {None: 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[m.group(2)]


def test_single_binary_single_tenant():
    assert CONFIG["target"] == "all"
    assert CONFIG["auth_enabled"] is False  # tenant "fake"; the edge authenticates pushes
    assert CONFIG["server"]["http_listen_port"] == 3100


def test_tsdb_schema_v13_with_daily_index():
    (period,) = CONFIG["schema_config"]["configs"]
    assert period["store"] == "tsdb" and period["schema"] == "v13"
    assert period["object_store"] == "filesystem"
    assert period["index"]["period"] == "24h"  # retention works on daily tables


def test_seven_day_retention_is_applied_by_the_compactor():
    compactor = CONFIG["compactor"]
    assert compactor["retention_enabled"] is True
    assert compactor["delete_request_store"] == "filesystem"  # Loki >= 3.1 refuses to start without it
    assert seconds(CONFIG["limits_config"]["retention_period"]) == 7 * 86400


def test_queries_never_show_lines_older_than_the_retention():
    """The compactor deletes hours after a line turns 7 days old and Loki's query engine does
    not filter by retention (docs/logs.md): the lookback hides those lines meanwhile."""
    limits = CONFIG["limits_config"]
    assert seconds(limits["max_query_lookback"]) == seconds(limits["retention_period"])


def test_everything_loki_writes_is_on_the_volume():
    common, storage, ruler = CONFIG["common"], CONFIG["storage_config"], CONFIG["ruler"]
    chunks = common["storage"]["filesystem"]["chunks_directory"]
    written = [
        common["path_prefix"], chunks,
        storage["tsdb_shipper"]["active_index_directory"], storage["tsdb_shipper"]["cache_location"],
        storage["object_store"]["filesystem"]["dir"],
        CONFIG["compactor"]["working_directory"], ruler["rule_path"],
        # Defaults to ./ruler-wal in the working directory, not under path_prefix (measured
        # on 3.7.6): in the image that is /ruler-wal, which user 10001 cannot create.
        ruler["wal"]["dir"],
    ]
    assert all(p == VOLUME or p.startswith(VOLUME + "/") for p in written), written
    assert storage["object_store"]["filesystem"]["dir"] == chunks
    assert len(set(written)) == len(written) - 1  # only that one directory is shared


def test_ruler_reads_the_rule_files_in_this_repository():
    # Loki 3.7 reads rules from `ruler.storage`; a top-level `ruler_storage` is ignored
    # (without use_thanos_objstore) and Loki exits at start (measured on 3.7.6).
    assert "ruler_storage" not in CONFIG
    storage = CONFIG["ruler"]["storage"]
    assert storage["type"] == "local"
    directory = storage["local"]["directory"]
    assert directory.startswith(CONFIG_MOUNT + "/")
    in_repo = LOKI_DIR / directory[len(CONFIG_MOUNT) + 1:] / "fake"  # tenant "fake"
    assert sorted(in_repo.glob("*.yaml")), in_repo


def test_ruler_remote_writes_to_prometheus_every_minute():
    ruler = CONFIG["ruler"]
    assert seconds(ruler["evaluation_interval"]) == 60
    remote = ruler["remote_write"]
    assert remote["enabled"] is True
    assert "client" not in remote  # the singular form is rejected by current Loki
    assert remote["clients"] == {"prometheus": {"url": "http://prometheus:9090/api/v1/write"}}
    # Alerts come from Prometheus only (deploy/monitoring/prometheus/rules).
    assert "alertmanager_url" not in ruler


def test_ingestion_limits_fit_a_small_site_and_accept_a_line_read_twice():
    limits = CONFIG["limits_config"]
    assert 1 <= limits["ingestion_rate_mb"] <= limits["ingestion_burst_size_mb"] <= 32
    assert size_bytes(limits["per_stream_rate_limit"]) <= size_bytes(limits["per_stream_rate_limit_burst"])
    assert 64 * 1024 <= size_bytes(limits["max_line_size"]) <= 1024**2
    assert limits["max_line_size_truncate"] is True  # a huge traceback is cut, not lost
    assert 100 <= limits["max_global_streams_per_user"] <= 10000
    # The second Promtail may deliver a line late (outage, re-read): accept it as long as
    # the line is still within the retention.
    assert limits["reject_old_samples"] is True
    assert seconds(limits["reject_old_samples_max_age"]) >= seconds(limits["retention_period"])


def test_no_usage_reports_leave_the_stack():
    assert CONFIG["analytics"]["reporting_enabled"] is False


LOKI = real_loki.LOKI
COMPOSE = yaml.safe_load((REPO / "deploy/monitoring/docker-compose.yml").read_text())


@needs("loki", LOKI)
def test_loki_verify_config():
    out = subprocess.run([LOKI, f"-config.file={LOKI_DIR / 'loki.yml'}", "-verify-config"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def push(base, line="hello"):
    body = {"streams": [{"stream": {"job": "test"}, "values": [[str(time.time_ns()), line]]}]}
    answer = requests.post(base + "/loki/api/v1/push", data=json.dumps(body),
                           headers={"Content-Type": "application/json"}, timeout=10)
    assert answer.status_code == 204, answer.text


@needs("loki", LOKI)
def test_real_loki_starts_and_writes_only_on_its_volume(tmp_path):
    """The image runs Loki as user 10001 in WORKDIR /, which it cannot write: anything Loki
    puts in its working directory (the ruler WAL's default, ./ruler-wal) fails there."""
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    with real_loki.started(tmp_path, cwd=workdir) as base:
        push(base)
        deadline = time.time() + 90   # the ruler loads the tenant's rules within a minute
        while not (tmp_path / "loki" / "ruler-wal").exists() and time.time() < deadline:
            time.sleep(2)
        rules = requests.get(base + "/loki/api/v1/rules", timeout=10).text
        assert "record:" in rules
    assert (tmp_path / "loki" / "ruler-wal").is_dir(), "the ruler WAL is not on the volume"
    assert list(workdir.iterdir()) == [], f"written outside the volume: {list(workdir.iterdir())}"
    outside = {p.name for p in tmp_path.iterdir()} - {"loki", "loki.yml", "loki.log", "workdir"}
    assert not outside, outside


@needs("loki", LOKI)
def test_compose_healthcheck_passes_on_real_loki_and_fails_when_it_is_down(tmp_path):
    """The compose healthcheck, as written, with the image's binary path replaced by the real
    binary's and the port by the test's (nothing else changes)."""
    test = COMPOSE["services"]["loki"]["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "/usr/bin/loki", test   # no shell in the image
    config, port = real_loki.config_for(tmp_path / "loki")

    def healthcheck():
        argv = [LOKI] + [a.replace("127.0.0.1:3100", f"127.0.0.1:{port}") for a in test[2:]]
        return subprocess.run(argv, capture_output=True, text=True, timeout=30)

    with real_loki.started(tmp_path, config=config, port=port):
        done = healthcheck()
        assert done.returncode == 0, done.stdout + done.stderr
    done = healthcheck()
    assert done.returncode == 1, done.stdout + done.stderr
