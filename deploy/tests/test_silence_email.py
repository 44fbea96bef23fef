"""A silence is visible in the email of every alert it does not cover: real Prometheus
(Debian) evaluating the shipped annotations of LookoutSiteDown and LookoutSlowProbe and
scraping a real Alertmanager (started through render-and-run.sh with the shipped config and
template), which mails a local SMTP sink."""
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prom_helpers import ALERTMANAGER_DIR, alerting_rules, free_port, running, tool, wait_for  # noqa: E402
from test_alertmanager import config_with_1s_group_timings, pytestmark, smtp, start_alertmanager  # noqa: E402,F401

EXTERNAL = "http://monitoring-host:9093"   # start_alertmanager's --web.external-url


def shipped_rule(name: str, expr: str, site: str) -> dict:
    """The shipped rule's labels and annotations (templates unexpanded), firing at once."""
    rule = next(r for _, r in alerting_rules() if r["alert"] == name)
    return {"alert": name, "expr": expr, "labels": {**rule["labels"], "site": site},
            "annotations": rule["annotations"]}


def write_rules(folder: Path, name: str, rules: list[dict]):
    (folder / name).write_text(yaml.safe_dump({"groups": [{"name": name, "rules": rules}]}))


def test_email_of_an_uncovered_alert_says_a_silence_is_active(tmp_path, smtp):
    mailbox, smtp_port = smtp
    source = config_with_1s_group_timings(tmp_path)
    am_context, am = start_alertmanager(tmp_path, smtp_port, source)

    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, "before.rules.yml", [shipped_rule("LookoutSiteDown", "vector(1)", "application")])
    am_address = am.removeprefix("http://")
    port = free_port()
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [f"{rules}/*.rules.yml"],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [am_address]}]}]},
        # As deploy/monitoring/prometheus/prometheus.yml does: Alertmanager's own metrics.
        "scrape_configs": [{"job_name": "alertmanager", "static_configs": [{"targets": [am_address]}]}],
    }))
    prometheus = f"http://127.0.0.1:{port}"
    cmd = [tool("prometheus"), f"--config.file={tmp_path / 'prometheus.yml'}",
           f"--storage.tsdb.path={tmp_path / 'prom-data'}", f"--web.listen-address=127.0.0.1:{port}",
           # The first evaluation may come before the Alertmanager is discovered (the alert is
           # then dropped): resend every second instead of every minute.
           "--web.enable-lifecycle", "--rules.alert.resend-delay=1s"]

    def active_silences():
        result = requests.get(f"{prometheus}/api/v1/query", timeout=5,
                              params={"query": 'max(alertmanager_silences{state="active"})'}).json()
        values = [float(s["value"][1]) for s in result["data"]["result"]]
        return values[0] if values else None

    with am_context, running(cmd, f"{prometheus}/-/ready", tmp_path / "prometheus.log"):
        # No silence: the email says nothing about silences.
        (before,) = wait_for(lambda: mailbox.with_subject(r"LookoutSiteDown \(application\)"), 30, "the first email")
        assert "active in Alertmanager" not in before.get_body(("plain",)).get_content()
        assert "active in Alertmanager" not in before.get_body(("html",)).get_content()
        assert wait_for(lambda: active_silences() == 0, 10, "Prometheus scraping Alertmanager") is True

        # A maintenance of the slow probes of the shop.
        now = datetime.now(timezone.utc)
        created = requests.post(f"{am}/api/v2/silences", timeout=5, json={
            "matchers": [{"name": "alertname", "value": "LookoutSlowProbe", "isRegex": False, "isEqual": True}],
            "startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=2)).isoformat(),
            "createdBy": "alice", "comment": "CDN migration"})
        assert created.status_code == 200, created.text
        silence_id = created.json()["silenceID"]
        wait_for(lambda: active_silences() == 1, 15, "alertmanager_silences{state=active} == 1 in Prometheus")

        # Two new alerts: one the silence covers, one it does not.
        write_rules(rules, "after.rules.yml", [shipped_rule("LookoutSiteDown", "vector(1)", "shop"),
                                               shipped_rule("LookoutSlowProbe", "vector(3)", "shop")])
        assert requests.post(f"{prometheus}/-/reload", timeout=10).status_code == 200

        (mail,) = wait_for(lambda: mailbox.with_subject(r"LookoutSiteDown \(shop\)"), 30, "the uncovered alert's email")
        text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
        html = mail.get_body(("html",)).get_content()
        assert text.startswith("NOTE: 1 silence is active in Alertmanager: alerts they match are not emailed.\n"
                               f"Silences: {EXTERNAL}/#/silences (or `lookout silence list`)\n"), text
        assert "FIRING: LookoutSiteDown (critical)" in text
        assert "1 silence is active in Alertmanager" in html
        assert f'href="{EXTERNAL}/#/silences"' in html

        # The covered alert reached Alertmanager, is silenced by it, and was not emailed.
        def slow_probe():
            alerts = requests.get(f"{am}/api/v2/alerts", timeout=5,
                                  params={"filter": 'alertname="LookoutSlowProbe"'}).json()
            return alerts[0]["status"] if alerts else None

        assert wait_for(slow_probe, 10, "LookoutSlowProbe in Alertmanager")["silencedBy"] == [silence_id]
        time.sleep(3)   # three group_wait periods
        assert not mailbox.with_subject(r"LookoutSlowProbe"), "the silence did not hold"
