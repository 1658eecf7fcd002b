"""A word-level diff of two texts, for showing reviewers what a correction changes."""

import difflib
import re

# Words and the whitespace after them stay together, so a diff reads as whole words.
_TOKENS = re.compile(r"\S+\s*|\s+")


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """``[(op, text), ...]`` turning ``old`` into ``new``; op is "equal", "delete" or "insert".

    Joining the "equal" and "delete" texts gives ``old``; "equal" and "insert" give ``new``.
    """
    a, b = _TOKENS.findall(old or ""), _TOKENS.findall(new or "")
    result: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            result.append(("equal", "".join(a[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            result.append(("delete", "".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            result.append(("insert", "".join(b[j1:j2])))
    return result
