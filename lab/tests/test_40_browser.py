"""The demo page in real headless Chromium → loader → logger.js from the edge over HTTPS → push
through the edge over HTTPS → collector → Loki (the recording fake when Loki is not installed),
with the labels the collector sets; and the collector's real-user histograms move."""
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def trusting_home(ca: Path, home: Path) -> dict[str, str]:
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    certutil = shutil.which("certutil")
    if not certutil:
        pytest.fail("certutil (libnss3-tools) is not installed: scripts/install-deps installs it")
    subprocess.run([certutil, "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True)
    subprocess.run([certutil, "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "lookout-lab-ca", "-i", str(ca)], check=True)
    return {**os.environ, "HOME": str(home)}


def collector_metrics() -> dict[str, float]:
    text = requests.get("http://collector:8081/metrics", timeout=5).text
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[sample.name] = values.get(sample.name, 0.0) + sample.value
    return values


@pytest.fixture
def browser(lab, tmp_path):
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip("chromium / chromedriver not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    # The edge speaks TLS with the lab's private CA: the browser trusts it as an operator's
    # would (the CA in its NSS database), nothing is ignored.
    env = trusting_home(lab.ca, tmp_path / "home")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, env=env), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def events(lab, text: str, timeout: float, since: float) -> list[dict]:
    found = lab.loki_find(text, timeout=timeout, since=since)
    return [{"labels": s["labels"], "line": json.loads(line)} for s in found for line in s["lines"]]


def test_frontend_events_reach_loki_with_collector_labels_and_histograms_move(lab, browser):
    lab.require("nginx")
    lab.require("edge")
    lab.require("collector")
    before = collector_metrics()
    started = time.time()
    browser.get("http://application/")
    assert "Lookout demo" in browser.title
    # The loader fetched logger.js from the edge over HTTPS (the page itself is the app's http).
    logger = "https://monitoring-host:3000/logger.js"
    deadline = time.time() + 10
    while not browser.execute_script("return performance.getEntriesByName(arguments[0]).length", logger) and time.time() < deadline:
        time.sleep(0.2)
    assert browser.execute_script("return performance.getEntriesByName(arguments[0]).length", logger), \
        f"logger.js not loaded from {logger}: {browser.get_log('browser')}"
    # The page works (the API through the application's nginx).
    browser.find_element("id", "fast").click()
    deadline = time.time() + 10
    while "HTTP 200" not in browser.find_element("id", "out").text and time.time() < deadline:
        time.sleep(0.2)
    assert "HTTP 200" in browser.find_element("id", "out").text

    pageloads = [e for e in events(lab, '"pageload"', timeout=25, since=started)
                 if e["line"].get("kind") == "pageload"]
    assert pageloads, "no pageload event arrived"
    event = pageloads[0]
    assert event["labels"]["app"] == "frontend" and event["labels"]["job"] == "frontend"
    assert event["labels"].get("kind") == "pageload"
    assert event["labels"].get("env") == "demo"   # the page's LookoutConfig label passed the collector
    assert event["line"]["load"] > 0 and event["line"]["ttfb"] >= 0 and event["line"]["dcl"] > 0

    browser.find_element("id", "js-error").click()
    errors = []
    deadline = time.time() + 25
    while not errors and time.time() < deadline:
        errors = [e for e in events(lab, "demo: button error", timeout=2, since=started)
                  if e["line"].get("kind") == "error"]
    assert errors, "the JS error did not arrive"
    assert errors[0]["labels"]["app"] == "frontend" and errors[0]["labels"].get("kind") == "error"
    assert errors[0]["line"]["page"] == "/"

    # Leaving the page sends the Web Vitals (sendBeacon, text/plain: no preflight).
    browser.get("about:blank")
    time.sleep(2)
    after = collector_metrics()
    for histogram in ("lookout_frontend_load_seconds_count", "lookout_frontend_ttfb_seconds_count",
                      "lookout_frontend_dom_content_loaded_seconds_count"):
        assert after.get(histogram, 0) >= before.get(histogram, 0) + 1, histogram
    assert after.get("lookout_frontend_js_errors_total", 0) >= before.get("lookout_frontend_js_errors_total", 0) + 1
    assert after.get("lookout_collector_events_forwarded_total", 0) > before.get("lookout_collector_events_forwarded_total", 0)
