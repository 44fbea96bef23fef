"""The application host's Promtail pushes to the edge over verified TLS, and refuses an edge it
cannot trust: a real Promtail with deploy/application/promtail/promtail.yml (only the paths
moved, as in test_promtail.py) and the compose environment, through the real edge (run-edge.sh,
TLS, a test CA) to a recording stand-in for Loki.

Cases: the private CA in LOKI_PUSH_CA_FILE (the push arrives, without the credentials), another
CA, an expired certificate and a certificate for another name (each refused by Promtail, nothing
reaches Loki). Needs root (namespaces) and Grafana's promtail on PATH; skipped otherwise.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import netns_harness as nh  # noqa: E402
import tls_ca  # noqa: E402
from edge_harness import CREDS, HOST, PUSH, REPO, UPSTREAMS, served_serial, start_edge  # noqa: E402
from grafana_binaries import grafana_binary, needs  # noqa: E402

PROMTAIL = grafana_binary("promtail")
CONFIG = REPO / "deploy" / "application" / "promtail" / "promtail.yml"
LOG_DIRS = {"nginx": "/var/log/nginx", "app": "/var/log/app", "redis": "/var/log/redis"}

pytestmark = [
    pytest.mark.skipif(nh.unavailable_reason() is not None, reason=str(nh.unavailable_reason())),
    needs("promtail", PROMTAIL),
]


@pytest.fixture(scope="module")
def world():
    """One edge (watching its certificate every second, so a case swaps it in place) and a CA."""
    with nh.NamespacePair(list(UPSTREAMS), local_names=[HOST]) as ns:
        ca = tls_ca.TestCA()
        ns.record = ns.start_fakes(UPSTREAMS)
        edge = start_edge(ns, "https", ca.issue([HOST]), ca.write(ns.tmp / "ca.pem"),
                          env={"EDGE_TLS_WATCH_SECONDS": "1"})
        yield edge, ca


def serve(edge, issued: tls_ca.Issued) -> None:
    tls_ca.write_server_files(edge.etc / "tls", issued)
    assert nh.wait_for_value(lambda: served_serial(edge, 3100) == issued.serial, timeout=20), edge.log


def promtail_config(tmp: Path) -> Path:
    """The application host's config with its paths moved into `tmp`; nothing else changed."""
    text = CONFIG.read_text()
    for folder, path in LOG_DIRS.items():
        (tmp / "logs" / folder).mkdir(parents=True, exist_ok=True)
        text = text.replace(path + "/", f"{tmp}/logs/{folder}/")
    text = text.replace("/var/lib/promtail/positions.yaml", str(tmp / "positions.yaml"))
    text = text.replace("http_listen_port: 9080", "http_listen_port: 0")
    config = tmp / "promtail.yml"
    config.write_text(text)
    return config


def push_records(edge) -> list[dict]:
    """Pushes the edge passed on: to the collector's agent relay, which hands them to Loki."""
    return [r for r in nh.read_records(edge.ns.record) if r["service"] == "collector" and r["path"] == "/agents" + PUSH]


def run_promtail(edge, tmp: Path, ca_file: Path | None, until, seconds: float = 40):
    """Promtail in the door namespace (monitoring-host is the edge there), with the compose
    environment of deploy/application/docker-compose.yml; returns its log once until(log) or
    after `seconds`."""
    config = promtail_config(tmp)
    (tmp / "logs" / "nginx" / "access.log").write_text(
        '{"time":"%.3f","status":"200","request_method":"GET","path":"/"}\n' % time.time())
    user, password = CREDS["agents"]
    env = {**os.environ, "LOKI_PUSH_URL": f"https://{HOST}:3100{PUSH}", "LOKI_PUSH_USER": user,
           "LOKI_PUSH_PASSWORD": password, "LOKI_PUSH_CA_FILE": str(ca_file or ""), "LOOKOUT_SITE": "application"}
    log = tmp / "promtail.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(edge.ns.door_cmd([PROMTAIL, f"-config.file={config}", "-config.expand-env=true"]),
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        nh.wait_for_value(lambda: until(log.read_text(errors="replace")), timeout=seconds, interval=0.5)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return log.read_text(errors="replace")


def test_promtail_pushes_over_tls_with_the_private_ca(world, tmp_path):
    edge, ca = world
    serve(edge, ca.issue([HOST]))
    before = len(push_records(edge))
    out = run_promtail(edge, tmp_path, edge.ca, lambda _: len(push_records(edge)) > before)
    records = push_records(edge)[before:]
    assert records, f"no push reached the relay through the TLS edge:\n{out}"
    assert "authorization" not in records[-1]["headers"]
    assert "x509" not in out and "certificate" not in out.lower(), out


@pytest.mark.parametrize("case,expected", [
    ("other CA", "x509: certificate signed by unknown authority"),
    ("system store only", "x509: certificate signed by unknown authority"),
    ("expired", "x509: certificate has expired or is not yet valid"),
    ("wrong name", f"x509: certificate is valid for other-host, not {HOST}"),
])
def test_promtail_refuses_an_edge_it_cannot_trust(world, tmp_path, case, expected):
    edge, ca = world
    ca_file = edge.ca
    if case == "other CA":
        ca_file = tls_ca.TestCA("Someone else's CA").write(tmp_path / "other-ca.pem")
        serve(edge, ca.issue([HOST]))
    elif case == "system store only":
        ca_file = None   # LOKI_PUSH_CA_FILE empty: the private CA is not in the system store
        serve(edge, ca.issue([HOST]))
    elif case == "expired":
        serve(edge, ca.issue([HOST], expired=True))
    else:
        serve(edge, ca.issue(["other-host"]))
    before = len(push_records(edge))
    out = run_promtail(edge, tmp_path, ca_file, lambda log: expected in log)
    assert expected in out, out
    assert len(push_records(edge)) == before, "a push got through an untrusted edge"
