#!/usr/bin/env python3
"""Demo traffic: a steady mix of page views and API calls against the demo application, so
the dashboards have something to show. Standard library only (runs in a bare python image).

  TARGET  base URL (default http://application)     RATE  requests per second (default 2)
"""
from __future__ import annotations

import os
import random
import time
import urllib.error
import urllib.request

TARGET = os.environ.get("TARGET", "http://application").rstrip("/")
RATE = float(os.environ.get("RATE", "2"))
# (weight, method, path): mostly healthy traffic with some errors, exceptions and slowness.
MIX = [
    (55, "GET", "/"),
    (20, "GET", "/api/fast"),
    (4, "GET", "/api/slow?seconds=1.5"),
    (1, "GET", "/api/slow"),
    (5, "GET", "/api/error"),
    (3, "GET", "/api/exception"),
    (5, "GET", "/api/not-found"),
    (2, "GET", "/no-such-page"),
    (5, "POST", "/api/task"),
]


def hit(method: str, path: str) -> str:
    request = urllib.request.Request(TARGET + path, method=method, data=b"" if method == "POST" else None,
                                     headers={"User-Agent": "lookout-demo-traffic/1"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return str(answer.status)
    except urllib.error.HTTPError as err:
        return str(err.code)
    except OSError as err:
        return f"failed ({err})"


def main() -> None:
    weights = [m[0] for m in MIX]
    print(f"traffic: {RATE:g} requests/s against {TARGET}", flush=True)
    while True:
        started = time.monotonic()
        _, method, path = random.choices(MIX, weights)[0]
        status = hit(method, path)
        if not status.startswith(("2", "4", "5")):
            print(f"traffic: {method} {path}: {status}", flush=True)
        time.sleep(max(0.0, random.expovariate(RATE) - (time.monotonic() - started)))


if __name__ == "__main__":
    main()
