"""Length per target channel: say which renditions will be cut and link to the full page."""

from django.utils.translation import gettext as _

from copps.newsroom import renditions

from .base import INFO, WARNING, Content, Finding


def check(content: Content) -> list[Finding]:
    message = content.message
    findings = []
    for version in content.versions:
        for channel in content.channels:
            spec = renditions.CHANNELS.get(channel)
            if spec is None or spec.limit is None:
                continue
            title_len = renditions.measure(version.title, spec)
            limit = renditions.sms_limit(version.title) if spec.unit == "sms" else spec.limit
            if title_len > limit - 30:
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
            if message is not None:
                r = renditions.render(message, channel, version.language)
                if r.truncated:
                    findings.append(
                        Finding(
                            "shortened",
                            INFO,
                            _("%(channel)s: shortened to %(n)s of %(limit)s, with a link to the full page.")
                            % {"channel": spec.label, "n": r.length, "limit": r.limit},
                            version.language,
                            "body",
                        )
                    )
    return findings
