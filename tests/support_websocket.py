"""A local Jetstream stand-in: a WebSocket server on loopback replaying scripted frames.

``JetstreamReplay(frames)`` serves ``ws://127.0.0.1:<port>/subscribe``. A frame is an event
(a dict, sent as JSON, and only when its ``time_us`` is at or after the ``cursor=`` the client
asked for, as Jetstream does), or a raw ``str``/``bytes`` frame sent as it is (broken JSON,
invalid UTF-8 in a binary frame), ``INVALID_TEXT`` (a text frame that is not UTF-8), or ``BROKEN`` (bytes written on the socket that are no WebSocket frame), or
``DROP`` (the TCP connection is cut without a closing handshake). ``DROP``/``BROKEN`` act on the
first connection only, so a reconnecting client gets the rest. After the script the server
closes normally (1000). ``paths`` lists the request paths of every connection.
"""

from __future__ import annotations

import json
import socket
import threading
from urllib.parse import parse_qs, urlsplit

from websockets.sync.server import ServerConnection, serve

DROP = object()
# A text frame whose payload is not UTF-8 (websockets itself never sends one).
INVALID_TEXT = object()
BROKEN = object()


class JetstreamReplay:
    def __init__(self, frames: list):
        self.frames = frames
        self.paths: list[str] = []
        self.finished = threading.Event()
        self._server = serve(self._handle, "127.0.0.1", 0)
        self.port = self._server.socket.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}/subscribe"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> JetstreamReplay:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def _handle(self, connection: ServerConnection) -> None:
        path = connection.request.path if connection.request else ""
        first = not self.paths
        self.paths.append(path)
        query = parse_qs(urlsplit(path).query)
        cursor = int(query.get("cursor", ["0"])[0])
        for frame in self.frames:
            if frame is DROP or frame is BROKEN:
                if not first:
                    continue
                raw = connection.socket
                if frame is BROKEN:
                    raw.sendall(b"\x81\x7f\xff\xff\xff\xff\xff\xff\xff\xffnot a frame")
                raw.shutdown(socket.SHUT_RDWR)
                raw.close()
                self.finished.set()
                return
            if frame is INVALID_TEXT:
                connection.socket.sendall(b"\x81\x04\xff\xfe\xfa\xfb")
                continue
            if isinstance(frame, dict):
                if frame.get("time_us", 0) < cursor:
                    continue
                connection.send(json.dumps(frame))
            else:
                connection.send(frame)
        connection.close(1000)
        self.finished.set()


def post_event(time_us: int, rkey: str, text: str, *, did: str = "did:plc:abc", langs=("nl",)):
    """A Jetstream v1 commit event creating an app.bsky.feed.post, in the real shape."""
    return {
        "did": did,
        "time_us": time_us,
        "kind": "commit",
        "commit": {
            "rev": "3mmoojpaqkn2z",
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
            "record": {
                "$type": "app.bsky.feed.post",
                "createdAt": "2026-05-25T14:23:28.757Z",
                "langs": list(langs),
                "text": text,
            },
            "cid": "bafyreicl7rzkxdrm4zz2ehbx52kuk3mvfow6p3gzfys72r5grvskxoswy4",
        },
    }


def delete_event(time_us: int, rkey: str, *, did: str = "did:plc:abc") -> dict:
    return {
        "did": did,
        "time_us": time_us,
        "kind": "commit",
        "commit": {
            "rev": "3mmoojpbi5e2i",
            "operation": "delete",
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
        },
    }


def identity_event(time_us: int, did: str = "did:plc:abc") -> dict:
    return {
        "did": did,
        "time_us": time_us,
        "kind": "identity",
        "identity": {
            "did": did,
            "handle": "someone.bsky.social",
            "seq": 1,
            "time": "2026-05-25T14:23:28.757Z",
        },
    }
