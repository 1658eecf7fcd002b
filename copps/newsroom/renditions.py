"""Renditions: a message adapted to one channel's length rules, linking home when cut.

Counting follows each network's own rules: X and Mastodon count every link as 23 characters,
Bluesky counts graphemes, SMS counts GSM-7 septets (extension characters take two) or UCS-2
code units, with the per-segment limits of concatenated SMS.
"""

from dataclasses import dataclass

import regex
from django.utils.translation import gettext_lazy as _

URL_RE = regex.compile(r"https?://\S+")
GRAPHEME_RE = regex.compile(r"\X")

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")
ELLIPSIS = "…"


@dataclass(frozen=True)
class ChannelSpec:
    key: str
    label: str
    limit: int | None  # None: unlimited
    unit: str  # chars | graphemes | sms
    link_weight: int | None = None  # links count as this many characters (X, Mastodon)


CHANNELS: dict[str, ChannelSpec] = {
    "web": ChannelSpec("web", _("Website"), None, "chars"),
    "rss": ChannelSpec("rss", _("RSS/Atom feeds"), None, "chars"),
    "email": ChannelSpec("email", _("E-mail"), None, "chars"),
    "x": ChannelSpec("x", "X", 280, "chars", link_weight=23),
    "mastodon": ChannelSpec("mastodon", "Mastodon", 500, "chars", link_weight=23),
    "bluesky": ChannelSpec("bluesky", "Bluesky", 300, "graphemes"),
    "telegram": ChannelSpec("telegram", "Telegram", 4096, "chars"),
    "sms": ChannelSpec("sms", "SMS", 160, "sms"),
}
SHORT_CHANNELS = [key for key, spec in CHANNELS.items() if spec.limit]


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def sms_info(text: str) -> tuple[str, int, int]:
    """(encoding, units, segments) for an SMS text."""
    if is_gsm7(text):
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        single, multi = 160, 153
        encoding = "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
        encoding = "UCS-2"
    segments = 1 if units <= single else -(-units // multi)
    return encoding, units, segments


def measure(text: str, spec: ChannelSpec) -> int:
    if spec.unit == "graphemes":
        return len(GRAPHEME_RE.findall(text))
    if spec.unit == "sms":
        return sms_info(text)[1]
    if spec.link_weight:
        return len(URL_RE.sub("x" * spec.link_weight, text))
    return len(text)


def sms_limit(text: str) -> int:
    return 160 if is_gsm7(text) else 70


@dataclass(frozen=True)
class Rendition:
    channel: str
    language: str
    text: str
    length: int
    limit: int | None
    unit: str
    truncated: bool
    link: str
    encoding: str = ""
    segments: int = 0

    @property
    def label(self):
        return CHANNELS[self.channel].label


def _fit(full: str, link: str, spec: ChannelSpec) -> tuple[str, bool]:
    limit = spec.limit
    if limit is None:
        return full, False
    if spec.unit == "sms":
        limit = sms_limit(full + link)
    if measure(full, spec) <= limit:
        return full, False
    # SMS keeps to GSM-7 where it can: "…" would switch the whole text to UCS-2 (70 a segment).
    tail = f"{'...' if spec.unit == 'sms' else ELLIPSIS} {link}"
    # Cut grapheme by grapheme (never inside a character or emoji), then back to a word break.
    graphemes = GRAPHEME_RE.findall(full)
    lo, hi = 0, len(graphemes)
    while lo < hi:  # the longest prefix that still fits together with the link
        mid = (lo + hi + 1) // 2
        if measure("".join(graphemes[:mid]).rstrip() + tail, spec) <= limit:
            lo = mid
        else:
            hi = mid - 1
    cut = "".join(graphemes[:lo])
    if lo < len(graphemes) and " " in cut and not graphemes[lo].isspace():
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:.-\n") + tail, True


def render_text(
    channel: str,
    *,
    language: str,
    title: str,
    summary: str,
    full_text: str,
    link: str,
    signature: str = "",
) -> Rendition:
    """The pure rendition rule: works for saved messages and for text still in the editor.

    ``summary`` is what short channels carry (teaser, else the plain body); ``full_text`` is the
    plain body for unlimited channels; ``link`` is the permalink appended when text is cut.
    """
    spec = CHANNELS[channel]
    if spec.limit is None:
        text = f"{title}\n\n{full_text}"
        return Rendition(channel, language, text, len(text), None, spec.unit, False, link)
    full = f"{title}\n\n{summary}".strip()
    if signature:
        full += f"\n— {signature}"
    text, truncated = _fit(full, link, spec)
    encoding, segments = "", 0
    limit = spec.limit
    if spec.unit == "sms":
        encoding, _units, segments = sms_info(text)
        limit = sms_limit(text)
    return Rendition(
        channel, language, text, measure(text, spec), limit, spec.unit, truncated, link,
        encoding, segments,
    )


def render(message, channel: str, language: str | None = None) -> Rendition:
    """The text ``message`` would carry on ``channel`` in ``language``."""
    version = message.version_for(language) if language else message.primary_version()
    if version is None:
        raise ValueError("message has no language version")
    link = message.short_link() if channel == "sms" else message.permalink(version.language)
    body_text = version.body_text
    return render_text(
        channel,
        language=version.language,
        title=version.title,
        summary=version.teaser.strip() or body_text,
        full_text=body_text,
        link=link,
        signature=message.signature if message.is_personal else "",
    )


def render_all(message) -> list[Rendition]:
    """Every rendition the editor previews: each selected channel in each language."""
    channels = [c for c in CHANNELS if c in (message.channels or [])] or ["web"]
    return [render(message, c, v.language) for v in message.versions_list() for c in channels]
