"""Loki really deletes log lines older than 7 days, and keeps the younger ones (real binary).

A real Loki runs the shipped deploy/monitoring/loki/loki.yml (with the test-machine changes
of real_loki.py: paths, ports) and, on top, only the timers and the accepted age listed in
TEST_ONLY below; retention_period, retention_enabled, delete_request_store, the schema and
its 24h index period are the shipped ones. docs/logs.md ("How retention deletes a line")
explains each step this test walks through and how long each takes with the shipped timers:

1. push one line per age (its own stream), 9 days to 0 days old;
2. POST /flush: the ingester writes each line's chunk to the chunk store and its index
   entry into the TSDB head;
3. stop Loki: the head is built into a TSDB index file and uploaded (a running Loki does
   this every 15 min, a fixed period);
4. start Loki again: after one compaction interval the compactor compacts the day tables,
   then the retention pass marks every chunk whose last line is more than retention_period
   old, removes it from the index at once, and the sweeper deletes the chunk file once the
   mark is older than retention_delete_delay (it looks every minute, a fixed period).

Lines older than 7 days must then be gone from queries and from disk; the others must stay.
"""
import base64
import json
import re
import sys
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_loki  # noqa: E402
from grafana_binaries import needs  # noqa: E402
from prom_helpers import wait_for  # noqa: E402

HOUR = 3600
DAY = 24 * HOUR
# Age -> older than 7 days (must be deleted)? Each line is alone in its chunk, and Loki
# expires a chunk by its last line, so the cut is sharp at 7 days.
AGES = {
    "9d": (9 * DAY, True),
    "8d": (8 * DAY, True),
    "7d1h": (7 * DAY + HOUR, True),
    "7d-1h": (7 * DAY - HOUR, False),
    "6d": (6 * DAY, False),
    "0d": (60, False),
}
JOB = "lookout-retention-test"

# Every change this test makes to the shipped loki.yml beyond real_loki.py's, and why.
# docs/logs.md lists the same keys.
TEST_ONLY = {
    # Shipped 10m: the compactor waits one interval after start, then compacts; the retention
    # pass runs right after the first compaction and then every interval + interval/2.
    ("compactor", "compaction_interval"): "10s",
    # Shipped 2h: how long a marked chunk waits before the sweeper deletes its file.
    ("compactor", "retention_delete_delay"): "5s",
    # Shipped 168h: Loki refuses lines older than this, and the test pushes 9-day-old ones.
    ("limits_config", "reject_old_samples_max_age"): "240h",
    # Shipped default 5m: how often the querier reloads the compacted index it has downloaded.
    ("storage_config", "tsdb_shipper", "resync_interval"): "10s",
    # Shipped default 5m: with 3 x resync_interval, how long Loki still reads its own uploaded
    # index files (which still list the deleted chunk) besides the compacted index.
    ("storage_config", "index_cache_validity"): "5s",
}
SHIPPED_RETENTION = ("168h", True)   # what test_loki.py asserts; here it is only left alone


def config_for_test(volume: Path) -> tuple[dict, int]:
    config, port = real_loki.config_for(volume)
    for path, value in TEST_ONLY.items():
        node = config
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return config, port


def push(base: str, now: int) -> None:
    streams = [{"stream": {"job": JOB, "age": name},
                "values": [[str((now - age) * 10**9), f"line {name} old"]]}
               for name, (age, _) in AGES.items()]
    answer = requests.post(base + "/loki/api/v1/push", data=json.dumps({"streams": streams}),
                           headers={"Content-Type": "application/json"}, timeout=10)
    assert answer.status_code == 204, answer.text


def lines(base: str, name: str, now: int) -> list[str] | None:
    """The lines of stream `name` around its timestamp; None while Loki answers with an error
    (a query can fail for a moment when an index still lists a chunk the sweeper deleted)."""
    at = now - AGES[name][0]
    answer = requests.get(base + "/loki/api/v1/query_range", timeout=30, params={
        "query": f'{{job="{JOB}",age="{name}"}}', "start": str((at - 60) * 10**9),
        "end": str((at + 60) * 10**9), "limit": "10", "direction": "forward"})
    if answer.status_code != 200:
        return None
    return [v[1] for s in answer.json()["data"]["result"] for v in s["values"]]


def present(base: str, now: int) -> set[str] | None:
    found = {}
    for name in AGES:
        found[name] = lines(base, name, now)
        if found[name] is None:
            return None
    return {name for name, got in found.items() if got == [f"line {name} old"]}


def chunk_files(volume: Path, now: int) -> set[str]:
    """The ages whose chunk file is on disk. The filesystem store keeps a chunk (schema v13) in
    chunks/<tenant>/<stream fingerprint>/<base64 of `<from>:<through>:<checksum>`, in hex ms>."""
    found = set()
    tenant = volume / "chunks" / "fake"
    for path in tenant.rglob("*") if tenant.exists() else []:
        try:
            key = base64.b64decode(path.name, validate=True).decode()
        except ValueError:
            continue
        match = re.fullmatch(r"([0-9a-f]+):([0-9a-f]+):[0-9a-f]+", key)
        if path.is_file() and match:
            through = int(match.group(2), 16) / 1000
            for name, (age, _) in AGES.items():
                if abs(through - (now - age)) < 5:
                    found.add(name)
    return found


@needs("loki", real_loki.LOKI)
def test_compactor_deletes_lines_older_than_7_days_and_keeps_younger(tmp_path):
    volume = tmp_path / "loki"
    config, port = config_for_test(volume)
    limits, compactor = config["limits_config"], config["compactor"]
    # The shipped retention, untouched (test_loki.py asserts the values themselves).
    assert limits["retention_period"] == limits["max_query_lookback"] == "168h"
    assert compactor["retention_enabled"] is True and compactor["delete_request_store"]
    now = int(time.time())
    everything = set(AGES)
    kept = {name for name, (_, expired) in AGES.items() if not expired}

    first = tmp_path / "first"
    first.mkdir()
    with real_loki.started(first, config=config, port=port) as base:
        push(base, now)
        assert requests.post(base + "/flush", timeout=10).status_code == 204
        wait_for(lambda: chunk_files(volume, now) == everything, 60, "every chunk flushed to disk")
        # Before any compactor pass, every line is on disk but queries show only the last
        # 7 days: max_query_lookback hides the rest (Loki 3.7's query engine itself would
        # still return them; docs/logs.md).
        assert wait_for(lambda: present(base, now), 30, "the flushed lines to be queryable") == kept

    second = tmp_path / "second"
    second.mkdir()
    restarted = time.monotonic()
    with real_loki.started(second, config=config, port=port) as base:
        wait_for(lambda: chunk_files(volume, now) == kept, 240, "the expired chunks to leave the disk")
        on_disk_gone = time.monotonic() - restarted
        # Nothing younger went, nothing older comes back, a little later too.
        time.sleep(5)
        assert present(base, now) == kept
        assert chunk_files(volume, now) == kept
        marked = metric(base, "loki_boltdb_shipper_retention_marker_count_total")
        swept = metric(base, 'loki_boltdb_shipper_retention_sweeper_chunk_deleted_duration_seconds_count{status="success"}')
    # The compactor's own counts (the metrics keep the old boltdb_shipper name on tsdb too).
    # Each expired chunk is marked twice here: it is listed in the index built at shutdown
    # and again in the one rebuilt from the head's WAL at start; the second delete finds
    # nothing (status "notfound") and does no harm.
    expired = len(everything - kept)
    assert marked >= expired and swept == expired, (marked, swept)
    print(f"expired chunks deleted from disk {on_disk_gone:.0f} s after the restart")


def metric(base: str, name: str) -> float:
    """Sum of the samples of `name` (optionally `name{label="value"}`: rows with that label)."""
    family, _, label = name.partition("{")
    label = label.rstrip("}")
    rows = requests.get(base + "/metrics", timeout=10).text.splitlines()
    return sum(float(r.rsplit(" ", 1)[1]) for r in rows
               if r.split("{")[0].split(" ")[0] == family and label in r)
