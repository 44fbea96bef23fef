"""The collector's agent relay (`lookout serve`, POST /agents/loki/api/v1/push) as a real
process between agents and a recording stand-in for Loki's push endpoint.

The pushes are built the way Promtail builds them, but with other implementations than the
relay's: Google's Python protobuf runtime (code generated at test time from
Protos/loki-push.proto by grpcio-tools' protoc) and cramjam's snappy. So the relay is shown to
read and write the wire format, not only to agree with itself. The real Promtails and the
real Loki meet the relay in lab test 65 (docs/lab.md).
"""
from __future__ import annotations

import importlib
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cramjam
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prom_helpers import REPO, free_port, running  # noqa: E402

LOOKOUT_BIN = REPO / ".build" / "debug" / "lookout"
PROTO = REPO / "Protos" / "loki-push.proto"
LABELS = '{job="nginx", logtype="access", site="application"}'

pytestmark = pytest.mark.skipif(not LOOKOUT_BIN.exists(), reason="lookout is not built (the swift stage builds it)")


@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    """Python classes for Protos/loki-push.proto, generated now (nothing generated is committed)."""
    from grpc_tools import protoc
    import grpc_tools
    out = tmp_path_factory.mktemp("pb")
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    code = protoc.main(["protoc", f"-I{PROTO.parent}", f"-I{well_known}", f"--python_out={out}", PROTO.name])
    assert code == 0, "protoc could not compile Protos/loki-push.proto"
    sys.path.insert(0, str(out))
    try:
        return importlib.import_module("loki_push_pb2")
    finally:
        sys.path.remove(str(out))


class FakeLoki:
    """Answers pushes with the next scripted status (then 204) and keeps each 2xx body."""

    def __init__(self):
        self.bodies: list[tuple[dict, bytes]] = []
        self.statuses: list[int] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = fake.statuses.pop(0) if fake.statuses else 204
                if status < 300:
                    fake.bodies.append(({k.lower(): v for k, v in self.headers.items()}, body))
                reply = b"" if status == 204 else f"fake loki says {status}\n".encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def relay(tmp_path):
    loki = FakeLoki()
    base = f"http://127.0.0.1:{free_port()}"
    cmd = [str(LOOKOUT_BIN), "serve", f"--listen={base.removeprefix('http://')}", f"--loki-url={loki.url}",
           f"--logger-js={REPO / 'frontend/logger/logger.min.js'}"]
    try:
        with running(cmd, f"{base}/health", tmp_path / "serve.log"):
            yield base, loki
    finally:
        loki.server.shutdown()


def relay_entries(base: str) -> dict[str, float]:
    """lookout_relay_entries_total by outcome, read with prometheus_client's parser."""
    text = requests.get(f"{base}/metrics", timeout=5).text
    return {sample.labels["outcome"]: sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples
            if sample.name == "lookout_relay_entries_total"}


def push(pb, entries: list[tuple[int, str]], labels: str = LABELS) -> bytes:
    request = pb.PushRequest()
    stream = request.streams.add()
    stream.labels = labels.encode()
    for nanoseconds, line in entries:
        entry = stream.entries.add()
        entry.timestamp.seconds, entry.timestamp.nanos = divmod(nanoseconds, 10**9)
        entry.line = line.encode()
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))


def lines(pb, body: bytes) -> list[str]:
    request = pb.PushRequest.FromString(bytes(cramjam.snappy.decompress_raw(body)))
    return [entry.line.decode() for stream in request.streams for entry in stream.entries]


PROTOBUF = {"Content-Type": "application/x-protobuf", "User-Agent": "promtail/3.6.11"}
PUSH = "/agents/loki/api/v1/push"


def test_each_line_pushed_by_both_promtails_reaches_loki_once(pb, relay):
    base, loki = relay
    url = base + PUSH
    now = time.time_ns()
    batch = [(now + i, f'{{"path":"/api/{i}","status":"200"}}') for i in range(50)]
    # Road one sends the first 30 lines, road two all 50 (its batch overlaps), then road one the rest.
    for body in (push(pb, batch[:30]), push(pb, batch), push(pb, batch[30:])):
        answer = requests.post(url, data=body, headers=PROTOBUF, timeout=5)
        assert answer.status_code == 204, answer.text
    received = [line for _, body in loki.bodies for line in lines(pb, body)]
    assert received == [line for _, line in batch], "every line once, in order"
    assert len(loki.bodies) == 2, "the third push was all copies and never reached Loki"
    assert all(headers["content-type"] == "application/x-protobuf" for headers, _ in loki.bodies)


def test_a_push_loki_refused_is_relayed_again_when_the_agent_retries(pb, relay):
    base, loki = relay
    url = base + PUSH
    loki.statuses = [500]
    body = push(pb, [(time.time_ns(), "retried line")])
    first = requests.post(url, data=body, headers=PROTOBUF, timeout=5)
    assert (first.status_code, first.text) == (500, "fake loki says 500\n"), "Loki's answer goes back as it is"
    assert requests.post(url, data=body, headers=PROTOBUF, timeout=5).status_code == 204
    assert [lines(pb, b) for _, b in loki.bodies] == [["retried line"]]


def test_the_relay_counts_what_it_left_out(pb, relay):
    base, _ = relay
    body = push(pb, [(time.time_ns(), "counted")])
    for _ in range(3):
        requests.post(base + PUSH, data=body, headers=PROTOBUF, timeout=5)
    assert relay_entries(base) == {"forwarded": 1, "duplicate": 2}


@pytest.mark.parametrize("value,message", [
    ("-5", "LOOKOUT_DEDUP_WINDOW=-5: expected a whole number from 0 to 86400"),
    ("an hour", "LOOKOUT_DEDUP_WINDOW=an hour: expected a whole number from 0 to 86400"),
])
def test_a_bad_window_stops_the_start_with_a_clear_message(value, message):
    result = subprocess.run([str(LOOKOUT_BIN), "serve", "--listen=127.0.0.1:0",
                             f"--logger-js={REPO / 'frontend/logger/logger.min.js'}"],
                            env={"LOOKOUT_DEDUP_WINDOW": value, "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 64
    assert message in result.stderr
