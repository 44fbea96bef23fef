"""Config stage: Grafana provisioning and the five Lookout dashboards.

Grafana cannot run here, so the dashboards are checked around it: their structure, the
datasource uids against the provisioning files, the template variables, and every PromQL
expression run by a real Prometheus over fixture series named as docs/signals.md names them
(a query that parses but names a series nobody produces comes back empty and fails).
LogQL is checked structurally and against the stream labels of docs/signals.md; when a
`loki` binary is on PATH the queries also go through Loki's own parser.
"""
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dashboard_queries as dq  # noqa: E402  (needs the path above in importlib mode)
from grafana_binaries import grafana_binary  # noqa: E402
import dashboard_services as services  # noqa: E402

GRAFANA = dq.GRAFANA_DIR
DATASOURCES_FILE = GRAFANA / "provisioning" / "datasources" / "datasources.yml"
PROVIDER_FILE = GRAFANA / "provisioning" / "dashboards" / "lookout.yml"
COMPOSE_FILE = dq.REPO / "deploy" / "monitoring" / "docker-compose.yml"
SIGNALS = (dq.REPO / "docs" / "signals.md").read_text(encoding="utf-8")
DOC = dq.REPO / "docs" / "dashboards.md"

# Where deploy/monitoring/docker-compose.yml mounts the folders (read-only); the dashboard
# provider's path must be the second one.
MOUNTS = {"grafana/provisioning": "/etc/grafana/provisioning",
          "grafana/dashboards": "/var/lib/grafana/dashboards"}
EXPECTED_UIDS = {"lookout-uptime", "lookout-performance", "lookout-logs", "lookout-frontend",
                 "lookout-resources"}

DASHBOARDS = dq.load_dashboards()
QUERIES = [q for d in DASHBOARDS.values() for q in dq.panel_queries(d)]
PROM_QUERIES = [q for q in QUERIES if q.datasource.get("type") == "prometheus"]
LOKI_QUERIES = [q for q in QUERIES if q.datasource.get("type") == "loki"]
BY_UID = {d["uid"]: d for d in DASHBOARDS.values()}
MIXED = {"type": "datasource", "uid": "-- Mixed --"}


def provisioned_datasources():
    return {ds["uid"]: ds for ds in yaml.safe_load(DATASOURCES_FILE.read_text())["datasources"]}


def walk(node, path=""):
    """(path, key, value) for every key of a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")


# --- the files themselves ---------------------------------------------------------------

def test_dashboard_files_match_their_generator():
    generator = GRAFANA / "generator"
    result = subprocess.run([sys.executable, "-B", str(generator), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_five_dashboards_with_stable_unique_uids():
    uids = [d.get("uid") for d in DASHBOARDS.values()]
    assert sorted(uids) == sorted(EXPECTED_UIDS)
    titles = [d["title"] for d in DASHBOARDS.values()]
    assert len(set(titles)) == len(titles), "two dashboards share a title"


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_dashboard_is_classic_provisionable_json(name):
    dashboard = DASHBOARDS[name]
    # The SDK leaves the key out rather than writing null: the same to Grafana.
    assert dashboard.get("id") is None, "a provisioned dashboard must not carry a database id"
    assert re.fullmatch(r"[a-z0-9-]{1,40}", dashboard["uid"])
    # The v2 schema (apiVersion/kind/spec) is refused by file provisioning on 12.x.
    assert "schemaVersion" in dashboard and "spec" not in dashboard and "kind" not in dashboard
    assert dashboard["panels"], "no panels"


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_datasources_are_referenced_by_provisioned_uid(name):
    provisioned = provisioned_datasources()
    refs = [(path, value) for path, key, value in walk(DASHBOARDS[name]) if key == "datasource"]
    assert refs
    for panel in dq.panels(DASHBOARDS[name]):
        if panel.get("datasource") == MIXED:
            # Grafana's built-in Mixed datasource: then every target must name its own.
            assert all(t.get("datasource") for t in panel["targets"]), panel["title"]
            assert len({t["datasource"]["uid"] for t in panel["targets"]}) > 1, panel["title"]
    for path, ref in refs:
        if ref == MIXED and path.count("/") == 1:  # a panel's own reference, checked above
            continue
        # A name string ("Prometheus") or an import placeholder (${DS_PROMETHEUS}) breaks
        # as soon as someone renames the datasource or provisions the file unmodified.
        assert isinstance(ref, dict), f"{path}: datasource by name: {ref!r}"
        assert ref.get("uid") in provisioned, f"{path}: unknown datasource uid {ref!r}"
        assert ref.get("type") == provisioned[ref["uid"]]["type"], f"{path}: type mismatch"
    text = json.dumps(DASHBOARDS[name])
    assert "${DS_" not in text and "__inputs" not in text


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_panel_has_a_query_and_a_free_place_on_the_grid(name):
    dashboard = DASHBOARDS[name]
    ids, titles, cells = set(), set(), {}
    for panel in dq.panels(dashboard):
        assert panel["id"] not in ids, f"duplicate panel id {panel['id']}"
        ids.add(panel["id"])
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["w"] > 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["title"] not in titles, f"duplicate panel title {panel['title']!r}"
        titles.add(panel["title"])
        exprs = [t.get("expr", "").strip() for t in panel.get("targets", [])]
        assert exprs and all(exprs), f"panel {panel['title']!r} has no query"
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(set(ref_ids)) == len(ref_ids), panel["title"]


def test_log_panels_read_loki_and_other_panels_chart_metrics():
    for query in QUERIES:
        if query.panel_type == "logs":
            assert query.datasource["uid"] == "loki", query.name
            assert query.expr.lstrip().startswith("{"), f"{query.name}: not a log query"


def test_log_panels_ask_for_a_bounded_number_of_lines():
    for dashboard in DASHBOARDS.values():
        for panel in dq.panels(dashboard):
            if panel["type"] == "logs":
                [target] = panel["targets"]
                assert 0 < target.get("maxLines", 0) <= 5000, panel["title"]


# --- template variables -----------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_variable_reference_resolves(name):
    dashboard = DASHBOARDS[name]
    values = dq.variable_values(dashboard)
    texts = [q.expr for q in dq.panel_queries(dashboard)]
    texts += [dq.variable_definition(v) for v in dashboard["templating"]["list"]
              if v["type"] == "query"]
    for text in texts:
        resolved = dq.resolve(text, values)  # raises on an unknown variable
        # What may stay: `$)` ends a regex, ${2} is a regex group in a label_format template.
        assert "$" not in re.sub(r"\$\)|\$\{\d+\}", "", resolved), resolved


def test_an_unknown_variable_is_reported():
    with pytest.raises(dq.UnresolvedVariable, match=r"\$nosuch"):
        dq.resolve('up{job=~"$nosuch"}', {})


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_multi_value_variables_are_only_used_in_regex_matchers(name):
    """"All" and multi-selections become regexes (.*, a|b): with = or != they match nothing."""
    dashboard = DASHBOARDS[name]
    regex_vars = {v["name"] for v in dashboard["templating"]["list"]
                  if v.get("includeAll") or v.get("multi")}
    for variable in dashboard["templating"]["list"]:
        if variable.get("includeAll"):
            assert variable.get("allValue"), f"${variable['name']} needs an allValue"
    matcher = re.compile(r"""(\w+)\s*(=~|!~|!=|=)\s*("[^"]*"|`[^`]*`)""")
    for query in dq.panel_queries(dashboard):
        for label, op, value in matcher.findall(query.expr):
            used = set(dq.variable_references(value)) & regex_vars
            assert not used or op in ("=~", "!~"), f"{query.name}: {label}{op}{value}"


def test_log_dashboards_offer_a_free_text_filter():
    for uid in ("lookout-logs", "lookout-frontend"):
        variables = {v["name"]: v for v in BY_UID[uid]["templating"]["list"]}
        assert variables["filter"]["type"] == "textbox"
        log_exprs = [q.expr for q in dq.panel_queries(BY_UID[uid]) if q.panel_type == "logs"]
        assert log_exprs and all("$filter" in e for e in log_exprs), uid


# --- provisioning and Grafana settings ---------------------------------------------------

def service_port(service):
    """The port docs/signals.md gives a compose service."""
    match = re.search(rf"^\|\s*`{re.escape(service)}`\s*\|\s*(\d+)\s*\|", SIGNALS, re.M)
    assert match, f"{service} missing from the table in docs/signals.md"
    return int(match.group(1))


def test_datasources_have_fixed_uids_and_in_network_urls():
    document = yaml.safe_load(DATASOURCES_FILE.read_text())
    assert document["apiVersion"] == 1
    datasources = provisioned_datasources()
    assert set(datasources) == {"prometheus", "loki"}
    for uid, ds in datasources.items():
        assert ds["type"] == uid
        assert ds["access"] == "proxy", "the browser cannot reach the compose network"
        assert ds["url"] == f"http://{uid}:{service_port(uid)}"
        assert ds.get("editable") is False
    assert [uid for uid, ds in datasources.items() if ds.get("isDefault")] == ["prometheus"]


def test_prometheus_datasource_knows_the_scrape_interval():
    """Grafana sizes $__rate_interval from timeInterval: it must be the real scrape interval."""
    config = dq.REPO / "deploy" / "monitoring" / "prometheus" / "prometheus.yml"
    if not config.exists():
        pytest.skip("prometheus.yml not written yet")
    scrape_interval = yaml.safe_load(config.read_text())["global"]["scrape_interval"]
    assert provisioned_datasources()["prometheus"]["jsonData"]["timeInterval"] == scrape_interval


def test_every_datasource_uid_used_by_a_dashboard_is_provisioned():
    used = {q.datasource.get("uid") for q in QUERIES}
    for dashboard in DASHBOARDS.values():
        used |= {v["datasource"]["uid"] for v in dashboard["templating"]["list"]
                 if v.get("datasource")}
    assert used <= set(provisioned_datasources())


def test_dashboard_provider_reads_the_mounted_dashboard_folder():
    document = yaml.safe_load(PROVIDER_FILE.read_text())
    assert document["apiVersion"] == 1
    [provider] = document["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == MOUNTS["grafana/dashboards"]
    assert provider["allowUiUpdates"] is False
    assert provider["folder"], "dashboards belong in their own folder"


def grafana_service():
    if not COMPOSE_FILE.exists():
        pytest.skip("deploy/monitoring/docker-compose.yml not written yet")
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]["grafana"]


def grafana_environment():
    environment = grafana_service().get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return environment


def bind_mounts(service):
    """{host path relative to the compose folder: container path} of the bind mounts."""
    result = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source", ""), volume.get("target", "")
        if source.startswith((".", "/")):
            result[str(Path(source))] = target.rstrip("/")
    return result


@pytest.mark.parametrize("host_relative", sorted(MOUNTS))
def test_compose_mounts_the_grafana_folders_where_grafana_looks(host_relative):
    mounted = bind_mounts(grafana_service())
    assert mounted.get(host_relative) == MOUNTS[host_relative], mounted


def test_compose_keeps_sign_up_and_anonymous_access_off():
    environment = grafana_environment()
    assert str(environment.get("GF_USERS_ALLOW_SIGN_UP")).lower() == "false"
    assert str(environment.get("GF_AUTH_ANONYMOUS_ENABLED")).lower() == "false"
    assert "grafana_data:/var/lib/grafana" in grafana_service().get("volumes", [])
    home = environment.get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:  # optional; when set it must name a provisioned file
        assert home.startswith(MOUNTS["grafana/dashboards"] + "/")
        assert (GRAFANA / "dashboards" / Path(home).name).exists(), home


def test_compose_gives_grafana_its_admin_credentials_from_the_environment():
    environment = grafana_environment()
    password = (environment.get("GF_SECURITY_ADMIN_PASSWORD__FILE")
                or environment.get("GF_SECURITY_ADMIN_PASSWORD"))
    assert password, "no admin password: Grafana would fall back to admin/admin"
    assert "GF_SECURITY_ADMIN_PASSWORD__FILE" in environment or "${" in password, \
        "the admin password is hard-coded in the compose file"
    assert "${" in environment.get("GF_SECURITY_ADMIN_USER", "${")
    assert environment.get("GF_SERVER_ROOT_URL"), "websockets through the edge need root_url"


# --- PromQL: run by a real Prometheus over fixture series --------------------------------

@pytest.fixture(scope="module")
def prometheus():
    for tool in ("prometheus", "promtool"):
        assert shutil.which(tool), f"{tool} not installed (scripts/install-deps installs it)"
    with services.backfilled_prometheus() as server:
        yield server


def run_query(prometheus, expr):
    base, end = prometheus
    query = urllib.parse.urlencode({"query": expr, "time": end})
    return services.http_json(f"{base}/api/v1/query?{query}")


@pytest.mark.parametrize("query", PROM_QUERIES, ids=lambda q: q.name)
def test_promql_parses_and_finds_the_named_series(prometheus, query):
    expr = dq.resolve(query.expr, dq.variable_values(BY_UID[query.dashboard]))
    status, body = run_query(prometheus, expr)
    assert status == 200 and body.get("status") == "success", \
        f"{expr}\n-> {status} {body.get('errorType')}: {body.get('error')}"
    assert body["data"]["result"], f"no data: a series or label name is wrong?\n{expr}"


def test_a_broken_expression_is_caught(prometheus):
    """Guards the test above: Prometheus must answer bad_data, not silently succeed."""
    status, body = run_query(prometheus, "sum by (site (probe_success)")
    assert status == 400 and body["errorType"] == "bad_data"
    status, body = run_query(prometheus, "nginx:request_time_seconds:p95")
    assert status == 200 and body["data"]["result"] == []


VARIABLES = [(uid, v) for uid, d in BY_UID.items() for v in d["templating"]["list"]
             if v["type"] == "query"]


@pytest.mark.parametrize("uid,variable", VARIABLES, ids=lambda x: x if isinstance(x, str)
                         else x["name"])
def test_query_variables_list_values(prometheus, uid, variable):
    base, end = prometheus
    definition = dq.resolve(dq.variable_definition(variable), dq.variable_values(BY_UID[uid]))
    match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", definition)
    assert match, f"only label_values(selector, label) is used: {definition}"
    selector, label = match.groups()
    query = urllib.parse.urlencode({"match[]": selector, "start": end - 3600, "end": end})
    status, body = services.http_json(f"{base}/api/v1/label/{label}/values?{query}")
    assert status == 200 and body["data"], f"{definition} lists nothing"


def named_in_signals(metric):
    """`metric`, `metric{labels}`, or `prefix:...` followed by a `:suffix` sibling."""
    family = re.sub(r"_(bucket|count|sum)$", "", metric)
    if re.search(rf"`{re.escape(family)}(\{{[^`]*\}})?`", SIGNALS):
        return True
    prefix, _, suffix = metric.rpartition(":")
    return bool(prefix) and f"`{prefix}:" in SIGNALS and f"`:{suffix}`" in SIGNALS


def test_fixture_uses_the_names_docs_signals_md_defines():
    """The fixture stands for the contract; Lookout's own names must come from it."""
    own = {metric for metric, _, _ in services.fixture_series(0)
           if ":" in metric or metric.startswith("lookout_")}
    assert len(own) > 20
    for metric in own:
        assert named_in_signals(metric), f"{metric} is not in docs/signals.md"
    assert not named_in_signals("nginx:request_time_seconds:p95")
    assert not named_in_signals("lookout_frontend_fcp_seconds_bucket")


# --- LogQL: structure, the stream-label contract, measured pitfalls ----------------------

STRING = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`')
MATCHER = re.compile(r'\s*([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*(S\d+)\s*')


def skeleton(expr):
    """expr with every string literal replaced by S<n>, and the literals."""
    literals = []

    def keep(match):
        quoted = match.group(0)
        # "..." strings take Go escapes (JSON's are the same for what we use); `...` are raw.
        literals.append(json.loads(quoted) if quoted[0] == '"' else quoted[1:-1])
        return f"S{len(literals) - 1}"

    return STRING.sub(keep, expr), literals


def stream_selectors(expr):
    """[(label, op, value)] per stream selector of a LogQL expression."""
    text, literals = skeleton(expr)
    selectors = []
    for body in re.findall(r"\{([^{}]*)\}", text):
        matchers = []
        for part in body.split(","):
            match = MATCHER.fullmatch(part)
            assert match, f"bad matcher {part!r} in {expr}"
            label, op, ref = match.groups()
            matchers.append((label, op, literals[int(ref[1:])]))
        selectors.append(matchers)
    return selectors


def contract_pairs():
    """label="value" pairs of the stream selectors in docs/signals.md."""
    pairs = set(re.findall(r'(\w+)="(\w+)"', " ".join(re.findall(r"`(\{[^`]*\})`", SIGNALS))))
    for kind in re.findall(r"`kind` = ([^\n]*)", SIGNALS):  # kind = `pageload`, ... `error`
        pairs |= {("kind", value) for value in re.findall(r"`(\w+)`", kind)}
    return pairs


@pytest.mark.parametrize("query", LOKI_QUERIES, ids=lambda q: q.name)
def test_logql_is_well_formed(query):
    expr = dq.resolve(query.expr, dq.variable_values(BY_UID[query.dashboard]))
    text, _ = skeleton(expr)
    depth = []
    for char in text:
        if char in "({[":
            depth.append(char)
        elif char in ")}]":
            assert depth and "({[".index(depth.pop()) == ")}]".index(char), f"unbalanced: {expr}"
    assert not depth, f"unbalanced: {expr}"
    selectors = stream_selectors(expr)
    assert selectors, f"no stream selector: {expr}"
    for matchers in selectors:
        # Loki refuses a selector whose every matcher also matches the empty value.
        assert any(op == "=" and value for _, op, value in matchers), expr
    if query.panel_type == "logs":
        assert text.lstrip().startswith("{"), expr
    else:
        assert re.search(r"\[\d+[smhd]\]", text), f"metric query without a range: {expr}"
        assert re.match(r"\s*(topk|sum|avg|max|min|count|quantile_over_time|\w+_over_time|rate)"
                        r"\b", text), expr


@pytest.mark.parametrize("query", LOKI_QUERIES, ids=lambda q: q.name)
def test_logql_uses_the_stream_labels_of_signals_md(query):
    pairs = contract_pairs()
    contract_labels = {label for label, _ in pairs}
    allowed = contract_labels | {"site", "level", "component"}
    for matchers in stream_selectors(query.expr):
        for label, op, value in matchers:
            assert label in allowed, f"{query.name}: stream label {label!r} not in signals.md"
            if op == "=" and label in contract_labels:
                assert (label, value) in pairs, f"{query.name}: {label}={value!r} unknown"


@pytest.mark.parametrize("query", LOKI_QUERIES, ids=lambda q: q.name)
def test_logql_avoids_the_pitfalls_measured_on_real_loki(query):
    """From shared notes/loki-facts.md (measured on a real Loki)."""
    text, _ = skeleton(query.expr)
    # unwrap over real nginx values hits '-' and '0.010, 0.020': drop those lines.
    for tail in re.findall(r"\|\s*unwrap\s+\w+(.*)", text):
        assert re.match(r'\s*\|\s*__error__\s*=\s*S\d+', tail), query.name
        # Without by (...) every JSON field becomes a label: 500-series limit.
        assert re.search(r"\]\s*\)\s*by\s*\(", tail), query.name
    # request_time is a unitless number: `> 1s` fails, `> 1` works.
    assert not re.search(r"[<>]=?\s*\d+(\.\d+)?(ms|s|m)\b", text), query.name
    # A JSON parser without an __error__ filter fails the query on the first non-JSON line.
    for tail in re.findall(r"\|\s*json\b(.*)", text):
        assert re.match(r'\s*\|\s*__error__\s*=\s*S\d+', tail) or query.panel_type == "logs", \
            query.name


@pytest.mark.parametrize("query", LOKI_QUERIES, ids=lambda q: q.name)
def test_logql_regexes_compile_in_re2(query):
    """Loki matches regexes with Go's RE2 syntax; google-re2 is the same engine family."""
    re2 = pytest.importorskip("re2")
    expr = dq.resolve(query.expr, dq.variable_values(BY_UID[query.dashboard]))
    text, literals = skeleton(expr)
    for ref in re.findall(r"(?:=~|!~|\|~)\s*S(\d+)", text):
        re2.compile(literals[int(ref)])


def test_logql_checks_reject_bad_queries():
    """Guards the hand-written LogQL checks above."""
    with pytest.raises(AssertionError):
        stream_selectors('{job="nginx", logtype}')
    assert stream_selectors('{job="nginx", site=~"a|b"} |= "x"') == [
        [("job", "=", "nginx"), ("site", "=~", "a|b")]]
    assert ("job", "nginx") in contract_pairs() and ("kind", "error") in contract_pairs()


# --- bounded aggregates: what a busy week of traffic cannot break (issue 12) ---------------

ACCESS_STREAM = ("logtype", "=", "access")
# Raw request fields: one value per URL, so one series per URL when grouped by.
RAW_PATH_FIELDS = {"path", "request_uri", "uri", "request", "page_url", "url"}
# Labels a LogQL aggregate may keep, each with a bound that holds whatever the traffic:
# stream labels (fixed by the Promtail and collector configs, docs/signals.md), the app-log
# component (fastapi or celery) and the browser error type (error, resource,
# unhandledrejection). A browser event's `page` only once its ids are replaced by :id, as
# routes are; its `message` is bounded only by how many distinct JS errors the frontend has:
# listed, not proven (docs/dashboards.md).
BOUNDED_LOGQL_LABELS = {"job", "site", "level", "logtype", "app", "kind", "component", "type"}
FRONTEND_FREE_TEXT = {"message"}
NORMALISED_PAGE = re.compile(r"\| label_format page=`\{\{ regexReplaceAll ")


def grouping_labels(expr):
    """Every label named in a by (...) or without (...) clause, outside string literals."""
    text, _ = skeleton(expr)
    labels = set()
    for kind, body in re.findall(r"\b(by|without)\s*\(([^)]*)\)", text):
        assert kind == "by", f"without (...) keeps every other label: {expr}"
        labels |= {label.strip() for label in body.split(",") if label.strip()}
    return labels


def is_metric_query(expr):
    return not skeleton(expr)[0].lstrip().startswith("{")


LOKI_METRIC_QUERIES = [q for q in LOKI_QUERIES if is_metric_query(q.expr)]


@pytest.mark.parametrize("query", LOKI_METRIC_QUERIES, ids=lambda q: q.name)
def test_no_aggregate_panel_parses_the_access_log(query):
    """Counts over the access log come from the recorded series in Prometheus: a LogQL
    metric query over it parses every line of the range at every refresh (seconds over
    7 days) and, grouped by path, fails at Loki's series limit."""
    for matchers in stream_selectors(query.expr):
        assert ACCESS_STREAM not in matchers, f"{query.name}: use nginx:*:rate1m in Prometheus"


@pytest.mark.parametrize("query", LOKI_METRIC_QUERIES, ids=lambda q: q.name)
def test_logql_aggregates_group_only_by_bounded_labels(query):
    labels = grouping_labels(query.expr)
    assert not labels & RAW_PATH_FIELDS, f"{query.name} groups by a raw URL field: {labels}"
    frontend = '{app="frontend"' in query.expr
    allowed = BOUNDED_LOGQL_LABELS | (FRONTEND_FREE_TEXT if frontend else set())
    if frontend and NORMALISED_PAGE.search(query.expr):
        allowed |= {"page"}
    assert labels <= allowed, f"{query.name}: unbounded grouping {labels - allowed}"
    text, _ = skeleton(query.expr)
    if re.search(r"\|\s*(json|logfmt|regexp|pattern|unpack)\b", text):
        # After a parser every field is a label: only an aggregation keeps them few.
        assert labels or re.match(r"\s*(sum|count|max|min|avg)\s*\(", text), query.name


@pytest.mark.parametrize("query", [q for q in PROM_QUERIES if "nginx:" in q.expr],
                         ids=lambda q: q.name)
def test_access_log_panels_group_by_route_never_by_path(query):
    labels = set(re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", query.expr))
    labels = {label.strip() for group in labels for label in group.split(",")}
    assert not labels & RAW_PATH_FIELDS, query.name
    assert labels <= {"site", "status_class", "status", "method", "route", "le"}, query.name


def test_the_bounded_checks_catch_the_panels_of_issue_12():
    """The checks above fail on the queries the Logs dashboard had before the fix."""
    old_top = ('topk(10, sum by (method, path) (count_over_time({job="nginx", '
               'logtype="access", site=~".*"} | json | __error__="" [1m])))')
    assert ACCESS_STREAM in stream_selectors(old_top)[0]
    assert grouping_labels(old_top) & RAW_PATH_FIELDS
    assert grouping_labels('sum by (message) (count_over_time({app="frontend"} [1m]))') \
        == {"message"}
    assert not NORMALISED_PAGE.search('sum by (page) (count_over_time({app="frontend"} | json '
                                      '| __error__="" [1m]))')
    with pytest.raises(AssertionError):
        grouping_labels('sum without (path) (count_over_time({job="app"} [1m]))')


PER_MINUTE_SUM = re.compile(r"sum_over_time\(nginx:[a-z_]+:rate1m\{[^}]*\}\[\$__interval\]\)")


@pytest.mark.parametrize("query", [q for q in PROM_QUERIES if PER_MINUTE_SUM.search(q.expr)],
                         ids=lambda q: q.name)
def test_request_counts_per_interval_count_each_minute_once(query):
    """sum_over_time(rate1m[$__interval]) * 60 counts requests only if no interval is shorter
    than the one-minute samples: the panel must set a 1m minimum interval."""
    panel = next(p for p in dq.panels(BY_UID[query.dashboard]) if p.get("title") == query.panel)
    assert panel.get("interval") == "1m", query.name
    assert "* 60" in query.expr, query.name


# The ruler writes one sample a minute, at its own phase within the minute (here 17 s).
RULER_PHASE, MINUTES = 17, 150


def requests_in_minute(minute):
    return (minute * 7) % 13  # an uneven, known number of requests per minute


def ruler_series(end):
    lines = []
    for minute in range(MINUTES):
        timestamp = end - (MINUTES - minute) * 60 + RULER_PHASE
        lines.append('nginx:requests:rate1m{site="application",status_class="2xx",'
                     f'method="GET",route="/api/items/:id"}} {requests_in_minute(minute) / 60} '
                     f"{timestamp}")
    return "\n".join(lines) + "\n# EOF\n"


def expected_requests(end, start_exclusive, stop_inclusive):
    return sum(requests_in_minute(m) for m in range(MINUTES)
               if start_exclusive < end - (MINUTES - m) * 60 + RULER_PHASE <= stop_inclusive)


def logs_query(panel):
    [query] = [q for q in PROM_QUERIES if q.dashboard == "lookout-logs" and q.panel == panel]
    return query


def test_request_counts_from_the_recorded_rate_are_exact():
    """What the Logs dashboard shows as "requests" is the number of requests: per interval
    (Requests by method, 5-minute steps) and over the range (Top endpoints, 1 h), on a real
    Prometheus holding one-minute samples as the ruler writes them."""
    with services.backfilled_prometheus(ruler_series) as (base, end):
        values = {**dq.variable_values(BY_UID["lookout-logs"]), "__interval": "5m",
                  "__range": "1h"}
        per_interval = dq.resolve(logs_query("Requests by method").expr, values)
        start = end - 120 * 60
        query = urllib.parse.urlencode({"query": per_interval, "start": start, "end": end,
                                        "step": 300})
        status, body = services.http_json(f"{base}/api/v1/query_range?{query}")
        assert status == 200, body
        [series] = body["data"]["result"]
        points = {int(t): round(float(v), 6) for t, v in series["values"]}
        assert len(points) == 25
        for t, value in points.items():
            assert value == expected_requests(end, t - 300, t), t
        top = dq.resolve(logs_query("Top endpoints").expr, values)
        status, body = services.http_json(
            f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": top, "time": end}))
        [series] = body["data"]["result"]
        assert series["metric"] == {"method": "GET", "route": "/api/items/:id"}
        assert round(float(series["value"][1]), 6) == expected_requests(end, end - 3600, end)


@pytest.fixture(scope="module")
def loki():
    if not grafana_binary("loki"):
        pytest.skip("no Grafana loki binary on PATH: LogQL checked structurally only")
    with services.loki_server() as base:
        yield base


@pytest.mark.parametrize("query", LOKI_QUERIES, ids=lambda q: q.name)
def test_logql_parses_in_loki(loki, query):
    expr = dq.resolve(query.expr, dq.variable_values(BY_UID[query.dashboard]))
    status, body = services.http_json(f"{loki}/loki/api/v1/format_query?"
                                      + urllib.parse.urlencode({"query": expr}))
    assert status == 200, f"{expr}\n-> {status} {body}"


def push(loki, labels, events):
    now = time.time_ns()
    values = [[str(now - (len(events) - i) * 10**9), json.dumps(e)] for i, e in enumerate(events)]
    body = json.dumps({"streams": [{"stream": labels, "values": values}]}).encode()
    request = urllib.request.Request(f"{loki}/loki/api/v1/push", body,
                                     {"Content-Type": "application/json"})
    assert urllib.request.urlopen(request, timeout=10).status == 204


@pytest.fixture(scope="module")
def browser_events(loki):
    labels = {"app": "frontend", "job": "frontend"}
    push(loki, {**labels, "kind": "pageload"},
         [{"kind": "pageload", "page": page, "load": load}
          for page, load in (("/items/42", 900), ("/items/43", 1100), ("/", 300))])
    push(loki, {**labels, "kind": "error"},
         [{"kind": "error", "type": "error", "message": "boom", "page": page}
          for page in ("/items/42", "/items/43", "/")])
    return loki


@pytest.mark.parametrize("panel", ["Slowest pages (average full load)",
                                   "Pages with the most JS errors"])
def test_per_page_panels_group_ids_into_one_page_on_real_loki(browser_events, panel):
    """/items/42 and /items/43 are one page to these panels, as they are one route."""
    loki = browser_events
    [query] = [q for q in LOKI_QUERIES if q.dashboard == "lookout-frontend" and q.panel == panel]
    expr = dq.resolve(query.expr, {**dq.variable_values(BY_UID["lookout-frontend"]),
                                   "__auto": "5m"})
    deadline = time.time() + 20
    while True:  # pushed lines become queryable within a moment
        status, body = services.http_json(f"{loki}/loki/api/v1/query?"
                                          + urllib.parse.urlencode({"query": expr}))
        assert status == 200, body
        pages = {s["metric"]["page"]: float(s["value"][1]) for s in body["data"]["result"]}
        if len(pages) == 2 or time.time() > deadline:
            break
        time.sleep(1)
    expected = ({"/items/:id": 1000.0, "/": 300.0} if panel.startswith("Slowest")
                else {"/items/:id": 2.0, "/": 1.0})
    assert pages == expected


# --- documentation -----------------------------------------------------------------------

def test_docs_describe_every_dashboard_and_panel():
    doc = DOC.read_text(encoding="utf-8")
    for dashboard in DASHBOARDS.values():
        assert dashboard["uid"] in doc and dashboard["title"] in doc, dashboard["uid"]
        for panel in dq.panels(dashboard):
            if panel["type"] != "row":
                assert panel["title"] in doc, f"{dashboard['uid']}: {panel['title']!r}"
