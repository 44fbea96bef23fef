"""A real Grafana Loki started from the shipped deploy/monitoring/loki/loki.yml, for the tests
that need one (they skip with a one-line reason when no Grafana `loki` is on PATH).

The config is used as shipped except for what a test on one machine must change, and each
change is made here, by name: every /loki path moves into the test's folder (the volume),
the rule folder is the repository's own (compose mounts it at /etc/loki/rules), the ports are
free ones, and remote write goes to a port of the test's choosing.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import yaml

from grafana_binaries import grafana_binary
from prom_helpers import MONITORING, free_port, running

LOKI = grafana_binary("loki")
LOKI_DIR = MONITORING / "loki"
SHIPPED = LOKI_DIR / "loki.yml"
VOLUME = "/loki"


def rebase(node, volume: Path):
    """`node` with every /loki path moved under `volume`."""
    if isinstance(node, dict):
        return {k: rebase(v, volume) for k, v in node.items()}
    if isinstance(node, list):
        return [rebase(v, volume) for v in node]
    if isinstance(node, str) and (node == VOLUME or node.startswith(VOLUME + "/")):
        return str(volume) + node[len(VOLUME):]
    return node


def config_for(volume: Path, remote_write_url: str | None = None) -> tuple[dict, int]:
    """The shipped config with only the test-machine changes above; returns it and its port."""
    config = rebase(yaml.safe_load(SHIPPED.read_text()), volume)
    port = free_port()
    config["server"].update(http_listen_port=port, grpc_listen_port=free_port())
    config["ruler"]["storage"]["local"]["directory"] = str(LOKI_DIR / "rules")
    # Default: nothing listens there, so recorded samples are dropped.
    config["ruler"]["remote_write"]["clients"]["prometheus"]["url"] = (
        remote_write_url or f"http://127.0.0.1:{free_port()}/api/v1/write")
    return config, port


@contextmanager
def started(folder: Path, cwd: Path | None = None, remote_write_url: str | None = None,
            config: dict | None = None, port: int | None = None, timeout: float = 90):
    """Runs Loki until the block ends; yields its base URL. `folder` holds the volume
    (folder/loki), the config and the log; `cwd` is the working directory (default: folder).
    `timeout`: how long it may take to get ready (a big WAL takes a while to replay)."""
    if config is None:
        config, port = config_for(folder / "loki", remote_write_url)
    path = folder / "loki.yml"
    path.write_text(yaml.safe_dump(config))
    base = f"http://127.0.0.1:{port}"
    with running([LOKI, f"-config.file={path}"], base + "/ready", folder / "loki.log",
                 timeout=timeout, cwd=cwd or folder):
        yield base
