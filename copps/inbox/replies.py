"""Sending a reply back through the channel the citizen used: one sender per source.

A sender takes the outgoing ``Entry`` (its conversation carries the route: an alias, an account,
a thread id) and returns the external id of what it sent, or raises ``ReplyError``. Senders must
not touch the database for the outcome: ``actions.reply`` records it. A sender registers itself
with ``register(source, sender)`` from its app's ``ready()``.
"""

from __future__ import annotations

from collections.abc import Callable

from .models import Entry


class ReplyError(Exception):
    """The reply did not go out. ``maybe_sent``: it may have (the answer was lost): a person
    decides, it is never sent again blindly."""

    def __init__(self, message: str, *, maybe_sent: bool = False):
        super().__init__(message)
        self.maybe_sent = maybe_sent


Sender = Callable[[Entry], str]
SENDERS: dict[str, Sender] = {}


def register(source: str, sender: Sender) -> None:
    SENDERS[str(source)] = sender


def sender_for(source: str) -> Sender | None:
    return SENDERS.get(str(source))
