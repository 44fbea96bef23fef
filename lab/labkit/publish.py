"""Publish lab ports on this host, like compose `ports:` (python3 -m labkit.publish HUB PAIRS…).

Each PAIR is HOST_IP:PORT=SERVICE_IP:PORT. The listening sockets are opened here, in the host's
network namespace; then the process moves into the lab hub, so every outgoing connection to a
service is made inside the lab. A port already in use is reported and skipped.
"""
from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import sys

CLONE_NEWNET = 0x40000000


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


def forwarder(target_host: str, target_port: int):
    async def handle(reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(target_host, target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
    return handle


async def serve(listeners) -> None:
    servers = [await asyncio.start_server(forwarder(h, p), sock=s) for s, h, p in listeners]
    await asyncio.gather(*(srv.serve_forever() for srv in servers))


def main() -> None:
    hub, pairs = sys.argv[1], sys.argv[2:]
    listeners = []
    for pair in pairs:
        local, remote = pair.split("=")
        lhost, lport = local.rsplit(":", 1)
        rhost, rport = remote.rsplit(":", 1)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((lhost, int(lport)))
        except OSError as err:
            print(f"publish: {local} not published: {err}", flush=True)
            sock.close()
            continue
        sock.listen(128)
        sock.setblocking(False)
        listeners.append((sock, rhost, int(rport)))
        print(f"publish: {local} → {remote}", flush=True)
    fd = os.open(f"/run/netns/{hub}", os.O_RDONLY)
    if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
        raise SystemExit(f"publish: setns into {hub} failed: {os.strerror(ctypes.get_errno())}")
    os.close(fd)
    if listeners:
        asyncio.run(serve(listeners))


if __name__ == "__main__":
    main()
