"""Length per target channel: say which renditions will be cut and link to the full page.

Nothing here blocks: a cut rendition still links to the full message. A warning says when the
title nearly fills a post on its own, or when even the signature and the link do not fit.
"""

from django.conf import settings
from django.utils.translation import gettext as _

from copps.newsroom import renditions
from copps.newsroom.markup import markdown_to_text
from copps.newsroom.models import UNSAVED_ID, news_path, short_path

from .base import INFO, WARNING, Content, Finding, VersionText

# Room the title should leave for at least a few words of text and the link.
TITLE_MARGIN = 30


def link_for(content: Content, version: VersionText, channel: str) -> str:
    """The link a rendition of ``version`` carries: the saved message's id with the title as
    given, so the text in the editor and the same text saved measure exactly alike."""
    message = content.message
    pk = message.pk if message is not None and message.pk else UNSAVED_ID
    if channel == "sms":
        return settings.SITE_URL + short_path(pk)
    return settings.SITE_URL + news_path(pk, version.language, version.title)


def check(content: Content) -> list[Finding]:
    findings = []
    for version in content.versions:
        if not version.title.strip() and not version.body.strip():
            continue
        body_text = markdown_to_text(version.body)
        for channel in content.channels:
            spec = renditions.CHANNELS.get(channel)
            if spec is None or spec.limit is None:
                continue
            title_len = renditions.measure(version.title, spec)
            if spec.unit == "sms":
                limit = renditions.sms_limit(version.title, renditions.sms_max_segments())
            else:
                limit = spec.limit
            if title_len > limit - TITLE_MARGIN:
                findings.append(
                    Finding(
                        "title_too_long",
                        WARNING,
                        _("The title alone nearly fills a %(channel)s post (%(n)s of %(limit)s).")
                        % {"channel": spec.label, "n": title_len, "limit": limit},
                        version.language,
                        "title",
                    )
                )
            r = renditions.render_text(
                channel,
                language=version.language,
                title=version.title,
                summary=version.teaser.strip() or body_text,
                full_text=body_text,
                link=link_for(content, version, channel),
                signature=content.signature if content.is_personal else "",
            )
            if r.over_limit:
                findings.append(
                    Finding(
                        "rendition_too_long",
                        WARNING,
                        _(
                            "%(channel)s: even the signature and the link do not fit (%(n)s of %(limit)s)."
                        )
                        % {"channel": spec.label, "n": r.length, "limit": r.limit},
                        version.language,
                        "signature",
                    )
                )
            elif r.truncated:
                findings.append(
                    Finding(
                        "shortened",
                        INFO,
                        _(
                            "%(channel)s: shortened to %(n)s of %(limit)s, with a link to the full page."
                        )
                        % {"channel": spec.label, "n": r.length, "limit": r.limit},
                        version.language,
                        "body",
                    )
                )
    return findings
