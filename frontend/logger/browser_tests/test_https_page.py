"""(d) An HTTPS site: headless Chromium opens a page served over HTTPS that carries the shipped
loader snippet unchanged (it loads https://monitoring-host:3000/logger.js), through the real
edge config (deploy/monitoring/edge: TLS on every door, only addresses and paths moved) and the
real collector (`lookout serve`), and the page's events reach Loki: the real Loki where it is on
PATH, else a recording stand-in (lab/fake_loki.py) that verifies nothing about Loki itself.

Chromium trusts the test CA the way an operator's browser would trust the private CA of
`lookout init --tls`: the CA in its NSS database (certutil), no certificate errors ignored.
The same page with an http:// push URL shows why TLS is needed: the browser blocks it as
mixed content and nothing arrives.
"""
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import requests

import logger_harness as h

sys.path.insert(0, str(h.REPO / "deploy" / "tests"))
import tls_ca  # noqa: E402
from grafana_binaries import grafana_binary  # noqa: E402

EDGE_DIR = h.REPO / "deploy" / "monitoring" / "edge"
LOOKOUT = h.REPO / ".build" / "debug" / "lookout"
# The edge keeps its real door ports (the shipped loader names :3000, the push URL :3100) on a
# loopback address of its own; Chromium maps the names there.
EDGE_IP = "127.0.78.3"
HOST = "monitoring-host"
APP = "application"
LOKI = grafana_binary("loki")


def _port_free(ip: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((ip, port))
            return True
        except OSError:
            return False


def _wait_http(url: str, timeout: float = 30, **kw) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1, **kw).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@contextmanager
def process(argv: list[str], log: Path):
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def edge_config(tmp: Path, upstreams: dict[str, str], tls_dir: Path) -> Path:
    """The edge folder with only addresses and paths changed: doors on EDGE_IP, each upstream
    where this test runs it, the htpasswd files and the certificate where compose mounts them."""
    edge = tmp / "edge"
    shutil.copytree(EDGE_DIR, edge)
    secrets = tmp / "secrets"
    secrets.mkdir()
    for door in ("prometheus", "alertmanager", "agents"):
        (secrets / f"{door}.htpasswd").write_text("nobody:$2y$05$invalidinvalidinvalidinvalidinvalidinvalidinvalidinv\n")
    for conf in edge.rglob("*.conf"):
        text = conf.read_text()
        text = re.sub(r"(upstream\s+(\S+)\s*\{\s*server\s+)[\w.-]+:\d+",
                      lambda m: m.group(1) + upstreams.get(m.group(2), "127.0.0.1:1"), text)
        text = re.sub(r"\blisten\s+(?:[0-9.]+:)?(\d+)", rf"listen {EDGE_IP}:\1", text)
        text = text.replace("/etc/nginx/secrets/", f"{secrets}/").replace("/etc/nginx/tls/", f"{tls_dir}/")
        conf.write_text(text)
    return edge / "nginx.conf"


class Stack:
    """Everything between the browser and Loki, started once for the module."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.ca = tls_ca.TestCA("Lookout browser-test CA")
        self.ca_file = self.ca.write(tmp / "ca.pem")
        self.loki_record = tmp / "pushes.jsonl"
        self.real_loki = LOKI is not None


@pytest.fixture(scope="module")
def stack():
    if not LOOKOUT.exists():
        pytest.fail(f"{LOOKOUT} missing: the browser stage runs after `swift build` (scripts/test swift)")
    busy = [p for p in (3000, 3100, 8099, 9090, 9093) if not _port_free(EDGE_IP, p)]
    if busy:
        pytest.skip(f"ports {busy} on {EDGE_IP} are taken (another run of this test?)")
    tmp = Path(tempfile.mkdtemp(prefix="lookout-https-"))
    tmp.chmod(0o755)
    s = Stack(tmp)
    with ExitStack() as stack:
        # Loki: real where installed, else the recording stand-in.
        if s.real_loki:
            from dashboard_services import loki_server
            s.loki = stack.enter_context(loki_server())
        else:
            port = h.free_port()
            stack.enter_context(process([sys.executable, str(h.REPO / "lab" / "fake_loki.py"), "--bind", "127.0.0.1",
                                         "--port", str(port), "--record", str(s.loki_record)], tmp / "fake-loki.log"))
            s.loki = f"http://127.0.0.1:{port}"
            _wait_http(s.loki + "/ready")
        # The HTTPS page, on a name of its own (its certificate is for "application").
        site = tmp / "site"
        site.mkdir()
        site.chmod(0o755)
        page_tls = tls_ca.write_server_files(tmp / "page-tls", s.ca.issue([APP]))
        (page_tls / "privkey.pem").chmod(0o644)  # the harness nginx's workers read it as root anyway
        s.page = h.Nginx(site, tls=(page_tls / "fullchain.pem", page_tls / "privkey.pem"), host=APP).start()
        stack.callback(s.page.stop)
        s.site = site
        # The collector behind the edge, allowing the page's origin, telling browsers the HTTPS push URL.
        collector_port = h.free_port()
        stack.enter_context(process([str(LOOKOUT), "serve", "--listen", f"127.0.0.1:{collector_port}",
                                     "--loki-url", s.loki, "--allowed-origins", s.page.origin,
                                     "--public-push-url", f"https://{HOST}:3100/loki/api/v1/push",
                                     "--logger-js", str(h.LOGGER_DIR / "logger.min.js")], tmp / "collector.log"))
        _wait_http(f"http://127.0.0.1:{collector_port}/logger.js")
        # The edge: the repository's config with TLS, its certificate for monitoring-host.
        edge_tls = tls_ca.write_server_files(tmp / "edge-tls", s.ca.issue([HOST]))
        conf = edge_config(tmp, {"collector": f"127.0.0.1:{collector_port}",
                                 "loki": s.loki.removeprefix("http://")}, edge_tls)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        stack.enter_context(process([nginx, "-p", str(tmp), "-e", "stderr", "-c", str(conf),
                                     "-g", f"pid {tmp}/edge.pid; daemon off;"], tmp / "edge.log"))
        _wait_http(f"http://{EDGE_IP}:8099/healthz")
        # Chromium: names mapped to the test's addresses, the CA trusted through NSS.
        env = h.trusting_home(s.ca_file, tmp / "home")
        s.browser = h.chromium((f"--host-resolver-rules=MAP {HOST} {EDGE_IP}, MAP {APP} 127.0.0.1",), env=env)
        stack.callback(s.browser.quit)
        yield s
    shutil.rmtree(tmp, ignore_errors=True)


def frontend_lines(s: Stack, marker: str) -> list[dict]:
    """Events of this page (by its marker in `page`) that reached Loki, with their labels."""
    found = []
    if s.real_loki:
        query = urllib.parse.urlencode({"query": '{app="frontend"}', "limit": "1000",
                                        "start": str(int((time.time() - 600) * 1e9))})
        answer = requests.get(f"{s.loki}/loki/api/v1/query_range?{query}", timeout=10).json()
        for stream in answer.get("data", {}).get("result", []):
            for _, line in stream["values"]:
                event = json.loads(line)
                if marker in event.get("page", ""):
                    found.append({**event, "labels": stream["stream"]})
    elif s.loki_record.exists():
        for record in s.loki_record.read_text().splitlines():
            for stream in json.loads(record)["streams"]:
                for _, line in stream["values"]:
                    event = json.loads(line)
                    if marker in event.get("page", ""):
                        found.append({**event, "labels": stream["stream"]})
    return found


def open_page(s: Stack, name: str, head: str) -> None:
    page = h.write_page(s.site, name, head)
    s.browser.get("about:blank")
    s.browser.get_log("browser")
    s.browser.get(s.page.origin + page)


def test_https_page_loads_logger_from_the_https_edge_and_its_events_reach_loki(stack):
    s = stack
    snippet = (h.LOGGER_DIR / "loader.html").read_text().strip()
    assert h.SCRIPT_URL_LITERAL == f"https://{HOST}:3000/logger.js" and h.SCRIPT_URL_LITERAL in snippet
    open_page(s, "https-shop.html", snippet)   # the loader exactly as shipped
    assert s.browser.execute_script("return location.protocol") == "https:"
    # logger.js was fetched from its https:// URL on the edge (a resource timing entry of that
    # name; the handshake details are hidden cross-origin without Timing-Allow-Origin).
    fetched = h.wait_until(lambda: s.browser.execute_script(
        "var e = performance.getEntriesByName(arguments[0])[0]; return e && e.responseEnd;", h.SCRIPT_URL_LITERAL), 15)
    assert fetched, f"logger.js was not loaded from {h.SCRIPT_URL_LITERAL}: {s.browser.get_log('browser')}"
    s.browser.find_element("id", "boom").click()
    def arrived():
        events = frontend_lines(s, "https-shop.html")
        boom = [e for e in events if e["kind"] == "error" and "boom from button" in e["message"]]
        return events if boom and any(e["kind"] == "pageload" for e in events) else None

    events = h.wait_until(arrived, 30, 0.5)
    where = "Loki" if s.real_loki else "the Loki stand-in (lab/fake_loki.py)"
    assert events, f"no pageload and button error in {where}; browser log: {s.browser.get_log('browser')}"
    error = next(e for e in events if e["kind"] == "error" and "boom from button" in e["message"])
    assert error["labels"]["app"] == "frontend" and error["labels"]["kind"] == "error"
    log = s.browser.get_log("browser")
    assert not [e for e in log if "Mixed Content" in e["message"] or "ERR_CERT" in e["message"]], log


def test_an_http_push_url_from_an_https_page_is_blocked_as_mixed_content(stack):
    """What `lookout check` refuses (an https origin with an http push URL), in the browser."""
    s = stack
    snippet = h.loader_snippet(h.SCRIPT_URL_LITERAL)
    head = h.config_script(f"http://{HOST}:3100/loki/api/v1/push") + snippet
    open_page(s, "https-mixed.html", head)
    s.browser.find_element("id", "boom").click()
    blocked = h.wait_until(lambda: [e for e in s.browser.get_log("browser") if "Mixed Content" in e["message"]], 15)
    assert blocked, "Chromium did not block the http push from an https page"
    time.sleep(2)
    assert frontend_lines(s, "https-mixed.html") == [], "an event arrived through a blocked request"
    # The page itself kept working.
    assert s.browser.execute_script("return window.__errs") >= 1
