#!/usr/bin/env python3
"""A stand-in for the parts of the Lookout edge that cannot run here, for `lookout doctor` tests.

Grafana and Loki cannot run on the test machines, and the collector and Prometheus belong to
other tests, so this one small server answers the exact requests doctor makes through the edge
(:3000 Grafana + /logger.js, :3100 push, :9090 Prometheus), with the answers the real
components give (shapes copied from their HTTP APIs). It checks credentials like the edge and
Grafana do. Alertmanager is NOT faked: the tests run the real one.

    fake_edge.py MODE EDGE_USER:EDGE_PASS GRAFANA_USER:GRAFANA_PASS ORIGIN [HOST PORT]
MODE is `healthy` or `broken`. Prints the port it listens on (HOST/PORT default: 127.0.0.1 and
a free port), then serves until killed. Behind the real edge it plays Grafana on :3000 and
Loki's push endpoint and /ready on :3100 (pushes without an Origin come from the collector).
"""
import base64
import json
import signal
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE, EDGE, GRAFANA, ORIGIN = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
HOST, PORT = (sys.argv[5], int(sys.argv[6])) if len(sys.argv) > 6 else ("127.0.0.1", 0)
HEALTHY = MODE == "healthy"
SOURCES = ["nginx", "app", "redis", "frontend", "docker"]
DASHBOARDS = ["lookout-uptime", "lookout-performance", "lookout-logs", "lookout-frontend", "lookout-resources"]
pushes = []


def vector(samples):
    now = time.time()
    return {"status": "success", "data": {"resultType": "vector",
            "result": [{"metric": labels, "value": [now, str(value)]} for labels, value in samples]}}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def authorized(self, credentials):
        header = self.headers.get("Authorization", "")
        return header == "Basic " + base64.b64encode(credentials.encode()).decode()

    def send(self, status, body=b"", content_type="application/json", headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        if body:
            self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        path = url.path
        if path == "/ready":  # Loki's readiness, asked by the collector
            return self.send(200, "ready\n", "text/plain")
        if path == "/api/health":
            return self.send(200, {"database": "ok", "version": "12.4.5"}) if HEALTHY else \
                self.send(503, {"database": "failing"})
        if path == "/logger.js":
            return self.send(200, "(function(){/* logger */})();", "application/javascript; charset=utf-8") if HEALTHY \
                else self.send(502, "<html>502 Bad Gateway</html>", "text/html")
        if path.startswith("/api/datasources/proxy/uid/loki/") or path.startswith("/api/dashboards/"):
            if not self.authorized(GRAFANA):
                return self.send(401, {"message": "Unauthorized"})
            if path.endswith("/loki/ready"):
                return self.send(200, "ready\n", "text/plain")
            if path.endswith("/loki/api/v1/query"):
                expr = query.get("query", [""])[0]
                # What doctor must ask: lines per job over the --since window.
                if not expr.startswith("sum by (job) (count_over_time({job=~") or "[900s]" not in expr:
                    return self.send(400, {"status": "error", "error": "unexpected query " + expr})
                present = SOURCES if HEALTHY else ["nginx", "app", "docker"]
                return self.send(200, vector([({"job": job}, 120) for job in present]))
            uid = path.rsplit("/", 1)[-1]
            if uid in DASHBOARDS and (HEALTHY or uid != "lookout-frontend"):
                return self.send(200, {"dashboard": {"uid": uid, "title": uid.replace("lookout-", "").title()}})
            return self.send(404, {"message": "Dashboard not found"})
        # Prometheus behind the edge's basic auth.
        if not self.authorized(EDGE):
            return self.send(401, "401 Authorization Required", "text/html",
                             headers=[("WWW-Authenticate", 'Basic realm="Lookout Prometheus"')])
        if path == "/-/ready":
            return self.send(200, "Prometheus Server is Ready.\n", "text/plain")
        if path == "/api/v1/targets":
            targets = [{"labels": {"job": job, "instance": f"{job}:1"}, "health": "up", "lastError": ""}
                       for job in ["prometheus", "loki", "collector"]]
            if not HEALTHY:
                targets[1].update(health="down", lastError="connection refused")
            return self.send(200, {"status": "success", "data": {"activeTargets": targets, "droppedTargets": []}})
        if path == "/api/v1/query":
            expr = query.get("query", [""])[0]
            if expr == 'probe_success{job="blackbox-http"}':
                return self.send(200, vector([({"instance": "http://application:80", "site": "application"}, 1 if HEALTHY else 0)]))
            if expr == 'count by (__name__) ({__name__=~"nginx:.+"})':
                names = ["nginx:requests:rate1m", "nginx:request_time_seconds:p95_5m"] if HEALTHY else []
                return self.send(200, vector([({"__name__": n}, 3) for n in names]))
            if expr.startswith("sum by (job) (max_over_time(loki:log_lines:rate5m["):
                present = SOURCES if HEALTHY else ["nginx"]
                return self.send(200, vector([({"job": job}, 0.5) for job in present]))
            return self.send(400, {"status": "error", "errorType": "bad_data", "error": "unexpected query " + expr})
        return self.send(404, "404 page not found", "text/plain")

    def do_OPTIONS(self):
        if self.path != "/loki/api/v1/push":
            return self.send(404)
        origin = self.headers.get("Origin")
        if HEALTHY and origin == ORIGIN and self.headers.get("Access-Control-Request-Method") == "POST":
            return self.send(204, headers=[("Access-Control-Allow-Origin", origin),
                                           ("Access-Control-Allow-Methods", "POST, OPTIONS"),
                                           ("Access-Control-Allow-Headers", "Content-Type"), ("Vary", "Origin")])
        return self.send(204)

    def do_POST(self):
        if self.path != "/loki/api/v1/push":
            return self.send(404)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Origin") is None:  # the collector forwarding to "Loki"
            pushes.append(body)
            return self.send(204)
        if self.headers.get("Origin") != ORIGIN or not HEALTHY:
            return self.send(403, "origin not allowed\n", "text/plain")
        try:
            push = json.loads(body)
            stream = push["streams"][0]
            timestamp, line = stream["values"][0]
            assert stream["stream"].get("app") == "frontend"
            assert abs(int(timestamp) / 1e9 - time.time()) < 300
            json.loads(line)
        except Exception as error:  # noqa: BLE001 - any malformed push is a 400, like the collector
            return self.send(400, f"bad push: {error}\n", "text/plain")
        pushes.append(push)
        return self.send(204)


# The Swift test runner hands its children SIGTERM blocked or ignored; stop promptly when asked.
signal.signal(signal.SIGTERM, signal.SIG_DFL)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
server = ThreadingHTTPServer((HOST, PORT), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
