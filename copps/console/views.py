"""The console dashboard: what needs attention, per role."""

from django.db.models import Count
from django.shortcuts import render
from django.views.decorators.http import require_safe

from copps.accounts import roles
from copps.accounts.roles import has_capability
from copps.newsroom import access
from copps.newsroom.models import Message
from copps.newsroom.views import console_view, corrections_queue_size, review_queue_size
from copps.newsroom.workflow import PUBLIC_STATES, State


@console_view
@require_safe
def home(request):
    """Counts per state, my drafts, the review queue and recent publications.

    Each block shows only when the role may see it: without MESSAGE_VIEW no message data at all.
    """
    user = request.user
    context: dict = {"may_view": has_capability(user, roles.MESSAGE_VIEW)}
    if context["may_view"]:
        visible = access.visible_messages(user)
        counts = dict(visible.order_by().values_list("state").annotate(n=Count("id")))
        context["states"] = [
            {"value": value, "label": label, "count": counts.get(value, 0)}
            for value, label in State.choices
        ]
        context["total"] = sum(counts.values())
        context["recent"] = list(
            visible.filter(state__in=PUBLIC_STATES)
            .prefetch_related("versions")
            .order_by("-published_at", "-pk")[:5]
        )
        if has_capability(user, roles.MESSAGE_CREATE):
            context["may_create"] = True
            context["my_drafts"] = list(
                Message.objects.filter(author=user, state=State.DRAFT)
                .prefetch_related("versions")
                .order_by("-updated_at")[:10]
            )
            context["my_submitted"] = Message.objects.filter(
                author=user, state=State.SUBMITTED
            ).count()
    if has_capability(user, roles.MESSAGE_REVIEW):
        context["may_review"] = True
        context["queue_size"] = review_queue_size(user)
        context["corrections_size"] = corrections_queue_size(user)
    return render(request, "console/home.html", context)
