"""Template helpers for the staff console: navigation, capabilities, state badges.

``optional_url`` reverses a url name and returns '' when it does not (yet) exist, so the shared
navigation can link to pages other apps provide without breaking when one is missing.
"""

from django import template
from django.urls import NoReverseMatch, reverse

from copps.accounts import roles
from copps.accounts.roles import has_capability

register = template.Library()

# Template-facing capability names -> capability strings (templates cannot import constants).
CAPABILITIES = {
    "view_console": roles.VIEW_CONSOLE,
    "message_view": roles.MESSAGE_VIEW,
    "message_create": roles.MESSAGE_CREATE,
    "message_review": roles.MESSAGE_REVIEW,
    "message_override": roles.MESSAGE_OVERRIDE,
    "message_publish": roles.MESSAGE_PUBLISH,
    "audit_view": roles.AUDIT_VIEW,
    "guidelines_manage": roles.GUIDELINES_MANAGE,
    "pages_edit": roles.PAGES_EDIT,
    "users_manage": roles.USERS_MANAGE,
    "tokens_own": roles.TOKENS_OWN,
    "channels_manage": roles.CHANNELS_MANAGE,
    "deliveries_resolve": roles.DELIVERIES_RESOLVE,
    "blotter_manage": roles.BLOTTER_MANAGE,
    "blotter_import": roles.BLOTTER_IMPORT,
}


def safe_reverse(name: str, *args) -> str:
    """The path for ``name``, or '' when no such url is installed."""
    try:
        return reverse(name, args=args or None)
    except NoReverseMatch:
        return ""


@register.simple_tag
def optional_url(name: str, *args) -> str:
    """``{% optional_url 'pages:list' as url %}``: '' instead of NoReverseMatch."""
    return safe_reverse(name, *args)


@register.filter
def can(user, capability: str) -> bool:
    """``{% if user|can:"message_review" %}``: the role table decides (copps.accounts.roles)."""
    return has_capability(user, CAPABILITIES.get(capability, capability))


# (capability or None, url name, label, section key used for the "current page" marker)
def _nav_items():
    from django.utils.translation import gettext_lazy as _

    return [
        (roles.VIEW_CONSOLE, "console:home", _("Dashboard"), "home"),
        (roles.MESSAGE_VIEW, "console:message-list", _("Messages"), "messages"),
        (roles.MESSAGE_REVIEW, "console:review", _("Review queue"), "review"),
        (roles.MESSAGE_CREATE, "console:message-new", _("New message"), "new"),
        (roles.PAGES_EDIT, "pages:list", _("Pages"), "pages"),
        (roles.GUIDELINES_MANAGE, "console:guidelines", _("Guidelines"), "guidelines"),
        (roles.CHANNELS_MANAGE, "channel_console:list", _("Channels"), "channels"),
        (roles.MESSAGE_VIEW, "fediverse:overview", _("Fediverse"), "fediverse"),
        (roles.MESSAGE_VIEW, "notice_console:list", _("Notices"), "notices"),
        (
            (roles.INBOX_COMMUNICATION, roles.INBOX_INVESTIGATION),
            "inbox_console:queue",
            _("Inbox"),
            "inbox",
        ),
        (roles.INBOX_INVESTIGATION, "tip_console:list", _("Tips"), "tips"),
        (roles.MESSAGE_PUBLISH, "outbox:list", _("Outbox"), "outbox"),
        (
            (roles.BLOTTER_MANAGE, roles.BLOTTER_IMPORT),
            "blotter_console:overview",
            _("Blotter"),
            "blotter",
        ),
        (
            (roles.LISTENING_COMMUNICATION, roles.LISTENING_INVESTIGATION),
            "listening_console:overview",
            _("Listening"),
            "listening",
        ),
        (roles.EVENTS_VIEW, "crowd_console:events", _("Events"), "events"),
        (roles.CRISIS_MANAGE, "crowd_console:crisis", _("Crisis"), "crisis"),
        (roles.TOKENS_OWN, "accounts:tokens", _("API tokens"), "tokens"),
        (roles.VIEW_CONSOLE, "accounts:2fa-setup", _("Two-factor"), "2fa"),
        (roles.USERS_MANAGE, "accounts:users", _("Users"), "users"),
    ]


@register.inclusion_tag("console/_nav.html", takes_context=True)
def console_nav(context):
    """The main navigation: only the links this user's role may use, current page marked."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    path = request.path if request is not None else ""
    items = []
    for capability, name, label, _key in _nav_items():
        # One capability, or a tuple of which any one suffices (the inbox: either desk).
        wanted = capability if isinstance(capability, tuple) else (capability,)
        if not any(has_capability(user, c) for c in wanted):
            continue
        url = safe_reverse(name)
        if not url:
            continue
        items.append({"url": url, "label": label, "current": False})
    # The longest matching prefix is the current section (the dashboard only on exact match).
    best = None
    for item in items:
        matches = (
            path == item["url"]
            if item["url"].rstrip("/") == "/console"
            else path.startswith(item["url"])
        )
        if matches and (best is None or len(item["url"]) > len(best["url"])):
            best = item
    if best is not None:
        best["current"] = True
    return {"items": items}


@register.inclusion_tag("console/_state_badge.html")
def state_badge(state: str):
    """A state label with text and a symbol, never colour alone."""
    from copps.newsroom.workflow import State

    # Keyed by State members, looked up by the plain ``str`` value (TextChoices are str).
    symbols: dict[str, str] = {
        State.DRAFT: "✎",
        State.SUBMITTED: "◔",
        State.APPROVED: "✓",
        State.SCHEDULED: "◷",
        State.PUBLISHED: "●",
        State.CORRECTED: "✱",
        State.RETRACTED: "⊘",
        State.EXPIRED: "○",
    }
    label = State(state).label if state in State.values else state
    return {"state": state, "label": label, "symbol": symbols.get(state, "")}


@register.filter
def get_item(mapping, key):
    """``{{ counts|get_item:state }}`` for dicts in templates."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None
