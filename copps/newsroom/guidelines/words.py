"""Offensive or discriminatory terms, from the editable word lists (coaches keep them)."""

import regex
from django.utils.translation import gettext as _

from .base import BLOCKING, Content, Finding, fields_of


def _lists() -> dict[str, list[tuple[str, str]]]:
    from copps.newsroom.models import WordList

    by_language: dict[str, list[tuple[str, str]]] = {}
    for wl in WordList.objects.all():
        for term in wl.term_list():
            by_language.setdefault(wl.language, []).append((wl.category, term))
    return by_language


def check(content: Content) -> list[Finding]:
    lists = _lists()
    findings = []
    labels = {"offensive": _("Offensive term"), "discriminatory": _("Discriminatory term")}
    for version in content.versions:
        for category, term in lists.get(version.language, []):
            pattern = regex.compile(r"(?<!\w)" + regex.escape(term) + r"(?!\w)", regex.IGNORECASE)
            for field, text in fields_of(version):
                for m in pattern.finditer(text):
                    findings.append(
                        Finding(
                            f"{category}_term",
                            BLOCKING,
                            labels[category],
                            version.language,
                            field,
                            m.group(),
                            m.start(),
                            m.end(),
                        )
                    )
    return findings
