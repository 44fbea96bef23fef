"""The edge nginx (deploy/monitoring/edge/nginx.conf), run for real and unchanged.

`nginx -t` and a routing matrix against fake upstreams: the file compose mounts is the file
tested. Upstream names resolve through a namespace hosts file (see netns_harness.py).
"""
import sys
from pathlib import Path

import bcrypt
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import netns_harness as nh  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
EDGE_DIR = REPO / "deploy" / "monitoring" / "edge"
UPSTREAMS = {"grafana": 3000, "collector": 8081, "loki": 3100,
             "prometheus": 9090, "alertmanager": 9093}
# One user per door, as `lookout init` writes them (separate htpasswd files).
CREDS = {
    "prometheus": ("prom-admin", "prom-secret-1"),
    "alertmanager": ("am-admin", "am-secret-2"),
    "agents": ("agent", "agent-secret-3"),
}
PUSH = "/loki/api/v1/push"

pytestmark = pytest.mark.skipif(nh.unavailable_reason() is not None,
                                reason=str(nh.unavailable_reason()))


def _etc_nginx(tmp: Path) -> Path:
    """An /etc/nginx as the container sees it: edge/ (the repo folder) and secrets/."""
    etc = tmp / "etc-nginx"
    (etc / "secrets").mkdir(parents=True)
    etc.chmod(0o755)
    (etc / "secrets").chmod(0o755)
    (etc / "edge").symlink_to(EDGE_DIR)  # the real folder, not a copy
    for door, (user, password) in CREDS.items():
        # Low bcrypt cost, as for generated random passwords: nginx checks on every request.
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(5)).decode()
        path = etc / "secrets" / f"{door}.htpasswd"
        path.write_text(f"{user}:{hashed}\n")
        path.chmod(0o644)
    return etc


def _nginx_argv(tmp: Path, *extra: str) -> list[str]:
    return ["nginx", "-c", "/etc/nginx/edge/nginx.conf",
            "-g", f"pid {tmp}/nginx.pid;", *extra]


@pytest.fixture(scope="module")
def edge():
    with nh.NamespacePair(list(UPSTREAMS)) as ns:
        etc = _etc_nginx(ns.tmp)
        binds = {str(etc): "/etc/nginx"}
        test = ns.run_in_door(_nginx_argv(ns.tmp, "-t"), binds)
        assert test.returncode == 0, test.stderr
        ns.config_test_output = test.stderr
        ns.record = ns.start_fakes(UPSTREAMS)
        ns.start_in_door(_nginx_argv(ns.tmp, "-g", "daemon off;"), binds, "nginx.log")
        for port in (3000, 3100, 9090, 9093):
            ns.wait_for_port(port, f"edge nginx on :{port}")
        yield ns


def _last(ns, service=None):
    records = nh.read_records(ns.record)
    if service:
        records = [r for r in records if r["service"] == service]
    return records[-1] if records else None


def _count(ns):
    return len(nh.read_records(ns.record))


def _user(door):
    user, password = CREDS[door]
    return f"{user}:{password}"


def test_config_test_passes(edge):
    assert "syntax is ok" in edge.config_test_output
    assert "test is successful" in edge.config_test_output


@pytest.mark.parametrize("port,door,service", [
    (9090, "prometheus", "prometheus"),
    (9093, "alertmanager", "alertmanager"),
])
def test_basic_auth_doors(edge, port, door, service):
    url = f"http://127.0.0.1:{port}/api/v1/status/buildinfo"
    before = _count(edge)
    assert edge.curl(url)[0] == 401
    assert edge.curl(url, "-u", f"{CREDS[door][0]}:wrong")[0] == 401
    # Each door has its own file: the other door's valid credentials do not open it.
    other = "alertmanager" if door == "prometheus" else "prometheus"
    assert edge.curl(url, "-u", _user(other))[0] == 401
    assert _count(edge) == before, "a rejected request reached an upstream"

    status, body = edge.curl(url, "-u", _user(door))
    assert (status, body) == (200, f'{{"service": "{service}"}}')
    rec = _last(edge, service)
    assert rec["path"] == "/api/v1/status/buildinfo"
    assert "authorization" not in rec["headers"], "credentials leaked to the upstream"


def test_agent_push_needs_auth_and_goes_to_loki(edge):
    url = f"http://127.0.0.1:3100{PUSH}"
    body = ["-X", "POST", "-H", "Content-Type: application/json", "--data", '{"streams":[]}']
    before = _count(edge)
    assert edge.curl(url, *body)[0] == 401
    assert edge.curl(url, *body, "-u", "agent:wrong")[0] == 401
    assert edge.curl(url, *body, "-u", _user("prometheus"))[0] == 401
    assert _count(edge) == before

    status, reply = edge.curl(url, *body, "-u", _user("agents"))
    assert (status, reply) == (200, '{"service": "loki"}')
    rec = _last(edge)
    assert (rec["service"], rec["method"], rec["path"]) == ("loki", "POST", PUSH)
    assert rec["body_bytes"] == len('{"streams":[]}')
    assert "authorization" not in rec["headers"]


def test_browser_push_goes_to_collector_with_client_address(edge):
    url = f"http://127.0.0.1:3100{PUSH}"
    origin = ["-H", "Origin: http://application"]
    # A spoofed X-Forwarded-For must not become the collector's rate-limit key.
    status, reply = edge.curl(url, *origin, "-X", "POST", "-H", "X-Forwarded-For: 203.0.113.9",
                              "-H", "Content-Type: application/json", "--data", '{"streams":[]}')
    assert (status, reply) == (200, '{"service": "collector"}')
    rec = _last(edge)
    assert (rec["service"], rec["method"], rec["path"]) == ("collector", "POST", PUSH)
    assert rec["headers"]["origin"] == "http://application"
    assert rec["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert rec["headers"]["x-real-ip"] == "127.0.0.1"

    # The CORS preflight, which Loki itself would answer with 405.
    status, _ = edge.curl(url, *origin, "-X", "OPTIONS",
                          "-H", "Access-Control-Request-Method: POST")
    assert status == 200
    rec = _last(edge)
    assert (rec["service"], rec["method"]) == ("collector", "OPTIONS")


def test_push_body_size_is_capped(edge):
    before = _count(edge)
    big = edge.tmp / "big.json"
    big.write_bytes(b"x" * (5 * 1024 * 1024))
    status, _ = edge.curl(f"http://127.0.0.1:3100{PUSH}", "-X", "POST", "-u", _user("agents"),
                          "-H", "Content-Type: application/json", "--data-binary", f"@{big}")
    assert status == 413
    assert _count(edge) == before


@pytest.mark.parametrize("method,path,expected", [
    ("GET", "/loki/api/v1/query?query=%7Bjob%3D%22nginx%22%7D", 404),
    ("GET", "/loki/api/v1/query_range?query=%7Bjob%3D%22nginx%22%7D", 404),
    ("GET", "/loki/api/v1/labels", 404),
    ("GET", "/ready", 404),
    ("GET", "/metrics", 404),
    ("GET", PUSH, 405),
    ("DELETE", PUSH, 405),
])
def test_loki_query_api_is_unreachable(edge, method, path, expected):
    before = _count(edge)
    # Even valid agent credentials do not open anything but the push path.
    status, _ = edge.curl(f"http://127.0.0.1:3100{path}", "-X", method, "-u", _user("agents"))
    assert status == expected
    status, _ = edge.curl(f"http://127.0.0.1:3100{path}", "-X", method,
                          "-H", "Origin: http://application")
    assert status == expected
    assert _count(edge) == before


def test_logger_js_is_served_by_the_collector(edge):
    status, reply = edge.curl("http://127.0.0.1:3000/logger.js")
    assert (status, reply) == (200, '{"service": "collector"}')
    rec = _last(edge)
    assert (rec["service"], rec["path"]) == ("collector", "/logger.js")
    assert rec["headers"]["x-real-ip"] == "127.0.0.1"


def test_grafana_gets_everything_else_with_websocket_upgrade(edge):
    status, reply = edge.curl("http://127.0.0.1:3000/d/lookout-uptime")
    assert (status, reply) == (200, '{"service": "grafana"}')
    rec = _last(edge)
    assert rec["service"] == "grafana"
    assert rec["headers"]["connection"] == "close"
    assert rec["headers"]["host"] == "127.0.0.1:3000"  # Grafana checks Origin against Host

    edge.curl("http://127.0.0.1:3000/api/live/ws", "-H", "Connection: Upgrade",
              "-H", "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13",
              "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")
    rec = _last(edge)
    assert (rec["service"], rec["path"]) == ("grafana", "/api/live/ws")
    assert rec["headers"]["upgrade"] == "websocket"
    assert rec["headers"]["connection"] == "upgrade"


def test_compose_healthcheck_runs_against_the_real_edge(edge):
    """The edge healthcheck in docker-compose.yml, run as written, passes (and needs no
    curl or wget: bash's /dev/tcp against the config's loopback health server)."""
    import yaml
    compose = yaml.safe_load((REPO / "deploy" / "monitoring" / "docker-compose.yml").read_text())
    test = compose["services"]["edge"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    res = edge.run_in_door(test[1:], timeout=10)
    assert res.returncode == 0, res.stderr
