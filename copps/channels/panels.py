"""What the console panels show about channels and deliveries, computed once for the template.

Used by the deliveries panel on a message page (and its htmx fragment), the dashboard's "Needs
attention" panel and the sandbox viewer. Reading only; decisions go through ``actions.py``.
"""

from __future__ import annotations

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from copps.accounts import roles
from copps.accounts.roles import has_capability

from .models import Alert, Channel, ChannelStatus, Delivery, Kind, Recipient, SandboxPost
from .states import DeliveryState, Operation

S = DeliveryState

# Text and a symbol for every state: never colour alone.
STATE_SYMBOLS: dict[str, str] = {
    S.PENDING: "○",
    S.SENDING: "◔",
    S.SENT: "✓",
    S.FAILED: "✕",
    S.UNKNOWN: "?",
    S.CANCELLED: "⊘",
}

# The sandbox imitation's service name where it differs from the channel kind.
SANDBOX_SERVICES = {"sms_http": "smshttp", "sms_kannel": "kannel"}


def sandbox_service(kind: str) -> str:
    return SANDBOX_SERVICES.get(kind, kind)


def _adapter(channel: Channel):
    try:
        return channel.adapter
    except ImportError:  # the adapter of this kind is not installed here
        return None


def moving(delivery: Delivery, adapter) -> bool:
    """Whether the machine will still change this delivery by itself (the panel keeps polling)."""
    if delivery.state in (S.PENDING, S.SENDING):
        return True
    if delivery.state == S.FAILED:
        return not delivery.permanent
    if delivery.state == S.UNKNOWN:
        # A read-back may still settle it; otherwise it waits for a person.
        return bool(
            adapter
            and adapter.can_find
            and delivery.operation == Operation.POST
            and not delivery.recipients_total
        )
    return False


def _state_label(delivery: Delivery) -> str:
    if delivery.state == S.FAILED:
        return str(_("Failed, will not retry") if delivery.permanent else _("Failed, will retry"))
    return str(S(delivery.state).label) if delivery.state in S.values else delivery.state


def sandbox_link(channel: Channel, external_id: str, cards: dict | None = None) -> str:
    """The sandbox viewer's card of the post with ``external_id`` ('' if none). ``cards`` maps
    (service, external id) to SandboxPost ids already read (one query for a whole panel)."""
    if not channel.sandbox or not external_id:
        return ""
    service = sandbox_service(channel.kind)
    if cards is not None:
        post = cards.get((service, external_id))
    else:
        post = (
            SandboxPost.objects.filter(service=service, external_id=external_id)
            .values_list("pk", flat=True)
            .first()
        )
    url = reverse("channel_console:sandbox", args=[channel.slug])
    return f"{url}?post={post}" if post else url


def delivery_row(delivery: Delivery, *, may_resolve: bool, cards: dict | None = None) -> dict:
    channel = delivery.channel
    adapter = _adapter(channel)
    subscribers = bool(adapter and adapter.subscribers)
    row: dict = {
        "d": delivery,
        "channel": channel,
        "kind_label": Kind(channel.kind).label if channel.kind in Kind.values else channel.kind,
        "operation_label": Operation(delivery.operation).label,
        "state_label": _state_label(delivery),
        "symbol": STATE_SYMBOLS.get(delivery.state, ""),
        "moving": moving(delivery, adapter),
        "subscribers": subscribers,
        "post_url": delivery.url or sandbox_link(channel, delivery.external_id, cards),
        "resolve": may_resolve and delivery.state == S.UNKNOWN,
        "retry": False,
        "remove_by_hand": None,
        "paused_until": None,
    }
    if subscribers and delivery.recipients_total:
        if delivery.state == S.SENDING:
            counts = dict(
                Recipient.objects.filter(delivery=delivery)
                .values_list("state")
                .annotate(n=Count("pk"))
            )
            row["recipients"] = {
                "total": delivery.recipients_total,
                "sent": counts.get(S.SENT, 0),
                "failed": counts.get(S.FAILED, 0),
                "unknown": counts.get(S.UNKNOWN, 0),
            }
        else:
            row["recipients"] = {
                "total": delivery.recipients_total,
                "sent": delivery.recipients_sent,
                "failed": delivery.recipients_failed,
                "unknown": delivery.recipients_unknown,
            }
    if delivery.state == S.FAILED and delivery.permanent:
        if delivery.operation == Operation.DELETE:
            target = delivery.target
            row["remove_by_hand"] = {
                "url": (target.url or sandbox_link(channel, target.external_id, cards))
                if target
                else "",
            }
        elif may_resolve and adapter is not None:
            # After a fix (new credentials, a shorter text) a person may try once more.
            row["retry"] = delivery.operation == Operation.POST or adapter.can_edit
    if delivery.state in (S.PENDING, S.FAILED) and channel.status == ChannelStatus.PAUSED:
        row["paused_until"] = channel.paused_until
    return row


def delivery_panel_context(user, message) -> dict:
    """The deliveries panel of ``message`` for ``user`` (who may see the message)."""
    may_resolve = has_capability(user, roles.DELIVERIES_RESOLVE)
    found = list(
        Delivery.objects.filter(message=message).select_related("channel", "target").order_by("pk")
    )
    ids = {
        x.external_id
        for d in found
        if d.channel.sandbox
        for x in (d, d.target)
        if x is not None and x.external_id
    }
    cards = (
        {
            (service, external_id): pk
            for pk, service, external_id in SandboxPost.objects.filter(
                external_id__in=ids
            ).values_list("pk", "service", "external_id")
        }
        if ids
        else {}
    )
    rows = [delivery_row(d, may_resolve=may_resolve, cards=cards) for d in found]
    return {
        "message": message,
        "rows": rows,
        "polling": any(r["moving"] for r in rows),
        "waiting_for_person": sum(1 for r in rows if r["d"].state == S.UNKNOWN and not r["moving"]),
        "may_resolve": may_resolve,
        "fragment_url": reverse("channel_console:message-deliveries", args=[message.pk]),
        "now": timezone.now(),
    }


def attention_context(user) -> dict:
    """The dashboard's "Needs attention": unknown deliveries, stopped channels, open alerts."""
    from copps.newsroom import access

    context: dict = {"show": False}
    if has_capability(user, roles.MESSAGE_VIEW):
        unknown = (
            Delivery.objects.filter(state=S.UNKNOWN)
            .filter(message__in=access.visible_messages(user))
            .select_related("channel", "message")
            .order_by("updated_at")
        )
        first = list(unknown[:10])
        context["unknown"] = first
        context["unknown_count"] = len(first) if len(first) < 10 else unknown.count()
        context["stopped"] = list(
            Channel.objects.filter(enabled=True)
            .exclude(status=ChannelStatus.ACTIVE)
            .order_by("name")
        )
    if has_capability(user, roles.CHANNELS_MANAGE):
        context["may_manage"] = True
        context["alerts"] = list(
            Alert.objects.filter(acknowledged_at__isnull=True).select_related("channel")[:10]
        )
    context["show"] = bool(
        context.get("unknown_count") or context.get("stopped") or context.get("alerts")
    )
    return context


# Sandbox cards ----------------------------------------------------------------------------


def _initials(name: str) -> str:
    words = [w for w in name.replace("@", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def _alt_texts(value, depth: int = 0) -> list[str]:
    """Alternative texts of the images in a service's request body, wherever they sit."""
    if depth > 6:
        return []
    found: list[str] = []
    if isinstance(value, dict):
        for key in ("alt", "alt_text", "altText", "description"):
            text = value.get(key)
            if (
                isinstance(text, str)
                and text.strip()
                and (
                    key != "description"
                    or any(k in value for k in ("url", "file", "image", "blob"))
                )
            ):
                found.append(text.strip())
                break
        for item in value.values():
            if isinstance(item, (dict, list)):
                found.extend(_alt_texts(item, depth + 1))
    elif isinstance(value, list):
        for item in value[:20]:
            found.extend(_alt_texts(item, depth + 1))
    return found


def sandbox_card(post: SandboxPost, channel: Channel) -> dict:
    payload = post.payload if isinstance(post.payload, dict) else {}
    message = payload.get("message")
    if not isinstance(message, dict):
        message = {}
    title = payload.get("title") or message.get("title") or ""
    event = payload.get("event") if post.service == "webhook" else ""
    account = payload.get("account")
    if not isinstance(account, dict):
        account = {}
    # A readable handle: the channel's own, the service's account name, else the slug (never
    # a bare numeric account id).
    readable = post.account if post.account and not post.account.isdigit() else ""
    handle = channel.config.get("handle") or account.get("acct") or readable or channel.slug
    return {
        "post": post,
        "initials": _initials(channel.name),
        "display_name": channel.name,
        "handle": handle if str(handle).startswith("@") else f"@{handle}",
        "title": title if isinstance(title, str) else "",
        "event": event or "",
        "text": post.text,
        "alts": _alt_texts(payload)[:10],
    }
