"""docs/runbook.md → deploy/monitoring/runbook/index.html, the copy the edge serves on the
Grafana door (https://monitoring-host:3000/runbook/), so the link in every alert email works
without a repository host. Heading ids are GitHub's slugs, the anchors the rules' runbook_url
uses (`docs/runbook.md#lookoutsitedown`), so one RUNBOOK_BASE_URL suffix serves both.

    python3 scripts/build_runbook.py           # rewrite index.html
    python3 scripts/build_runbook.py --check   # exit 1 if index.html is not what docs/runbook.md gives

deploy/tests/test_runbook_page.py runs --check; `lookout check` reads the anchors of the copy.
"""
from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import markdown

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "docs" / "runbook.md"
TARGET = REPO / "deploy" / "monitoring" / "runbook" / "index.html"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lookout runbook</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }}
code, pre {{ font: 0.9em ui-monospace, monospace; background: #f6f8fa; }}
pre {{ padding: 0.75rem; overflow-x: auto; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; }}
h2 {{ border-top: 1px solid #d0d7de; padding-top: 1rem; }} :target {{ background: #fff8c5; }}
</style>
</head>
<body>
<!-- Generated from docs/runbook.md by scripts/build_runbook.py: edit that file, then run it. -->
{body}
</body>
</html>
"""


def github_slug(text: str, separator: str = "-") -> str:
    """GitHub's heading anchor: lowercase, punctuation but - and _ dropped, spaces to -."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", text)).lower()
    return re.sub(r"[^\w\- ]", "", plain).replace(" ", separator)


def render(source: str) -> str:
    body = markdown.markdown(source, extensions=["tables", "fenced_code", "toc"],
                             extension_configs={"toc": {"slugify": github_slug}})
    return PAGE.format(body=body)


def main(argv: list[str]) -> int:
    page = render(SOURCE.read_text())
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text() != page:
            print(f"{TARGET.relative_to(REPO)} is stale: run python3 scripts/build_runbook.py", file=sys.stderr)
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(page)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
