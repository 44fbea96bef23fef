"""The dashboard benchmark's own parts (bench/dashboards/), on tiny sizes and without Loki:

- generate.py writes lines with exactly the fields of the shipped log_format, in the forms
  nginx writes them, with the status and latency mix it promises, deterministically;
- recorded.py, which computes the recording rules' values for the Prometheus backfill,
  normalises routes as the rule files' template does (RE2 on the template's own regular
  expressions) and evaluates rates and quantiles over the right windows;
- grafana.py computes intervals, steps and $__ variables as Grafana does.
The benchmark itself compares recorded.py with a real Loki where one is on PATH.
"""
import collections
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import re2
import requests
import yaml

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench/dashboards"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate  # noqa: E402
import real_loki  # noqa: E402
from grafana_binaries import needs  # noqa: E402
from prom_helpers import free_port, running  # noqa: E402
import grafana  # noqa: E402
import recorded  # noqa: E402

END = "2026-11-30T12:00:00Z"


def shipped_log_format():
    """{key: nginx variable} of log_format lookout_json in the application's nginx.conf."""
    conf = (REPO / "deploy/application/nginx/nginx.conf").read_text()
    block = re.search(r"^\s*log_format lookout_json\b([^;]*);", conf, re.M).group(1)
    return dict(re.findall(r'\\?"(\w+)\\?":\\?"\$(\w+)\\?"', block.replace("'", "")))


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("lines")
    run = subprocess.run([sys.executable, str(BENCH / "generate.py"), "--days", "0.1", "--rate", "2",
                          "--paths", "200", "--seed", "5", "--end", END, "--out", str(out)],
                         capture_output=True, text=True, timeout=300, check=True)
    lines = (out / "access.log").read_text().splitlines()
    return run.stdout, json.loads((out / "summary.json").read_text()), lines, [json.loads(l) for l in lines]


def test_generator_prints_and_records_what_it_wrote(sample):
    stdout, summary, lines, _ = sample
    assert summary["lines"] == len(lines) and f"{len(lines):,} lines" in stdout
    assert summary["bytes"] == sum(len(l) + 1 for l in lines)
    assert summary["start"] == "2026-11-30T09:36:00+00:00" and summary["end"] == "2026-11-30T12:00:00+00:00"
    assert summary["start"] in stdout and f"{summary['distinct_paths']:,} distinct paths" in stdout
    # 0.1 days at a mean 2 req/s around noon, where the daily swing is near its top
    assert 0.8 * 17280 < len(lines) < 1.5 * 17280


def test_every_line_has_exactly_the_fields_of_the_shipped_log_format(sample):
    fields = shipped_log_format()
    assert len(fields) == 14 and fields["path"] == "uri" and fields["time"] == "msec"
    assert tuple(fields) == generate.FIELDS
    forms = {  # what nginx writes for each variable (measured with Debian's nginx)
        "msec": r"\d{10}\.\d{3}", "time_iso8601": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00",
        "request_method": r"[A-Z]+", "uri": r"/\S*", "request_uri": r"/\S*", "status": r"[1-5]\d\d",
        "request_time": r"\d+\.\d{3}", "bytes_sent": r"\d+", "request_id": r"[0-9a-f]{32}",
        "upstream_response_time": r"|(?:\d+\.\d{3}|-)(?:(?:, | : )(?:\d+\.\d{3}|-))*",
        "remote_addr": r"\d+\.\d+\.\d+\.\d+",
    }
    _, _, _, records = sample
    for record in records:
        assert list(record) == list(fields)
        for key, variable in fields.items():
            assert isinstance(record[key], str)
            assert re.fullmatch(forms.get(variable, r".*"), record[key]), (key, record[key])
        assert record["request_uri"].split("?")[0] == record["path"]
    times = [float(r["time"]) for r in records]
    assert times == sorted(times)


def test_status_latency_and_method_mix(sample):
    _, _, _, records = sample
    n = len(records)
    classes = collections.Counter(r["status"][0] for r in records)
    assert classes["2"] / n > 0.8 and classes["3"] and classes["4"]
    assert 0.005 <= classes["5"] / n <= 0.02
    upstream = collections.Counter(
        "none" if u == "" else "-" if u == "-" else "several" if "," in u or ":" in u else "one"
        for u in (r["upstream_response_time"] for r in records))
    assert upstream["one"] / n > 0.9 and upstream["none"] and upstream["-"] and upstream["several"]
    slow = sum(float(r["request_time"]) > 1 for r in records) / n
    assert 0.002 < slow < 0.03
    assert {"GET", "POST", "PUT", "DELETE", "HEAD"} <= {r["method"] for r in records}


def test_generator_is_deterministic_and_streams(tmp_path):
    a = generate.Generator(generate.Params(0.01, 5, 100, seed=3, end=generate.parse_end(END)))
    b = generate.Generator(generate.Params(0.01, 5, 100, seed=3, end=generate.parse_end(END)))
    c = generate.Generator(generate.Params(0.01, 5, 100, seed=4, end=generate.parse_end(END)))
    first = list(a.lines())
    assert first == list(b.lines()) and first != list(c.lines())
    assert not isinstance(a.lines(), list)  # a generator: lines are made as they are written


def route_template():
    """The route template of the access-log rules, from the rule file itself."""
    text = (recorded.RULE_DIR / "nginx-access.yaml").read_text()
    templates = set(re.findall(r"route=`([^`]*)`", text))
    assert len(templates) == 1, "every rule must normalise routes the same way"
    return templates.pop()


def re2_route(template, path, status):
    """The template's regular expressions applied with RE2, Go's regex family, as Loki does."""
    if status == "404":
        return ":unmatched"
    m = re.fullmatch(r'.*regexReplaceAll "([^"]+)" \(regexReplaceAll "([^"]+)" \.path "([^"]+)"\) "([^"]+)".*', template)
    outer, inner, inner_repl, outer_repl = m.groups()
    to_python = lambda r: re.sub(r"\$\{(\d+)\}", r"\\\1", r)  # noqa: E731
    return re2.sub(outer, to_python(outer_repl), re2.sub(inner, to_python(inner_repl), path))


def test_recorded_routes_agree_with_the_rule_template_and_stay_bounded(sample):
    _, summary, _, records = sample
    template = recorded.Template(route_template())
    routes = set()
    for r in records:
        route = template.render(r)
        assert route == re2_route(route_template(), r["path"], r["status"]), r["path"]
        routes.add(route)
    assert summary["distinct_id_paths"] > 100
    for shape in ("/api/items/:id", "/api/users/:id/orders", "/api/orders/:id", "/api/files/:id/raw"):
        assert shape in routes
    # hundreds of distinct paths, a few dozen routes (the scanners' well-known probe paths
    # answered 400/403/405 keep their own route: they are a fixed list)
    assert len(routes) < 50 < summary["distinct_paths"]


STREAM = {"job": "nginx", "logtype": "access", "site": "application"}


def line(path, status, request_time, method="GET"):
    return json.dumps({"method": method, "path": path, "status": status, "request_time": request_time})


def test_rule_evaluation_windows_rates_and_quantiles():
    rules = {r.record: r for r in recorded.load_rules()}
    picked = [rules["nginx:requests:rate1m"], rules["nginx:request_time_seconds:p95_5m"]]
    T = 1_800_000_000 // 60 * 60  # an evaluation time (whole minute)
    ns = 10**9
    entries = [  # the [1m] offset 30s window of T is (T-90s, T-30s]
        (T * ns - 90 * ns, STREAM, line("/api/items/1", "200", "0.100")),          # just outside
        (T * ns - 89 * ns, STREAM, line("/api/items/2", "200", "0.200")),
        (T * ns - 30 * ns, STREAM, line("/api/items/3", "500", "0.300")),          # last inside
        (T * ns - 29 * ns, STREAM, line("/api/items/4", "200", "9.000")),          # next window
        (T * ns + 200 * ns, STREAM, "not json"),
    ]
    out = {(t, rule.record): values for t, rule, values in recorded.evaluate(iter(entries), picked, T, T + 60)}
    rate = out[(T, "nginx:requests:rate1m")]
    assert rate == {("application", "2xx", "GET", "/api/items/:id"): 1 / 60,
                    ("application", "5xx", "GET", "/api/items/:id"): 1 / 60}
    # 5m window (T-330s, T-30s] holds 0.1, 0.2, 0.3: Prometheus's quantile interpolates
    assert out[(T, "nginx:request_time_seconds:p95_5m")] == {("application",): pytest.approx(0.29)}
    # (T-270s, T+30s] holds all four: rank 0.95 * 3 = 2.85 between 0.3 and 9.0
    assert out[(T + 60, "nginx:request_time_seconds:p95_5m")] == {("application",): pytest.approx(7.695)}
    assert out[(T + 60, "nginx:requests:rate1m")] == {("application", "2xx", "GET", "/api/items/:id"): 1 / 60}
    # a group evaluated 15 s into each minute: T+15s reads (T-75s, T-15s]
    shifted = {t: v for t, rule, v in recorded.evaluate(iter(entries), picked[:1], T, T + 60, phase_ms=15_000)}
    assert shifted[T + 15] == {("application", "5xx", "GET", "/api/items/:id"): 1 / 60,
                               ("application", "2xx", "GET", "/api/items/:id"): 1 / 60}


def test_every_shipped_rule_is_understood():
    records = {r.record for r in recorded.load_rules()}
    text = "".join(p.read_text() for p in recorded.RULE_DIR.glob("*.yaml"))
    assert records == set(re.findall(r"record: (\S+)", text))


def test_unknown_template_functions_fail_loudly():
    with pytest.raises(recorded.Unsupported):
        recorded.Template('{{ printf "%s" .path }}')


@pytest.mark.parametrize("range_ms, width, ds, step_ms, builtins", [
    # 24 h on a half-width panel (930 px): 86.4e6/930 = 92.9 s, rounded to 2m
    (86_400_000, 12, "prometheus", 120_000, {"__interval": "2m", "__rate_interval": "2m30s"}),
    # 7 d: 650 s rounded to 10m; $__rate_interval = interval + scrape interval
    (604_800_000, 12, "prometheus", 600_000, {"__interval": "10m", "__rate_interval": "10m30s"}),
    # Loki has no minimum interval; $__auto is the step of a range query
    (604_800_000, 12, "loki", 600_000, {"__auto": "10m"}),
    (86_400_000, 24, "loki", 60_000, {"__auto": "1m"}),   # 1872 px: 46 s, rounded to 1m
])
def test_grafana_interval_and_step(range_ms, width, ds, step_ms, builtins, monkeypatch):
    panel = {"type": "timeseries", "title": "t", "gridPos": {"w": width}}
    target = {"refId": "A", "expr": " ".join(f"${name}" for name in builtins)}
    req = grafana._request({"uid": "d"}, panel, target, ds, {}, 1_800_000_000_000, range_ms, 30_000, 1000)
    assert req.step_ms == step_ms and req.expr == " ".join(builtins.values())
    if ds == "prometheus":
        assert req.start_ms % step_ms == 0 and req.end_ms % step_ms == 0


def test_grafana_instant_queries_use_the_whole_range():
    panel = {"type": "bargauge", "title": "t", "gridPos": {"w": 12}}
    req = grafana._request({"uid": "d"}, panel, {"refId": "A", "expr": "x[$__auto] y[$__range]", "instant": True},
                           "loki", {}, 1_800_000_000_000, 604_800_000, 30_000, 1000)
    assert req.kind == "instant" and req.expr == "x[604800s] y[604800s]"


def test_every_dashboard_query_can_be_built():
    reqs = grafana.requests_for(1_800_000_000_000, 604_800_000)
    assert {r.datasource for r in reqs} == {"prometheus", "loki"}
    # no variable left (the route template's ${2} and (/|$) are regular-expression syntax)
    assert not [r.name for r in reqs if re.search(r"\$\{?[A-Za-z_]", r.expr)]
    assert all(r.limit == 1000 for r in reqs if r.kind == "logs")


def test_app_log_entries_are_what_promtails_app_pipeline_parses():
    promtail = yaml.safe_load(re.sub(r"\$\{[^}]*\}", "x", (REPO / "deploy/monitoring/promtail/promtail.yml").read_text()))
    stages = next(s for s in promtail["scrape_configs"] if s["job_name"] == "app")["pipeline_stages"]
    firstline = next(s["multiline"]["firstline"] for s in stages if "multiline" in s)
    regex = next(s["regex"]["expression"] for s in stages if "regex" in s)
    p = generate.Params(0.02, 1, 50, seed=2, app_rate=2)
    end = generate.parse_end(END)
    entries = list(generate.app_entries(p, end - generate.dt.timedelta(days=0.02), end))
    assert len(entries) > 2000
    for ts, entry, component, level in entries:
        first, *rest = entry.split("\n")
        assert re2.match(firstline, first) and not any(re2.match(firstline, l) for l in rest)
        m = re2.match(regex, first)  # Go regex syntax, as Promtail reads it
        assert component == ("celery" if m.group("celery") else "fastapi") and level == m.group("level").lower()
        stamp = generate.dt.datetime.strptime(m.group("time"), "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=generate.dt.timezone.utc)
        assert round(stamp.timestamp() * 1000) * 1_000_000 == ts
    tracebacks = [e for _, e, _, _ in entries if "Traceback (most recent call last)" in e]
    assert tracebacks and all(l == "error" for _, e, _, l in entries if e in tracebacks)


# --- against a real Loki and its ruler (skipped where Loki is not installed) ----------------

needs_loki = needs("loki", real_loki.LOKI)


def push(base, entries):
    streams = {}
    for ts, labels, entry in entries:
        streams.setdefault(tuple(sorted(labels.items())), []).append([str(ts), entry])
    body = {"streams": [{"stream": dict(k), "values": v} for k, v in streams.items()]}
    r = requests.post(base + "/loki/api/v1/push", json=body, timeout=60)
    assert r.status_code == 204, r.text


def sample_entries(now_s, before_s, after_s):
    """Generated access lines and app.log entries around now, plus access lines exactly on
    the window edges of whole minutes (T-90 s, T-30 s, T-330 s), where an off-by-one between
    (a, b] and [a, b) would show."""
    end = generate.dt.datetime.fromtimestamp(now_s + after_s, generate.dt.timezone.utc)
    p = generate.Params((before_s + after_s) / 86400, 4, 100, seed=11, end=end, app_rate=1)
    gen = generate.Generator(p)
    access = [(ts, STREAM, l) for ts, l in gen.lines()]
    # a set: T-90 s of one minute is T-30 s of the one before, and Loki keeps only one copy of
    # an entry identical in time and text (the generator's lines never are: request ids)
    edges = sorted({(k * 60 - back) * 10**9 for k in range((now_s - before_s) // 60 + 1, (now_s + after_s) // 60)
                    for back in (30, 90, 330)})
    access += [(ts, STREAM, line(f"/api/edge/{ts // 10**9}", "503", "1.500")) for ts in edges
               if (now_s - before_s) * 10**9 < ts < (now_s + after_s) * 10**9]
    app = [(ts, {"job": "app", "site": "application", "component": c, "level": lv}, e)
           for ts, e, c, lv in generate.app_entries(p, gen.start, gen.end)]
    return sorted(access + app, key=lambda e: e[0])


def as_labels(rule, metric):
    return tuple(metric.get(l, "") for l in rule.by)


@needs_loki
def test_python_rule_values_equal_real_lokis_and_its_rulers(tmp_path):
    prom_port = free_port()
    (tmp_path / "prometheus.yml").write_text("global:\n  scrape_interval: 30s\n")
    prometheus = ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                  "--web.enable-remote-write-receiver", f"--web.listen-address=127.0.0.1:{prom_port}"]
    prom = f"http://127.0.0.1:{prom_port}"
    rules = recorded.load_rules()
    with running(prometheus, prom + "/-/ready", tmp_path / "prometheus.log"):
        (tmp_path / "loki").mkdir()
        with real_loki.started(tmp_path / "loki", remote_write_url=prom + "/api/v1/write") as loki:
            now = int(time.time())
            entries = sample_entries(now, 420, 240)  # Loki accepts lines up to 10 min ahead
            push(loki, entries)

            # (a) every rule as an instant query at whole minutes, as the benchmark checks
            minutes = [k * 60 for k in range((now - 60) // 60, (now + 180) // 60)]
            mine = {(t, r.record): v for t, r, v in recorded.evaluate(iter(entries), rules, minutes[0], minutes[-1])}
            for rule in rules:
                for t in minutes:
                    r = requests.get(loki + "/loki/api/v1/query", params={"query": rule.expr, "time": str(t * 10**9)}, timeout=60)
                    assert r.status_code == 200, r.text
                    got = {as_labels(rule, s["metric"]): float(s["value"][1]) for s in r.json()["data"]["result"]}
                    assert got == pytest.approx(mine[(t, rule.record)], rel=1e-9), (rule.record, t)

            # (b) what the ruler itself evaluated and remote-wrote, at its own times
            def written():
                q = "{__name__=~\"" + "|".join(re.escape(r.record) for r in rules) + "\"}[15m]"
                r = requests.get(prom + "/api/v1/query", params={"query": q}, timeout=30)
                return r.json()["data"]["result"]
            deadline = time.time() + 200
            while time.time() < deadline:
                series = written()
                if {s["metric"]["__name__"] for s in series} >= {r.record for r in rules} and \
                        all(len(s["values"]) >= 2 for s in series if s["metric"]["__name__"].startswith("nginx:requests")):
                    break
                time.sleep(10)
            by_rule = {}
            for s in series:
                for ts, value in s["values"]:
                    by_rule.setdefault(s["metric"]["__name__"], {}).setdefault(round(ts * 1000), {})[
                        as_labels(next(r for r in rules if r.record == s["metric"]["__name__"]), s["metric"])] = float(value)
            compared = 0
            for rule in rules:
                assert rule.record in by_rule, f"the ruler wrote no {rule.record}"
                for t_ms, got in by_rule[rule.record].items():
                    ours = dict((t, v) for t, _, v in recorded.evaluate(iter(entries), [rule], t_ms // 1000 - 1, t_ms // 1000 + 1,
                                                                         phase_ms=t_ms % 60_000))
                    assert got == pytest.approx(ours[t_ms / 1000 if t_ms % 60_000 else t_ms // 1000], rel=1e-9), (rule.record, t_ms)
                    compared += 1
            assert compared >= len(rules)
