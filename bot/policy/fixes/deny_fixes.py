"""Deriving a fix from a `deny` rule's conditions.

A deny rule says when to reject, not what is acceptable, so a value can only
be derived where a condition pins one down: `NotEquals x` means "must be x",
`AnyNotIn [a, b]` means "must be a or b", `GreaterThan 3` means "at most 3".
The condition's key must be a plain path into the object (`{{
request.object.spec.replicas }}`); anything computed (functions, defaults,
projections) cannot be inverted, and the caller falls back to a guided fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.policy import operators
from bot.policy.fixes.patches import PatchOp, pointer

_SINGLE_VARIABLE = re.compile(r"^\{\{\s*(?!-)(?P<expr>[^{}]+?)\s*\}\}$")
_SEGMENT = re.compile(
    r'\.?(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|"(?P<quoted>[^"]+)"|\[(?P<index>\d+)\])'
)

PathResolver = Callable[[str], tuple[str | int, ...] | None]
"""Maps a JMESPath like `request.object.spec.x` to segments in the manifest."""


@dataclass(frozen=True)
class _Change:
    """How one condition is made false; no op when it already is."""

    op: PatchOp | None = None
    text: str = ""


@dataclass(frozen=True)
class DenyFix:
    ops: tuple[PatchOp, ...]
    summary: tuple[str, ...]


def request_object_path(expression: str) -> tuple[str | int, ...] | None:
    """Segments of a plain `request.object...` path, or None if it is anything else."""
    segments = parse_plain_path(expression)
    if segments is None or tuple(segments[:2]) != ("request", "object") or len(segments) < 3:
        return None
    return tuple(segments[2:])


def parse_plain_path(expression: str) -> list[str | int] | None:
    segments: list[str | int] = []
    position = 0
    expression = expression.strip()
    while position < len(expression):
        match = _SEGMENT.match(expression, position)
        if match is None or match.end() == position:
            return None
        if match.group("index") is not None:
            segments.append(int(match.group("index")))
        else:
            segments.append(match.group("name") or match.group("quoted"))
        position = match.end()
    return segments or None


def fix_deny(
    deny: Mapping[str, Any],
    resource: Mapping[str, Any],
    *,
    substitute_value: Callable[[Any], Any],
    resolve_path: PathResolver = request_object_path,
) -> DenyFix | None:
    """Patch ops that make the deny conditions false, where values can be derived.

    `substitute_value` resolves variables in a condition's value (the caller
    owns the evaluation context).
    """
    block = deny.get("conditions")
    blocks = block if isinstance(block, list) else [block]
    ops: list[PatchOp] = []
    summary: list[str] = []
    for conditions in blocks:
        if not isinstance(conditions, Mapping):
            return None
        # `any` denies if one holds: every one of them must be made false.
        for condition in conditions.get("any") or []:
            change = _falsify(condition, resource, substitute_value, resolve_path)
            if change is None:
                return None
            if change.op is not None:
                ops.append(change.op)
                summary.append(change.text)
        # `all` denies only if every one holds: making one false is enough.
        all_conditions = conditions.get("all") or []
        if all_conditions and not conditions.get("any"):
            changes = [
                _falsify(c, resource, substitute_value, resolve_path) for c in all_conditions
            ]
            usable = [c for c in changes if c is not None]
            if not usable:
                return None
            if any(c.op is None for c in usable):
                continue
            first = usable[0]
            if first.op is not None:
                ops.append(first.op)
                summary.append(first.text)
    if not ops:
        return None
    return DenyFix(tuple(ops), tuple(summary))


def _falsify(
    condition: Any,
    resource: Mapping[str, Any],
    substitute_value: Callable[[Any], Any],
    resolve_path: PathResolver,
) -> _Change | None:
    if not isinstance(condition, Mapping):
        return None
    key_text = condition.get("key")
    match = _SINGLE_VARIABLE.match(key_text) if isinstance(key_text, str) else None
    if match is None:
        return None
    segments = resolve_path(match.group("expr"))
    if segments is None:
        return None
    try:
        value = substitute_value(condition.get("value"))
    except Exception:  # an unresolvable value cannot guide a fix
        return None
    operator = str(condition.get("operator") or "")
    current = _lookup(resource, segments)
    if current is not _MISSING and not _holds(operator, current, value):
        return _Change()
    wanted = _value_making_false(operator, value, current)
    if wanted is _MISSING:
        return None
    path = pointer(*segments)
    op = PatchOp("replace" if current is not _MISSING else "add", path, wanted)
    if current is _MISSING and _lookup(resource, segments[:-1]) is _MISSING:
        return None  # the parent is missing too; leave it to a guided fix
    dotted = ".".join(str(s) for s in segments)
    return _Change(op, f"set {dotted} to {wanted!r}")


def _holds(operator: str, key: Any, value: Any) -> bool:
    try:
        return operators.evaluate_operator(operator, key, value)
    except operators.UnknownOperatorError:
        return True


_MISSING: Any = object()


def _value_making_false(operator: str, value: Any, current: Any) -> Any:
    """A key value for which `key <operator> value` does not hold."""
    name = operator.lower()
    if name in ("notequals", "notequal"):
        return value
    if name in ("notin", "anynotin", "allnotin") and isinstance(value, list) and value:
        return value[0]
    if name in ("equals", "equal") and isinstance(value, bool):
        return not value
    if isinstance(value, int | float) and not isinstance(value, bool):
        bound = int(value) if float(value).is_integer() else value
        if name == "greaterthan":
            return bound
        if name == "lessthan":
            return bound
        if name == "greaterthanorequals" and isinstance(bound, int):
            return bound - 1
        if name == "lessthanorequals" and isinstance(bound, int):
            return bound + 1
    return _MISSING


def _lookup(resource: Any, segments: Sequence[str | int]) -> Any:
    current = resource
    for segment in segments:
        if isinstance(segment, int):
            if not isinstance(current, list) or segment >= len(current):
                return _MISSING
            current = current[segment]
        else:
            if not isinstance(current, Mapping) or segment not in current:
                return _MISSING
            current = current[segment]
    return current
