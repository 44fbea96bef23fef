"""Fixtures for the logger's real-browser tests: one nginx and one headless Chromium per run."""
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import logger_harness as h  # noqa: E402


@pytest.fixture(scope="session")
def site():
    """A folder served by a real nginx; tests write their pages into it."""
    missing = [tool for tool in ("nginx", "chromium", "chromedriver") if not (shutil.which(tool) or os.path.exists(f"/usr/sbin/{tool}"))]
    if missing:
        pytest.fail(f"not installed: {', '.join(missing)} (scripts/install-deps installs them)")
    root = Path(tempfile.mkdtemp(prefix="lookout-site-"))
    root.chmod(0o755)
    shutil.copy(h.LOGGER_DIR / "logger.min.js", root / "logger.min.js")
    nginx = h.Nginx(root).start()
    yield root, nginx
    nginx.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def driver():
    d = h.chromium()
    yield d
    d.quit()


@pytest.fixture
def browser(driver):
    """The shared browser, with its log drained so a test sees only its own entries."""
    driver.get("about:blank")
    driver.get_log("browser")
    return driver
