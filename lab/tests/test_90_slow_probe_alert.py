"""The LookoutSlowProbe email, caused by test_10_slow_application.py: its P95 over 10 minutes
went above 2 s, and after the rule's `for: 5m` the alert fires."""
import time


def test_slow_probe_email_arrives(lab):
    lab.require("alertmanager")
    started = lab.timeline.get("slow_on")
    if started is None:
        import pytest
        pytest.skip("the application was not made slow (test_10_slow_application.py did not run)")
    # for: 5m after the P95 crosses 2 s, plus evaluation and delivery.
    remaining = started + 7 * 60 - time.time()
    mail = lab.wait_alert_mail("LookoutSlowProbe", "FIRING", timeout=max(remaining, 30), after=started)
    body = lab.mail_text(mail)
    assert "http://application:80" in body and "docs/runbook.md#lookoutslowprobe" in body, body
    lab.timeline["slow_probe_alert_after_slow_start_s"] = mail["received_at"] - started
