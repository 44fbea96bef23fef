"""Start one service the way a container would see it, then exec it. Runs as

    ip netns exec <lab>-<service> python3 lab/labkit/launch.py SPEC.json

`ip netns exec` gives this process a private mount namespace, so nothing mounted here is
visible outside and everything disappears with the service's last process. Here we:
  1. mount an overlay whose lower layer is the host root and whose upper layer is a fresh
     tmpfs, so the service can create its container paths (/prometheus, /etc/loki, ...) and the
     host file system is never written;
  2. give it the host's /proc, /sys and /dev, and a fresh /run and /tmp, like a container;
  3. for an image whose contents are known (deploy/*/images.yml), empty its bin folders and put
     back only the programs that image ships, so a healthcheck or entrypoint that calls
     anything else fails here as it would in the container;
  4. write the image "shims" (binary paths of the image, its default config files, users);
  5. bind-mount the compose volumes at their container paths, then the lab overrides;
  6. chroot into it and exec the compose command with the compose environment.
Standalone on purpose (no package imports): it runs before anything else exists.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys


def sh(*args: str) -> None:
    subprocess.run(args, check=True)


def inside(root: str, path: str, depth: int = 0) -> str:
    """Host path of container path `path`, following symlinks inside `root`, never out of it."""
    if depth > 20:
        raise SystemExit(f"launch: too many symlinks under {path}")
    current = root
    parts = [p for p in path.split("/") if p]
    for i, part in enumerate(parts):
        candidate = os.path.join(current, part)
        if os.path.islink(candidate):
            target = os.readlink(candidate)
            if target.startswith("/"):
                rest = "/".join([target.strip("/")] + parts[i + 1:])
            else:
                rest = "/".join([current[len(root):].strip("/"), target] + parts[i + 1:])
            return inside(root, "/" + os.path.normpath(rest).lstrip("/"), depth + 1)
        current = candidate
    return current


def mount_point(root: str, target: str, is_dir: bool) -> str:
    where = inside(root, target)
    if is_dir:
        os.makedirs(where, exist_ok=True)
    elif not os.path.exists(where):
        os.makedirs(os.path.dirname(where), exist_ok=True)
        open(where, "a").close()
    return where


def bind(root: str, source: str, target: str, read_only: bool) -> None:
    if not os.path.exists(source):
        # Docker creates a missing bind source as a directory; do the same.
        os.makedirs(source, exist_ok=True)
    where = mount_point(root, target, os.path.isdir(source))
    sh("mount", "--bind", *(["-o", "ro"] if read_only else []), source, where)


BIN_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def mask_bin_dirs(root: str) -> None:
    """An empty tmpfs over every bin folder (with merged /usr, /bin is /usr/bin)."""
    masked = set()
    for d in BIN_DIRS:
        where = inside(root, d)
        if where not in masked and os.path.isdir(where):
            sh("mount", "-t", "tmpfs", "-o", "mode=755", "lab-bin", where)
            masked.add(where)


def write_shims(root: str, shims: list[dict], masked: bool = False) -> None:
    for shim in shims:
        where = inside(root, shim["path"])
        target = shim.get("symlink", "")
        in_bin_dir = any(target.startswith(d + "/") for d in BIN_DIRS)
        if masked and in_bin_dir and not os.path.exists(inside(root, target)):
            # The host program lives in a bin folder that is now empty: bind it in instead.
            bind(root, os.path.realpath(target), shim["path"], read_only=True)
            continue
        if target.startswith("/") and where == inside(root, target):
            continue  # merged /usr: /bin/x already is /usr/bin/x
        os.makedirs(os.path.dirname(where), exist_ok=True)
        if os.path.lexists(where) and ("symlink" in shim or "content" in shim):
            os.remove(where)
        if "symlink" in shim:
            os.symlink(shim["symlink"], where)
        elif "content" in shim:
            with open(where, "w") as f:
                f.write(shim["content"])
            os.chmod(where, int(shim.get("mode", "644"), 8))
        elif "append" in shim:
            with open(where, "a") as f:
                f.write(shim["append"])
        elif shim.get("dir"):
            os.makedirs(where, exist_ok=True)


def main(spec_path: str) -> None:
    with open(spec_path) as f:
        spec = json.load(f)
    base = spec["rootfs_dir"]
    sh("mount", "-t", "tmpfs", "-o", "mode=755", "lab-rootfs", base)
    upper, work, root = (os.path.join(base, d) for d in ("upper", "work", "root"))
    for d in (upper, work, root):
        os.mkdir(d)
    sh("mount", "-t", "overlay", "overlay", "-o", f"lowerdir=/,upperdir={upper},workdir={work}", root)
    for d in ("proc", "sys", "dev"):
        sh("mount", "--rbind", f"/{d}", os.path.join(root, d))
    for d in ("run", "tmp"):
        sh("mount", "-t", "tmpfs", "-o", "mode=1777", "tmpfs", os.path.join(root, d))
    programs = spec.get("programs")   # None: the image's contents are not known
    if programs is not None:
        mask_bin_dirs(root)
        write_shims(root, programs, masked=True)
    write_shims(root, spec.get("shims", []), masked=programs is not None)
    bind(root, spec["hosts_file"], "/etc/hosts", read_only=True)
    for m in spec.get("mounts", []):
        bind(root, m["source"], m["target"], m.get("read_only", False))
    os.chroot(root)
    os.chdir(spec.get("workdir") or "/")
    argv = spec["argv"]
    sys.stdout.flush()
    os.execvpe(argv[0], argv, spec["env"])


if __name__ == "__main__":
    main(sys.argv[1])
