"""Answering a fediverse reply or mention (the citizens' inbox calls this; nothing here knows
the inbox).

The answer is a Note from the account the citizen wrote to, ``inReplyTo`` their post, addressed
to them with the public collection in ``cc`` (what Mastodon calls an unlisted reply: visible on
the thread, not pushed to timelines), mentioning them so their server notifies them. It is sent
as a ``Create`` on the outgoing queue (``outgoing.py``): signed, retried with backoff, held for a
paused server, never sent to a suspended one.
"""

from __future__ import annotations

import html
import re
from datetime import UTC

from django.utils import timezone

from . import activities, blocks, ids, outgoing
from .models import Actor, RemoteActor


class ReplyFailed(Exception):
    pass


def fediverse_text(item) -> str:
    """The plain text of an inbox item (its sanitised HTML), content warning first."""
    text = _html_to_text(item.content_html or "")
    summary = _html_to_text(item.summary or "")
    if summary:
        text = f"[{summary}]\n\n{text}" if text else f"[{summary}]"
    return text.strip()[:10_000]


def _html_to_text(content: str) -> str:
    text = re.sub(r"<br\s*/?>", "\n", content, flags=re.I)
    text = re.sub(r"</p>\s*<p[^>]*>", "\n\n", text, flags=re.I)
    text = re.sub(r"<[^>]*>", "", text)
    return html.unescape(text).strip()


def note_id(username: str, key: str) -> str:
    return f"{ids.actor(username)}/replies/{key}"


def reply_note(actor: Actor, remote: RemoteActor, in_reply_to: str, text: str, key: str) -> dict:
    mention = remote.handle
    href = html.escape(remote.url or remote.uri)
    username = html.escape(remote.username or remote.uri)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    body = "".join(
        "<p>"
        + (
            f'<span class="h-card"><a href="{href}" class="u-url mention">@<span>{username}'
            "</span></a></span> "
            if n == 0
            else ""
        )
        + html.escape(p).replace("\n", "<br>")
        + "</p>"
        for n, p in enumerate(paragraphs or [""])
    )
    return {
        "id": note_id(actor.username, key),
        "type": "Note",
        "attributedTo": ids.actor(actor.username),
        "inReplyTo": in_reply_to,
        "to": [remote.uri],
        "cc": [ids.PUBLIC],
        "published": activities.iso(timezone.now().astimezone(UTC)),
        "content": body,
        "sensitive": False,
        "tag": [{"type": "Mention", "href": remote.uri, "name": mention}],
    }


def send_reply(*, actor: str, remote: str, in_reply_to: str, text: str, key: str) -> str:
    """Queue our answer to ``in_reply_to`` by ``remote``; returns the Note's id."""
    account = Actor.objects.filter(username=actor, enabled=True).first()
    if account is None:
        raise ReplyFailed("our fediverse account is gone or disabled")
    target = RemoteActor.objects.filter(uri=remote).first()
    if target is None or not (target.inbox or target.shared_inbox):
        raise ReplyFailed("the citizen's fediverse account is no longer known")
    if blocks.suspended(target.domain):
        raise ReplyFailed("the citizen's server is suspended")
    note = reply_note(account, target, in_reply_to, text, key)
    activity = {
        "@context": activities.CONTEXT,
        "id": note["id"] + "/activity",
        "type": "Create",
        "actor": note["attributedTo"],
        "published": note["published"],
        "to": note["to"],
        "cc": note["cc"],
        "object": note,
    }
    # Their own inbox: a reply addressed to one person is not for the whole server.
    if outgoing.queue(account, target.inbox or target.shared_inbox, activity) is None:
        raise ReplyFailed("the reply could not be queued for the citizen's server")
    return note["id"]
