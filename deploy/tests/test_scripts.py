"""scripts/test, the one test command: every skip says why, and each stage ends with a line of
how many tests passed, were skipped and failed (a skip reason nobody sees hides a test that
never ran)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prom_helpers import REPO  # noqa: E402

SCRIPT = REPO / "scripts" / "test"
sys.path.insert(0, str(REPO / "scripts"))
import stage_summary  # noqa: E402


def test_every_pytest_stage_prints_skip_reasons():
    stages = [line for line in SCRIPT.read_text().splitlines() if "pytest" in line and not line.lstrip().startswith("#")]
    assert len(stages) == 3, stages
    assert all(" -rs " in line for line in stages), stages


def test_a_stage_ends_with_its_counts():
    done = subprocess.run([str(SCRIPT), "logger"], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stdout[-2000:]
    tests = len(re.findall(r"^\s*(?:test|it)\(", "".join(
        p.read_text() for p in (REPO / "frontend/logger/test").glob("*.test.js")), re.M))
    line = re.search(r"^=== scripts/test: logger passed \(\d+ s\): (\d+) passed, 0 skipped, 0 failed$",
                     done.stdout, re.M)
    assert line, done.stdout[-1500:]
    assert int(line.group(1)) >= tests > 0


def test_summary_reads_junit_and_node_output(tmp_path, capsys):
    junit = tmp_path / "a.xml"
    junit.write_text("""<testsuites><testsuite name="s">
      <testcase name="ok"/><testcase name="skip"><skipped message="no loki"/></testcase>
      <testcase name="bad"><failure message="x"/></testcase><testcase name="err"><error/></testcase>
    </testsuite></testsuites>""")
    node = tmp_path / "b.txt"
    node.write_text("# tests 5\n# pass 3\n# fail 1\n# cancelled 0\n# skipped 1\n")
    stage_summary.main([str(junit), str(node), str(tmp_path / "missing.xml")])
    assert capsys.readouterr().out.strip() == "4 passed, 2 skipped, 3 failed"
