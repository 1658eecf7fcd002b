"""Markdown in, safe HTML out: the one place message text becomes HTML."""

import html
import re

import markdown
import nh3

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "a", "ul", "ol", "li", "blockquote", "h2", "h3", "h4",
    "code", "pre", "hr", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}}


def render_markdown(text: str) -> str:
    raw = markdown.markdown(text, extensions=["extra", "sane_lists"], output_format="html")
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
    )


_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[ \t]+")


def markdown_to_text(text: str) -> str:
    """Plain text for short channels: rendered, then stripped of every tag."""
    safe = render_markdown(text)
    safe = re.sub(r"</(p|li|h2|h3|h4|blockquote|tr)>", "\n", safe)
    plain = html.unescape(_TAG.sub("", safe))
    lines = [_SPACE.sub(" ", line).strip() for line in plain.splitlines()]
    return "\n".join(line for line in lines if line)
