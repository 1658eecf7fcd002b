"""The staff console for the force's fediverse presence, mounted at /console/fediverse/
(namespace ``fediverse``): accounts and their followers, where each post went (per server),
blocked servers, and moderation of replies, mentions and reports.

Who may do what (capabilities from ``copps.accounts.roles``):

- see every page: ``MESSAGE_VIEW`` (all staff roles);
- create and edit accounts, follow and unfollow, block and unblock servers, let a paused or
  dead server be tried again: ``CHANNELS_MANAGE`` (administrators);
- moderation decisions (approve or reject an incoming reply, resolve a report, approve, refuse
  or remove a follower): ``MESSAGE_REVIEW`` (editors and administrators).

Access checklist (ARCHITECTURE.md §6): anonymous -> login; without the capability -> 403; an
account, follower, item, report, block, server or message that does not exist (or, for a
message, that the user may not see) -> 404; wrong method -> 405; bad input -> the page again
with the errors (422); a decision on something someone else decided meanwhile -> 409. Every
write goes through a named, audited action in ``copps.federation.actions``. Every page works
without JavaScript.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from copps.accounts import roles
from copps.accounts.roles import has_capability
from copps.channels.models import Delivery
from copps.newsroom import access
from copps.newsroom.views import console_view, requires

from . import actions, console_data, remote
from .forms import (
    ActorForm,
    BlockForm,
    BlocklistImportForm,
    DecisionForm,
    FollowForm,
    ResolveReportForm,
)
from .models import (
    Actor,
    DomainBlock,
    Follower,
    Following,
    FollowState,
    InboxItem,
    ItemKind,
    ItemState,
    ReactionKind,
    Report,
    ReportState,
    Server,
)

MANAGE_REFUSAL = gettext_lazy("Only administrators manage the fediverse accounts and blocks.")
REVIEW_REFUSAL = gettext_lazy("Only editors and administrators make moderation decisions.")


def _may(request) -> dict:
    user = request.user
    return {
        "may_manage": has_capability(user, roles.CHANNELS_MANAGE),
        "may_review": has_capability(user, roles.MESSAGE_REVIEW),
    }


def _get_or_404(queryset, **lookup):
    found = queryset.filter(**lookup).first()
    if found is None:
        raise Http404
    return found


def _actor(username: str) -> Actor:
    return _get_or_404(Actor.objects.select_related("area", "officer"), username=username)


def _conflict(request, explanation: str, back_url: str):
    return render(
        request,
        "federation/console/conflict.html",
        {
            "heading": _("Someone else acted first"),
            "explanation": explanation,
            "back_url": back_url,
        },
        status=409,
    )


# Overview -----------------------------------------------------------------------------------


@console_view
@require_safe
@requires(roles.MESSAGE_VIEW)
def overview(request):
    """Accounts with their followers and reactions, refused inbox requests, troubled servers,
    the queue of non-post activities, and the latest posts."""
    return render(
        request,
        "federation/console/overview.html",
        {
            "section": "overview",
            "actors": console_data.actor_rows(),
            "chart": console_data.rejection_chart(),
            "servers": console_data.troubled_servers(),
            "outgoing": console_data.outgoing_summary(),
            "counts": console_data.moderation_counts(),
            "posts": console_data.recent_posts(access.visible_messages(request.user)),
            **_may(request),
        },
    )


# Accounts -----------------------------------------------------------------------------------


def _actor_page(request, form: ActorForm, actor: Actor | None, status: int = 200):
    return render(
        request,
        "federation/console/actor_form.html",
        {
            "section": "overview",
            "form": form,
            "actor": actor,
            "handle": console_data.handle(actor) if actor else "",
        },
        status=status,
    )


@console_view
@require_http_methods(["GET", "HEAD", "POST"])
@requires(roles.CHANNELS_MANAGE, MANAGE_REFUSAL)
def actor_create(request):
    if request.method != "POST":
        return _actor_page(request, ActorForm(), None)
    form = ActorForm(request.POST, request.FILES)
    if not form.is_valid():
        return _actor_page(request, form, None, status=422)
    try:
        with transaction.atomic():
            actor = actions.create_actor(
                by=request.user, username=form.cleaned_data["username"], **form.profile()
            )
            if not form.cleaned_data["enabled"]:
                actions.set_enabled(actor, False, by=request.user)
    except IntegrityError:
        # Someone created the same name between the form's check and this save.
        form.add_error("username", _("There is already an account with this name."))
        return _actor_page(request, form, None, status=422)
    flash.success(
        request,
        _("Account %(handle)s created.") % {"handle": console_data.handle(actor)},
    )
    return redirect(reverse("fediverse:overview"))


def _delete_stored(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        default_storage.delete(name)


@console_view
@require_http_methods(["GET", "HEAD", "POST"])
@requires(roles.CHANNELS_MANAGE, MANAGE_REFUSAL)
def actor_edit(request, username: str):
    """Edit the profile: followers' servers get an Update of it (``actions.update_actor``)."""
    actor = _actor(username)
    if request.method != "POST":
        return _actor_page(request, ActorForm(actor=actor), actor)
    form = ActorForm(request.POST, request.FILES, actor=actor)
    if not form.is_valid():
        return _actor_page(request, form, actor, status=422)
    changes = form.changes()
    enabled, was_enabled = form.cleaned_data["enabled"], actor.enabled
    replaced = [getattr(actor, f).name for f in ("avatar", "header") if f in changes]
    replaced = [name for name in replaced if name]
    with transaction.atomic():
        if changes:
            actions.update_actor(actor, by=request.user, **changes)
        if enabled != was_enabled:
            actions.set_enabled(actor, enabled, by=request.user)
        if replaced:
            # The old images go once the new profile is stored; remote servers refetch it.
            transaction.on_commit(lambda: _delete_stored(replaced))
    if changes:
        flash.success(
            request,
            _("Profile of %(handle)s saved; followers' servers are told about it.")
            % {"handle": console_data.handle(actor)},
        )
    elif enabled != was_enabled:
        if enabled:
            flash.success(
                request, _("%(handle)s is switched on.") % {"handle": console_data.handle(actor)}
            )
        else:
            flash.success(
                request, _("%(handle)s is switched off.") % {"handle": console_data.handle(actor)}
            )
    else:
        flash.info(request, _("Nothing changed."))
    return redirect(reverse("fediverse:overview"))


# Followers and following --------------------------------------------------------------------

FOLLOWER_STATES = (FollowState.PENDING, FollowState.ACCEPTED)
# Seen from the account followed ("Following" is what it does itself, further down the page).
FOLLOWER_LABELS = {
    FollowState.PENDING: gettext_lazy("Waiting for approval"),
    FollowState.ACCEPTED: gettext_lazy("Accepted"),
}


def _followers_page(request, actor: Actor, *, follow_form=None, status: int = 200):
    state = request.GET.get("state", "")
    if state not in FOLLOWER_STATES:
        state = ""
    followers = Follower.objects.filter(actor=actor).select_related("remote")
    counts = dict(followers.order_by().values_list("state").annotate(n=Count("pk")))
    if state:
        followers = followers.filter(state=state)
    page = Paginator(followers.order_by("-created_at", "-pk"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "federation/console/followers.html",
        {
            "section": "overview",
            "actor": actor,
            "handle": console_data.handle(actor),
            "page": page,
            "state": state,
            "states": [(s, FOLLOWER_LABELS[s], counts.get(s, 0)) for s in FOLLOWER_STATES],
            "total": sum(counts.values()),
            "following": list(
                Following.objects.filter(actor=actor).select_related("remote").order_by("-pk")
            ),
            "follow_form": follow_form or FollowForm(),
            **_may(request),
        },
        status=status,
    )


@console_view
@require_safe
@requires(roles.MESSAGE_VIEW)
def followers(request, username: str):
    """Who follows the account (approve or refuse requests, remove followers) and whom it
    follows (follow another account, unfollow)."""
    return _followers_page(request, _actor(username))


def _followers_url(actor: Actor) -> str:
    return reverse("fediverse:followers", args=[actor.username])


FOLLOWER_DECISIONS = ("approve", "reject", "remove")


@console_view
@require_POST
@requires(roles.MESSAGE_REVIEW, REVIEW_REFUSAL)
def follower_decide(request, username: str, pk: int, decision: str):
    """Approve or refuse a follow request, or remove a follower (the follower's server gets an
    Accept or a Reject)."""
    if decision not in FOLLOWER_DECISIONS:
        raise Http404
    actor = _actor(username)
    follower = _get_or_404(Follower.objects.select_related("remote", "actor"), pk=pk, actor=actor)
    back = _followers_url(actor)
    wanted = FollowState.ACCEPTED if decision == "remove" else FollowState.PENDING
    if follower.state != wanted:
        return _conflict(
            request,
            _("This follower changed while you were looking (someone decided already)."),
            back,
        )
    who = follower.remote.handle
    if decision == "approve":
        actions.approve_follower(follower, by=request.user)
        flash.success(
            request,
            _("%(who)s now follows %(handle)s.")
            % {"who": who, "handle": console_data.handle(actor)},
        )
    else:
        reason = "request refused" if decision == "reject" else "follower removed"
        actions.reject_follower(follower, by=request.user, reason=reason)
        if decision == "reject":
            flash.success(request, _("The request of %(who)s was refused.") % {"who": who})
        else:
            flash.success(request, _("%(who)s no longer follows this account.") % {"who": who})
    return redirect(back)


@console_view
@require_POST
@requires(roles.CHANNELS_MANAGE, MANAGE_REFUSAL)
def follow(request, username: str):
    """Follow another account (a neighbouring force's news account): its posts then come into
    moderation. Looking the account up calls its server; its errors become form errors."""
    actor = _actor(username)
    form = FollowForm(request.POST)
    if form.is_valid():
        try:
            following = actions.follow(actor, form.cleaned_data["handle"], by=request.user)
        except remote.RemoteError as exc:
            form.add_error(
                "handle",
                _("That account could not be found or followed: %(reason)s") % {"reason": exc},
            )
        else:
            flash.success(
                request,
                _("Follow request sent to %(who)s.") % {"who": following.remote.handle},
            )
            return redirect(_followers_url(actor) + "#following")
    return _followers_page(request, actor, follow_form=form, status=422)


@console_view
@require_POST
@requires(roles.CHANNELS_MANAGE, MANAGE_REFUSAL)
def unfollow(request, username: str, pk: int):
    actor = _actor(username)
    following = _get_or_404(Following.objects.select_related("remote", "actor"), pk=pk, actor=actor)
    who = following.remote.handle
    actions.unfollow(following, by=request.user)
    flash.success(
        request,
        _("%(handle)s no longer follows %(who)s.")
        % {"handle": console_data.handle(actor), "who": who},
    )
    return redirect(_followers_url(actor) + "#following")


# Where a post went ----------------------------------------------------------------------------

SERVER_ROWS = 200


@console_view
@require_safe
@requires(roles.MESSAGE_VIEW)
def message_deliveries(request, pk: int):
    """A message's fediverse deliveries (Create, Update, Delete per account) with their copies
    grouped by server: state counts, attempts, last error, and each server's health."""
    message = access.get_message_for(request.user, pk)
    show_all = request.GET.get("all") == "1"
    found = (
        Delivery.objects.filter(message=message, channel__kind="activitypub")
        .select_related("channel__actor")
        .order_by("pk")
    )
    rows = []
    for delivery in found:
        servers = console_data.delivery_servers(delivery)
        settled = sum(1 for s in servers if s.open == 0)
        shown = servers if show_all else [s for s in servers if s.open]
        rows.append(
            {
                "d": delivery,
                "actor": getattr(delivery.channel, "actor", None),
                "operation": delivery.get_operation_display(),
                "state_label": delivery.get_state_display(),
                "symbol": console_data.STATE_SYMBOLS.get(delivery.state, ""),
                "totals": console_data.delivery_totals(servers),
                "servers": shown[:SERVER_ROWS],
                "cut": max(0, len(shown) - SERVER_ROWS),
                "hidden": 0 if show_all else settled,
            }
        )
    return render(
        request,
        "federation/console/deliveries.html",
        {
            "section": "overview",
            "message": message,
            "rows": rows,
            "show_all": show_all,
            "reactions": _reaction_counts(message),
            **_may(request),
        },
    )


def _reaction_counts(message) -> dict:
    counts = dict(
        message.fediverse_reactions.order_by().values_list("kind").annotate(n=Count("pk"))
    )
    return {
        "likes": counts.get(ReactionKind.LIKE, 0),
        "boosts": counts.get(ReactionKind.ANNOUNCE, 0),
    }


@console_view
@require_POST
@requires(roles.CHANNELS_MANAGE, MANAGE_REFUSAL)
def server_reset(request, pk: int):
    """Try a paused or dead server again now (it may have come back before copps noticed)."""
    server = _get_or_404(Server.objects.all(), pk=pk)
    actions.reset_server(server, by=request.user)
    flash.success(
        request, _("%(domain)s will be tried again in the next round.") % {"domain": server.domain}
    )
    back = request.POST.get("next", "")
    home = reverse("fediverse:overview")
    # Only back into this console: never an address someone slipped into the form.
    allowed = back.startswith(home) and url_has_allowed_host_and_scheme(back, allowed_hosts=None)
    return redirect(back if allowed else home)


# Blocks -------------------------------------------------------------------------------------


def _blocks_page(request, *, form=None, import_form=None, status: int = 200):
    page = Paginator(DomainBlock.objects.order_by("domain"), 100).get_page(request.GET.get("page"))
    return render(
        request,
        "federation/console/blocks.html",
        {
            "section": "blocks",
            "page": page,
            "form": form or BlockForm(),
            "import_form": import_form or BlocklistImportForm(),
            **_may(request),
        },
        status=status,
    )


def _blocks_url() -> str:
    return reverse("fediverse:blocks")


@console_view
@require_safe
@requires(roles.MESSAGE_VIEW)
def block_list(request):
    """The blocked servers, with forms for administrators to add one or import a list."""
    return _blocks_page(request)


@console_view
@require_POST
@requires(roles.CHANNELS_MANAGE, MANAGE_REFUSAL)
def block_add(request):
    form = BlockForm(request.POST)
    if not form.is_valid():
        return _blocks_page(request, form=form, status=422)
    data = form.cleaned_data
    block = actions.block_domain(
        by=request.user,
        domain=data["domain"],
        severity=data["severity"],
        comment=data["public_comment"],
    )
    flash.success(request, _("%(domain)s is blocked.") % {"domain": block.domain})
    return redirect(_blocks_url())


@console_view
@require_POST
@requires(roles.CHANNELS_MANAGE, MANAGE_REFUSAL)
def block_import(request):
    form = BlocklistImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _blocks_page(request, import_form=form, status=422)
    imported, errors = actions.import_blocklist(form.cleaned_data["blocklist"], by=request.user)
    flash.success(
        request,
        _("%(n)s servers blocked from the list.") % {"n": imported},
    )
    for error in errors[:10]:
        flash.warning(request, error)
    return redirect(_blocks_url())


@console_view
@require_POST
@requires(roles.CHANNELS_MANAGE, MANAGE_REFUSAL)
def block_remove(request, pk: int):
    block = _get_or_404(DomainBlock.objects.all(), pk=pk)
    domain = block.domain
    actions.unblock_domain(block, by=request.user)
    flash.success(request, _("%(domain)s is no longer blocked.") % {"domain": domain})
    return redirect(_blocks_url())


# Moderation ---------------------------------------------------------------------------------


def _item_filters(query) -> dict:
    state = query.get("state", ItemState.NEW)
    if state not in (*ItemState.values, "all"):
        state = ItemState.NEW
    kind = query.get("kind", "")
    if kind not in ItemKind.values:
        kind = ""
    return {"state": state, "kind": kind}


def _moderation_url(filters: dict, page: str = "") -> str:
    query = {k: v for k, v in filters.items() if v}
    if page and page.isdigit():
        query["page"] = page
    return reverse("fediverse:moderation") + ("?" + urlencode(query) if query else "")


def _moderation_page(request, *, bound: tuple[int, DecisionForm] | None = None, status=200):
    filters = _item_filters(request.GET)
    items = InboxItem.objects.select_related("remote", "actor", "message")
    if filters["state"] != "all":
        items = items.filter(state=filters["state"])
    if filters["kind"]:
        items = items.filter(kind=filters["kind"])
    page = Paginator(items.order_by("-received_at", "-pk"), 25).get_page(request.GET.get("page"))
    counts = dict(InboxItem.objects.order_by().values_list("state").annotate(n=Count("pk")))
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "federation/console/moderation.html",
        {
            "section": "moderation",
            "page": page,
            "filters": filters,
            "query": query,
            "page_query": urlencode(
                {**{k: v for k, v in filters.items() if v}, "page": page.number}
            ),
            "states": [(value, label, counts.get(value, 0)) for value, label in ItemState.choices],
            "kinds": ItemKind.choices,
            "bound_pk": bound[0] if bound else None,
            "bound_form": bound[1] if bound else None,
            "open_reports": Report.objects.filter(state=ReportState.OPEN).count(),
            **_may(request),
        },
        status=status,
    )


@console_view
@require_safe
@requires(roles.MESSAGE_VIEW)
def moderation(request):
    """Replies, mentions and followed accounts' posts, newest first, filtered by state and
    kind. The text is the sanitised HTML stored on arrival."""
    return _moderation_page(request)


ITEM_DECISIONS = ("approve", "reject")


@console_view
@require_POST
@requires(roles.MESSAGE_REVIEW, REVIEW_REFUSAL)
def item_decide(request, pk: int, decision: str):
    if decision not in ITEM_DECISIONS:
        raise Http404
    item = _get_or_404(InboxItem.objects.select_related("remote"), pk=pk)
    back = _moderation_url(_item_filters(request.GET), request.GET.get("page", ""))
    form = DecisionForm(request.POST, reject=decision == "reject")
    if not form.is_valid():
        return _moderation_page(request, bound=(item.pk, form), status=422)
    if form.cleaned_data["state"] != item.state:
        return _conflict(
            request,
            _("Someone decided about this item while you were looking at it. See the list again."),
            back,
        )
    actions.moderate(
        item, by=request.user, approve=decision == "approve", reason=form.cleaned_data["reason"]
    )
    if decision == "approve":
        flash.success(request, _("Approved: the item from %(who)s.") % {"who": item.remote.handle})
    else:
        flash.success(request, _("Rejected: the item from %(who)s.") % {"who": item.remote.handle})
    return redirect(back)


def _reports_page(request, *, bound: tuple[int, ResolveReportForm] | None = None, status=200):
    state = request.GET.get("state", ReportState.OPEN)
    if state not in (*ReportState.values, "all"):
        state = ReportState.OPEN
    reports = Report.objects.select_related("remote", "actor")
    if state != "all":
        reports = reports.filter(state=state)
    page = Paginator(reports.order_by("-pk"), 25).get_page(request.GET.get("page"))
    counts = dict(Report.objects.order_by().values_list("state").annotate(n=Count("pk")))
    return render(
        request,
        "federation/console/reports.html",
        {
            "section": "reports",
            "page": page,
            "state": state,
            "states": [
                (value, label, counts.get(value, 0)) for value, label in ReportState.choices
            ],
            "bound_pk": bound[0] if bound else None,
            "bound_form": bound[1] if bound else None,
            **_may(request),
        },
        status=status,
    )


@console_view
@require_safe
@requires(roles.MESSAGE_VIEW)
def reports(request):
    """Reports (Flag) other servers' moderators sent about our posts or accounts."""
    return _reports_page(request)


@console_view
@require_POST
@requires(roles.MESSAGE_REVIEW, REVIEW_REFUSAL)
def report_resolve(request, pk: int):
    report = _get_or_404(Report.objects.select_related("remote"), pk=pk)
    back = reverse("fediverse:reports")
    if report.state != ReportState.OPEN:
        return _conflict(request, _("Someone resolved this report already."), back)
    form = ResolveReportForm(request.POST)
    if not form.is_valid():
        return _reports_page(request, bound=(report.pk, form), status=422)
    actions.resolve_report(report, by=request.user, resolution=form.cleaned_data["resolution"])
    flash.success(request, _("Report resolved."))
    return redirect(back)
