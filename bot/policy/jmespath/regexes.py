"""Go (RE2) regular expressions run on Python's `re`, with Go's semantics.

The two dialects agree on what policies write, with a handful of exceptions
that this module smooths over:

- Go's `$` (without the `m` flag) and `\\z` match only at the very end; Python's
  `$` also matches before a final newline, so they become `\\Z`;
- Go's `\\d`, `\\w`, `\\s` and `\\b` are ASCII-only, hence `re.ASCII`;
- POSIX classes such as `[[:alpha:]]` are spelled out, `\\Q...\\E` is
  quoted, `(?<name>...)` and `\\x{...}` are translated;
- replacement templates use `$1` / `${name}` and Go's rule that an unknown
  group expands to nothing, and `ReplaceAll` skips an empty match right
  after a previous match, which Python's `re.sub` does not.

What Go rejects but Python accepts (lookarounds, backreferences) is allowed
through: Kyverno would have refused the policy before it ever reached us.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Callable
from functools import lru_cache

_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}


@lru_cache(maxsize=1024)
def compile_go(pattern: str) -> re.Pattern[str]:
    """Compile a Go regular expression; raises `re.error` where Python cannot."""
    translated = translate(pattern)
    # NB: Python warns about `[[` and `--` inside classes because it may give
    # them a meaning one day; today, like Go, it reads them literally.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return re.compile(translated, re.ASCII)


def translate(pattern: str) -> str:
    """Rewrite the Go-only spellings of a pattern into Python's."""
    multiline = re.search(r"\(\?[a-zA-Z]*m", pattern) is not None
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            piece, i = _escape(pattern, i)
            out.append(piece)
        elif char == "[":
            piece, i = _char_class(pattern, i)
            out.append(piece)
        elif char == "$" and not multiline:
            out.append("\\Z")
            i += 1
        elif pattern.startswith("(?<", i) and pattern[i + 3 : i + 4] not in ("=", "!"):
            out.append("(?P<")
            i += 3
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _escape(pattern: str, i: int) -> tuple[str, int]:
    following = pattern[i + 1 : i + 2]
    if following == "z":
        return "\\Z", i + 2
    if following == "Q":
        end = pattern.find("\\E", i + 2)
        literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
        return re.escape(literal), len(pattern) if end < 0 else end + 2
    if following == "x" and pattern[i + 2 : i + 3] == "{":
        end = pattern.find("}", i + 3)
        if end > 0:
            return f"\\U{int(pattern[i + 3 : end], 16):08x}", end + 1
    return pattern[i : i + 2], i + 2


def _char_class(pattern: str, i: int) -> tuple[str, int]:
    """Copy one bracketed class, spelling out POSIX classes inside it."""
    out = ["["]
    j = i + 1
    if pattern[j : j + 1] == "^":
        out.append("^")
        j += 1
    if pattern[j : j + 1] == "]":
        out.append("\\]")
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        if pattern[j] == "\\":
            piece, j = _escape(pattern, j)
            out.append(piece)
            continue
        match = re.match(r"\[:(\^?)([a-z]+):\]", pattern[j:])
        if match and match.group(2) in _POSIX_CLASSES:
            if match.group(1):
                raise re.error(f"negated POSIX class {match.group(0)} is not supported")
            out.append(_POSIX_CLASSES[match.group(2)])
            j += len(match.group(0))
            continue
        out.append(pattern[j])
        j += 1
    if j < len(pattern):
        out.append("]")
        j += 1
    return "".join(out), j


def expand_template(template: str, match: re.Match[str]) -> str:
    """Go's `Regexp.Expand`: `$1`, `${1}`, `$name`, `${name}` and `$$`."""
    out: list[str] = []
    rest = template
    while True:
        before, dollar, rest = rest.partition("$")
        out.append(before)
        if not dollar:
            return "".join(out)
        if rest.startswith("$"):
            out.append("$")
            rest = rest[1:]
            continue
        reference = _group_reference(rest)
        if reference is None:
            # A malformed reference leaves the `$` as text.
            out.append("$")
            continue
        name, rest = reference
        out.append(_group_text(match, name))


def _group_reference(text: str) -> tuple[str, str] | None:
    braced = text.startswith("{")
    body = text[1:] if braced else text
    end = 0
    while end < len(body) and _is_name_char(body[end]):
        end += 1
    if end == 0:
        return None
    if braced:
        if body[end : end + 1] != "}":
            return None
        return body[:end], body[end + 1 :]
    return body[:end], body[end:]


def _is_name_char(char: str) -> bool:
    return char == "_" or unicodedata.category(char)[0] == "L" or unicodedata.category(char) == "Nd"


def _group_text(match: re.Match[str], name: str) -> str:
    # A name of digits is a group number, unless it has a leading zero.
    if name.isascii() and name.isdigit() and not (len(name) > 1 and name[0] == "0"):
        number = int(name)
        if number <= (match.re.groups or 0):
            return match.group(number) or ""
        return ""
    if name in match.re.groupindex:
        return match.group(name) or ""
    return ""


def replace_all(
    pattern: re.Pattern[str], source: str, replacement: Callable[[re.Match[str]], str]
) -> str:
    """Go's `ReplaceAll`: like `re.sub`, but an empty match that directly
    follows the previous match is left alone."""
    out: list[str] = []
    last_end = position = 0
    while position <= len(source):
        match = pattern.search(source, position)
        if match is None:
            break
        start, end = match.span()
        out.append(source[last_end:start])
        if end > last_end or start == 0:
            out.append(replacement(match))
        last_end = end
        # Always move on by at least one character.
        position = position + 1 if position + 1 > end else end
    out.append(source[last_end:])
    return "".join(out)
