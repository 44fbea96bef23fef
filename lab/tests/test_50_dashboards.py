"""Every PromQL query of every provisioned dashboard, variables substituted as Grafana would
(deploy/tests/dashboard_queries.py), runs without error against the lab's Prometheus."""
import sys
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "deploy" / "tests"))
try:
    from dashboard_queries import prometheus_queries
except ImportError:  # the Grafana deliverable provides it
    prometheus_queries = None


def test_every_dashboard_promql_query_runs(lab):
    lab.require("prometheus")
    if prometheus_queries is None:
        pytest.skip("deploy/tests/dashboard_queries.py is missing")
    queries = prometheus_queries({"site": "application"})
    assert len(queries) > 20
    # Run alone right after lab/up, Prometheus has no samples yet: give it a minute to fill.
    deadline = time.time() + 90
    while True:
        failures, with_data = run_all(queries)
        assert not failures, "\n".join(failures)
        if with_data >= len(queries) // 4 or time.time() > deadline:
            break
        time.sleep(10)
    # Not only valid but fed: the lab's probes, exporters and collector feed many panels.
    assert with_data >= len(queries) // 4, f"only {with_data} of {len(queries)} queries returned data"


def run_all(queries) -> tuple[list[str], int]:
    failures, with_data = [], 0
    for dashboard, panel, expr in queries:
        body = requests.get("http://prometheus:9090/api/v1/query", params={"query": expr}, timeout=10).json()
        if body.get("status") != "success":
            failures.append(f"{dashboard} / {panel}: {body.get('error')}\n    {expr}")
        elif body["data"]["result"]:
            with_data += 1
    return failures, with_data


def test_every_dashboard_logql_query_runs_on_real_loki(lab):
    # Only with a real Loki: the lab's fake has no query API, and LogQL is Loki's to judge.
    lab.require("loki")
    if prometheus_queries is None:
        pytest.skip("deploy/tests/dashboard_queries.py is missing")
    from dashboard_queries import loki_queries

    queries = loki_queries({"site": "application"})
    assert queries
    failures = []
    for dashboard, panel, expr in queries:
        answer = requests.get("http://loki:3100/loki/api/v1/query_range", timeout=20,
                              params={"query": expr, "since": "1h", "limit": 10})
        if answer.status_code != 200 or answer.json().get("status") != "success":
            failures.append(f"{dashboard} / {panel}: HTTP {answer.status_code} {answer.text[:200]}\n    {expr}")
    assert not failures, "\n".join(failures)
