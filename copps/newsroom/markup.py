"""Markdown in, safe HTML out: the one place message text becomes HTML.

Raw HTML in the Markdown is allowed through ``nh3`` only as far as the allowlist of
``copps.lib.sanitise``: scripts, styles, frames, images and event handler attributes are removed,
links keep only http(s), mailto and tel addresses and always get
``rel="noopener noreferrer nofollow"``.
"""

import html
import re
import threading

import markdown

from copps.lib import sanitise

_local = threading.local()


def _converter() -> markdown.Markdown:
    # Building a Markdown instance loads its extensions (most of the cost of a short text):
    # keep one per thread (an instance is not thread-safe) and reset it between texts.
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = markdown.Markdown(extensions=["extra", "sane_lists"], output_format="html")
    return md


def render_markdown(text: str) -> str:
    md = _converter()
    try:
        raw = md.reset().convert(text)
    except Exception:
        _local.md = None  # never reuse an instance left half-way through a text
        raise
    return sanitise.clean(raw, link_rel="noopener noreferrer nofollow")


_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[ \t]+")
_BLOCK_END = re.compile(r"</(p|li|h2|h3|h4|blockquote|tr)>")
_LINK = re.compile(r'<a href="([^"]*)"[^>]*>(.*?)</a>', re.DOTALL)


def _link_as_text(match: re.Match) -> str:
    url = html.unescape(match.group(1)).removeprefix("mailto:").removeprefix("tel:")
    label = match.group(2)
    plain = html.unescape(_TAG.sub("", label)).strip()
    if not plain or plain == url:
        return html.escape(url)
    return f"{label} ({html.escape(url)})"


def markdown_to_text(text: str) -> str:
    """Plain text for short channels: rendered, then stripped of every tag.

    A link keeps its address in brackets after its words, so it still works where only text
    goes (SMS, X, ...). The result is text, not HTML: escape it where it is shown.
    """
    safe = render_markdown(text)
    safe = _LINK.sub(_link_as_text, safe)
    safe = _BLOCK_END.sub("\n", safe)
    plain = html.unescape(_TAG.sub("", safe))
    lines = [_SPACE.sub(" ", line).strip() for line in plain.splitlines()]
    return "\n".join(line for line in lines if line)
