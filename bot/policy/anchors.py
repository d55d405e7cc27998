"""Pattern keys: anchors, and wildcard keys under metadata.

A key such as `=(securityContext)` or `X(hostPath)` carries a modifier and
the field name it applies to. This module only reads such keys, and resolves
wildcard label and annotation keys to the resource's own keys; what each
anchor means during a match is decided in `patterns`. The reading follows
Kyverno exactly: surrounding whitespace is dropped, the name inside the
parentheses is kept as written, and the name must not be empty.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.policy import values


class AnchorKind(enum.Enum):
    """The modifier in front of the parentheses; the value is that modifier."""

    CONDITIONAL = ""
    """`(key)`: the rule applies only where this part matches."""
    GLOBAL = "<"
    """`<(key)`: like a condition, but a mismatch skips the whole rule."""
    EQUALITY = "="
    """`=(key)`: if the key is present, its value must match."""
    EXISTENCE = "^"
    """`^(key)`: at least one element of the list must match."""
    NEGATION = "X"
    """`X(key)`: the key must be absent."""
    ADD_IF_NOT_PRESENT = "+"
    """`+(key)`: a mutate anchor; validation treats the key as plain text."""


@dataclass(frozen=True)
class Anchor:
    kind: AnchorKind
    key: str

    def __str__(self) -> str:
        return f"{self.kind.value}({self.key})"


# NB: `.` stops at a newline here just as it does in Go's regexp.
_ANCHOR = re.compile(r"([+<=X^])?\((.+)\)")

VALIDATION_KINDS = frozenset(
    {
        AnchorKind.CONDITIONAL,
        AnchorKind.EQUALITY,
        AnchorKind.EXISTENCE,
        AnchorKind.NEGATION,
    }
)
"""Anchors a map settles before its other keys (Kyverno's first phase)."""


@functools.lru_cache(maxsize=4096)
def parse_anchor(key: str) -> Anchor | None:
    """Read an anchored key; None when the key is a plain field name."""
    found = _ANCHOR.fullmatch(values.trim_space(key))
    if found is None:
        return None
    return Anchor(AnchorKind(found.group(1) or ""), found.group(2))


def kind_of(key: str) -> AnchorKind | None:
    anchor = parse_anchor(key)
    return anchor.kind if anchor else None


def is_validation_anchor(key: str) -> bool:
    """True for the anchors a validate pattern may use, global included."""
    kind = kind_of(key)
    return kind is not None and kind is not AnchorKind.ADD_IF_NOT_PRESENT


def has_nested_anchors(pattern: Any) -> bool:
    """Tell whether a validation anchor sits anywhere inside a pattern value.

    Kyverno evaluates such keys before the plain ones of the same map, which
    decides whether a skip or a failure is seen first.
    """
    if isinstance(pattern, Mapping):
        if any(isinstance(key, str) and is_validation_anchor(key) for key in pattern):
            return True
        return any(has_nested_anchors(value) for value in pattern.values())
    if isinstance(pattern, list | tuple):
        return any(has_nested_anchors(value) for value in pattern)
    return False


def strip_anchor(key: str) -> str:
    """Give the field name of a key, anchored or not."""
    anchor = parse_anchor(key)
    return anchor.key if anchor else key


def expand_metadata_keys(
    pattern: Mapping[str, Any], resource: Mapping[str, Any]
) -> Mapping[str, Any]:
    """Resolve wildcard label and annotation keys against the resource.

    Kyverno does this for `metadata.labels` and `metadata.annotations` only:
    a key like `app.kubernetes.io/*` becomes the first matching resource key
    and keeps its anchor; a key that matches nothing stays as written, and
    so fails. Non-string values are dropped from such maps, as Kyverno does.
    """
    meta_key, meta_pattern = _find_tag("metadata", pattern)
    resource_meta = resource.get("metadata")
    if not isinstance(meta_pattern, Mapping) or resource_meta is None:
        return pattern
    expanded = dict(meta_pattern)
    for tag in ("labels", "annotations"):
        tag_key, wanted = _string_map(tag, meta_pattern)
        _, existing = _string_map(tag, resource_meta)
        if wanted is None or existing is None:
            continue
        resolved: dict[str, str] = {}
        for key, value in sorted(wanted.items()):
            if values.contains_wildcard(key):
                anchor = parse_anchor(key)
                name = anchor.key if anchor else key
                # Kyverno takes whichever matching key its map order yields;
                # the first in sorted order keeps the verdict repeatable.
                name = next((k for k in sorted(existing) if values.match_wildcard(name, k)), name)
                key = str(Anchor(anchor.kind, name)) if anchor else name
            resolved[key] = value
        expanded[tag_key] = resolved
    return {**pattern, meta_key: expanded}


def may_expand_metadata_keys(pattern: Mapping[str, Any]) -> bool:
    """Whether `expand_metadata_keys` can give anything but an equal map.

    It rewrites only wildcard keys, keys that are not text, and values that
    are not text in the pattern's labels and annotations; a pattern without
    any of these comes back equal whatever the resource holds, so a caller
    may skip the call.
    """
    _, meta_pattern = _find_tag("metadata", pattern)
    if not isinstance(meta_pattern, Mapping):
        return False
    for tag in ("labels", "annotations"):
        _, found = _find_tag(tag, meta_pattern)
        if isinstance(found, Mapping) and not all(
            isinstance(key, str) and isinstance(value, str) and not values.contains_wildcard(key)
            for key, value in found.items()
        ):
            return True
    return False


def _find_tag(tag: str, data: Mapping[Any, Any]) -> tuple[str, Any]:
    """Find a key naming `tag`, anchored or not; plain spelling wins."""
    if tag in data:
        return tag, data[tag]
    for key in sorted(k for k in data if isinstance(k, str)):
        if strip_anchor(key) == tag:
            return key, data[key]
    return "", None


def _string_map(tag: str, data: Any) -> tuple[str, dict[str, str] | None]:
    if not isinstance(data, Mapping):
        return "", None
    key, found = _find_tag(tag, data)
    if not isinstance(found, Mapping):
        return "", None
    return key, {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)}
