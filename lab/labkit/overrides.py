"""Everything the lab changes on top of the compose files, in one place (docs/lab.md lists it).

1. Time scale: Prometheus scrapes and evaluates every LAB_SCRAPE_INTERVAL instead of the
   configured intervals (the rule files, and their `for:` durations, are unchanged);
   Alertmanager's group_wait / group_interval / repeat_interval are shortened. Both are
   written as copies under <run>/overrides and bind-mounted over the original file.
2. Mail: the SMTP smarthost's host name resolves to the lab SMTP sink, whose STARTTLS
   certificate comes from a lab CA that every lab service trusts (appended to its own
   /etc/ssl/certs/ca-certificates.crt in its overlay, never on the host).
3. Loki: without a loki binary, the recording fake (lab/fake_loki.py) answers as `loki`.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

from . import labenv
from .plan import Plan
from .settings import (LAB_EVALUATION_INTERVAL, LAB_GROUP_INTERVAL, LAB_GROUP_WAIT,
                       LAB_REPEAT_INTERVAL, LAB_SCRAPE_INTERVAL, REPO, Lab)

SINK_NAME = "smtp-sink"


def flag_value(argv: list[str], flag: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
        if arg == flag and i + 1 < len(argv):
            return argv[i + 1]
    return None


def scale_prometheus(lab: Lab, name: str, plan: Plan) -> None:
    path = flag_value(plan.argv, "--config.file") or "/etc/prometheus/prometheus.yml"
    source = plan.container_path_source(path)
    if not source or not source.is_file():
        plan.notes.append(f"no time scaling: {path} not found among the mounts")
        return
    config = yaml.safe_load(source.read_text()) or {}
    glob = config.setdefault("global", {})
    glob["scrape_interval"] = LAB_SCRAPE_INTERVAL
    glob["evaluation_interval"] = LAB_EVALUATION_INTERVAL
    glob.pop("scrape_timeout", None)
    for job in config.get("scrape_configs", []) or []:
        if "scrape_interval" in job:
            job["scrape_interval"] = LAB_SCRAPE_INTERVAL
        job.pop("scrape_timeout", None)   # must not exceed the (shorter) interval
    out = lab.dir("overrides", name) / Path(path).name
    out.write_text("# lab copy: intervals shortened, everything else as in "
                   f"{source.relative_to(REPO) if source.is_relative_to(REPO) else source}\n"
                   + yaml.safe_dump(config, sort_keys=False))
    plan.override(path, out, f"scrape and evaluation every {LAB_SCRAPE_INTERVAL}")


def smarthosts(config: dict) -> list[str]:
    hosts = []
    smart = (config.get("global") or {}).get("smtp_smarthost")
    if smart:
        hosts.append(smart)
    for receiver in config.get("receivers", []) or []:
        for email in receiver.get("email_configs", []) or []:
            if email.get("smarthost"):
                hosts.append(email["smarthost"])
    return sorted({h.rsplit(":", 1)[0] for h in hosts})


ROUTE_TIMING = re.compile(r"^(\s*)(group_wait|group_interval|repeat_interval):\s*\S+", re.M)


def alertmanager_config(lab: Lab, name: str, plan: Plan, scale: bool = True) -> list[str]:
    """The smarthost names of Alertmanager's config — or of its template, when the container
    renders the config at start (render-and-run.sh and alertmanager.yml.in); with `scale`,
    the route timings are shortened in a copy mounted over it."""
    path = flag_value(plan.argv, "--config.file")
    candidates = [path] if path else ["/etc/alertmanager/alertmanager.yml.in", "/etc/alertmanager/alertmanager.yml"]
    for candidate in candidates:
        source = plan.container_path_source(candidate)
        if source and source.is_file():
            break
    else:
        plan.notes.append(f"no time scaling: none of {candidates} found among the mounts")
        return []
    scaled = text = source.read_text()
    if scale:
        scaled = scale_routes(lab, name, plan, candidate, source, text)
    # The smarthost as the container will see it (placeholders filled from its environment).
    rendered = re.sub(r"\$\{(\w+)\}", lambda m: plan.env.get(m.group(1), ""), scaled)
    try:
        return smarthosts(yaml.safe_load(rendered) or {})
    except yaml.YAMLError:
        return []


def scale_routes(lab: Lab, name: str, plan: Plan, candidate: str, source: Path, text: str) -> str:
    lab_values = {"group_wait": LAB_GROUP_WAIT, "group_interval": LAB_GROUP_INTERVAL,
                  "repeat_interval": LAB_REPEAT_INTERVAL}
    scaled = ROUTE_TIMING.sub(lambda m: f"{m.group(1)}{m.group(2)}: {lab_values[m.group(2)]}", text)
    out = lab.dir("overrides", name) / source.name
    out.write_text(scaled)
    plan.override(candidate, out, f"route timings: group_wait {LAB_GROUP_WAIT}, "
                  f"group_interval {LAB_GROUP_INTERVAL}, repeat_interval {LAB_REPEAT_INTERVAL}")
    return scaled


def apply(lab: Lab, plans: dict[str, Plan], time_scale: bool = True) -> list[dict]:
    """Adjust the plans in place; return the lab stand-ins to start (SMTP sink, fake Loki).
    Without `time_scale`, Prometheus and Alertmanager keep the deployment's own timings."""
    mail_hosts: list[str] = []
    for name, plan in plans.items():
        if plan.kind != "run":
            continue
        if plan.family == "prometheus" and time_scale:
            scale_prometheus(lab, name, plan)
        elif plan.family == "alertmanager":
            mail_hosts += alertmanager_config(lab, name, plan, scale=time_scale)

    extras = []
    catcher = next((n for n, p in plans.items() if p.kind == "smtp-sink"), None)
    sink = catcher or SINK_NAME
    names = [sink] + [h for h in mail_hosts if h != sink]
    ca, crt, key = labenv.certificates(lab, names)
    mail_dir = lab.dir("mail")
    extras.append({
        "name": sink, "kind": "smtp-sink", "ports": [25, 587, 1025], "aliases": names[1:],
        "reason": "lab SMTP sink" + (f" in place of {plans[catcher].service.image}" if catcher else ""),
        "argv": [sys.executable, str(REPO / "lab" / "smtp_sink.py"), "--folder", str(mail_dir),
                 "--cert", str(crt), "--key", str(key)],
    })
    if catcher:
        plans[catcher].kind = "replaced"
    for name, plan in plans.items():
        if plan.kind == "fake-loki":
            record = lab.dir("fake-loki") / "pushes.jsonl"
            extras.append({
                "name": name, "kind": "fake-loki", "ports": [3100], "aliases": plan.service.aliases,
                "reason": f"FAKE Loki ({plan.reason}): records pushes, verifies nothing about Loki",
                "argv": [sys.executable, str(REPO / "lab" / "fake_loki.py"), "--port", "3100",
                         "--record", str(record)],
            })
            plan.kind = "replaced"
    ca_text = ca.read_text()
    for plan in plans.values():
        if plan.kind == "run":
            plan.shims.append({"path": "/etc/ssl/certs/ca-certificates.crt", "append": ca_text})
    return extras
