#!/usr/bin/env python3
"""How long an outage takes to become an email, with the deployment's OWN timings.

Starts a lab with `lab/up --real-timings` (probe every minute, rules evaluated every 30 s,
Alertmanager's group_wait 30 s — nothing shortened), waits until the application probe has
been up for a while, stops the application's nginx, and measures the time until the
LookoutSiteDown email reaches the lab's SMTP sink; then starts nginx and measures the time
until the resolved email. Takes 5–10 minutes. Needs root, like the lab.

    sudo python3 bench/e2e/site_down.py [--runs N]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "lab"))
from labkit import mail, settings  # noqa: E402


def lab_cmd(env: dict, *args: str) -> None:
    subprocess.run([str(REPO / "lab" / args[0]), *args[1:]], env=env, check=True, capture_output=True, text=True)


def query(lab: settings.Lab, expr: str) -> list:
    done = subprocess.run(["ip", "netns", "exec", lab.hub, "curl", "-s", "--noproxy", "*", "-G",
                           "http://prometheus:9090/api/v1/query", "--data-urlencode", f"query={expr}"],
                          capture_output=True, text=True, timeout=20)
    return json.loads(done.stdout)["data"]["result"]


def wait_mail(lab, state: str, after: float, timeout: float) -> float:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for m in mail.messages(lab):
            if m["received_at"] >= after and m["subject"].startswith(f"[{state}") and "LookoutSiteDown" in m["subject"]:
                return m["received_at"]
        time.sleep(1)
    raise SystemExit(f"no {state} LookoutSiteDown email within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="lookout-bench-"))
    run_dir.chmod(0o755)
    lab = settings.current(f"lkb{os.getpid()}", str(run_dir))
    env = {**os.environ, "LOOKOUT_LAB_NAME": lab.name, "LOOKOUT_LAB_RUN": str(run_dir)}
    results = []
    try:
        lab_cmd(env, "up", "--no-publish", "--real-timings")
        for _ in range(args.runs):
            # Up for at least two probes, and nothing pending from a previous run.
            deadline = time.time() + 300
            while time.time() < deadline:
                up = query(lab, 'min_over_time(probe_success{job="blackbox-http"}[2m]) == 1 and '
                                'count_over_time(probe_success{job="blackbox-http"}[2m]) >= 2')
                if up and not query(lab, 'ALERTS{alertname="LookoutSiteDown"}'):
                    break
                time.sleep(5)
            stopped = time.time()
            lab_cmd(env, "stop", "nginx")
            fired = wait_mail(lab, "FIRING", stopped, 600)
            started = time.time()
            lab_cmd(env, "start", "nginx")
            resolved = wait_mail(lab, "RESOLVED", started, 600)
            results.append({"outage_to_email_s": round(fired - stopped, 1),
                            "recovery_to_resolved_email_s": round(resolved - started, 1)})
            print(json.dumps(results[-1]), flush=True)
    finally:
        subprocess.run([str(REPO / "lab" / "down")], env=env, capture_output=True)
    print(json.dumps({"timings": "deployment's own (1m probes, 30s evaluation, group_wait 30s)", "runs": results}))


if __name__ == "__main__":
    main()
