"""Every healthcheck and entrypoint uses only programs its image ships (deploy/*/images.yml,
read from each image's upstream Dockerfile at the pinned tag; docs/images.md names the sources).

A container is not this machine: a check that calls wget in a distroless image can never pass
there, and through `depends_on: condition: service_healthy` half the stack then never starts.
These tests refuse such a check before it ships; the lab (lab/labkit) runs every service with
only its image's programs, so the same check fails there too.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lab"))
from labkit import image_manifest as im  # noqa: E402
from prom_helpers import REPO, tool  # noqa: E402

COMPOSE_FILES = {  # file -> the folder compose resolves its relative paths from
    REPO / "deploy/monitoring/docker-compose.yml": REPO / "deploy/monitoring",
    REPO / "deploy/application/docker-compose.yml": REPO / "deploy/application",
    REPO / "deploy/application/docker-compose.monitoring.yml": REPO / "deploy/application",
    REPO / "deploy/demo/docker-compose.yml": REPO / "deploy/monitoring",   # applied on top of it
}
# The application's own images: built from the operator's code, not ours to describe.
APPLICATIONS_OWN = {("deploy/application/docker-compose.yml", s) for s in ("backend", "worker", "frontend")}
KNOWN = im.load()


def services():
    for path, project in COMPOSE_FILES.items():
        for name, svc in (yaml.safe_load(path.read_text())["services"] or {}).items():
            if "image" in svc or "build" in svc:   # not just an override of a service elsewhere
                yield path.relative_to(REPO).as_posix(), name, svc, project


SERVICES = list(services())
IDS = [f"{f}:{n}" for f, n, _, _ in SERVICES]


@pytest.mark.parametrize("file,name,svc,project", SERVICES, ids=IDS)
def test_every_image_is_described(file, name, svc, project):
    if (file, name) in APPLICATIONS_OWN:
        pytest.skip("the application's own image")
    assert im.for_service(svc, project, KNOWN), f"{file}: {name} uses {svc.get('image') or svc['build']}, " \
        "which no images.yml describes (add it, with its Dockerfile as the source, to docs/images.md too)"


@pytest.mark.parametrize("file,name,svc,project", SERVICES, ids=IDS)
def test_healthcheck_and_entrypoint_use_only_what_the_image_ships(file, name, svc, project):
    contents = im.for_service(svc, project, KNOWN)
    if contents is None:
        pytest.skip("image not described (see test_every_image_is_described)")
    test = (svc.get("healthcheck") or {}).get("test")
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    found = []
    if test and test[0] != "NONE":
        found += [f"healthcheck: {p}" for p in im.problems(test, contents)]
    if svc.get("entrypoint"):
        found += [f"entrypoint: {p}" for p in im.problems(list(svc["entrypoint"]), contents)]
    assert not found, f"{file}: {name}: " + "; ".join(found)


def test_the_checks_refuse_what_an_image_lacks():
    """The rule itself, on the three ways a check breaks in a real image."""
    loki, promtail, prometheus = (KNOWN[k] for k in ("grafana/loki:3.7.6", "grafana/promtail:3.6.11",
                                                     "prom/prometheus:v3.13.2"))
    wget = ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:3100/ready || exit 1"]
    assert im.problems(wget, loki) == ["/bin/sh is not in grafana/loki:3.7.6", "wget is not in grafana/loki:3.7.6"]
    assert im.problems(["CMD", "curl", "-fsS", "http://127.0.0.1:9080/ready"], promtail) == [
        "curl is not in grafana/promtail:3.6.11"]
    tcp = ["CMD-SHELL", "exec 3<>/dev/tcp/127.0.0.1/9090 && head -n1 <&3"]
    assert im.problems(tcp, prometheus) == ["/dev/tcp needs bash, but the script runs under /bin/sh"]
    assert im.problems(["CMD", "/usr/bin/loki", "-health"], loki) == []


def test_shared_images_are_described_alike():
    seen: dict[str, dict] = {}
    for path in im.MANIFESTS:
        for ref, entry in yaml.safe_load(path.read_text())["images"].items():
            assert seen.setdefault(ref, entry) == entry, f"{ref} differs in {path.relative_to(REPO)}"


def test_docs_name_every_image_and_its_source():
    doc = (REPO / "docs/images.md").read_text()
    for ref in KNOWN:
        assert f"`{ref}`" in doc, f"docs/images.md does not describe {ref}"
    for path in im.MANIFESTS:
        for ref, entry in yaml.safe_load(path.read_text())["images"].items():
            assert entry.get("dockerfile") is None or (path.parent / entry["dockerfile"]).is_file(), ref


def test_built_images_match_their_dockerfile():
    """The images we build: the manifest's base is the Dockerfile's final FROM, and every
    program listed comes from the base image or is named by the Dockerfile (or, for pip's
    console scripts, by the requirements it installs)."""
    for path in im.MANIFESTS:
        for ref, entry in yaml.safe_load(path.read_text())["images"].items():
            if not entry.get("dockerfile"):
                continue
            dockerfile = path.parent / entry["dockerfile"]
            text = dockerfile.read_text()
            requirements = dockerfile.parent / "requirements.txt"
            text += requirements.read_text() if requirements.exists() else ""
            bases = [line.split()[1] for line in text.splitlines() if line.startswith("FROM ")]
            assert entry["base"] == bases[-1], ref
            base = KNOWN.get(entry["base"])
            for program in entry["programs"]:
                provided = Path(program).name in text or (base is not None and base.has(program))
                assert provided, f"{ref}: nothing in {dockerfile.name} provides {program}"


def test_alertmanager_entrypoint_runs_with_only_the_image_programs(tmp_path):
    """render-and-run.sh under BusyBox with a PATH of only the prom/alertmanager image's
    commands: a program the image lacks makes it fail here as it would in the container."""
    compose = yaml.safe_load((REPO / "deploy/monitoring/docker-compose.yml").read_text())
    svc = compose["services"]["alertmanager"]
    contents = im.for_service(svc, REPO / "deploy/monitoring", KNOWN)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    busybox = tool("busybox")
    for applet in contents.toolset:
        (bin_dir / applet).symlink_to(busybox)
    password = tmp_path / "smtp_password"
    password.write_text("pass")
    env = {"PATH": str(bin_dir), "SMTP_SMARTHOST": "smtp.example.com:587", "SMTP_FROM": "a@example.com",
           "SMTP_AUTH_USERNAME": "user", "ALERT_EMAIL_TO": "ops@example.com",
           "GRAFANA_URL": "https://grafana.example", "RUNBOOK_BASE_URL": "https://runbooks.example/",
           "SMTP_AUTH_PASSWORD_FILE": str(password), "LOOKOUT_AM_RENDER_DIR": str(tmp_path / "out")}
    script = REPO / "deploy/monitoring/alertmanager" / Path(svc["entrypoint"][1]).name
    assert svc["entrypoint"][0] == "/bin/sh"
    done = subprocess.run([str(bin_dir / "sh"), str(script), "--render-only"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "alertmanager.yml").is_file()
    # And it does need them: without sed the same run fails.
    (bin_dir / "sed").unlink()
    done = subprocess.run([str(bin_dir / "sh"), str(script), "--render-only"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
