"""Every PromQL query of every provisioned dashboard, variables substituted as Grafana would
(deploy/tests/dashboard_queries.py), runs without error against the lab's Prometheus."""
import sys
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
    failures = []
    with_data = 0
    for dashboard, panel, expr in queries:
        body = requests.get("http://prometheus:9090/api/v1/query", params={"query": expr}, timeout=10).json()
        if body.get("status") != "success":
            failures.append(f"{dashboard} / {panel}: {body.get('error')}\n    {expr}")
        elif body["data"]["result"]:
            with_data += 1
    assert not failures, "\n".join(failures)
    # Not only valid but fed: the lab's probes, exporters and collector produce data for many panels.
    assert with_data >= len(queries) // 4, f"only {with_data} of {len(queries)} queries returned data"
