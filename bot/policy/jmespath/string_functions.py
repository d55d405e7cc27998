"""Kyverno's string functions, with Go's `strings` package semantics.

Go maps case one character at a time (`ß` stays `ß` in upper case, where
Python writes `SS`), splits on an empty separator into characters, and trims
by a set of characters. The helpers below keep those rules, so a value that
Kyverno accepts is accepted here too.
"""

from __future__ import annotations

from bot.policy.jmespath.errors import FunctionError
from bot.policy.jmespath.signatures import NUMBER, STRING, signature


def go_upper(text: str) -> str:
    """Go's `strings.ToUpper`: simple (one-to-one) case mapping only."""
    return "".join(_single(char.upper(), char) for char in text)


def go_lower(text: str) -> str:
    """Go's `strings.ToLower`: simple (one-to-one) case mapping only."""
    return "".join(_single(char.lower(), char) for char in text)


def _single(mapped: str, original: str) -> str:
    return mapped if len(mapped) == 1 else original


def go_equal_fold(left: str, right: str) -> bool:
    """Go's `strings.EqualFold`: equal under simple case folding."""
    if len(left) != len(right):
        return False
    return all(
        a == b or go_lower(a) == go_lower(b) or go_upper(a) == go_upper(b)
        for a, b in zip(left, right, strict=True)
    )


def go_clean_path(path: str) -> str:
    """Go's `filepath.Join(path)` on Linux: `Clean`, but "" stays ""."""
    if not path:
        return ""
    rooted = path.startswith("/")
    parts: list[str] = []
    for element in path.split("/"):
        if element in ("", "."):
            continue
        if element != "..":
            parts.append(element)
        elif parts and parts[-1] != "..":
            parts.pop()
        elif not rooted:
            parts.append("..")
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


class StringFunctions:
    """Mixin for `KyvernoFunctions`; the `_func_` prefix registers each one."""

    @signature(STRING, STRING)
    def _func_compare(self, left: str, right: str) -> int:
        # Code point order equals the UTF-8 byte order Go compares.
        return (left > right) - (left < right)

    @signature(STRING, STRING)
    def _func_equal_fold(self, left: str, right: str) -> bool:
        return go_equal_fold(left, right)

    @signature(STRING, STRING, STRING, NUMBER)
    def _func_replace(self, text: str, old: str, new: str, count: float) -> str:
        # Go truncates the count; any negative count means "all".
        return text.replace(old, new, int(count))

    @signature(STRING, STRING, STRING)
    def _func_replace_all(self, text: str, old: str, new: str) -> str:
        return text.replace(old, new)

    @signature(STRING)
    def _func_to_upper(self, text: str) -> str:
        return go_upper(text)

    @signature(STRING)
    def _func_to_lower(self, text: str) -> str:
        return go_lower(text)

    @signature(STRING, STRING)
    def _func_trim(self, text: str, cutset: str) -> str:
        return text.strip(cutset) if cutset else text

    @signature(STRING, STRING)
    def _func_trim_prefix(self, text: str, prefix: str) -> str:
        return text.removeprefix(prefix)

    @signature(STRING, STRING)
    def _func_split(self, text: str, separator: str) -> list[str]:
        if not separator:
            return list(text)
        return text.split(separator)

    @signature(STRING, NUMBER)
    def _func_truncate(self, text: str, length: float) -> str:
        return text[: max(0, int(length))]

    @signature(STRING)
    def _func_path_canonicalize(self, path: str) -> str:
        return go_clean_path(path)

    @signature(STRING)
    def _func_to_boolean(self, text: str) -> bool:
        lowered = go_lower(text)
        if lowered in ("true", "false"):
            return lowered == "true"
        raise FunctionError(
            "to_boolean",
            f"lowercase argument must be 'true' or 'false' (provided: '{text}')",
        )
