"""Turn compose services into launch specs (see launch.py) for this machine."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import shutil

from . import dockerfile, image_manifest, images
from .compose import Service
from .settings import MONITORING_COMPOSE, REPO, Lab

BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
}
SWIFT_BUILD = REPO / ".build" / "debug"


@dataclass
class Plan:
    service: Service
    kind: str                      # "run", "fake-loki", "smtp-sink", "replaced" or "skip"
    family: str = ""               # image family: prometheus, alertmanager, nginx, ...
    reason: str = ""               # why skipped / substituted
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    shims: list[dict] = field(default_factory=list)
    programs: list[dict] | None = None   # the image's programs (images.yml); None: not known
    mounts: list[dict] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # every lab-only difference, for `lab/up` to print

    def container_path_source(self, container_path: str) -> Path | None:
        """Host file behind a container path, through the mounts (the last mount wins)."""
        for m in reversed(self.mounts):
            target = m["target"].rstrip("/")
            if container_path == target or container_path.startswith(target + "/"):
                return Path(m["source"]) / container_path[len(target):].lstrip("/")
        return None

    def override(self, container_path: str, host_file: Path, why: str) -> None:
        self.mounts.append({"source": str(host_file), "target": container_path, "read_only": True})
        self.notes.append(f"{container_path} replaced by {host_file} ({why})")


def built_image(lab: Lab, svc: Service) -> tuple[images.Image | None, str]:
    """Shape of a `build:` service: its Dockerfile's base image plus what the Dockerfile adds."""
    context = Path(svc.build.get("context", "."))
    dockerfile_path = context / svc.build.get("dockerfile", "Dockerfile")
    if not dockerfile_path.is_file():
        if context.resolve() == REPO and (SWIFT_BUILD / "lookout").exists():
            # Until the repository's Dockerfile exists: the binary at a conventional path,
            # with the logger where `lookout serve` looks for it by default.
            return images.Image("lookout", entrypoint=["/usr/local/bin/lookout"], shims=[
                {"bind": str(SWIFT_BUILD / "lookout"), "path": "/usr/local/bin/lookout"},
                {"bind": str(REPO / "frontend" / "logger" / "logger.min.js"), "path": "/usr/share/lookout/logger.js"},
            ]), ""
        return None, f"Dockerfile {dockerfile_path} not found"
    stage = dockerfile.parse(dockerfile_path)
    img = images.for_image(stage.base) or images.Image(family=images.repository(stage.base))
    img.workdir = stage.workdir
    img.env.update(stage.env)
    if stage.entrypoint is not None:
        img.entrypoint, img.command = stage.entrypoint, []
    if stage.cmd is not None:
        img.command = stage.cmd
    for source_stage, sources, dest in stage.copies:
        for src in sources:
            if source_stage:
                # A product of a builder stage: the same file from the local `swift build`.
                local = SWIFT_BUILD / Path(src.rstrip("/")).name
                if not local.exists():
                    return None, f"{local} missing (run `swift build` first)"
            else:
                local = context / src
            target = dest if not dest.endswith("/") else dest + Path(src).name
            if len(sources) > 1 and not dest.endswith("/"):
                target = dest.rstrip("/") + "/" + Path(src).name
            img.shims.append({"bind": str(local), "path": target})
    return img, ""


KNOWN_IMAGES = image_manifest.load()


def image_programs(svc: Service, img: images.Image, plan: Plan) -> list[dict] | None:
    """The programs svc's image ships (deploy/*/images.yml), as shims pointing at this host's
    counterparts: BusyBox applets at the host's busybox, Debian tools at the host's own. The
    image's service binary already comes from the image shims. None when the image is unknown."""
    contents = image_manifest.for_service(svc.raw, MONITORING_COMPOSE.parent, KNOWN_IMAGES)
    if contents is None:
        return None
    provided = {s["path"] for s in img.shims}
    programs: list[dict] = []
    missing: list[str] = []
    busybox = shutil.which("busybox")
    if contents.toolset_name == "busybox":      # every applet a link to /bin/busybox
        if not busybox:
            raise SystemExit("lab: busybox is not installed (scripts/install-deps)")
        programs.append({"path": "/bin/busybox", "symlink": busybox})
        programs += [{"path": f"/bin/{a}", "symlink": "/bin/busybox"} for a in contents.toolset]
    else:
        for name in contents.toolset:
            host = shutil.which(name)
            if host:
                programs.append({"path": f"/usr/bin/{name}", "symlink": host})
            else:
                missing.append(name)
    for path in contents.programs:
        if path in provided or any(m.get("target") == path for m in plan.mounts):
            continue
        host = shutil.which(Path(path).name)
        if host:
            programs.append({"path": path, "symlink": host})
        else:
            missing.append(path)
    plan.notes.append(f"bin folders hold only what {contents.reference} ships (images.yml)"
                      + (f"; not available here: {', '.join(missing)}" if missing else ""))
    return programs


def make(lab: Lab, svc: Service, path_map: dict[str, str]) -> Plan:
    if svc.build:
        img, problem = built_image(lab, svc)
        if img is None:
            return Plan(svc, "skip", reason=problem)
    else:
        img = images.for_image(svc.image)
        if img is None:
            return Plan(svc, "skip", reason=f"image {svc.image} has no native counterpart in the lab")
    if img.substitute:
        return Plan(svc, img.substitute, reason=img.missing or "", ports=img.ports)
    if img.missing:
        return Plan(svc, "skip", reason=img.missing)

    if svc.entrypoint is not None:       # Docker: overriding the entrypoint drops the image CMD
        argv = svc.entrypoint + (svc.command or [])
    else:
        argv = img.entrypoint + (svc.command if svc.command is not None else img.command)
    if img.extra_args and argv and Path(argv[0]).name == Path(img.command[0]).name:
        argv = argv + img.extra_args
    # Readiness without a compose healthcheck: the ports compose publishes or exposes, else the image's.
    declared = [p.target for p in svc.ports] + [int(str(e).split("/")[0]) for e in svc.raw.get("expose", [])]
    plan = Plan(svc, "run", family=img.family, argv=argv, workdir=svc.working_dir or img.workdir, ports=declared or img.ports)
    if img.extra_args:
        plan.notes.append(f"appended {' '.join(img.extra_args)} (the image's built-in default)")
    plan.env = {**BASE_ENV, "HOSTNAME": svc.name, **img.env, **svc.environment}
    plan.shims = [s for s in img.shims if "bind" not in s]
    plan.mounts = [{"source": s["bind"], "target": s["path"], "read_only": True}
                   for s in img.shims if "bind" in s]
    for v in svc.volumes + svc.secrets:
        if v.named or not v.source:
            name = v.source or f"anon-{svc.name}-{v.target.strip('/').replace('/', '_')}"
            source = str(lab.dir("volumes", name))
        else:
            source = v.source
            for prefix, replacement in path_map.items():
                if source == prefix or source.startswith(prefix.rstrip("/") + "/"):
                    replaced = replacement + source[len(prefix):]
                    plan.notes.append(f"volume {source} → {replaced}")
                    source = replaced
                    break
        plan.mounts.append({"source": source, "target": v.target, "read_only": v.read_only})
    plan.programs = image_programs(svc, img, plan)
    return plan


def spec(lab: Lab, plan: Plan) -> dict:
    rootfs = lab.dir("rootfs", plan.service.name)
    return {
        "rootfs_dir": str(rootfs),
        "hosts_file": str(lab.hosts_file),
        "shims": plan.shims,
        "programs": plan.programs,
        "mounts": plan.mounts,
        "workdir": plan.workdir,
        "env": plan.env,
        "argv": plan.argv,
    }

