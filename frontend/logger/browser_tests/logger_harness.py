"""Real components for the logger's browser tests and benchmark: an nginx serving test pages,
a recording push endpoint that answers CORS like the collector, endpoints that refuse, hang or
fail, and headless Chromium. Everything binds 127.0.0.1 on a free port and stops cleanly."""
from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LOGGER_DIR = Path(__file__).resolve().parent.parent
REPO = LOGGER_DIR.parent.parent
SCRIPT_URL_LITERAL = "https://monitoring-host:3000/logger.js"
PUSH_URL_LITERAL = "https://monitoring-host:3100/loki/api/v1/push"
PUSH_PATH = "/loki/api/v1/push"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.05):
    """Polls until predicate() is truthy; returns its value or None after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


class Nginx:
    """The real nginx serving one folder, with a config of its own in a temp dir."""

    def __init__(self, root: Path, headers: dict[str, str] | None = None,
                 tls: tuple[Path, Path] | None = None, host: str = "127.0.0.1"):
        """`tls`: (certificate, key) to serve HTTPS with; `host`: the name in `origin` (the
        browser must resolve it to 127.0.0.1, e.g. with --host-resolver-rules)."""
        self.root = root
        self.headers = headers or {}
        self.tls = tls
        self.host = host
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="lookout-nginx-"))
        self.proc = None

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def start(self) -> "Nginx":
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        conf = self.dir / "nginx.conf"
        extra = "".join(f"    add_header {k} \"{v}\" always;\n" for k, v in self.headers.items())
        if self.tls:
            extra += f"    ssl_certificate {self.tls[0]};\n    ssl_certificate_key {self.tls[1]};\n"
        conf.write_text(f"""
worker_processes 1;
# Root's own temp dirs are not readable by an unprivileged worker.
user root;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {self.dir}/body;
  proxy_temp_path {self.dir}/proxy;
  fastcgi_temp_path {self.dir}/fastcgi;
  uwsgi_temp_path {self.dir}/uwsgi;
  scgi_temp_path {self.dir}/scgi;
  types {{ text/html html; application/javascript js; image/svg+xml svg; }}
  server {{
    listen 127.0.0.1:{self.port}{' ssl' if self.tls else ''};
    root {self.root};
    # Every load in a measurement must really fetch what it loads.
    add_header Cache-Control no-store always;
{extra}  }}
}}
""")
        self.proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(self.dir), "-e", str(self.dir / "error.log"),
                                      "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not wait_until(lambda: _port_open(self.port) or self.proc.poll() is not None, 10) or self.proc.poll() is not None:
            err = self.proc.stderr.read().decode() if self.proc.poll() is not None else "timeout"
            raise RuntimeError(f"nginx did not start: {err}")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class RecordingEndpoint:
    """Answers like the Lookout collector: serves logger.js with the push URL literal replaced,
    grants CORS preflights to allowed origins (204), takes pushes as application/json or
    text/plain (204) and records them. mode='http500' answers every GET and POST with 500."""

    def __init__(self, allowed_origins: list[str], mode: str = "up"):
        self.allowed_origins = allowed_origins
        self.mode = mode
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "RecordingEndpoint":
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def pushes(self) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["method"] == "POST"]

    def _handler(self):
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def _record(self, body: bytes = b""):
                with endpoint.lock:
                    endpoint.requests.append({
                        "method": self.command, "path": self.path, "headers": dict(self.headers),
                        "body": body, "time": time.monotonic(),
                    })

            def _cors(self):
                origin = self.headers.get("Origin")
                if origin in endpoint.allowed_origins:
                    self.send_header("Access-Control-Allow-Origin", origin)
                    self.send_header("Vary", "Origin")

            def _answer(self, status: int, body: bytes = b"", ctype: str | None = None):
                self.send_response(status)
                self._cors()
                if ctype:
                    self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._record()
                if endpoint.mode == "http500":
                    return self._answer(500, b"broken", "text/plain")
                if self.path != "/logger.js":
                    return self._answer(404)
                js = (LOGGER_DIR / "logger.min.js").read_text().replace(PUSH_URL_LITERAL, endpoint.base + PUSH_PATH)
                self._answer(200, js.encode(), "application/javascript")

            def do_OPTIONS(self):
                self._record()
                if self.path != PUSH_PATH or self.headers.get("Origin") not in endpoint.allowed_origins:
                    return self._answer(403)
                self.send_response(204)
                self._cors()
                self.send_header("Access-Control-Allow-Methods", "POST")
                self.send_header("Access-Control-Allow-Headers", "Content-Type")
                self.send_header("Access-Control-Max-Age", "600")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._record(body)
                ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                if endpoint.mode == "http500":
                    return self._answer(500, b"broken", "text/plain")
                if self.path != PUSH_PATH or ctype not in ("application/json", "text/plain"):
                    return self._answer(400)
                self._answer(204)

        return Handler


class RefusingPort:
    """A port that refuses connections: bound (so nobody else takes it) but not listening."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        return self

    def stop(self):
        self.sock.close()


class HangingServer:
    """Accepts every connection and never answers: the worst case for a page."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.accepted = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self):
        self.sock.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)
            self.accepted += 1

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        self.thread.join(2)
        for c in self.conns:
            c.close()
        self.sock.close()


def chromium(extra_args: tuple[str, ...] = (), env: dict[str, str] | None = None):
    """Headless Debian Chromium through Debian's chromedriver, with the browser log enabled.
    `env` reaches Chromium too (e.g. a HOME whose NSS database trusts a test CA)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--no-first-run", "--disable-extensions", "--window-size=1024,768",
                "--disable-background-networking", *extra_args):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver", env=env)
    driver = webdriver.Chrome(options=opts, service=service)
    driver.set_page_load_timeout(30)
    return driver


def trusting_home(ca_certificate: Path, folder: Path) -> dict[str, str]:
    """An environment whose HOME has an NSS database trusting `ca_certificate` for TLS servers:
    how Chromium on Linux learns a private CA, as an operator's `certutil -A` would teach it."""
    nssdb = folder / ".pki" / "nssdb"
    nssdb.mkdir(parents=True, exist_ok=True)
    certutil = shutil.which("certutil")
    if not certutil:
        raise RuntimeError("certutil (Debian libnss3-tools) is not installed; scripts/install-deps installs it")
    subprocess.run([certutil, "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True, capture_output=True)
    subprocess.run([certutil, "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "lookout-test-ca",
                    "-i", str(ca_certificate)], check=True, capture_output=True)
    return {**os.environ, "HOME": str(folder)}


# ---- test pages ----------------------------------------------------------------------------

PAGE_TEMPLATE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Lookout logger test page</title>
<script>
  // The page's own detectors: any uncaught exception or rejection, the logger's included.
  window.__errs = 0; window.__rej = 0;
  window.onerror = function () { window.__errs++; };
  window.addEventListener('unhandledrejection', function () { window.__rej++; });
</script>
{head}
</head><body>
<h1>Checkout</h1>
<p>Some text that paints, so that the page has a largest contentful paint to report.</p>
<img id="broken-at-start" src="/missing-at-start.svg" alt="">
<button id="count" onclick="this.textContent = String(+this.textContent + 1)">0</button>
<button id="boom" onclick="throw new Error('boom from button')">throw</button>
<button id="broken" onclick="var i = new Image(); i.src = '/missing-later.svg'; document.body.appendChild(i)">broken image</button>
</body></html>
"""


def loader_snippet(script_url: str) -> str:
    """loader.html exactly as shipped, pointed at script_url (as an operator would edit it)."""
    html = (LOGGER_DIR / "loader.html").read_text().strip()
    assert SCRIPT_URL_LITERAL in html
    return html.replace(SCRIPT_URL_LITERAL, script_url)


def write_page(root: Path, name: str, head: str) -> str:
    (root / name).write_text(PAGE_TEMPLATE.replace("{head}", head))
    return "/" + name


def config_script(endpoint: str) -> str:
    return "<script>window.LookoutConfig = " + json.dumps({"endpoint": endpoint}) + ";</script>"


def load_event_ms(driver, url: str) -> float:
    """Loads url and returns the page's own loadEventEnd (ms from navigation start)."""
    driver.get(url)
    value = wait_until(lambda: driver.execute_script(
        "var n = performance.getEntriesByType('navigation')[0]; return n && n.loadEventEnd;"), 10)
    if not value:
        raise AssertionError(f"{url}: no load event")
    return float(value)


def median_load_times(driver, base: str, with_logger: str, without_logger: str, loads: int) -> tuple[float, float]:
    """Median load-event times of two pages, loads interleaved so that drift hits both alike."""
    load_event_ms(driver, base + without_logger)  # warm-up: first-load costs are not the logger's
    a, b = [], []
    for _ in range(loads):
        a.append(load_event_ms(driver, base + with_logger))
        b.append(load_event_ms(driver, base + without_logger))
    return statistics.median(a), statistics.median(b)
