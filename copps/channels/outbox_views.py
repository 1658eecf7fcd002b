"""The console's outbox: what the demo's local SMTP sink received (``copps smtp_sink``).

Access checklist: anonymous -> the login page; signed in without ``roles.MESSAGE_PUBLISH``
(editors and administrators have it) -> 403; a name that is not a stored message (including
anything that is not exactly ``<20 digits>-<12 hex>``, so no path can leave the folder) -> 404;
any method but GET/HEAD -> 405. Read-only: nothing here writes.

The HTML part of a message is shown in a sandboxed frame (``<iframe sandbox>``) loaded from
``outbox:html``, which serves it sanitised with nh3 and under its own strict policy: no scripts,
no network (remote images and fonts stay out, so tracking pixels cannot call home), inline
styles only, framable by the console alone.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from functools import wraps

import nh3
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_safe

from copps.accounts import roles

from . import smtp_sink

PER_PAGE = 50
# The headers the detail page shows first (the rest are under "All headers").
SHOWN_HEADERS = (
    "From",
    "To",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Id",
    "Precedence",
    "Auto-Submitted",
    "Content-Language",
)
FRAME_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "small",
    "span",
    "strong",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
FRAME_ATTRIBUTES = {
    "*": {"style", "lang", "dir", "title", "role", "align"},
    "a": {"href"},
    "td": {"colspan", "rowspan", "width"},
    "th": {"colspan", "rowspan", "scope", "width"},
    "table": {"width", "cellpadding", "cellspacing", "border"},
}
# The framed HTML part: nothing may run or load; only its own inline styles apply.
FRAME_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'; sandbox"
)


def _forbidden(request):
    return render(
        request,
        "console/error.html",
        {
            "heading": _("Not allowed"),
            "explanation": _("The outbox is open to editors and administrators."),
        },
        status=403,
    )


def outbox_view(view):
    """Signed in (else the login page) and allowed to see the outbox (else 403)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        # Editors and administrators: those who publish, and so check what went out.
        if not roles.has_capability(request.user, roles.MESSAGE_PUBLISH):
            return _forbidden(request)
        return view(request, *args, **kwargs)

    return wrapper


def _get(name: str, *, headers_only: bool = False) -> smtp_sink.Stored:
    stored = smtp_sink.read(name, headers_only=headers_only)
    if stored is None:
        raise Http404
    return stored


def _received(stored: smtp_sink.Stored) -> datetime:
    return datetime.fromtimestamp(stored.received, tz=UTC)


@require_safe
@outbox_view
def outbox_list(request):
    page = Paginator(smtp_sink.names(), PER_PAGE).get_page(request.GET.get("page"))
    rows = []
    for name in page.object_list:
        stored = smtp_sink.read(name, headers_only=True)
        if stored is not None:  # removed by the sink's pruning meanwhile
            rows.append({"stored": stored, "received": _received(stored)})
    return render(
        request,
        "channels/outbox/list.html",
        {"page": page, "rows": rows, "folder": str(smtp_sink.outbox_dir())},
    )


def _part(stored: smtp_sink.Stored, subtype: str) -> str | None:
    """The decoded text of the message's text/<subtype> part (None: there is none or it is
    unreadable; a message from outside may be malformed)."""
    try:
        part = stored.message.get_body((subtype,))
        if part is None:
            return None
        content = part.get_content()
    except (LookupError, ValueError, KeyError, AttributeError, TypeError):
        return None
    return content if isinstance(content, str) else None


def _header_value(message, name: str) -> str:
    try:
        values = message.get_all(name) or []
    except Exception:  # a malformed header from outside
        return ""
    return " · ".join(" ".join(str(v).split()) for v in values)[:2000]


@require_safe
@outbox_view
def outbox_detail(request, name: str):
    stored = _get(name)
    message = stored.message
    shown = [(h, _header_value(message, h)) for h in SHOWN_HEADERS]
    shown = [(h, v) for h, v in shown if v]
    try:
        raw_headers = [(k, " ".join(str(v).split())[:2000]) for k, v in message.items()]
    except Exception:
        raw_headers = []
    return render(
        request,
        "channels/outbox/detail.html",
        {
            "stored": stored,
            "received": _received(stored),
            "headers": shown,
            "all_headers": raw_headers,
            "text": _part(stored, "plain"),
            "has_html": _part(stored, "html") is not None,
        },
    )


def clean_html(markup: str) -> str:
    return nh3.clean(
        markup,
        tags=FRAME_TAGS,
        attributes=FRAME_ATTRIBUTES,
        clean_content_tags={"script", "style", "title", "head"},
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
    )


@require_safe
@outbox_view
@xframe_options_sameorigin
def outbox_html(request, name: str):
    stored = _get(name)
    markup = _part(stored, "html")
    if markup is None:
        raise Http404
    document = (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(stored.subject)}</title></head>"
        f'<body style="margin:0">{clean_html(markup)}</body></html>'
    )
    response = HttpResponse(document, content_type="text/html; charset=utf-8")
    # Set here, so the site-wide policy (which forbids framing) is not applied on top.
    response["Content-Security-Policy"] = FRAME_POLICY
    response["Cache-Control"] = "private, no-store"
    return response
