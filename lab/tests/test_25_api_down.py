"""Stop the demo's backend while its nginx keeps serving the page: the uptime check stays up,
the API check (job blackbox-api, module api_json) fails, LookoutApiDown is emailed and
LookoutSiteDown is not; start it → the resolved email. Measures detection (docs/lab.md)."""
import json
import time

API_TARGET = "http://application:80/api/health"


def test_backend_down_behind_a_live_page_emails_api_down_not_site_down(lab):
    for service in ("nginx", "backend", "alertmanager"):
        lab.require(service)
    lab.wait_steadily_up(("blackbox-api", "blackbox-http"), ("LookoutApiDown", "LookoutSiteDown"), timeout=120)
    stopped = time.time()
    lab.lab_command("stop", "backend")
    try:
        firing = lab.wait_alert_mail("LookoutApiDown", "FIRING", timeout=240, after=stopped)
        # The page itself kept answering 200 all along: the uptime check saw nothing.
        assert lab.query('min_over_time(probe_success{job="blackbox-http"}[2m]) == 1'), "the page went down too"
    finally:
        restarted = time.time()
        lab.lab_command("start", "backend")
    detection = firing["received_at"] - stopped
    body = lab.mail_text(firing)
    assert API_TARGET in body, body
    assert "docs/runbook.md#lookoutapidown" in body, body
    assert firing["subject"] == "[FIRING:1] LookoutApiDown (application)"

    resolved = lab.wait_alert_mail("LookoutApiDown", "RESOLVED", timeout=180, after=restarted)
    assert API_TARGET in lab.mail_text(resolved)
    site_mails = [m for m in lab.mails() if m["received_at"] >= stopped and "LookoutSiteDown" in m["subject"]]
    assert site_mails == [], [m["subject"] for m in site_mails]
    lab.timeline["api_down_detection_s"] = detection
    lab.timeline["api_down_resolved_s"] = resolved["received_at"] - restarted
    print(json.dumps({"api_down_detection_s": round(detection, 1),
                      "resolved_after_restart_s": round(resolved["received_at"] - restarted, 1)}))
