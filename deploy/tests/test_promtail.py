"""The two Promtail configs (application host, monitoring host over NFS).

Promtail cannot run here. What is checked:
  - structure: a scrape config per source, the stream labels of docs/signals.md, the paths each
    host reads, the client of each host, the positions file;
  - the promise that a line read by both Promtails is stored once (the collector's relay
    leaves out the second copy when both are identical): same stream labels, no
    `filename` label, identical pipelines, timestamps taken from the line;
  - the regular expressions and timestamp layouts, run on sample lines (uvicorn, Celery with a
    multi-line traceback, Redis, nginx error, nginx JSON) and on lines written by the real
    programs (nginx with the application's log_format, redis-server, uvicorn with the
    application's logging.json and a Celery worker, started here and stopped). They are compiled
    with Python's `re` AND with RE2 (google-re2, the engine family of Go's regexp): the configs
    keep to the syntax both accept, so each test runs in both engines.
  - when a `promtail` binary is on PATH: -check-syntax, and a -dry-run over the sample files
    with both configs, comparing what each would send.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grafana_binaries import grafana_binary, needs  # noqa: E402
from prom_helpers import free_port  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CONFIGS = {
    "monitoring": REPO / "deploy/monitoring/promtail/promtail.yml",
    "application": REPO / "deploy/application/promtail/promtail.yml",
}
# Where each host's Promtail finds the application's log folders (compose mounts them there).
LOG_DIRS = {
    "monitoring": {"nginx": "/mnt/nginx-logs", "app": "/mnt/app-logs", "redis": "/mnt/redis-logs"},
    "application": {"nginx": "/var/log/nginx", "app": "/var/log/app", "redis": "/var/log/redis"},
}
# scrape job -> (stream labels from docs/signals.md, folder, file name)
SOURCES = {
    "nginx-access": ({"job": "nginx", "logtype": "access"}, "nginx", "access.log"),
    "nginx-error": ({"job": "nginx", "logtype": "error"}, "nginx", "error.log"),
    "app": ({"job": "app"}, "app", "app.log"),
    "redis": ({"job": "redis"}, "redis", "redis.log"),
}

# envsubst as Promtail runs it with -config.expand-env=true, for the two forms the configs use.
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(text, env):
    return ENV_REF.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), text)


def load(host, env=None):
    return yaml.safe_load(expand_env(CONFIGS[host].read_text(), env or {}))


def jobs(config):
    return {sc["job_name"]: sc for sc in config["scrape_configs"]}


def stage(pipeline, kind, index=0):
    found = [s[kind] for s in pipeline if kind in s]
    assert len(found) > index, f"no {kind} stage #{index} in {pipeline}"
    return found[index]


def static_labels(scrape):
    (target,) = scrape["static_configs"]
    return dict(target["labels"])


def compile_both(pattern):
    """The pattern in Python's re and in RE2. Python warns that `[[` may one day mean a nested
    set; today (and in RE2/Go) `[[]` is a one-character class matching "["."""
    import re2  # google-re2, installed by scripts/install-deps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        py = re.compile(pattern)
    return {"re": py, "re2": re2.compile(pattern)}


ENGINES = ["re", "re2"]


# --- structure -------------------------------------------------------------------------


@pytest.mark.parametrize("host", CONFIGS)
def test_config_survives_envsubst_unchanged_apart_from_variables(host):
    # envsubst halves double backslashes and substitutes any dollar reference (comments too).
    text = CONFIGS[host].read_text()
    assert "\\" not in text, "a backslash would be rewritten by -config.expand-env"
    leftover = ENV_REF.sub("", text)
    assert "$" not in leftover, "a dollar sign other than ${VAR} / ${VAR:-default}"


@pytest.mark.parametrize("host", CONFIGS)
def test_one_scrape_config_per_source_with_signals_labels(host):
    scrapes = jobs(load(host))
    assert set(scrapes) == set(SOURCES)
    for name, (labels, folder, filename) in SOURCES.items():
        got = static_labels(scrapes[name])
        path = got.pop("__path__")
        assert path == f"{LOG_DIRS[host][folder]}/{filename}"
        assert got == {**labels, "site": "application"}, name


def test_stream_selectors_in_signals_md_match_promtail_labels():
    signals = (REPO / "docs/signals.md").read_text()
    for labels, _, _ in SOURCES.values():
        selector = "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
        assert f"`{selector}`" in signals, selector


@pytest.mark.parametrize("host", CONFIGS)
def test_site_label_comes_from_lookout_site(host):
    for scrape in jobs(load(host, {"LOOKOUT_SITE": "shop"})).values():
        assert static_labels(scrape)["site"] == "shop"


def test_monitoring_host_pushes_through_the_collectors_relay():
    config = load("monitoring")
    assert config["server"]["http_listen_port"] == 9080  # docs/signals.md, scraped by Prometheus
    (client,) = config["clients"]
    assert client["url"] == "http://collector:8081/agents/loki/api/v1/push"


def shortest_retry_seconds(backoff: dict) -> float:
    """The least time Promtail keeps retrying a batch: dskit's backoff (backoff.go at the
    pinned tag) waits a random time in [low, high), starting at [min, 2·min) and doubling both
    until high reaches max_period."""
    def seconds(text: str) -> float:
        return float(text[:-2]) / 1000 if text.endswith("ms") else float(text[:-1]) * {"s": 1, "m": 60}[text[-1]]
    low, high, cap = seconds(backoff["min_period"]), 2 * seconds(backoff["min_period"]), seconds(backoff["max_period"])
    total = 0.0
    for _ in range(backoff["max_retries"]):
        total += low
        if high < cap:
            low, high = min(2 * low, cap), min(2 * high, cap)
    return total


@pytest.mark.parametrize("host", CONFIGS)
def test_a_batch_is_retried_for_at_least_an_hour(host):
    """Both roads go through the collector and Loki: a restart of either (or a longer outage)
    must not make Promtail drop batches after its default 8.5 minutes."""
    (client,) = load(host)["clients"]
    assert client["backoff_config"]["max_retries"] > 0, "0 retries forever: one poisoned batch would stall every log"
    assert shortest_retry_seconds(client["backoff_config"]) >= 3600
    # Promtail's defaults for comparison (client/config.go): 500ms, 5m, 10 tries.
    assert shortest_retry_seconds({"min_period": "500ms", "max_period": "5m", "max_retries": 10}) < 600


def test_application_host_pushes_through_the_edge_with_basic_auth():
    (default,) = load("application")["clients"]
    assert default["url"] == "https://monitoring-host:3100/loki/api/v1/push"
    # Verified TLS, never skipped: the system trust store unless a private CA is named.
    assert default["tls_config"] == {"ca_file": ""}
    assert load("application", {"LOKI_PUSH_CA_FILE": "/etc/lookout/tls/lookout-ca.crt"})[
        "clients"][0]["tls_config"] == {"ca_file": "/etc/lookout/tls/lookout-ca.crt"}
    env = {"LOKI_PUSH_USER": "promtail", "LOKI_PUSH_PASSWORD": "s3cr#t: x", "LOKI_PUSH_URL": "https://logs.example:3100/loki/api/v1/push"}
    (client,) = load("application", env)["clients"]
    assert client["url"] == env["LOKI_PUSH_URL"]
    # The password survives YAML even with characters that are special there.
    assert client["basic_auth"] == {"username": "promtail", "password": "s3cr#t: x"}


@pytest.mark.parametrize("host", CONFIGS)
def test_positions_file_is_on_the_promtail_volume(host):
    assert load(host)["positions"]["filename"] == "/var/lib/promtail/positions.yaml"


# --- one stored copy for a line read by both hosts ---------------------------------------


def test_both_hosts_build_the_same_streams_and_pipelines():
    a, m = jobs(load("application")), jobs(load("monitoring"))
    for name in SOURCES:
        la, lm = static_labels(a[name]), static_labels(m[name])
        la.pop("__path__"), lm.pop("__path__")
        assert la == lm, name
        assert a[name]["pipeline_stages"] == m[name]["pipeline_stages"], name
        assert set(a[name]) == set(m[name]) == {"job_name", "static_configs", "pipeline_stages"}


@pytest.mark.parametrize("host", CONFIGS)
def test_every_source_drops_filename_and_takes_its_time_from_the_line(host):
    for name, scrape in jobs(load(host)).items():
        pipeline = scrape["pipeline_stages"]
        assert stage(pipeline, "labeldrop") == ["filename"], name
        ts = stage(pipeline, "timestamp")
        assert ts["source"] == "time", name
        # The extracted `time` exists before the timestamp stage uses it.
        kinds = [next(iter(s)) for s in pipeline]
        assert kinds.index("timestamp") > min(kinds.index(k) for k in ("json", "regex") if k in kinds)


@pytest.mark.parametrize("host", CONFIGS)
def test_only_low_cardinality_labels_are_added(host):
    added = {}
    for name, scrape in jobs(load(host)).items():
        for s in scrape["pipeline_stages"]:
            if "labels" in s:
                added[name] = set(s["labels"])
    assert added == {"nginx-error": {"level"}, "app": {"component", "level"}}


# --- the pipelines on realistic lines ------------------------------------------------------

PIPELINES = jobs(load("monitoring"))

# strptime twins of the Go layouts the configs use (Go's ",000"/".000" are milliseconds).
GO_LAYOUTS = {
    "2006/01/02 15:04:05": "%Y/%m/%d %H:%M:%S",
    "2006-01-02 15:04:05,000": "%Y-%m-%d %H:%M:%S,%f",
    "02 Jan 2006 15:04:05.000": "%d %b %Y %H:%M:%S.%f",
}


def parse_line_time(job, value):
    """The timestamp stage: its format, then its fallback formats, as Promtail tries them."""
    ts = stage(PIPELINES[job]["pipeline_stages"], "timestamp")
    assert ts["location"] == "UTC"  # default of LOG_TIMEZONE
    for layout in [ts["format"], *ts.get("fallback_formats", [])]:
        if layout == "Unix":
            if re.fullmatch(r"[0-9]+([.][0-9]+)?", value):
                return promtail_unix(value) / 1e9
            continue
        try:
            return datetime.strptime(value, GO_LAYOUTS[layout]).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            continue
    raise AssertionError(f"{job}: no format of the timestamp stage parses {value!r}")


def extract(job, text, engine):
    """The job's regex stages in order: a stage that matches adds (or replaces) its named
    groups in the extracted data, one that does not match leaves the data as it was."""
    data = {}
    for s in PIPELINES[job]["pipeline_stages"]:
        if "regex" in s:
            m = compile_both(s["regex"]["expression"])[engine].search(text)
            if m:
                data.update({k: v for k, v in m.groupdict().items() if v is not None})
    return data


def promtail_unix(value):
    """Promtail's `Unix` format (clients/pkg/logentry/stages/util.go): seconds, optionally with
    one '.' and a fraction; Promtail turns a JSON number into text with Go's shortest float
    formatting, which Python's repr matches."""
    text = repr(value) if isinstance(value, float) else str(value)
    sec, _, frac = text.partition(".")
    nanos = int(frac) * 10 ** (9 - len(frac)) if frac else 0
    return int(sec) * 10**9 + nanos


def nginx_json_line(msec, **fields):
    """One access-log line with the keys of log_format lookout_json (docs/signals.md)."""
    line = {
        "time": msec, "time_iso": "2026-11-25T10:00:00+00:00", "remote_addr": "203.0.113.7",
        "method": "GET", "path": "/api/items/42", "request_uri": "/api/items/42?x=1",
        "status": "200", "request_time": "0.012", "upstream_response_time": "0.010, 0.002",
        "bytes_sent": "512", "referer": "-", "user_agent": "Mozilla/5.0", "request_id": "abc",
        "host": "application",
    }
    line.update(fields)
    return json.dumps(line, separators=(",", ":"))


@pytest.mark.parametrize("msec", ["1795600800.123", 1795600800.123])
def test_nginx_access_time_becomes_the_entry_timestamp(msec):
    pipeline = PIPELINES["nginx-access"]["pipeline_stages"]
    assert stage(pipeline, "json")["expressions"] == {"time": "time"}
    assert stage(pipeline, "timestamp")["format"] == "Unix"
    record = json.loads(nginx_json_line(msec))
    # 2026-11-25 10:00:00.123 UTC, to the millisecond, whether nginx writes it quoted or not.
    assert promtail_unix(record["time"]) == 1795600800_123_000_000


APP_LOG = """\
2026-11-25 10:00:00,123 INFO [uvicorn.access] 172.18.0.5:51234 - "GET /api/items/1 HTTP/1.1" 200
2026-11-25 10:00:01,004 ERROR [uvicorn.error] Exception in ASGI application
Traceback (most recent call last):
  File "/app/backend/main.py", line 42, in read_item
    return items[item_id]
KeyError: 7
[2026-11-25 10:00:02,500: INFO/MainProcess] Task tasks.flaky[0f8fad5b-d9cb-469f-a165-70867728950e] received
[2026-11-25 10:00:03,010: ERROR/ForkPoolWorker-1] Task tasks.flaky[0f8fad5b-d9cb-469f-a165-70867728950e] raised unexpected: ValueError('boom')
Traceback (most recent call last):
  File "/usr/local/lib/python3.12/site-packages/celery/app/trace.py", line 453, in trace_task
    R = retval = fun(*args, **kwargs)
ValueError: boom
[2026-11-25 10:00:04,999: WARNING/ForkPoolWorker-1] tasks.flaky[0f8fad5b-d9cb-469f-a165-70867728950e]: retrying
"""

# (first line prefix, lines in the block, component, level, UTC epoch seconds)
APP_BLOCKS = [
    ("2026-11-25 10:00:00,123 INFO", 1, "fastapi", "INFO", 1795600800.123),
    ("2026-11-25 10:00:01,004 ERROR", 5, "fastapi", "ERROR", 1795600801.004),
    ("[2026-11-25 10:00:02,500: INFO", 1, "celery", "INFO", 1795600802.5),
    ("[2026-11-25 10:00:03,010: ERROR", 5, "celery", "ERROR", 1795600803.01),
    ("[2026-11-25 10:00:04,999: WARNING", 1, "celery", "WARNING", 1795600804.999),
]


@pytest.mark.parametrize("engine", ENGINES)
def test_app_log_multiline_blocks_tracebacks_and_extracts_level_component_time(engine):
    pipeline = PIPELINES["app"]["pipeline_stages"]
    multiline = stage(pipeline, "multiline")
    firstline = compile_both(multiline["firstline"])[engine]
    blocks = []
    for line in APP_LOG.splitlines():  # what the multiline stage does, line by line
        if firstline.search(line) or not blocks:
            blocks.append([line])
        else:
            blocks[-1].append(line)
    assert len(blocks) == len(APP_BLOCKS)
    assert max(len(b) for b in blocks) <= multiline["max_lines"]

    regex = compile_both(stage(pipeline, "regex")["expression"])[engine]
    for block, (prefix, size, component, level, epoch) in zip(blocks, APP_BLOCKS):
        entry = "\n".join(block)
        assert entry.startswith(prefix) and len(block) == size
        m = regex.search(entry)
        assert m, entry
        # The component template keys on the captured "[" that only Celery lines have.
        assert ("celery" if m.group("celery") else "fastapi") == component
        assert m.group("level") == level
        assert parse_line_time("app", m.group("time")) == pytest.approx(epoch, abs=1e-6)


def test_app_templates_name_both_components_and_lowercase_the_level():
    templates = {t["source"]: t["template"] for t in (s["template"] for s in PIPELINES["app"]["pipeline_stages"] if "template" in s)}
    assert set(templates) == {"component", "level"}
    assert "celery" in templates["component"] and "fastapi" in templates["component"]
    assert "ToLower .Value" in templates["level"]


@pytest.mark.parametrize("engine", ENGINES)
def test_firstline_does_not_split_on_traceback_or_continuation_lines(engine):
    firstline = compile_both(stage(PIPELINES["app"]["pipeline_stages"], "multiline")["firstline"])[engine]
    for line in ["Traceback (most recent call last):", '  File "/x.py", line 1, in f', "KeyError: 7",
                 "During handling of the above exception, another exception occurred:", "",
                 "    2026-11-25 10:00:00,123 indented", "[2026-11-25] not a log line"]:
        assert not firstline.search(line), line


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "line, level, epoch",
    [
        ("2026/11/25 10:00:00 [error] 29#29: *1 connect() failed (111: Connection refused) while connecting to upstream", "error", 1795600800),
        ("2026/11/25 09:59:59 [warn] 1#1: conflicting server name \"_\" on 0.0.0.0:80, ignored", "warn", 1795600799),
        ("2026/11/25 10:00:00 [notice] 1#1: start worker processes", "notice", 1795600800),
    ],
)
def test_nginx_error_level_and_time(engine, line, level, epoch):
    regex = compile_both(stage(PIPELINES["nginx-error"]["pipeline_stages"], "regex")["expression"])[engine]
    m = regex.search(line)
    assert m and m.group("level") == level
    assert parse_line_time("nginx-error", m.group("time")) == epoch


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "line, epoch",
    [
        ("1:M 25 Nov 2026 10:00:00.123 * Ready to accept connections tcp", 1795600800.123),
        ("1:C 05 Jan 2026 23:59:59.999 # WARNING Memory overcommit must be enabled!", 1767657599.999),
        ("27:S 25 Nov 2026 10:00:01.000 - Accepted 172.18.0.4:40000", 1795600801.0),
        ("1:signal-handler (1795600802) Received SIGTERM scheduling shutdown...", 1795600802),
    ],
)
def test_redis_time(engine, line, epoch):
    data = extract("redis", line, engine)
    assert "time" in data, line
    assert parse_line_time("redis", data["time"]) == pytest.approx(epoch, abs=1e-6)


@pytest.mark.parametrize("engine", ENGINES)
def test_regexes_reject_lines_of_other_sources(engine):
    exprs = {job: compile_both(stage(PIPELINES[job]["pipeline_stages"], "regex")["expression"])[engine]
             for job in ("nginx-error", "app", "redis")}
    samples = {
        "nginx-error": "2026/11/25 10:00:00 [error] 29#29: boom",
        "app": "2026-11-25 10:00:01,004 ERROR [uvicorn.error] boom",
        "redis": "1:M 25 Nov 2026 10:00:00.123 * Ready",
    }
    for job, regex in exprs.items():
        for other, line in samples.items():
            assert bool(regex.search(line)) == (job == other), (job, other)
    assert not exprs["app"].search(nginx_json_line("1795600800.123"))


# --- with a real Promtail (skipped when it is not installed) --------------------------------


PROMTAIL = grafana_binary("promtail")
needs_promtail = needs("promtail", PROMTAIL)


@needs_promtail
@pytest.mark.parametrize("host", CONFIGS)
def test_promtail_check_syntax(host):
    env = {**os.environ, "LOKI_PUSH_USER": "u", "LOKI_PUSH_PASSWORD": "p"}
    out = subprocess.run([PROMTAIL, f"-config.file={CONFIGS[host]}", "-config.expand-env=true", "-check-syntax"],
                         capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stdout + out.stderr


def dry_run(host, logs, tmp_path):
    """Both hosts' configs over the same sample files: what each would send, as
    (timestamp, labels, first line) tuples from Promtail's -dry-run output."""
    text = CONFIGS[host].read_text()
    for folder in ("nginx", "app", "redis"):
        text = text.replace(LOG_DIRS[host][folder] + "/", f"{logs}/{folder}/")
    text = text.replace("/var/lib/promtail/positions.yaml", str(tmp_path / f"positions-{host}.yaml"))
    text = text.replace("http_listen_port: 9080", "http_listen_port: 0")
    config = tmp_path / f"{host}.yml"
    config.write_text(text)
    # TZ=UTC: -dry-run prints timestamps in the local zone
    env = {**os.environ, "LOKI_PUSH_USER": "u", "LOKI_PUSH_PASSWORD": "p", "TZ": "UTC"}
    proc = subprocess.Popen([PROMTAIL, f"-config.file={config}", "-config.expand-env=true", "-dry-run"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        time.sleep(8)  # multiline waits max_wait_time (3 s) before sending the last block
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    ansi = re.compile(r"\x1b\[[0-9;]*m")
    entries = set()
    for line in ansi.sub("", out).splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[1].startswith("{"):
            entries.add((parts[0], parts[1], parts[2]))
    return entries


@needs_promtail
def test_both_hosts_send_identical_entries(tmp_path):
    logs = tmp_path / "logs"
    for folder, name, content in [
        ("nginx", "access.log", nginx_json_line("1795600800.123") + "\n"),
        ("nginx", "error.log", "2026/11/25 10:00:00 [error] 29#29: *1 boom\n"),
        ("app", "app.log", APP_LOG),
        ("redis", "redis.log", "1:M 25 Nov 2026 10:00:00.123 * Ready to accept connections tcp\n"),
    ]:
        (logs / folder).mkdir(parents=True, exist_ok=True)
        (logs / folder / name).write_text(content)
    sent = {host: dry_run(host, logs, tmp_path) for host in CONFIGS}
    assert sent["application"] == sent["monitoring"]
    labels = {entry[1] for entry in sent["monitoring"]}
    assert not any("filename" in l for l in labels)
    assert any('component="celery"' in l and 'level="error"' in l for l in labels)
    stamps = {entry[0] for entry in sent["monitoring"]}
    assert "2026-11-25T10:00:00.123+0000" in stamps


# --- lines written by the real programs -----------------------------------------------------
# nginx with the application's own log_format, redis-server, uvicorn with the application's
# logging.json and a Celery worker with --logfile (as deploy/application/docker-compose.yml
# runs them) write real log files; the pipelines must take every one of their lines apart.
# TZ=UTC: the containers write UTC and the configs read zone-less times as UTC.

SAMPLE_APP = '''
import os
from celery import Celery
from fastapi import FastAPI

app = FastAPI()


@app.get("/api/items/{item_id}")
def read_item(item_id: int):
    return {"a": 1}[item_id]  # KeyError: the traceback we want in app.log


worker = Celery("sample", broker=os.environ["BROKER_URL"])


@worker.task(name="tasks.flaky")
def flaky():
    raise ValueError("boom")
'''


def wait_for(check, what, proc=None, timeout=30):
    deadline = time.time() + timeout
    while not check():
        assert proc is None or proc.poll() is None, f"{what}: process exited with {proc.returncode}"
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def stop(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def spawn(args, tmp, name, **kw):
    log = open(tmp / f"{name}.out", "w")
    env = {**os.environ, "TZ": "UTC", **kw.pop("env", {})}
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, **kw)


def get_status(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:  # not listening yet
        return None


@pytest.fixture(scope="module")
def real_logs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("real-logs")
    procs = []
    t0 = time.time()
    try:
        # nginx, with the log_format block copied from the application's nginx.conf.
        conf = (REPO / "deploy/application/nginx/nginx.conf").read_text()
        log_format = re.search(r"^\s*log_format lookout_json[^;]*;", conf, re.M).group(0)
        port = free_port()
        (tmp / "nginx.conf").write_text(f"""
worker_processes 1;
error_log {tmp}/error.log notice;
pid {tmp}/nginx.pid;
events {{ }}
http {{
    {log_format}
    access_log {tmp}/access.log lookout_json;
    server {{
        listen 127.0.0.1:{port};
        location /api/ {{ return 200 "ok"; }}
        location / {{ return 404; }}
    }}
}}
""")
        nginx = spawn(["nginx", "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"], tmp, "nginx")
        procs.append(nginx)
        wait_for(lambda: (tmp / "nginx.pid").exists(), "nginx", nginx)
        paths = ["/api/items/42", "/api/users/550e8400-e29b-41d4-a716-446655440000/orders/7", "/wp-login.php"]
        wait_for(lambda: get_status(f"http://127.0.0.1:{port}/api/ping") == 200, "nginx answering", nginx)
        statuses = [get_status(f"http://127.0.0.1:{port}{p}") for p in paths]
        assert statuses == [200, 200, 404]

        # redis-server, logging to a file, no TCP port.
        sock = tmp / "redis.sock"
        redis = spawn(["redis-server", "--port", "0", "--unixsocket", str(sock), "--logfile", str(tmp / "redis.log"),
                       "--dir", str(tmp), "--save", "", "--appendonly", "no"], tmp, "redis")
        procs.append(redis)
        wait_for(sock.exists, "redis socket", redis)

        # uvicorn with the application's logging.json and a Celery worker with --logfile,
        # both appending to one app.log as in production.
        (tmp / "sample.py").write_text(SAMPLE_APP)
        logging_config = json.loads((REPO / "deploy/application/backend/logging.json").read_text())
        logging_config["handlers"]["app_log"]["filename"] = str(tmp / "app.log")
        (tmp / "logging.json").write_text(json.dumps(logging_config))
        broker = f"redis+socket://{sock}"
        env = {"BROKER_URL": broker, "PYTHONPATH": str(tmp)}
        worker = spawn([sys.executable, "-m", "celery", "--app=sample.worker", "worker", "--loglevel=INFO",
                        f"--logfile={tmp}/app.log", "--concurrency=1", "--without-gossip", "--without-mingle",
                        "--without-heartbeat"], tmp, "celery", env=env, cwd=tmp)
        procs.append(worker)
        api_port = free_port()
        api = spawn([sys.executable, "-m", "uvicorn", "sample:app", "--host=127.0.0.1", f"--port={api_port}",
                     f"--log-config={tmp}/logging.json"], tmp, "uvicorn", env=env, cwd=tmp)
        procs.append(api)
        wait_for(lambda: get_status(f"http://127.0.0.1:{api_port}/docs") == 200, "uvicorn", api)
        assert get_status(f"http://127.0.0.1:{api_port}/api/items/7") == 500
        app_log = tmp / "app.log"
        wait_for(lambda: app_log.exists() and "ready." in app_log.read_text(), "celery worker ready", worker)
        from celery import Celery

        Celery(broker=broker).send_task("tasks.flaky")
        wait_for(lambda: "ValueError: boom" in app_log.read_text(), "the task's traceback", worker)
    finally:
        for proc in reversed(procs):
            stop(proc, signal.SIGQUIT if proc.args[0] == "nginx" else signal.SIGTERM)
    t1 = time.time()
    return {"dir": tmp, "window": (t0 - 1, t1 + 1), "paths": paths}


def in_window(epoch, real_logs):
    low, high = real_logs["window"]
    return low <= epoch <= high


def test_real_nginx_access_lines(real_logs):
    lines = (real_logs["dir"] / "access.log").read_text().splitlines()
    records = [json.loads(l) for l in lines]
    assert [r["path"] for r in records][-3:] == real_logs["paths"]
    for r in records:
        # what the Promtail json + timestamp stages and the recording rules rely on
        assert {"time", "method", "path", "status", "request_time"} <= set(r)
        assert in_window(promtail_unix(r["time"]) / 1e9, real_logs)
        assert float(r["request_time"]) >= 0


@pytest.mark.parametrize("engine", ENGINES)
def test_real_nginx_error_lines(real_logs, engine):
    regex = compile_both(stage(PIPELINES["nginx-error"]["pipeline_stages"], "regex")["expression"])[engine]
    lines = (real_logs["dir"] / "error.log").read_text().splitlines()
    assert lines
    for line in lines:
        m = regex.search(line)
        assert m, line
        assert m.group("level") in {"debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"}
        assert in_window(parse_line_time("nginx-error", m.group("time")), real_logs)


@pytest.mark.parametrize("engine", ENGINES)
def test_real_redis_lines(real_logs, engine):
    lines = [l for l in (real_logs["dir"] / "redis.log").read_text().splitlines() if l.strip()]
    assert any("ready to accept connections" in l for l in lines)
    assert any(":signal-handler (" in l for l in lines)  # the SIGTERM that stopped it
    for line in lines:
        data = extract("redis", line, engine)
        assert "time" in data, line
        assert in_window(parse_line_time("redis", data["time"]), real_logs)


@pytest.mark.parametrize("engine", ENGINES)
def test_real_app_log_from_uvicorn_and_celery(real_logs, engine):
    pipeline = PIPELINES["app"]["pipeline_stages"]
    firstline = compile_both(stage(pipeline, "multiline")["firstline"])[engine]
    regex = compile_both(stage(pipeline, "regex")["expression"])[engine]
    blocks = []
    for line in (real_logs["dir"] / "app.log").read_text().splitlines():
        if firstline.search(line) or not blocks:
            blocks.append([line])
        else:
            blocks[-1].append(line)
    entries = []
    for block in blocks:
        m = regex.search("\n".join(block))
        assert m, block  # no orphan block: the file starts with a log line
        assert in_window(parse_line_time("app", m.group("time")), real_logs)
        entries.append(("celery" if m.group("celery") else "fastapi", m.group("level"), "\n".join(block)))
    components = {c for c, _, _ in entries}
    assert components == {"fastapi", "celery"}
    assert {level for _, level, _ in entries} <= {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
    api_error = [e for e in entries if "Exception in ASGI application" in e[2]]
    task_error = [e for e in entries if "raised unexpected" in e[2]]
    assert len(api_error) == 1 and len(task_error) == 1
    # each traceback travels with its log line, as one entry
    assert api_error[0][:2] == ("fastapi", "ERROR") and "Traceback" in api_error[0][2] and "KeyError: 7" in api_error[0][2]
    assert task_error[0][:2] == ("celery", "ERROR") and "Traceback" in task_error[0][2] and "ValueError: boom" in task_error[0][2]
