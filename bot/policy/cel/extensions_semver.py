"""The Kubernetes semver library: `semver("1.2.3").major()` and friends.

A version travels through CEL as its own text; `semver(x)` validates it and
each accessor parses again. Comparison functions are shared with quantities
(both have `isGreaterThan`), so `extensions_quantity` declares those and
calls `compare` here when both sides read as versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.policy.cel.signatures import Function, FunctionError, function, member

_IDENTIFIER = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    rf"(?:-({_IDENTIFIER}(?:\.{_IDENTIFIER})*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...]


def parse(text: str) -> Version | None:
    match = _SEMVER.fullmatch(text)
    if match is None:
        return None
    prerelease = tuple(match.group(4).split(".")) if match.group(4) else ()
    return Version(int(match.group(1)), int(match.group(2)), int(match.group(3)), prerelease)


def compare(left: str, right: str) -> int:
    a, b = _require(left), _require(right)
    core = (a.major, a.minor, a.patch), (b.major, b.minor, b.patch)
    if core[0] != core[1]:
        return -1 if core[0] < core[1] else 1
    # NB: a release ranks above any of its pre-releases (semver.org, rule 11).
    if a.prerelease == b.prerelease:
        return 0
    if not a.prerelease or not b.prerelease:
        return 1 if not a.prerelease else -1
    key_a, key_b = _prerelease_key(a.prerelease), _prerelease_key(b.prerelease)
    return -1 if key_a < key_b else 1


def semver(text: str) -> str:
    _require(text)
    return text


def is_semver(text: str) -> bool:
    return parse(text) is not None


def functions() -> list[Function]:
    return [
        function("semver", ("string",), "string", semver),
        function("isSemver", ("string",), "bool", is_semver),
        member("major", ("string",), "int", lambda text: _require(text).major),
        member("minor", ("string",), "int", lambda text: _require(text).minor),
        member("patch", ("string",), "int", lambda text: _require(text).patch),
    ]


def _require(text: str) -> Version:
    version = parse(text)
    if version is None:
        raise FunctionError(f"{text!r} is not a semantic version like 1.2.3")
    return version


def _prerelease_key(parts: tuple[str, ...]) -> tuple[tuple[int, int, str], ...]:
    # Numeric identifiers rank below alphanumeric ones and compare as numbers.
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in parts)
