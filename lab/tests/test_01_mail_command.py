"""`lab/mail N` shows an alert email as the operator's mail program would: decoded, not as the
quoted-printable the SMTP sink stored (`alertname=3DLookoutSiteDown`, `=` soft line breaks).
Needs no running lab: it reads a lab's mail folder."""
from __future__ import annotations

import json
import os
import subprocess
from email.message import EmailMessage
from pathlib import Path

LAB = Path(__file__).resolve().parents[1]
BODY = ("[FIRING:1] LookoutSiteDown http://application:80\n"
        "alertname=LookoutSiteDown instance=http://application:80 severity=critical "
        "summary=The application does not answer HTTP 200. " + "x" * 120 + "\n")


def write_mail(run: Path) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "lookout@example.com", "ops@example.com", "[FIRING:1] LookoutSiteDown"
    msg.set_content(BODY, cte="quoted-printable")
    mail = run / "mail"
    mail.mkdir(parents=True)
    (mail / "00001.eml").write_bytes(bytes(msg))
    (mail / "index.jsonl").write_text(json.dumps({"n": 1, "received_at": 0, "to": ["ops@example.com"],
                                                  "subject": msg["Subject"], "tls": True}) + "\n")


def lab_mail(run: Path, *args: str) -> str:
    env = {**os.environ, "LOOKOUT_LAB_NAME": "lkmail", "LOOKOUT_LAB_RUN": str(run)}
    done = subprocess.run([str(LAB / "mail"), *args], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_mail_n_is_decoded(tmp_path):
    write_mail(tmp_path)
    raw = lab_mail(tmp_path, "1", "--raw")
    assert "alertname=3DLookoutSiteDown" in raw            # what is stored: quoted-printable
    shown = lab_mail(tmp_path, "1")
    assert "Subject: [FIRING:1] LookoutSiteDown" in shown
    assert "alertname=LookoutSiteDown instance=http://application:80" in shown
    assert "=3D" not in shown and "x" * 120 in shown       # soft line breaks joined
