"""(a) Monitoring up: real Chromium loads a page through nginx with the shipped loader; the
logger comes from a recording endpoint that serves it like the collector (push URL literal
rewritten) and answers CORS like the collector. Events must arrive as correct Loki push JSON."""
import json
import re

import pytest

import logger_harness as h

KINDS = {"pageload", "vitals", "error"}
FIELDS = {
    "pageload": {"kind": str, "ttfb": int, "dcl": int, "load": int, "dns": int, "tcp": int, "tls": int,
                 "transfer_size": int, "nav_type": str, "page": str},
    "error": {"kind": str, "type": str, "message": str, "source": str, "line": int, "col": int, "stack": str, "page": str},
}


def decode(push: dict) -> list[tuple[dict, str, dict]]:
    """Checks one push against the Loki push shape and returns (labels, timestamp, line)."""
    doc = json.loads(push["body"])
    assert set(doc) == {"streams"} and doc["streams"], doc
    out = []
    for stream in doc["streams"]:
        assert set(stream) == {"stream", "values"}
        labels = stream["stream"]
        assert labels["app"] == "frontend" and labels["kind"] in KINDS and set(labels) <= {"app", "kind", "env", "release"}
        assert stream["values"], stream
        for value in stream["values"]:
            assert isinstance(value, list) and len(value) == 2
            ts, line = value
            assert isinstance(ts, str) and re.fullmatch(r"\d{19}", ts), ts
            assert isinstance(line, str)
            event = json.loads(line)
            assert event["kind"] == labels["kind"]
            out.append((labels, ts, event))
    # One stream per kind in a push.
    kinds = [s["stream"]["kind"] for s in doc["streams"]]
    assert len(kinds) == len(set(kinds))
    return out


def events(endpoint, kind=None):
    found = [e for p in endpoint.pushes() for (_, _, e) in decode(p)]
    return [e for e in found if kind is None or e["kind"] == kind]


@pytest.fixture
def up(site):
    root, nginx = site
    endpoint = h.RecordingEndpoint([nginx.origin]).start()
    yield root, nginx, endpoint
    endpoint.stop()


def test_events_arrive_as_loki_push_json(browser, up):
    root, nginx, endpoint = up
    page = h.write_page(root, "up.html", h.loader_snippet(endpoint.base + "/logger.js"))
    browser.get(nginx.origin + page)

    # pageload: once per view, numbers read from the navigation entry.
    pageloads = h.wait_until(lambda: events(endpoint, "pageload"), 10)
    assert pageloads, "no pageload event arrived"
    assert len(pageloads) == 1
    pl = pageloads[0]
    for key, typ in FIELDS["pageload"].items():
        assert isinstance(pl[key], typ), (key, pl)
    assert pl["page"] == page and pl["nav_type"] == "navigate"
    assert 0 <= pl["ttfb"] <= pl["dcl"] <= pl["load"] < 10000
    assert pl["transfer_size"] > 0

    # The JSON push went through a CORS preflight that the endpoint granted.
    first = endpoint.pushes()[0]
    assert first["headers"]["Content-Type"].startswith("application/json")
    assert first["headers"]["Origin"] == nginx.origin
    assert any(r["method"] == "OPTIONS" for r in endpoint.requests)

    # A thrown error from a click, a failed image added later, and one that failed before the
    # logger arrived (buffered by the loader snippet).
    browser.find_element("id", "boom").click()
    browser.find_element("id", "broken").click()
    browser.find_element("id", "boom").click()  # identical: deduplicated
    errors = h.wait_until(lambda: len(events(endpoint, "error")) >= 3 and events(endpoint, "error"), 10)
    assert errors, events(endpoint)
    for e in errors:
        for key, typ in FIELDS["error"].items():
            assert isinstance(e[key], typ), (key, e)
        assert e["page"] == page
    thrown = [e for e in errors if e["type"] == "error"]
    assert len(thrown) == 1, errors
    assert "boom from button" in thrown[0]["message"]
    assert thrown[0]["source"] == nginx.origin + page and thrown[0]["line"] > 0 and thrown[0]["col"] > 0
    assert "boom from button" in thrown[0]["stack"]
    resources = sorted(e["source"] for e in errors if e["type"] == "resource")
    assert resources == [nginx.origin + "/missing-at-start.svg", nginx.origin + "/missing-later.svg"]

    # Leaving the page: vitals go out with sendBeacon as text/plain (no preflight possible).
    browser.get("about:blank")
    vitals = h.wait_until(lambda: events(endpoint, "vitals"), 10)
    assert vitals, "no vitals event on page hide"
    v = vitals[0]
    assert v["page"] == page
    assert isinstance(v["lcp"], int) and 0 < v["lcp"] < 10000
    assert isinstance(v["cls"], (int, float)) and v["cls"] >= 0
    assert isinstance(v["inp"], int) and v["inp"] >= 0, "the clicks are interactions"
    beacon = [p for p in endpoint.pushes() if "vitals" in p["body"].decode()][0]
    assert beacon["headers"]["Content-Type"].startswith("text/plain")

    # The page's own detectors saw only the deliberate error; nothing came from the logger.
    log = browser.get_log("browser")
    uncaught = [e["message"] for e in log if "Uncaught" in e["message"] and "boom from button" not in e["message"]]
    assert uncaught == []
