"""Stop the application's nginx → LookoutSiteDown email naming the probed URL; start it →
the resolved email. Measures how long detection took (docs/lab.md)."""
import json
import re
import time

TARGET = "http://application:80"


def test_site_down_email_then_resolved(lab):
    lab.require("nginx")
    lab.require("alertmanager")
    lab.wait_steadily_up(("blackbox-http",), ("LookoutSiteDown",), timeout=90)
    stopped = time.time()
    lab.lab_command("stop", "nginx")
    try:
        firing = lab.wait_alert_mail("LookoutSiteDown", "FIRING", timeout=240, after=stopped)
    finally:
        restarted = time.time()
        lab.lab_command("start", "nginx")
    detection = firing["received_at"] - stopped
    body = lab.mail_text(firing)
    assert TARGET in body, body
    assert "site application" in body or "site=application" in body, body
    assert "docs/runbook.md#lookoutsitedown" in body, body
    # The link works as shipped: the edge serves the runbook with that section.
    link = re.search(r"https?://\S+docs/runbook\.md#lookoutsitedown", body).group(0)
    page = lab.http.get(link.split("#")[0], timeout=10)
    assert page.status_code == 200 and 'id="lookoutsitedown"' in page.text, link
    assert firing["to"] == [lab.env["ALERT_EMAIL_TO"]]
    # Delivered the way the real relay would be used: STARTTLS and SMTP AUTH as configured.
    assert firing["tls"] and firing["auth_user"] == lab.env["SMTP_AUTH_USERNAME"]

    resolved = lab.wait_alert_mail("LookoutSiteDown", "RESOLVED", timeout=120, after=restarted)
    assert TARGET in lab.mail_text(resolved)
    lab.timeline["site_down_detection_s"] = detection
    lab.timeline["site_down_resolved_s"] = resolved["received_at"] - restarted
    # The numbers go into docs/lab.md by hand; keep them visible in the test output.
    print(json.dumps({"site_down_detection_s": round(detection, 1),
                      "resolved_after_restart_s": round(resolved["received_at"] - restarted, 1)}))
