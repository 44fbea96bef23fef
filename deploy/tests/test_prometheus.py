"""Prometheus config and alert rules: promtool checks, the rules' unit tests, the contract
with docs/signals.md and docs/runbook.md, and a real Prometheus loading the config."""
import json
import re
import sys
from pathlib import Path

import pytest
import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prom_helpers import (  # noqa: E402
    BLACKBOX_CONFIG, DASHBOARDS_DIR, PROMETHEUS_DIR, RULES_DIR, RUNBOOK, SIGNALS,
    alerting_rules, free_port, rule_files, runbook_anchors, running, run, tool, wait_for,
)

CONFIG = PROMETHEUS_DIR / "prometheus.yml"
TARGETS = PROMETHEUS_DIR / "targets" / "http-probes.yml"
SEVERITIES = {"critical", "warning", "info"}
RUNBOOK_URL = re.compile(r"^docs/runbook\.md#([a-z0-9-]+)$")


def config() -> dict:
    return yaml.safe_load(CONFIG.read_text())


def job(name: str) -> dict:
    jobs = {j["job_name"]: j for j in config()["scrape_configs"]}
    assert name in jobs, f"no scrape job {name!r} in prometheus.yml (jobs: {sorted(jobs)})"
    return jobs[name]


def services_from_signals() -> dict[str, int]:
    """`name` -> port from the "Hosts and services" table of docs/signals.md."""
    services = {}
    for name, port in re.findall(r"^\| `([\w-]+)` \| (\d+) \|", SIGNALS.read_text(), re.M):
        services[name] = int(port)
    assert services, "could not read the services table of docs/signals.md"
    return services


# --- promtool ---------------------------------------------------------------------------

def test_promtool_check_config():
    result = run([tool("promtool"), "check", "config", str(CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr
    # The glob must find the rule files (and promtool then checks them as well).
    assert f"SUCCESS: {len(rule_files())} rule files found" in result.stdout + result.stderr


@pytest.mark.parametrize("path", rule_files(), ids=lambda p: p.name)
def test_promtool_check_rules(path):
    result = run([tool("promtool"), "check", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", rule_files(), ids=lambda p: p.name)
def test_promtool_unit_tests(path):
    sibling = path.with_name(path.name.replace(".rules.yml", "_test.yml"))
    assert sibling.exists(), f"{path.name} has no sibling unit test {sibling.name}"
    tested = yaml.safe_load(sibling.read_text())["rule_files"]
    assert tested == [path.name], f"{sibling.name} must test {path.name}, not {tested}"
    result = run([tool("promtool"), "test", "rules", sibling.name], cwd=RULES_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_glob_loads_rules_but_not_their_tests():
    globs = config()["rule_files"]
    loaded = {p for g in globs for p in PROMETHEUS_DIR.glob(g)}
    assert loaded == set(rule_files())
    assert not [p for p in loaded if p.name.endswith("_test.yml")]


# --- every alert: labels, annotations, runbook, tests --------------------------------------

def test_alert_names_match_signals_md():
    section = SIGNALS.read_text().split("## Alerts", 1)[1]
    documented = set(re.findall(r"`(Lookout\w+)`", section))
    defined = {rule["alert"] for _, rule in alerting_rules()}
    assert defined == documented


@pytest.mark.parametrize("path,rule", alerting_rules(),
                         ids=lambda v: v["alert"] if isinstance(v, dict) else v.name)
def test_alert_has_labels_annotations_and_runbook_section(path, rule):
    name = rule["alert"]
    assert name.startswith("Lookout")
    assert rule.get("labels", {}).get("severity") in SEVERITIES, f"{name}: severity"
    notes = rule.get("annotations", {})
    assert notes.get("summary") and "{{" not in notes["summary"], f"{name}: static summary"
    assert "{{" in notes.get("description", ""), f"{name}: templated description"
    match = RUNBOOK_URL.match(notes.get("runbook_url", ""))
    assert match, f"{name}: runbook_url must be docs/runbook.md#<anchor>"
    assert match.group(1) == name.lower(), f"{name}: runbook_url must point at its own section"
    assert match.group(1) in runbook_anchors(), f"{name}: no section #{match.group(1)} in {RUNBOOK}"


@pytest.mark.parametrize("path,rule", alerting_rules(),
                         ids=lambda v: v["alert"] if isinstance(v, dict) else v.name)
def test_alert_carries_the_active_silences_count(path, rule):
    """The email of every alert says when silences are active (alertmanager/templates): the
    count comes from this annotation, so an alert without it would hide a forgotten silence."""
    value = rule.get("annotations", {}).get("active_silences", "")
    assert 'alertmanager_silences{state=\\"active\\"}' in value, (
        f"{rule['alert']}: add `active_silences: *active_silences` to its annotations "
        f"(defined once per file, see uptime.rules.yml), and `active_silences: \"\"` to its promtool test")


def test_prometheus_scrapes_alertmanager_for_the_silence_count():
    assert job("alertmanager")["static_configs"] == [{"targets": ["alertmanager:9093"]}]


def test_dashboard_uids_of_alerts_exist():
    uids = {json.loads(p.read_text())["uid"] for p in DASHBOARDS_DIR.glob("*.json")}
    if not uids:
        pytest.skip("no Grafana dashboards in the repository yet")
    for _, rule in alerting_rules():
        uid = rule["annotations"].get("dashboard_uid")
        assert uid in uids, f"{rule['alert']}: dashboard_uid {uid!r} is not a dashboard ({uids})"


def test_every_alert_has_a_negative_and_a_full_positive_unit_test():
    negative, positive = set(), set()
    for test_file in RULES_DIR.glob("*_test.yml"):
        for test in yaml.safe_load(test_file.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                if not case["exp_alerts"]:
                    negative.add(case["alertname"])
                for alert in case["exp_alerts"]:
                    # Full labels and annotations, not just "something fired".
                    assert "severity" in alert["exp_labels"], case
                    assert {"summary", "description", "runbook_url"} <= set(alert["exp_annotations"]), case
                    positive.add(case["alertname"])
    names = {rule["alert"] for _, rule in alerting_rules()}
    # A dead man's switch (expr vector(1)) fires by design at every evaluation: it has no
    # negative case, and nothing else may claim that exemption.
    always = {rule["alert"] for _, rule in alerting_rules() if rule["expr"].strip() == "vector(1)"}
    assert always <= {"LookoutWatchdog"}, always
    assert names - negative - always == set(), "alerts without a negative case"
    assert names - positive == set(), "alerts without a positive case"


# --- scrape configuration -----------------------------------------------------------------

def test_probe_job_checks_application_every_minute_with_200_only_module():
    probe = job("blackbox-http")
    assert probe["scrape_interval"] == "1m"
    assert probe["metrics_path"] == "/probe"
    assert probe["params"]["module"] == ["http_200"]
    files = [f for sd in probe["file_sd_configs"] for f in sd["files"]]
    assert [PROMETHEUS_DIR / f for f in files] == [TARGETS]
    groups = yaml.safe_load(TARGETS.read_text())
    assert {"targets": ["http://application:80"], "labels": {"site": "application"}} in groups

    module = yaml.safe_load(BLACKBOX_CONFIG.read_text())["modules"]["http_200"]
    assert module["prober"] == "http"
    assert module["http"]["valid_status_codes"] == [200]
    # Prometheus must wait longer than blackbox, or a hanging site shows up as a failed
    # scrape (no probe_success sample) instead of a failed probe.
    assert _seconds(probe["scrape_timeout"]) > _seconds(module["timeout"])


def _seconds(duration: str) -> int:
    value, unit = re.fullmatch(r"(\d+)([sm])", duration).groups()
    return int(value) * (60 if unit == "m" else 1)


def test_every_service_is_scraped_on_its_signals_md_port():
    services = services_from_signals()
    expected = {"blackbox": "blackbox", "prometheus": "prometheus", "alertmanager": "alertmanager",
                "cadvisor": "cadvisor", "node-exporter": "node-exporter", "loki": "loki",
                "promtail": "promtail", "collector": "collector"}
    for job_name, service in expected.items():
        targets = [t for sc in job(job_name)["static_configs"] for t in sc["targets"]]
        host = "localhost" if service == "prometheus" else service
        assert targets == [f"{host}:{services[service]}"], job_name
    alerting = config()["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alerting == [f"alertmanager:{services['alertmanager']}"]
    relabel = job("blackbox-http")["relabel_configs"]
    assert {"target_label": "__address__", "replacement": f"blackbox:{services['blackbox']}"} in relabel


# --- a real Prometheus ----------------------------------------------------------------------

def test_real_prometheus_loads_config_rules_targets_and_flags(tmp_path):
    """Starts Prometheus with the flags the compose file uses. The compose service names do
    not resolve here, so scrapes fail; what is checked is what Prometheus made of the files."""
    port = free_port()
    cmd = [tool("prometheus"), f"--config.file={CONFIG}", f"--storage.tsdb.path={tmp_path / 'data'}",
           "--storage.tsdb.retention.time=7d", "--web.enable-remote-write-receiver",
           f"--web.listen-address=127.0.0.1:{port}"]
    base = f"http://127.0.0.1:{port}"
    with running(cmd, f"{base}/-/ready", tmp_path / "prometheus.log"):
        groups = requests.get(f"{base}/api/v1/rules", timeout=5).json()["data"]["groups"]
        loaded = {r["name"] for g in groups for r in g["rules"]}
        assert {rule["alert"] for _, rule in alerting_rules()} <= loaded
        assert {"probe:duration_seconds:p95_10m", "site:http_errors:ratio_rate5m"} <= loaded

        def probe_target():
            data = requests.get(f"{base}/api/v1/targets", timeout=5).json()["data"]
            return [t for t in data["activeTargets"] if t["labels"]["job"] == "blackbox-http"]

        (target,) = wait_for(probe_target, 15, "the file_sd probe target")
        assert target["labels"] == {"instance": "http://application:80", "job": "blackbox-http",
                                    "site": "application"}
        assert target["scrapeUrl"] == ("http://blackbox:9115/probe?module=http_200"
                                       "&target=http%3A%2F%2Fapplication%3A80")

        flags = requests.get(f"{base}/api/v1/status/flags", timeout=5).json()["data"]
        # Prometheus prints the duration normalised: 7d is shown as 1w.
        assert flags["storage.tsdb.retention.time"] in ("7d", "1w")
        # The receiver is on: a (malformed) write is rejected as bad input, not as unknown path.
        write = requests.post(f"{base}/api/v1/write", data=b"not snappy", timeout=5)
        assert write.status_code == 400, write.text
