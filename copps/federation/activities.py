"""The JSON-LD documents copps publishes: actors, notes/articles and the activities around them.

Shapes follow the ActivityStreams vocabulary as Mastodon, Misskey, Pixelfed and Fedify read it:
``contentMap`` carries every language version; a long press release becomes an ``Article``
(the full text, with the teaser as ``summary``: on a ``Note`` a summary would be read as a
content warning, so notes never carry one).
"""

from __future__ import annotations

import mimetypes
import re
from datetime import UTC
from html import escape
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from . import ids

if TYPE_CHECKING:
    from .models import Actor

AS = "https://www.w3.org/ns/activitystreams"
SECURITY = "https://w3id.org/security/v1"
EXTENSIONS = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag",
    "toot": "http://joinmastodon.org/ns#",
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
}
CONTEXT: list[Any] = [AS, SECURITY, EXTENSIONS]
ACTIVITY_JSON = "application/activity+json"
# A press release longer than this is published as an Article (title, summary, full text).
ARTICLE_MIN_CHARS = 1000
# The kind of press releases: newsroom's Kind.NEWS, "News / press release" (there is no other).
PRESS_KIND = "news"
HASHTAG_RE = re.compile(r"(?<![\w&#/=])#([^\W\d_][\w]{0,59})", re.UNICODE)
TAG_SPLIT_RE = re.compile(r"(<[^>]*>)")


def iso(dt) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _media(file_field) -> dict | None:
    if not file_field:
        return None
    url = settings.SITE_URL + file_field.url
    kind = mimetypes.guess_type(file_field.name)[0] or "image/jpeg"
    return {"type": "Image", "mediaType": kind, "url": url}


def profile_links(actor: Actor) -> list[dict]:
    """The actor's profile links as {"name", "url", "display"}: absolute http(s) URLs only (a
    link given as a path, such as "/", points into this website)."""
    out = []
    for link in actor.links or []:
        if not isinstance(link, dict):
            continue
        url = str(link.get("url", "")).strip()
        if url.startswith("/") and not url.startswith("//"):
            url = settings.SITE_URL + url
        if url.startswith(("https://", "http://")):
            out.append(
                {"name": str(link.get("name", ""))[:100], "url": url, "display": _display(url)}
            )
    return out


def actor_document(actor: Actor) -> dict:
    """The actor as other servers fetch it (``/@name`` asked for as activity+json)."""
    name = actor.username
    links = [
        {
            "type": "PropertyValue",
            "name": link["name"],
            "value": (
                f'<a href="{escape(link["url"])}" rel="me nofollow noopener noreferrer" '
                f'target="_blank">{escape(link["display"])}</a>'
            ),
        }
        for link in profile_links(actor)
    ]
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": ids.actor(name),
        "type": "Person" if actor.kind == "officer" else "Organization",
        "preferredUsername": name,
        "name": actor.name,
        "summary": _paragraphs(actor.summary),
        "url": ids.actor(name),
        "inbox": ids.inbox(name),
        "outbox": ids.outbox(name),
        "followers": ids.followers(name),
        "following": ids.following(name),
        "endpoints": {"sharedInbox": ids.shared_inbox()},
        "manuallyApprovesFollowers": actor.manually_approves_followers,
        "discoverable": True,
        "indexable": True,
        "published": iso(actor.created_at),
        "publicKey": {
            "id": ids.key(name),
            "owner": ids.actor(name),
            "publicKeyPem": actor.public_key_pem,
        },
        "attachment": links,
    }
    icon, header = _media(actor.avatar), _media(actor.header)
    if icon:
        doc["icon"] = icon
    if header:
        doc["image"] = header
    return doc


def _display(url: str) -> str:
    return re.sub(r"^https?://", "", url).rstrip("/")


def _paragraphs(text: str) -> str:
    parts = [p.strip() for p in (text or "").split("\n\n") if p.strip()]
    return "".join("<p>" + escape(p).replace("\n", "<br>") + "</p>" for p in parts)


def hashtags(*texts: str) -> list[str]:
    """Hashtags in the texts, in order of first appearance, without duplicates (case-folded)."""
    seen: dict[str, str] = {}
    for text in texts:
        for match in HASHTAG_RE.finditer(text or ""):
            seen.setdefault(match.group(1).lower(), match.group(1))
    return list(seen.values())


def link_hashtags(html: str, username: str) -> str:
    """Turn ``#tag`` in the text (never inside a tag's attributes or a link) into hashtag links
    the way Mastodon marks them up."""
    out, in_link = [], 0
    for part in TAG_SPLIT_RE.split(html):
        if part.startswith("<"):
            lower = part.lower()
            if lower.startswith("<a ") or lower == "<a>":
                in_link += 1
            elif lower.startswith("</a"):
                in_link = max(0, in_link - 1)
            out.append(part)
        elif in_link:
            out.append(part)
        else:
            out.append(
                HASHTAG_RE.sub(
                    lambda m: (
                        f'<a href="{escape(ids.tag(username, m.group(1)))}" '
                        f'class="mention hashtag" rel="tag">#<span>{m.group(1)}</span></a>'
                    ),
                    part,
                )
            )
    return "".join(out)


def note(message, actor: Actor, *, updated: bool = False) -> dict:
    """The Note (or Article) for a published message, with every language version."""
    username = actor.username
    versions = message.versions_list()
    primary = message.primary_version() or versions[0]
    long_release = message.kind == PRESS_KIND and len(primary.body_text) >= ARTICLE_MIN_CHARS
    content_map, name_map, summary_map = {}, {}, {}
    texts = []
    for v in versions:
        permalink = message.permalink(v.language)
        body = link_hashtags(v.body_html, username)
        texts += [v.title, v.body_text]
        if long_release:
            content_map[v.language] = body
            name_map[v.language] = v.title
            summary_map[v.language] = escape(v.teaser.strip() or v.body_text[:280])
        else:
            content_map[v.language] = (
                f"<p><strong>{escape(v.title)}</strong></p>{body}"
                f'<p><a href="{escape(permalink)}">{escape(permalink)}</a></p>'
            )
    lang = primary.language
    obj: dict[str, Any] = {
        "id": ids.note(username, message.pk),
        "type": "Article" if long_release else "Note",
        "attributedTo": ids.actor(username),
        "to": [ids.PUBLIC],
        "cc": [ids.followers(username)],
        "published": iso(message.published_at or timezone.now()),
        "url": message.permalink(lang),
        "content": content_map[lang],
        "contentMap": content_map,
        "sensitive": False,
        "tag": [
            {"type": "Hashtag", "href": ids.tag(username, t), "name": f"#{t}"}
            for t in hashtags(*texts)
        ],
        "attachment": [
            {
                "type": "Image",
                "mediaType": mimetypes.guess_type(img.file.name)[0] or "image/jpeg",
                "url": settings.SITE_URL + img.file.url,
                "name": img.alt_text,
                **({"width": img.width, "height": img.height} if img.width else {}),
            }
            for img in message.images.all()
        ],
    }
    if message.video:
        obj["attachment"].append(
            {
                "type": "Video",
                "mediaType": mimetypes.guess_type(message.video.name)[0] or "video/mp4",
                "url": settings.SITE_URL + message.video.url,
                "name": message.video_caption,
            }
        )
    if long_release:
        obj["name"], obj["nameMap"] = name_map[lang], name_map
        obj["summary"], obj["summaryMap"] = summary_map[lang], summary_map
    if updated or message.corrected_at:
        obj["updated"] = iso(message.corrected_at or timezone.now())
    return obj


def create(username: str, message_id: int, obj: dict) -> dict:
    return {
        "@context": CONTEXT,
        "id": ids.create(username, message_id),
        "type": "Create",
        "actor": ids.actor(username),
        "published": obj.get("published"),
        "to": obj.get("to", [ids.PUBLIC]),
        "cc": obj.get("cc", [ids.followers(username)]),
        "object": obj,
    }


def update(username: str, message_id: int, obj: dict, seq: object) -> dict:
    return {
        "@context": CONTEXT,
        "id": ids.update(username, message_id, seq),
        "type": "Update",
        "actor": ids.actor(username),
        "to": obj.get("to", [ids.PUBLIC]),
        "cc": obj.get("cc", [ids.followers(username)]),
        "object": obj,
    }


def delete(username: str, message_id: int) -> dict:
    return {
        "@context": CONTEXT,
        "id": ids.delete(username, message_id),
        "type": "Delete",
        "actor": ids.actor(username),
        "to": [ids.PUBLIC],
        "cc": [ids.followers(username)],
        "object": {"id": ids.note(username, message_id), "type": "Tombstone"},
    }


def tombstone(username: str, message_id: int, deleted=None) -> dict:
    doc = {
        "@context": CONTEXT,
        "id": ids.note(username, message_id),
        "type": "Tombstone",
        "formerType": "Note",
    }
    if deleted:
        doc["deleted"] = iso(deleted)
    return doc


def respond(username: str, kind: str, follow: dict | str, follower_uri: str) -> dict:
    """Accept or Reject of a Follow (``follow``: the Follow activity, or its id)."""
    follow_id = follow if isinstance(follow, str) else follow.get("id", "")
    return {
        "@context": CONTEXT,
        "id": ids.activity(username, kind, follow_id, follower_uri),
        "type": kind,
        "actor": ids.actor(username),
        "to": [follower_uri],
        "object": follow
        if isinstance(follow, dict)
        else {
            "id": follow_id,
            "type": "Follow",
            "actor": follower_uri,
            "object": ids.actor(username),
        },
    }


def follow(username: str, target_uri: str, nonce: object) -> dict:
    return {
        "@context": CONTEXT,
        "id": ids.activity(username, "Follow", target_uri, nonce),
        "type": "Follow",
        "actor": ids.actor(username),
        "object": target_uri,
        "to": [target_uri],
    }


def undo(username: str, inner: dict) -> dict:
    return {
        "@context": CONTEXT,
        "id": ids.activity(username, "Undo", inner.get("id", "")),
        "type": "Undo",
        "actor": ids.actor(username),
        "to": inner.get("to", []),
        "object": {k: v for k, v in inner.items() if k != "@context"},
    }


def profile_update(actor: Actor) -> dict:
    doc = actor_document(actor)
    return {
        "@context": CONTEXT,
        "id": ids.activity(actor.username, "Update", "profile", actor.updated_at.isoformat()),
        "type": "Update",
        "actor": doc["id"],
        "to": [ids.PUBLIC],
        "cc": [ids.followers(actor.username)],
        "object": {k: v for k, v in doc.items() if k != "@context"},
    }
