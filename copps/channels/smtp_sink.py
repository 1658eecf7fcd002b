"""The demo's local SMTP sink and its outbox folder.

``copps smtp_sink`` runs an aiosmtpd server on loopback that accepts every message and stores
it, exactly as received, as one ``.eml`` file in the outbox folder (``COPPS_OUTBOX_DIR``,
default ``var/outbox``). Nothing is relayed anywhere. The folder keeps the newest
``COPPS_OUTBOX_KEEP`` messages (default 2000); older ones are removed.

File names are ``<receive time in ns, 20 digits>-<12 hex>.eml``: they sort by time, and the
console's outbox viewer (``outbox_views.py``) accepts nothing else, so no name can point outside
the folder. Files are written atomically (a temporary name, then a rename), so the viewer never
reads half a message.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from django.conf import settings

NAME_RE = re.compile(r"\d{20}-[0-9a-f]{12}")
SUFFIX = ".eml"
DEFAULT_KEEP = 2000
# How many messages past the cap before pruning (pruning lists the folder: not per message).
PRUNE_SLACK = 100
# The sink refuses anything larger (a newsletter is a few kB).
MAX_MESSAGE_BYTES = 10 * 1024 * 1024


def outbox_dir() -> Path:
    return Path(getattr(settings, "COPPS_OUTBOX_DIR", "") or Path(settings.VAR_DIR) / "outbox")


def valid_name(name: str) -> bool:
    return bool(NAME_RE.fullmatch(name or ""))


def path_for(name: str, folder: Path | None = None) -> Path | None:
    """The file of message ``name`` inside the outbox, or None for any other name."""
    if not valid_name(name):
        return None
    folder = folder or outbox_dir()
    path = folder / f"{name}{SUFFIX}"
    # The pattern already rules out separators and dots; this is the belt to those braces.
    if path.resolve().parent != folder.resolve():
        return None
    return path


def names(folder: Path | None = None) -> list[str]:
    """Stored message names, newest first."""
    folder = folder or outbox_dir()
    try:
        entries = os.listdir(folder)
    except FileNotFoundError:
        return []
    found = [e[: -len(SUFFIX)] for e in entries if e.endswith(SUFFIX)]
    return sorted((n for n in found if valid_name(n)), reverse=True)


class Store:
    """Writes messages into the folder and keeps it at ``keep`` messages (thread-safe)."""

    def __init__(self, folder: Path, keep: int = DEFAULT_KEEP):
        self.folder = Path(folder)
        self.keep = max(1, keep)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._count = len(names(self.folder))
        self._last_ns = 0
        for leftover in self.folder.glob(".tmp-*"):  # a crash mid-write leaves these
            leftover.unlink(missing_ok=True)

    def _next_name(self) -> str:
        with self._lock:
            now = max(time.time_ns(), self._last_ns + 1)
            self._last_ns = now
        return f"{now:020d}-{secrets.token_hex(6)}"

    def save(self, content: bytes) -> str:
        name = self._next_name()
        tmp = self.folder / f".tmp-{name}"
        with open(tmp, "wb") as fh:
            fh.write(content)
        os.replace(tmp, self.folder / f"{name}{SUFFIX}")
        with self._lock:
            self._count += 1
            due = self._count > self.keep + PRUNE_SLACK
        if due:
            self.prune()
        return name

    def prune(self) -> int:
        """Remove all but the newest ``keep`` messages; returns how many were removed."""
        with self._lock:
            stored = names(self.folder)
            removed = 0
            for name in stored[self.keep :]:
                try:
                    (self.folder / f"{name}{SUFFIX}").unlink()
                    removed += 1
                except FileNotFoundError:
                    pass
            self._count = len(stored) - removed
            return removed


class SinkHandler:
    """aiosmtpd handler: accept every recipient, store each message once."""

    def __init__(self, store: Store):
        self.store = store

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        self.store.save(content)
        return "250 2.0.0 Message stored in the copps outbox"


# Reading stored messages (the console's outbox viewer) ---------------------------------------


@dataclass
class Stored:
    name: str
    received: float  # seconds since the epoch, from the name
    size: int
    message: EmailMessage

    @property
    def subject(self) -> str:
        return _header(self.message, "Subject")

    @property
    def to(self) -> str:
        return _header(self.message, "To")


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name, "")
    except Exception:  # a malformed header from outside: show it raw
        value = ""
    return " ".join(str(value).split())[:500]


def read(name: str, *, headers_only: bool = False, folder: Path | None = None) -> Stored | None:
    """A stored message (None when there is no such message or the name is not ours)."""
    path = path_for(name, folder)
    if path is None:
        return None
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            raw = fh.read(64 * 1024 if headers_only else MAX_MESSAGE_BYTES)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return None
    if headers_only:
        raw = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0] + b"\r\n\r\n"
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return Stored(name=name, received=int(name[:20]) / 1e9, size=size, message=parsed)
