"""What each pinned image ships (deploy/*/images.yml), and which programs a healthcheck or an
entrypoint command line needs. Used by the lab, to give each service only its image's programs,
and by deploy/tests/test_images.py, which refuses a command its image lacks.
`lookout check` does the same in Swift (Sources/LookoutCLI/Check/ImageContentsCheck.swift).
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = [REPO / "deploy" / d / "images.yml" for d in ("monitoring", "application", "demo")]
TOOLSETS_FILE = MANIFESTS[0]
PATH_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
# Builtins of every shell the images have (ash, dash, bash): never a program in the image.
BUILTINS = {"exec", "printf", "echo", "test", "[", "exit", "true", "false", "cd", "read", "set",
            "export", ":", "eval", "command", "shift", "unset", "return", "trap", "wait", "kill"}
OPERATORS = {"&&", "||", ";", "|", "&", "(", ")", "!"}


@dataclass(frozen=True)
class ImageContents:
    reference: str                 # "repo:tag", or "repo" for an image built from a Dockerfile
    programs: tuple[str, ...]      # absolute paths
    toolset: tuple[str, ...]       # command names that are there too (in /bin or /usr/bin)
    toolset_name: str | None = None   # "busybox" (applets in /bin) or "debian"
    dockerfile: Path | None = None

    def has(self, command: str) -> bool:
        """A command word (a name looked up on PATH, or an absolute path) is in the image."""
        if command.startswith("/"):
            return command in self.programs or (
                Path(command).parent.as_posix() in ("/bin", "/usr/bin") and Path(command).name in self.toolset)
        return command in self.toolset or any(
            Path(p).name == command and Path(p).parent.as_posix() in PATH_DIRS for p in self.programs)

    @property
    def shell(self) -> str | None:
        return "/bin/sh" if self.has("/bin/sh") or "sh" in self.toolset else None


def load(manifests: list[Path] = MANIFESTS) -> dict[str, ImageContents]:
    toolsets = yaml.safe_load(TOOLSETS_FILE.read_text())["toolsets"]
    found: dict[str, ImageContents] = {}
    for path in manifests:
        for reference, entry in (yaml.safe_load(path.read_text()).get("images") or {}).items():
            dockerfile = (path.parent / entry["dockerfile"]).resolve() if entry.get("dockerfile") else None
            toolset = entry.get("toolset")
            found[reference] = ImageContents(reference, tuple(entry.get("programs") or ()),
                                             tuple(toolsets[toolset]) if toolset else (), toolset, dockerfile)
    return found


def for_service(service: dict, project_dir: Path, known: dict[str, ImageContents]) -> ImageContents | None:
    """The contents of a compose service's image: by its image reference, or, for a `build:`
    service, by the Dockerfile it is built from (or its image name without the tag)."""
    image = service.get("image") or ""
    if image in known:
        return known[image]
    build = service.get("build")
    if build:
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        path = (project_dir / context / dockerfile).resolve()
        for contents in known.values():
            if contents.dockerfile == path:
                return contents
        name = image.rsplit(":", 1)[0] if image else ""
        if name in known and known[name].dockerfile is not None:
            return known[name]
    return None


def commands(script: str) -> list[str]:
    """The command words of a shell command line: the first word of each simple command,
    after variable assignments and redirections; builtins left out."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|()<>!")
    lexer.whitespace_split = True
    tokens = list(lexer)
    redirection = lambda i: i < len(tokens) and set(tokens[i]) <= set("<>&")  # noqa: E731
    words, start, i = [], True, 0
    while i < len(tokens):
        token = tokens[i]
        if token in OPERATORS:
            start = True
        elif redirection(i):
            i += 1               # skip its target
        elif token.isdigit() and redirection(i + 1):
            pass                 # the file descriptor of 2>&1, 3<>…
        elif start and "=" in token and not token.startswith("="):
            pass                 # VAR=value before the command
        elif start:
            start = False
            if token not in BUILTINS:
                words.append(token)
        i += 1
    return words


def needs(test_or_entrypoint: list[str]) -> tuple[list[str], str | None]:
    """(programs a compose healthcheck test or exec-form command runs, the shell script in it
    if any). ["CMD-SHELL", s] needs /bin/sh; ["CMD", "bash", "-c", s] needs bash."""
    kind, argv = (test_or_entrypoint[0], test_or_entrypoint[1:]) if test_or_entrypoint[0] in (
        "CMD", "CMD-SHELL") else ("CMD", test_or_entrypoint)
    if kind == "CMD-SHELL":
        script = " ".join(argv)
        return ["/bin/sh", *commands(script)], script
    if len(argv) >= 3 and Path(argv[0]).name in ("sh", "bash", "ash", "dash") and argv[1] == "-c":
        return [argv[0], *commands(argv[2])], argv[2]
    return [argv[0]], None


def problems(argv: list[str], contents: ImageContents) -> list[str]:
    """What a healthcheck test / command line calls that its image does not ship."""
    needed, script = needs(argv)
    missing = [c for c in needed if not contents.has(c)]
    out = [f"{c} is not in {contents.reference}" for c in missing]
    shell = needed[0] if script is not None else None
    if script and "/dev/tcp/" in script and shell and Path(shell).name != "bash":
        out.append(f"/dev/tcp needs bash, but the script runs under {shell}")
    return out
