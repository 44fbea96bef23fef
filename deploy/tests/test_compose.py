"""Both hosts' compose files: validated by docker-compose and the compose-spec schema, then
checked for what the prompt and ARCHITECTURE.md require (pinned images, healthchecks,
depends_on conditions, only the edge published, named volumes, safe loki driver options).

Each file is rendered with `docker-compose config` from a temporary copy of its folder with
.env.example as .env, exactly as an operator would start it.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import netns_harness as nh  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "deploy" / "monitoring"
APPLICATION = REPO / "deploy" / "application"
ORIGINAL_APP = Path(__file__).resolve().parent / "fixtures" / "application-original.yml"
COMPOSE_FILES = [MONITORING / "docker-compose.yml", APPLICATION / "docker-compose.yml",
                 APPLICATION / "docker-compose.monitoring.yml"]

# Loki's "deadlocked Docker daemon" advice, plus bounded local files.
SAFE_DRIVER_OPTIONS = {"mode": "non-blocking", "loki-retries": "2", "loki-max-backoff": "800ms",
                       "loki-timeout": "1s", "keep-file": "true"}
PINNED = re.compile(r"^[\w./-]+:v?\d+\.\d+\.\d+$")


def _render(folder: Path, tmp_path: Path, *files: str, base: Path | None = None) -> dict:
    """docker-compose config of FILES in a copy of FOLDER; BASE replaces its compose file
    (an operator's existing docker-compose.yml, beside which the override is dropped)."""
    work = tmp_path / folder.name
    shutil.copytree(folder, work)
    shutil.copy(work / ".env.example", work / ".env")
    if base is not None:
        shutil.copy(base, work / "docker-compose.yml")
    args = []
    for f in files:
        args += ["-f", str(work / f)]
    res = subprocess.run(["docker-compose", *args, "config"], cwd=work,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return yaml.safe_load(res.stdout)


@pytest.fixture(scope="module")
def monitoring(tmp_path_factory):
    return _render(MONITORING, tmp_path_factory.mktemp("mon"), "docker-compose.yml")


@pytest.fixture(scope="module")
def application(tmp_path_factory):
    return _render(APPLICATION, tmp_path_factory.mktemp("app"), "docker-compose.yml")


@pytest.fixture(scope="module")
def overridden(tmp_path_factory):
    """The prompt's original application compose with the override merged over it."""
    return _render(APPLICATION, tmp_path_factory.mktemp("ovr"), "docker-compose.yml",
                   "docker-compose.monitoring.yml", base=ORIGINAL_APP)


def _raw(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _published(port) -> tuple[str, str]:
    """(host_ip, published port) of one docker-compose v1 `config` port entry."""
    if isinstance(port, dict):
        return port.get("host_ip", ""), str(port.get("published", ""))
    parts = str(port).split(":")
    if len(parts) == 3:
        return parts[0], parts[1]
    return ("", parts[0]) if len(parts) == 2 else ("", "")


def _bind_sources(service: dict) -> dict[str, str]:
    """container path -> host path of a rendered service's bind mounts."""
    out = {}
    for vol in service.get("volumes", []):
        parts = vol.split(":") if isinstance(vol, str) else [vol["source"], vol["target"]]
        if parts[0].startswith("/"):
            out[parts[1]] = parts[0]
    return out


# ---- both hosts --------------------------------------------------------------------------

@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_compose_spec_schema_and_version(path):
    res = subprocess.run(["check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert _raw(path)["version"] == "3.8"


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_images_are_pinned(path):
    for name, svc in _raw(path)["services"].items():
        if "image" in svc:
            image = re.sub(r"\$\{[^}]*\}", "0.1.0", svc["image"])  # the collector's own tag
            assert PINNED.match(image), f"{name}: image {svc['image']!r} is not pinned"
            assert "latest" not in image


@pytest.mark.parametrize("folder", [MONITORING, APPLICATION], ids=["monitoring", "application"])
def test_env_example_documents_every_variable_without_working_passwords(folder):
    env_text = (folder / ".env.example").read_text()
    documented = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", env_text, re.M))
    used = set()
    for f in folder.glob("docker-compose*.yml"):
        text = f.read_text()
        # `$${X}` is a literal for the container's shell, not a compose variable.
        used |= set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))
        # A secret never has a default that would work.
        for var in re.findall(r"\$\{([A-Z0-9_]*(?:PASSWORD|SECRET)[A-Z0-9_]*)([^}]*)\}", text):
            assert var[1].startswith(":?"), f"{f.name}: ${{{var[0]}}} must be required (:?)"
    assert used - set(documented) == set(), "variables used in compose but not in .env.example"
    for key, value in documented.items():
        if "PASSWORD" in key or "SECRET" in key:
            assert value == "CHANGE-ME", f"{key} in .env.example must be a placeholder"


# ---- monitoring host ---------------------------------------------------------------------

EXPECTED_MONITORING = {"prometheus", "blackbox", "cadvisor", "node-exporter", "grafana", "loki",
                       "promtail", "alertmanager", "collector", "edge"}


def test_monitoring_services_and_images(monitoring):
    services = monitoring["services"]
    assert set(services) == EXPECTED_MONITORING
    images = {name: svc["image"] for name, svc in services.items()}
    assert images["cadvisor"].startswith("ghcr.io/google/cadvisor:v0.")
    assert images["promtail"] == "grafana/promtail:3.6.11"
    assert re.fullmatch(r"grafana/grafana:12\.4\.\d+", images["grafana"])
    assert re.fullmatch(r"grafana/loki:3\.7\.\d+", images["loki"])
    assert images["prometheus"].startswith("prom/prometheus:v3.")
    assert images["edge"].startswith("nginx:1.")


def test_collector_builds_from_the_repository_root():
    build = _raw(MONITORING / "docker-compose.yml")["services"]["collector"]["build"]
    assert (MONITORING / build["context"]).resolve() == REPO
    assert build["dockerfile"] == "Dockerfile"


def test_every_monitoring_service_is_healthchecked_and_restarts(monitoring):
    for name, svc in monitoring["services"].items():
        test = svc.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"
        assert svc.get("restart") == "unless-stopped", name


def test_depends_on_waits_for_health(monitoring):
    for name, svc in monitoring["services"].items():
        for dep, cond in svc.get("depends_on", {}).items():
            assert dep in monitoring["services"], f"{name} depends on unknown {dep}"
            assert cond == {"condition": "service_healthy"}, f"{name} -> {dep}"


def test_edge_waits_for_every_upstream_its_config_names(monitoring):
    """nginx resolves upstream names at start: each one must be a healthy service first."""
    conf = "".join(f.read_text() for f in (MONITORING / "edge").rglob("*.conf"))
    upstreams = dict(re.findall(r"upstream\s+\S+\s*\{\s*server\s+([\w-]+):(\d+);", conf))
    assert upstreams, "no upstream blocks found in the edge config"
    assert set(upstreams) <= set(monitoring["services"]["edge"]["depends_on"])


def test_only_the_edge_is_published(monitoring):
    published = {}
    for name, svc in monitoring["services"].items():
        for port in svc.get("ports", []):
            published.setdefault(name, set()).add(_published(port))
    assert {p for ip, p in published.pop("edge")} == {"3000", "3100", "9090", "9093"}
    assert published.pop("blackbox") == {("127.0.0.1", "9115")}
    assert published.pop("cadvisor") == {("127.0.0.1", "8080")}
    assert published == {}, f"unexpected published ports: {published}"


def test_named_volumes(monitoring):
    expected = {"prometheus": ("prometheus_data", "/prometheus"),
                "grafana": ("grafana_data", "/var/lib/grafana"),
                "loki": ("loki_data", "/loki"),
                "alertmanager": ("alertmanager_data", "/alertmanager")}
    assert set(dict(expected.values())) <= set(monitoring["volumes"])
    for service, (volume, target) in expected.items():
        assert f"{volume}:{target}:rw" in monitoring["services"][service]["volumes"], service


def test_loki_driver_is_safe_and_not_looped(monitoring):
    for name, svc in monitoring["services"].items():
        logging = svc["logging"]
        if name in ("loki", "edge"):
            # Loki into itself, or the edge logging the pushes that carry its own logs,
            # would feed back forever.
            assert logging["driver"] == "json-file", name
            continue
        assert logging["driver"] == "loki", name
        opts = logging["options"]
        for key, value in SAFE_DRIVER_OPTIONS.items():
            assert opts.get(key) == value, f"{name}: {key}"
        assert re.fullmatch(r"\d+m", opts["max-buffer-size"]), name
        # Over TLS (the .env.example default, EDGE_SCHEME=https): the driver connects to
        # 127.0.0.1 and checks the certificate against the host's name, never skipping it.
        assert re.fullmatch(r"https://[^:@/]+:[^@/]+@127\.0\.0\.1:3100/loki/api/v1/push",
                            opts["loki-url"]), name
        assert opts["loki-tls-server-name"] == "monitoring-host", name
        assert opts["loki-tls-ca-file"] == "", name
        assert "loki-tls-insecure-skip-verify" not in opts, name
        # The stack's own logs belong to no application: no `site` label.
        assert opts["loki-external-labels"] == "job=docker,container_name={{.Name}}", name


def test_grafana_cookie_is_secure_behind_the_tls_edge(monitoring):
    env = monitoring["services"]["grafana"]["environment"]
    assert env["GF_SECURITY_COOKIE_SECURE"] == "true"
    assert env["GF_SERVER_ROOT_URL"].startswith("https://")


def test_prometheus_flags(monitoring):
    command = monitoring["services"]["prometheus"]["command"]
    for flag in ("--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus",
                 "--storage.tsdb.retention.time=7d", "--web.enable-remote-write-receiver"):
        assert flag in command


def test_promtail_reads_the_nfs_mounts_read_only(monitoring):
    volumes = monitoring["services"]["promtail"]["volumes"]
    for mount in ("/mnt/nginx-logs", "/mnt/app-logs", "/mnt/redis-logs"):
        assert f"{mount}:{mount}:ro" in volumes


def test_config_files_named_in_commands_exist_in_the_mounted_folders(monitoring):
    """Every /etc/... path a command names resolves, through the service's bind mounts, to a
    file in this repository: the compose file and the config folders agree."""
    checked = 0
    for name, svc in monitoring["services"].items():
        binds = _bind_sources(svc)
        args = list(svc.get("command") or []) + list(svc.get("entrypoint") or [])
        for arg in args:
            path = arg.split("=", 1)[-1]
            if not path.startswith("/etc/"):
                continue
            for target, source in binds.items():
                if path.startswith(target + "/"):
                    # The rendered copy lives in <tmp>/monitoring/: map back to the repo.
                    relative = source.split("/monitoring/", 1)[1]
                    local = MONITORING / relative / path[len(target) + 1:]
                    assert local.is_file(), f"{name}: {arg} -> {local} is missing"
                    checked += 1
    assert checked >= 6


def test_grafana_and_edge_folders_exist():
    compose = _raw(MONITORING / "docker-compose.yml")
    for name in ("grafana", "edge", "prometheus", "blackbox", "alertmanager", "loki", "promtail"):
        for vol in compose["services"][name]["volumes"]:
            source = vol.split(":")[0]
            if source.startswith("./") and not source.startswith("./secrets"):
                assert (MONITORING / source).is_dir(), f"{name}: {source} does not exist"


def test_secrets_contract(monitoring):
    """The files secrets/README.md promises are the ones compose and the edge use."""
    readme = (MONITORING / "secrets" / "README.md").read_text()
    conf = "".join(f.read_text() for f in (MONITORING / "edge" / "doors").glob("*.conf"))
    for door in ("prometheus", "alertmanager", "agents"):
        assert f"auth_basic_user_file /etc/nginx/secrets/{door}.htpasswd;" in conf
        assert f"`edge/{door}.htpasswd`" in readme
    edge_volumes = _raw(MONITORING / "docker-compose.yml")["services"]["edge"]["volumes"]
    assert "./secrets/edge:/etc/nginx/secrets:ro" in edge_volumes
    # The certificate folder (a folder: a renewal that renames a file into place is seen).
    assert "${EDGE_TLS_DIR:-./secrets/tls}:/etc/nginx/tls:ro" in edge_volumes
    tls = (MONITORING / "edge" / "tls.conf").read_text()
    for name in ("fullchain.pem", "privkey.pem"):
        assert f"/etc/nginx/tls/{name};" in tls
        assert f"`tls/{name}`" in readme
    assert monitoring["secrets"]["smtp_password"]["file"].endswith("/secrets/smtp_password")
    am_env = monitoring["services"]["alertmanager"]["environment"]
    assert am_env["SMTP_AUTH_PASSWORD_FILE"] == "/run/secrets/smtp_password"
    assert "`smtp_password`" in readme


# ---- application host --------------------------------------------------------------------

def _app_checks(services: dict) -> None:
    """What Lookout changes in the application's compose, wherever it comes from."""
    redis, backend, worker, nginx = (services[n] for n in ("redis", "backend", "worker", "nginx"))
    assert redis["command"] == ["redis-server", "--logfile", "/data/redis.log"]
    assert any(v.endswith("/data/logs/redis:/data:rw") for v in redis["volumes"])
    for svc in (backend, worker):
        assert any(v.endswith("/data/logs/app:/app/backend/logs:rw") for v in svc["volumes"])
    assert backend["command"][0] == "uvicorn"
    assert "--log-config=/app/backend/logging.json" in backend["command"]
    assert any(v.endswith("/backend/logging.json:/app/backend/logging.json:ro")
               for v in backend["volumes"])
    assert worker["command"][0] == "celery"
    assert "--logfile=/app/backend/logs/app.log" in worker["command"]
    assert any(v.endswith("/data/logs/nginx:/var/log/nginx:rw") for v in nginx["volumes"])
    assert any(v.endswith("/nginx/nginx.conf:/etc/nginx/nginx.conf:ro") for v in nginx["volumes"])

    promtail = services["promtail"]
    assert promtail["image"] == "grafana/promtail:3.6.11"
    assert "-config.expand-env=true" in promtail["command"]
    for folder in ("nginx", "app", "redis"):
        assert any(v.endswith(f"/data/logs/{folder}:/var/log/{folder}:ro")
                   for v in promtail["volumes"]), folder
    env = promtail["environment"]
    assert env["LOKI_PUSH_URL"] == "https://monitoring-host:3100/loki/api/v1/push"
    assert {"LOKI_PUSH_USER", "LOKI_PUSH_PASSWORD", "LOOKOUT_SITE"} <= set(env)
    # No private CA by default (a public certificate); its folder is mounted for when there is.
    assert env["LOKI_PUSH_CA_FILE"] == ""
    assert any(v.endswith("/tls:/etc/lookout/tls:ro") for v in promtail["volumes"])

    for name in ("redis", "backend", "worker", "frontend", "nginx", "promtail"):
        logging = services[name]["logging"]
        assert logging["driver"] == "loki", name
        for key, value in SAFE_DRIVER_OPTIONS.items():
            assert logging["options"].get(key) == value, f"{name}: {key}"
        # Credentials for the edge's agents door, in the URL as the driver expects them.
        assert logging["options"]["loki-url"] == \
            "https://agent:CHANGE-ME@monitoring-host:3100/loki/api/v1/push"
        assert logging["options"]["loki-tls-ca-file"] == ""
        assert logging["options"]["loki-external-labels"] == \
            "job=docker,site=application,container_name={{.Name}}"


def test_application_compose(application):
    services = application["services"]
    assert set(services) == {"redis", "backend", "worker", "frontend", "nginx", "promtail"}
    _app_checks(services)
    assert {_published(p) for p in services["nginx"]["ports"]} == {("", "80")}
    for name, svc in services.items():
        assert svc.get("ports") is None or name == "nginx", f"{name} must not be published"
        assert svc.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for dep, cond in svc.get("depends_on", {}).items():
            assert cond == {"condition": "service_healthy"}, f"{name} -> {dep}"


def test_override_applies_the_same_changes_to_an_existing_compose(overridden, application):
    services = overridden["services"]
    _app_checks(services)
    # The override keeps the original's own settings (images, builds, conf.d mount).
    assert services["redis"]["image"] == "redis:7.2.12"
    assert any(v.endswith("/nginx/default.conf:/etc/nginx/conf.d/default.conf:ro")
               for v in services["nginx"]["volumes"])
    # And the promtail service is the same as in the full file.
    full, merged = application["services"]["promtail"], services["promtail"]
    for key in ("image", "command", "environment", "logging"):
        assert merged[key] == full[key], key


def test_application_config_files_exist():
    for rel in ("nginx/nginx.conf", "nginx/conf.d/default.conf", "backend/logging.json",
                "promtail/promtail.yml", ".env.example", "logrotate/lookout-app-logs",
                "nfs/exports.example", "nfs/fstab.monitoring-host.example"):
        assert (APPLICATION / rel).is_file(), rel


# ---- healthchecks, run as written against the real programs ------------------------------

# The Debian builds of the images' programs, started in a private network namespace on the
# ports the images use. Versions are older than the pinned images; the endpoints are not.
HEALTHCHECKED = {
    "prometheus": lambda d: ["prometheus", f"--config.file={d}/prometheus.yml",
                             f"--storage.tsdb.path={d}/data", "--web.listen-address=:9090"],
    "alertmanager": lambda d: ["prometheus-alertmanager", f"--config.file={d}/alertmanager.yml",
                               f"--storage.path={d}/am", "--web.listen-address=:9093",
                               "--cluster.listen-address="],
    "blackbox": lambda d: ["prometheus-blackbox-exporter",
                           f"--config.file={MONITORING}/blackbox/blackbox.yml"],
    "node-exporter": lambda d: ["prometheus-node-exporter"],
}


@pytest.mark.parametrize("service", sorted(HEALTHCHECKED))
def test_healthcheck_passes_against_the_real_program(service, monitoring, tmp_path):
    reason = nh.unavailable_reason() or (None if shutil.which("busybox") else "no busybox")
    if reason:
        pytest.skip(reason)
    test = monitoring["services"][service]["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "wget", test
    # The prom/* images are busybox: their wget is busybox's.
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "wget").symlink_to(shutil.which("busybox"))
    (tmp_path / "prometheus.yml").write_text("global: {}\n")
    (tmp_path / "alertmanager.yml").write_text("route: {receiver: none}\nreceivers: [{name: none}]\n")
    env = {**os.environ, "PATH": f"{shims}:{os.environ['PATH']}"}
    with nh.NamespacePair([]) as ns:
        ns.start_in_door(HEALTHCHECKED[service](tmp_path), log_name=f"{service}.log")
        result = {}

        def healthy():
            result["res"] = ns.run_in_door(test[1:], env=env, timeout=10)
            return result["res"].returncode == 0
        try:
            nh.wait_for(healthy, f"{service} healthcheck", timeout=30)
        except TimeoutError:
            log = (ns.tmp / f"{service}.log").read_text()[-2000:]
            pytest.fail(f"healthcheck {test} never passed: {result['res'].stderr}\n{log}")


LOOKOUT_BIN = REPO / ".build" / "debug" / "lookout"


@pytest.mark.skipif(not LOOKOUT_BIN.exists(), reason="lookout is not built (the swift stage builds it)")
def test_collector_healthcheck_passes_against_lookout_serve(monitoring):
    reason = nh.unavailable_reason()
    if reason:
        pytest.skip(reason)
    svc = monitoring["services"]["collector"]
    test = svc["healthcheck"]["test"]
    # The compose environment, plus the logger file where the image has it.
    env = {**os.environ, **svc["environment"],
           "LOOKOUT_LOGGER_JS": str(REPO / "frontend" / "logger" / "logger.min.js")}
    with nh.NamespacePair(["loki"]) as ns:
        proc = subprocess.Popen(ns.door_cmd([str(LOOKOUT_BIN), *svc["command"]]),
                                env=env, stdout=open(ns.tmp / "serve.log", "wb"),
                                stderr=subprocess.STDOUT)
        ns.procs.append(proc)
        result = {}

        def healthy():
            result["res"] = ns.run_in_door(test[1:], timeout=10)
            return result["res"].returncode == 0
        try:
            nh.wait_for(healthy, "collector healthcheck", timeout=30)
        except TimeoutError:
            pytest.fail(f"{test} never passed: {result['res'].stderr}\n"
                        f"{(ns.tmp / 'serve.log').read_text()[-2000:]}")
