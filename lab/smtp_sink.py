#!/usr/bin/env python3
"""The lab's mail catcher: an SMTP server (aiosmtpd) that keeps every message it receives.

It stands in for the real mail relay at the smarthost's name, so Alertmanager's configuration
stays as written: it offers STARTTLS with a certificate from the lab's own CA (trusted only
inside the lab's Alertmanager) and accepts AUTH PLAIN, recording the user name. Each
message is saved as `<n>.eml` plus one JSON line in `index.jsonl`; `lab/mail` lists them.
"""
from __future__ import annotations

import argparse
import json
import ssl
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

LOCK = threading.Lock()


class Keeper:
    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        with LOCK:
            n = len(list(self.folder.glob("*.eml"))) + 1
            (self.folder / f"{n:05d}.eml").write_bytes(envelope.original_content or envelope.content)
            msg = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
            entry = {
                "n": n, "received_at": time.time(), "from": envelope.mail_from,
                "to": envelope.rcpt_tos, "subject": str(msg.get("Subject", "")),
                "tls": session.ssl is not None,
                "auth_user": _auth_user(session),
            }
            with open(self.folder / "index.jsonl", "a") as f:
                f.write(json.dumps(entry) + "\n")
        print(f"smtp-sink: #{n} {entry['subject']!r} to {envelope.rcpt_tos}", flush=True)
        return "250 Message accepted for delivery"


def _auth_user(session) -> str | None:
    data = getattr(session, "auth_data", None)
    if isinstance(data, LoginPassword):
        return data.login.decode(errors="replace")
    return None


def accept_any(server, session, envelope, mechanism, auth_data) -> AuthResult:
    # The sink is not a security boundary; it records who logged in so tests can check it.
    return AuthResult(success=True, auth_data=auth_data)


def main() -> None:
    parser = argparse.ArgumentParser(description="lab SMTP sink")
    parser.add_argument("--folder", required=True)
    parser.add_argument("--ports", default="25,587,1025")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    tls = None
    if args.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.cert, args.key)
    keeper = Keeper(Path(args.folder))
    controllers = []
    for port in (int(p) for p in args.ports.split(",")):
        c = Controller(keeper, hostname="0.0.0.0", port=port, tls_context=tls,
                       require_starttls=False, authenticator=accept_any, auth_required=False,
                       auth_require_tls=False, server_hostname="lab-smtp-sink",
                       # aiosmtpd's LOGIN prompts ("User Name\0") are not the "Username:" Go's
                       # net/smtp clients (Alertmanager) expect; offer PLAIN, as most relays do.
                       auth_exclude_mechanism=["LOGIN"])
        c.start()
        controllers.append(c)
    print(f"smtp-sink: listening on {args.ports}, STARTTLS {'on' if tls else 'off'}, saving to {args.folder}", flush=True)
    try:
        threading.Event().wait()
    finally:
        for c in controllers:
            c.stop()


if __name__ == "__main__":
    main()
