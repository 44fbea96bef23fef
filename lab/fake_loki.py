#!/usr/bin/env python3
"""FAKE Loki for the lab — NOT Loki. It only records pushes, so that the collector and the
edge's push routing can be exercised on a machine where Loki cannot run.

It answers `POST /loki/api/v1/push` with 204 and appends one JSON line per push (headers and
the parsed streams) to the record file, and `GET /ready` with 200. It has no query API, no
storage, no ruler and no metrics: nothing Loki-specific is verified by anything that talks to it.
Like real Loki (measured: see /work/shared/notes/loki-facts.md), it parses only
`application/json` bodies as JSON and answers 400 to other content types.
"""
from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server_version = "lookout-lab-fake-loki"
    record_path = ""

    def _answer(self, status: int, body: bytes = b"", ctype: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/ready":
            self._answer(200, b"ready (lab fake Loki: records pushes only)\n")
        else:
            self._answer(404, b"lab fake Loki: only POST /loki/api/v1/push and GET /ready\n")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path != "/loki/api/v1/push":
            self._answer(404, b"lab fake Loki: unknown path\n")
            return
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            self._answer(400, b"lab fake Loki: only application/json pushes are recorded\n")
            return
        try:
            streams = json.loads(body)["streams"]
        except (ValueError, KeyError, TypeError) as err:
            self._answer(400, f"lab fake Loki: bad push JSON: {err}\n".encode())
            return
        record = {"received_at": time.time(), "headers": dict(self.headers.items()), "streams": streams}
        with LOCK, open(self.record_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        self._answer(204)

    def log_message(self, fmt: str, *args) -> None:
        print(f"fake-loki: {self.address_string()} {fmt % args}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=3100)
    parser.add_argument("--bind", default="0.0.0.0", help="address to listen on (a test binds loopback only)")
    parser.add_argument("--record", required=True, help="JSON-lines file the pushes are appended to")
    args = parser.parse_args()
    Handler.record_path = args.record
    server = ThreadingHTTPServer((args.bind, args.port), Handler)
    print(f"fake-loki: THIS IS NOT LOKI; recording pushes on :{args.port} to {args.record}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
