"""From a message to its deliveries: which channels get it, with what text, and what happens on
them when the message is corrected or retracted.

A message names the *formats* it is meant for (``Message.channels``: rendition keys such as
``mastodon`` or ``email``; ``web`` and ``rss`` are the home base and always on). It goes to every
usable channel account whose adapter uses one of those formats, whose language is one of the
message's languages and whose audiences (if the channel has any) overlap the message's
audiences (if it has any). This is the article's "communication mix": the same message,
matched to each target group's channels.

Called by the workflow actions inside their transaction, so a published message and its
Delivery rows are committed together (no publish without its deliveries, nothing planned for a
publish that rolled back).
"""

from __future__ import annotations

from django.conf import settings

from copps.channels import deliveries, registry
from copps.channels.models import Channel, ChannelStatus, Delivery, Recipient
from copps.channels.states import DeliveryState, Operation

from . import renditions
from .models import Kind, Message

S = DeliveryState
HOME_BASE = ("web", "rss")


def usable_channels() -> list[Channel]:
    """Enabled channels whose adapter is installed (a kind removed from the registry, or a
    plug-in not installed on this server, must not break publishing for the others)."""
    channels = (
        Channel.objects.filter(enabled=True)
        .exclude(status=ChannelStatus.DISABLED)
        .prefetch_related("audiences")
        .order_by("pk")
    )
    return [ch for ch in channels if registry.installed(ch.kind)]


def _serves(channel: Channel, languages: set[str], audience_ids: set[int]) -> bool:
    if channel.language not in languages and not channel.adapter.multilingual:
        return False
    own = {a.pk for a in channel.audiences.all()}
    return not (own and audience_ids and not own & audience_ids)


def default_formats(languages, audience_ids) -> list[str]:
    """The formats a message gets when nobody chose: the home base plus every format of a
    channel that serves its languages and audiences."""
    chosen = set(HOME_BASE)
    for channel in usable_channels():
        if _serves(channel, set(languages), set(audience_ids)):
            chosen.add(channel.adapter.rendition)
    return [key for key in renditions.CHANNELS if key in chosen]


def targets(message: Message) -> list[Channel]:
    """The channel accounts a message goes to."""
    formats = set(message.channels or [])
    languages = set(message.languages)
    audience_ids = {a.pk for a in message.audiences.all()}
    return [
        ch
        for ch in usable_channels()
        if ch.adapter.rendition in formats
        and _serves(ch, languages, audience_ids)
        and ch.adapter.accepts(message)
    ]


def post_language(message: Message, channel: Channel) -> str | None:
    """The language a channel's post of ``message`` is planned in: the channel's own, or for a
    multilingual channel (one post with every version) the message's first language."""
    languages = message.languages
    if channel.language in languages:
        return channel.language
    if channel.adapter.multilingual and languages:
        return languages[0]
    return None


def payload_for(message: Message, channel: Channel, language: str, *, note: str = "") -> dict:
    """The frozen content of one delivery: the rendition text plus what adapters need."""
    rendition_key = channel.adapter.rendition
    version = message.version_for(language)
    assert version is not None
    rendition = renditions.render(message, rendition_key, language)
    text = rendition.text
    if note:  # a correction posted where the original cannot be edited
        text = renditions.render_text(
            rendition_key,
            language=language,
            title=f"{_correction_word(language)}: {version.title}",
            summary=note,
            # Unlimited channels carry the note and the link; short ones append the link.
            full_text=f"{note}\n\n{rendition.link or message.permalink(language)}",
            link=rendition.link or message.permalink(language),
        ).text
    area = message.area
    payload = {
        "text": text,
        "title": version.title,
        "summary": version.teaser.strip(),
        "body_text": version.body_text,
        "body_html": version.body_html,
        "link": message.permalink(language),
        "short_link": message.short_link(),
        # A correction concerns everyone who got the original, whatever topics they chose.
        "kind": "correction" if note else message.kind,
        "area": area.slug if area else "",
        "postcodes": list(getattr(area, "postcodes", None) or []),
        "language": language,
        "correction": bool(note),
        "images": [
            {"name": img.file.name, "url": settings.SITE_URL + img.file.url, "alt": img.alt_text}
            for img in message.images.all()
        ],
    }
    if message.video:
        from .videos import content_type

        payload["video"] = {
            "name": message.video.name,
            "url": settings.SITE_URL + message.video.url,
            "content_type": content_type(message.video.name or ""),
            "caption": message.video_caption,
        }
    payload.update(channel.adapter.payload_extra(message, language))
    return payload


def _correction_word(language: str) -> str:
    from django.utils import translation

    with translation.override(language):
        from django.utils.translation import gettext

        return gettext("Correction")


def on_publish(message: Message) -> list[Delivery]:
    """Plan one post per (channel, language version); idempotent."""
    planned = []
    for channel in targets(message):
        language = post_language(message, channel)
        if language:
            planned.append(
                deliveries.plan(
                    message_id=message.pk,
                    channel=channel,
                    language=language,
                    payload=payload_for(message, channel, language),
                    priority=1 if message.kind == Kind.CRISIS else 0,
                )
            )
    return planned


def _posts(message: Message):
    return (
        Delivery.objects.filter(message=message, operation=Operation.POST)
        .select_related("channel")
        .order_by("pk")
    )


def on_correct(message: Message, *, languages: list[str], revision: int, note: str) -> None:
    """After an approved correction: edit each post where the channel allows it, else post a
    correction that links to the updated page; posts not yet tried simply carry the new text."""
    for post in _posts(message):
        channel = post.channel
        if post.payload.get("correction"):
            continue
        # A multilingual post carries every version: any corrected language changes it.
        if post.language not in languages and not channel.adapter.multilingual:
            continue
        if post.state == S.PENDING and deliveries.replan_payload(
            post, payload_for(message, channel, post.language)
        ):
            continue
        if post.state == S.CANCELLED or (post.state == S.FAILED and post.permanent):
            continue
        if channel.adapter.can_edit:
            if channel.adapter.subscribers:
                # Followers' servers still waiting for the post get the corrected one.
                deliveries.replan_fanout(post, payload_for(message, channel, post.language))
            deliveries.plan(
                message_id=message.pk,
                channel=channel,
                language=post.language,
                operation=Operation.UPDATE,
                target=post,
                seq=revision,
                payload=payload_for(message, channel, post.language),
            )
        else:
            deliveries.plan(
                message_id=message.pk,
                channel=channel,
                language=post.language,
                seq=f"correction-{revision}",
                payload=payload_for(message, channel, post.language, note=note),
            )
    # A language the correction added goes out like a new publication.
    on_publish(message)


def on_retract(message: Message, *, by: str, reason: str) -> None:
    """Cancel what has not gone out; delete what has, where the channel can; record the rest."""
    everything = Delivery.objects.filter(message=message).select_related("channel")
    # Copies of a newsletter or SMS alert still waiting to go out are stopped too.
    Recipient.objects.filter(delivery__message=message, state=S.PENDING).update(
        state=S.CANCELLED, last_error="message withdrawn"
    )
    deliveries.cancel(
        everything.filter(state__in=[S.PENDING, S.FAILED]).exclude(operation=Operation.DELETE),
        by=by,
        reason="message retracted",
    )
    for post in _posts(message).filter(state__in=[S.SENT, S.SENDING, S.UNKNOWN]):
        adapter = post.channel.adapter
        if adapter.can_delete:
            deliveries.plan(
                message_id=message.pk,
                channel=post.channel,
                language=post.language,
                operation=Operation.DELETE,
                target=post,
                payload={"reason": reason},
            )
        else:
            deliveries.plan(
                message_id=message.pk,
                channel=post.channel,
                language=post.language,
                operation=Operation.DELETE,
                target=post,
                payload={"reason": reason},
                state=S.FAILED,
                note=_cannot_delete(post),
            )


def _cannot_delete(post: Delivery) -> str:
    if post.channel.adapter.subscribers:
        return "messages already delivered to subscribers cannot be recalled"
    return "this channel does not allow deleting posts: remove it by hand"
