#!/usr/bin/env python3
"""Agent relay benchmark: what remembering accepted entries costs in memory, and how fast the
relay passes pushes on, against a release build of `lookout serve`.

    bench/relay/run.py            (env: ENTRIES=1000000 BATCH=1000 LOOKOUT_BIN=path to skip the build)

Loki is played by nginx answering 204 at once (as in bench/collector/run.sh), so the relay's
own work is measured: snappy, protobuf, hashing, the remembered-entries map, HTTP both ways.
Pushes are built like Promtail's (one stream, BATCH nginx-like JSON lines of about 200 bytes)
with Google's Python protobuf and cramjam's snappy, all before timing starts, and sent one at
a time from one client, as one Promtail sends them. Prints one line per measurement.
"""
from __future__ import annotations

import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cramjam
import requests

REPO = Path(__file__).resolve().parents[2]
ENTRIES = int(os.environ.get("ENTRIES", "1000000"))
BATCH = int(os.environ.get("BATCH", "1000"))
SCRATCH = os.environ.get("SCRATCH", ".build-release")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str) -> None:
    for _ in range(300):
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    sys.exit(f"bench: {url} did not come up")


def rss_kib(pid: int) -> int:
    return int(re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text()).group(1))


def protobuf_module(work: Path):
    from grpc_tools import protoc
    import grpc_tools
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    proto = REPO / "Protos" / "loki-push.proto"
    if protoc.main(["protoc", f"-I{proto.parent}", f"-I{well_known}", f"--python_out={work}", proto.name]) != 0:
        sys.exit("bench: protoc failed")
    sys.path.insert(0, str(work))
    import loki_push_pb2
    return loki_push_pb2


def pushes(pb, start_ns: int, count: int) -> list[bytes]:
    bodies = []
    for first in range(0, count, BATCH):
        request = pb.PushRequest()
        stream = request.streams.add()
        stream.labels = b'{job="nginx", logtype="access", site="application"}'
        for i in range(first, min(first + BATCH, count)):
            entry = stream.entries.add()
            entry.timestamp.seconds, entry.timestamp.nanos = divmod(start_ns + i * 1000, 10**9)
            entry.line = (b'{"time":"%d.%03d","remote_addr":"10.0.0.7","request_method":"GET","path":"/api/items/%d",'
                          b'"status":"200","request_time":"0.012","body_bytes_sent":"512","request_id":"%032x"}'
                          % (start_ns // 10**9, i % 1000, i, i))
        bodies.append(bytes(cramjam.snappy.compress_raw(request.SerializeToString())))
    return bodies


def metric(port: int, series: str) -> float:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    found = re.search(r"^%s (\S+)$" % re.escape(series), text, re.M)
    return float(found.group(1)) if found else 0.0


def main() -> None:
    os.chdir(REPO)
    if os.environ.get("LOOKOUT_BIN"):
        binary = os.environ["LOOKOUT_BIN"]
    else:
        print(f"== building (release, static Swift runtime as in the Dockerfile, scratch path {SCRATCH})", flush=True)
        subprocess.run(["swift", "build", "-c", "release", "--static-swift-stdlib", "--scratch-path", SCRATCH,
                        "--product", "lookout"], check=True, stdout=subprocess.DEVNULL)
        binary = f"{SCRATCH}/release/lookout"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pb = protobuf_module(work)
        loki_port, relay_port = free_port(), free_port()
        for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (work / folder).mkdir()
        (work / "nginx.conf").write_text(f"""
worker_processes 1; pid {work}/nginx.pid; error_log {work}/nginx-error.log; daemon off;
events {{ worker_connections 1024; }}
http {{ access_log off; client_body_temp_path {work}/body; proxy_temp_path {work}/proxy;
  fastcgi_temp_path {work}/fastcgi; uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi;
  client_max_body_size 16m; client_body_buffer_size 16m;
  server {{ listen 127.0.0.1:{loki_port}; location / {{ return 204; }} }} }}
""")
        procs = [subprocess.Popen(["nginx", "-c", str(work / "nginx.conf")])]
        procs.append(subprocess.Popen([binary, "serve", f"--listen=127.0.0.1:{relay_port}",
                                       f"--loki-url=http://127.0.0.1:{loki_port}",
                                       f"--logger-js={REPO / 'frontend/logger/logger.min.js'}",
                                       f"--dedup-max-entries={ENTRIES}", "--log-level=warning"]))
        try:
            wait_http(f"http://127.0.0.1:{relay_port}/health")
            url = f"http://127.0.0.1:{relay_port}/agents/loki/api/v1/push"
            headers = {"Content-Type": "application/x-protobuf", "User-Agent": "promtail/3.6.11"}
            session = requests.Session()
            bodies = pushes(pb, time.time_ns(), ENTRIES)
            payload = sum(map(len, bodies))
            print(f"machine: {platform.node()}, {os.cpu_count()} cores, {platform.platform()}; "
                  f"{ENTRIES} entries in {len(bodies)} pushes of {BATCH}, {payload / len(bodies) / 1024:.0f} KiB each (snappy)")
            session.post(url, data=pushes(pb, 0, 1)[0], headers=headers, timeout=30)   # connections, first allocations
            before = rss_kib(procs[1].pid)

            started = time.perf_counter()
            for body in bodies:
                answer = session.post(url, data=body, headers=headers, timeout=30)
                assert answer.status_code == 204, answer.text
            new_seconds = time.perf_counter() - started
            after = rss_kib(procs[1].pid)
            remembered = metric(relay_port, "lookout_relay_remembered_entries")
            assert remembered >= ENTRIES, f"remembered {remembered}, sent {ENTRIES}"

            started = time.perf_counter()
            for body in bodies:
                answer = session.post(url, data=body, headers=headers, timeout=30)
                assert answer.status_code == 204, answer.text
            copy_seconds = time.perf_counter() - started
            duplicates = metric(relay_port, 'lookout_relay_entries_total{outcome="duplicate"}')
            assert duplicates == ENTRIES, f"left out {duplicates} of {ENTRIES} copies"

            print(f"new entries (forwarded to Loki, then remembered): {ENTRIES / new_seconds:,.0f} entries/s, "
                  f"{new_seconds / len(bodies) * 1000:.2f} ms per push of {BATCH}")
            print(f"copies (all left out, Loki not asked): {ENTRIES / copy_seconds:,.0f} entries/s, "
                  f"{copy_seconds / len(bodies) * 1000:.2f} ms per push of {BATCH}")
            print(f"RSS {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB with {remembered:,.0f} remembered: "
                  f"{(after - before) * 1024 / remembered:.0f} bytes per remembered entry")
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(10)


if __name__ == "__main__":
    main()
