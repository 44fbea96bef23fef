#!/usr/bin/env python3
"""Benchmark of the browser logger: size and load-event overhead in real headless Chromium.

    python3 bench/logger/run.py                  print the results
    python3 bench/logger/run.py --write-docs     also write them into docs/frontend-logger.md

Load-event time is the page's own Navigation Timing loadEventEnd (ms after navigation start),
median over --loads interleaved loads of each variant, served by a real nginx on this machine.
The monitoring host is a local collector-like endpoint (up), a refused port (down) or a socket
that accepts and never answers (hanging). Uses the browser tests' harness.
"""
import argparse
import datetime
import gzip
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "frontend/logger/browser_tests"))
import logger_harness as h  # noqa: E402

DOC = REPO / "docs/frontend-logger.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
HANG_TIMEOUT_S = 10


def sizes() -> dict:
    raw = (h.LOGGER_DIR / "logger.js").read_bytes()
    minified = (h.LOGGER_DIR / "logger.min.js").read_bytes()
    return {"raw": len(raw), "min": len(minified), "gzip": len(gzip.compress(minified, 9, mtime=0)),
            "raw_gzip": len(gzip.compress(raw, 9, mtime=0))}


def machine() -> str:
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    chromium = subprocess.run(["chromium", "--version"], capture_output=True, text=True).stdout.strip()
    import os
    return f"{platform.platform()}, {os.cpu_count()} CPUs ({cpu}), {chromium}"


def measure(loads: int) -> list[tuple[str, str]]:
    root = Path(tempfile.mkdtemp(prefix="lookout-bench-"))
    root.chmod(0o755)
    nginx = h.Nginx(root).start()
    up = h.RecordingEndpoint([nginx.origin]).start()
    down = h.RefusingPort()
    hanging = h.HangingServer().start()
    driver = h.chromium()
    rows = []
    try:
        plain = h.write_page(root, "none.html", "")
        variants = []
        for name, server in (("up", up), ("down (refused)", down), ("hanging", hanging)):
            url = server.base + "/logger.js"
            variants.append((f"loader snippet, monitoring {name}", h.write_page(root, f"loader-{len(variants)}.html", h.loader_snippet(url))))
            variants.append((f"`<script async>`, monitoring {name}",
                             h.write_page(root, f"async-{len(variants)}.html", f'<script async src="{url}"></script>')))
        baseline_runs = []
        for label, page in variants:
            if "async" in label and "hanging" in label:
                driver.set_page_load_timeout(HANG_TIMEOUT_S)
                try:
                    ms = h.load_event_ms(driver, nginx.origin + page)
                    rows.append((label, f"{ms:.0f} ms (1 load)"))
                except Exception:
                    rows.append((label, f"no load event within {HANG_TIMEOUT_S} s (1 load)"))
                driver.set_page_load_timeout(30)
                continue
            with_ms, without_ms = h.median_load_times(driver, nginx.origin, page, plain, loads)
            baseline_runs.append(without_ms)
            rows.append((label, f"{with_ms:.1f} ms (without logger in the same run: {without_ms:.1f} ms, "
                                f"difference {with_ms - without_ms:+.1f} ms)"))
        rows.insert(0, ("no logger (median of the baselines above)", f"{statistics.median(baseline_runs):.1f} ms"))
    finally:
        driver.quit()
        for s in (up, down, hanging, nginx):
            s.stop()
        shutil.rmtree(root, ignore_errors=True)
    return rows


def render(sz: dict, rows, loads: int) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [START, "",
             f"Measured {now} on {machine()} by `python3 bench/logger/run.py --write-docs`.", "",
             "| file | bytes |", "|---|---|",
             f"| logger.js (source, with comments) | {sz['raw']} |",
             f"| logger.min.js (calmjs.parse, locals renamed) | {sz['min']} |",
             f"| logger.min.js, gzip -9 (what travels) | **{sz['gzip']}** (budget 2048) |", "",
             f"Load-event time (median of {loads} loads per variant; each row measured against the page "
             "without the logger in the same interleaved run):", "",
             "| variant | load event |", "|---|---|"]
    lines += [f"| {label} | {value} |" for label, value in rows]
    lines += ["", END]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loads", type=int, default=15, help="loads per variant (default 15)")
    ap.add_argument("--write-docs", action="store_true", help=f"write the results into {DOC.relative_to(REPO)}")
    args = ap.parse_args()
    if args.loads < 1:
        ap.error("--loads must be at least 1")
    sz = sizes()
    rows = measure(args.loads)
    section = render(sz, rows, args.loads)
    print(section)
    if args.write_docs:
        text = DOC.read_text()
        if START not in text or END not in text:
            sys.exit(f"{DOC}: markers {START} … {END} not found")
        DOC.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S))
        print(f"written into {DOC.relative_to(REPO)}")


if __name__ == "__main__":
    main()
