"""The runbook page the edge serves (deploy/monitoring/runbook/index.html) is docs/runbook.md
as it is now, and has the anchor every alert's runbook_url points at."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prom_helpers import MONITORING, REPO, alerting_rules, runbook_anchors  # noqa: E402

PAGE = MONITORING / "runbook" / "index.html"


def test_page_is_generated_from_the_runbook():
    done = subprocess.run([sys.executable, str(REPO / "scripts/build_runbook.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_page_has_every_alerts_anchor_and_the_same_as_github():
    ids = set(re.findall(r'id="([^"]+)"', PAGE.read_text()))
    assert ids == runbook_anchors()
    for path, rule in alerting_rules():
        anchor = rule["annotations"]["runbook_url"].split("#", 1)[1]
        assert anchor in ids, f"{rule['alert']} ({path.name}) links to #{anchor}, which the page lacks"
