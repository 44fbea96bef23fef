"""lab up / down / status: the whole monitoring stack plus the demo application, natively."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import compose, labenv, netns, overrides, plan as planning
from .settings import DEMO_COMPOSE, MONITORING_COMPOSE, REPO, Lab

LAB_DIR = REPO / "lab"
# Names the application host and browsers use for the monitoring host, and which service
# answers for it (the edge publishes the monitoring host's ports).
HOST_ALIASES = {"monitoring-host": "edge"}
HEALTH_TIMEOUT = 120.0


def log(msg: str) -> None:
    print(f"lab: {msg}", flush=True)


def load_services(lab: Lab, env_file: Path) -> tuple[dict[str, compose.Service], set[str]]:
    """Monitoring services exactly as deploy/monitoring defines them; demo-only services from
    deploy/demo (its overrides of monitoring services are for the Docker demo, not the lab)."""
    if not MONITORING_COMPOSE.exists():
        raise SystemExit(f"lab: {MONITORING_COMPOSE} does not exist yet")
    monitoring = compose.services(compose.render([MONITORING_COMPOSE], env_file))
    out = dict(monitoring)
    demo = set()
    if DEMO_COMPOSE.exists():
        merged = compose.services(compose.render([MONITORING_COMPOSE, DEMO_COMPOSE], env_file))
        for name, svc in merged.items():
            if name not in monitoring:
                out[name] = svc
                demo.add(name)
    else:
        log(f"{DEMO_COMPOSE.relative_to(REPO)} missing: no demo application")
    return out, demo


def order(services: dict[str, compose.Service], first: set[str] = frozenset()) -> list[str]:
    """Dependencies first; among the rest, `first` (the demo application) before the others, so
    the monitoring host's first probes find the application up, as on a real deployment."""
    done: list[str] = []
    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in path:
            raise SystemExit(f"lab: depends_on cycle: {' → '.join(path + (name,))}")
        for dep in services[name].depends_on:
            if dep in services:
                visit(dep, path + (name,))
        done.append(name)
    for name in sorted(services, key=lambda n: (n not in first, n)):
        visit(name, ())
    return done


def write_hosts(lab: Lab, addresses: dict[str, str], extra: dict[str, list[str]]) -> None:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    for name, address in sorted(addresses.items(), key=lambda kv: tuple(map(int, kv[1].split(".")))):
        lines.append(f"{address}\t{' '.join([name] + extra.get(name, []))}")
    text = "\n".join(lines) + "\n"
    lab.hosts_file.write_text(text)
    lab.etc_netns.mkdir(parents=True, exist_ok=True)
    (lab.etc_netns / "hosts").write_text(text)


def start_process(lab: Lab, name: str, ns: str, argv: list[str]) -> subprocess.Popen:
    logfile = open(lab.dir("logs") / f"{name}.log", "ab")
    return subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdin=subprocess.DEVNULL,
                            stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True)


def healthcheck(lab: Lab, name: str, pid: int, check: dict | None, address: str, ports: list[int],
                env: dict | None = None) -> bool:
    """The compose healthcheck run inside the service (nsenter into its net, mount ns and root),
    like Docker does; without one, the image's port accepting connections."""
    if check and not check.get("disable"):
        test = check.get("test") or []
        if isinstance(test, str):
            test = ["CMD-SHELL", test]
        if test and test[0] == "NONE":
            return True
        argv = ["/bin/sh", "-c", test[1]] if test[0] == "CMD-SHELL" else test[1:]
        # With the service's environment, as Docker runs it (not this shell's proxies etc.).
        done = subprocess.run(["nsenter", "-t", str(pid), "-m", "-n", "-r", "-w", *argv],
                              capture_output=True, timeout=30, env=env)
        return done.returncode == 0
    probe = ["python3", "-c", "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1)"]
    for port in ports:
        done = subprocess.run(["ip", "netns", "exec", lab.hub, *probe, address, str(port)], capture_output=True)
        if done.returncode != 0:
            return False
    return True


def up(lab: Lab, publish: bool, time_scale: bool = True) -> None:
    if lab.state_file.exists() or netns.lab_namespaces(lab):
        raise SystemExit(f"lab: {lab.name} is already up (or left over): run lab/down first")
    lab.run_dir.mkdir(parents=True, exist_ok=True)
    env_file = labenv.prepare(lab)
    services, demo = load_services(lab, env_file)
    path_map = labenv.path_map(lab)
    plans = {name: planning.make(lab, svc, path_map) for name, svc in services.items()}
    extras = overrides.apply(lab, plans, time_scale)
    if not time_scale:
        log("real timings: Prometheus and Alertmanager run with the deployment's own intervals")

    state = {"lab": lab.name, "started_at": time.time(), "services": {}, "publish": []}
    runnable = [n for n in order(services, demo) if plans[n].kind == "run"]
    # Skipped services get a namespace and an address too, with nothing listening: their names
    # resolve (nginx refuses to start on an unknown upstream name) and connections are refused
    # at once, as with a stopped container.
    skipped = [n for n in sorted(plans) if plans[n].kind == "skip"]
    not_running = {n: plans[n].reason for n in skipped}
    not_running.update({x["name"]: "replaced by the lab's recording fake" for x in extras if x["kind"] == "fake-loki"})
    # The Docker logging driver runs in dockerd: the lab has none, so no job="docker" lines.
    not_running["docker"] = "the lab has no Docker logging driver"
    labenv.record_runtime(lab, not_running)
    names = runnable + [x["name"] for x in extras] + skipped
    addresses = {}
    aliases: dict[str, list[str]] = {}
    try:
        netns.create_hub(lab)
        for index, name in enumerate(names, start=10):
            addresses[name] = netns.add_service(lab, name, index)
        for name in runnable + skipped:
            aliases[name] = list(plans[name].service.aliases)
        for x in extras:
            aliases[x["name"]] = x.get("aliases", [])
        for alias, target in HOST_ALIASES.items():
            if target in aliases and alias not in sum(aliases.values(), []) and alias not in addresses:
                aliases[target].append(alias)
        write_hosts(lab, addresses, aliases)

        for name, p in plans.items():
            if p.kind == "skip":
                log(f"SKIPPED {name}: {p.reason}")
                state["services"][name] = {"kind": "skip", "reason": p.reason}

        for x in extras:   # lab stand-ins (SMTP sink, fake Loki): started first, they have no deps
            proc = start_process(lab, x["name"], lab.netns(x["name"]), x["argv"])
            state["services"][x["name"]] = {"kind": x["kind"], "pid": proc.pid, "address": addresses[x["name"]],
                                            "ports": x["ports"], "reason": x.get("reason", "")}
            save(lab, state)
        for x in extras:
            wait_healthy(lab, x["name"], state["services"][x["name"]], None)

        for name in runnable:
            p = plans[name]
            for dep, condition in p.service.depends_on.items():
                dep_state = state["services"].get(dep)
                if dep_state is None:
                    continue
                if dep_state.get("kind") == "skip":
                    log(f"{name}: dependency {dep} is skipped; starting anyway")
                elif condition == "service_healthy" and not dep_state.get("healthy"):
                    wait_healthy(lab, dep, dep_state, plans.get(dep))
            spec_file = lab.dir("specs") / f"{name}.json"
            spec_file.write_text(json.dumps(planning.spec(lab, p), indent=1))
            for note in p.notes:
                log(f"{name}: lab change: {note}")
            proc = start_process(lab, name, lab.netns(name),
                                 [sys.executable, str(LAB_DIR / "labkit" / "launch.py"), str(spec_file)])
            state["services"][name] = {"kind": "run", "pid": proc.pid, "address": addresses[name],
                                       "ports": p.ports, "argv": p.argv, "spec": str(spec_file),
                                       "healthcheck": p.service.healthcheck}
            save(lab, state)
        for name in runnable:
            wait_healthy(lab, name, state["services"][name], plans[name])
        if publish:
            state["publish"] = start_publisher(lab, plans, addresses, state)
        save(lab, state)
    except BaseException:
        log("start failed; stopping what was started (logs stay in " + str(lab.dir("logs")) + ")")
        save(lab, state)
        down(lab, quiet=True)
        raise
    log(f"up: {len(runnable) + len(extras)} services in network namespace {lab.hub} "
        f"(try: ip netns exec {lab.hub} curl -s http://prometheus:9090/-/ready)")


def wait_healthy(lab: Lab, name: str, entry: dict, p) -> None:
    if entry.get("healthy"):
        return
    check = p.service.healthcheck if p else entry.get("healthcheck")
    env = p.env if p else json.loads(Path(entry["spec"]).read_text())["env"] if entry.get("spec") else None
    deadline = time.time() + HEALTH_TIMEOUT
    while time.time() < deadline:
        if not alive(entry["pid"]):
            tail = (lab.dir("logs") / f"{name}.log").read_text(errors="replace")[-2000:]
            raise SystemExit(f"lab: {name} exited during start. Last log lines:\n{tail}")
        try:
            if healthcheck(lab, name, entry["pid"], check, entry["address"], entry.get("ports", []), env):
                entry["healthy"] = True
                log(f"{name} healthy")
                return
        except subprocess.TimeoutExpired:
            pass
        time.sleep(0.5)
    logfile = lab.dir("logs") / f"{name}.log"
    tail = logfile.read_text(errors="replace")[-1500:] if logfile.exists() else "(no log)"
    raise SystemExit(f"lab: {name} not healthy after {HEALTH_TIMEOUT:.0f} s ({logfile}); last log lines:\n{tail}")


def start_publisher(lab: Lab, plans, addresses, state) -> list[str]:
    """Forward the compose `ports:` from this host to the services (see publish.py)."""
    pairs = []
    for name, p in plans.items():
        if p.kind != "run" or name not in addresses:   # stand-ins do not serve the image's ports
            continue
        for port in p.service.ports:
            host_ip = port.host_ip if port.host_ip not in ("0.0.0.0", "") else "127.0.0.1"
            pairs.append(f"{host_ip}:{port.published}={addresses[name]}:{port.target}")
    if not pairs:
        return []
    logfile = open(lab.dir("logs") / "publish.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "labkit.publish", lab.hub, *pairs], cwd=LAB_DIR,
                            stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True)
    state["services"]["(publish)"] = {"kind": "publish", "pid": proc.pid, "address": "host", "ports": []}
    time.sleep(0.5)
    log("published on this host: " + ", ".join(p.split("=")[0] for p in pairs) + " (see logs/publish.log)")
    return pairs


def save(lab: Lab, state: dict) -> None:
    lab.state_file.write_text(json.dumps(state, indent=1))


def alive(pid: int) -> bool:
    """Running and not a zombie (reparented services may linger as zombies under a lazy init)."""
    try:   # reap it if it is our own child
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def down(lab: Lab, quiet: bool = False) -> None:
    state = json.loads(lab.state_file.read_text()) if lab.state_file.exists() else {"services": {}}
    groups = [e["pid"] for e in state["services"].values() if e.get("pid")]
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.time() + 10
    while time.time() < deadline and any(alive(p) for p in groups):
        time.sleep(0.2)
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # Services first, the hub last; delete() kills whatever is still inside a namespace.
    for name in sorted(netns.lab_namespaces(lab), key=lambda n: n == lab.hub):
        netns.delete(name, kill_inside=name != lab.hub)
    hosts = lab.etc_netns / "hosts"
    if hosts.exists():
        hosts.unlink()
    for d in (lab.etc_netns, lab.etc_netns.parent):
        try:
            d.rmdir()
        except OSError:
            pass
    if lab.state_file.exists():
        lab.state_file.unlink()
    if not quiet:
        log(f"down: {lab.name} stopped; logs, mail and volumes kept in {lab.run_dir}")


def status(lab: Lab) -> int:
    if not lab.state_file.exists():
        print(f"{lab.name}: not running")
        return 3
    state = json.loads(lab.state_file.read_text())
    bad = 0
    for name, e in sorted(state["services"].items()):
        if e["kind"] == "skip":
            print(f"  -  {name:<16} skipped: {e['reason']}")
            continue
        ok = alive(e["pid"])
        bad += not ok
        label = {"run": "", "fake-loki": " (FAKE Loki: records pushes only)",
                 "smtp-sink": " (lab SMTP sink)", "publish": " (port forwarder)"}.get(e["kind"], "")
        print(f"  {'✓' if ok else '✗'}  {name:<16} {e.get('address', ''):<12} pid {e['pid']}{label}")
    for pair in state.get("publish", []):
        print(f"     published {pair}")
    return 1 if bad else 0


def _entry(lab: Lab, service: str) -> tuple[dict, dict]:
    if not lab.state_file.exists():
        raise SystemExit(f"lab: {lab.name} is not running")
    state = json.loads(lab.state_file.read_text())
    entry = state["services"].get(service)
    if not entry or entry.get("kind") != "run":
        known = ", ".join(n for n, e in state["services"].items() if e.get("kind") == "run")
        raise SystemExit(f"lab: {service!r} is not a service the lab runs ({known})")
    return state, entry


def stop_service(lab: Lab, service: str) -> None:
    state, entry = _entry(lab, service)
    try:
        os.killpg(entry["pid"], signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.time() + 10
    while time.time() < deadline and alive(entry["pid"]):
        time.sleep(0.1)
    try:
        os.killpg(entry["pid"], signal.SIGKILL)
    except ProcessLookupError:
        pass
    entry["healthy"] = False
    entry["stopped"] = True
    save(lab, state)
    log(f"{service} stopped")


def start_service(lab: Lab, service: str) -> None:
    state, entry = _entry(lab, service)
    if alive(entry["pid"]) and not entry.get("stopped"):
        log(f"{service} is already running")
        return
    proc = start_process(lab, service, lab.netns(service),
                         [sys.executable, str(LAB_DIR / "labkit" / "launch.py"), entry["spec"]])
    entry.update(pid=proc.pid, healthy=False, stopped=False)
    save(lab, state)
    wait_healthy(lab, service, entry, None)
    save(lab, state)
