"""Network namespaces: a hub with a bridge, one namespace per service wired to it by a veth.

The hub is where people and tests stand (`ip netns exec <lab> curl http://grafana:3000`); it
has /etc/netns/<lab>/hosts, which `ip netns exec` bind-mounts over /etc/hosts.
"""
from __future__ import annotations

import ctypes
import os
import subprocess
from pathlib import Path

from .settings import Lab

BRIDGE = "lkbr0"
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MS_REC = 16384
MS_SLAVE = 1 << 19


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def exists(name: str) -> bool:
    return Path("/run/netns", name).exists()


def lab_namespaces(lab: Lab) -> list[str]:
    """Every namespace of this lab that exists now (also those a crashed `up` left behind)."""
    listed = ip("netns", "list", check=False).stdout.split("\n")
    names = [line.split()[0] for line in listed if line.strip()]
    return [n for n in names if n == lab.hub or n.startswith(lab.hub + "-")]


def create_hub(lab: Lab) -> None:
    ip("netns", "add", lab.hub)
    ip("-n", lab.hub, "link", "set", "lo", "up")
    ip("-n", lab.hub, "link", "add", BRIDGE, "type", "bridge")
    ip("-n", lab.hub, "addr", "add", f"{lab.subnet}.1/24", "dev", BRIDGE)
    ip("-n", lab.hub, "link", "set", BRIDGE, "up")


def add_service(lab: Lab, service: str, index: int) -> str:
    """A namespace for one service with eth0 = <subnet>.<index> on the hub bridge."""
    ns = lab.netns(service)
    address = f"{lab.subnet}.{index}"
    hub_side = f"lkh{index}"
    ip("netns", "add", ns)
    ip("-n", ns, "link", "set", "lo", "up")
    ip("-n", lab.hub, "link", "add", hub_side, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip("-n", lab.hub, "link", "set", hub_side, "master", BRIDGE)
    ip("-n", lab.hub, "link", "set", hub_side, "up")
    ip("-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
    ip("-n", ns, "link", "set", "eth0", "up")
    ip("-n", ns, "route", "add", "default", "via", f"{lab.subnet}.1")
    return address


def delete(name: str, kill_inside: bool = True) -> None:
    # Anything still inside a service namespace dies first, or it would live on through it.
    # The hub is where people (and the test session) stand: never kill what runs there.
    pids = ip("netns", "pids", name, check=False).stdout.split() if kill_inside else []
    for pid in pids:
        try:
            os.kill(int(pid), 9)
        except (ProcessLookupError, ValueError):
            pass
    ip("netns", "del", name, check=False)


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_void_p]
    return libc


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def enter(lab: Lab) -> None:
    """Move this (single-threaded) process into the hub, as `ip netns exec` would.

    Sockets opened afterwards, and child processes (chromedriver, Chromium), live in the lab's
    network; /etc/hosts is the lab's hosts file in a private mount namespace.
    """
    libc = _libc()
    fd = os.open(f"/run/netns/{lab.hub}", os.O_RDONLY)
    try:
        _check(libc.setns(fd, CLONE_NEWNET), "setns")
    finally:
        os.close(fd)
    _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_SLAVE, None), "mount --make-rslave /")
    hosts = str(lab.etc_netns / "hosts").encode()
    _check(libc.mount(hosts, b"/etc/hosts", None, MS_BIND, None), "bind hosts")
