"""The edge nginx (deploy/monitoring/edge/), run for real and unchanged, the way compose runs it.

The compose command (run-edge.sh) starts it, once with TLS (EDGE_SCHEME=https, the default:
a certificate for monitoring-host from a test CA) and once in plain HTTP (EDGE_SCHEME=http),
and the routing matrix runs against fake upstreams in both. TLS-only tests: every door speaks
TLS 1.2+ with strong ciphers only, plain HTTP is redirected (:3000) or refused (the others),
HSTS on :3000, a renewed certificate is served after the watcher's reload, a bad one is not.
Upstream names resolve through a namespace hosts file (see netns_harness.py).
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import netns_harness as nh  # noqa: E402
import tls_ca  # noqa: E402
from edge_harness import (CREDS, DOORS, HOST, PUSH, REPO, UPSTREAMS, edge_argv,  # noqa: E402
                          etc_nginx, s_client, served_serial, start_edge)

pytestmark = pytest.mark.skipif(nh.unavailable_reason() is not None,
                                reason=str(nh.unavailable_reason()))


@pytest.fixture(scope="module", params=["https", "http"])
def edge(request):
    scheme = request.param
    with nh.NamespacePair(list(UPSTREAMS), local_names=[HOST]) as ns:
        ca = tls_ca.TestCA()
        ca_file = ca.write(ns.tmp / "ca.pem") if scheme == "https" else None
        issued = ca.issue([HOST]) if scheme == "https" else None
        ns.record = ns.start_fakes(UPSTREAMS)
        yield start_edge(ns, scheme, issued, ca_file)


@pytest.fixture(scope="module")
def tls_edge():
    """The edge as deployed by default (EDGE_SCHEME=https), for the TLS-only tests."""
    with nh.NamespacePair(list(UPSTREAMS), local_names=[HOST]) as ns:
        ca = tls_ca.TestCA()
        ns.record = ns.start_fakes(UPSTREAMS)
        yield start_edge(ns, "https", ca.issue([HOST]), ca.write(ns.tmp / "ca.pem"))


def _last(edge, service=None):
    records = nh.read_records(edge.ns.record)
    if service:
        records = [r for r in records if r["service"] == service]
    return records[-1] if records else None


def _count(edge):
    return len(nh.read_records(edge.ns.record))


def _user(door):
    user, password = CREDS[door]
    return f"{user}:{password}"


def test_config_test_passes(edge):
    # nginx -t of the file run-edge.sh picks for the scheme.
    assert "syntax is ok" in edge.config_test_output
    assert "test is successful" in edge.config_test_output


@pytest.mark.parametrize("port,door,service", [
    (9090, "prometheus", "prometheus"),
    (9093, "alertmanager", "alertmanager"),
])
def test_basic_auth_doors(edge, port, door, service):
    path = "/api/v1/status/buildinfo"
    before = _count(edge)
    assert edge.curl(port, path)[0] == 401
    assert edge.curl(port, path, "-u", f"{CREDS[door][0]}:wrong")[0] == 401
    # Each door has its own file: the other door's valid credentials do not open it.
    other = "alertmanager" if door == "prometheus" else "prometheus"
    assert edge.curl(port, path, "-u", _user(other))[0] == 401
    assert _count(edge) == before, "a rejected request reached an upstream"

    status, body = edge.curl(port, path, "-u", _user(door))
    assert (status, body) == (200, f'{{"service": "{service}"}}')
    rec = _last(edge, service)
    assert rec["path"] == "/api/v1/status/buildinfo"
    assert "authorization" not in rec["headers"], "credentials leaked to the upstream"


def test_agent_push_needs_auth_and_goes_to_the_collectors_relay(edge):
    port, path = 3100, PUSH
    body = ["-X", "POST", "-H", "Content-Type: application/json", "--data", '{"streams":[]}']
    before = _count(edge)
    assert edge.curl(port, path, *body)[0] == 401
    assert edge.curl(port, path, *body, "-u", "agent:wrong")[0] == 401
    assert edge.curl(port, path, *body, "-u", _user("prometheus"))[0] == 401
    assert _count(edge) == before

    status, reply = edge.curl(port, path, *body, "-u", _user("agents"))
    assert (status, reply) == (200, '{"service": "collector"}')
    rec = _last(edge)
    assert (rec["service"], rec["method"], rec["path"]) == ("collector", "POST", "/agents" + PUSH)
    assert rec["body_bytes"] == len('{"streams":[]}')
    assert "authorization" not in rec["headers"]


def test_browser_push_goes_to_collector_with_client_address(edge):
    port, path = 3100, PUSH
    origin = ["-H", "Origin: http://application"]
    # A spoofed X-Forwarded-For must not become the collector's rate-limit key.
    status, reply = edge.curl(port, path, *origin, "-X", "POST", "-H", "X-Forwarded-For: 203.0.113.9",
                              "-H", "Content-Type: application/json", "--data", '{"streams":[]}')
    assert (status, reply) == (200, '{"service": "collector"}')
    rec = _last(edge)
    assert (rec["service"], rec["method"], rec["path"]) == ("collector", "POST", PUSH)
    assert rec["headers"]["origin"] == "http://application"
    assert rec["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert rec["headers"]["x-real-ip"] == "127.0.0.1"

    # The CORS preflight, which Loki itself would answer with 405.
    status, _ = edge.curl(port, path, *origin, "-X", "OPTIONS",
                          "-H", "Access-Control-Request-Method: POST")
    assert status == 200
    rec = _last(edge)
    assert (rec["service"], rec["method"]) == ("collector", "OPTIONS")


def test_push_body_size_is_capped(edge):
    before = _count(edge)
    big = edge.tmp / "big.json"
    big.write_bytes(b"x" * (5 * 1024 * 1024))
    status, _ = edge.curl(3100, PUSH, "-X", "POST", "-u", _user("agents"),
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
    status, _ = edge.curl(3100, path, "-X", method, "-u", _user("agents"))
    assert status == expected
    status, _ = edge.curl(3100, path, "-X", method,
                          "-H", "Origin: http://application")
    assert status == expected
    assert _count(edge) == before


def test_logger_js_is_served_by_the_collector(edge):
    status, reply = edge.curl(3000, "/logger.js")
    assert (status, reply) == (200, '{"service": "collector"}')
    rec = _last(edge)
    assert (rec["service"], rec["path"]) == ("collector", "/logger.js")
    assert rec["headers"]["x-real-ip"] == "127.0.0.1"


def test_grafana_gets_everything_else_with_websocket_upgrade(edge):
    status, reply = edge.curl(3000, "/d/lookout-uptime")
    assert (status, reply) == (200, '{"service": "grafana"}')
    rec = _last(edge)
    assert rec["service"] == "grafana"
    assert rec["headers"]["connection"] == "close"
    assert rec["headers"]["host"] == f"{HOST}:3000"  # Grafana checks Origin against Host

    edge.curl(3000, "/api/live/ws", "-H", "Connection: Upgrade",
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


# ---- TLS (EDGE_SCHEME=https, the default) ---------------------------------------------------

def test_plain_mode_says_so_in_its_log(edge):
    if edge.scheme == "https":
        assert "EDGE_SCHEME=http" not in edge.log
    else:
        assert "EDGE_SCHEME=http: plain HTTP on every door" in edge.log


@pytest.mark.parametrize("port", DOORS)
def test_every_door_speaks_tls_with_a_certificate_the_ca_vouches_for(tls_edge, port):
    code, out = s_client(tls_edge, port, "-CAfile", str(tls_edge.ca), "-verify_return_error",
                          "-verify_hostname", HOST)
    assert code == 0, out
    assert "Verify return code: 0 (ok)" in out
    # A client that does not trust the issuing CA refuses the connection.
    other = tls_ca.TestCA("Someone else's CA").write(tls_edge.tmp / f"other-ca-{port}.pem")
    status, _ = tls_edge.ns.curl(tls_edge.url(port, "/"), "--cacert", str(other))
    assert status == 0, "curl accepted a certificate from a CA it was not given"


@pytest.mark.parametrize("port", DOORS)
def test_only_tls_1_2_and_1_3_are_offered(tls_edge, port):
    for version in ("-tls1_2", "-tls1_3"):
        code, out = s_client(tls_edge, port, version, "-CAfile", str(tls_edge.ca))
        assert code == 0 and "Verify return code: 0 (ok)" in out, f"{version}: {out}"
    # TLS 1.0 and 1.1: the client is told to allow them (security level 0); the edge refuses.
    for version in ("-tls1", "-tls1_1"):
        code, out = s_client(tls_edge, port, version, "-cipher", "DEFAULT:@SECLEVEL=0")
        assert code != 0, f"{version} was accepted: {out}"
        assert "-----BEGIN CERTIFICATE-----" not in out


@pytest.fixture(scope="module", params=["ecdsa", "rsa"])
def cipher_edge(request):
    """The TLS edge with an ECDSA and with an RSA certificate (many operators' ACME
    certificates are RSA): with RSA, a client may also ask for RSA key exchange."""
    with nh.NamespacePair(list(UPSTREAMS), local_names=[HOST]) as ns:
        ca = tls_ca.TestCA()
        ns.record = ns.start_fakes(UPSTREAMS)
        edge = start_edge(ns, "https", ca.issue([HOST], rsa_key=request.param == "rsa"), ca.write(ns.tmp / "ca.pem"))
        edge.key_type = request.param
        yield edge


WEAK_CIPHERS = {
    "ecdsa": ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384"],   # CBC
    "rsa": ["AES128-SHA", "AES256-GCM-SHA384",          # RSA key exchange: no forward secrecy
            "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES128-SHA256",   # CBC
            "DES-CBC3-SHA:@SECLEVEL=0"],                # 3DES
}
STRONG = {"ecdsa": "ECDHE-ECDSA-AES128-GCM-SHA256", "rsa": "ECDHE-RSA-AES128-GCM-SHA256"}


def test_weak_tls_1_2_ciphers_are_refused(cipher_edge):
    server, key = cipher_edge, cipher_edge.key_type
    for cipher in WEAK_CIPHERS[key]:
        code, out = s_client(server, 3100, "-tls1_2", "-cipher", cipher)
        assert code != 0, f"{cipher} was accepted: {out}"
    # The same client with a modern suite gets in: the refusal is the cipher, not the client.
    code, out = s_client(server, 3100, "-tls1_2", "-cipher", STRONG[key])
    assert code == 0, out


def test_plain_http_on_the_grafana_door_is_redirected_to_https(tls_edge):
    before = _count(tls_edge)
    res = tls_edge.ns.run_in_door(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                                   "--max-time", "10", f"http://{HOST}:3000/d/lookout-uptime?orgId=1"])
    assert res.stdout == f"301 https://{HOST}:3000/d/lookout-uptime?orgId=1"
    assert _count(tls_edge) == before, "a plain-HTTP request reached Grafana"


@pytest.mark.parametrize("port,args", [
    (3100, ["-X", "POST", "-u", "agent:agent-secret-3", "-H", "Content-Type: application/json",
            "--data", '{"streams":[]}']),
    (3100, ["-X", "POST", "-H", "Origin: http://application", "--data", '{"streams":[]}']),
    (9090, ["-u", "prom-admin:prom-secret-1"]),
    (9093, ["-u", "am-admin:am-secret-2"]),
])
def test_plain_http_on_the_other_doors_is_refused(tls_edge, port, args):
    before = _count(tls_edge)
    status, body = tls_edge.ns.curl(f"http://{HOST}:{port}/loki/api/v1/push" if port == 3100 else
                                    f"http://{HOST}:{port}/api/v1/status/buildinfo", *args)
    assert status == 400
    assert "The plain HTTP request was sent to HTTPS port" in body
    assert _count(tls_edge) == before, "a plain-HTTP request reached an upstream"


def test_hsts_on_the_grafana_door(tls_edge):
    for path in ("/", "/logger.js"):
        _, out = tls_edge.curl(3000, path, "-D", "-")
        headers = [line.strip().lower() for line in out.splitlines()]
        assert "strict-transport-security: max-age=63072000" in headers, out


# ---- certificate renewal: the watcher in run-edge.sh ----------------------------------------

@pytest.fixture
def renewing_edge():
    """An edge of its own (the test swaps its certificate), watching every second."""
    with nh.NamespacePair(list(UPSTREAMS), local_names=[HOST]) as ns:
        ca = tls_ca.TestCA()
        first = ca.issue([HOST])
        ns.record = ns.start_fakes(UPSTREAMS)
        edge = start_edge(ns, "https", first, ca.write(ns.tmp / "ca.pem"), env={"EDGE_TLS_WATCH_SECONDS": "1"})
        edge.ca_object, edge.first = ca, first
        yield edge


def test_a_renewed_certificate_is_served_without_a_restart(renewing_edge):
    edge = renewing_edge
    assert served_serial(edge) == edge.first.serial
    master = (edge.tmp / "nginx.pid").read_text().strip()

    renewed = edge.ca_object.issue([HOST])
    # An ACME client's deploy hook: the new files written over the old ones, in the mounted folder.
    tls_ca.write_server_files(edge.etc / "tls", renewed)
    assert nh.wait_for_value(lambda: all(served_serial(edge, p) == renewed.serial for p in DOORS), timeout=20), edge.log
    assert (edge.tmp / "nginx.pid").read_text().strip() == master, "nginx was restarted, not reloaded"
    assert "certificate files changed: reloading nginx" in edge.log

    # A pair nginx cannot use (the key of another certificate): logged, the renewed one stays.
    wrong = edge.ca_object.issue([HOST])
    (edge.etc / "tls" / "fullchain.pem").write_bytes(wrong.cert_pem)
    assert nh.wait_for_value(lambda: "nginx cannot use them" in edge.log, timeout=20), edge.log
    assert served_serial(edge) == renewed.serial
    assert (edge.tmp / "nginx.pid").read_text().strip() == master


def test_renaming_a_file_into_place_is_seen_too(renewing_edge):
    """Tools that write a temporary file and rename it over the old one (install, mv, many
    ACME clients): the folder mount shows the new inode, the watcher sees new contents."""
    edge = renewing_edge
    renewed = edge.ca_object.issue([HOST])
    staging = edge.tmp / "staging"
    tls_ca.write_server_files(staging, renewed)
    for name in ("privkey.pem", "fullchain.pem"):
        (staging / name).rename(edge.etc / "tls" / name)
    assert nh.wait_for_value(lambda: served_serial(edge) == renewed.serial, timeout=20), edge.log


# ---- run-edge.sh refuses to start with a clear message ---------------------------------------

@pytest.mark.parametrize("scheme,certificate,code,message", [
    ("https", False, 1, "/etc/nginx/tls/fullchain.pem is missing or unreadable"),
    ("ftp", True, 64, "EDGE_SCHEME must be https or http, not 'ftp'"),
])
def test_run_edge_refuses_what_nginx_could_not_serve(scheme, certificate, code, message):
    with nh.NamespacePair(list(UPSTREAMS), local_names=[HOST]) as ns:
        ca = tls_ca.TestCA()
        etc = etc_nginx(ns.tmp, ca.issue([HOST]) if certificate else None)
        res = subprocess.run(ns.door_cmd(edge_argv(ns.tmp), {str(etc): "/etc/nginx"}),
                             capture_output=True, text=True, timeout=20, env={**os.environ, "EDGE_SCHEME": scheme})
        assert res.returncode == code, res.stderr
        assert message in res.stderr


def test_runbook_page_on_the_grafana_door(edge):
    """The page the alert emails link to, at the path the rules' links end in, without a
    login and without reaching Grafana."""
    before = _count(edge)
    for path in ("/runbook/", "/runbook/docs/runbook.md"):
        status, body = edge.curl(3000, path, "-D", "-")
        assert status == 200, body[:300]
        assert "content-type: text/html" in body.lower()
        assert 'id="lookoutsitedown"' in body
    assert edge.curl(3000, "/runbook/docs/runbook.md", "-X", "POST")[0] == 403
    assert _count(edge) == before   # served by the edge itself
