"""The demo's files agree with the deliverables they stand beside (no lab needed)."""
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "deploy" / "demo"
LOADER = REPO / "frontend" / "logger" / "loader.html"
MONITORING = REPO / "deploy" / "monitoring"


def test_demo_page_uses_the_logger_loader_unchanged_but_for_the_host():
    if not LOADER.exists():
        pytest.skip("frontend/logger/loader.html is missing")
    loader = LOADER.read_text().strip()
    page = (DEMO / "frontend" / "index.html").read_text()
    snippet = re.search(r"<script>\(function\(a,d\).*?</script>", page, re.S).group(0)
    plain = "a.src='https://monitoring-host:3000/logger.js'"
    demo = ("a.src='https://'+(location.hostname=='application'?'monitoring-host'"
            ":location.hostname)+':3000/logger.js'")
    assert plain in loader
    assert snippet == loader.replace(plain, demo)


def test_demo_compose_validates_on_top_of_the_monitoring_compose(tmp_path):
    example = MONITORING / ".env.example"
    if not example.exists():
        pytest.skip("deploy/monitoring/.env.example is missing")
    # Placeholders filled as `lookout init` would; compose only needs them to be set.
    env = tmp_path / "env"
    env.write_text(re.sub(r"=CHANGE-ME\b", "=x", example.read_text()))
    done = subprocess.run(["docker-compose", "-f", str(MONITORING / "docker-compose.yml"),
                           "-f", str(DEMO / "docker-compose.yml"), "--env-file", str(env), "config", "-q"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_demo_images_are_pinned():
    services = yaml.safe_load((DEMO / "docker-compose.yml").read_text())["services"]
    images = {name: s["image"] for name, s in services.items() if "image" in s}
    assert images
    for name, image in images.items():
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest" and "/" not in tag, f"{name}: {image}"
