"""Kyverno's wildcards: `*` for any run of characters, `?` for exactly one.

Unlike shell globbing there are no character classes, so `[` is literal.
Compiled patterns are cached because the same few patterns are matched
against every resource of a run.
"""

from __future__ import annotations

import re
from functools import lru_cache


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


@lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def wildcard_match(pattern: str, text: str) -> bool:
    """True when `text` matches `pattern` as a whole."""
    if pattern == "*" and isinstance(text, str):
        return True  # the most common pattern by far, and it matches any text
    if not has_wildcard(pattern):
        return pattern == text
    return _compile(pattern).fullmatch(text) is not None
