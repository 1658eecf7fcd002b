"""The staff console for channel accounts and deliveries, mounted at /console/channels/
(namespace ``channel_console``).

Access checklist (ARCHITECTURE.md §6): anonymous -> login; staff without the capability -> 403
(``roles.CHANNELS_MANAGE`` for channel accounts, ``roles.DELIVERIES_RESOLVE`` to decide an unknown
outcome); a channel, alert, message or delivery that does not exist or that the user may not
see -> 404; wrong method -> 405; bad input -> the form again with field errors (422); someone
settled a delivery first -> 409. Writes go through ``copps.channels.actions``.

Every page works without JavaScript. With htmx, the deliveries panel of a message refreshes
itself every few seconds while some delivery is still moving, and stops once all are settled.
"""

from __future__ import annotations

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from copps.accounts import roles
from copps.newsroom import access
from copps.newsroom.views import console_view, error_page, forbidden, requires

from . import actions
from .console_forms import CancelDeliveryForm, ChannelForm, ResolveSentForm
from .models import Alert, Channel, ChannelStatus, Delivery, Kind, SandboxPost
from .panels import delivery_panel_context, sandbox_service
from .registry import adapter_class
from .states import DeliveryState

S = DeliveryState
MANAGE_REFUSAL = gettext_lazy("Only administrators configure channel accounts.")


def _channel(slug: str) -> Channel:
    channel = Channel.objects.filter(slug=slug).first()
    if channel is None:
        raise Http404
    return channel


def _list_url() -> str:
    return reverse("channel_console:list")


# Channel accounts --------------------------------------------------------------------------


@console_view
@require_safe
@requires(roles.CHANNELS_MANAGE, MANAGE_REFUSAL)
def channel_list(request):
    """Every channel account with its health, last outcomes and open alerts."""
    channels = list(
        Channel.objects.prefetch_related("audiences").annotate(
            waiting=Count(
                "deliveries",
                filter=Q(deliveries__state__in=[S.PENDING, S.FAILED], deliveries__permanent=False),
            ),
            unknown=Count("deliveries", filter=Q(deliveries__state=S.UNKNOWN)),
        )
    )
    alerts = list(Alert.objects.filter(acknowledged_at__isnull=True).select_related("channel"))
    by_channel: dict[int | None, list[Alert]] = {}
    for alert in alerts:
        by_channel.setdefault(alert.channel_id, []).append(alert)
    rows = [
        {
            "ch": channel,
            "open_alerts": by_channel.get(channel.pk, []),
            "last_test": actions.test_outcome(channel),
            "kind_label": Kind(channel.kind).label if channel.kind in Kind.values else channel.kind,
        }
        for channel in channels
    ]
    return render(
        request,
        "channels/console/channel_list.html",
        {
            "rows": rows,
            "alerts": alerts,
            "kinds": actions.available_kinds(),
        },
    )


@console_view
@require_safe
@requires(roles.CHANNELS_MANAGE, MANAGE_REFUSAL)
def channel_new(request):
    """Step one of adding an account: choose the kind of service."""
    return render(request, "channels/console/channel_kind.html", {"kinds": _kind_cards()})


def _kind_cards() -> list[dict]:
    cards = []
    for kind, label in actions.available_kinds():
        adapter = adapter_class(kind)
        facts = []
        if adapter.subscribers:
            facts.append(_("sends to subscribers"))
        if adapter.can_edit:
            facts.append(_("edits posts"))
        if adapter.can_delete:
            facts.append(_("deletes posts"))
        if adapter.idempotent:
            facts.append(_("safe retries"))
        elif adapter.can_find:
            facts.append(_("reads back unclear posts"))
        cards.append({"kind": kind, "label": label, "facts": " · ".join(str(f) for f in facts)})
    return cards


def _adapter_or_404(kind: str):
    if kind not in dict(actions.available_kinds()):
        raise Http404
    return adapter_class(kind)


@console_view
@require_http_methods(["GET", "HEAD", "POST"])
@requires(roles.CHANNELS_MANAGE, MANAGE_REFUSAL)
def channel_create(request, kind: str):
    """Step two: the account's settings. Saved only when the service accepts them."""
    adapter = _adapter_or_404(kind)
    status = 200
    if request.method == "POST":
        form = ChannelForm(request.POST, adapter=adapter)
        if form.is_valid():
            data = form.cleaned_data
            try:
                channel = actions.create_channel(
                    by=request.user,
                    kind=kind,
                    name=data["name"],
                    slug=data["slug"],
                    language=data["language"],
                    audiences=list(data["audiences"]),
                    sandbox=data["sandbox"],
                    config=form.config(),
                    secrets=form.new_secrets(),
                )
            except ValidationError as exc:
                form.apply_errors(exc.message_dict)
            except actions.CheckFailed as exc:
                form.add_error(
                    None,
                    _("The connection test failed, so the channel was not saved: %(reason)s")
                    % {"reason": exc},
                )
            else:
                flash.success(
                    request,
                    _("Channel “%(name)s” saved; the connection test passed.")
                    % {"name": channel.name},
                )
                return redirect(_list_url())
        status = 422
    else:
        form = ChannelForm(adapter=adapter)
    return render(
        request,
        "channels/console/channel_form.html",
        {"form": form, "kind": kind, "kind_label": Kind(kind).label, "channel": None},
        status=status,
    )


@console_view
@require_http_methods(["GET", "HEAD", "POST"])
@requires(roles.CHANNELS_MANAGE, MANAGE_REFUSAL)
def channel_edit(request, slug: str):
    channel = _channel(slug)
    try:
        adapter = adapter_class(channel.kind)
    except ImportError:
        raise Http404 from None
    status = 200
    if request.method == "POST":
        form = ChannelForm(request.POST, adapter=adapter, channel=channel)
        if form.is_valid():
            data = form.cleaned_data
            try:
                changed = actions.update_channel(
                    channel,
                    by=request.user,
                    name=data["name"],
                    language=data["language"],
                    audiences=list(data["audiences"]),
                    sandbox=data["sandbox"],
                    config=form.config(),
                    new_secrets=form.new_secrets(),
                    clear_secrets=form.cleared_secrets(),
                )
            except ValidationError as exc:
                form.apply_errors(exc.message_dict)
            except actions.CheckFailed as exc:
                form.add_error(
                    None,
                    _("The connection test failed, so the changes were not saved: %(reason)s")
                    % {"reason": exc},
                )
            else:
                if changed:
                    flash.success(request, _("Channel “%(name)s” saved.") % {"name": channel.name})
                else:
                    flash.info(request, _("Nothing changed."))
                return redirect(_list_url())
        status = 422
    else:
        form = ChannelForm(adapter=adapter, channel=channel)
    return render(
        request,
        "channels/console/channel_form.html",
        {
            "form": form,
            "kind": channel.kind,
            "kind_label": Kind(channel.kind).label,
            "channel": channel,
            "last_test": actions.test_outcome(channel),
        },
        status=status,
    )


@console_view
@require_POST
@requires(roles.CHANNELS_MANAGE, MANAGE_REFUSAL)
def channel_test(request, slug: str):
    channel = _channel(slug)
    outcome = actions.test_channel(channel, by=request.user)
    if outcome.ok:
        flash.success(
            request,
            _("Connection test of “%(name)s” passed: %(account)s")
            % {"name": channel.name, "account": outcome.text},
        )
    else:
        flash.error(
            request,
            _("Connection test of “%(name)s” failed: %(reason)s")
            % {"name": channel.name, "reason": outcome.text},
        )
    return redirect(_list_url())


@console_view
@require_POST
@requires(roles.CHANNELS_MANAGE, MANAGE_REFUSAL)
def channel_enabled(request, slug: str):
    channel = _channel(slug)
    wanted = request.POST.get("enabled")
    if wanted not in ("0", "1"):
        return error_page(
            request, 400, _("Bad request"), _("Choose whether to switch the channel on or off.")
        )
    actions.set_channel_enabled(channel, by=request.user, enabled=wanted == "1")
    if wanted == "1":
        flash.success(request, _("“%(name)s” is switched on.") % {"name": channel.name})
    else:
        flash.success(
            request,
            _("“%(name)s” is switched off. Deliveries for it wait until it is switched on again.")
            % {"name": channel.name},
        )
    return redirect(_list_url())


@console_view
@require_POST
@requires(roles.CHANNELS_MANAGE, MANAGE_REFUSAL)
def channel_resume(request, slug: str):
    channel = _channel(slug)
    if channel.status == ChannelStatus.ACTIVE:
        flash.info(request, _("“%(name)s” is already active.") % {"name": channel.name})
        return redirect(_list_url())
    outcome = actions.resume_channel(channel, by=request.user)
    if outcome.ok:
        flash.success(request, _("“%(name)s” is active again.") % {"name": channel.name})
    else:
        flash.error(
            request,
            _("“%(name)s” stays stopped: the connection test failed: %(reason)s")
            % {"name": channel.name, "reason": outcome.text},
        )
    return redirect(_list_url())


@console_view
@require_POST
@requires(roles.CHANNELS_MANAGE, gettext_lazy("Only administrators acknowledge alerts."))
def alert_acknowledge(request, pk: int):
    alert = Alert.objects.filter(pk=pk).first()
    if alert is None:
        raise Http404
    if actions.acknowledge_alert(alert, by=request.user):
        flash.success(request, _("Alert acknowledged."))
    else:
        flash.info(request, _("Someone already acknowledged this alert."))
    target = request.POST.get("next", "")
    return redirect(target if target in (reverse("console:home"), _list_url()) else _list_url())


# The sandbox viewer ------------------------------------------------------------------------


@console_view
@require_safe
@requires(roles.MESSAGE_VIEW)
def sandbox_view(request, slug: str):
    """What a sandbox account's service received, newest first, looking roughly like it."""
    channel = _channel(slug)
    if not channel.sandbox:
        raise Http404
    service = sandbox_service(channel.kind)
    posts = SandboxPost.objects.filter(service=service)
    others = Channel.objects.filter(kind=channel.kind, sandbox=True).exclude(pk=channel.pk)
    if others.exists():
        mine = Delivery.objects.filter(channel=channel)
        posts = posts.filter(
            Q(external_id__in=mine.exclude(external_id="").values("external_id"))
            | Q(idempotency_key__in=mine.values("key"))
        )
    single = request.GET.get("post", "")
    if single:
        posts = posts.filter(pk=single if single.isascii() and single.isdigit() else 0)
    page = Paginator(posts.order_by("-pk"), 20).get_page(request.GET.get("page"))
    from .panels import sandbox_card

    return render(
        request,
        "channels/console/sandbox.html",
        {
            "channel": channel,
            "service": service,
            "page": page,
            "cards": [sandbox_card(post, channel) for post in page.object_list],
            "single": bool(single),
            "may_manage": roles.has_capability(request.user, roles.CHANNELS_MANAGE),
        },
    )


# Deliveries of a message -------------------------------------------------------------------


@console_view
@require_safe
def message_deliveries(request, pk: int):
    """The deliveries panel of a message as an HTML fragment (htmx polls it)."""
    message = access.get_message_for(request.user, pk)
    return render(
        request,
        "channels/console/_deliveries_panel.html",
        delivery_panel_context(request.user, message),
    )


RESOLUTIONS = ("mark-sent", "send-again", "cancel")


@console_view
@require_POST
def delivery_resolve(request, pk: int, resolution: str):
    """A person decides an unknown outcome: it went out / send again / cancel."""
    if resolution not in RESOLUTIONS:
        raise Http404
    delivery = (
        Delivery.objects.select_related("channel", "message").filter(pk=pk).first()
        if str(pk).isdigit()
        else None
    )
    if delivery is None or not access.can_view(request.user, delivery.message):
        raise Http404
    if not actions.may_resolve(request.user, delivery):
        return forbidden(request, _("Only editors and administrators decide about deliveries."))
    back = reverse("console:message-detail", args=[delivery.message_id]) + "#deliveries"
    if resolution == "mark-sent":
        form: ResolveSentForm | CancelDeliveryForm = ResolveSentForm(request.POST)
        if not form.is_valid():
            return error_page(
                request,
                400,
                _("Check the address"),
                " ".join(str(e) for errors in form.errors.values() for e in errors),
                back_url=back,
            )
        done = actions.mark_delivery_sent(delivery, by=request.user, url=form.cleaned_data["url"])
        success = _("Marked as sent.")
    elif resolution == "send-again":
        if request.POST.get("checked") != "1":
            return error_page(
                request,
                400,
                _("Confirm first"),
                _(
                    "Tick “I checked: it is not on the channel” before sending again: if the "
                    "post is there after all, people will see it twice."
                ),
                back_url=back,
            )
        done = actions.send_delivery_again(delivery, by=request.user)
        success = _("It will be sent again.")
    else:
        form = CancelDeliveryForm(request.POST)
        reason = form.cleaned_data["reason"] if form.is_valid() else ""
        done = actions.cancel_delivery(delivery, by=request.user, reason=reason)
        success = _("Cancelled: it will not go out.")
    if not done:
        return error_page(
            request,
            409,
            _("Someone else acted first"),
            _(
                "This delivery changed while you were looking at it (someone decided, or a "
                "read-back settled it). Open the message again to see where it stands."
            ),
            back_url=back,
        )
    flash.success(request, success)
    return redirect(back)
