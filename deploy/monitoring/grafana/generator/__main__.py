"""Writes the Lookout dashboards to ../dashboards/*.json, built with Grafana's foundation SDK
(scripts/requirements-test.txt pins it; panels.py holds what the dashboards share).

    python3 deploy/monitoring/grafana/generator           # regenerate the files
    python3 deploy/monitoring/grafana/generator --check   # exit 1 if a file is out of date

Edit the Python, not the JSON: the config tests fail when the two disagree.
"""
import json
import sys
from pathlib import Path

# Keep the mounted config folder free of __pycache__ directories.
sys.dont_write_bytecode = True

from grafana_foundation_sdk.cog.encoder import JSONEncoder  # noqa: E402

import frontend  # noqa: E402 (after dont_write_bytecode on purpose)
import logs
import performance
import resources
import uptime

OUTPUT = Path(__file__).resolve().parent.parent / "dashboards"
DASHBOARDS = {
    "uptime.json": uptime,
    "performance.json": performance,
    "logs.json": logs,
    "frontend.json": frontend,
    "resources.json": resources,
}


def render(module):
    return json.dumps(module.build(), cls=JSONEncoder, indent=2, ensure_ascii=False) + "\n"


def main(argv):
    check = "--check" in argv
    stale = []
    for name, module in DASHBOARDS.items():
        path = OUTPUT / name
        text = render(module)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date (run python3 deploy/monitoring/grafana/generator): "
              + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
