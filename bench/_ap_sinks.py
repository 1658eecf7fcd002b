"""Loopback fediverse servers for ``ap_fanout.py``: many inboxes that check every signature.

One asyncio process listens on ``count`` ports of 127.0.0.1, one port per simulated server
(its "domain" is ``127.0.0.1:<port>``, which is what copps' per-server bookkeeping keys on).
Every POST is checked as a real server would check it — ``copps.federation.httpsig``'s
``parse_request`` (syntax, Date within the window, body digest, what the signature covers) and
``verify`` with the sender's public key — and counted per inbox (port + path), with the
activity ids it carried, so duplicates show. A verified request is answered
``202 Accepted`` (as Mastodon does), anything else ``401``. The sender's key is handed over at
start (a file), as if the server had fetched the actor once and cached it.

The ports are written to ``<ports file>`` (JSON list) once all are listening; running totals go
to ``<state file>`` while requests arrive; on SIGTERM the per-inbox detail is written to
``<state file>.detail`` before the process exits.

    python bench/_ap_sinks.py <count> <ports file> <state file> <key id> <public key file>
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import socket
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from copps.federation import httpsig  # noqa: E402 (needs the path above; no Django)

IDLE_SECONDS = 15.0
MAX_HEAD = 16 * 1024
MAX_BODY = 1024 * 1024


class Stats:
    def __init__(self, key_id: str, public_pem: str):
        self.key_id, self.public_pem = key_id, public_pem
        self.received = self.verified = self.failed = 0
        self.reasons: Counter[str] = Counter()
        # "port/path" -> activity ids received there (in order; repeats are duplicates)
        self.inboxes: dict[str, list[str]] = {}
        self.types: Counter[str] = Counter()

    def check(self, port: int, target: str, headers: dict[str, str], body: bytes) -> bool:
        self.received += 1
        try:
            parsed = httpsig.parse_request(
                "POST", target, headers, body, url=f"http://127.0.0.1:{port}{target}"
            )
            if parsed.key_id != self.key_id:
                raise httpsig.SignatureError("unknown key", reason="bad_signature")
            httpsig.verify(parsed, self.public_pem)
            activity = json.loads(body)
            if activity.get("actor") != self.key_id.split("#", 1)[0]:
                raise httpsig.SignatureError("actor is not the signer", reason="bad_signature")
        except (httpsig.SignatureError, ValueError, AttributeError) as exc:
            self.failed += 1
            self.reasons[getattr(exc, "reason", "json")] += 1
            return False
        self.verified += 1
        self.types[str(activity.get("type"))] += 1
        self.inboxes.setdefault(f"{port}{target}", []).append(str(activity.get("id")))
        return True

    def totals(self) -> dict:
        return {
            "received": self.received,
            "verified": self.verified,
            "failed": self.failed,
            "reasons": dict(self.reasons),
            "types": dict(self.types),
        }


async def serve(count: int, ports_file: Path, state_file: Path, stats: Stats) -> None:
    async def handle(reader, writer, *, port: int) -> None:
        try:
            while True:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_SECONDS)
                if len(head) > MAX_HEAD:
                    break
                lines = head.decode("latin-1").split("\r\n")
                method, target, _version = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip()] = value.strip()
                length = int(
                    next((v for k, v in headers.items() if k.lower() == "content-length"), "0")
                )
                if length > MAX_BODY:
                    break
                body = await reader.readexactly(length) if length else b""
                if method == "POST" and stats.check(port, target, headers, body):
                    writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                else:
                    writer.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
            ConnectionError,
            ValueError,
        ):
            pass
        finally:
            writer.close()

    servers, ports = [], []
    for _ in range(count):
        # Bind first (port 0: the system picks a free one), so the handler knows its port.
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = await asyncio.start_server(
            functools.partial(handle, port=port), sock=sock, backlog=256, limit=MAX_HEAD
        )
        servers.append(server)
        ports.append(port)
    tmp = ports_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(ports))
    os.replace(tmp, ports_file)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    written = None
    while not stop.is_set():
        totals = stats.totals()
        if totals != written:
            _write(state_file, totals)
            written = totals
        try:
            await asyncio.wait_for(stop.wait(), 0.1)
        except TimeoutError:
            pass
    for server in servers:
        server.close()
    _write(state_file, stats.totals())
    _write(Path(f"{state_file}.detail"), stats.inboxes)


def _write(path: Path, data) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def main() -> None:
    count, ports_file, state_file, key_id, key_file = sys.argv[1:6]
    stats = Stats(key_id, Path(key_file).read_text())
    asyncio.run(serve(int(count), Path(ports_file), Path(state_file), stats))


if __name__ == "__main__":
    main()
