"""What each incoming activity type does, once ``inbox.py`` has verified who sent it.

Only the sender's own things can be changed by the sender: a Delete removes a reply only if
that reply is theirs, an Undo removes only their own follow or reaction.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from django.utils import timezone

from copps.lib import sanitise

from . import blocks, ids, outgoing
from .models import (
    Actor,
    BlockSeverity,
    Follower,
    Following,
    FollowState,
    InboxItem,
    ItemKind,
    ItemState,
    Reaction,
    ReactionKind,
    RemoteActor,
    Report,
)

NOTE_TYPES = {"Note", "Article", "Question", "Page", "Image", "Video", "Event"}
MAX_CONTENT = 20_000


class Unacceptable(Exception):
    def __init__(self, message: str, *, status: int = 422, reason: str = "unacceptable"):
        super().__init__(message)
        self.status = status
        self.reason = reason


def _id(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and len(value) <= 500 else ""


def _ours(uri: str) -> Actor | None:
    name = ids.local_username(uri)
    return Actor.objects.filter(username=name, enabled=True).first() if name else None


def _our_message(uri: str):
    from copps.newsroom.models import Message

    found = ids.local_message(uri)
    if not found:
        return None, None
    from copps.channels.models import Delivery

    actor = Actor.objects.filter(username=found[0]).first()
    message = Message.objects.filter(pk=found[1]).first()
    if actor is None or message is None:
        return None, None
    # Only a post this account actually published: not a draft's id, not another account's.
    posted = Delivery.objects.filter(
        channel=actor.channel, message=message, operation="post"
    ).exists()
    return (actor, message) if posted else (None, None)


def remote_hash(uri: str) -> str:
    return hashlib.sha256(uri.encode()).hexdigest()


def handle(activity: dict, signer: RemoteActor, *, local_username: str | None = None) -> None:
    kind = activity["type"]
    handler = HANDLERS.get(kind)
    if handler is not None:
        handler(activity, signer)
    # Other types (Add, Remove, Block, Move, EmojiReact ...) are acknowledged and ignored.


# Follows ---------------------------------------------------------------------------------


def on_follow(activity: dict, signer: RemoteActor) -> None:
    actor = _ours(_id(activity.get("object")))
    if actor is None:
        raise Unacceptable("that account does not exist here", status=404, reason="no_such_actor")
    follow_id = _id(activity)
    existing = Follower.objects.filter(actor=actor, remote=signer).first()
    if existing is not None:
        existing.activity_id = follow_id
        existing.save(update_fields=["activity_id"])
        if existing.state == FollowState.ACCEPTED:
            outgoing.respond(actor, existing, "Accept")  # they lost our Accept: send it again
        return
    follower = Follower.objects.create(
        actor=actor,
        remote=signer,
        activity_id=follow_id,
        state=FollowState.PENDING if actor.manually_approves_followers else FollowState.ACCEPTED,
        accepted_at=None if actor.manually_approves_followers else timezone.now(),
    )
    if follower.state == FollowState.ACCEPTED:
        outgoing.respond(actor, follower, "Accept")


def on_undo(activity: dict, signer: RemoteActor) -> None:
    inner = activity.get("object")
    inner_id = _id(inner)
    inner_type = inner.get("type") if isinstance(inner, dict) else None
    if inner_type in (None, "Follow"):
        rows = Follower.objects.filter(remote=signer)
        if isinstance(inner, dict) and _ours(_id(inner.get("object"))):
            rows.filter(actor__username=ids.local_username(_id(inner.get("object")))).delete()
        else:
            rows.filter(activity_id=inner_id).delete()
    if inner_type in (None, "Like", "Announce"):
        Reaction.objects.filter(activity_id=inner_id, remote_hash=remote_hash(signer.uri)).delete()


def on_accept(activity: dict, signer: RemoteActor) -> None:
    follow_id = _id(activity.get("object"))
    Following.objects.filter(activity_id=follow_id, remote=signer).update(
        state=FollowState.ACCEPTED, accepted_at=timezone.now()
    )


def on_reject(activity: dict, signer: RemoteActor) -> None:
    follow_id = _id(activity.get("object"))
    Following.objects.filter(activity_id=follow_id, remote=signer).delete()
    # A Reject of their own follow of us: they removed us as a follower... nothing to do.


# Reactions ---------------------------------------------------------------------------------


def _react(activity: dict, signer: RemoteActor, kind: str) -> None:
    target = activity.get("object")
    if isinstance(target, dict) and target.get("type") in ("Announce", "Like", "Create"):
        raise Unacceptable("an activity cannot be boosted", reason="announce_loop")
    actor, message = _our_message(_id(target))
    if message is None:
        return  # someone else's post: not our business
    Reaction.objects.get_or_create(
        kind=kind,
        message=message,
        remote_hash=remote_hash(signer.uri),
        defaults={"activity_id": _id(activity), "actor": actor, "domain": signer.domain},
    )


def on_like(activity: dict, signer: RemoteActor) -> None:
    _react(activity, signer, ReactionKind.LIKE)


def on_announce(activity: dict, signer: RemoteActor) -> None:
    _react(activity, signer, ReactionKind.ANNOUNCE)


# Replies, mentions, posts of followed accounts ----------------------------------------------


def _text_fields(obj: dict) -> dict:
    content = obj.get("content")
    language = ""
    content_map = obj.get("contentMap")
    if isinstance(content_map, dict) and content_map:
        language, mapped = next(iter(content_map.items()))
        if not isinstance(content, str):
            content = mapped
    if not isinstance(content, str):
        content = ""
    summary: str = obj["summary"] if isinstance(obj.get("summary"), str) else ""
    url = obj.get("url")
    if isinstance(url, list):
        url = url[0] if url else ""
    if isinstance(url, dict):  # a Link object (Misskey, PeerTube): its href
        url = url.get("href") or url.get("id")
    if not isinstance(url, str) or len(url) > 500:
        url = ""  # the column holds 500: a longer one would fail the insert on PostgreSQL
    return {
        "content_html": sanitise.clean(
            content[:MAX_CONTENT], link_rel="nofollow noopener noreferrer"
        ),
        "summary": sanitise.clean(summary[:500])[:500],
        "language": str(language)[:10],
        "url": url if isinstance(url, str) and url.startswith(("https://", "http://")) else "",
    }


def _published(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def on_create(activity: dict, signer: RemoteActor) -> None:
    obj = activity.get("object")
    if not isinstance(obj, dict):
        return  # a bare id: we do not fetch what nobody addressed to us in full
    if obj.get("type") not in NOTE_TYPES:
        return
    if _id(obj.get("attributedTo")) != signer.uri:
        raise Unacceptable(
            "the object's author is not the sender", status=401, reason="actor_mismatch"
        )
    object_id = _id(obj)
    if not object_id or blocks.domain_of(object_id) != signer.domain:
        raise Unacceptable("the object's id is not on the sender's server", reason="foreign_id")
    block = blocks.block_for(signer.domain)
    if block is not None and block.severity == BlockSeverity.REJECT_REPLIES:
        return
    actor, message = _our_message(_id(obj.get("inReplyTo")))
    kind = ItemKind.REPLY if message is not None else None
    if kind is None:
        tags = obj.get("tag")
        tags = tags if isinstance(tags, list) else [tags] if isinstance(tags, dict) else []
        for tag in tags[:100]:
            if isinstance(tag, dict) and tag.get("type") == "Mention":
                mentioned = _ours(_id(tag.get("href")))
                if mentioned is not None:
                    actor, kind = mentioned, ItemKind.MENTION
                    break
    if kind is None:
        following = Following.objects.filter(remote=signer, state=FollowState.ACCEPTED).first()
        if following is None:
            return  # not for us
        actor, kind = following.actor, ItemKind.POST
    if InboxItem.objects.filter(object_id=object_id).exists():
        # A post is created once (Mastodon's rule too): a second Create must neither replace
        # text a moderator already approved nor let another account of that server take the
        # post over. Changes come as an Update, which sends the post back to moderation.
        return
    InboxItem.objects.create(
        object_id=object_id,
        kind=kind,
        actor=actor,
        remote=signer,
        message=message,
        published=_published(obj.get("published")),
        **_text_fields(obj),
    )


def on_update(activity: dict, signer: RemoteActor) -> None:
    obj = activity.get("object")
    if not isinstance(obj, dict):
        return
    if _id(obj) == signer.uri:
        from . import remote

        try:
            # A profile change, or a new key under the key id it signs with. Not another key
            # id: this document was not fetched from that key's URL, so nothing vouches that
            # the key is the sender's (it could name another account's key id on its server).
            remote.store(obj, fetched_from=signer.uri, key_id=signer.key_id)
        except remote.RemoteError as exc:
            raise Unacceptable(str(exc)) from None
        return
    item = InboxItem.objects.filter(object_id=_id(obj), remote=signer).first()
    if item is None or _id(obj.get("attributedTo")) != signer.uri:
        return
    for name, value in _text_fields(obj).items():
        setattr(item, name, value)
    item.edited_at = timezone.now()
    if item.state != ItemState.NEW:
        # What a moderator approved (or rejected) is not what it says now: look again.
        item.state = ItemState.NEW
        item.moderated_by, item.moderated_at, item.moderation_reason = "", None, ""
    item.save()


def on_delete(activity: dict, signer: RemoteActor) -> None:
    target = _id(activity.get("object"))
    if target == signer.uri:
        # The account itself is gone: forget it and everything it sent us.
        Follower.objects.filter(remote=signer).delete()
        Following.objects.filter(remote=signer).delete()
        InboxItem.objects.filter(remote=signer).delete()
        Reaction.objects.filter(remote_hash=remote_hash(signer.uri)).delete()
        return
    InboxItem.objects.filter(object_id=target, remote=signer).delete()


# Reports -----------------------------------------------------------------------------------


def on_flag(activity: dict, signer: RemoteActor) -> None:
    objects = activity.get("object")
    objects = objects if isinstance(objects, list) else [objects]
    uris = [u for u in (_id(o) for o in objects[:50]) if u]
    ours = [u for u in uris if ids.local_username(u) or ids.local_message(u)]
    if not ours:
        raise Unacceptable("the report names nothing of ours", reason="report_not_ours")
    actor = None
    for uri in ours:
        name = ids.local_username(uri) or (ids.local_message(uri) or ("",))[0]
        actor = Actor.objects.filter(username=name).first()
        if actor:
            break
    content: str = activity["content"] if isinstance(activity.get("content"), str) else ""
    Report.objects.get_or_create(
        activity_id=_id(activity),
        defaults={
            "remote": signer,
            "actor": actor,
            "content": sanitise.clean(content[:5000]),
            "objects_reported": ours,
        },
    )


HANDLERS = {
    "Follow": on_follow,
    "Undo": on_undo,
    "Accept": on_accept,
    "Reject": on_reject,
    "Like": on_like,
    "Announce": on_announce,
    "Create": on_create,
    "Update": on_update,
    "Delete": on_delete,
    "Flag": on_flag,
}
