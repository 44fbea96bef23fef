"""Compose files → the services the lab runs, read through `docker-compose config`.

`docker-compose config` (v1, installed for validation) does the interpolation of ${VARS},
merges env_file into environment and resolves relative paths, so the lab reads exactly what
compose would run. Its output is then plain YAML (PyYAML).
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass
class Volume:
    source: str        # absolute host path, or a named volume
    target: str
    read_only: bool
    named: bool


@dataclass
class Port:
    host_ip: str
    published: int
    target: int


@dataclass
class Service:
    name: str
    raw: dict
    image: str | None
    build: dict | None
    entrypoint: list[str] | None
    command: list[str] | None
    environment: dict[str, str]
    volumes: list[Volume]
    ports: list[Port]
    healthcheck: dict | None
    depends_on: dict[str, str]             # service → condition
    aliases: list[str] = field(default_factory=list)
    working_dir: str | None = None
    secrets: list[Volume] = field(default_factory=list)   # compose secrets, as read-only files


def render(files: list[Path], env_file: Path) -> dict:
    args = ["docker-compose"]
    for f in files:
        args += ["-f", str(f)]
    args += ["--env-file", str(env_file), "config"]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        names = " + ".join(str(f) for f in files)
        raise SystemExit(f"lab: docker-compose config failed for {names}:\n{done.stderr.strip()}")
    return yaml.safe_load(done.stdout)


def _as_list(value) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        # Compose splits a string command like a shell would.
        import shlex
        return shlex.split(value)
    return [str(v) for v in value]


def _volumes(raw: list) -> list[Volume]:
    out = []
    for v in raw or []:
        if isinstance(v, str):
            parts = v.split(":")
            if len(parts) == 1:       # anonymous volume
                source, target, mode = "", parts[0], "rw"
            else:
                source, target = parts[0], parts[1]
                mode = parts[2] if len(parts) > 2 else "rw"
            read_only = "ro" in mode.split(",")
            vtype = "bind" if source.startswith("/") else "volume"
        else:
            source, target = v.get("source", ""), v["target"]
            read_only = bool(v.get("read_only"))
            vtype = v.get("type", "volume")
        out.append(Volume(source=source, target=target, read_only=read_only, named=vtype != "bind"))
    return out


def _ports(raw: list) -> list[Port]:
    out = []
    for p in raw or []:
        if isinstance(p, dict):
            out.append(Port(p.get("host_ip", "0.0.0.0"), int(p["published"]), int(p["target"])))
            continue
        spec = str(p).split("/")[0]
        parts = spec.split(":")
        if len(parts) == 3:
            out.append(Port(parts[0], int(parts[1]), int(parts[2])))
        elif len(parts) == 2:
            out.append(Port("0.0.0.0", int(parts[0]), int(parts[1])))
        else:
            out.append(Port("0.0.0.0", int(parts[0]), int(parts[0])))
    return out


def _depends(raw) -> dict[str, str]:
    if not raw:
        return {}
    if isinstance(raw, list):
        return {name: "service_started" for name in raw}
    return {name: (cfg or {}).get("condition", "service_started") for name, cfg in raw.items()}


def _aliases(raw: dict) -> list[str]:
    nets = raw.get("networks") or {}
    if isinstance(nets, list):
        return []
    out = []
    for cfg in nets.values():
        out += (cfg or {}).get("aliases", []) or []
    return out


def _secrets(raw: list, defined: dict) -> list[Volume]:
    """Compose mounts each secret's file read-only at /run/secrets/<name> (or its target)."""
    out = []
    for item in raw or []:
        name, target = (item, None) if isinstance(item, str) else (item["source"], item.get("target"))
        source = (defined.get(name) or {}).get("file")
        if not source:
            raise SystemExit(f"lab: secret {name!r} has no file: (external secrets need Docker)")
        if not target or not target.startswith("/"):
            target = f"/run/secrets/{target or name}"
        out.append(Volume(source=source, target=target, read_only=True, named=False))
    return out


def services(config: dict) -> dict[str, Service]:
    out = {}
    defined_secrets = config.get("secrets") or {}
    for name, raw in (config.get("services") or {}).items():
        env = raw.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
        out[name] = Service(
            name=name, raw=raw, image=raw.get("image"), build=raw.get("build"),
            entrypoint=_as_list(raw.get("entrypoint")), command=_as_list(raw.get("command")),
            environment={k: "" if v is None else str(v) for k, v in env.items()},
            volumes=_volumes(raw.get("volumes")), ports=_ports(raw.get("ports")),
            healthcheck=raw.get("healthcheck"), depends_on=_depends(raw.get("depends_on")),
            aliases=_aliases(raw), working_dir=raw.get("working_dir"),
            secrets=_secrets(raw.get("secrets"), defined_secrets),
        )
    return out
