"""Names and paths of one lab instance (several can coexist: a developer's and the tests')."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Overridable only to develop the lab itself against scratch compose files.
MONITORING_COMPOSE = Path(os.environ.get("LOOKOUT_LAB_MONITORING_COMPOSE")
                          or REPO / "deploy" / "monitoring" / "docker-compose.yml")
DEMO_COMPOSE = Path(os.environ.get("LOOKOUT_LAB_DEMO_COMPOSE") or REPO / "deploy" / "demo" / "docker-compose.yml")

# Lab timings (seconds). The rule files stay as written; only how often Prometheus scrapes and
# evaluates, and how long Alertmanager waits before (re)sending, are shortened. See docs/lab.md.
LAB_SCRAPE_INTERVAL = "5s"
LAB_EVALUATION_INTERVAL = "5s"
LAB_GROUP_WAIT = "2s"
LAB_GROUP_INTERVAL = "5s"
LAB_REPEAT_INTERVAL = "1h"


@dataclass(frozen=True)
class Lab:
    name: str          # also the hub network namespace; services are "<name>-<service>"
    run_dir: Path      # state, logs, volumes, generated secrets; deleted by nothing but you
    subnet: str        # /24 prefix for the lab bridge, e.g. "10.77.0"

    @property
    def hub(self) -> str:
        return self.name

    def netns(self, service: str) -> str:
        return f"{self.name}-{service}"

    @property
    def state_file(self) -> Path:
        return self.run_dir / "state.json"

    @property
    def hosts_file(self) -> Path:
        return self.run_dir / "hosts"

    @property
    def etc_netns(self) -> Path:
        return Path("/etc/netns") / self.hub

    def dir(self, *parts: str) -> Path:
        path = self.run_dir.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path


def current(name: str | None = None, run_dir: str | None = None) -> Lab:
    """The lab selected by arguments, else LOOKOUT_LAB_NAME / LOOKOUT_LAB_RUN, else defaults."""
    name = name or os.environ.get("LOOKOUT_LAB_NAME", "lookout-lab")
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,30}", name):
        raise SystemExit(f"lab: invalid lab name {name!r} (lowercase letters, digits, '-', at most 31)")
    run = Path(run_dir or os.environ.get("LOOKOUT_LAB_RUN") or REPO / "lab" / "run" / name)
    subnet = os.environ.get("LOOKOUT_LAB_SUBNET", "10.77.0")
    if not re.fullmatch(r"\d{1,3}\.\d{1,3}\.\d{1,3}", subnet):
        raise SystemExit(f"lab: LOOKOUT_LAB_SUBNET must look like 10.77.0, got {subnet!r}")
    return Lab(name=name, run_dir=run.resolve(), subnet=subnet)
