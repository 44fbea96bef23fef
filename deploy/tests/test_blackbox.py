"""Blackbox Exporter: the shipped config passes --config.check, and the real exporter with
the http_200 module calls a local site up only when it answers HTTP 200."""
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prom_helpers import BLACKBOX_CONFIG, free_port, run, running, tool  # noqa: E402

BLACKBOX = ("prometheus-blackbox-exporter", "blackbox_exporter")
SLOW_SECONDS = 4


class Site(BaseHTTPRequestHandler):
    """The pages the probes visit: one per outcome the module must tell apart."""

    def do_GET(self):
        if self.path == "/slow":
            time.sleep(SLOW_SECONDS)
        status, headers = {
            "/ok": (200, {}),
            "/slow": (200, {}),
            "/missing": (404, {}),
            "/error": (500, {}),
            "/moved": (302, {"Location": "/ok"}),
        }.get(self.path, (404, {}))
        body = b"lookout test page\n"
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # blackbox gave up on /slow
            pass

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def blackbox(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("blackbox") / "blackbox.log"
    cmd = [tool(*BLACKBOX), f"--config.file={BLACKBOX_CONFIG}",
           f"--web.listen-address=127.0.0.1:{port}"]
    with running(cmd, f"http://127.0.0.1:{port}/-/healthy", log):
        yield f"http://127.0.0.1:{port}"


def probe(blackbox: str, target: str) -> dict[str, float]:
    """One probe as Prometheus does it. The scrape-timeout header makes blackbox give up
    after 3 s - 0.5 s, instead of the module's 10 s, so the timeout case stays quick."""
    answer = requests.get(f"{blackbox}/probe", params={"module": "http_200", "target": target},
                          headers={"X-Prometheus-Scrape-Timeout-Seconds": "3"}, timeout=15)
    assert answer.status_code == 200, answer.text
    return {sample.name: sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples if not sample.labels}


def test_config_check():
    result = run([tool(*BLACKBOX), "--config.check", f"--config.file={BLACKBOX_CONFIG}"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Config file is ok" in result.stdout + result.stderr


def test_http_200_is_up(blackbox, site):
    metrics = probe(blackbox, f"{site}/ok")
    assert metrics["probe_success"] == 1
    assert metrics["probe_http_status_code"] == 200


@pytest.mark.parametrize("path,status", [("/missing", 404), ("/error", 500), ("/moved", 302)])
def test_any_other_status_is_down(blackbox, site, path, status):
    metrics = probe(blackbox, f"{site}{path}")
    assert metrics["probe_success"] == 0
    # The redirect is not followed: the answer of the probed URL itself is what counts.
    assert metrics["probe_http_status_code"] == status


def test_no_answer_in_time_is_down(blackbox, site):
    started = time.monotonic()
    metrics = probe(blackbox, f"{site}/slow")
    assert metrics["probe_success"] == 0
    assert time.monotonic() - started < SLOW_SECONDS, "blackbox waited for the slow answer"


def test_connection_refused_is_down(blackbox):
    metrics = probe(blackbox, f"http://127.0.0.1:{free_port()}/")
    assert metrics["probe_success"] == 0
