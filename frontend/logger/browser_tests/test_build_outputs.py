"""The shipped files are what the build makes from the sources, and index.html carries the loader."""
import subprocess
import sys

import logger_harness as h


def test_minified_files_are_up_to_date_and_within_budget():
    result = subprocess.run([sys.executable, str(h.LOGGER_DIR / "build.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_application_index_html_uses_the_shipped_loader():
    index = (h.REPO / "deploy/application/frontend/index.html").read_text()
    snippet = (h.LOGGER_DIR / "loader.html").read_text().strip()
    assert snippet in index, "index.html must contain loader.html verbatim (rebuild and paste it)"
    assert '<div id="app"></div>' in index
    assert '<script type="module" src="/src/main.ts"></script>' in index
    # The loader is the only way logger.js is loaded: a plain tag would hold up the load event.
    assert index.count(h.SCRIPT_URL_LITERAL) == 1


def test_readme_states_the_current_size():
    import gzip
    size = len(gzip.compress((h.LOGGER_DIR / "logger.min.js").read_bytes(), 9, mtime=0))
    assert f"**{size} bytes**" in (h.LOGGER_DIR / "README.md").read_text(), f"README must state {size} bytes"
