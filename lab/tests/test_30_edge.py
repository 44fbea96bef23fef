"""The edge (deploy/monitoring/edge, unchanged) in front of the real services, over TLS as
deployed: every published door without credentials, with wrong ones and with the right ones;
Loki's query API unreachable; browser pushes to the collector with their labels rewritten;
agent pushes (through the collector's relay) to Loki only with the agents' credentials. Every
request verifies the edge's certificate (made by `lookout init --tls`) against its CA; plain
HTTP is never served."""
import json
import ssl
import socket
import time

import pytest
import requests

EDGE = "https://monitoring-host"
DOORS = {   # port → (path that needs the door's login, env keys of the login)
    9090: ("/api/v1/status/buildinfo", "PROMETHEUS_USER", "PROMETHEUS_PASSWORD"),
    9093: ("/api/v2/status", "ALERTMANAGER_USER", "ALERTMANAGER_PASSWORD"),
}


def login(lab, user_key, password_key):
    return lab.env[user_key], lab.env[password_key]


@pytest.mark.parametrize("port", sorted(DOORS))
def test_door_refuses_missing_and_wrong_credentials_and_admits_the_right_ones(lab, port):
    lab.require("edge")
    path, user_key, password_key = DOORS[port]
    url = f"{EDGE}:{port}{path}"
    user, password = login(lab, user_key, password_key)
    assert lab.http.get(url, timeout=5).status_code == 401
    assert lab.http.get(url, auth=(user, password + "x"), timeout=5).status_code == 401
    assert lab.http.get(url, auth=("nobody", password), timeout=5).status_code == 401
    # The agents' login (it lives on the application host) opens no other door.
    agents = login(lab, "LOKI_PUSH_USER", "LOKI_PUSH_PASSWORD")
    assert lab.http.get(url, auth=agents, timeout=5).status_code == 401
    answer = lab.http.get(url, auth=(user, password), timeout=5)
    assert answer.status_code == 200, answer.text
    assert answer.json()   # the real Prometheus / Alertmanager answered


def test_prometheus_and_alertmanager_logins_are_not_interchangeable(lab):
    lab.require("edge")
    prom = login(lab, "PROMETHEUS_USER", "PROMETHEUS_PASSWORD")
    am = login(lab, "ALERTMANAGER_USER", "ALERTMANAGER_PASSWORD")
    assert lab.http.get(f"{EDGE}:9093/api/v2/status", auth=prom, timeout=5).status_code == 401
    assert lab.http.get(f"{EDGE}:9090/api/v1/status/buildinfo", auth=am, timeout=5).status_code == 401


@pytest.mark.parametrize("path", ["/loki/api/v1/query?query=%7Bjob%3D%22nginx%22%7D",
                                  "/loki/api/v1/query_range?query=%7Bjob%3D%22nginx%22%7D",
                                  "/loki/api/v1/labels", "/loki/api/v1/tail", "/ready", "/metrics",
                                  "/config"])
def test_loki_query_api_is_not_reachable_through_3100(lab, path):
    lab.require("edge")
    agents = login(lab, "LOKI_PUSH_USER", "LOKI_PUSH_PASSWORD")
    for auth in (None, agents):
        assert lab.http.get(f"{EDGE}:3100{path}", auth=auth, timeout=5).status_code == 404
    # Only POST/OPTIONS exist on the push path.
    assert lab.http.get(f"{EDGE}:3100/loki/api/v1/push", auth=agents, timeout=5).status_code == 405


def push_body(labels: dict, line: dict) -> str:
    return json.dumps({"streams": [{"stream": labels,
                                    "values": [[str(time.time_ns()), json.dumps(line)]]}]})


def arrived(lab, marker: str) -> dict:
    found = lab.loki_find(marker)
    assert found, f"no push with {marker!r} reached Loki within 20 s"
    return found[0]


def test_agent_push_needs_the_agents_login_and_reaches_loki_unchanged(lab):
    lab.require("edge")
    agents = login(lab, "LOKI_PUSH_USER", "LOKI_PUSH_PASSWORD")
    prom = login(lab, "PROMETHEUS_USER", "PROMETHEUS_PASSWORD")
    marker = f"agent-push-{time.time_ns()}"
    body = push_body({"job": "nginx", "logtype": "access", "site": "application"}, {"m": marker})
    headers = {"Content-Type": "application/json"}
    url = f"{EDGE}:3100/loki/api/v1/push"
    assert lab.http.post(url, data=body, headers=headers, timeout=5).status_code == 401
    assert lab.http.post(url, data=body, headers=headers, auth=(agents[0], "wrong"), timeout=5).status_code == 401
    assert lab.http.post(url, data=body, headers=headers, auth=prom, timeout=5).status_code == 401
    answer = lab.http.post(url, data=body, headers=headers, auth=agents, timeout=5)
    assert answer.status_code == 204, answer.text
    got = arrived(lab, marker)
    # Through the relay, which passes a JSON push on unread: labels as sent (real Loki may add
    # its own, e.g. service_name).
    assert {"job": "nginx", "logtype": "access", "site": "application"}.items() <= got["labels"].items()
    if got["headers"] is not None:   # the fake keeps the headers: no credentials inside
        assert "Authorization" not in got["headers"]
        assert len(lab.loki_find(marker, timeout=0)) == 1, "a refused push reached Loki"


def test_browser_push_goes_to_the_collector_which_rewrites_the_labels(lab):
    lab.require("edge")
    lab.require("collector")
    marker = f"browser-push-{time.time_ns()}"
    # A browser would send an Origin; it needs no credentials and may not choose its labels.
    labels = {"app": "backend", "job": "nginx", "kind": "error", "env": "lab", "secret_label": "x"}
    body = push_body(labels, {"kind": "error", "type": "error", "message": marker, "page": "/"})
    answer = lab.http.post(f"{EDGE}:3100/loki/api/v1/push", data=body, timeout=5,
                           headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": "http://application"})
    assert answer.status_code == 204, answer.text
    assert answer.headers.get("Access-Control-Allow-Origin") == "http://application"
    stream = arrived(lab, marker)["labels"]
    assert stream["app"] == "frontend" and stream["job"] == "frontend"
    assert stream.get("kind") == "error" and stream.get("env") == "lab"
    assert "secret_label" not in stream


def test_browser_preflight_is_answered_only_for_the_allowed_origin(lab):
    lab.require("edge")
    lab.require("collector")
    url = f"{EDGE}:3100/loki/api/v1/push"
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = lab.http.options(url, headers={**ask, "Origin": "http://application"}, timeout=5)
    assert allowed.status_code in (200, 204)
    assert allowed.headers.get("Access-Control-Allow-Origin") == "http://application"
    other = lab.http.options(url, headers={**ask, "Origin": "http://evil.example"}, timeout=5)
    assert "Access-Control-Allow-Origin" not in other.headers


def test_logger_js_is_served_on_3000_without_credentials(lab):
    lab.require("edge")
    lab.require("collector")
    answer = lab.http.get(f"{EDGE}:3000/logger.js", timeout=5)
    assert answer.status_code == 200
    assert "javascript" in answer.headers["Content-Type"]
    # The collector filled in its configured public push URL.
    assert lab.env["LOOKOUT_PUBLIC_PUSH_URL"] in answer.text
    assert lab.http.post(f"{EDGE}:3000/logger.js", timeout=5).status_code == 403


def test_grafana_door_on_3000(lab):
    lab.require("edge")
    lab.require("grafana")
    # Grafana's own login: the API refuses anonymous and wrong users, admits the admin.
    url = f"{EDGE}:3000/api/search"
    admin = (lab.env["GRAFANA_ADMIN_USER"], lab.env["GRAFANA_ADMIN_PASSWORD"])
    assert lab.http.get(url, timeout=5).status_code == 401
    assert lab.http.get(url, auth=(admin[0], "wrong"), timeout=5).status_code == 401
    assert lab.http.get(url, auth=admin, timeout=5).status_code == 200


# ---- TLS -----------------------------------------------------------------------------------

@pytest.mark.parametrize("port", [3000, 3100, 9090, 9093])
def test_every_door_speaks_tls_with_the_certificate_init_made(lab, port):
    lab.require("edge")
    context = ssl.create_default_context(cafile=str(lab.ca))   # hostname checked, TLS 1.2+ only
    with socket.create_connection(("monitoring-host", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="monitoring-host") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
            names = [value for kind, value in tls.getpeercert()["subjectAltName"]]
    assert "monitoring-host" in names
    # A client with only the system's roots refuses the lab's private CA.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{EDGE}:{port}/", timeout=5)


@pytest.mark.parametrize("port,path", [(3100, "/loki/api/v1/push"), (9090, "/api/v1/status/buildinfo"),
                                       (9093, "/api/v2/status")])
def test_plain_http_is_refused_on_the_api_doors(lab, port, path):
    lab.require("edge")
    answer = requests.get(f"http://monitoring-host:{port}{path}", timeout=5, allow_redirects=False)
    assert answer.status_code == 400
    assert "The plain HTTP request was sent to HTTPS port" in answer.text


def test_plain_http_on_the_grafana_door_redirects_and_https_has_hsts(lab):
    lab.require("edge")
    answer = requests.get("http://monitoring-host:3000/logger.js", timeout=5, allow_redirects=False)
    assert answer.status_code == 301
    assert answer.headers["Location"] == "https://monitoring-host:3000/logger.js"
    secure = lab.http.get(f"{EDGE}:3000/logger.js", timeout=5)
    assert secure.headers.get("Strict-Transport-Security") == "max-age=63072000"
