"""What each compose image looks like inside, rebuilt from Debian packages and the host's Python.

A container image brings its binary paths, default entrypoint/command, default config files and
users. The lab recreates just that much in the service's overlay ("shims") so that the compose
`command:` runs unchanged. Images whose program is not installed here are reported and skipped
(or, for Loki, replaced by the clearly named recording fake).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path


# The official nginx image's /etc/nginx/nginx.conf and conf.d/default.conf (docker-nginx,
# Debian variant). Debian's own nginx.conf includes sites-enabled/ (a default server on :80),
# so it must not be what the image-shaped service sees.
NGINX_IMAGE_CONF = """user  nginx;
worker_processes  auto;

error_log  /var/log/nginx/error.log notice;
pid        /run/nginx.pid;


events {
    worker_connections  1024;
}


http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    access_log  /var/log/nginx/access.log  main;

    sendfile        on;
    #tcp_nopush     on;

    keepalive_timeout  65;

    #gzip  on;

    include /etc/nginx/conf.d/*.conf;
}
"""
NGINX_IMAGE_DEFAULT_SITE = """server {
    listen       80;
    listen  [::]:80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
"""


@dataclass
class Image:
    family: str
    entrypoint: list[str] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    shims: list[dict] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)   # readiness when compose has no healthcheck
    extra_args: list[str] = field(default_factory=list)  # appended to the image's own program
    missing: str | None = None                       # why it cannot run here
    substitute: str | None = None                    # "fake-loki" or "smtp-sink"


def link(path: str, target: str) -> dict:
    return {"path": path, "symlink": target}


def _program(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return str(Path(found).resolve())
    return None


def repository(image: str) -> str:
    """`ghcr.io/google/cadvisor:v0.60.5` → `google/cadvisor`; `nginx:1.28` → `nginx`."""
    name = image.split("@")[0]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        name = name[: name.rfind(":")]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0]):
        parts = parts[1:]
    if parts[0] == "library":
        parts = parts[1:]
    return "/".join(parts)


def prometheus_family(binary: str, debian: str, command: list[str], workdir: str,
                      ports: list[int], extra: dict[str, str] | None = None) -> Image:
    program = _program(debian)
    if not program:
        return Image(binary, missing=f"{debian} is not installed (Debian package)")
    shims = [link(f"/bin/{binary}", program)]
    for name, deb in (extra or {}).items():
        other = _program(deb)
        if other:
            shims.append(link(f"/bin/{name}", other))
    return Image(binary, entrypoint=[f"/bin/{binary}"], command=command, workdir=workdir,
                 shims=shims + [{"path": workdir, "dir": True}], ports=ports)


def python_image() -> Image:
    """The python:* images: interpreter and console scripts under /usr/local/bin."""
    scripts = Path(sysconfig.get_path("scripts"))
    shims = [link("/usr/local/bin/python", sys.executable), link("/usr/local/bin/python3", sys.executable)]
    for tool in ("uvicorn", "celery"):
        if (scripts / tool).exists():
            shims.append(link(f"/usr/local/bin/{tool}", str(scripts / tool)))
    return Image("python", command=["python3"], shims=shims,
                 env={"PYTHONUNBUFFERED": "1", "LANG": "C.UTF-8"})


def nginx_image() -> Image:
    program = _program("nginx")
    if not program:
        return Image("nginx", missing="nginx is not installed (Debian package)")
    shims = [
        link("/usr/sbin/nginx", program),
        {"path": "/etc/nginx/nginx.conf", "content": NGINX_IMAGE_CONF},
        {"path": "/etc/nginx/conf.d/default.conf", "content": NGINX_IMAGE_DEFAULT_SITE},
        {"path": "/etc/nginx/sites-enabled", "dir": True},
        {"path": "/etc/passwd", "append": "nginx:x:101:101:nginx user:/nonexistent:/usr/sbin/nologin\n"},
        {"path": "/etc/group", "append": "nginx:x:101:\n"},
        # The image sends its default logs to the container's stdout/stderr.
        link("/var/log/nginx/access.log", "/dev/stdout"),
        link("/var/log/nginx/error.log", "/dev/stderr"),
        {"path": "/var/cache/nginx", "dir": True},
    ]
    return Image("nginx", entrypoint=[], command=["nginx", "-g", "daemon off;"], shims=shims,
                 ports=[80])


def redis_image() -> Image:
    program = _program("redis-server")
    if not program:
        return Image("redis", missing="redis-server is not installed (Debian package)")
    # The official image is built with protected mode off (its Dockerfile patches the default),
    # otherwise Redis refuses clients from other containers; Debian keeps it on.
    return Image("redis", command=["redis-server"], workdir="/data",
                 shims=[link("/usr/local/bin/redis-server", program),
                        link("/usr/local/bin/redis-cli", _program("redis-cli") or program),
                        {"path": "/data", "dir": True}],
                 ports=[6379], extra_args=["--protected-mode", "no"])


def _grafana_program(name: str) -> str | None:
    """Grafana's `name` (loki, promtail) on PATH: the name alone is not enough, Debian's
    "loki" package is an unrelated genetics program."""
    program = _program(name)
    if not program:
        return None
    out = subprocess.run([program, "-version"], capture_output=True, text=True, timeout=30)
    return program if f"{name}, version" in (out.stdout + out.stderr) else None


def optional(family: str, names: tuple[str, ...], entrypoint: list[str], command: list[str],
             ports: list[int], workdir: str = "/", grafana: bool = False) -> Image:
    program = _grafana_program(names[0]) if grafana else _program(*names)
    if not program:
        what = f"Grafana's {names[0]}" if grafana else " / ".join(names)
        return Image(family, missing=f"{what} not on PATH")
    return Image(family, entrypoint=entrypoint, command=command, workdir=workdir, ports=ports,
                 shims=[link(entrypoint[0], program)])


def for_image(image: str | None) -> Image | None:
    """The shape of a known image, or None when the image is unknown to the lab."""
    if not image:
        return None
    repo = repository(image)
    if repo == "prom/prometheus":
        return prometheus_family(
            "prometheus", "prometheus",
            ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"],
            "/prometheus", [9090], {"promtool": "promtool"})
    if repo == "prom/alertmanager":
        return prometheus_family(
            "alertmanager", "prometheus-alertmanager",
            ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"],
            "/alertmanager", [9093], {"amtool": "amtool"})
    if repo == "prom/blackbox-exporter":
        img = prometheus_family("blackbox_exporter", "prometheus-blackbox-exporter",
                                ["--config.file=/etc/blackbox_exporter/config.yml"], "/", [9115])
        example = Path("/etc/prometheus/blackbox.yml")   # Debian's copy of the image's default
        if example.exists():
            img.shims.append({"path": "/etc/blackbox_exporter/config.yml", "content": example.read_text()})
        return img
    if repo == "prom/node-exporter":
        return prometheus_family("node_exporter", "prometheus-node-exporter", [], "/", [9100])
    if repo == "nginx" or repo.startswith("nginxinc/"):
        return nginx_image()
    if repo == "redis":
        return redis_image()
    if repo == "python":
        return python_image()
    if repo == "grafana/loki":
        img = optional("loki", ("loki",), ["/usr/bin/loki"],
                       ["-config.file=/etc/loki/local-config.yaml"], [3100], "/", grafana=True)
        if img.missing:
            img.substitute = "fake-loki"
        return img
    if repo == "grafana/promtail":
        return optional("promtail", ("promtail",), ["/usr/bin/promtail"],
                        ["-config.file=/etc/promtail/config.yml"], [9080], grafana=True)
    if repo in ("grafana/grafana", "grafana/grafana-oss", "grafana/grafana-enterprise"):
        return grafana_image()
    if repo in ("google/cadvisor", "cadvisor/cadvisor"):
        return optional("cadvisor", ("cadvisor",), ["/usr/bin/cadvisor", "-logtostderr"], [], [8080])
    if repo in ("axllent/mailpit", "mailhog/mailhog"):
        return Image("mail", substitute="smtp-sink")
    return None


def grafana_image() -> Image:
    """The grafana image's /run.sh, reduced to the paths it sets (GF_PATHS_*)."""
    program = _program("grafana")
    legacy = _program("grafana-server")
    if not program and not legacy:
        return Image("grafana", missing="grafana / grafana-server not on PATH")
    home = "/usr/share/grafana"
    argv = ([program, "server"] if program else [legacy]) + [
        f"--homepath={home}", "--config=/etc/grafana/grafana.ini", "--packaging=docker",
        "cfg:default.log.mode=console",
        "cfg:default.paths.data=/var/lib/grafana", "cfg:default.paths.logs=/var/log/grafana",
        "cfg:default.paths.plugins=/var/lib/grafana/plugins",
        "cfg:default.paths.provisioning=/etc/grafana/provisioning"]
    return Image("grafana", entrypoint=[], command=argv, workdir=home, ports=[3000],
                 shims=[{"path": "/var/lib/grafana", "dir": True}, {"path": "/etc/grafana", "dir": True}],
                 env={"GF_PATHS_HOME": home, "GF_PATHS_DATA": "/var/lib/grafana",
                      "GF_PATHS_PROVISIONING": "/etc/grafana/provisioning"})
