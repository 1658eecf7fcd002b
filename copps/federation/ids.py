"""Every URL and id copps publishes on the fediverse, in one place. Ids are stable: the same
message, actor or follow always gets the same id, so receivers can deduplicate."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from django.conf import settings

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def base() -> str:
    return settings.SITE_URL.rstrip("/")


def domain() -> str:
    """The host (with port, if any) of our accounts' addresses: ``@news@<domain>``."""
    return urlsplit(base()).netloc.lower()


def actor(username: str) -> str:
    return f"{base()}/@{username}"


def key(username: str) -> str:
    return actor(username) + "#main-key"


def inbox(username: str) -> str:
    return actor(username) + "/inbox"


def outbox(username: str) -> str:
    return actor(username) + "/outbox"


def followers(username: str) -> str:
    return actor(username) + "/followers"


def following(username: str) -> str:
    return actor(username) + "/following"


def shared_inbox() -> str:
    return base() + "/inbox"


def note(username: str, message_id: int) -> str:
    return f"{actor(username)}/posts/{message_id}"


def create(username: str, message_id: int) -> str:
    return note(username, message_id) + "/activity"


def update(username: str, message_id: int, seq: object) -> str:
    return f"{note(username, message_id)}/updates/{seq}"


def delete(username: str, message_id: int) -> str:
    return note(username, message_id) + "/delete"


def activity(username: str, kind: str, *parts: object) -> str:
    """A stable id for an activity that is not about a post (Accept, Follow, Undo ...)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()[:24]
    return f"{actor(username)}/activities/{kind.lower()}-{digest}"


def tag(username: str, name: str) -> str:
    return f"{actor(username)}?tag={name.lower()}"


def local_username(uri: str) -> str | None:
    """The user name if ``uri`` is one of our actor ids (``<site>/@name``), else None."""
    prefix = base() + "/@"
    if not isinstance(uri, str) or not uri.startswith(prefix):
        return None
    rest = uri[len(prefix) :]
    return rest if rest and all(c.isalnum() or c in "_-" for c in rest) else None


def local_message(uri: str) -> tuple[str, int] | None:
    """(user name, message id) if ``uri`` is one of our note ids, else None."""
    if not isinstance(uri, str):
        return None
    prefix = base() + "/@"
    if not uri.startswith(prefix):
        return None
    name, sep, rest = uri[len(prefix) :].partition("/posts/")
    if not sep or not rest.isdigit() or len(rest) > 12:
        return None
    return name, int(rest)
