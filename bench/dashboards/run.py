#!/usr/bin/env python3
"""Benchmark of the five Grafana dashboards at real traffic (issue 12): every panel query,
as Grafana sends it, timed against a real Prometheus and a real Loki holding days of access
lines.

    bench/dashboards/run.py --days 1 --rate 1 --paths 500            a quick development run
    bench/dashboards/run.py --days 7 --rate 10 --paths 10000 \\
        --work /var/tmp/bench-7d --write-docs                        the run in docs/dashboards.md

Steps (each prints what it did):
 1. generate.py writes the access lines, app.log and the browser events (WORK/data; reused
    when its summary matches).
 2. recorded.py evaluates the Loki recording rules over them, every minute, as the ruler
    would have; promtool tsdb create-blocks-from openmetrics backfills those series, with the
    other series the dashboards read (exporters, collector, browser metrics: the label sets
    of deploy/tests/dashboard_services.py, every 30 s over the span) into WORK/prometheus.
 3. Debian's Prometheus runs with the shipped prometheus.yml and compose's flags (only the
    listen address and the storage path differ); promtool tsdb create-blocks-from rules
    backfills the shipped Prometheus recording rules over the span, then Prometheus restarts.
 4. Where Grafana's Loki is on PATH: Loki runs with the shipped loki.yml, changed only where
    a benchmark must (LOKI_CHANGES below); the lines are pushed in batches, flushed, the
    load's WAL is dropped and Loki restarts (so queries read the store, as after a week of
    real ingestion), the stored line
    count is checked, and each recording rule's expression is run by Loki as an instant query
    at a few evaluation times and compared with the Python values that were backfilled.
    Without Loki it prints "Loki not on PATH: skipped" and goes on.
 5. Every panel query of the dashboards (grafana.py: interval, step, $__auto, $__range,
    $__rate_interval, "All" variables) is sent --repeats times per range (24 h and 7 d,
    ending at the end of the data); first, median and max wall time, and errors, are printed
    and, with --write-docs, written into docs/dashboards.md with the machine and data size.

Every stage keeps its result in WORK and is reused while data, rules and limits are the same;
--load-loki-only, --skip-prometheus and --reuse-prometheus-timings run parts of it.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import heapq
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "deploy/tests"))
import generate  # noqa: E402
import grafana  # noqa: E402
import recorded  # noqa: E402
import real_loki  # noqa: E402
from dashboard_services import fixture_series  # noqa: E402
from prom_helpers import PROMETHEUS_DIR, free_port, running  # noqa: E402

DOC = REPO / "docs/dashboards.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
GOAL_MS = 500
STREAM = {"job": "nginx", "logtype": "access", "site": "application"}  # Promtail's labels
SCRAPE_S = 30
# What the benchmark changes in the shipped loki.yml, and why (also printed and in the docs).
LOKI_CHANGES = [
    ("limits_config.reject_old_samples_max_age", "span + 1 day",
     "the generated lines lie up to --days in the past and are pushed at once"),
    ("limits_config.ingestion_rate_mb / ingestion_burst_size_mb", "256 / 512",
     "a week of lines is pushed in minutes, not over a week"),
    ("limits_config.per_stream_rate_limit / _burst", "256MB / 512MB", "the same, for the one access-log stream"),
]


def log(message: str):
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", flush=True)


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) if Path(path).exists() else 0


def mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


# --- 1. data ---------------------------------------------------------------------------------

def ensure_data(args, work: Path) -> dict:
    data = work / "data"
    summary_path = data / "summary.json"
    wanted = {"days": args.days, "rate": args.rate, "paths": args.paths, "seed": args.seed,
              "app_rate": args.app_rate, "frontend_rate": args.frontend_rate}
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        if all(summary["params"].get(k) == v for k, v in wanted.items()) and \
                (not args.end or summary["params"]["end"] == args.end.isoformat()):
            log(f"reusing {summary['lines']:,} lines ({mib(summary['bytes'])}) in {data} "
                f"ending {summary['end']}")
            return summary
    log(f"generating {args.days:g} days x {args.rate:g} req/s, {args.paths:,} id paths into {data}")
    summary = generate.write(generate.Params(args.days, args.rate, args.paths, args.seed,
                                             args.end or generate.default_end(), app_rate=args.app_rate,
                                             frontend_rate=args.frontend_rate), data)
    log(f"wrote {summary['lines']:,} lines, {mib(summary['bytes'])}, {summary['distinct_paths']:,} distinct paths")
    return summary


def access_entries(summary: dict):
    """(ts_ns, stream labels, line) of every generated line, in time order."""
    with open(summary["file"], encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            i = line.index('"time":"') + 8
            yield round(float(line[i:line.index('"', i)]) * 1000) * 1_000_000, STREAM, line


def params_of(summary: dict) -> generate.Params:
    p = dict(summary["params"])
    p["end"] = generate.parse_end(p["end"])
    return generate.Params(**p)


def app_entries(summary: dict):
    """(ts_ns, stream labels, entry) of app.log as Promtail's app pipeline labels them: the
    generator's own entries (the same as in app.log, made again rather than re-parsed)."""
    p = params_of(summary)
    start, end = (generate.parse_end(summary[k]) for k in ("start", "end"))
    for ts, entry, component, level in generate.app_entries(p, start, end):
        yield ts, {"job": "app", "site": STREAM["site"], "component": component, "level": level}, entry


def frontend_entries(summary: dict):
    """(ts_ns, stream labels, event) of the browser events, labelled as the collector does."""
    p = params_of(summary)
    start, end = (generate.parse_end(summary[k]) for k in ("start", "end"))
    for ts, event, kind in generate.frontend_events(p, start, end):
        yield ts, {"app": "frontend", "job": "frontend", "kind": kind}, event


def all_entries(summary: dict):
    return heapq.merge(access_entries(summary), app_entries(summary), frontend_entries(summary), key=lambda e: e[0])


def span_s(summary: dict) -> tuple[int, int]:
    return (int(dt.datetime.fromisoformat(summary["start"]).timestamp()),
            int(dt.datetime.fromisoformat(summary["end"]).timestamp()))


# --- 2. + 3. Prometheus ----------------------------------------------------------------------

def recorded_series(summary: dict, work: Path) -> Path:
    out = work / "recorded"
    om = out / "recorded.om"
    stamp = out / "source.json"
    source = {"data": summary["params"], "lines": summary["lines"],
              "rules": {p.name: p.read_text() for p in sorted(recorded.RULE_DIR.glob("*.yaml"))}}
    if om.exists() and stamp.exists() and json.loads(stamp.read_text()) == source:
        log(f"reusing the recorded series in {om}")
        return om
    start, end = span_s(summary)
    rules = recorded.load_rules()
    log(f"evaluating {len(rules)} Loki recording rules every minute over the span (Python)")
    t0 = time.monotonic()
    counts = recorded.openmetrics(recorded.evaluate(all_entries(summary), rules, start, end), out)
    log(f"recorded series: {sum(counts.values()):,} samples in {time.monotonic() - t0:.0f} s: "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    stamp.write_text(json.dumps(source))
    return om


def other_series(summary: dict, path: Path, skip: set[str]):
    """The exporters', collector's and browsers' series every 30 s over the span."""
    start, end = span_s(summary)
    steps = (end - start) // SCRAPE_S
    families: dict[str, list] = {}
    for metric, labels, value in fixture_series(end):
        if metric not in skip and not metric.startswith(("nginx:", "site:")):
            families.setdefault(metric, []).append((labels, value))
    with open(path, "w") as f:
        for metric, series in families.items():
            for labels, value in series:
                text = ",".join(f'{k}="{v}"' for k, v in labels.items())
                for i in range(steps + 1):
                    f.write(f"{metric}{{{text}}} {value(i)} {start + i * SCRAPE_S}\n")
        f.write("# EOF\n")


def prometheus_recording_rules() -> tuple[list[Path], set[str]]:
    files, names = [], set()
    for path in sorted((PROMETHEUS_DIR / "rules").glob("*.rules.yml")):
        records = [r["record"] for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"] if "record" in r]
        if records:
            files.append(path)
            names.update(records)
    return files, names


def prometheus_command(work: Path, port: int) -> list[str]:
    """compose's Prometheus flags (deploy/monitoring/docker-compose.yml), on this machine."""
    return ["prometheus", f"--config.file={PROMETHEUS_DIR / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'prometheus'}", "--storage.tsdb.retention.time=7d",
            "--web.enable-remote-write-receiver", "--web.enable-lifecycle",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]


def load_prometheus(summary: dict, work: Path):
    tsdb = work / "prometheus"
    stamp = work / "prometheus.json"
    source = {"data": summary["params"], "lines": summary["lines"],
              "rules": (work / "recorded/source.json").read_text()}
    if tsdb.exists() and stamp.exists() and json.loads(stamp.read_text()) == source:
        log(f"reusing the Prometheus TSDB in {tsdb}")
        return
    shutil.rmtree(tsdb, ignore_errors=True)
    rule_files, prom_records = prometheus_recording_rules()
    om = work / "recorded/recorded.om"
    others = work / "recorded/others.om"
    other_series(summary, others, prom_records)
    for source_file in (om, others):
        log(f"promtool tsdb create-blocks-from openmetrics {source_file.name}")
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h",
                        str(source_file), str(tsdb)], check=True, capture_output=True, timeout=3600)
    start, end = span_s(summary)
    port = free_port()
    with running(prometheus_command(work, port), f"http://127.0.0.1:{port}/-/ready", work / "prometheus.log", timeout=300):
        blocks = work / "prometheus-rules"
        shutil.rmtree(blocks, ignore_errors=True)
        log(f"promtool tsdb create-blocks-from rules: {', '.join(p.name for p in rule_files)}")
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "rules", f"--start={start}", f"--end={end}",
                        f"--url=http://127.0.0.1:{port}", f"--output-dir={blocks}", "--eval-interval=30s",
                        *map(str, rule_files)], check=True, capture_output=True, timeout=3600)
    for block in blocks.iterdir():
        shutil.move(str(block), tsdb / block.name)
    stamp.write_text(json.dumps(source))


# --- 4. Loki ---------------------------------------------------------------------------------

def loki_config(work: Path, summary: dict):
    config, port = real_loki.config_for(work / "loki")
    limits = config["limits_config"]
    limits["reject_old_samples_max_age"] = f"{int(summary['params']['days'] * 24) + 24}h"
    limits.update(ingestion_rate_mb=256, ingestion_burst_size_mb=512,
                  per_stream_rate_limit="256MB", per_stream_rate_limit_burst="512MB")
    return config, port


def push_all(base: str, summary: dict, batch_bytes: int = 2 << 20, parallel: int = 2):
    """Pushes every entry in time order, ~2 MB of lines a request (the distributor hands a
    push to the ingester in one gRPC message, at most 4 MB by default), `parallel` requests
    at a time (adjacent batches: well inside Loki's out-of-order window)."""
    local = threading.local()
    streams, size, pushed, t0, pending = {}, 0, 0, time.monotonic(), []

    def send(body: str):
        session = getattr(local, "session", None) or setattr(local, "session", requests.Session()) or local.session
        for attempt in range(20):
            r = session.post(base + "/loki/api/v1/push", data=body,
                             headers={"Content-Type": "application/json"}, timeout=300)
            if r.status_code == 204:
                return
            if r.status_code not in (429, 500, 503):
                raise SystemExit(f"Loki refused a push: {r.status_code} {r.text[:300]}")
            time.sleep(1 + attempt)
        raise SystemExit(f"Loki kept refusing pushes: {r.status_code} {r.text[:300]}")

    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        def submit():
            body = json.dumps({"streams": [{"stream": dict(k), "values": v} for k, v in streams.items()]})
            pending.append(pool.submit(send, body))
            while len(pending) > parallel:
                pending.pop(0).result()

        for ts, labels, line in all_entries(summary):
            streams.setdefault(tuple(sorted(labels.items())), []).append([str(ts), line])
            size += len(line) + 40
            pushed += 1
            if size >= batch_bytes:
                submit()
                streams, size = {}, 0
                if pushed % 1_000_000 < 5000:
                    log(f"  {pushed:,} entries pushed")
        if streams:
            submit()
        for f in pending:
            f.result()
    elapsed = time.monotonic() - t0
    total = summary["bytes"] + summary.get("app_log", {}).get("bytes", 0) + summary.get("frontend_events", {}).get("bytes", 0)
    log(f"pushed {pushed:,} entries in {elapsed:.0f} s ({total / 2**20 / elapsed:.1f} MiB/s)")
    return elapsed, pushed


def memory_chunks(base: str) -> float:
    text = requests.get(base + "/metrics", timeout=30).text
    return sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith("loki_ingester_memory_chunks"))


def flush(base: str, timeout_s: int = 1200):
    """POST /flush, then wait until the ingester holds no chunk in memory."""
    r = requests.post(base + "/flush", timeout=600)
    log(f"POST /flush: {r.status_code}; waiting for the ingester to write every chunk")
    deadline = time.monotonic() + timeout_s
    while (left := memory_chunks(base)) > 0 and time.monotonic() < deadline:
        time.sleep(5)
    log(f"chunks still in memory: {left:g}")
    time.sleep(5)


def loki_count(base: str, summary: dict) -> int:
    """Lines Loki holds for the access stream, counted a day at a time."""
    start, end = span_s(summary)
    total, t = 0, end
    while t > start:
        window = min(86400, t - start)
        r = requests.get(base + "/loki/api/v1/query", params={
            "query": f'sum(count_over_time({{job="nginx", logtype="access"}} [{window}s]))',
            "time": str(t * 10**9)}, timeout=600)
        r.raise_for_status()
        result = r.json()["data"]["result"]
        total += int(float(result[0]["value"][1])) if result else 0
        t -= window
    return total


def check_rules_against_loki(base: str, summary: dict, om: Path, times: list[int]) -> list[str]:
    """Each rule's expression as a Loki instant query at `times` (what the ruler runs at each
    evaluation) against the backfilled Python values; returns the differences found."""
    wanted = {t: {} for t in times}
    with open(om) as f:
        for line in f:
            if line.startswith("#"):
                continue
            series, value, ts = line.rsplit(" ", 2)
            if int(ts) in wanted:
                wanted[int(ts)][series] = float(value)
    problems, compared = [], 0
    for rule in recorded.load_rules():
        for t in times:
            r = requests.get(base + "/loki/api/v1/query", params={"query": rule.expr, "time": str(t * 10**9)}, timeout=600)
            if r.status_code != 200:
                problems.append(f"{rule.record} at {t}: Loki answered {r.status_code} {r.text[:200]}")
                continue
            got = {}
            for s in r.json()["data"]["result"]:
                labels = ",".join(f'{n}="{recorded._escape(s["metric"][n])}"' for n in rule.by if s["metric"].get(n, "") != "")
                got[f"{rule.record}{{{labels}}}"] = float(s["value"][1])
            mine = {k: v for k, v in wanted[t].items() if k.startswith(rule.record + "{")}
            compared += len(got)
            for key in sorted(set(got) | set(mine)):
                a, b = got.get(key), mine.get(key)
                if a is None or b is None or abs(a - b) > 1e-9 * max(1, abs(a)):
                    problems.append(f"{key} at {t}: Loki {a}, Python {b}")
    log(f"recording rules: {compared:,} series values compared with Loki at {len(times)} times, "
        f"{len(problems)} differences")
    return problems


def load_loki(work: Path, summary: dict, config: dict, port: int) -> dict:
    """Loads every entry into a Loki on WORK/loki, or reuses the volume of an earlier run
    with the same data and limits; returns how long the push took and how many entries."""
    stamp = work / "loki.json"
    source = {"data": summary["params"], "lines": summary["lines"], "limits": config["limits_config"]}
    if stamp.exists():
        loaded = json.loads(stamp.read_text())
        if {k: loaded.get(k) for k in source} == source and (work / "loki").exists():
            log("reusing the loaded Loki volume")
            return {"push_s": loaded["push_s"], "pushed": loaded["pushed"]}
    shutil.rmtree(work / "loki", ignore_errors=True)
    log("Loki changes to the shipped loki.yml: " + "; ".join(f"{k} = {v} ({why})" for k, v, why in LOKI_CHANGES))
    with real_loki.started(work, config=config, port=port, timeout=1800):
        push_s, pushed = push_all(f"http://127.0.0.1:{port}", summary)
        flush(f"http://127.0.0.1:{port}")
    # Every chunk is in the store now; after a real week the WAL would hold only the last
    # hours, so it is not replayed (gigabytes of it would only slow the restart).
    shutil.rmtree(work / "loki/wal", ignore_errors=True)
    stamp.write_text(json.dumps({**source, "push_s": push_s, "pushed": pushed}))
    return {"push_s": push_s, "pushed": pushed}


# --- 5. timing -------------------------------------------------------------------------------

def time_requests(base: str, reqs, repeats: int) -> list[dict]:
    session = requests.Session()
    rows = []
    for req in reqs:
        times, error, size = [], "", 0
        for _ in range(repeats):
            t0 = time.perf_counter()
            try:
                if req.datasource == "prometheus":  # Grafana's datasource uses POST (httpMethod)
                    r = session.post(base + req.path, data=req.params(), timeout=300)
                else:
                    r = session.get(base + req.path, params=req.params(), timeout=300)
                elapsed = (time.perf_counter() - t0) * 1000
                body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
                if r.status_code != 200 or body.get("status") != "success":
                    error = (body.get("error") or r.text)[:200].strip()
                else:
                    size = len(body["data"]["result"])
            except requests.RequestException as e:
                elapsed, error = (time.perf_counter() - t0) * 1000, str(e)[:200]
            times.append(elapsed)
            if error:
                break
        rows.append({"dashboard": req.dashboard, "panel": req.panel, "ref": req.ref_id,
                     "datasource": req.datasource, "kind": req.kind, "step_s": req.step_ms / 1000,
                     "expr": req.expr, "first_ms": times[0], "median_ms": statistics.median(times),
                     "max_ms": max(times), "error": error, "results": size})
        mark = "ERROR " + error if error else f"{statistics.median(times):8.0f} ms median, {max(times):6.0f} max, {size} results"
        print(f"    {req.datasource:10} {req.kind:7} {req.name[:70]:70} {mark}", flush=True)
    return rows


def ranges_ms(args) -> list[tuple[str, int]]:
    return [(r, grafana.parse_duration_ms(r)) for r in args.ranges.split(",")]


# --- docs ------------------------------------------------------------------------------------

def machine() -> str:
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    return f"{platform.platform()}, {os.cpu_count()} cores ({cpu}), {mem / 2**20:.0f} GiB, shared with other work"


def versions() -> str:
    prom = subprocess.run(["prometheus", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    loki = "not on PATH"
    if real_loki.LOKI:
        out = subprocess.run([real_loki.LOKI, "-version"], capture_output=True, text=True)
        loki = (out.stdout + out.stderr).splitlines()[0]
    return f"{prom}; {loki}"


def markdown(result: dict) -> str:
    s = result["summary"]
    lines = [
        f"Measured {result['date']} by `bench/dashboards/run.py {result['argv']}`"
        + (f" (the Prometheus timings: the same command's earlier run on the same data, begun {result['prometheus_date']})"
           if result.get("prometheus_date") else "") + ".",
        "",
        f"- Machine: {result['machine']}.",
        f"- Components: {result['versions']}.",
        f"- Data: {s['lines']:,} access lines, {s['bytes']:,} bytes ({mib(s['bytes'])}), "
        f"{s['params']['days']:g} day(s) at {s['params']['rate']:g} req/s, {s['distinct_paths']:,} distinct "
        f"paths ({s['distinct_id_paths']:,} with ids), {s['start']} .. {s['end']}, seed {s['params']['seed']}"
        + (f"; and {s['app_log']['entries']:,} app.log entries ({mib(s['app_log']['bytes'])})" if "app_log" in s else "")
        + (f"; and {s['frontend_events']['events']:,} browser events ({mib(s['frontend_events']['bytes'])})"
           if "frontend_events" in s else "") + ".",
        f"- On disk after loading: Prometheus TSDB "
        + (mib(result['sizes']['prometheus']) if "prometheus" in result["sizes"] else "not measured")
        + (f"; Loki {mib(result['sizes']['loki_total'])} (chunks {mib(result['sizes']['loki_chunks'])}, "
           f"index {mib(result['sizes']['loki_index'])})" if result.get("loki") else "; Loki: not run (not on PATH)") + ".",
    ]
    if result.get("loki"):
        lo = result["loki"]
        lines += [f"- Loki: {lo['pushed']:,} entries pushed in {lo['push_s']:.0f} s; {lo['stored']:,} access lines counted back after "
                  f"the restart; recording rules compared at {lo['rule_times']} evaluation times: "
                  f"{lo['rule_differences']} differences."]
    for label, rows in result["timings"].items():
        slow = [r for r in rows if r["median_ms"] > GOAL_MS and not r["error"]]
        failed = [r for r in rows if r["error"]]
        lines.append(f"- {label}: {len(rows)} queries, {len(slow)} with a median over {GOAL_MS} ms"
                     + (" (" + "; ".join(f"{r['panel']} ({r['ref']}) {r['median_ms']:.0f} ms" for r in slow) + ")" if slow else "")
                     + f", {len(failed)} erroring" + (" (" + "; ".join(f"{r['panel']} ({r['ref']})" for r in failed) + ")" if failed else "") + ".")
    runs = f"{result['repeats']} runs each" + (f" ({result['loki_repeats']} for Loki)" if result.get("loki_repeats") else "")
    lines += ["", f"Every panel query as Grafana sends it, {runs}: first / median / max "
              f"wall time in ms. Goal: every panel under {GOAL_MS} ms at 7 days, none erroring.", ""]
    by_source: dict = {}
    for label, rows in result["timings"].items():
        source, span = label.split(", last ")
        for r in rows:
            key = (r["dashboard"], r["panel"], r["ref"], r["kind"])
            by_source.setdefault(source, {}).setdefault(key, {})[span] = r
    for source, queries in by_source.items():
        spans = sorted({span for q in queries.values() for span in q}, key=grafana.parse_duration_ms)
        lines += [f"#### {source}", "",
                  "| dashboard | panel | ref | kind | " + " | ".join(f"{sp}: step, first / median / max ms" for sp in spans) + " | result |",
                  "|---|---|---|---|" + "---|" * len(spans) + "---|"]
        for (dashboard, panel, ref, kind), per_span in queries.items():
            cells = []
            for sp in spans:
                r = per_span.get(sp)
                if not r:
                    cells.append("")
                    continue
                bold = "**" if r["median_ms"] > GOAL_MS or r["error"] else ""
                cells.append(f"{r['step_s']:g}s, {r['first_ms']:.0f} / {bold}{r['median_ms']:.0f}{bold} / {r['max_ms']:.0f}")
            last = per_span[spans[-1]] if spans[-1] in per_span else next(iter(per_span.values()))
            errors = "; ".join(f"{sp}: **error** {per_span[sp]['error']}" for sp in spans if sp in per_span and per_span[sp]["error"])
            noun = "streams" if kind == "logs" else "series"
            lines.append(f"| {dashboard.replace('lookout-', '')} | {panel} | {ref} | {kind} | " + " | ".join(cells)
                         + f" | {errors or str(last['results']) + ' ' + noun} |")
        lines.append("")
    return "\n".join(lines)


def write_docs(result: dict):
    text = DOC.read_text() if DOC.exists() else f"# Dashboards\n\n{START}\n{END}\n"
    if START not in text:
        text += f"\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{markdown(result)}\n{END}{tail}")
    log(f"wrote {DOC.relative_to(REPO)}")


# --- main ------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, default=1)
    ap.add_argument("--rate", type=float, default=1)
    ap.add_argument("--paths", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--app-rate", type=float, default=None,
                    help="app.log entries per second (default: half of --rate, about one per API request)")
    ap.add_argument("--frontend-rate", type=float, default=None,
                    help="browser page loads per second (default: --rate / 20, a page load per 20 requests)")
    ap.add_argument("--end", type=generate.parse_end, default=None,
                    help="end of the data (default: reuse WORK's data, else the current minute)")
    ap.add_argument("--work", type=Path, default=None, help="folder for data, TSDB and Loki (default /var/tmp/bench-dashboards-<days>d)")
    ap.add_argument("--ranges", default="24h,7d", help="dashboard time ranges, ending at the end of the data")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rule-check-times", type=int, default=3, help="evaluation times at which Loki checks the recorded values")
    ap.add_argument("--loki-repeats", type=int, default=None, help="runs of each Loki query (default: --repeats)")
    ap.add_argument("--load-loki-only", action="store_true", help="generate (or reuse) the data, load it into Loki, stop")
    ap.add_argument("--reuse-prometheus-timings", action="store_true",
                    help="take the Prometheus timings from WORK/results.json of an earlier run on the same data")
    ap.add_argument("--skip-prometheus", action="store_true", help="time the Loki panels only")
    ap.add_argument("--results", default="results.json", help="file in WORK for the results (default results.json)")
    ap.add_argument("--write-docs", action="store_true", help=f"write the results into {DOC.relative_to(REPO)}")
    args = ap.parse_args(argv)
    if args.app_rate is None:
        args.app_rate = args.rate / 2
    if args.frontend_rate is None:
        args.frontend_rate = args.rate / 20
    work = args.work or Path(f"/var/tmp/bench-dashboards-{args.days:g}d")
    work.mkdir(parents=True, exist_ok=True)

    summary = ensure_data(args, work)
    start, end = span_s(summary)
    if args.load_loki_only:
        if not real_loki.LOKI:
            print("Loki not on PATH: skipped", flush=True)
            return 0
        config, lport = loki_config(work, summary)
        load_loki(work, summary, config, lport)
        return 0
    result = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
              "versions": versions(), "summary": summary, "repeats": args.repeats,
              "argv": " ".join(sys.argv[1:] if argv is None else argv), "timings": {}, "sizes": {},
              "loki_repeats": args.loki_repeats or args.repeats}
    requests_by_range = {label: grafana.requests_for(end * 1000, ms) for label, ms in ranges_ms(args)}

    om = work / "recorded/recorded.om"
    earlier = json.loads((work / "results.json").read_text()) if (work / "results.json").exists() else {}
    if args.skip_prometheus:
        log("Prometheus: skipped (--skip-prometheus)")
    elif args.reuse_prometheus_timings and earlier.get("summary", {}).get("params") == summary["params"] \
            and any(k.startswith("Prometheus") for k in earlier.get("timings", {})):
        log(f"reusing the Prometheus timings of {earlier['date']} from {work / 'results.json'}")
        result["timings"].update({k: v for k, v in earlier["timings"].items() if k.startswith("Prometheus")})
        result["sizes"]["prometheus"] = earlier["sizes"]["prometheus"]
        result["prometheus_date"] = earlier["date"]
    else:
        om = recorded_series(summary, work)
        load_prometheus(summary, work)
        port = free_port()
        with running(prometheus_command(work, port), f"http://127.0.0.1:{port}/-/ready", work / "prometheus.log", timeout=300):
            for label, reqs in requests_by_range.items():
                log(f"Prometheus panels over {label} ({args.repeats} runs each)")
                result["timings"][f"Prometheus, last {label}"] = time_requests(
                    f"http://127.0.0.1:{port}", [r for r in reqs if r.datasource == "prometheus"], args.repeats)
        result["sizes"]["prometheus"] = du(work / "prometheus")  # blocks, and the WAL it started
    if "prometheus" in result["sizes"]:
        log(f"Prometheus TSDB on disk: {mib(result['sizes']['prometheus'])} ({work / 'prometheus'})")

    if not real_loki.LOKI:
        print("Loki not on PATH: skipped", flush=True)
    else:
        config, lport = loki_config(work, summary)
        base = f"http://127.0.0.1:{lport}"
        loki = load_loki(work, summary, config, lport)
        with real_loki.started(work, config=config, port=lport, timeout=1800):
            for attempt in range(6):  # the index of the last flushes may still be on its way
                loki["stored"] = loki_count(base, summary)
                log(f"Loki holds {loki['stored']:,} of {summary['lines']:,} access lines")
                if loki["stored"] >= summary["lines"]:
                    break
                time.sleep(30)
            times = [end - 600 - i * 3600 * 7 for i in range(args.rule_check_times)]
            if om.exists():
                problems = check_rules_against_loki(base, summary, om, [t // 60 * 60 for t in times])
            else:
                log("recording rules: not compared with Loki (no recorded series yet)")
                problems, times = [], []
            for p in problems[:20]:
                print("    " + p)
            loki.update(rule_times=len(times), rule_differences=len(problems))
            for label, reqs in requests_by_range.items():
                log(f"Loki panels over {label} ({args.loki_repeats or args.repeats} runs each)")
                result["timings"][f"Loki, last {label}"] = time_requests(
                    base, [r for r in reqs if r.datasource == "loki"], args.loki_repeats or args.repeats)
        result["loki"] = loki
        volume = work / "loki"  # chunks/fake: the tenant's chunks; chunks/index: the shipped TSDB index
        result["sizes"].update(loki_chunks=du(volume / "chunks/fake"),
                               loki_index=du(volume / "chunks/index") + du(volume / "tsdb-index") + du(volume / "tsdb-cache"),
                               loki_total=du(volume))
        log(f"Loki on disk: {mib(result['sizes']['loki_total'])} (chunks {mib(result['sizes']['loki_chunks'])}, "
            f"index {mib(result['sizes']['loki_index'])})")

    (work / args.results).write_text(json.dumps(result, indent=1))
    all_rows = [r for rows in result["timings"].values() for r in rows]
    slow = [r for r in all_rows if r["median_ms"] > GOAL_MS or r["error"]]
    log(f"{len(all_rows)} panel queries timed, {len(slow)} over {GOAL_MS} ms or erroring; results in {work / args.results}")
    if args.write_docs:
        write_docs(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
