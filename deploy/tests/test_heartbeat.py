"""The dead man's switch: LookoutWatchdog reaches the heartbeat receiver (HEARTBEAT_URL) and
never the email receiver. The render step with the URL set, plain http and unset, and a
real Alertmanager (through render-and-run.sh, as in the container) posting to a real
webhook sink, again and again at the heartbeat interval."""
import json
import re
import shutil
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prom_helpers import ALERTMANAGER_DIR, free_port, run, running, tool, wait_for  # noqa: E402
from test_alertmanager import (  # noqa: E402,F401  (smtp is a fixture)
    SITE_DOWN, alert_from_rule, make_env, post, render, shell, smtp,
)

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

PING = "https://hc-ping.example.com/0f3c6a1e-7d5b-4c1a-9e2f-1a2b3c4d5e6f"


def watchdog_route(config: dict) -> dict:
    return next(r for r in config["route"]["routes"] if 'alertname="LookoutWatchdog"' in r.get("matchers", []))


def receivers(config: dict) -> dict:
    return {r["name"]: r for r in config["receivers"]}


# --- the render step ------------------------------------------------------------------------

def test_heartbeat_on_renders_the_webhook_and_passes_amtool(tmp_path):
    result = render(make_env(tmp_path, HEARTBEAT_URL=PING + "?rid=1&x=2"))
    assert result.returncode == 0, result.stderr
    assert "heartbeat on: LookoutWatchdog goes to https://hc-ping.example.com" in result.stderr
    # The ping URL's token is nobody's business in a log.
    assert "0f3c6a1e" not in result.stderr
    rendered = Path(result.stdout.strip())
    config = yaml.safe_load(rendered.read_text())
    assert config["route"]["routes"][0] == watchdog_route(config), "the watchdog route must come first"
    assert watchdog_route(config)["receiver"] == "heartbeat"
    assert "continue" not in watchdog_route(config)
    (hook,) = receivers(config)["heartbeat"]["webhook_configs"]
    assert hook == {"url": PING + "?rid=1&x=2", "send_resolved": False, "max_alerts": 1}
    check = run([tool("amtool"), "check-config", str(rendered)])
    assert check.returncode == 0, check.stdout + check.stderr


def test_heartbeat_off_keeps_the_route_without_any_integration(tmp_path):
    for env in (make_env(tmp_path), make_env(tmp_path, HEARTBEAT_URL="")):
        result = render(env)
        assert result.returncode == 0, result.stderr
        assert "heartbeat off (HEARTBEAT_URL is empty)" in result.stderr
        rendered = Path(result.stdout.strip())
        config = yaml.safe_load(rendered.read_text())
        # Still routed away from email, to a receiver that sends nothing.
        assert watchdog_route(config)["receiver"] == "heartbeat"
        assert receivers(config)["heartbeat"] == {"name": "heartbeat"}
        assert "webhook" not in rendered.read_text()
        check = run([tool("amtool"), "check-config", str(rendered)])
        assert check.returncode == 0, check.stdout + check.stderr


def test_plain_http_heartbeat_is_accepted_with_a_warning(tmp_path):
    result = render(make_env(tmp_path, HEARTBEAT_URL="http://sink.lab:8080/ping"))
    assert result.returncode == 0, result.stderr
    assert "warning: HEARTBEAT_URL is plain http (sink.lab:8080)" in result.stderr


@pytest.mark.parametrize("url,message", [
    ("hc-ping.com/abc", "must start with https://"),
    ("ftp://hc-ping.com/abc", "must start with https://"),
    ('https://hc-ping.com/a"b', "not allowed"),
    ("https://hc-ping.com/{{ .Status }}", "not allowed"),
    ("https://hc-ping.com/a b", "not allowed"),
])
def test_bad_heartbeat_url_is_refused_without_printing_it(tmp_path, url, message):
    result = render(make_env(tmp_path, HEARTBEAT_URL=url))
    assert result.returncode == 64
    assert message in result.stderr
    assert "hc-ping.com" not in result.stderr
    assert not (tmp_path / "rendered" / "alertmanager.yml").exists()


# --- a real Alertmanager posting the heartbeat ----------------------------------------------

class Sink(BaseHTTPRequestHandler):
    """A webhook sink, as an external heartbeat service is one: records every POST."""
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append((time.monotonic(), self.path, json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args):
        pass


@pytest.fixture
def sink():
    Sink.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Sink.received
    server.shutdown()
    server.server_close()


GROUP_INTERVAL, REPEAT_INTERVAL = 1, 3


def shortened_source(tmp_path: Path) -> Path:
    """The shipped config with only the timings shortened: the heartbeat route repeats every
    3 s (1 s ticks) instead of every minute (30 s ticks), the email route waits 1 s."""
    source = tmp_path / "alertmanager-src"
    shutil.copytree(ALERTMANAGER_DIR, source)
    config = source / "alertmanager.yml.in"
    text = config.read_text()
    route = re.search(r"(?ms)^    - matchers: \['alertname=\"LookoutWatchdog\"'\]\n(?:      .*\n)+", text)
    assert route, "no watchdog route in alertmanager.yml.in"
    short = re.sub(r"group_interval: \S+", f"group_interval: {GROUP_INTERVAL}s", route.group(0))
    short = re.sub(r"repeat_interval: \S+", f"repeat_interval: {REPEAT_INTERVAL}s", short)
    text = text.replace(route.group(0), short)
    for key in ("group_wait", "group_interval"):
        text, count = re.subn(rf"(?m)^  {key}: \S+$", f"  {key}: 1s", text)
        assert count == 1, key
    config.write_text(text)
    return source


def start(tmp_path: Path, smtp_port: int, heartbeat_url: str):
    source = shortened_source(tmp_path)
    port = free_port()
    env = make_env(tmp_path, SMTP_SMARTHOST=f"127.0.0.1:{smtp_port}", SMTP_REQUIRE_TLS="false",
                   LOOKOUT_AM_SOURCE_DIR=str(source), HEARTBEAT_URL=heartbeat_url)
    cmd = [*shell(), str(source / "render-and-run.sh"),
           f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
           "--cluster.listen-address=", "--web.external-url=http://monitoring-host:9093"]
    return running(cmd, f"http://127.0.0.1:{port}/-/ready", tmp_path / "alertmanager.log",
                   env=env), f"http://127.0.0.1:{port}"


def watchdog():
    return alert_from_rule("LookoutWatchdog", {}, "Prometheus http://monitoring-host:9090 is evaluating its rules")


def test_heartbeat_repeats_at_its_interval_and_never_reaches_email(tmp_path, smtp, sink):
    mailbox, smtp_port = smtp
    url, received = sink
    context, base = start(tmp_path, smtp_port, url + "/ping/token-123")
    with context:
        post(base, watchdog(), alert_from_rule("LookoutSiteDown", SITE_DOWN, "http://application:80 is down"))
        wait_for(lambda: len(received) >= 5, 30, "five heartbeats")
        wait_for(lambda: mailbox.with_subject("LookoutSiteDown"), 30, "the SiteDown email")
        time.sleep(2)   # one more email tick: the watchdog would have been mailed by now
    at = [t for t, _, _ in received]
    gaps = [b - a for a, b in zip(at, at[1:])]
    # Re-sent once the last send is older than repeat_interval, at the next 1-s tick.
    assert all(REPEAT_INTERVAL - 0.5 <= gap <= REPEAT_INTERVAL + GROUP_INTERVAL + 1.5 for gap in gaps), gaps
    for _, path, body in received:
        assert path == "/ping/token-123"
        assert body["receiver"] == "heartbeat" and body["status"] == "firing"
        assert [a["labels"]["alertname"] for a in body["alerts"]] == ["LookoutWatchdog"]
    # The email receiver got the real alert, and nothing about the watchdog.
    assert not mailbox.with_subject("LookoutWatchdog")
    assert all("LookoutWatchdog" not in m.get_body(("plain",)).get_content() for m in mailbox.messages)
    print(f"heartbeat gaps with repeat_interval {REPEAT_INTERVAL}s, group_interval {GROUP_INTERVAL}s:",
          [round(g, 2) for g in gaps])


def test_without_heartbeat_url_the_watchdog_goes_nowhere(tmp_path, smtp):
    mailbox, smtp_port = smtp
    context, base = start(tmp_path, smtp_port, "")
    with context:
        post(base, watchdog(), alert_from_rule("LookoutSiteDown", SITE_DOWN, "http://application:80 is down"))
        wait_for(lambda: mailbox.with_subject("LookoutSiteDown"), 30, "the SiteDown email")
        # It is in Alertmanager, routed to the receiver without integrations...
        alerts = requests.get(f"{base}/api/v2/alerts", params={"filter": 'alertname="LookoutWatchdog"'}, timeout=5).json()
        assert [a["receivers"] for a in alerts] == [[{"name": "heartbeat"}]]
        time.sleep(REPEAT_INTERVAL + 2)
    # ...and never mailed.
    assert not mailbox.with_subject("LookoutWatchdog")
    assert all("LookoutWatchdog" not in m.get_body(("plain",)).get_content() for m in mailbox.messages)
