"""Semantic versions and ranges as `semver_compare` reads them.

Kyverno uses github.com/blang/semver v4: strict `MAJOR.MINOR.PATCH` versions
(no `v` prefix) and ranges such as `>=1.2.3 <2.0.0 || 3.x`. Two of its habits
decide results and are kept here:

- a version that does not parse is silently taken as 0.0.0 (Kyverno ignores
  the parse error), so `semver_compare('v1.2.3', '>1.0.0')` is false;
- wildcards are expanded textually, and `!` or `!=` with a wildcard turns into
  two conditions that are ANDed, so `!4.x.x` matches nothing at all.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

_DIGITS = frozenset("0123456789")
_ALPHANUMERIC = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-")


class SemverError(ValueError):
    """A range (or a version inside one) that blang/semver rejects."""


@dataclass(frozen=True)
class Version:
    major: int = 0
    minor: int = 0
    patch: int = 0
    prerelease: tuple[int | str, ...] = ()

    def compare(self, other: Version) -> int:
        mine = (self.major, self.minor, self.patch)
        theirs = (other.major, other.minor, other.patch)
        if mine != theirs:
            return -1 if mine < theirs else 1
        return _compare_prerelease(self.prerelease, other.prerelease)


def _compare_prerelease(mine: tuple[int | str, ...], theirs: tuple[int | str, ...]) -> int:
    # A release ranks above any of its pre-releases.
    if not mine or not theirs:
        return (len(theirs) > 0) - (len(mine) > 0)
    for left, right in zip(mine, theirs, strict=False):
        if left == right:
            continue
        if isinstance(left, int) and isinstance(right, int):
            return -1 if left < right else 1
        if isinstance(left, int):
            return -1
        if isinstance(right, int):
            return 1
        return -1 if left < right else 1
    return (len(mine) > len(theirs)) - (len(mine) < len(theirs))


def parse_version(text: str) -> Version:
    """blang/semver's strict `Parse`; raises SemverError on bad input."""
    parts = text.split(".", 2)
    if not text or len(parts) != 3:
        raise SemverError(f"no Major.Minor.Patch elements found in {text!r}")
    major, minor = _number(parts[0], "major"), _number(parts[1], "minor")

    # The third part carries the patch, then `-prerelease`, then `+build`.
    patch_text, _, build = parts[2].partition("+")
    if "+" in parts[2] and any(
        not item or not set(item) <= _ALPHANUMERIC for item in build.split(".")
    ):
        raise SemverError(f"invalid build metadata in {text!r}")
    patch_text, dash, prerelease_text = patch_text.partition("-")
    patch = _number(patch_text, "patch")
    prerelease: tuple[int | str, ...] = ()
    if dash:
        prerelease = tuple(_prerelease_part(item) for item in prerelease_text.split("."))
    return Version(major, minor, patch, prerelease)


def _number(text: str, name: str) -> int:
    if not text or not set(text) <= _DIGITS:
        raise SemverError(f"invalid character(s) found in {name} number {text!r}")
    if len(text) > 1 and text[0] == "0":
        raise SemverError(f"{name} number must not contain leading zeroes {text!r}")
    return int(text)


def _prerelease_part(text: str) -> int | str:
    if not text:
        raise SemverError("prerelease is empty")
    if set(text) <= _DIGITS:
        if len(text) > 1 and text[0] == "0":
            raise SemverError(f"prerelease number must not contain leading zeroes {text!r}")
        return int(text)
    if not set(text) <= _ALPHANUMERIC:
        raise SemverError(f"invalid character(s) found in prerelease {text!r}")
    return text


Predicate = Callable[[Version], bool]
_COMPARATORS: dict[str, Callable[[int, int], bool]] = {
    "": operator.eq,
    "=": operator.eq,
    "==": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "!": operator.ne,
    "!=": operator.ne,
}


def parse_range(text: str) -> Predicate:
    """blang/semver's `ParseRange`: `||` separates alternatives, spaces AND."""
    parts = _split_and_trim(text)
    alternatives: list[list[str]] = [[]]
    for index, part in enumerate(parts):
        if part == "||":
            if index == 0:
                raise SemverError("first element in range is '||'")
            alternatives.append([])
        else:
            alternatives[-1].append(part)
    if not alternatives[-1]:
        raise SemverError("last element in range is '||'")

    predicates = [[_condition(item) for item in _expand_wildcards(a)] for a in alternatives]
    return lambda version: any(all(check(version) for check in group) for group in predicates)


def _split_and_trim(text: str) -> list[str]:
    """Split on spaces, except spaces that follow an operator character."""
    result: list[str] = []
    last, previous = 0, ""
    for i, char in enumerate(text):
        if char == " " and previous not in (">", "<", "="):
            if last < i - 1:
                result.append(text[last:i])
            last = i + 1
        elif char != " ":
            previous = char
    if last < len(text) - 1:
        result.append(text[last:])
    return [item.replace(" ", "") for item in result]


def _split_operator(text: str) -> tuple[str, str]:
    for i, char in enumerate(text):
        if char in _DIGITS:
            return text[:i].strip(), text[i:]
    raise SemverError(f"could not get version from string: {text!r}")


# The operator each comparison with a wildcard version turns into.
_WILDCARD_OPERATORS = {
    ">": ">=", ">=": ">=", "<": "<", "<=": "<",
    "": "<", "=": "<", "==": "<", "!=": ">=", "!": ">=",
}  # fmt: skip


def _expand_wildcards(parts: list[str]) -> list[str]:
    """Rewrite `x` wildcards into plain comparisons, as blang/semver does."""
    expanded: list[str] = []
    for part in parts:
        if "x" not in part:
            expanded.append(part)
            continue
        op, version = _split_operator(part)
        pieces = version.split(".")
        wildcard = {3: "patch", 2: "minor"}.get(len(pieces)) if pieces[-1] == "x" else None
        flat = version.replace(".x.x", ".x", 1).replace(".x", ".0", 1)
        if len(flat.split(".")) == 2:
            flat += ".0"

        # Each operator becomes a new operator on a possibly bumped version.
        increment = op in (">", "<=", "", "=", "==", "!=", "!")
        if op in ("", "=", "=="):
            expanded.append(">=" + flat)
        elif op in ("!=", "!"):
            expanded.append("<" + flat)
        new_op = _WILDCARD_OPERATORS.get(op, "")
        target = _bump(flat, wildcard) if increment else flat
        expanded.append(new_op + target)
    return expanded


def _bump(version: str, wildcard: str | None) -> str:
    pieces = version.split(".")
    index = {"patch": 1, "minor": 0}.get(wildcard or "")
    if index is None:
        return ""
    try:
        pieces[index] = str(int(pieces[index]) + 1)
    except ValueError:
        return ""
    return ".".join(pieces)


def _condition(text: str) -> Predicate:
    op, version_text = _split_operator(text)
    compare = _COMPARATORS.get(op)
    if compare is None:
        raise SemverError(f"could not parse comparator {op!r} in {text!r}")
    try:
        bound = parse_version(version_text)
    except SemverError as error:
        raise SemverError(
            f"could not parse version {version_text!r} in {text!r}: {error}"
        ) from error
    return lambda version: compare(version.compare(bound), 0)
