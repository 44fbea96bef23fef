"""The edge as compose runs it (deploy/monitoring/edge/run-edge.sh), in the namespaces of
netns_harness.py: an /etc/nginx like the container's (the repository's edge folder, htpasswd
files, a certificate folder), started with the compose command. Shared by test_edge.py and
test_promtail_tls.py."""
from __future__ import annotations

from pathlib import Path

import bcrypt
import yaml

import netns_harness as nh
import tls_ca

REPO = Path(__file__).resolve().parents[2]
EDGE_DIR = REPO / "deploy" / "monitoring" / "edge"
COMPOSE = REPO / "deploy" / "monitoring" / "docker-compose.yml"
UPSTREAMS = {"grafana": 3000, "collector": 8081, "loki": 3100,
             "prometheus": 9090, "alertmanager": 9093}
DOORS = (3000, 3100, 9090, 9093)
# The name clients use for the monitoring host; the test certificate is issued for it.
HOST = "monitoring-host"
# One user per door, as `lookout init` writes them (separate htpasswd files).
CREDS = {
    "prometheus": ("prom-admin", "prom-secret-1"),
    "alertmanager": ("am-admin", "am-secret-2"),
    "agents": ("agent", "agent-secret-3"),
}
PUSH = "/loki/api/v1/push"


def served_serial(edge: "Edge", port: int = 3000) -> int | None:
    """Serial number of the certificate the edge serves on `port` now."""
    return tls_ca.served_serial(s_client(edge, port, "-showcerts")[1])


def s_client(edge: "Edge", port: int, *args: str) -> tuple[int, str]:
    """openssl s_client from inside the door namespace: (exit code, everything it printed)."""
    res = edge.run_in_door(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", HOST,
                            *args], input="", timeout=20)
    return res.returncode, res.stdout + res.stderr

def etc_nginx(tmp: Path, issued: tls_ca.Issued | None) -> Path:
    """An /etc/nginx as the container sees it: edge/ (the repo folder), secrets/ and tls/."""
    etc = tmp / "etc-nginx"
    (etc / "secrets").mkdir(parents=True)
    etc.chmod(0o755)
    (etc / "secrets").chmod(0o755)
    (etc / "edge").symlink_to(EDGE_DIR)  # the real folder, not a copy
    (etc / "runbook").symlink_to(EDGE_DIR.parent / "runbook")
    for door, (user, password) in CREDS.items():
        # Low bcrypt cost, as for generated random passwords: nginx checks on every request.
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(5)).decode()
        path = etc / "secrets" / f"{door}.htpasswd"
        path.write_text(f"{user}:{hashed}\n")
        path.chmod(0o644)
    (etc / "tls").mkdir()
    if issued:
        tls_ca.write_server_files(etc / "tls", issued)
    return etc


def compose_command() -> list[str]:
    return yaml.safe_load(COMPOSE.read_text())["services"]["edge"]["command"]


def image_bin(tmp: Path) -> Path:
    """A bin folder with only what the pinned nginx image ships (deploy/monitoring/images.yml):
    run-edge.sh, its watcher and the healthcheck must make do with that, as in the container."""
    import shutil
    import sys
    sys.path.insert(0, str(REPO / "lab"))
    from labkit import image_manifest
    image = yaml.safe_load(COMPOSE.read_text())["services"]["edge"]["image"]
    contents = image_manifest.load()[image]
    folder = tmp / "image-bin"
    folder.mkdir(exist_ok=True)
    for name in [*contents.toolset, *(Path(p).name for p in contents.programs)]:
        found = shutil.which(name, path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        if found and not (folder / name).exists():
            (folder / name).symlink_to(found)
    return folder


def edge_argv(tmp: Path) -> list[str]:
    """The compose command as written, with only the image's programs on PATH and a pid
    file of the test's own."""
    return ["env", f"PATH={image_bin(tmp)}", *compose_command(), "-g", f"pid {tmp}/nginx.pid; daemon off;"]


class Edge:
    """A running edge: one NamespacePair, the scheme it speaks and the CA that signed it."""

    def __init__(self, ns: nh.NamespacePair, scheme: str, ca: Path | None, etc: Path):
        self.ns, self.scheme, self.ca, self.etc = ns, scheme, ca, etc
        self.tmp = ns.tmp

    def url(self, port: int, path: str = "/") -> str:
        return f"{self.scheme}://{HOST}:{port}{path}"

    def curl(self, port: int, path: str, *args: str) -> tuple[int, str]:
        tls = ["--cacert", str(self.ca)] if self.ca else []
        return self.ns.curl(self.url(port, path), *tls, *args)

    def run_in_door(self, argv, **kw):
        return self.ns.run_in_door(argv, self.binds, **kw)

    @property
    def binds(self) -> dict[str, str]:
        return {str(self.etc): "/etc/nginx"}

    @property
    def log(self) -> str:
        return (self.tmp / "nginx.log").read_text(errors="replace")


def start_edge(ns: nh.NamespacePair, scheme: str, issued: tls_ca.Issued | None, ca_file: Path | None,
               env: dict | None = None) -> Edge:
    etc = etc_nginx(ns.tmp, issued)
    edge = Edge(ns, scheme, ca_file, etc)
    conf = "nginx.conf" if scheme == "https" else "nginx-plain-http.conf"
    test = ns.run_in_door(["nginx", "-t", "-c", f"/etc/nginx/edge/{conf}", "-g", f"pid {ns.tmp}/t.pid;"], edge.binds)
    assert test.returncode == 0, test.stderr
    edge.config_test_output = test.stderr
    ns.start_in_door(edge_argv(ns.tmp), edge.binds, "nginx.log", env={"EDGE_SCHEME": scheme, **(env or {})})
    for port in DOORS:
        ns.wait_for_port(port, f"edge nginx on :{port}")
    return edge
