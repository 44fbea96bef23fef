"""Read what the lab SMTP sink received (lab/mail, and the tests)."""
from __future__ import annotations

import json
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from .settings import Lab


def folder(lab: Lab) -> Path:
    return lab.run_dir / "mail"


def messages(lab: Lab) -> list[dict]:
    index = folder(lab) / "index.jsonl"
    if not index.exists():
        return []
    return [json.loads(line) for line in index.read_text().splitlines() if line.strip()]


def load(lab: Lab, n: int) -> EmailMessage:
    return message_from_bytes((folder(lab) / f"{n:05d}.eml").read_bytes(), policy=policy.default)


def text_of(msg: EmailMessage) -> str:
    """Plain text of a message (the text/plain part, else the HTML part)."""
    part = msg.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part else ""


def readable(msg: EmailMessage) -> str:
    """The message as a mail program shows it: the main headers, then the decoded text
    (quoted-printable and base64 undone, soft line breaks joined)."""
    head = "\n".join(f"{name}: {msg[name]}" for name in ("Date", "From", "To", "Subject") if msg[name])
    return f"{head}\n\n{text_of(msg).rstrip()}\n"


def show(lab: Lab, number: int | None, raw: bool = False) -> int:
    found = messages(lab)
    if number is not None:
        if not any(m["n"] == number for m in found):
            print(f"lab mail: no message #{number} (there are {len(found)})")
            return 1
        path = folder(lab) / f"{number:05d}.eml"
        print(path.read_text(errors="replace") if raw else readable(load(lab, number)), end="")
        return 0
    if not found:
        print(f"lab mail: no messages yet in {folder(lab)}")
        return 0
    import time
    for m in found:
        when = time.strftime("%H:%M:%S", time.localtime(m["received_at"]))
        tls = "TLS" if m.get("tls") else "plain"
        print(f"#{m['n']:<4} {when}  {tls:<5} to {','.join(m['to'])}  {m['subject']}")
    return 0
