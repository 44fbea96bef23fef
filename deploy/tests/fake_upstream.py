"""Fake upstreams for the nginx routing tests: one tiny HTTP server per service and port.

Each request is answered 200 (or the status in its X-Fake-Status header) with
{"service": NAME} and appended to a JSON-lines file (service, method, path, headers, body
size), so a test can see exactly what nginx forwarded.

    python3 fake_upstream.py --bind 10.77.0.1 --services grafana=3000,loki=3100 \
        --record requests.jsonl --ready ready.flag
"""
import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_lock = threading.Lock()


def make_handler(service: str, record: Path):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            entry = {
                "service": service,
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body_bytes": len(body),
            }
            with _lock, record.open("a") as f:
                f.write(json.dumps(entry) + "\n")
            reply = json.dumps({"service": service}).encode()
            # A test can ask for another status (e.g. to see 5xx in an access log).
            self.send_response(int(self.headers.get("X-Fake-Status") or 200))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply)

        do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = do_PATCH = _handle

        def log_message(self, *args):  # the JSON-lines record is the log
            pass

    return Handler


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bind", required=True)
    ap.add_argument("--services", required=True, help="name=port,name=port")
    ap.add_argument("--record", required=True, type=Path)
    ap.add_argument("--ready", required=True, type=Path)
    args = ap.parse_args()

    servers = []
    for item in args.services.split(","):
        name, port = item.split("=")
        server = ThreadingHTTPServer((args.bind, int(port)), make_handler(name, args.record))
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    args.ready.write_text("ready\n")
    threading.Event().wait()


if __name__ == "__main__":
    main()
