"""Runs a real nginx config, unchanged, against fake upstreams in private network namespaces.

Why namespaces: the configs name their upstreams the way compose does (`grafana:3000`,
`backend:8000`) and listen on fixed ports (3000, 80). Two namespaces joined by a veth pair
give both sides those exact names and ports without touching the host's network:

    "door" namespace (10.77.0.2)            "upstreams" namespace (10.77.0.1)
    nginx listening on its real ports  ---> fake upstreams on their real ports
    /etc/hosts maps every upstream name to 10.77.0.1

One namespace would not do: nginx listens on 0.0.0.0:3000 and the fake Grafana needs port
3000 too. Needs root (the tests skip with a reason otherwise).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FAKE_UPSTREAM = HERE / "fake_upstream.py"
UPSTREAM_IP = "10.77.0.1"
DOOR_IP = "10.77.0.2"


def unavailable_reason() -> str | None:
    """Why the namespace tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root for `ip netns` (network namespaces)"
    for tool in ("ip", "nginx", "curl"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (scripts/install-deps installs it)"
    return None


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, text=True)


class NamespacePair:
    """A door namespace and an upstream namespace; use as a context manager."""

    def __init__(self, hostnames: list[str], local_names: list[str] = ()):
        """`hostnames` resolve to the upstream namespace; `local_names` (e.g. the name the
        edge's certificate is for) to the door namespace's own loopback."""
        tag = f"lk{os.getpid() % 100000}{int(time.time() * 1000) % 10000}"
        self.door = f"{tag}d"
        self.ups = f"{tag}u"
        self.hostnames = hostnames
        self.local_names = list(local_names)
        self.tmp = Path(tempfile.mkdtemp(prefix="lookout-netns-"))
        # nginx workers run as an unprivileged user and read htpasswd files per request.
        self.tmp.chmod(0o755)
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> "NamespacePair":
        try:
            for ns in (self.door, self.ups):
                _run("ip", "netns", "add", ns)
                _run("ip", "-n", ns, "link", "set", "lo", "up")
            _run("ip", "-n", self.door, "link", "add", "veth0", "type", "veth",
                 "peer", "name", "veth1", "netns", self.ups)
            _run("ip", "-n", self.door, "addr", "add", f"{DOOR_IP}/24", "dev", "veth0")
            _run("ip", "-n", self.ups, "addr", "add", f"{UPSTREAM_IP}/24", "dev", "veth1")
            _run("ip", "-n", self.door, "link", "set", "veth0", "up")
            _run("ip", "-n", self.ups, "link", "set", "veth1", "up")
            # `ip netns exec` bind-mounts /etc/netns/NAME/hosts over /etc/hosts.
            etc = Path("/etc/netns") / self.door
            etc.mkdir(parents=True, exist_ok=True)
            lines = [" ".join(["127.0.0.1", "localhost", *self.local_names])]
            lines += [f"{UPSTREAM_IP} {h}" for h in self.hostnames]
            (etc / "hosts").write_text("\n".join(lines) + "\n")
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for ns in (self.door, self.ups):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(Path("/etc/netns") / self.door, ignore_errors=True)
        try:
            Path("/etc/netns").rmdir()  # only when no one else uses it
        except OSError:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- running things ---------------------------------------------------------------

    def door_cmd(self, argv: list[str], binds: dict[str, str] | None = None) -> list[str]:
        """argv run in the door namespace, after bind-mounting binds {source: target}.

        `ip netns exec` gives the command its own mount namespace, so the binds are
        private to it and vanish with it.
        """
        script = "".join(f'mount --bind "{s}" "{t}" && ' for s, t in (binds or {}).items())
        return ["ip", "netns", "exec", self.door, "sh", "-c", script + 'exec "$@"', "sh", *argv]

    def run_in_door(self, argv: list[str], binds=None, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(self.door_cmd(argv, binds), capture_output=True, text=True, **kw)

    def start_in_door(self, argv: list[str], binds=None, log_name="door.log", env=None) -> subprocess.Popen:
        log = open(self.tmp / log_name, "wb")
        proc = subprocess.Popen(self.door_cmd(argv, binds), stdout=log, stderr=subprocess.STDOUT,
                                env=None if env is None else {**os.environ, **env})
        self.procs.append(proc)
        return proc

    def start_fakes(self, ports: dict[str, int]) -> Path:
        """Starts fake upstreams (service name -> port); returns the JSON-lines request log."""
        record = self.tmp / "upstream-requests.jsonl"
        ready = self.tmp / "upstreams.ready"
        spec = ",".join(f"{name}={port}" for name, port in ports.items())
        log = open(self.tmp / "upstreams.log", "wb")
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ups, sys.executable, str(FAKE_UPSTREAM),
             "--bind", UPSTREAM_IP, "--services", spec, "--record", str(record),
             "--ready", str(ready)],
            stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        wait_for(lambda: ready.exists() or proc.poll() is not None, "fake upstreams")
        if proc.poll() is not None:
            raise RuntimeError((self.tmp / "upstreams.log").read_text())
        return record

    def wait_for_port(self, port: int, what: str) -> None:
        def listening() -> bool:
            out = self.run_in_door(["ss", "-Hltn", f"sport = :{port}"]).stdout
            return bool(out.strip())
        wait_for(listening, what)

    def curl(self, url: str, *args: str) -> tuple[int, str]:
        """One request from inside the door namespace: (status, body)."""
        res = self.run_in_door(["curl", "-s", "-o", "-", "-w", "\n%{http_code}",
                                "--max-time", "10", *args, url], timeout=20)
        body, _, status = res.stdout.rpartition("\n")
        return int(status or 0), body


def wait_for(check, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def wait_for_value(check, timeout: float = 15.0, interval: float = 0.2):
    """Polls check() until it is truthy; returns its last value (falsy after the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def read_records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
