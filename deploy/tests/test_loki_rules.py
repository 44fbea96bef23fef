"""The Loki ruler's recording rules (deploy/monitoring/loki/rules/fake/*.yaml).

promtool cannot parse LogQL and no maintained LogQL parser exists for Python, so without a
Loki binary this checks what can be checked honestly: the rule files' YAML structure, the
record names and their `by (...)` labels against docs/signals.md, balanced brackets, quotes
and template delimiters, the `__error__` guards that real nginx values need, that the
selectors match the labels Promtail sets, and the route-normalising regular expression run
on sample paths (in Python's re and in RE2).

With a Grafana `loki` binary on PATH, a real Loki is started: its ruler must load every rule,
and every expression is run as a query over pushed sample lines and must return the labels
docs/signals.md promises.
"""

import json
import re
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_loki  # noqa: E402
from grafana_binaries import needs  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
LOKI_DIR = REPO / "deploy/monitoring/loki"
RULE_FILES = sorted((LOKI_DIR / "rules/fake").glob("*.yaml"))
SIGNALS = (REPO / "docs/signals.md").read_text()
NGINX_SELECTOR = '{job="nginx", logtype="access"}'


def signals_recorded_series():
    """record name -> label set, from the 'Recorded by the Loki ruler' table of signals.md."""
    section = SIGNALS.split("### Recorded by the Loki ruler", 1)[1].split("\n### ", 1)[0]
    series = {}
    for row in section.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([^`]+)`", cells[0])
        labels = {l for l in re.findall(r"`([^`]+)`", cells[1]) if re.fullmatch(r"[a-z_]+", l)}
        base = names[0].rsplit(":", 1)[0]
        for name in names:  # "`a:b:p50_5m` / `:p95_5m`" -> a:b:p95_5m
            series[base + name if name.startswith(":") else name] = labels
    return series


def all_rules():
    rules = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules += group["rules"]
    return rules


RULES = {r["record"]: " ".join(r["expr"].split()) for r in all_rules()}


def outside_strings(expr):
    """The expression with backtick templates and double-quoted strings blanked out."""
    return re.sub(r'`[^`]*`|"(?:[^"\\]|\\.)*"', '""', expr)


def check_balanced(text, quotes=('"', "`")):
    """Brackets balance outside string literals and every literal is closed."""
    pairs, stack, i = {")": "(", "]": "[", "}": "{"}, [], 0
    while i < len(text):
        c = text[i]
        if c in quotes:
            end = text.find(c, i + 1)
            while c == '"' and end > 0 and text[end - 1] == "\\":
                end = text.find(c, end + 1)
            assert end > 0, f"unclosed {c} at {i}: {text[i:i + 40]}"
            i = end + 1
            continue
        if c in "([{":
            stack.append(c)
        elif c in ")]}":
            assert stack and stack.pop() == pairs[c], f"unbalanced {c} at {i}: {text[:i + 1][-60:]}"
        i += 1
    assert not stack, f"unclosed {stack}"


# --- structure --------------------------------------------------------------------------


def test_rule_files_are_in_the_tenant_folder_the_ruler_reads():
    # ruler.storage.local.directory is /etc/loki/rules (compose mounts deploy/monitoring/loki
    # at /etc/loki); with auth disabled the tenant is "fake".
    assert RULE_FILES, "no rule files"
    assert all(p.parent == LOKI_DIR / "rules" / "fake" for p in RULE_FILES)


def test_rule_files_have_the_prometheus_rule_file_shape():
    names = []
    for path in RULE_FILES:
        doc = yaml.safe_load(path.read_text())
        assert set(doc) == {"groups"}, path
        for group in doc["groups"]:
            assert set(group) <= {"name", "interval", "rules"} and group["rules"], path
            assert group.get("interval", "1m") == "1m"
            names.append(group["name"])
            for rule in group["rules"]:
                # Recording rules only: alerts live in Prometheus, and an alert name used in
                # both would mix two ALERTS series (the ruler remote-writes its ALERTS too).
                assert set(rule) == {"record", "expr"}, rule
                assert re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", rule["record"])
    assert len(names) == len(set(names)), "duplicate group names"


def test_record_names_are_exactly_those_of_signals_md():
    records = [r["record"] for r in all_rules()]
    assert len(records) == len(set(records))
    assert set(records) == set(signals_recorded_series())


@pytest.mark.parametrize("record", sorted(RULES))
def test_expression_is_balanced(record):
    expr = RULES[record]
    check_balanced(expr)
    for template in re.findall(r"`([^`]*)`", expr):
        assert template.count("{{") == template.count("}}"), template
        check_balanced(template.replace("{{", "").replace("}}", ""), quotes=('"',))


@pytest.mark.parametrize("record", sorted(RULES))
def test_expression_keeps_exactly_the_labels_of_signals_md(record):
    by_clauses = re.findall(r"\bby\s*\(([^)]*)\)", outside_strings(RULES[record]))
    assert len(by_clauses) == 1, by_clauses
    labels = {l.strip() for l in by_clauses[0].split(",")}
    assert labels == signals_recorded_series()[record]


@pytest.mark.parametrize("record", sorted(RULES))
def test_parser_and_unwrap_errors_are_filtered(record):
    expr = RULES[record]
    for m in re.finditer(r"\| (json|unwrap \w+) ", expr):
        assert expr[m.end():].startswith('| __error__=""'), f"no guard after {m.group(0)!r}"
    assert "histogram_quantile" not in expr  # does not exist in LogQL
    if "quantile_over_time" in expr:
        # without by(...) every JSON field would be a label: too many series
        assert re.search(r"\) by \(", outside_strings(expr))


def test_nginx_rules_select_the_stream_promtail_writes():
    promtail = yaml.safe_load(re.sub(r"\$\{[^}]*\}", "x", (REPO / "deploy/monitoring/promtail/promtail.yml").read_text()))
    access = next(s for s in promtail["scrape_configs"] if s["job_name"] == "nginx-access")
    labels = access["static_configs"][0]["labels"]
    assert NGINX_SELECTOR == '{job="%s", logtype="%s"}' % (labels["job"], labels["logtype"])
    for record, expr in RULES.items():
        if record.startswith("nginx:"):
            assert NGINX_SELECTOR in expr, record
            assert "site" in signals_recorded_series()[record]  # site comes from the stream labels


OFFSET = 30   # seconds: the `offset` every access-log rule reads with (nginx-access.yaml)


def test_access_log_rules_read_late_lines_too():
    """Each range ends OFFSET before the evaluation: a line that reached Loki a little after
    its minute was evaluated is still counted (the lab measured 5 of 222 lost without)."""
    for record, expr in RULES.items():
        if NGINX_SELECTOR not in expr:
            continue
        ranges = re.findall(r"\[(\d+[smh])\]( offset (\d+)s)?", expr)
        assert ranges and all(seconds and int(seconds) == OFFSET for _, _, seconds in ranges), \
            f"{record}: every range needs `offset {OFFSET}s`: {ranges}"


def test_slow_requests_compare_with_a_plain_number():
    assert re.search(r"\| request_time > 1 \|", RULES["nginx:slow_requests:rate1m"])


def test_error_requests_keep_only_4xx_and_5xx_before_computing_the_route():
    # Filtering first keeps the template off the 2xx lines (most of them) and the status
    # label to the few error codes nginx answers with.
    expr = RULES["nginx:error_requests:rate1m"]
    assert expr.index("| status >= 400 |") < expr.index("label_format route=")


@pytest.mark.parametrize("record", sorted(r for r in RULES if r.startswith("nginx:")))
def test_every_access_log_series_has_bounded_labels(record):
    """What a dashboard may group by: a label whose values are few by construction. path,
    request_uri or any other raw field would make one series per URL."""
    bounded = {"site", "status_class", "status", "method", "route"}
    assert signals_recorded_series()[record] <= bounded, record


def test_log_volume_counts_every_stream_by_source():
    assert "{job=~\".+\"}" in RULES["loki:log_lines:rate5m"]


# --- the route template --------------------------------------------------------------------

ROUTE_SHAPE = re.compile(
    r'\{\{ if eq \.status "404" \}\}(?P<unmatched>[^{]+)\{\{ else \}\}'
    r'\{\{ regexReplaceAll "(?P<re1>[^"]+)" \(regexReplaceAll "(?P<re2>[^"]+)" \.path "(?P<r2>[^"]+)"\) "(?P<r1>[^"]+)" \}\}'
    r"\{\{ end \}\}"
)


def route_templates():
    return [m for expr in RULES.values() for m in re.findall(r"route=`([^`]*)`", expr)]


def test_route_template_is_the_same_in_every_rule():
    """Every rule that keeps `route` computes it with one template, or two series would
    disagree about which endpoint a request belongs to (dashboards divide one by another)."""
    templates = route_templates()
    keeping_route = [r for r, e in RULES.items()
                     if "route" in signals_recorded_series()[r] and NGINX_SELECTOR in e]
    assert len(keeping_route) >= 4 and len(templates) == len(keeping_route)
    assert len(set(templates)) == 1
    assert "\\" not in templates[0]  # Go template string literals: no escapes to interpret


def go_expand_to_python(replacement):
    return re.sub(r"\$\{(\d+)\}", r"\\g<\1>", replacement)


@pytest.mark.parametrize("engine", ["re", "re2"])
@pytest.mark.parametrize(
    "path, route",
    [
        ("/api/items/42", "/api/items/:id"),
        ("/api/items/42/", "/api/items/:id/"),
        ("/api/users/123/orders/456", "/api/users/:id/orders/:id"),
        ("/api/a/1/2/3", "/api/a/:id/:id/:id"),
        ("/api/files/550e8400-e29b-41d4-a716-446655440000/raw", "/api/files/:id/raw"),
        ("/api/files/550E8400-E29B-41D4-A716-446655440000", "/api/files/:id"),
        ("/api/blobs/0123456789abcdef", "/api/blobs/:id"),
        ("/api/blobs/0123456789abcde", "/api/blobs/0123456789abcde"),  # 15 hex: not an id
        ("/2026/report", "/:id/report"),
        ("/api/v1/items", "/api/v1/items"),
        ("/api/users/123abc", "/api/users/123abc"),
        ("/assets/index-4f3a2b1c.js", "/assets/index-4f3a2b1c.js"),
        ("/", "/"),
    ],
)
def test_route_normalisation(engine, path, route):
    m = ROUTE_SHAPE.fullmatch(route_templates()[0])
    assert m, route_templates()[0]
    assert m.group("unmatched") == ":unmatched"
    if engine == "re2":
        import re2 as module  # google-re2, installed by scripts/install-deps
    else:
        module = re
    inner = module.sub(m.group("re2"), go_expand_to_python(m.group("r2")), path)
    assert module.sub(m.group("re1"), go_expand_to_python(m.group("r1")), inner) == route


# --- with a real Loki (skipped when it is not installed) ------------------------------------


needs_loki = needs("loki", real_loki.LOKI)


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


@pytest.fixture
def loki(tmp_path):
    # Remote write goes nowhere: rule loading and queries are what these tests look at.
    with real_loki.started(tmp_path) as base:
        yield base


@needs_loki
def test_real_loki_ruler_loads_every_rule(loki):
    deadline = time.time() + 90  # the ruler polls the rule folder every minute
    while True:
        loaded = get(loki + "/loki/api/v1/rules")
        if all(f"record: {name}" in loaded for name in RULES) or time.time() > deadline:
            break
        time.sleep(3)
    for name in RULES:
        assert f"record: {name}" in loaded, name


@needs_loki
def test_real_loki_runs_every_expression_with_the_promised_labels(loki):
    now = time.time_ns()
    lines = [
        {"method": "GET", "path": "/api/items/42", "status": "200", "request_time": "0.050", "upstream_response_time": "0.048"},
        {"method": "GET", "path": "/api/items/43", "status": "500", "request_time": "1.500", "upstream_response_time": "-"},
        {"method": "POST", "path": "/wp-login.php", "status": "404", "request_time": "0.001", "upstream_response_time": "0.010, 0.020"},
    ]
    # Inside the window the rules read at `now`: ending OFFSET before it.
    stamps = [now - (OFFSET + 3 - i) * 10**9 for i in range(len(lines))]
    values = [[str(ts), json.dumps({"time": str(ts / 1e9), **l})] for ts, l in zip(stamps, lines)]
    body = json.dumps({"streams": [{"stream": {"job": "nginx", "logtype": "access", "site": "application"}, "values": values}]})
    req = urllib.request.Request(loki + "/loki/api/v1/push", body.encode(), {"Content-Type": "application/json"})
    assert urllib.request.urlopen(req, timeout=10).status == 204

    signals = signals_recorded_series()
    for record, expr in RULES.items():
        query = urllib.parse.urlencode({"query": expr, "time": str(now)})
        result = json.loads(get(f"{loki}/loki/api/v1/query?{query}"))
        assert result["status"] == "success", (record, result)
        series = result["data"]["result"]
        assert series, record
        for s in series:
            assert set(s["metric"]) == signals[record], (record, s["metric"])
        if record == "nginx:requests:rate1m":
            routes = {(s["metric"]["status_class"], s["metric"]["route"]) for s in series}
            assert routes == {("2xx", "/api/items/:id"), ("5xx", "/api/items/:id"), ("4xx", ":unmatched")}
        if record == "nginx:slow_requests:rate1m":
            [slow] = series
            assert slow["metric"]["route"] == "/api/items/:id" and float(slow["value"][1]) > 0
        if record == "nginx:error_requests:rate1m":
            codes = {(s["metric"]["status"], s["metric"]["method"], s["metric"]["route"]) for s in series}
            assert codes == {("500", "GET", "/api/items/:id"), ("404", "POST", ":unmatched")}
