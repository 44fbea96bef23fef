"""With real Loki and Promtail installed: the demo's log files (the application host's layout,
read where the monitoring host's Promtail expects its NFS mounts) arrive in Loki as the streams
docs/signals.md names. Skipped when either program is missing (the lab names which)."""
import time

import pytest
import requests

STREAMS = {
    "nginx access log": '{job="nginx", logtype="access", site="application"}',
    "nginx error log": '{job="nginx", logtype="error", site="application"}',
    "app.log (uvicorn)": '{job="app", component="fastapi", site="application"}',
    "app.log (celery)": '{job="app", component="celery", site="application"}',
    "redis.log": '{job="redis", site="application"}',
}


@pytest.mark.parametrize("source", sorted(STREAMS))
def test_demo_logs_arrive_in_loki(lab, source):
    lab.require("loki")
    lab.require("promtail")
    deadline = time.time() + 90
    while True:
        answer = requests.get("http://loki:3100/loki/api/v1/query_range", timeout=10,
                              params={"query": STREAMS[source], "since": "15m", "limit": 5}).json()
        if answer["data"]["result"] or time.time() > deadline:
            break
        time.sleep(3)
    assert answer["data"]["result"], f"no {source} lines in Loki for {STREAMS[source]}"
