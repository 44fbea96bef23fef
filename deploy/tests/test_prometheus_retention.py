"""Prometheus really forgets metrics older than 7 days, and keeps the younger ones.

A real Prometheus (Debian's, as in CI) is started with the retention flags the prometheus
service has in deploy/monitoring/docker-compose.yml — read from that file, never copied —
over a data folder that promtool backfilled with one sample at each of the ages below. Opening
the TSDB applies retention (and Prometheus re-applies it every minute while it runs).

How Prometheus decides (tsdb/db.go BeyondTimeRetention, the same in 2.42 and 3.13): a whole
block is deleted when the newest block's max time minus its own max time exceeds the
retention. The reference is the newest *block*, not the clock. Here every sample is alone in
its 2 h block (the ages are at least 4 h apart), so a block's max time is its sample's time
+ 1 ms and the newest block holds the sample taken "now": the cut is sharp at 7 days.
docs/operations.md ("How long metrics are kept") says why, in production, a sample lives up
to about 9 h longer than 7 days.

The second case runs the same test with the retention flags removed from the compose command
(Prometheus then keeps 15 days): the 9-day-old sample survives, so this test fails if the
shipped flag is dropped or lengthened past 9 days.
"""
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prom_helpers import MONITORING, free_port, run, running, tool  # noqa: E402

COMPOSE = MONITORING / "docker-compose.yml"
HOUR = 3600
DAY = 24 * HOUR
# Age -> kept under 7 days of retention?
AGES = {
    "9d": (9 * DAY, False),
    "8d": (8 * DAY, False),
    "7d2h": (7 * DAY + 2 * HOUR, False),
    "7d-2h": (7 * DAY - 2 * HOUR, True),
    "6d": (6 * DAY, True),
    "0d": (0, True),
}
METRIC = "lookout_retention_probe"


def shipped_retention_flags() -> list[str]:
    """The --storage.tsdb.retention* flags of the compose prometheus service, as shipped."""
    command = yaml.safe_load(COMPOSE.read_text())["services"]["prometheus"]["command"]
    return [arg for arg in command if arg.startswith("--storage.tsdb.retention")]


def test_compose_sets_a_retention_flag():
    """Guards the case below: with no flag in compose, "shipped" would equal "removed"."""
    assert shipped_retention_flags(), "the prometheus service has no --storage.tsdb.retention* flag"


def backfill(data: Path, now: int) -> None:
    """One sample per age, as promtool-made TSDB blocks in `data` (one block per sample)."""
    lines = [f"# TYPE {METRIC} gauge"]
    # OpenMetrics wants the samples of a series in time order: oldest first.
    for name, (age, _) in sorted(AGES.items(), key=lambda item: -item[1][0]):
        lines.append(f'{METRIC}{{age="{name}"}} 1 {now - age}')
    lines.append("# EOF")
    source = data.parent / "samples.om"
    source.write_text("\n".join(lines) + "\n")
    result = run([tool("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)])
    assert result.returncode == 0, result.stdout + result.stderr


def blocks(data: Path) -> list[Path]:
    return sorted(p.parent for p in data.glob("*/meta.json"))


def ages_present(base: str) -> set[str]:
    """The ages whose sample a query over the last 10 days still returns."""
    answer = requests.get(f"{base}/api/v1/query", params={"query": f"{METRIC}[10d]"}, timeout=5).json()
    assert answer["status"] == "success", answer
    return {series["metric"]["age"] for series in answer["data"]["result"]}


@pytest.mark.parametrize("flags", ["shipped", "retention flags removed"])
def test_samples_older_than_the_retention_are_deleted_younger_ones_kept(tmp_path, flags):
    retention = shipped_retention_flags() if flags == "shipped" else []
    data = tmp_path / "data"
    now = int(time.time()) - 60
    backfill(data, now)
    assert len(blocks(data)) == len(AGES), "promtool should write one 2 h block per sample"

    config = tmp_path / "prometheus.yml"
    config.write_text("global: {}\n")  # no scrapes: the backfilled blocks are all there is
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [tool("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={data}",
           f"--web.listen-address=127.0.0.1:{port}", *retention]
    with running(cmd, f"{base}/-/ready", tmp_path / "prometheus.log"):
        present = ages_present(base)
        on_disk = len(blocks(data))

    if flags == "shipped":
        expected = {name for name, (_, kept) in AGES.items() if kept}
        assert present == expected, (retention, (tmp_path / "prometheus.log").read_text())
        # Gone from disk too, not only from queries: the old blocks' folders are deleted.
        assert on_disk == len(expected)
    else:
        # Prometheus's default (15 d) keeps everything: a missing flag is caught above.
        assert present == set(AGES)
        assert on_disk == len(AGES)
