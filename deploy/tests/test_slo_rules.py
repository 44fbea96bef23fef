"""The SLO burn-rate alerts, across the three places they live: the per-minute counts the Loki
ruler records (loki/rules/fake/slo.yaml), the objectives (prometheus/rules/
slo-objectives.rules.yml) and the windows and alerts (slo.rules.yml, whose promtool unit
tests run in test_prometheus.py), plus their routing in Alertmanager.

Runs on real components: Prometheus (backfilled with an hour of counts by promtool) renders
the alerts from the shipped objectives, Alertmanager mails them to a local SMTP server, and,
where a Grafana `loki` is on PATH, Loki runs the three counts over pushed access lines that
are also counted here in Python, and its ruler, as shipped, remote-writes them into a real
Prometheus whose shipped rules then raise the page (about 3 minutes: the ruler's minute).
"""
import json
import re
import shutil
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_loki  # noqa: E402
from grafana_binaries import needs  # noqa: E402
from prom_helpers import (  # noqa: E402
    ALERTMANAGER_DIR, PROMETHEUS_DIR, RULES_DIR, alerting_rules, free_port, run, running, tool,
    wait_for,
)
from test_alertmanager import make_env, post, render, smtp, start_alertmanager  # noqa: E402,F401

# The SMTP sink deliberately accepts a login without TLS (see test_alertmanager.smtp).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

LOKI_RULES = PROMETHEUS_DIR.parent / "loki" / "rules" / "fake" / "slo.yaml"
OBJECTIVES = RULES_DIR / "slo-objectives.rules.yml"
SLO_RULES = RULES_DIR / "slo.rules.yml"
COUNTS = {"nginx:slo_requests:count1m", "nginx:slo_errors:count1m", "nginx:slo_slow_requests:count1m"}
OFFSET = 30  # seconds, as in every access-log rule (test_loki_rules.py)


def loki_rules() -> dict[str, str]:
    doc = yaml.safe_load(LOKI_RULES.read_text())
    return {r["record"]: " ".join(r["expr"].split()) for g in doc["groups"] for r in g["rules"]}


def constants() -> dict[tuple[str, str | None], float]:
    """(record, slo label) -> the number of its `vector(N)` in the objectives file."""
    found = {}
    for group in yaml.safe_load(OBJECTIVES.read_text())["groups"]:
        for rule in group["rules"]:
            m = re.fullmatch(r"vector\(([0-9.]+)\)", rule["expr"].strip())
            assert m, f"{rule['record']}: an objective must be a plain vector(N): {rule['expr']!r}"
            found[(rule["record"], rule.get("labels", {}).get("slo"))] = float(m.group(1))
    return found


def burn_rules() -> dict[str, dict]:
    return {r["alert"]: r for _, r in alerting_rules() if r["alert"].endswith("Burn")}


# --- one source of truth ---------------------------------------------------------------------

def test_objectives_file_holds_both_objectives_the_threshold_and_the_guard():
    assert set(constants()) == {
        ("slo:objective:ratio", "availability"), ("slo:objective:ratio", "latency"),
        ("slo:latency_threshold:seconds", None), ("slo:min_traffic:requests_per_minute", None)}


def test_latency_threshold_of_the_loki_rule_is_the_objective():
    """LogQL needs the number literally: the copy in slo.yaml must be the objective's."""
    expr = loki_rules()["nginx:slo_slow_requests:count1m"]
    (literal,) = re.findall(r"\| request_time > ([0-9.]+) \| __error__=\"\"", expr)
    assert float(literal) == constants()[("slo:latency_threshold:seconds", None)], (
        "change request_time > N in loki/rules/fake/slo.yaml and slo:latency_threshold:seconds "
        "in prometheus/rules/slo-objectives.rules.yml together")


def test_loki_counts_one_minute_per_site_and_prometheus_reads_exactly_them():
    rules = loki_rules()
    assert set(rules) == COUNTS
    for record, expr in rules.items():
        # One minute, read 30 s late: consecutive evaluations tile the log without overlap,
        # so Prometheus' sum_over_time of the samples is the number of requests.
        assert re.fullmatch(r'sum by \(site\) \( count_over_time\( \{job="nginx", logtype="access"\} '
                            r'\| json \| __error__="" .*\[1m\] offset 30s \) \)', expr), record
    assert '| status=~"5.." [1m]' in rules["nginx:slo_errors:count1m"]
    used = set(re.findall(r"nginx:slo_\w+:count1m", SLO_RULES.read_text()))
    assert used == COUNTS


# The pattern the issue asks for: (factor, long window, short window) per severity.
PAGE = {("14.4", "1h", "5m"), ("6", "6h", "30m")}
TICKET = {("1", "3d", "6h")}


def windows_of(expr: str) -> set[tuple[str, str, str]]:
    """(burn factor, long, short) from `ratio_rateL > ... (F * budget) and ... ratio_rateS >`."""
    pairs = re.findall(r"ratio_rate(\w+)\{[^}]*\} > on \(slo\) group_left \(\) \(?(?:([0-9.]+) \* )?"
                       r"slo:error_budget:ratio\)?\s+and on \(site\)\s+slo:sli_error:ratio_rate(\w+)\{[^}]*\} > "
                       r"on \(slo\) group_left \(\) \(?(?:([0-9.]+) \* )?slo:error_budget:ratio", expr)
    found = set()
    for long, factor, short, factor2 in pairs:
        assert factor == factor2, f"both windows need the same burn factor: {expr}"
        found.add((factor or "1", long, short))
    return found


@pytest.mark.parametrize("name", ["LookoutAvailabilityFastBurn", "LookoutLatencyFastBurn",
                                  "LookoutAvailabilitySlowBurn", "LookoutLatencySlowBurn"])
def test_burn_rate_windows_and_severity(name):
    rule = burn_rules()[name]
    fast = "FastBurn" in name
    assert windows_of(rule["expr"]) == (PAGE if fast else TICKET)
    assert rule["labels"]["severity"] == ("critical" if fast else "warning")
    slo = "availability" if "Availability" in name else "latency"
    assert set(re.findall(r'slo="(\w+)"', rule["expr"])) == {slo}
    guards = re.findall(r"site:slo_requests:per_minute_(\w+) >= on \(\) group_left \(\) "
                        r"slo:min_traffic:requests_per_minute", rule["expr"])
    assert guards == (["1h", "6h"] if fast else []), "the pages need the traffic guard of their long window"


def test_every_window_the_alerts_read_is_recorded():
    recorded = {r["record"] + json.dumps(r.get("labels", {}), sort_keys=True)
                for g in yaml.safe_load(SLO_RULES.read_text())["groups"] for r in g["rules"] if "record" in r}
    for name, rule in burn_rules().items():
        for window, slo in re.findall(r'slo:sli_error:ratio_rate(\w+)\{slo="(\w+)"\}', rule["expr"]):
            assert f'slo:sli_error:ratio_rate{window}{{"slo": "{slo}"}}' in recorded, (name, window)


# --- routing (Alertmanager config as rendered) --------------------------------------------------

def test_tickets_are_reminded_daily_and_site_down_holds_back_every_burn_alert(tmp_path):
    config = yaml.safe_load(Path(render(make_env(tmp_path)).stdout.strip()).read_text())
    names = set(burn_rules())
    assert len(names) == 4

    def matched(matchers, name, severity):
        labels = {"alertname": name, "severity": severity}
        for m in matchers:
            key, op, value = re.fullmatch(r'(\w+)(=~|=)"(.*)"', m).groups()
            if not (re.fullmatch(value, labels.get(key, "")) if op == "=~" else labels.get(key) == value):
                return False
        return True

    for name in names:
        severity = burn_rules()[name]["labels"]["severity"]
        # Alertmanager takes the first matching child route (continue: false).
        route = next((r for r in config["route"]["routes"] if matched(r["matchers"], name, severity)),
                     config["route"])
        want = "24h" if severity == "warning" else config["route"]["repeat_interval"]
        assert route.get("repeat_interval", config["route"]["repeat_interval"]) == want, name
        assert any(matched(rule["target_matchers"], name, severity) and rule["equal"] == ["site"]
                   and rule["source_matchers"] == ['alertname="LookoutSiteDown"']
                   for rule in config["inhibit_rules"]), f"{name} is not held back by LookoutSiteDown"


# --- a real Prometheus renders the alerts from the shipped objectives -------------------------

def backfill(folder: Path, per_minute: dict[tuple[str, str], float], minutes: int) -> Path:
    """A TSDB holding `minutes` of one sample a minute per (record, site), ending now, written
    by promtool from OpenMetrics text, as if the Loki ruler had remote-written it."""
    now = int(time.time())
    lines = []
    for (record, site), value in per_minute.items():
        lines.append(f"# TYPE {record} gauge")
        lines += [f'{record}{{site="{site}"}} {value} {now - (minutes - 1 - i) * 60}' for i in range(minutes)]
    source = folder / "counts.om"
    source.write_text("\n".join(lines + ["# EOF"]) + "\n")
    data = folder / "data"
    done = run([tool("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)])
    assert done.returncode == 0, done.stdout + done.stderr
    return data


@pytest.fixture
def prometheus_with_an_hour_of_errors(tmp_path):
    """Site application: 100 requests a minute, 10 answered 5xx, 1 slower than 2 s, for
    70 minutes; site shop: the same traffic, no errors."""
    data = backfill(tmp_path, {
        ("nginx:slo_requests:count1m", "application"): 100,
        ("nginx:slo_errors:count1m", "application"): 10,
        ("nginx:slo_slow_requests:count1m", "application"): 1,
        ("nginx:slo_requests:count1m", "shop"): 100,
    }, minutes=70)
    port = free_port()
    cmd = [tool("prometheus"), f"--config.file={PROMETHEUS_DIR / 'prometheus.yml'}",
           f"--storage.tsdb.path={data}", "--storage.tsdb.retention.time=7d",
           f"--web.listen-address=127.0.0.1:{port}", "--web.external-url=http://monitoring-host:9090"]
    base = f"http://127.0.0.1:{port}"
    with running(cmd, f"{base}/-/ready", tmp_path / "prometheus.log"):
        yield base


def burn_alerts(base: str) -> dict[tuple[str, str], dict]:
    alerts = requests.get(f"{base}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return {(a["labels"]["alertname"], a["labels"]["site"]): a for a in alerts
            if a["labels"]["alertname"].endswith("Burn")}


def test_real_prometheus_burn_alerts_from_the_shipped_objectives(prometheus_with_an_hour_of_errors, tmp_path, smtp):
    base = prometheus_with_an_hour_of_errors
    # 10 % 5xx is burn rate 20 against 99.5 %: the page and the ticket are pending at the
    # first evaluation (their `for:` would follow); 1 % slow requests is burn rate 2: a
    # latency ticket, no latency page. Shop has no errors.
    alerts = wait_for(lambda: (a := burn_alerts(base)) and len(a) == 3 and a, 60,
                      "the burn-rate alerts of the first rule evaluation")
    assert set(alerts) == {("LookoutAvailabilityFastBurn", "application"),
                           ("LookoutAvailabilitySlowBurn", "application"),
                           ("LookoutLatencySlowBurn", "application")}
    page = alerts[("LookoutAvailabilityFastBurn", "application")]
    assert page["state"] == "pending"
    assert page["labels"] == {"alertname": "LookoutAvailabilityFastBurn", "severity": "critical",
                              "site": "application", "slo": "availability"}
    assert page["annotations"]["description"] == (
        "10% of the requests to site application were answered 5xx over the last hour, against an "
        "availability objective of 99.5% over 30 days. At this rate the whole 30-day error budget "
        "is gone in 1d 12h 0m 0s.")
    ticket = alerts[("LookoutLatencySlowBurn", "application")]["annotations"]["description"]
    assert ticket.startswith("1% of the requests to site application took longer than 2s over the last 3 days")

    def query(expr):
        answer = requests.get(f"{base}/api/v1/query", params={"query": expr}, timeout=5).json()
        return {(s["metric"].get("site"), s["metric"].get("slo")): float(s["value"][1])
                for s in answer["data"]["result"]}

    remaining = query("slo:error_budget_remaining:ratio30d")
    assert remaining[("application", "availability")] == pytest.approx(1 - 20 * 7 / 30)
    assert remaining[("application", "latency")] == pytest.approx(1 - 2 * 7 / 30)
    assert remaining[("shop", "availability")] == 1

    # The email Alertmanager sends for it, with the timings shortened (as in
    # test_alertmanager.test_resolved_email); LookoutSiteDown holds back the same site's.
    mailbox, smtp_port = smtp
    source = tmp_path / "alertmanager-src"
    shutil.copytree(ALERTMANAGER_DIR, source)
    config = source / "alertmanager.yml.in"
    config.write_text(re.sub(r"(?m)^  (group_wait|group_interval): \S+$", r"  \1: 1s", config.read_text()))
    as_sent = [{"labels": a["labels"], "annotations": a["annotations"], "startsAt": a["activeAt"],
                "generatorURL": "http://monitoring-host:9090/graph"} for a in alerts.values()]
    context, am = start_alertmanager(tmp_path, smtp_port, source)
    with context:
        post(am, *as_sent)
        (mail,) = wait_for(lambda: mailbox.with_subject(r"LookoutAvailabilityFastBurn"), 30, "the page email")
        assert mail["Subject"] == "[FIRING:1] LookoutAvailabilityFastBurn (application)"
        text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
        assert "FIRING: LookoutAvailabilityFastBurn (critical)\n" \
               "The site is using up its availability error budget fast (5xx answers).\n" \
               "10% of the requests to site application were answered 5xx over the last hour" in text
        assert "Runbook:   https://runbooks.test.example/lookout/blob/main/docs/runbook.md#lookoutavailabilityfastburn" in text
        assert "Dashboard: http://grafana.test.example:3000/d/lookout-performance?var-site=application" in text
        wait_for(lambda: mailbox.with_subject(r"LookoutLatencySlowBurn"), 30, "the ticket email")

        # While the site is down, its burn-rate alerts are held back.
        post(am, {"labels": {"alertname": "LookoutSiteDown", "severity": "critical", "site": "application",
                             "job": "blackbox-http", "instance": "http://application:80"},
                  "annotations": {"summary": "The site failed two uptime checks in a row."}})

        def held_back():
            state = {a["labels"]["alertname"]: a["status"]["inhibitedBy"]
                     for a in requests.get(f"{am}/api/v2/alerts", timeout=5).json()}
            return state if all(state.get(n) for n, _ in alerts) else None

        wait_for(held_back, 10, "LookoutSiteDown inhibiting the burn-rate alerts")


# --- a real Loki counts what Python counts ---------------------------------------------------

needs_loki = needs("loki", real_loki.LOKI)


@needs_loki
def test_real_loki_counts_requests_errors_and_slow_requests(tmp_path):
    now = time.time_ns()
    threshold = constants()[("slo:latency_threshold:seconds", None)]
    # (seconds before `now`, site, status, request_time). The rules read the minute that
    # ends OFFSET before `now`: 35..85 s ago is inside, 20 s and 100 s ago are not.
    lines = [
        (35, "application", "200", "0.120"), (40, "application", "500", "0.030"),
        (45, "application", "503", "2.500"), (50, "application", "404", "2.000"),
        (55, "application", "200", "2.001"), (60, "application", "502", "-"),
        (65, "application", "200", "9.5"), (85, "shop", "500", "3.0"),
        (20, "application", "500", "5.0"), (100, "application", "500", "5.0"),
    ]
    streams = {}
    for ago, site, status, rt in lines:
        ts = now - ago * 10**9
        line = json.dumps({"time": f"{ts / 1e9:.3f}", "method": "GET", "path": "/api/x", "status": status,
                           "request_time": rt, "upstream_response_time": "0.010, 0.020"})
        streams.setdefault(site, []).append([str(ts), line])
    streams["application"].append([str(now - 70 * 10**9), "not json at all"])
    body = {"streams": [{"stream": {"job": "nginx", "logtype": "access", "site": site},
                         "values": sorted(values)} for site, values in streams.items()]}

    def expected(keep):
        counts = {}
        for ago, site, status, rt in lines:
            if OFFSET < ago <= OFFSET + 60 and keep(status, rt):
                counts[site] = counts.get(site, 0) + 1
        return counts

    def slow(rt):
        try:
            return float(rt) > threshold
        except ValueError:
            return False

    want = {
        "nginx:slo_requests:count1m": expected(lambda s, rt: True),
        "nginx:slo_errors:count1m": expected(lambda s, rt: s.startswith("5")),
        "nginx:slo_slow_requests:count1m": expected(lambda s, rt: slow(rt)),
    }
    assert want["nginx:slo_slow_requests:count1m"] == {"application": 3, "shop": 1}  # the sample is what it says

    with real_loki.started(tmp_path) as loki:
        assert requests.post(f"{loki}/loki/api/v1/push", json=body, timeout=10).status_code == 204
        for record, expr in loki_rules().items():
            query = urllib.parse.urlencode({"query": expr, "time": str(now)})
            result = requests.get(f"{loki}/loki/api/v1/query?{query}", timeout=10).json()
            assert result["status"] == "success", (record, result)
            got = {s["metric"]["site"]: int(float(s["value"][1])) for s in result["data"]["result"]}
            assert all(set(s["metric"]) == {"site"} for s in result["data"]["result"]), result
            assert got == want[record], record


@needs_loki
def test_real_loki_ruler_feeds_the_burn_rate_alerts_in_real_prometheus(tmp_path):
    """The whole road: access lines pushed to Loki as Promtail would, the shipped ruler
    config remote-writing the counts into a real Prometheus with the shipped rules, and the
    page pending there. 10 lines a second, every 10th answered 500: burn rate 20."""
    prom_port = free_port()
    prom = f"http://127.0.0.1:{prom_port}"
    cmd = [tool("prometheus"), f"--config.file={PROMETHEUS_DIR / 'prometheus.yml'}",
           f"--storage.tsdb.path={tmp_path / 'prometheus'}", "--web.enable-remote-write-receiver",
           f"--web.listen-address=127.0.0.1:{prom_port}"]
    stop = threading.Event()

    def push_lines(loki):
        n = 0
        while not stop.is_set():
            now = time.time_ns()
            values = []
            for i in range(5):
                n += 1
                ts = now + i * 1000
                values.append([str(ts), json.dumps({
                    "time": f"{ts / 1e9:.3f}", "method": "GET", "path": "/api/x",
                    "status": "500" if n % 10 == 0 else "200", "request_time": "0.05"})])
            body = {"streams": [{"stream": {"job": "nginx", "logtype": "access", "site": "application"},
                                 "values": values}]}
            requests.post(f"{loki}/loki/api/v1/push", json=body, timeout=10)
            stop.wait(0.5)

    (tmp_path / "loki-run").mkdir()
    with running(cmd, f"{prom}/-/ready", tmp_path / "prometheus.log"), \
            real_loki.started(tmp_path / "loki-run", remote_write_url=f"{prom}/api/v1/write") as loki:
        pusher = threading.Thread(target=push_lines, args=(loki,), daemon=True)
        pusher.start()
        try:
            # The ruler evaluates once a minute over the minute that ended 30 s earlier, the
            # sample reaches Prometheus seconds later, whose rules run every 30 s.
            page = wait_for(lambda: burn_alerts(prom).get(("LookoutAvailabilityFastBurn", "application")),
                            240, "LookoutAvailabilityFastBurn from the Loki-recorded counts", interval=2)
        finally:
            stop.set()
            pusher.join(timeout=15)
        assert page["state"] == "pending" and page["labels"]["severity"] == "critical"
        assert float(page["value"]) == pytest.approx(0.1, abs=0.02)
        written = requests.get(f"{prom}/api/v1/query", params={"query": '{__name__=~"nginx:slo_.*"}'},
                               timeout=5).json()["data"]["result"]
        # Remote-written series carry only what `by (...)` kept: the name and `site`.
        assert {s["metric"]["__name__"] for s in written} == {"nginx:slo_requests:count1m", "nginx:slo_errors:count1m"}
        assert all(set(s["metric"]) == {"__name__", "site"} for s in written)
