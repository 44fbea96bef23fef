"""The API check's wiring: the blackbox-api scrape job over targets/api-probes.yml, as a real
Prometheus loads it (default module, a per-target `module` label, the `site` label), and
LookoutApiDown in a real Alertmanager: held back while LookoutSiteDown fires for the same
site, mailed for another site."""
import shutil
import sys
from pathlib import Path

import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prom_helpers import BLACKBOX_CONFIG, PROMETHEUS_DIR, free_port, running, tool, wait_for  # noqa: E402
from test_alertmanager import SITE_DOWN, alert_from_rule, inhibitions, post, smtp, start_alertmanager  # noqa: E402,F401

import pytest  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

API_TARGETS = PROMETHEUS_DIR / "targets" / "api-probes.yml"


def jobs() -> dict:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    return {j["job_name"]: j for j in config["scrape_configs"]}


def test_api_job_probes_its_own_list_every_minute_with_the_json_module():
    api, uptime = jobs()["blackbox-api"], jobs()["blackbox-http"]
    assert api["scrape_interval"] == "1m" and api["metrics_path"] == "/probe"
    assert api["params"]["module"] == ["api_json"]
    assert [f for sd in api["file_sd_configs"] for f in sd["files"]] == ["targets/api-probes.yml"]
    assert api["scrape_timeout"] == uptime["scrape_timeout"]
    module = yaml.safe_load(BLACKBOX_CONFIG.read_text())["modules"]["api_json"]
    assert module["timeout"] == "10s"
    # Every shipped API target has a site, so that LookoutSiteDown can hold back its alert.
    groups = yaml.safe_load(API_TARGETS.read_text())
    assert groups and all(g["labels"].get("site") for g in groups)
    sites = {g["labels"]["site"] for g in yaml.safe_load((PROMETHEUS_DIR / "targets" / "http-probes.yml").read_text())}
    assert {g["labels"]["site"] for g in groups} <= sites


def test_real_prometheus_builds_api_probe_targets(tmp_path):
    """A copy of the Prometheus folder whose API list has a second group naming another
    module; what is checked is what Prometheus made of the files (the names do not resolve)."""
    folder = tmp_path / "prometheus"
    shutil.copytree(PROMETHEUS_DIR, folder)
    groups = yaml.safe_load(API_TARGETS.read_text())
    groups.append({"targets": ["https://shop.example.com/api/status"], "labels": {"site": "shop", "module": "api_body"}})
    (folder / "targets" / "api-probes.yml").write_text(yaml.safe_dump(groups))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [tool("prometheus"), f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
           f"--web.listen-address=127.0.0.1:{port}"]
    with running(cmd, f"{base}/-/ready", tmp_path / "prometheus.log"):
        def api_targets():
            data = requests.get(f"{base}/api/v1/targets", timeout=5).json()["data"]
            found = [t for t in data["activeTargets"] if t["labels"]["job"] == "blackbox-api"]
            return found if len(found) == 2 else None

        targets = {t["labels"]["instance"]: t for t in wait_for(api_targets, 15, "the two API probe targets")}
        default = targets["http://application:80/api/health"]
        assert default["labels"] == {"instance": "http://application:80/api/health", "job": "blackbox-api",
                                     "site": "application"}
        assert default["scrapeUrl"] == ("http://blackbox:9115/probe?module=api_json"
                                        "&target=http%3A%2F%2Fapplication%3A80%2Fapi%2Fhealth")
        other = targets["https://shop.example.com/api/status"]
        assert other["labels"]["module"] == "api_body" and other["labels"]["site"] == "shop"
        assert "module=api_body&" in other["scrapeUrl"]

        rules = requests.get(f"{base}/api/v1/rules", timeout=5).json()["data"]["groups"]
        loaded = {r["name"] for g in rules for r in g["rules"]}
        assert {"LookoutApiDown", "LookoutCertExpiring", "LookoutWatchdog", "probe:ssl_cert_expiry:seconds_left"} <= loaded


API_DOWN = {"job": "blackbox-api", "instance": "http://application:80/api/health", "site": "application"}
SHOP_API_DOWN = {"job": "blackbox-api", "instance": "https://shop.example.com/api/status", "site": "shop"}


def test_site_down_holds_back_api_down_of_the_same_site_only(tmp_path, smtp):
    mailbox, smtp_port = smtp
    context, base = start_alertmanager(tmp_path, smtp_port)
    with context:
        post(base,
             alert_from_rule("LookoutSiteDown", SITE_DOWN, "http://application:80 is down"),
             alert_from_rule("LookoutApiDown", API_DOWN, "http://application:80/api/health is down"),
             alert_from_rule("LookoutApiDown", SHOP_API_DOWN, "https://shop.example.com/api/status is down"))

        state = inhibitions(base, 3)
        assert state[("LookoutApiDown", "application")], "same site: held back by LookoutSiteDown"
        assert not state[("LookoutApiDown", "shop")], "another site: not held back"

        (mail,) = wait_for(lambda: mailbox.with_subject(r"LookoutApiDown \(shop\)"), 60, "the shop API email")
        assert mail["Subject"] == "[FIRING:1] LookoutApiDown (shop)"
        text = mail.get_body(("plain",)).get_content()
        assert "FIRING: LookoutApiDown (critical)" in text
        assert "The API failed two checks in a row while the site may still look up." in text
        assert "docs/runbook.md#lookoutapidown" in text
        wait_for(lambda: mailbox.with_subject(r"LookoutSiteDown \(application\)"), 30, "the SiteDown email")
        assert not mailbox.with_subject(r"LookoutApiDown \(application\)")
