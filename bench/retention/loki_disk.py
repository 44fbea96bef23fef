#!/usr/bin/env python3
"""How much disk Loki's volume takes for a site's nginx access log: loads the dashboard
benchmark's generated lines into a real Loki started from the shipped loki.yml, flushes,
stops it and prints the size of each folder of the volume.

    PATH=/opt/lokibuild/bin:$PATH bench/retention/loki_disk.py --days 1 --rate 10
    bench/retention/loki_disk.py --days 1 --rate 10 --lines /var/tmp/bench-1d/access.log

Needs Grafana's `loki` on PATH and bench/dashboards/generate.py (branch dbench). The lines go
in as Promtail sends them: one stream {job="nginx", logtype="access", site="application"},
the timestamp from the line's `time` field. Changes to loki.yml, for the load only (the
stored bytes do not depend on them): the ingestion limits are lifted (a day is pushed in
minutes, not in a day) and reject_old_samples_max_age is 192h when --days is 7 or more, so
the oldest lines are not refused for the minutes the load takes. Everything else (chunk
encoding and sizes, schema, index period, retention) is as shipped.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "deploy" / "tests"))
import real_loki  # noqa: E402

GENERATOR = REPO / "bench" / "dashboards" / "generate.py"
LABELS = {"job": "nginx", "logtype": "access", "site": "application"}
BATCH = 5000


def du(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def load_config(volume: Path, days: float) -> tuple[dict, int]:
    config, port = real_loki.config_for(volume)
    limits = config["limits_config"]
    limits.update(ingestion_rate_mb=256, ingestion_burst_size_mb=512,
                  per_stream_rate_limit="256MB", per_stream_rate_limit_burst="512MB")
    if days >= 7:
        limits["reject_old_samples_max_age"] = "192h"
    return config, port


def push_all(base: str, lines_file: Path) -> tuple[int, int]:
    """Pushes every line; returns (lines, bytes of line text)."""
    count = size = 0
    values = []

    def send():
        body = json.dumps({"streams": [{"stream": LABELS, "values": values}]})
        answer = requests.post(base + "/loki/api/v1/push", data=body, timeout=120,
                               headers={"Content-Type": "application/json"})
        if answer.status_code != 204:
            sys.exit(f"push refused: {answer.status_code} {answer.text[:300]}")

    with lines_file.open() as f:
        for line in f:
            line = line.rstrip("\n")
            seconds = json.loads(line)["time"]
            whole, _, frac = seconds.partition(".")
            values.append([whole + frac.ljust(9, "0")[:9], line])
            count += 1
            size += len(line.encode())
            if len(values) == BATCH:
                send()
                values = []
        if values:
            send()
    return count, size


def metric(base: str, name: str) -> float:
    total = 0.0
    for row in requests.get(base + "/metrics", timeout=10).text.splitlines():
        if row.startswith(name + " ") or row.startswith(name + "{"):
            total += float(row.rsplit(" ", 1)[1])
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=float, required=True)
    ap.add_argument("--rate", type=float, required=True, help="mean requests per second")
    ap.add_argument("--paths", type=int, default=10000)
    ap.add_argument("--lines", type=Path, help="an access.log generate.py already wrote")
    ap.add_argument("--keep", type=Path, help="folder for the run (default: a temporary one)")
    args = ap.parse_args()
    if not real_loki.LOKI:
        sys.exit("no Grafana loki on PATH (PATH=/opt/lokibuild/bin:$PATH)")

    work = args.keep or Path(tempfile.mkdtemp(prefix="loki-disk-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    lines_file = args.lines
    if lines_file is None:
        if not GENERATOR.exists():
            sys.exit(f"{GENERATOR} is missing (git pull --no-edit /work/wt/dbench dbench)")
        subprocess.run([sys.executable, str(GENERATOR), "--days", str(args.days), "--rate", str(args.rate),
                        "--paths", str(args.paths), "--out", str(work / "lines")], check=True)
        lines_file = work / "lines" / "access.log"

    volume = work / "loki"
    config, port = load_config(volume, args.days)
    started = time.monotonic()
    with real_loki.started(work, config=config, port=port) as base:
        count, size = push_all(base, lines_file)
        pushed = time.monotonic() - started
        requests.post(base + "/flush", timeout=10)
        deadline = time.monotonic() + 600
        while metric(base, "loki_ingester_memory_chunks") > 0 and time.monotonic() < deadline:
            time.sleep(2)
        chunks_flushed = metric(base, "loki_ingester_chunks_flushed_total")
    # Stopped: the TSDB head is built into an index file and uploaded.
    chunks = du(volume / "chunks" / "fake")
    index = du(volume / "chunks" / "index")
    folders = {p.name: du(p) for p in sorted(volume.iterdir()) if p.is_dir()}
    total = du(volume)

    print(f"loki_disk.py: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{platform.node()}, {os.cpu_count()} cores, {platform.machine()}, "
          f"loki {subprocess.run([real_loki.LOKI, '-version'], capture_output=True, text=True).stdout.split()[2]}")
    print(f"  {count:,} lines, {mib(size)} of line text ({args.days:g} days at {args.rate:g} req/s), "
          f"pushed in {pushed:.0f} s; {chunks_flushed:.0f} chunks flushed")
    print(f"  chunks {mib(chunks)} ({size / max(chunks, 1):.1f}x smaller than the text), index {mib(index)}")
    print("  volume folders: " + ", ".join(f"{name} {mib(n)}" for name, n in folders.items()))
    print(f"  volume total {mib(total)}; the WAL ({mib(folders.get('wal', 0))}) holds what was pushed since "
          f"its last checkpoint (every 5 min): a load of minutes leaves all of it there, a live site "
          f"only its last minutes")
    print(f"  chunks and index per day of logs: {mib((chunks + index) / args.days)}; "
          f"for 7 days: {mib((chunks + index) / args.days * 7)}")
    print(f"  run folder: {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
