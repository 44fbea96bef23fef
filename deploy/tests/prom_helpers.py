"""Shared by the config tests (Prometheus, Alertmanager, Blackbox, dashboards, Loki, Promtail):
repository paths, the real Debian binaries (installed by scripts/install-deps), free ports,
and real processes that are always stopped, even when a test fails."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import yaml

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "deploy" / "monitoring"
PROMETHEUS_DIR = MONITORING / "prometheus"
RULES_DIR = PROMETHEUS_DIR / "rules"
ALERTMANAGER_DIR = MONITORING / "alertmanager"
BLACKBOX_CONFIG = MONITORING / "blackbox" / "blackbox.yml"
RUNBOOK = REPO / "docs" / "runbook.md"
SIGNALS = REPO / "docs" / "signals.md"
DASHBOARDS_DIR = MONITORING / "grafana" / "dashboards"


def tool(*names: str) -> str:
    """Path of the first of `names` on PATH. These come from Debian packages that
    scripts/install-deps installs, so a missing one is a broken setup, not a skip."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"none of {names} is on PATH; run scripts/install-deps")


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Runs a command and returns it; output is kept for assertion messages."""
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(cmd: list[str], ready_url: str, log: Path, env: dict | None = None, timeout: float = 30,
            cwd: Path | None = None):
    """Starts `cmd`, waits until `ready_url` answers 200, yields the process and stops it
    (SIGTERM to its process group, SIGKILL if it lingers) whatever happens in between."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{cmd[0]} exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if requests.get(ready_url, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{ready_url} not ready after {timeout}s:\n{log.read_text()}")
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_for(predicate, timeout: float, what: str, interval: float = 0.25):
    """Polls `predicate` until it returns something truthy; fails with `what` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.rules.yml"))


def alerting_rules() -> list[tuple[Path, dict]]:
    """Every alerting rule in the Prometheus rule files, with the file it is in."""
    found = []
    for path in rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            found += [(path, rule) for rule in group["rules"] if "alert" in rule]
    return found


def runbook_anchors() -> set[str]:
    """Anchors GitHub generates for the headings of docs/runbook.md: lowercased, punctuation
    dropped, spaces turned into hyphens."""
    anchors = set()
    for line in RUNBOOK.read_text().splitlines():
        match = re.match(r"#{1,6}\s+(.*)", line)
        if match:
            text = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower())
            anchors.add(text.replace(" ", "-"))
    return anchors
