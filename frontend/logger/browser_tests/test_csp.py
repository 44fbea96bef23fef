"""The loader under a Content-Security-Policy, as docs/frontend-logger.md tells operators to
set it: the snippet allowed by the hash build.py prints, the logger's origin in script-src and
the push URL's origin in connect-src. No 'unsafe-inline' needed."""
import importlib.util
import shutil
import tempfile
from pathlib import Path

import logger_harness as h


def csp_hash(script_html: str) -> str:
    spec = importlib.util.spec_from_file_location("logger_build", h.LOGGER_DIR / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    return build.csp_hash(script_html)


def test_loader_and_logger_work_under_a_strict_csp(browser):
    root = Path(tempfile.mkdtemp(prefix="lookout-csp-"))
    root.chmod(0o755)
    nginx = None
    endpoint = h.RecordingEndpoint([]).start()
    try:
        snippet = h.loader_snippet(endpoint.base + "/logger.js")
        policy = f"default-src 'self'; script-src {csp_hash(snippet)} {endpoint.base}; connect-src {endpoint.base}"
        nginx = h.Nginx(root, headers={"Content-Security-Policy": policy}).start()
        endpoint.allowed_origins.append(nginx.origin)
        (root / "csp.html").write_text(f"<!doctype html><html><head>{snippet}</head><body><h1>CSP</h1><p>text</p></body></html>")
        browser.get(nginx.origin + "/csp.html")
        pushes = h.wait_until(lambda: endpoint.pushes(), 10)
        assert pushes and b'"kind":"pageload"' in pushes[0]["body"]
        log = browser.get_log("browser")
        assert [e["message"] for e in log if "Content Security Policy" in e["message"]] == []
    finally:
        if nginx:
            nginx.stop()
        endpoint.stop()
        shutil.rmtree(root, ignore_errors=True)
