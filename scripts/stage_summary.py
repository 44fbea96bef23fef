"""One line for a test stage of scripts/test: how many tests passed, were skipped, failed.

    python3 scripts/stage_summary.py RESULTS...

RESULTS are JUnit XML files (pytest --junitxml, swift test --xunit-output) or a stage's output
(node --test prints `# pass N` / `ℹ pass N`). Missing files count nothing, so a stage that
could not start shows 0 everywhere rather than a stale number.
"""
from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def from_junit(path: Path) -> tuple[int, int, int]:
    passed = skipped = failed = 0
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.find("skipped") is not None:
            skipped += 1
        elif case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        else:
            passed += 1
    return passed, skipped, failed


def from_node_output(text: str) -> tuple[int, int, int]:
    counts = {k: int(v) for k, v in re.findall(r"^(?:# |ℹ )(pass|fail|skipped|cancelled) (\d+)$", text, re.M)}
    return counts.get("pass", 0), counts.get("skipped", 0), counts.get("fail", 0) + counts.get("cancelled", 0)


def main(paths: list[str]) -> None:
    total = [0, 0, 0]
    for name in paths:
        path = Path(name)
        if not path.is_file() or path.stat().st_size == 0:
            continue
        try:
            counts = from_junit(path)
        except ET.ParseError:
            counts = from_node_output(path.read_text(errors="replace"))
        total = [a + b for a, b in zip(total, counts)]
    print(f"{total[0]} passed, {total[1]} skipped, {total[2]} failed")


if __name__ == "__main__":
    main(sys.argv[1:])
