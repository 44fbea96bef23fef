#!/usr/bin/env python3
"""The lab's command line: lab.py up|down|status|mail|slow|doctor (wrapped by lab/up, lab/down, …)."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labkit import labenv, mail, runner, settings, slow  # noqa: E402

LOOKOUT = Path(__file__).resolve().parents[1] / ".build" / "debug" / "lookout"


def doctor(lab: settings.Lab, extra: list[str]) -> int:
    """`lookout doctor` as an operator would run it against this lab: from inside the lab's
    network (where monitoring-host is the edge), with the lab's .env and the edge's CA."""
    if not lab.state_file.exists():
        print(f"lab: {lab.name} is not running (lab/up first)", file=sys.stderr)
        return 3
    if not LOOKOUT.exists():
        print(f"lab: {LOOKOUT} missing: run `swift build` first", file=sys.stderr)
        return 2
    scheme = labenv.values(lab).get("EDGE_SCHEME", "https")
    argv = [str(LOOKOUT), "doctor", "--url", f"{scheme}://monitoring-host",
            "--env-file", str(lab.run_dir / "env"), "--ca-file", str(labenv.edge_ca(lab)), *extra]
    print("lab: " + " ".join(argv[:1] + ["doctor"] + argv[2:]), file=sys.stderr)
    return subprocess.run(["ip", "netns", "exec", lab.hub, *argv]).returncode


def main() -> int:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--name", help="lab name (default $LOOKOUT_LAB_NAME or lookout-lab)")
    common.add_argument("--run-dir", help="state/log folder (default lab/run/<name>)")
    parser = argparse.ArgumentParser(prog="lab", description="Run Lookout natively, without Docker.")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[common])

    p_up = command("up", "start the monitoring stack and the demo application")
    p_up.add_argument("--real-timings", action="store_true",
                      help="keep the deployment's scrape/evaluation intervals and Alertmanager waits")
    p_up.add_argument("--no-publish", action="store_true",
                      help="do not forward the compose ports (3000, 3100, 9090, …) to this host")
    command("down", "stop everything and remove the lab's namespaces")
    command("status", "what runs, what was skipped and why")
    for verb in ("stop", "start"):
        command(verb, f"{verb} one service (e.g. the application, to see the alert)").add_argument("service")
    p_mail = command("mail", "list the mail the SMTP sink received")
    p_mail.add_argument("number", nargs="?", type=int, help="show this message, decoded as a mail program shows it")
    p_mail.add_argument("--raw", action="store_true", help="with a number: the message exactly as received")
    p_slow = command("slow", "throttle a service's network link (tc tbf)")
    p_slow.add_argument("service", nargs="?", default="application")
    p_slow.add_argument("state", choices=["on", "off"])
    p_slow.add_argument("--seconds", type=float, default=3.0, help="target time to fetch / (default 3)")
    p_doctor = command("doctor", "run `lookout doctor` against the lab (more doctor options may follow)")
    p_doctor.add_argument("doctor_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()

    if os.geteuid() != 0:
        print("lab: needs root (network namespaces and mounts)", file=sys.stderr)
        return 2
    lab = settings.current(args.name, args.run_dir)
    if args.command == "up":
        runner.up(lab, publish=not args.no_publish, time_scale=not args.real_timings)
    elif args.command == "down":
        runner.down(lab)
    elif args.command == "status":
        return runner.status(lab)
    elif args.command == "stop":
        runner.stop_service(lab, args.service)
    elif args.command == "start":
        runner.start_service(lab, args.service)
    elif args.command == "mail":
        return mail.show(lab, args.number, raw=args.raw)
    elif args.command == "slow":
        return slow.set_slow(lab, args.service, args.state == "on", args.seconds)
    elif args.command == "doctor":
        return doctor(lab, args.doctor_args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
