#!/usr/bin/env python3
"""Builds logger.min.js and loader.html from their readable sources and reports sizes.

    python3 frontend/logger/build.py          write logger.min.js and loader.html, print sizes
    python3 frontend/logger/build.py --check  exit 1 if the committed files are stale or the
                                              logger is over its 2 KB gzip budget

calmjs.parse (PyPI) is the minifier: unlike rjsmin it renames local variables, which is what
brings the logger under budget (rjsmin: about 2.3 KB gzipped, over budget; calmjs.parse: about 2.0 KB).
The version is pinned in scripts/requirements-test.txt so that the output is reproducible.
"""
import base64
import gzip
import hashlib
import sys
from pathlib import Path

from calmjs.parse import es5
from calmjs.parse.unparsers.es5 import minify_print

HERE = Path(__file__).resolve().parent
BUDGET_GZIP_BYTES = 2048
# The collector replaces this literal with its configured push URL when it serves logger.js.
ENDPOINT_LITERAL = "https://monitoring-host:3100/loki/api/v1/push"


def minify(source: str) -> str:
    # Globals (window, document, ...) keep their names; only locals inside the IIFE are renamed.
    return minify_print(es5(source), obfuscate=True, obfuscate_globals=False,
                        drop_semi=True, shadow_funcname=True) + "\n"


def gzip_size(text: str) -> int:
    # mtime=0: the size must not depend on when it was measured.
    return len(gzip.compress(text.encode(), compresslevel=9, mtime=0))


def csp_hash(script_html: str) -> str:
    """The CSP source that allows exactly this inline <script>…</script> element."""
    inline = script_html.strip()[len("<script>"):-len("</script>")]
    return "'sha256-" + base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode() + "'"


def outputs() -> dict:
    logger_min = minify((HERE / "logger.js").read_text())
    loader_html = "<script>" + minify((HERE / "loader.js").read_text()).strip() + "</script>\n"
    return {"logger.min.js": logger_min, "loader.html": loader_html}


def main(argv) -> int:
    check = "--check" in argv[1:]
    built = outputs()
    raw = (HERE / "logger.js").read_text()
    sizes = (len(raw.encode()), len(built["logger.min.js"].encode()), gzip_size(built["logger.min.js"]))
    print(f"logger.js: raw {sizes[0]} B, minified {sizes[1]} B, minified+gzip -9 {sizes[2]} B "
          f"(budget {BUDGET_GZIP_BYTES} B)")
    # For sites with a Content-Security-Policy: this allows exactly the inline loader.
    print(f"loader.html: {len(built['loader.html'].encode())} B, CSP script-src {csp_hash(built['loader.html'])}")
    problems = []
    if sizes[2] > BUDGET_GZIP_BYTES:
        problems.append(f"logger.min.js is {sizes[2]} B gzipped, over the {BUDGET_GZIP_BYTES} B budget")
    if ENDPOINT_LITERAL not in built["logger.min.js"]:
        problems.append(f"logger.min.js lost the endpoint literal {ENDPOINT_LITERAL}")
    for name, text in built.items():
        path = HERE / name
        if check:
            if not path.exists() or path.read_text() != text:
                problems.append(f"{name} is stale: run python3 frontend/logger/build.py")
        else:
            path.write_text(text)
    for p in problems:
        print("build.py: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
