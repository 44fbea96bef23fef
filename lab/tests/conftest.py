"""One lab for the whole test session: started with the real `lab/up`, stopped with
`lab/down` even when tests fail. The test process then moves into the lab's hub namespace
(its network and its /etc/hosts), so tests and Chromium use the compose names as they are."""
from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

LAB = Path(__file__).resolve().parents[1]
REPO = LAB.parent
sys.path.insert(0, str(LAB))

from labkit import labenv, mail, netns, settings  # noqa: E402

# Everything the tests reach is inside the lab: a proxy from the environment would only get
# in the way (requests, Chromium and the lab's own curl honour these variables).
for _proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_proxy, None)

# Measured durations, shown at the end of the run (pytest_terminal_summary) for docs/lab.md.
TIMINGS: dict[str, float] = {}

NEEDED = ["ip", "docker-compose", "prometheus", "prometheus-alertmanager", "prometheus-blackbox-exporter",
          "prometheus-node-exporter", "nginx", "redis-server", "openssl", "nsenter", "tc"]
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000


class LabSession:
    """What the tests need to know about the running lab, and a few helpers."""

    def __init__(self, lab: settings.Lab, outside_fds: tuple[int, int]):
        self.lab = lab
        self.outside_fds = outside_fds
        self.env = labenv.values(lab)
        self.timeline = TIMINGS
        # The edge speaks TLS: clients trust the CA its certificate comes from, nothing else.
        self.ca = labenv.edge_ca(lab)
        self.http = requests.Session()
        self.http.verify = str(self.ca)
        # Otherwise REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment win over `verify`.
        self.http.trust_env = False

    # -- commands run in the namespaces the session started in (the host's) -------------
    def outside(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        mnt, net = self.outside_fds

        def back_home():
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.setns(net, CLONE_NEWNET) != 0 or libc.setns(mnt, CLONE_NEWNS) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the host namespaces")

        env = {**os.environ, "LOOKOUT_LAB_NAME": self.lab.name, "LOOKOUT_LAB_RUN": str(self.lab.run_dir)}
        return subprocess.run([str(LAB / args[0]), *args[1:]], env=env, capture_output=True, text=True,
                              timeout=timeout, preexec_fn=back_home, pass_fds=self.outside_fds)

    def lab_command(self, *args: str) -> str:
        done = self.outside(*args)
        assert done.returncode == 0, f"lab/{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr

    # -- state --------------------------------------------------------------------------
    @property
    def state(self) -> dict:
        return json.loads(self.lab.state_file.read_text())

    def kind(self, service: str) -> str | None:
        entry = self.state["services"].get(service)
        return entry and entry["kind"]

    def require(self, service: str, kind: str = "run") -> None:
        entry = self.state["services"].get(service)
        if not entry:
            pytest.skip(f"{service} is not part of the lab")
        if entry["kind"] != kind:
            pytest.skip(f"{service} is not running in the lab ({entry['kind']}: {entry.get('reason', '')})")

    # -- Prometheus (directly, inside the lab) ------------------------------------------
    def query(self, expr: str) -> list:
        answer = requests.get("http://prometheus:9090/api/v1/query", params={"query": expr}, timeout=10)
        body = answer.json()
        assert body.get("status") == "success", f"{expr}: {body}"
        return body["data"]["result"]

    def wait_steadily_up(self, jobs: tuple[str, ...], alertnames: tuple[str, ...], timeout: float) -> None:
        """Start from a clean state: the last 30 s of these jobs' probes succeeded and none of
        these alerts is pending or firing (so the measured time is the outage's, not a
        leftover's)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            up = all(self.query(f'min_over_time(probe_success{{job="{job}"}}[30s]) == 1') for job in jobs)
            if up and not self.query(f'ALERTS{{alertname=~"{"|".join(alertnames)}"}}'):
                return
            time.sleep(2)
        raise AssertionError(f"the {', '.join(jobs)} probes were not steadily up before the test")

    # -- mail ---------------------------------------------------------------------------
    def mails(self) -> list[dict]:
        return mail.messages(self.lab)

    def wait_mail(self, what: str, predicate, timeout: float, after: float = 0.0) -> dict:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for m in self.mails():
                if m["received_at"] >= after and predicate(m):
                    return m
            time.sleep(1)
        seen = "\n".join(f"  {m['subject']}" for m in self.mails()) or "  (none)"
        pytest.fail(f"no {what} email within {timeout:.0f} s; the sink has:\n{seen}")

    def wait_alert_mail(self, alertname: str, status: str, timeout: float, after: float = 0.0) -> dict:
        """The first email about `alertname` whose subject starts with [FIRING or [RESOLVED."""
        return self.wait_mail(f"{alertname} {status.lower()}",
                              lambda m: m["subject"].startswith(f"[{status}") and alertname in m["subject"],
                              timeout=timeout, after=after)

    def mail_text(self, entry: dict) -> str:
        return mail.text_of(mail.load(self.lab, entry["n"]))

    # -- Loki: the recording fake's file, or the real Loki's query API ------------------
    def loki_records(self) -> list[dict]:
        path = self.lab.run_dir / "fake-loki" / "pushes.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def loki_find(self, text: str, timeout: float = 20, since: float = 0.0) -> list[dict]:
        """Streams ({"labels", "lines", "headers"}) whose lines contain `text`, once any arrive.
        With the fake, `headers` are those of the push; the real Loki does not keep them."""
        kind = self.kind("loki")
        if kind not in ("run", "fake-loki"):
            pytest.skip("no Loki (real or fake) in the lab")
        deadline = time.time() + timeout
        while True:
            found = self._loki_search(text, real=kind == "run", since=since)
            if found or time.time() > deadline:
                return found
            time.sleep(0.5)

    def _loki_search(self, text: str, real: bool, since: float) -> list[dict]:
        if real:
            query = '{job=~".+"} |= ' + json.dumps(text)
            start = int(max(since, time.time() - 900) * 1e9)
            answer = requests.get("http://loki:3100/loki/api/v1/query_range", timeout=10,
                                  params={"query": query, "start": start, "limit": 100}).json()
            return [{"labels": r["stream"], "lines": [v[1] for v in r["values"]], "headers": None}
                    for r in answer["data"]["result"]]
        found = []
        for record in self.loki_records():
            if record["received_at"] < since:
                continue
            for stream in record["streams"]:
                lines = [v[1] for v in stream["values"] if text in v[1]]
                if lines:
                    found.append({"labels": stream["stream"], "lines": lines, "headers": record["headers"]})
        return found


def _preflight() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, mounts)"
    missing = [tool for tool in NEEDED if not shutil.which(tool)]
    if missing:
        return f"missing on this machine: {', '.join(missing)} (scripts/install-deps installs them)"
    if not settings.MONITORING_COMPOSE.exists():
        return f"{settings.MONITORING_COMPOSE} does not exist"
    return None


def _running(pid: int) -> bool:
    """Alive and not a zombie (a killed session may linger as one under a lazy init)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _reap_stale_test_labs() -> None:
    """Namespaces of an earlier session that was killed before its teardown (lkt<pid>, pid gone)."""
    listed = netns.ip("netns", "list", check=False).stdout.split("\n")
    hubs = {line.split()[0] for line in listed if re.fullmatch(r"lkt\d+", line.split()[0] if line.strip() else "")}
    for hub in hubs:
        if not _running(int(hub[3:])):
            stale = settings.Lab(name=hub, run_dir=Path(tempfile.gettempdir()) / f"stale-{hub}", subnet="10.77.0")
            for name in netns.lab_namespaces(stale):
                netns.delete(name, kill_inside=name != hub)
            shutil.rmtree(stale.etc_netns, ignore_errors=True)


def _terminate_like_ctrl_c(signum, frame):
    # A CI timeout sends SIGTERM: turn it into KeyboardInterrupt so the lab is torn down.
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def lab(request):
    problem = _preflight()
    if problem:
        pytest.skip(problem)
    _reap_stale_test_labs()
    signal.signal(signal.SIGTERM, _terminate_like_ctrl_c)
    run_dir = Path(tempfile.mkdtemp(prefix="lookout-lab-"))
    run_dir.chmod(0o755)   # the edge's nginx workers (nobody) read the htpasswd files in it
    lab = settings.current(f"lkt{os.getpid()}", str(run_dir))
    home = (os.open("/proc/self/ns/mnt", os.O_RDONLY), os.open("/proc/self/ns/net", os.O_RDONLY))
    session = LabSession(lab, home)
    started = time.time()
    failed = True
    try:
        up = session.outside("up", "--no-publish", timeout=300)
        if up.returncode != 0:
            pytest.fail(f"lab/up failed:\n{up.stdout[-4000:]}\n{up.stderr[-4000:]}")
        session.timeline["up_seconds"] = time.time() - started
        session.env = labenv.values(lab)
        netns.enter(lab)
        yield session
        failed = request.session.testsfailed > 0
    finally:
        pids = [e["pid"] for e in session.state["services"].values() if e.get("pid")] \
            if lab.state_file.exists() else []
        down = session.outside("down", timeout=120)
        leftovers = netns.lab_namespaces(lab)
        alive = [p for p in pids if _running(p)]
        for fd in home:
            os.close(fd)
        if failed or down.returncode != 0 or leftovers or alive:
            print(f"\nlab: logs kept in {run_dir}", file=sys.stderr)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    # lab/down must leave nothing behind, whatever happened above.
    assert down.returncode == 0, f"lab/down failed: {down.stdout}{down.stderr}"
    assert not leftovers, f"namespaces left after lab/down: {leftovers}"
    assert not alive, f"processes left after lab/down: {alive}"


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.write_sep("-", "lab timings (seconds; docs/lab.md)")
        for key, value in TIMINGS.items():
            if key.endswith("_s") or key.endswith("_seconds"):
                terminalreporter.write_line(f"{key}: {value:.1f}")
