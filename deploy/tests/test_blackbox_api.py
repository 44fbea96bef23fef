"""The real Blackbox Exporter with the shipped modules, against local fake upstreams:

- api_json (job blackbox-api): an nginx-style SPA fallback that answers every path with
  index.html and 200 is the API *down*; a backend answering JSON is up.
- TLS: an https site reports the expiry of the chain clients verify (what
  LookoutCertExpiring uses), a plain-http site reports no TLS series at all.
"""
import json
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prom_helpers import BLACKBOX_CONFIG, free_port, running, tool  # noqa: E402
from tls_ca import TestCA  # noqa: E402

BLACKBOX = ("prometheus-blackbox-exporter", "blackbox_exporter")
INDEX = b"<!doctype html><html><head><title>app</title></head><body><div id=app></div></body></html>\n"


class SPAFallback(BaseHTTPRequestHandler):
    """nginx with `try_files $uri /index.html` and the backend gone: every path is the page."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(INDEX)))
        self.end_headers()
        self.wfile.write(INDEX)

    def log_message(self, *args):
        pass


class Backend(BaseHTTPRequestHandler):
    """A FastAPI-like backend: JSON on its routes, JSON errors elsewhere."""

    routes = {
        "/openapi.json": (200, "application/json", {"openapi": "3.1.0", "info": {"title": "app"}}),
        "/api/health": (200, "application/json; charset=utf-8", {"ok": True}),
        "/api/problem": (200, "application/problem+json", {"title": "fine"}),
        "/api/broken": (500, "application/json", {"detail": "Internal Server Error"}),
        "/api/text": (200, "text/plain", "ok"),
        "/api/status": (200, "text/plain", {"status": "ok", "db": "up"}),
        "/api/status-degraded": (200, "text/plain", {"status": "degraded"}),
        "/api/moved": (307, "application/json", {}),
    }

    def do_GET(self):
        status, content_type, payload = self.routes.get(self.path, (404, "application/json", {"detail": "Not Found"}))
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if status == 307:
            self.send_header("Location", "/api/health")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(handler, tls: ssl.SSLContext | None = None):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if tls:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def ca():
    return TestCA()


@pytest.fixture(scope="module")
def blackbox(tmp_path_factory, ca):
    folder = tmp_path_factory.mktemp("blackbox")
    port = free_port()
    # Go reads its trust store from SSL_CERT_FILE: the test CA stands in for a public one.
    env = {"PATH": "/usr/bin:/bin", "SSL_CERT_FILE": str(ca.write(folder / "ca.pem"))}
    cmd = [tool(*BLACKBOX), f"--config.file={BLACKBOX_CONFIG}", f"--web.listen-address=127.0.0.1:{port}"]
    with running(cmd, f"http://127.0.0.1:{port}/-/healthy", folder / "blackbox.log", env=env):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def spa():
    server = serve(SPAFallback)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def backend():
    server = serve(Backend)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def probe(blackbox: str, module: str, target: str) -> dict[str, float]:
    answer = requests.get(f"{blackbox}/probe", params={"module": module, "target": target},
                          headers={"X-Prometheus-Scrape-Timeout-Seconds": "5"}, timeout=15)
    assert answer.status_code == 200, answer.text
    return {sample.name: sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples if not sample.labels}


@pytest.mark.parametrize("path", ["/api/health", "/openapi.json", "/api/anything"])
def test_spa_fallback_is_api_down_although_it_answers_200(blackbox, spa, path):
    metrics = probe(blackbox, "api_json", spa + path)
    assert metrics["probe_http_status_code"] == 200
    assert metrics["probe_success"] == 0
    assert metrics["probe_failed_due_to_regex"] == 1
    # The uptime module calls the same answer up: that is why the API needs its own check.
    assert probe(blackbox, "http_200", spa + path)["probe_success"] == 1


@pytest.mark.parametrize("path", ["/openapi.json", "/api/health", "/api/problem"])
def test_json_answer_is_api_up(blackbox, backend, path):
    metrics = probe(blackbox, "api_json", backend + path)
    assert metrics["probe_success"] == 1, path


@pytest.mark.parametrize("path,status", [
    ("/api/broken", 500),     # JSON, but an error
    ("/api/missing", 404),    # FastAPI's JSON 404: the backend lives, the endpoint does not
    ("/api/text", 200),       # 2xx but not JSON
    ("/api/moved", 307),      # not followed: probe the final URL
])
def test_anything_else_is_api_down(blackbox, backend, path, status):
    metrics = probe(blackbox, "api_json", backend + path)
    assert metrics["probe_success"] == 0, path
    assert metrics["probe_http_status_code"] == status


def test_backend_gone_is_api_down(blackbox):
    assert probe(blackbox, "api_json", f"http://127.0.0.1:{free_port()}/api/health")["probe_success"] == 0


# --- TLS expiry as LookoutCertExpiring sees it -------------------------------------------

def test_https_probe_reports_the_verified_chain_expiry_and_http_reports_none(blackbox, backend, ca, tmp_path):
    issued = ca.issue(["127.0.0.1"], days=10)
    (tmp_path / "cert.pem").write_bytes(issued.cert_pem)
    (tmp_path / "key.pem").write_bytes(issued.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = serve(Backend, tls=context)
    try:
        https = f"https://127.0.0.1:{server.server_address[1]}/api/health"
        not_after = issued.certificate.not_valid_after_utc.timestamp()
        for module in ("http_200", "api_json"):
            metrics = probe(blackbox, module, https)
            assert metrics["probe_success"] == 1, module
            # The server certificate expires first (the CA lasts 30 days): both series agree
            # here; they differ only when the server sends certificates no chain uses.
            assert metrics["probe_ssl_last_chain_expiry_timestamp_seconds"] == not_after
            assert metrics["probe_ssl_earliest_cert_expiry"] == not_after
    finally:
        server.shutdown()
    plain = probe(blackbox, "api_json", backend + "/api/health")
    assert plain["probe_success"] == 1
    assert not [name for name in plain if name.startswith("probe_ssl_")], "plain http must have no TLS series"


# --- the body-regex module blackbox.yml documents, uncommented as the operator would -----

def test_documented_body_regex_module_works_as_written(tmp_path, backend, ca):
    lines = BLACKBOX_CONFIG.read_text().splitlines()
    start = lines.index("  # api_body:")
    block = []
    for line in lines[start:]:
        if not line.startswith("  #"):
            break
        block.append("  " + line[len("  # "):] if line.startswith("  # ") else "")
    config = tmp_path / "blackbox.yml"
    config.write_text("\n".join(lines + ["", *block]) + "\n")
    port = free_port()
    cmd = [tool(*BLACKBOX), f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"]
    with running(cmd, f"http://127.0.0.1:{port}/-/healthy", tmp_path / "blackbox.log"):
        box = f"http://127.0.0.1:{port}"
        assert probe(box, "api_body", backend + "/api/status")["probe_success"] == 1
        assert probe(box, "api_body", backend + "/api/status-degraded")["probe_success"] == 0
        # JSON it is, but not what the regex asks for; the JSON module alone would pass it.
        assert probe(box, "api_json", backend + "/api/health")["probe_success"] == 1
        assert probe(box, "api_body", backend + "/api/health")["probe_success"] == 0
