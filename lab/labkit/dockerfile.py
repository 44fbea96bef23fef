"""The little of a Dockerfile the lab needs to run a `build:` service natively.

From the final stage: the base image, WORKDIR, ENV, ENTRYPOINT, CMD, and the COPY lines —
a COPY from the build context becomes a read-only bind of that repository path; a COPY
--from=<builder stage> of a Swift product is served from the local `swift build` output.
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class FinalStage:
    base: str = ""
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    copies: list[tuple[str | None, list[str], str]] = field(default_factory=list)  # (from, srcs, dest)


def _instructions(text: str):
    logical = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not logical and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            logical += stripped[:-1] + " "
            continue
        logical += stripped
        keyword, _, rest = logical.partition(" ")
        yield keyword.upper(), rest.strip()
        logical = ""


def _exec_form(rest: str) -> list[str]:
    if rest.startswith("["):
        return [str(x) for x in json.loads(rest)]
    return ["/bin/sh", "-c", rest]


def parse(path: Path) -> FinalStage:
    stage = FinalStage()
    for keyword, rest in _instructions(path.read_text()):
        if keyword == "FROM":
            stage = FinalStage(base=rest.split()[0])
        elif keyword == "WORKDIR":
            stage.workdir = rest if rest.startswith("/") else str(Path(stage.workdir) / rest)
        elif keyword == "ENV":
            if "=" in rest.split()[0]:
                for item in shlex.split(rest):
                    key, _, value = item.partition("=")
                    stage.env[key] = value
            else:
                key, _, value = rest.partition(" ")
                stage.env[key] = value.strip()
        elif keyword == "ENTRYPOINT":
            stage.entrypoint = _exec_form(rest)
            stage.cmd = None  # Docker: a new ENTRYPOINT resets CMD
        elif keyword == "CMD":
            stage.cmd = _exec_form(rest)
        elif keyword in ("COPY", "ADD"):
            words = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
            source_stage = None
            args = []
            for w in words:
                if w.startswith("--from="):
                    source_stage = w.split("=", 1)[1]
                elif not w.startswith("--"):
                    args.append(w)
            stage.copies.append((source_stage, args[:-1], args[-1]))
    return stage
