"""Both Promtails over the same files, as deployed: the application host's (deploy/application/
promtail, pushing through the edge with the agents' login) and the monitoring host's NFS reader
(deploy/monitoring/promtail). Every nginx access line reaches Loki twice and must be counted
once, by count_over_time and in the recorded request rates, also after either Promtail was
stopped for a while and restarted (it then re-sends what it had not confirmed).

The nginx access log itself is the truth: each line carries its own time ($msec), which both
Promtails use as the entry's timestamp. Needs the real Loki and Promtail (skipped otherwise).
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

ACCESS = '{job="nginx", logtype="access"}'
RULES = Path(__file__).resolve().parents[2] / "deploy/monitoring/loki/rules/fake/nginx-access.yaml"
# Each evaluation at t counts the lines of (t - 60 - OFFSET, t - OFFSET].
OFFSET = int(re.search(r"\[1m\] offset (\d+)s", RULES.read_text()).group(1))
OUTAGE_SECONDS = 30
SETTLE_SECONDS = 20   # Promtail batches for up to 1 s; catching up after a restart takes longer


def line_times(lab) -> list[float]:
    path = lab.lab.run_dir / "demo-data" / "logs" / "nginx" / "access.log"
    times = []
    for line in path.read_text().splitlines():
        try:
            times.append(float(json.loads(line)["time"]))
        except (ValueError, KeyError):
            pass
    return times


def in_file(times: list[float], start: float, end: float) -> set[int]:
    """Lines of the file in the window, counted both ways a boundary can fall: (start, end]
    and [start, end). Loki's answer must be one of them."""
    return {sum(start < t <= end for t in times), sum(start <= t < end for t in times)}


def loki_count(start: int, end: int) -> int:
    query = f"sum(count_over_time({ACCESS}[{end - start}s]))"
    body = requests.get("http://loki:3100/loki/api/v1/query", timeout=30,
                        params={"query": query, "time": str(end)}).json()
    assert body["status"] == "success", body
    result = body["data"]["result"]
    return round(float(result[0]["value"][1])) if result else 0


def stored_copies(start: int, end: int, lab=None) -> str:
    """Why a count differs: what a log query returns for the window, grouped by line. A log
    query merges a stored copy with its twin (a metric query does not: docs/logs.md), so more
    counted than returned means copies stored twice; one line at two timestamps means the
    Promtails disagreed about its time."""
    body = requests.get("http://loki:3100/loki/api/v1/query_range", timeout=30,
                        params={"query": ACCESS, "start": str(start * 10**9), "end": str(end * 10**9),
                                "limit": "5000", "direction": "forward"}).json()
    copies: dict[str, list[str]] = {}
    for stream in body["data"]["result"]:
        for ts, line in stream["values"]:
            copies.setdefault(line, []).append(ts)
    same_time = sum(1 for t in copies.values() if len(t) > 1 and len(set(t)) == 1)
    other_time = sum(1 for t in copies.values() if len(set(t)) > 1)
    text = (f"a log query returns {sum(map(len, copies.values()))} entries for {len(copies)} distinct lines: "
            f"{same_time} stored twice with the same timestamp, {other_time} with different ones")
    if lab is not None:
        path = lab.lab.run_dir / "demo-data" / "logs" / "nginx" / "access.log"
        in_log = set(path.read_text().splitlines())
        strangers = [(copies[line], line) for line in copies if line not in in_log]
        if strangers:
            text += f"; {len(strangers)} not in the access log, e.g. {strangers[:3]}"
    return text


def outage(lab, service: str) -> tuple[float, float]:
    stopped = time.time()
    lab.lab_command("stop", service)
    time.sleep(OUTAGE_SECONDS)
    lab.lab_command("start", service)   # returns once its healthcheck passes
    return stopped, time.time()


def recorded_requests(lab, start: float, end: float) -> tuple[int, float, float] | None:
    """The lines the ruler's nginx:requests:rate1m samples account for, from its evaluations
    at t_1 … t_k (every minute, each over a minute ending OFFSET before it) from start on and
    no later than end: (count, t_1 - 60 - OFFSET, t_k - OFFSET), or None before two evaluations
    one minute apart are recorded."""
    span = int(end - start) + 120
    answer = requests.get("http://prometheus:9090/api/v1/query", timeout=10,
                          params={"query": f"nginx:requests:rate1m[{span}s]", "time": str(end)}).json()
    assert answer["status"] == "success", answer
    per_evaluation: dict[float, float] = {}
    for series in answer["data"]["result"]:
        for t, value in series["values"]:
            per_evaluation[float(t)] = per_evaluation.get(float(t), 0.0) + float(value) * 60
    evaluations = sorted(t for t in per_evaluation if start + 60 + OFFSET <= t <= end)
    # A ruler that falls behind (a loaded machine) skips an evaluation, and that minute is never
    # recorded: compare over the longest run of evaluations one minute apart.
    runs = [[]]
    for t in evaluations:
        if runs[-1] and round(t - runs[-1][-1], 3) != 60.0:
            runs.append([])
        runs[-1].append(t)
    evaluations = max(runs, key=len)
    if len(evaluations) < 2:
        return None
    return (round(sum(per_evaluation[t] for t in evaluations)),
            evaluations[0] - 60 - OFFSET, evaluations[-1] - OFFSET)


def test_each_access_line_is_counted_once_through_both_promtails_and_their_outages(lab):
    lab.require("loki")
    lab.require("promtail")
    lab.require("app-promtail")
    # Both roads deliver before anything is stopped.
    deadline = time.time() + 120
    while loki_count(int(time.time()) - 60, int(time.time())) == 0:
        assert time.time() < deadline, "no nginx access lines reached Loki"
        time.sleep(3)
    begin = time.time()
    time.sleep(SETTLE_SECONDS)
    outages = [outage(lab, "app-promtail"), outage(lab, "promtail")]
    time.sleep(SETTLE_SECONDS)
    end = int(time.time()) - SETTLE_SECONDS // 2
    start = int(begin)
    times = line_times(lab)
    for stopped, started in outages:   # the outages are not empty windows
        assert any(stopped < t < started for t in times), "no access line was written during an outage"

    counted = loki_count(start, end)
    expected = in_file(times, start, end)
    assert counted in expected, (f"count_over_time counted {counted} lines, the access log has {expected}; "
                                 f"{stored_copies(start, end, lab)}")

    # The recorded request rates: two consecutive evaluations from the window's start on. The
    # ruler runs on its own minute, so how many fall into the outage window varies; waiting
    # for two (each remote-written for 20 s) takes at most about three minutes. Lines written
    # after `end` are in the file too (re-read below), so later evaluations compare as well.
    deadline = time.time() + 240
    while (recorded := recorded_requests(lab, start, time.time() - 20)) is None:
        assert time.time() < deadline, f"no two consecutive ruler evaluations recorded since {start}"
        time.sleep(10)
    recorded, first, last = recorded
    recorded_expected = in_file(line_times(lab), first, last)
    assert recorded in recorded_expected, (f"nginx:requests:rate1m accounts for {recorded} lines between {first} "
                                           f"and {last}; the access log has {recorded_expected}")

    # Both roads went through the relay, and it is what left the second copies out.
    left_out = relay_counter("duplicate")
    assert left_out > 0, "the collector's relay left no copy out: do both Promtails push through it?"
    print(f"\ntwo Promtails, each stopped {OUTAGE_SECONDS} s in turn: count_over_time {counted} "
          f"(access log {sorted(expected)}); nginx:requests:rate1m {recorded} (access log "
          f"{sorted(recorded_expected)}); the relay forwarded {relay_counter('forwarded')} entries "
          f"and left out {left_out} copies since the lab started")


def relay_counter(outcome: str) -> int:
    text = requests.get("http://collector:8081/metrics", timeout=10).text
    found = [sample.value for family in text_string_to_metric_families(text) for sample in family.samples
             if sample.name == "lookout_relay_entries_total" and sample.labels.get("outcome") == outcome]
    assert found, f"the collector exposes no lookout_relay_entries_total{{outcome={outcome!r}}}"
    return round(found[0])
