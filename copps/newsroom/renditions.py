"""Renditions: a message adapted to one channel's length rules, linking home when cut.

Counting follows each network's own rules:

- X: twitter-text v3 weights — most Latin, Greek, Cyrillic, Hebrew, Arabic … characters count
  1, others (CJK, most symbols, "…") count 2, an emoji counts 2 however many code points it
  has, every link counts 23 (bare domains like ``politie.be`` are links on X too);
- Mastodon: grapheme clusters, links count 23, ``@user@server`` counts as ``@user``;
- Bluesky: grapheme clusters (an emoji or a letter with combining marks is 1);
- SMS: GSM-7 septets (extension characters such as € take two) or, as soon as one character is
  outside GSM-7, UCS-2 code units; one SMS holds 160 / 70, a concatenated one 153 / 67 a segment;
- Telegram: UTF-16 code units (what its 4096 limit is measured in);
- web, feeds and e-mail: unlimited.

When the text does not fit it is cut at a word break (never inside a word or a grapheme), ends in
an ellipsis and the permalink is appended (the short link ``/m/<id>`` for SMS); the signature of a
personal post is kept whole after the cut. A rendition that carries the teaser instead of the
whole text also ends in the permalink, so readers can always reach the full message.
"""

import unicodedata
from dataclasses import dataclass

import regex
from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

URL_RE = regex.compile(r"https?://[^\s<>\"]+?(?=[.,;:!?)\]'\"]*(?:\s|$))")
# X also links bare domains; counting them as links errs on the safe side (23 is the most X counts).
X_URL_RE = regex.compile(
    r"https?://[^\s<>\"]+?(?=[.,;:!?)\]'\"]*(?:\s|$))"
    r"|(?<![@\w.-])(?:[a-z0-9-]+\.)+(?:be|com|org|net|eu|nl|fr|de|lu|info|gov|brussels|vlaanderen)"
    r"(?:/[^\s<>\"]*?)?(?=[.,;:!?)\]'\"]*(?:\s|$))",
    regex.IGNORECASE,
)
MENTION_RE = regex.compile(r"(?<![\w@])(@\w+)@[\w.-]+\w")
GRAPHEME_RE = regex.compile(r"\X")
EMOJI_RE = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}]")
# twitter-text v3: code points in these ranges weigh 1, all others 2.
X_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
# Typography that editors paste in but that would switch a whole SMS to UCS-2 (70 a segment)
# for no visible gain. Letters are never changed: names keep their spelling.
SMS_PLAIN = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "–": "-",
        "—": "-",
        "…": "...",
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
    }
)
ELLIPSIS = "…"
SIGNATURE_DASH = "—"


@dataclass(frozen=True)
class ChannelSpec:
    key: str
    label: str | Promise  # lazily translated for the web-like channels
    limit: int | None  # None: unlimited
    unit: str  # chars | graphemes | weighted | utf16 | sms
    link_weight: int | None = None  # links count as this many characters (X, Mastodon)


CHANNELS: dict[str, ChannelSpec] = {
    "web": ChannelSpec("web", _("Website"), None, "chars"),
    "rss": ChannelSpec("rss", _("RSS/Atom feeds"), None, "chars"),
    "email": ChannelSpec("email", _("E-mail"), None, "chars"),
    "x": ChannelSpec("x", "X", 280, "weighted", link_weight=23),
    "mastodon": ChannelSpec("mastodon", "Mastodon", 500, "graphemes", link_weight=23),
    "bluesky": ChannelSpec("bluesky", "Bluesky", 300, "graphemes"),
    "telegram": ChannelSpec("telegram", "Telegram", 4096, "utf16"),
    "sms": ChannelSpec("sms", "SMS", 160, "sms"),
    "facebook": ChannelSpec("facebook", "Facebook", None, "chars"),
    "instagram": ChannelSpec("instagram", "Instagram", 2200, "graphemes"),
    "linkedin": ChannelSpec("linkedin", "LinkedIn", 3000, "graphemes"),
    "youtube": ChannelSpec("youtube", "YouTube", 5000, "graphemes"),
    # A push notification shows a title and about two lines of text.
    "push": ChannelSpec("push", _("Web push"), 180, "graphemes"),
    "webhook": ChannelSpec("webhook", _("Webhook"), None, "chars"),
    # copps' own ActivityPub accounts: the full text (Mastodon and others show remote posts whole).
    "fediverse": ChannelSpec("fediverse", _("Fediverse (own accounts)"), None, "chars"),
}
SHORT_CHANNELS = [key for key, spec in CHANNELS.items() if spec.limit]

SMS_SINGLE = {"GSM-7": 160, "UCS-2": 70}
SMS_SEGMENT = {"GSM-7": 153, "UCS-2": 67}


def sms_max_segments() -> int:
    """How many concatenated segments one SMS rendition may use (settings, default 1)."""
    return settings.COPPS_SMS_MAX_SEGMENTS


# SMS ------------------------------------------------------------------------------------------


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def _sms_units(text: str, encoding: str) -> list[int]:
    """The size of each character that cannot be split across segments, in the encoding's units."""
    if encoding == "GSM-7":
        return [2 if ch in GSM7_EXTENDED else 1 for ch in text]
    return [len(ch.encode("utf-16-le")) // 2 for ch in text]  # surrogate pairs stay together


def sms_info(text: str) -> tuple[str, int, int]:
    """(encoding, units, segments) of ``text`` sent as one (possibly concatenated) SMS.

    Segments are counted by packing, as phones do: an escaped GSM-7 character or a UTF-16
    surrogate pair is never split across two segments.
    """
    encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    sizes = _sms_units(text, encoding)
    units = sum(sizes)
    if units <= SMS_SINGLE[encoding]:
        return encoding, units, 1 if text else 0
    per_segment, segments, used = SMS_SEGMENT[encoding], 1, 0
    for size in sizes:
        if used + size > per_segment:
            segments, used = segments + 1, 0
        used += size
    return encoding, units, segments


def sms_limit(text: str, segments: int = 1) -> int:
    """How many units ``text``'s encoding allows in ``segments`` SMS segments."""
    encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    return SMS_SINGLE[encoding] if segments <= 1 else SMS_SEGMENT[encoding] * segments


# Counting -------------------------------------------------------------------------------------


def _x_weight(grapheme: str) -> int:
    if EMOJI_RE.search(grapheme):
        return 2
    return sum(1 if any(lo <= ord(ch) <= hi for lo, hi in X_LIGHT_RANGES) else 2 for ch in grapheme)


def measure(text: str, spec: ChannelSpec) -> int:
    """The length of ``text`` as ``spec``'s network counts it."""
    if spec.unit == "sms":
        return sms_info(text)[1]
    if spec.unit == "utf16":
        return len(text.encode("utf-16-le")) // 2
    if spec.unit == "chars":
        return len(text)
    text = unicodedata.normalize("NFC", text)
    if spec.unit == "weighted":
        links = len(X_URL_RE.findall(text))
        rest = X_URL_RE.sub("", text)
        return links * (spec.link_weight or 0) + sum(
            _x_weight(g) for g in GRAPHEME_RE.findall(rest)
        )
    if spec.link_weight:  # Mastodon: a link is 23 plain characters, a mention its local part
        text = MENTION_RE.sub(r"\1", URL_RE.sub("x" * spec.link_weight, text))
    return len(GRAPHEME_RE.findall(text))


def fits(text: str, spec: ChannelSpec) -> bool:
    if spec.limit is None:
        return True
    if spec.unit == "sms":
        return sms_info(text)[2] <= sms_max_segments()
    return measure(text, spec) <= spec.limit


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

    @property
    def over_limit(self) -> bool:
        """True only when even the link and signature alone do not fit (the editor must act)."""
        return self.limit is not None and self.length > self.limit


# Cutting --------------------------------------------------------------------------------------

_TRAILING = " \t\n,;:.-–—/(["


def _cut(head: str, tail: str, spec: ChannelSpec, ellipsis: str) -> str | None:
    """The longest start of ``head``, cut at a word break, that fits together with ``tail``.

    Returns None when not even the first word fits. Only whole graphemes are ever kept, and
    the cut is always just before whitespace, so no word is split.
    """
    # Text far beyond any limit can never be kept: looking at it only costs time.
    graphemes = GRAPHEME_RE.findall(head[: (spec.limit or 0) * 4 + 4096])
    breaks = [i for i in range(1, len(graphemes)) if graphemes[i].isspace()]

    def candidate(i: int) -> str:
        return "".join(graphemes[:i]).rstrip(_TRAILING) + ellipsis + tail

    lo, hi, best = 0, len(breaks) - 1, -1
    while lo <= hi:  # fits() is monotone in the prefix length, so bisect the word breaks
        mid = (lo + hi) // 2
        if fits(candidate(breaks[mid]), spec):
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    if best < 0 or not "".join(graphemes[: breaks[best]]).strip(_TRAILING):
        return None
    return candidate(breaks[best])


def _fit(head: str, signature_line: str, link: str, spec: ChannelSpec, *, always_link: bool):
    """(text, truncated) for a short channel; see the module docstring for the rules."""
    link_line = f"\n{link}" if link else ""
    whole = head + signature_line + (link_line if always_link else "")
    if fits(whole, spec):
        return whole, False
    sms_plain = spec.unit == "sms" and is_gsm7(head + signature_line + link)
    ellipsis = "..." if sms_plain else ELLIPSIS
    cut = _cut(head, signature_line + link_line, spec, ellipsis)
    if cut is not None:
        return cut, True
    # Not even one word fits beside the signature and the link: the title goes, they stay.
    bare = (signature_line.lstrip("\n") + link_line).lstrip("\n")
    if fits(bare, spec):
        return bare, True
    # Even the signature does not fit beside the link (a tiny SMS): cut through it as text.
    cut = _cut(head + signature_line, link_line, spec, ellipsis)
    return (cut if cut is not None else link), True


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
    plain body for unlimited channels; ``link`` is the permalink appended when the short text
    does not carry everything (cut, or a teaser); ``signature`` (personal posts) always stays.
    """
    spec = CHANNELS[channel]
    title, summary, full_text, signature = (
        unicodedata.normalize("NFC", s).strip() for s in (title, summary, full_text, signature)
    )
    if spec.limit is None:
        text = f"{title}\n\n{full_text}"
        if signature:
            text += f"\n\n{SIGNATURE_DASH} {signature}"
        return Rendition(channel, language, text, len(text), None, spec.unit, False, link)
    head = f"{title}\n\n{summary}".strip()
    dash = SIGNATURE_DASH
    if spec.unit == "sms":
        head, signature = head.translate(SMS_PLAIN), signature.translate(SMS_PLAIN)
        dash = "-"
    signature_line = f"\n{dash} {signature}" if signature else ""
    text, truncated = _fit(
        head, signature_line, link, spec, always_link=bool(link) and summary != full_text
    )
    encoding, segments, limit = "", 0, spec.limit
    if spec.unit == "sms":
        encoding, _units, segments = sms_info(text)
        limit = sms_limit(text, sms_max_segments())
    return Rendition(
        channel,
        language,
        text,
        measure(text, spec),
        limit,
        spec.unit,
        truncated,
        link,
        encoding,
        segments,
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
