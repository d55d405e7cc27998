"""The small wording helpers PSA builds every forbidden detail from.

Details are compared character for character with real denials, so quoting,
pluralisation and sort order follow Go's output exactly, down to `%q`.
"""

from __future__ import annotations

from collections.abc import Iterable

_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def join_quote(items: Iterable[str]) -> str:
    """`"a", "b"`: every item in double quotes, without escaping (as PSA does)."""
    items = list(items)
    if not items:
        return ""
    return '"' + '", "'.join(items) + '"'


def pluralize(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def containers_phrase(names: list[str]) -> str:
    """`container "a"` or `containers "a", "b"`."""
    return f"{pluralize('container', 'containers', len(names))} {join_quote(names)}"


def go_quote(text: str) -> str:
    """Quote a string the way Go's `%q` verb does."""
    out = []
    for char in text:
        if char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif char == " " or char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def sorted_unique(values: Iterable[str]) -> list[str]:
    """Go's `sets.String.List()`: distinct values in byte order."""
    return sorted(set(values))
