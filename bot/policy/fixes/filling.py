"""Filling a proposal's placeholders with values that are already decided.

Deny and CEL strategies leave a placeholder wherever a condition accepts
many values (`has(container.resources.limits.cpu)`). Some of those fields
have an answer that is not ours to invent but is already decided: the
manifest's own counterpart (a missing limit takes the request the team set)
or the platform's default (a LimitRange, the default StorageClass). Before
a fix is proven, each placeholder that stands alone as a field's whole value
is looked up in that order. Pattern fixes get the same answers inside the
pattern walk, where they also steer which value is chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.policy.fixes import values_synthesis
from bot.policy.fixes.patches import (
    PatchError,
    PatchOp,
    apply_patch,
    dotted,
    parse_pointer,
    value_at_pointer,
)
from bot.policy.fixes.platform_defaults import PlatformDefaults
from bot.policy.fixes.proposals import ProposedFix
from bot.policy.fixes.values_synthesis import Derived


def fill(
    manifest: Mapping[str, Any],
    ops: Sequence[PatchOp],
    placeholders: Sequence[str],
    summary: Sequence[str],
    defaults: PlatformDefaults,
) -> ProposedFix:
    """The proposal with every placeholder we can answer filled in."""
    unchanged = ProposedFix(tuple(ops), tuple(placeholders), tuple(summary))
    if not any(_holds_placeholder(op) for op in ops):
        return unchanged
    try:
        working: Any = apply_patch(dict(manifest), list(ops))
    except PatchError:
        return unchanged

    def lookup(at: Sequence[str | int]) -> Derived | None:
        for found in (values_synthesis.derive(working, at), defaults.value_for(working, at)):
            if found is not None and not values_synthesis.has_placeholder(found.value):
                return found
        return None

    filled_ops: list[PatchOp] = []
    lines: list[str] = []
    for op in ops:
        if not _holds_placeholder(op):
            filled_ops.append(op)
            continue
        value = _fill_value(op.value, _segments(op.path, manifest), lookup, lines)
        filled_ops.append(PatchOp(op.op, op.path, value))
    if not lines:
        return unchanged

    try:
        after = apply_patch(dict(manifest), filled_ops)
    except PatchError:
        return unchanged
    left = tuple(
        where
        for where in placeholders
        if not (
            values_synthesis.has_placeholder(value_at_pointer(working, where))
            and not values_synthesis.has_placeholder(value_at_pointer(after, where))
        )
    )
    # A line showing a placeholder the patch no longer holds now misstates it,
    # even when other pointers (a confirmation, another placeholder) remain.
    still = _placeholder_texts([op.value for op in filled_ops if op.op in ("add", "replace")])
    kept = tuple(
        line for line in summary if set(values_synthesis.PLACEHOLDER.findall(line)) <= still
    )
    return ProposedFix(tuple(filled_ops), left, (*kept, *lines))


def _fill_value(
    value: Any,
    at: tuple[str | int, ...],
    lookup: Callable[[Sequence[str | int]], Derived | None],
    lines: list[str],
) -> Any:
    if isinstance(value, str):
        if values_synthesis.PLACEHOLDER.fullmatch(value) is None:
            return value
        found = lookup(at)
        if found is None:
            return value
        lines.append(f"set {dotted(at)} to {found.value} ({found.note})")
        return found.value
    if isinstance(value, Mapping):
        return {k: _fill_value(v, (*at, str(k)), lookup, lines) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_value(item, (*at, i), lookup, lines) for i, item in enumerate(value)]
    return value


def _placeholder_texts(value: Any) -> set[str]:
    """Every placeholder text in a value, keys included."""
    if isinstance(value, str):
        return set(values_synthesis.PLACEHOLDER.findall(value))
    if isinstance(value, Mapping):
        return set().union(*(_placeholder_texts([k, v]) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(_placeholder_texts(item) for item in value))
    return set()


def _holds_placeholder(op: PatchOp) -> bool:
    return op.op in ("add", "replace") and values_synthesis.has_placeholder(op.value)


def _segments(path: str, manifest: Mapping[str, Any]) -> tuple[str | int, ...]:
    """A pointer as a path whose list indices are numbers, as lookups expect."""
    segments: list[str | int] = []
    node: Any = manifest
    for raw in parse_pointer(path):
        if isinstance(node, list) and raw.isdigit():
            segments.append(int(raw))
            node = node[int(raw)] if int(raw) < len(node) else None
        else:
            segments.append(raw)
            node = node.get(raw) if isinstance(node, Mapping) else None
    return tuple(segments)
