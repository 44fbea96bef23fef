"""Alertmanager: the render step (env -> config), amtool check-config on its output, and a
real Alertmanager, started through the same render-and-run.sh as the container, sending
real email to a local SMTP server that requires a login (aiosmtpd)."""
import email
import email.policy
import os
import re
import shutil
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prom_helpers import (  # noqa: E402
    ALERTMANAGER_DIR, alerting_rules, free_port, run, running, tool, wait_for,
)

# The SMTP sink deliberately accepts a login without TLS (see the smtp fixture).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

SCRIPT = ALERTMANAGER_DIR / "render-and-run.sh"
ALERTMANAGER = ("prometheus-alertmanager", "alertmanager")
RUNBOOK_BASE = "https://runbooks.test.example/lookout/blob/main/"
GRAFANA = "http://grafana.test.example:3000"


def shell() -> list[str]:
    """busybox sh, the shell of the prom/alertmanager image (scripts/install-deps installs it)."""
    return [tool("busybox"), "sh"]


def make_env(tmp_path: Path, **overrides) -> dict:
    password = tmp_path / "smtp_password"
    password.write_text("pass")
    env = {
        "PATH": os.environ["PATH"],
        "SMTP_SMARTHOST": "smtp.example.com:587",
        "SMTP_FROM": "Lookout <alerts@example.com>",
        "SMTP_AUTH_USERNAME": "user",
        "ALERT_EMAIL_TO": "ops@example.com",
        "GRAFANA_URL": GRAFANA,
        "RUNBOOK_BASE_URL": RUNBOOK_BASE,
        "SMTP_AUTH_PASSWORD_FILE": str(password),
        "LOOKOUT_AM_RENDER_DIR": str(tmp_path / "rendered"),
        "ALERTMANAGER_BIN": tool(*ALERTMANAGER),
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def render(env: dict):
    return run([*shell(), str(SCRIPT), "--render-only"], env=env)


# --- the render step ------------------------------------------------------------------------

def test_committed_config_holds_no_secret():
    source = (ALERTMANAGER_DIR / "alertmanager.yml.in").read_text()
    assert "smtp_auth_password:" not in source
    assert 'smtp_auth_password_file: "${SMTP_AUTH_PASSWORD_FILE}"' in source


def test_rendered_config_has_env_values_and_passes_amtool(tmp_path):
    result = render(make_env(tmp_path))
    assert result.returncode == 0, result.stderr
    rendered = Path(result.stdout.strip())
    text = rendered.read_text()
    assert "${" not in text
    config = yaml.safe_load(text)
    assert config["global"] == {
        "smtp_smarthost": "smtp.example.com:587", "smtp_from": "Lookout <alerts@example.com>",
        "smtp_auth_username": "user", "smtp_auth_password_file": str(tmp_path / "smtp_password"),
        "smtp_require_tls": True,
    }
    assert config["receivers"][0]["email_configs"][0]["to"] == "ops@example.com"
    template = (rendered.parent / "templates" / "lookout.tmpl").read_text()
    assert "${" not in template and RUNBOOK_BASE in template and GRAFANA in template

    check = run([tool("amtool"), "check-config", str(rendered)])
    assert check.returncode == 0, check.stdout + check.stderr
    assert "1 templates" in check.stdout


def test_routing_groups_by_site_and_sends_resolved(tmp_path):
    config = yaml.safe_load(Path(render(make_env(tmp_path)).stdout.strip()).read_text())
    assert config["route"]["group_by"] == ["alertname", "site"]
    assert all(c["send_resolved"] for r in config["receivers"] for c in r.get("email_configs", []))


@pytest.mark.parametrize("override,message", [
    ({"SMTP_SMARTHOST": None}, "SMTP_SMARTHOST is not set"),
    ({"ALERT_EMAIL_TO": ""}, "ALERT_EMAIL_TO is not set"),
    ({"SMTP_SMARTHOST": "smtp.example.com"}, "must be host:port"),
    ({"SMTP_FROM": 'a"b@example.com'}, "not allowed"),
    ({"ALERT_EMAIL_TO": "{{ .Status }}@example.com"}, "not allowed"),
    ({"GRAFANA_URL": "monitoring-host:3000"}, "must start with http"),
    ({"SMTP_REQUIRE_TLS": "yes"}, "must be true or false"),
    ({"SMTP_AUTH_PASSWORD_FILE": "/nonexistent/smtp_password"}, "password file"),
])
def test_bad_environment_is_refused_with_a_clear_message(tmp_path, override, message):
    result = render(make_env(tmp_path, **override))
    assert result.returncode == 64
    assert message in result.stderr
    assert not (tmp_path / "rendered" / "alertmanager.yml").exists()


def test_password_file_with_newline_is_flagged(tmp_path):
    """Alertmanager 0.25 (Debian) sends "pass\\n" as the password; the image trims it."""
    env = make_env(tmp_path)
    Path(env["SMTP_AUTH_PASSWORD_FILE"]).write_text("pass\n")
    result = render(env)
    assert result.returncode == 0, result.stderr
    assert "contains a newline" in result.stderr
    assert "newline" not in render(make_env(tmp_path)).stderr


# --- a real Alertmanager sending real mail ------------------------------------------------

class Mailbox:
    """aiosmtpd handler: keeps every message and the credentials it was sent with."""

    def __init__(self):
        self.messages, self.logins = [], []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"user", b"pass"))

    def with_subject(self, pattern: str):
        with self.lock:
            return [m for m in self.messages if re.search(pattern, m["Subject"])]


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    # Login required, offered without TLS: Go's SMTP client allows that only to 127.0.0.1.
    # PLAIN only: aiosmtpd's LOGIN prompts "User Name" where servers (and Alertmanager)
    # use "Username:", which Alertmanager rejects as an unexpected challenge.
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(),
                            authenticator=mailbox.authenticate, auth_required=True,
                            auth_require_tls=False, auth_exclude_mechanism=["LOGIN"])
    controller.start()
    yield mailbox, controller.port
    controller.stop()


def start_alertmanager(tmp_path: Path, smtp_port: int, source_dir: Path = ALERTMANAGER_DIR):
    port = free_port()
    env = make_env(tmp_path, SMTP_SMARTHOST=f"127.0.0.1:{smtp_port}", SMTP_REQUIRE_TLS="false",
                   LOOKOUT_AM_SOURCE_DIR=str(source_dir))
    cmd = [*shell(), str(source_dir / "render-and-run.sh"),
           f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
           "--cluster.listen-address=", "--web.external-url=http://monitoring-host:9093"]
    return running(cmd, f"http://127.0.0.1:{port}/-/ready", tmp_path / "alertmanager.log",
                   env=env), f"http://127.0.0.1:{port}"


def alert_from_rule(name: str, labels: dict, description: str, ends_at: datetime | None = None,
                    active_silences: str = ""):
    """An alert as Prometheus would send it for rule `name`: the rule's own annotations, with
    the templated ones as Prometheus expands them (test_silence_email.py lets Prometheus do it)."""
    rule = next(r for _, r in alerting_rules() if r["alert"] == name)
    now = datetime.now(timezone.utc)
    alert = {
        "labels": {"alertname": name, **rule["labels"], **labels},
        "annotations": {**rule["annotations"], "description": description, "active_silences": active_silences},
        "startsAt": (now - timedelta(minutes=3)).isoformat(),
        "generatorURL": "http://monitoring-host:9090/graph?g0.expr=probe_success",
    }
    if ends_at:
        alert["endsAt"] = ends_at.isoformat()
    return alert


def post(base: str, *alerts):
    answer = requests.post(f"{base}/api/v2/alerts", json=list(alerts), timeout=5)
    assert answer.status_code == 200, answer.text


def inhibitions(base: str, count: int) -> dict:
    """(alertname, site) -> the fingerprints inhibiting it, once Alertmanager holds `count` alerts."""
    def state():
        alerts = requests.get(f"{base}/api/v2/alerts", timeout=5).json()
        return {(a["labels"]["alertname"], a["labels"]["site"]): a["status"]["inhibitedBy"]
                for a in alerts} if len(alerts) == count else None
    return wait_for(state, 10, f"the {count} alerts in Alertmanager")


SITE_DOWN = {"job": "blackbox-http", "instance": "http://application:80", "site": "application"}


def test_firing_email_with_runbook_and_grafana_links_and_inhibition(tmp_path, smtp):
    """The shipped config unchanged (group_wait 30s): the mail arrives within about 30 s."""
    mailbox, smtp_port = smtp
    context, base = start_alertmanager(tmp_path, smtp_port)
    with context:
        post(base,
             alert_from_rule("LookoutSiteDown", SITE_DOWN, "http://application:80 is down"),
             alert_from_rule("LookoutHighErrorRate", {"site": "application"}, "errors on application"),
             alert_from_rule("LookoutHighErrorRate", {"site": "shop"}, "errors on shop"))

        state = inhibitions(base, 3)
        assert state[("LookoutHighErrorRate", "application")], "same site: silenced by SiteDown"
        assert not state[("LookoutHighErrorRate", "shop")], "another site: not silenced"
        assert not state[("LookoutSiteDown", "application")]

        (mail,) = wait_for(lambda: mailbox.with_subject(r"LookoutSiteDown"), 60, "the SiteDown email")
        assert mail["Subject"] == "[FIRING:1] LookoutSiteDown (application)"
        assert mail["To"] == "ops@example.com"
        assert mail["From"] == "Lookout <alerts@example.com>"
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        runbook = RUNBOOK_BASE + "docs/runbook.md#lookoutsitedown"
        dashboard = GRAFANA + "/d/lookout-uptime?var-site=application"
        assert f"Runbook:   {runbook}" in text
        assert f"Dashboard: {dashboard}" in text
        assert "The site failed two uptime checks in a row." in text
        assert "http://application:80 is down" in text
        assert f'href="{runbook}"' in html and f'href="{dashboard}"' in html

        wait_for(lambda: mailbox.with_subject(r"LookoutHighErrorRate \(shop\)"), 30, "the shop email")
        assert not mailbox.with_subject(r"LookoutHighErrorRate \(application\)")
    # The password came from the file, the login from the environment.
    assert set(mailbox.logins) == {(b"user", b"pass")}


def config_with_1s_group_timings(tmp_path):
    """A copy of the shipped Alertmanager folder whose config differs only in 1 s group
    timings (group_wait, group_interval), so mail tests take seconds, not minutes."""
    source = tmp_path / "alertmanager-src"
    shutil.copytree(ALERTMANAGER_DIR, source)
    config = source / "alertmanager.yml.in"
    text = config.read_text()
    for key in ("group_wait", "group_interval"):
        text, count = re.subn(rf"(?m)^  {key}: \S+$", f"  {key}: 1s", text)
        assert count == 1, key
    config.write_text(text)
    return source


def test_resolved_email(tmp_path, smtp):
    """Resolved mails go out on the next group interval (5 min as shipped); this copy of the
    config differs only in shorter group timings, so the test takes seconds."""
    mailbox, smtp_port = smtp
    source = config_with_1s_group_timings(tmp_path)

    context, base = start_alertmanager(tmp_path, smtp_port, source)
    with context:
        down = alert_from_rule("LookoutSiteDown", SITE_DOWN, "http://application:80 is down")
        post(base, down)
        wait_for(lambda: mailbox.with_subject(r"^\[FIRING:1\] LookoutSiteDown"), 30, "the firing email")
        post(base, {**down, "endsAt": datetime.now(timezone.utc).isoformat()})
        (mail,) = wait_for(lambda: mailbox.with_subject(r"^\[RESOLVED\] LookoutSiteDown"), 30,
                           "the resolved email")
    text = mail.get_body(("plain",)).get_content()
    assert "RESOLVED: LookoutSiteDown (critical)" in text
    assert RUNBOOK_BASE + "docs/runbook.md#lookoutsitedown" in text
