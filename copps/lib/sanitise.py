"""The one HTML allowlist for message text: what the Markdown renderer may produce, and what a
newsletter body may contain (nh3, the Rust ammonia sanitiser)."""

import nh3

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "a",
    "ul",
    "ol",
    "li",
    "blockquote",
    "h2",
    "h3",
    "h4",
    "code",
    "pre",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}


def clean(fragment: str, *, link_rel: str = "noopener noreferrer") -> str:
    """``fragment`` with everything outside the allowlist removed (scripts, handlers, styles,
    ``javascript:`` links)."""
    return nh3.clean(
        fragment or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=link_rel,
    )
