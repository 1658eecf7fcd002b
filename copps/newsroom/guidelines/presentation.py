"""Transparency and accessibility: identify yourself; every image has alternative text."""

from django.utils.translation import gettext as _

from .base import BLOCKING, Content, Finding


def check(content: Content) -> list[Finding]:
    findings = []
    if content.is_personal and not content.signature.strip():
        findings.append(
            Finding(
                "missing_identity",
                BLOCKING,
                _("A personal post must say who writes it (name and function)."),
                field="signature",
            )
        )
    for index, alt in enumerate(content.image_alts, start=1):
        if not alt.strip():
            findings.append(
                Finding(
                    "missing_alt_text",
                    BLOCKING,
                    _("Image %(n)s has no alternative text.") % {"n": index},
                    field="images",
                )
            )
    return findings
