"""The application host's log plumbing, run for real: the nginx JSON access log, uvicorn with
backend/logging.json, a Celery worker with --logfile, logrotate, and the NFS examples.

The line formats asserted here are docs/signals.md's: the Promtail pipelines and the Loki
recording rules parse exactly these lines.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import netns_harness as nh  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "deploy" / "application"
SIGNALS = REPO / "docs" / "signals.md"

PY_LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} [A-Z]+ \[[\w.]+\] ")
CELERY_LINE = re.compile(r"^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}: [A-Z]+/[\w-]+\] ")


def _signals_access_log_keys() -> set[str]:
    """The keys docs/signals.md promises for the nginx JSON access log."""
    text = SIGNALS.read_text()
    section = text.split("## The nginx JSON access log", 1)[1].split("\n## ", 1)[0]
    listing = section.split("with these keys:", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"`([a-z_]+)`", listing))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, what: str) -> None:
    def up():
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            return False
    nh.wait_for(up, what, timeout=30)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- nginx -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app_nginx():
    reason = nh.unavailable_reason()
    if reason:
        pytest.skip(reason)
    with nh.NamespacePair(["backend", "frontend"]) as ns:
        # /etc/nginx and /var/log/nginx as the nginx container sees them; the config files
        # are symlinks to the repository's, so the tested files are the mounted ones.
        etc = ns.tmp / "etc-nginx"
        etc.mkdir()
        (etc / "nginx.conf").symlink_to(APP / "nginx" / "nginx.conf")
        (etc / "conf.d").symlink_to(APP / "nginx" / "conf.d")
        shutil.copy("/etc/nginx/mime.types", etc / "mime.types")  # the image ships its own
        logs = ns.tmp / "logs"
        logs.mkdir()
        binds = {str(etc): "/etc/nginx", str(logs): "/var/log/nginx"}
        argv = ["nginx", "-c", "/etc/nginx/nginx.conf", "-g", f"pid {ns.tmp}/nginx.pid;"]
        test = ns.run_in_door(argv + ["-t"], binds)
        assert test.returncode == 0, test.stderr
        ns.config_test_output = test.stderr
        ns.record = ns.start_fakes({"backend": 8000, "frontend": 80})
        ns.start_in_door(argv + ["-g", "daemon off;"], binds, "nginx.log")
        ns.wait_for_port(80, "application nginx on :80")
        ns.logs = logs
        yield ns


def _logged_entry(ns, **fields: str) -> dict:
    """The access-log entry whose keys have these values, waited for. nginx writes a line after
    it has sent the answer, so the previous test's last line may land after this test's curl
    returned: find the line by what the request made unique, never by its position."""
    path = ns.logs / "access.log"
    found: list[dict] = []

    def logged():
        # Only complete lines: one being written has no newline yet.
        lines = path.read_text().split("\n")[:-1] if path.exists() else []
        found[:] = [e for e in map(json.loads, lines)
                    if all(e.get(k) == v for k, v in fields.items())]
        return bool(found)
    nh.wait_for(logged, f"access log line with {fields}")
    assert len(found) == 1, f"{len(found)} access log lines with {fields}"
    return found[0]


def test_app_nginx_config_test_passes(app_nginx):
    assert "test is successful" in app_nginx.config_test_output


def test_app_nginx_routes_api_to_backend_and_the_rest_to_frontend(app_nginx):
    before = len(nh.read_records(app_nginx.record))
    assert app_nginx.curl("http://127.0.0.1/api/items/42?full=1") == (200, '{"service": "backend"}')
    assert app_nginx.curl("http://127.0.0.1/dashboard") == (200, '{"service": "frontend"}')
    records = nh.read_records(app_nginx.record)[before:]
    assert [(r["service"], r["path"]) for r in records] == \
        [("backend", "/api/items/42?full=1"), ("frontend", "/dashboard")]


def test_access_log_is_json_with_every_signals_key(app_nginx):
    keys = _signals_access_log_keys()
    assert len(keys) >= 14, keys
    # A user agent with a quote and a backslash must not break the JSON (escape=json).
    app_nginx.curl("http://127.0.0.1/api/orders/123e4567-e89b-12d3-a456-426614174000?x=1",
                   "-X", "POST", "--data", "a=1", "-H", "X-Fake-Status: 503",
                   "-A", 'evil "agent" \\ with quotes', "-e", "http://application/cart")
    entry = _logged_entry(app_nginx, user_agent='evil "agent" \\ with quotes')

    assert set(entry) == keys, "keys differ from docs/signals.md"
    assert all(isinstance(v, str) for v in entry.values()), "every value is a JSON string"
    assert entry["method"] == "POST"
    assert entry["status"] == "503"
    assert entry["path"] == "/api/orders/123e4567-e89b-12d3-a456-426614174000"
    assert entry["request_uri"] == entry["path"] + "?x=1"
    assert entry["user_agent"] == 'evil "agent" \\ with quotes'
    assert entry["referer"] == "http://application/cart"
    assert entry["remote_addr"] == "127.0.0.1"
    assert entry["host"] == "127.0.0.1"
    assert re.fullmatch(r"\d+\.\d{3}", entry["time"])
    assert abs(float(entry["time"]) - time.time()) < 60
    assert entry["time_iso"][:4] == time.strftime("%Y", time.gmtime())
    float(entry["request_time"])
    float(entry["upstream_response_time"])
    assert int(entry["bytes_sent"]) > 0
    assert re.fullmatch(r"[0-9a-f]{32}", entry["request_id"])
    # The backend receives the same request id (to follow one request into app.log).
    backend = [r for r in nh.read_records(app_nginx.record) if r["service"] == "backend"]
    assert backend[-1]["headers"]["x-request-id"] == entry["request_id"]


def test_request_answered_by_nginx_itself_has_no_upstream_time(app_nginx):
    """upstream_response_time is not always a number (docs/signals.md): parsers must cope."""
    status, _ = app_nginx.curl("http://127.0.0.1/api/x", "-X", "TRACE")  # nginx refuses TRACE
    assert status == 405
    entry = _logged_entry(app_nginx, method="TRACE", path="/api/x")
    assert entry["status"] == "405"
    assert entry["upstream_response_time"] == ""


def test_error_log_is_written_to_the_mounted_folder(app_nginx):
    assert (app_nginx.logs / "error.log").exists()


def test_compose_healthcheck_runs_against_the_real_nginx(app_nginx):
    """The app nginx healthcheck in docker-compose.yml, run as written, passes."""
    compose = yaml.safe_load((APP / "docker-compose.yml").read_text())
    test = compose["services"]["nginx"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    res = app_nginx.run_in_door(test[1:], timeout=10)
    assert res.returncode == 0, res.stderr


# ---- uvicorn with backend/logging.json ---------------------------------------------------

PROBE_APP = '''
import logging
from fastapi import FastAPI

app = FastAPI()
log = logging.getLogger("app.orders")


@app.get("/api/ok")
def ok():
    log.warning("order 42 is late")
    return {"ok": True}


@app.get("/api/boom")
def boom():
    raise RuntimeError("boom for the log test")
'''


def test_logging_json_writes_app_log_in_the_signals_format(tmp_path):
    config = json.loads((APP / "backend" / "logging.json").read_text())
    handler = config["handlers"]["app_log"]
    assert handler["filename"] == "/app/backend/logs/app.log"
    for logger in ("uvicorn", "uvicorn.access"):
        assert "app_log" in config["loggers"][logger]["handlers"]
    assert "app_log" in config["root"]["handlers"]

    # The same config with the log path moved into tmp (the container path does not exist
    # here); everything else is the committed file, loaded by uvicorn itself.
    log_file = tmp_path / "app.log"
    handler["filename"] = str(log_file)
    (tmp_path / "logging.json").write_text(json.dumps(config))
    (tmp_path / "probe_app.py").write_text(PROBE_APP)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "probe_app:app", "--app-dir", str(tmp_path),
         "--host", "127.0.0.1", f"--port={port}", f"--log-config={tmp_path / 'logging.json'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, proc, "uvicorn")
        assert requests.get(f"http://127.0.0.1:{port}/api/ok", timeout=5).status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/api/boom", timeout=5).status_code == 500
        nh.wait_for(lambda: "RuntimeError: boom" in log_file.read_text(), "traceback in app.log")
    finally:
        _stop(proc)
    lines = log_file.read_text().splitlines()

    entries = [line for line in lines if PY_LINE.match(line)]
    assert any(" INFO [uvicorn.error] Started server process" in line for line in entries)
    assert any(" WARNING [app.orders] order 42 is late" in line for line in entries)
    assert any(" INFO [uvicorn.access] " in line and '"GET /api/ok HTTP/1.1" 200' in line
               for line in entries)
    error = next(i for i, line in enumerate(lines)
                 if " ERROR [uvicorn.error] Exception in ASGI application" in line)
    # The traceback follows on lines that do not start with a timestamp (multiline stage).
    assert lines[error + 1] == "Traceback (most recent call last):"
    end = lines.index("RuntimeError: boom for the log test")
    assert not any(PY_LINE.match(line) for line in lines[error + 1:end + 1])


# ---- Celery --logfile --------------------------------------------------------------------

TASKS = '''
import os
from celery import Celery
from celery.utils.log import get_task_logger

app = Celery("tasks", broker=os.environ["BROKER_URL"])
log = get_task_logger(__name__)


@app.task
def flaky():
    log.error("payment provider timed out")
'''


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_celery_logfile_lines_match_the_signals_format(tmp_path):
    redis_port = _free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    log_file = tmp_path / "app.log"
    try:
        _wait_port(redis_port, redis, "redis-server")
        (tmp_path / "tasks.py").write_text(TASKS)
        env = {**os.environ, "BROKER_URL": f"redis://127.0.0.1:{redis_port}/0"}
        # The compose worker command (--loglevel, --logfile), with the log file in tmp.
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "--app=tasks", "worker", "--loglevel=INFO",
             f"--logfile={log_file}", "--concurrency=1", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        nh.wait_for(lambda: log_file.exists() and " ready." in log_file.read_text(),
                    "celery worker ready", timeout=60)
        subprocess.run([sys.executable, "-c", "import tasks; tasks.flaky.delay()"],
                       cwd=tmp_path, env=env, check=True, timeout=30)
        nh.wait_for(lambda: "payment provider timed out" in log_file.read_text(),
                    "task log line", timeout=30)
    finally:
        if worker:
            _stop(worker)
        _stop(redis)
    lines = log_file.read_text().splitlines()
    task_line = next(line for line in lines if "payment provider timed out" in line)
    assert re.fullmatch(r"\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}: ERROR/ForkPoolWorker-\d+\] "
                        r"tasks\.flaky\[[0-9a-f-]{36}\]: payment provider timed out", task_line)
    assert all(CELERY_LINE.match(line) for line in lines if line.startswith("[2"))


# ---- logrotate ---------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("logrotate") is None or os.geteuid() != 0,
                    reason="needs logrotate and root (private mount namespace)")
def test_logrotate_keeps_seven_days_and_the_writers_file_handle(tmp_path):
    conf = APP / "logrotate" / "lookout-app-logs"
    assert "/opt/app/data/logs/app/*.log" in conf.read_text()
    # The config names /opt/app; a private mount namespace puts a temp dir at /opt.
    opt = tmp_path / "opt"
    logs = opt / "app" / "data" / "logs"
    for folder in ("nginx", "app", "redis"):
        (logs / folder).mkdir(parents=True)
    app_log = logs / "app" / "app.log"
    state = tmp_path / "logrotate.state"

    writer = app_log.open("a")  # like uvicorn: opened once, appended to forever
    inode = app_log.stat().st_ino
    try:
        for day in range(9):
            writer.write(f"day {day}\n")
            writer.flush()
            (logs / "nginx" / "access.log").write_text(f"nginx day {day}\n")
            res = subprocess.run(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                 f'mount --bind "{opt}" /opt && exec logrotate --force --state "{state}" "{conf}"'],
                capture_output=True, text=True, timeout=30)
            assert res.returncode == 0, res.stderr
        writer.write("after rotation\n")
        writer.flush()
    finally:
        writer.close()

    # copytruncate: the same file, emptied in place, so the writer's handle keeps working and
    # its next line lands at the start of the live file, not in a rotated copy.
    assert app_log.stat().st_ino == inode
    assert app_log.read_text() == "after rotation\n"
    rotated = sorted(p.name for p in (logs / "app").iterdir() if p.name != "app.log")
    assert rotated == ["app.log.1"] + [f"app.log.{n}.gz" for n in range(2, 8)]
    assert (logs / "app" / "app.log.1").read_text() == "day 8\n"
    assert (logs / "nginx" / "access.log.1").exists()


# ---- NFS examples ------------------------------------------------------------------------

def _config_lines(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_nfs_examples_match_the_monitoring_mounts():
    exports = _config_lines(APP / "nfs" / "exports.example")
    assert len(exports) == 1
    path, client = exports[0]
    assert path == "/data/logs"
    host, options = re.fullmatch(r"([\w.-]+)\((.+)\)", client).groups()
    assert host == "monitoring-host"
    assert "ro" in options.split(",")

    fstab = _config_lines(APP / "nfs" / "fstab.monitoring-host.example")
    mounts = {mount: (source, fstype, opts.split(","))
              for source, mount, fstype, opts, *_ in fstab}
    assert set(mounts) == {"/mnt/nginx-logs", "/mnt/app-logs", "/mnt/redis-logs"}
    for mount, (source, fstype, opts) in mounts.items():
        folder = mount.split("/")[2].split("-")[0]
        assert source == f"nfs-server:/data/logs/{folder}"
        assert fstype == "nfs" and "ro" in opts and "nofail" in opts

    compose = yaml.safe_load((REPO / "deploy" / "monitoring" / "docker-compose.yml").read_text())
    promtail_mounts = {v.split(":")[0] for v in compose["services"]["promtail"]["volumes"]}
    assert set(mounts) <= promtail_mounts
