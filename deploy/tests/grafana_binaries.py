"""Grafana's Loki and Promtail binaries, when installed (they cannot be installed here).

Tests that need them run when the binary is on PATH and skip with a one-line reason
otherwise. A name alone is not enough: Debian's "loki" package is an unrelated genetics
program, so the binary must also say it is Grafana's.
"""
from __future__ import annotations

import shutil
import subprocess

import pytest


def grafana_binary(name: str) -> str | None:
    """Path of Grafana's `name` (loki, promtail) on PATH, or None."""
    path = shutil.which(name)
    if not path:
        return None
    out = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=30)
    return path if f"{name}, version" in (out.stdout + out.stderr) else None


def needs(name: str, path: str | None) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not path, reason=f"no Grafana {name} binary on PATH (it cannot be installed here)")
