"""Make a service slow from the outside: throttle its network link with a token bucket.

The kernel here has no netem (no delay qdisc), so "slow" means a thin uplink: the service's
eth0 gets a small MTU and a `tbf` rate chosen so that fetching / takes about N seconds.
"""
from __future__ import annotations

import json
import subprocess

from .settings import Lab

MTU = 576
BURST = 1200   # bytes; must hold at least one full frame


def _ns(lab: Lab, service: str) -> str:
    state = json.loads(lab.state_file.read_text())
    if service not in state["services"] or state["services"][service].get("kind") != "run":
        raise SystemExit(f"lab slow: {service} is not a running lab service")
    return lab.netns(service)


def response_bytes(lab: Lab, url: str) -> int:
    done = subprocess.run(["ip", "netns", "exec", lab.hub, "curl", "-s", "--noproxy", "*", "-o", "/dev/null", "-w",
                           "%{size_header} %{size_download}", url], capture_output=True, text=True, timeout=30)
    header, body = (int(x) for x in done.stdout.split())
    return header + body


def set_slow(lab: Lab, service: str, on: bool, seconds: float = 3.0, port: int = 80) -> int:
    ns = _ns(lab, service)
    subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", "eth0", "root"], capture_output=True)
    subprocess.run(["ip", "-n", ns, "link", "set", "eth0", "mtu", "1500"], check=True)
    if not on:
        print(f"lab slow: {service} back to full speed")
        return 0
    size = response_bytes(lab, f"http://{service}:{port}/")
    rate = max(size + 400 - BURST, 300) / seconds       # +400: TCP/IP headers of small segments
    subprocess.run(["ip", "-n", ns, "link", "set", "eth0", "mtu", str(MTU)], check=True)
    subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "eth0", "root", "tbf",
                    "rate", f"{int(rate * 8)}bit", "burst", str(BURST), "latency", "60s"], check=True)
    print(f"lab slow: {service} throttled to {int(rate)} B/s (GET / is {size} bytes → about {seconds:g} s)")
    return 0
