"""`lookout doctor` and `lookout test-alert` against the running lab, through the real edge
over HTTPS (trusting the CA of the edge's certificate), with the lab's .env — as an operator
would run them against a deployment."""
import json
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LOOKOUT = REPO / ".build" / "debug" / "lookout"

# What the lab can satisfy whatever is missing from this machine.
MUST_PASS = [
    "edge TLS certificate",
    "plain HTTP refused on the TLS doors",
    "HSTS on the Grafana door",
    "Prometheus ready",
    "Alertmanager ready",
    "application probe succeeding",
    "/logger.js served",
    "CORS preflight for the application's origin",
    "browser-like test push accepted",
    "Loki's query API closed on :3100",
    "Prometheus refuses anonymous access",
    "Alertmanager refuses anonymous access",
]


def lookout(lab, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    if not LOOKOUT.exists():
        pytest.skip(f"{LOOKOUT} missing (swift build)")
    return subprocess.run([str(LOOKOUT), *args, "--url", "https://monitoring-host",
                           "--env-file", str(lab.lab.run_dir / "env"), "--ca-file", str(lab.ca)],
                          capture_output=True, text=True, timeout=timeout)


def test_doctor_passes_what_the_lab_runs_and_explains_every_failure(lab):
    lab.require("edge")
    lab.require("collector")
    deadline = time.time() + 60   # right after lab/up there is no probe result yet
    while not lab.query('probe_success{job="blackbox-http"} == 1') and time.time() < deadline:
        time.sleep(2)
    done = lookout(lab, "doctor", "--json")
    report = json.loads(done.stdout)
    status = {check["name"]: check["status"] for check in report["checks"]}
    missing = [name for name in MUST_PASS if status.get(name) != "pass"]
    assert not missing, f"doctor failed checks the lab satisfies: {missing}\n{done.stdout}"
    # The edge's certificate: init made it for 825 days a moment ago.
    certificate = next(c for c in report["checks"] if c["name"] == "edge TLS certificate")
    assert "verified on :3000, :3100, :9090, :9093 for monitoring-host" in certificate["detail"]
    assert "expires in 82" in certificate["detail"], certificate
    # The lab's .env tells doctor where it is: what the lab cannot run is skipped with the
    # reason, not failed, and nothing else fails in a healthy lab.
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    assert not failed, f"doctor failed in a healthy lab: {failed}"
    assert done.returncode == 0 and report["ok"] is True
    for check in report["checks"]:
        if check["status"] == "skip":
            assert "does not run here (" in check["detail"] or "needs" in check["detail"], check
        assert "<html" not in check["detail"].lower(), check
    assert "docker compose" not in done.stdout, done.stdout


def test_lab_doctor_runs_doctor_as_the_docs_show(lab):
    lab.require("edge")
    done = lab.outside("doctor", timeout=180)
    assert "checks: " in done.stdout, done.stdout + done.stderr
    assert "--url https://monitoring-host" in done.stderr and "--ca-file" in done.stderr
    assert "✗" not in done.stdout, done.stdout


def test_test_alert_email_arrives_and_resolves(lab):
    lab.require("alertmanager")
    lab.require("edge")
    started = time.time()
    done = lookout(lab, "test-alert", "--hold", "6")
    assert done.returncode == 0, done.stdout + done.stderr
    lab.wait_alert_mail("LookoutTestAlert", "FIRING", timeout=60, after=started)
    lab.wait_alert_mail("LookoutTestAlert", "RESOLVED", timeout=60, after=started)
