"""The lab's .env, secrets and certificates — generated per lab, never the operator's. The edge
speaks TLS, as deployed (EDGE_SCHEME=https), with a certificate `lookout init --tls` makes.

Compose reads deploy/monitoring/.env; the lab renders the compose files with its own env file
(from .env.example, secrets replaced by random values) so a developer's real .env and secrets
are never read or touched.
"""
from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from pathlib import Path

from .settings import REPO, Lab

MONITORING = REPO / "deploy" / "monitoring"
ENV_EXAMPLE = MONITORING / ".env.example"
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN", re.I)
# Lab-specific values: the browser reaches the monitoring host by its lab name, and the demo
# page's origin is http://application inside the lab, or the published port on this host.
LAB_VALUES = {
    "LOOKOUT_PUBLIC_PUSH_URL": "https://monitoring-host:3100/loki/api/v1/push",
    "LOOKOUT_ALLOWED_ORIGINS": "http://application,http://localhost:8080,http://127.0.0.1:8080",
    # TLS at the edge, as deployed: the lab's certificate is made by `lookout init --tls`.
    "EDGE_SCHEME": "https",
    "EDGE_TLS_SERVER_NAME": "monitoring-host",
}
# Names the edge's certificate is for: the lab's name for the monitoring host, the service's
# own name, and this host's loopback for the ports lab/up publishes.
EDGE_TLS_NAMES = ["monitoring-host", "edge", "localhost", "127.0.0.1"]
LOOKOUT = REPO / ".build" / "debug" / "lookout"


def parse_env(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def values(lab: Lab) -> dict[str, str]:
    env_file = lab.run_dir / "env"
    return parse_env(env_file.read_text()) if env_file.exists() else {}


def prepare(lab: Lab) -> Path:
    """Write <run>/env once per lab (kept across up/down, like a real .env)."""
    env_file = lab.run_dir / "env"
    if env_file.exists():
        env = parse_env(env_file.read_text())
        # Settings added to .env.example since this lab's env was written, as `lookout init` adds them.
        example = parse_env(ENV_EXAMPLE.read_text()) if ENV_EXAMPLE.exists() else {}
        added = {k: LAB_VALUES.get(k, v) for k, v in example.items() if k not in env and not SECRET_KEY.search(k)}
        if added:
            env.update(added)
            env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        write_secrets(lab, env)   # secrets/ always follows env
        return env_file
    example = parse_env(ENV_EXAMPLE.read_text()) if ENV_EXAMPLE.exists() else {}
    env = {}
    for key, value in example.items():
        # Letters and digits only: LOKI_PUSH_PASSWORD goes into a URL (user:password@host).
        env[key] = secrets.token_hex(16) if SECRET_KEY.search(key) else value
    for key, value in LAB_VALUES.items():
        if key in env or not example:
            env[key] = value
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    env_file.chmod(0o600)
    write_secrets(lab, env)
    return env_file


# The edge's htpasswd files (deploy/monitoring/secrets/README.md) and who is in each.
HTPASSWD_USERS = {
    "prometheus.htpasswd": ("PROMETHEUS_USER", "PROMETHEUS_PASSWORD"),
    "alertmanager.htpasswd": ("ALERTMANAGER_USER", "ALERTMANAGER_PASSWORD"),
    "agents.htpasswd": ("LOKI_PUSH_USER", "LOKI_PUSH_PASSWORD"),
}


def write_secrets(lab: Lab, env: dict[str, str]) -> None:
    """secrets/ as `lookout init` would write it, from the lab's own env values."""
    import bcrypt

    edge = lab.dir("secrets", "edge")
    for filename, (user_key, password_key) in HTPASSWD_USERS.items():
        user, password = env.get(user_key), env.get(password_key)
        if not user or not password:
            continue
        # Low cost, as the README advises: nginx checks the hash on every request.
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
        (edge / filename).write_text(f"{user}:{hashed}\n")
        (edge / filename).chmod(0o644)
    # The placeholder password of the prompt; the lab SMTP sink accepts any.
    smtp = lab.dir("secrets") / "smtp_password"
    smtp.write_text("pass")   # no newline: Alertmanager < 0.27 would send it as part of the password
    smtp.chmod(0o644)
    if env.get("EDGE_SCHEME", "https") == "https":
        edge_certificate(lab, env)


# Written into the lab's .env at every lab/up, for `lookout doctor` (not read by compose): its
# hints then name the lab's commands, and what the lab could not start is skipped, not failed.
RUNTIME_KEYS = ("LOOKOUT_RUNTIME", "LOOKOUT_LAB_RUN", "LOOKOUT_NOT_RUNNING")


def record_runtime(lab: Lab, not_running: dict[str, str]) -> None:
    env_file = lab.run_dir / "env"
    kept = [line for line in env_file.read_text().splitlines() if line.partition("=")[0] not in RUNTIME_KEYS]
    reasons = ";".join(f"{name}={why.replace(';', ',')}" for name, why in sorted(not_running.items()))
    kept += [f"LOOKOUT_RUNTIME=lab", f"LOOKOUT_LAB_RUN={lab.run_dir}", f"LOOKOUT_NOT_RUNNING={reasons}"]
    env_file.write_text("\n".join(kept) + "\n")


def edge_ca(lab: Lab) -> Path:
    """The CA the edge's certificate comes from: what the tests, Chromium and doctor trust, at
    the path `lookout init --tls` gives it (the demo's application-host Promtail mounts it)."""
    return lab.dir("secrets", "ca") / "lookout-ca.crt"


def edge_certificate(lab: Lab, env: dict[str, str]) -> None:
    """secrets/tls/{fullchain,privkey}.pem for the edge, made the way an operator makes them:
    `lookout init --tls` on a scratch copy of the lab's env (its CA is kept there across ups,
    as a deployment keeps secrets/ca/), the CA certificate copied to secrets/ca/."""
    if not LOOKOUT.exists():
        raise SystemExit(f"lab: {LOOKOUT} missing: run `swift build` first "
                         "(`lookout init --tls` makes the edge's certificate; the collector is the same binary)")
    scratch = lab.dir("edge-tls-init")
    (scratch / ".env.example").write_text(ENV_EXAMPLE.read_text())
    scratch_env = scratch / ".env"
    scratch_env.touch(mode=0o600)
    scratch_env.chmod(0o600)   # the lab's secrets are in it, as in <run>/env
    scratch_env.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    names = [a for n in EDGE_TLS_NAMES for a in ("--tls-name", n)]
    done = subprocess.run([str(LOOKOUT), "init", "--dir", str(scratch), "--tls", *names],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"lab: lookout init --tls failed for the edge's certificate:\n{done.stderr}{done.stdout}")
    target = lab.dir("secrets", "tls")
    for name in ("fullchain.pem", "privkey.pem"):
        shutil.copyfile(scratch / "secrets" / "tls" / name, target / name)
    (target / "privkey.pem").chmod(0o600)
    shutil.copyfile(scratch / "secrets" / "ca" / "lookout-ca.crt", edge_ca(lab))


def path_map(lab: Lab) -> dict[str, str]:
    """Host paths in compose volumes that the lab replaces (the container paths stay)."""
    demo_data = lab.dir("demo-data")
    logs = {name: lab.dir("demo-data", "logs", name) for name in ("nginx", "app", "redis")}
    return {
        str(MONITORING / "secrets"): str(lab.dir("secrets")),
        str(REPO / "deploy" / "demo" / "data"): str(demo_data),
        # The monitoring host's NFS mounts of the application's log folders.
        "/mnt/nginx-logs": str(logs["nginx"]),
        "/mnt/app-logs": str(logs["app"]),
        "/mnt/redis-logs": str(logs["redis"]),
    }


def certificates(lab: Lab, names: list[str]) -> tuple[Path, Path, Path]:
    """A lab CA and a server certificate for `names` (the SMTP sink's STARTTLS)."""
    d = lab.dir("tls")
    ca_key, ca_crt = d / "ca.key", d / "ca.crt"
    key, crt = d / "server.key", d / "server.crt"
    if not ca_crt.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                        "-subj", f"/CN=Lookout lab CA {lab.name}", "-keyout", str(ca_key), "-out", str(ca_crt)],
                       check=True, capture_output=True)
    sans = ",".join(f"DNS:{n}" for n in names)
    ext = d / "server.ext"
    ext.write_text(f"subjectAltName={sans}\nextendedKeyUsage=serverAuth\n")
    csr = d / "server.csr"
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={names[0]}",
                    "-keyout", str(key), "-out", str(csr)], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key),
                    "-CAcreateserial", "-days", "30", "-extfile", str(ext), "-out", str(crt)],
                   check=True, capture_output=True)
    return ca_crt, crt, key
