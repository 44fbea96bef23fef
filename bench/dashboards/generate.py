#!/usr/bin/env python3
"""Realistic nginx access lines in this repository's JSON log_format (lookout_json in
deploy/application/nginx/nginx.conf: every field it has, every value a JSON string).

    bench/dashboards/generate.py --days 7 --rate 10 --paths 10000 --out /var/tmp/bench-7d
    bench/dashboards/generate.py --days 1 --rate 1 --paths 500 --seed 3 \\
        --end 2026-12-01T00:00:00Z --out /tmp/small

writes DIR/access.log (one line per request, in time order), with --app-rate also DIR/app.log,
with --frontend-rate DIR/frontend.log, and DIR/summary.json, and prints
what it wrote: lines, bytes, span, distinct paths. Deterministic for a given seed and --end
(the default --end is the current minute, so pass it for byte-identical output). Streams: the
only thing held in memory is the set of distinct paths (about --paths of them).

What the lines look like, and why:
- Arrivals are a Poisson process whose rate follows the day (--diurnal: 0.5 means +-50 %
  around --rate, peak at 14:00 UTC); the mean over whole days is --rate.
- Paths: the frontend (index, hashed assets, favicon), fixed API endpoints, and --paths
  distinct id-bearing paths (/api/items/<n>, /api/users/<n>/orders, /api/orders/<uuid>,
  /api/files/<16 hex>/raw) picked with a long-tailed popularity, plus scanners probing made-up
  paths (--scan-share): made-up paths answered 404, well-known probe paths (/.env,
  /wp-login.php, ...) sometimes 400/403/405.
- Status: mostly 2xx, 304 for cached assets, some 301/401/404/422/429/499, and --errors of
  all requests 5xx (500/502/503/504).
- request_time and upstream_response_time are log-normal; --slow-share of API requests are
  slower than 1 s. upstream_response_time has nginx's real oddities, measured with Debian's
  nginx and this log_format: "" when nginx answered itself (redirects; escape=json logs a
  missing variable as ""), "0.001, 0.000" when a second upstream was tried (502/504), "-" for
  a try without a status (client closed first, 499), "0.004 : 0.001" after an internal
  redirect. request_uri keeps the query string, path ($uri) does not.
"""
from __future__ import annotations

import argparse
import bisect
import datetime as dt
import itertools
import json
import math
import random
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

# The keys of log_format lookout_json, in its order (deploy/application/nginx/nginx.conf).
FIELDS = ("time", "time_iso", "remote_addr", "method", "path", "request_uri", "status",
          "request_time", "upstream_response_time", "bytes_sent", "referer", "user_agent",
          "request_id", "host")

BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
]
SCANNER_AGENTS = ["Mozilla/5.0 zgrab/0.x", "python-requests/2.32.3", "curl/8.5.0",
                  "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)", ""]
MONITOR_AGENT = "Blackbox Exporter/0.25.0"

# (path, bytes of the body) served by the frontend; the hashed names are what Vite builds.
ASSETS = [("/", 1120), ("/index.html", 1120), ("/assets/index-4f3a2b1c.js", 148_233),
          ("/assets/vendor-5e6f7a8b.js", 402_771), ("/assets/index-9d8e7f6a.css", 21_904),
          ("/assets/logo-1a2b3c4d.svg", 3_310), ("/favicon.ico", 15_086)]
SCAN_PATHS = ["/wp-login.php", "/xmlrpc.php", "/.env", "/.git/config", "/phpmyadmin/index.php",
              "/admin/config.php", "/cgi-bin/luci", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
              "/actuator/health", "/server-status", "/.aws/credentials", "/boaform/admin/formLogin",
              "/HNAP1/", "/owa/auth/logon.aspx", "/solr/admin/info/system", "/console/", "/config.json"]
SCAN_STEMS = ["/wp-content/plugins/%s/readme.txt", "/backup-%s.zip", "/%s/.env", "/old/%s.php"]


@dataclass(frozen=True)
class Params:
    days: float
    rate: float
    paths: int
    seed: int = 1
    end: dt.datetime | None = None
    diurnal: float = 0.5
    errors: float = 0.01
    slow_share: float = 0.01
    scan_share: float = 0.02
    host: str = "app.example.com"
    app_rate: float = 0.0
    frontend_rate: float = 0.0


def parse_end(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def default_end() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)


def id_path(k: int) -> str:
    """The k-th of the distinct id-bearing paths (0 <= k < --paths): four shapes in turn."""
    n, shape = divmod(k, 4)
    if shape == 0:
        return f"/api/items/{n + 1}"
    if shape == 1:
        return f"/api/users/{n + 1}/orders"
    if shape == 2:
        return f"/api/orders/{uuid.UUID(int=(n * 0x9E3779B97F4A7C15F39CC0605CEDC835) % 2**128, version=4)}"
    return f"/api/files/{(n * 0x9E3779B97F4A7C15 + 0x1234) % 2**64:016x}/raw"


class Generator:
    def __init__(self, p: Params):
        if p.days <= 0 or p.rate <= 0 or p.paths < 1:
            raise ValueError("--days and --rate must be positive and --paths at least 1")
        if not 0 <= p.diurnal < 1 or not 0 <= p.errors < 0.5 or not 0 <= p.scan_share < 0.5:
            raise ValueError("--diurnal must be in [0, 1), --errors and --scan-share in [0, 0.5)")
        self.p = p
        self.rng = random.Random(p.seed)
        self.end = (p.end or default_end()).astimezone(dt.timezone.utc)
        self.start = self.end - dt.timedelta(days=p.days)
        # Long-tailed popularity over the ids (Zipf, s = 0.8): the first ids are hot, every id
        # still has a fair chance of being seen over a day at a few requests per second.
        weights = [1 / (k + 1) ** 0.8 for k in range(p.paths)]
        self.id_cumulative = list(itertools.accumulate(weights))
        self.clients = [self._address() for _ in range(max(50, p.paths // 2))]
        self._iso_second, self._iso = None, ""

    def _address(self) -> str:
        r = self.rng
        block = r.choice(["203.0.113", "198.51.100", "192.0.2", f"100.{r.randint(64, 127)}.{r.randint(0, 255)}"])
        return f"{block}.{r.randint(1, 254)}"

    # --- what one request is -----------------------------------------------------------

    def _latency(self, median: float, sigma: float) -> float:
        return self.rng.lognormvariate(math.log(median), sigma)

    def _request(self):
        """(method, path, query, status, upstream seconds or None, body bytes, agent, referer)."""
        r, p = self.rng, self.p
        referer = f"https://{p.host}/"
        agent = r.choice(BROWSERS)
        u = r.random()
        if u < p.scan_share:
            # Made-up paths are answered 404; some well-known probe paths get 400/403/405.
            if r.random() < 0.6:
                path = r.choice(SCAN_PATHS)
                status = r.choices([404, 400, 403, 405], [80, 6, 10, 4])[0]
            else:
                path = r.choice(SCAN_STEMS) % f"{r.getrandbits(24):x}"
                status = 404
            method = "POST" if path == "/xmlrpc.php" else r.choice(["GET"] * 8 + ["HEAD", "PROPFIND"])
            return method, path, "", status, self._latency(0.002, 0.6), 150, r.choice(SCANNER_AGENTS), ""
        u = r.random()
        if u < 0.36:  # the frontend: pages and hashed assets, often revalidated
            path, size = r.choice(ASSETS)
            if r.random() < 0.01 and path == "/":
                return "GET", "/app", "", 301, None, 169, agent, referer
            status = 304 if path.startswith("/assets/") and r.random() < 0.3 else 200
            return (r.choice(["GET"] * 30 + ["HEAD"]), path, "", status, self._latency(0.002, 0.7),
                    0 if status == 304 else size, agent, "" if path in ("/", "/index.html") else referer)
        if u < 0.56:  # fixed API endpoints
            v = r.random()
            if v < 0.25:
                return (r.choice(["GET", "HEAD"]), "/api/health", "", 200, self._latency(0.003, 0.4),
                        16, MONITOR_AGENT, "")
            if v < 0.55:
                if r.random() < 0.15:
                    status = r.choices([201, 422], [95, 5])[0]
                    return "POST", "/api/items", "", status, self._latency(0.045, 0.6), 240, agent, referer
                return ("GET", "/api/items", f"page={r.randint(1, 40)}&size=20", 200,
                        self._latency(0.06, 0.6), 4_800, agent, referer)
            if v < 0.70:
                status = r.choices([200, 401, 429], [85, 13, 2])[0]
                return "POST", "/api/login", "", status, self._latency(0.12, 0.4), 310, agent, referer
            if v < 0.88:
                return ("GET", "/api/search", f"q={r.choice(['shoes', 'lamp', 'desk', 'tea', 'cable'])}",
                        200, self._latency(0.09, 0.9), 2_600, agent, referer)
            return "POST", "/api/task", "", 202, self._latency(0.02, 0.5), 64, agent, referer
        # an id-bearing path
        k = min(bisect.bisect_left(self.id_cumulative, r.random() * self.id_cumulative[-1]), p.paths - 1)
        path = id_path(k)
        shape = k % 4
        method = "GET"
        if shape in (0, 2):
            method = r.choices(["GET", "PUT", "PATCH", "DELETE", "OPTIONS"], [84, 7, 4, 3, 2])[0]
        status = {"DELETE": 204, "OPTIONS": 204}.get(method, 200)
        if r.random() < 0.03:
            status = 404  # a deleted or never existing item
        median, size = {0: (0.03, 900), 1: (0.07, 3_200), 2: (0.04, 1_400), 3: (0.15, 65_000)}[shape]
        return method, path, "", status, self._latency(median, 0.8), size if status == 200 else 60, agent, referer

    def _fields(self, t: float):
        r, p = self.rng, self.p
        method, path, query, status, upstream, size, agent, referer = self._request()
        if upstream is not None and path.startswith("/api/") and path != "/api/health":
            if r.random() < p.slow_share:
                upstream = self._latency(1.6, 0.45)
        tries = None
        if upstream is not None and r.random() < p.errors:  # the backend failing
            status = r.choices([500, 502, 503, 504], [50, 25, 10, 15])[0]
            size = 180
            if status == 502:
                upstream, tries = r.uniform(0, 0.002), [r.uniform(0, 0.002)]
            elif status == 504:
                upstream, tries = 60 + r.uniform(0, 0.004), [r.uniform(0, 0.001)]
        elif upstream is not None and r.random() < 0.003:
            status, size = 499, 0  # the client gave up while the backend worked
            upstream = "-" if r.random() < 0.6 else upstream
        overhead = r.uniform(0, 0.0015)
        if upstream is None:
            upstream_text, request_time = "", r.uniform(0, 0.001)
        elif upstream == "-":
            upstream_text, request_time = "-", self._latency(2.0, 0.8)
        else:
            request_time = upstream + overhead + sum(tries or [])
            upstream_text = f"{upstream:.3f}"
            if tries:
                upstream_text = ", ".join([f"{x:.3f}" for x in tries] + [upstream_text])
            elif status == 404 and path.startswith("/api/") and r.random() < 0.2:
                upstream_text += f" : {r.uniform(0, 0.002):.3f}"  # error_page, proxied again
        bytes_sent = (size + 150 + r.randint(0, 120)) if size else 180 + r.randint(0, 40)
        second = int(t)
        if second != self._iso_second:  # several requests a second share it
            self._iso_second = second
            self._iso = dt.datetime.fromtimestamp(second, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        return {
            "time": f"{t:.3f}",
            "time_iso": self._iso,
            "remote_addr": r.choice(self.clients),
            "method": method,
            "path": path,
            "request_uri": f"{path}?{query}" if query else path,
            "status": str(status),
            "request_time": f"{request_time:.3f}",
            "upstream_response_time": upstream_text,
            "bytes_sent": str(bytes_sent),
            "referer": referer,
            "user_agent": agent,
            "request_id": f"{r.getrandbits(128):032x}",
            "host": p.host,
        }

    # --- when requests arrive ------------------------------------------------------------

    def arrivals(self):
        """Request times (Unix seconds, millisecond resolution, ascending) in [start, end):
        a non-homogeneous Poisson process, by thinning one of the peak rate."""
        p, r = self.p, self.rng
        peak = p.rate * (1 + p.diurnal)
        t, end = self.start.timestamp(), self.end.timestamp()
        while True:
            t += r.expovariate(peak)
            if t >= end:
                return
            phase = 2 * math.pi * ((t % 86400) / 86400 - 8 / 24)  # sin peaks at 14:00 UTC
            if r.random() * peak <= p.rate * (1 + p.diurnal * math.sin(phase)):
                yield math.floor(t * 1000) / 1000

    def lines(self):
        """(timestamp in ns, JSON line) for every request, in time order."""
        encode = json.JSONEncoder(separators=(",", ":")).encode
        for t in self.arrivals():
            yield round(t * 1000) * 1_000_000, encode(self._fields(t))


TRACEBACKS = [
    ('  File "/app/backend/main.py", line 42, in read_item\n    return items[item_id]', "KeyError: {n}"),
    ('  File "/app/backend/db.py", line 88, in fetch\n    raise TimeoutError("database did not answer")',
     "TimeoutError: database did not answer"),
    ('  File "/usr/local/lib/python3.12/site-packages/celery/app/trace.py", line 453, in trace_task\n'
     "    R = retval = fun(*args, **kwargs)", "ValueError: boom"),
]


def app_entries(p: Params, start: dt.datetime, end: dt.datetime):
    """(timestamp in ns, entry, component, level) of app.log (FastAPI and Celery, the format
    Promtail's app pipeline parses; a traceback continues on the following lines), at
    p.app_rate entries per second, in time order. A Random of its own: the access lines stay
    the same whether or not app.log is written."""
    r = random.Random(p.seed * 7919 + 1)
    t, stop = start.timestamp(), end.timestamp()
    while p.app_rate > 0:
        t += r.expovariate(p.app_rate)
        if t >= stop:
            return
        ms = math.floor(t * 1000)
        stamp = dt.datetime.fromtimestamp(ms // 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S") + f",{ms % 1000:03d}"
        task = f"tasks.flaky[{uuid.UUID(int=r.getrandbits(128), version=4)}]"
        u = r.random()
        if u < 0.85:
            entry, component, level = (f'{stamp} INFO [uvicorn.access] 172.18.0.{r.randint(2, 9)}:{r.randint(30000, 60000)} - '
                                       f'"GET /api/items/{r.randint(1, max(1, p.paths))} HTTP/1.1" 200'), "fastapi", "info"
        elif u < 0.88:
            entry, component, level = f"{stamp} WARNING [app] slow query: {r.randint(1, 9)}.{r.randint(0, 999):03d} s", "fastapi", "warning"
        elif u < 0.89:
            frames, last = TRACEBACKS[r.randint(0, 1)]
            entry = (f"{stamp} ERROR [uvicorn.error] Exception in ASGI application\nTraceback (most recent call last):\n"
                     f"{frames}\n{last.format(n=r.randint(1, 999))}")
            component, level = "fastapi", "error"
        elif u < 0.97:
            entry, component, level = f"[{stamp}: INFO/MainProcess] Task {task} received", "celery", "info"
        elif u < 0.985:
            frames, last = TRACEBACKS[2]
            entry = (f"[{stamp}: ERROR/ForkPoolWorker-{r.randint(1, 2)}] Task {task} raised unexpected: ValueError('boom')\n"
                     f"Traceback (most recent call last):\n{frames}\n{last}")
            component, level = "celery", "error"
        else:
            entry, component, level = f"[{stamp}: WARNING/ForkPoolWorker-{r.randint(1, 2)}] {task}: retrying", "celery", "warning"
        yield ms * 1_000_000, entry, component, level


JS_ERRORS = [("error", "TypeError: Cannot read properties of undefined (reading 'price')", "/assets/index-4f3a2b1c.js"),
             ("error", "ReferenceError: gtag is not defined", "/assets/index-4f3a2b1c.js"),
             ("unhandledrejection", "Error: Request failed with status code 502", "/assets/vendor-5e6f7a8b.js"),
             ("resource", "Failed to load /assets/logo-1a2b3c4d.svg", "/assets/logo-1a2b3c4d.svg")]


def frontend_events(p: Params, start: dt.datetime, end: dt.datetime):
    """(timestamp in ns, JSON line, kind) of the browser events the collector forwards to
    Loki (docs/signals.md): per page load a pageload and a vitals event, and now and then a
    JS error, at p.frontend_rate page loads per second, in time order."""
    r = random.Random(p.seed * 7919 + 2)
    t, stop = start.timestamp(), end.timestamp()
    encode = json.JSONEncoder(separators=(",", ":")).encode
    while p.frontend_rate > 0:
        t += r.expovariate(p.frontend_rate)
        if t >= stop:
            return
        ns = math.floor(t * 1000) * 1_000_000
        k = r.randrange(max(1, p.paths))
        page = r.choice(["/", "/", "/search", f"/items/{k // 4 + 1}",
                         f"/orders/{uuid.UUID(int=(k * 0x9E3779B97F4A7C15F39CC0605CEDC835) % 2**128, version=4)}"])
        ttfb = r.lognormvariate(math.log(0.12), 0.5)
        dcl = ttfb + r.lognormvariate(math.log(0.4), 0.5)
        load = dcl + r.lognormvariate(math.log(0.3), 0.6)
        yield ns, encode({"kind": "pageload", "page": page, "ttfb": round(ttfb, 3), "dcl": round(dcl, 3),
                          "load": round(load, 3), "dns": 0.004, "tcp": 0.01, "tls": 0.02,
                          "transfer_size": r.randint(2_000, 600_000), "nav_type": "navigate"}), "pageload"
        yield ns + 1_000_000, encode({"kind": "vitals", "page": page, "lcp": round(load * r.uniform(0.8, 1.3), 3),
                                      "cls": round(r.expovariate(20), 3), "inp": round(r.lognormvariate(math.log(0.08), 0.6), 3)}), "vitals"
        if r.random() < 0.03:
            kind, message, source = r.choice(JS_ERRORS)
            yield ns + 2_000_000, encode({"kind": "error", "type": kind, "message": message, "source": source,
                                          "line": r.randint(1, 900), "col": r.randint(1, 80),
                                          "stack": f"{message}\n    at render ({source}:1:{r.randint(1, 9999)})",
                                          "page": page}), "error"


def write(p: Params, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    gen = Generator(p)
    lines = size = 0
    first = last = None
    paths: set[str] = set()
    with open(out / "access.log", "w", encoding="utf-8", buffering=1 << 20) as f:
        for ts, line in gen.lines():
            f.write(line + "\n")
            lines += 1
            size += len(line) + 1
            first = first or ts
            last = ts
            paths.add(line[line.index('"path":"') + 8:line.index('","request_uri"')])
    summary = {
        "file": str(out / "access.log"), "lines": lines, "bytes": size,
        "start": gen.start.isoformat(), "end": gen.end.isoformat(),
        "first_ns": first, "last_ns": last, "distinct_paths": len(paths),
        "distinct_id_paths": sum(1 for x in paths if x.startswith(("/api/items/", "/api/users/", "/api/orders/", "/api/files/"))),
        "params": {k: (v.isoformat() if isinstance(v, dt.datetime) else v)
                   for k, v in {**p.__dict__, "end": gen.end}.items()},
    }
    if p.app_rate > 0:
        entries = lines_ = size_ = 0
        with open(out / "app.log", "w", encoding="utf-8", buffering=1 << 20) as f:
            for _, entry, _, _ in app_entries(p, gen.start, gen.end):
                f.write(entry + "\n")
                entries += 1
                lines_ += entry.count("\n") + 1
                size_ += len(entry) + 1
        summary["app_log"] = {"file": str(out / "app.log"), "entries": entries, "lines": lines_, "bytes": size_}
    if p.frontend_rate > 0:
        events = size_ = 0
        with open(out / "frontend.log", "w", encoding="utf-8", buffering=1 << 20) as f:
            for _, event, _ in frontend_events(p, gen.start, gen.end):
                f.write(event + "\n")
                events += 1
                size_ += len(event) + 1
        summary["frontend_events"] = {"file": str(out / "frontend.log"), "events": events, "bytes": size_}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, required=True, help="span of the lines, in days")
    ap.add_argument("--rate", type=float, required=True, help="mean requests per second")
    ap.add_argument("--paths", type=int, required=True, help="distinct id-bearing paths")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--end", type=parse_end, default=None,
                    help="end of the span, ISO 8601 (default: the current minute, UTC)")
    ap.add_argument("--out", type=Path, required=True, help="folder for access.log and summary.json")
    ap.add_argument("--diurnal", type=float, default=0.5, help="daily swing of the rate, 0..1 (default 0.5)")
    ap.add_argument("--errors", type=float, default=0.01, help="share of requests answered 5xx (default 0.01)")
    ap.add_argument("--slow-share", type=float, default=0.01, help="share of API requests slower than 1 s (default 0.01)")
    ap.add_argument("--scan-share", type=float, default=0.02, help="share of scanner requests (default 0.02)")
    ap.add_argument("--host", default="app.example.com", help="value of the host field")
    ap.add_argument("--app-rate", type=float, default=0.0,
                    help="also write app.log (FastAPI and Celery entries, some with tracebacks) at this many entries/s")
    ap.add_argument("--frontend-rate", type=float, default=0.0,
                    help="also write frontend.log (browser events as the collector forwards them) at this many page loads/s")
    a = ap.parse_args(argv)
    p = Params(a.days, a.rate, a.paths, a.seed, a.end, a.diurnal, a.errors, a.slow_share, a.scan_share, a.host, a.app_rate, a.frontend_rate)
    try:
        s = write(p, a.out)
    except ValueError as e:
        ap.error(str(e))
    print(f"generate.py: wrote {s['lines']:,} lines, {s['bytes']:,} bytes ({s['bytes'] / 2**20:.1f} MiB) "
          f"to {s['file']}\n  span {s['start']} .. {s['end']} ({p.days:g} days at {p.rate:g} req/s), "
          f"{s['distinct_paths']:,} distinct paths ({s['distinct_id_paths']:,} with ids), seed {p.seed}")
    if "app_log" in s:
        a = s["app_log"]
        print(f"  and {a['entries']:,} app.log entries ({a['lines']:,} lines, {a['bytes']:,} bytes) to {a['file']}")
    if "frontend_events" in s:
        e = s["frontend_events"]
        print(f"  and {e['events']:,} browser events ({e['bytes']:,} bytes) to {e['file']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
