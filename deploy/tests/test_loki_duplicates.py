"""What Loki does with the second copy of a line, which both Promtails deliver (docs/logs.md,
"When a line is stored twice anyway"). Run on the real Loki with the shipped loki.yml; skipped
with a one-line reason where no Grafana `loki` is on PATH.

The ingester drops a copy whose twin (same stream, timestamp and text) is still in the stream's
head block. Once the head block has been cut (`chunk_block_size`, 256 KB of the stream's lines
by default) a copy is stored again: log queries still show it once, metric queries over the
lines count it twice. These tests pin that behaviour, so a Loki upgrade that changes it fails
here and the docs get corrected.
"""
import json
import sys
import time
import uuid
from pathlib import Path

import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_loki  # noqa: E402
from grafana_binaries import needs  # noqa: E402

STREAM = {"job": "nginx", "logtype": "access", "site": "application"}
SELECTOR = '{job="nginx", logtype="access"}'
BLOCK_BYTES = 256 * 1024   # Loki's default chunk_block_size; loki.yml keeps it


def access_line(size: int = 400) -> str:
    return json.dumps({"request_id": uuid.uuid4().hex, "method": "GET", "path": "/api/items/1",
                       "status": "200", "request_time": "0.010", "pad": "x" * size})


def push(base: str, entries: list[list[str]]) -> None:
    body = {"streams": [{"stream": STREAM, "values": entries}]}
    answer = requests.post(base + "/loki/api/v1/push", data=json.dumps(body), timeout=30,
                           headers={"Content-Type": "application/json"})
    assert answer.status_code == 204, answer.text


def counted(base: str, line: str) -> int:
    """count_over_time of the lines equal to `line` over the last 10 minutes."""
    query = f"sum(count_over_time({SELECTOR} |= `{line}` [10m]))"
    body = requests.get(base + "/loki/api/v1/query", timeout=30,
                        params={"query": query, "time": str(time.time())}).json()
    assert body["status"] == "success", body
    result = body["data"]["result"]
    return int(result[0]["value"][1]) if result else 0


def shown(base: str, line: str, since_ns: int) -> int:
    """Entries a log query (what a Grafana log panel sends) returns for `line`."""
    body = requests.get(base + "/loki/api/v1/query_range", timeout=30,
                        params={"query": f"{SELECTOR} |= `{line}`", "start": str(since_ns),
                                "end": str(time.time_ns()), "limit": "100"}).json()
    assert body["status"] == "success", body
    return sum(len(stream["values"]) for stream in body["data"]["result"])


def test_the_shipped_config_keeps_lokis_block_size():
    """The tests below and docs/logs.md assume Loki's default head block size."""
    shipped = yaml.safe_load(real_loki.SHIPPED.read_text())
    assert "chunk_block_size" not in (shipped.get("ingester") or {})


@needs("loki", real_loki.LOKI)
def test_a_copy_arriving_while_its_twin_is_in_the_head_block_is_dropped(tmp_path):
    with real_loki.started(tmp_path) as base:
        now = time.time_ns()
        line = access_line()
        push(base, [[str(now), line]])
        push(base, [[str(now), line]])            # the other road, a second later
        assert counted(base, line) == 1
        assert shown(base, line, now - 10**9) == 1


@needs("loki", real_loki.LOKI)
def test_a_copy_arriving_after_its_twins_block_was_cut_is_counted_twice_but_shown_once(tmp_path):
    with real_loki.started(tmp_path) as base:
        now = time.time_ns() - 120 * 10**9
        line = access_line()
        push(base, [[str(now), line]])
        # More than one block of the stream's later lines: the head block holding the twin is cut.
        fillers = [[str(now + (i + 1) * 10**8), access_line()] for i in range(BLOCK_BYTES // 400 + 100)]
        push(base, fillers)
        push(base, [[str(now), line]])            # the late road catching up
        assert shown(base, line, now - 10**9) == 1, "log queries merge the two copies"
        assert counted(base, line) == 2, "metric queries count both copies"
