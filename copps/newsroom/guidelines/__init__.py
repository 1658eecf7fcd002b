"""Guideline checks: the article's rules, run on submit and live while editing.

``check(content)`` takes a ``Content`` (saved or not) and returns findings, each with a severity.
A *blocking* finding stops submission unless an editor overrides it with a reason.
"""

from .base import BLOCKING, INFO, WARNING, Content, Finding, VersionText, check, has_blocking
from .words import pinned as pinned_word_lists

__all__ = [
    "BLOCKING",
    "INFO",
    "WARNING",
    "Content",
    "Finding",
    "VersionText",
    "check",
    "has_blocking",
    "pinned_word_lists",
]
