"""Edits a deny fix is made of, and how they become JSON patch operations.

Deny fixes are decided as edits on manifest paths: set a field (creating
the maps above it), append to a list (creating it), remove a field or a list
element. Several edits often touch one list, so they are turned into RFC
6902 operations one at a time against a working copy: removals go last and
from the highest index down, so no index shifts under a later operation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.policy.fixes.patches import PatchError, PatchOp, apply_patch, pointer

Path = tuple[str | int, ...]
EditKind = Literal["set", "append", "remove"]

_MISSING: Any = object()


@dataclass(frozen=True)
class Edit:
    kind: EditKind
    path: Path
    """The field or element to set or remove, or the list to append to."""
    value: Any = None
    placeholder: bool = False
    """The value is a `<...>` text a person must replace."""


@dataclass(frozen=True)
class Materialized:
    ops: tuple[PatchOp, ...]
    document: Any
    """The manifest with every operation applied."""
    summary: tuple[str, ...]
    emptied: int
    """Lists the removals left empty or dropped whole: a fix that strips a
    list bare changes what the object means more than one that trims it."""


def lookup(document: Any, path: Sequence[str | int]) -> Any:
    """The value at `path`, or the `MISSING` marker."""
    current = document
    for segment in path:
        if isinstance(segment, int) and isinstance(current, list) and segment < len(current):
            current = current[segment]
            continue
        if not isinstance(segment, str) or not isinstance(current, dict) or segment not in current:
            return _MISSING
        current = current[segment]
    return current


def is_missing(value: Any) -> bool:
    return value is _MISSING


def materialize(document: Any, edits: Sequence[Edit]) -> Materialized | None:
    """Patch operations for `edits` on `document`, or None where one cannot apply."""
    removals = sorted(
        {e.path for e in edits if e.kind == "remove"}, key=_descending_key, reverse=True
    )
    removals = [p for p in removals if not any(_is_within(p, other) for other in removals)]
    ordered = [e for e in edits if e.kind != "remove"]
    ordered += [Edit("remove", path) for path in removals]

    ops: list[PatchOp] = []
    summary: list[str] = []
    trimmed: set[Path] = set()
    dropped = 0
    current = document
    for edit in ordered:
        step = _operation(current, edit)
        if step is None:
            return None
        if not step:
            continue
        op, text = step
        if edit.kind == "remove" and isinstance(edit.path[-1], int):
            trimmed.add(edit.path[:-1])
        elif edit.kind == "remove" and isinstance(lookup(current, edit.path), list):
            dropped += 1
        try:
            current = apply_patch(current, [op])
        except PatchError:
            return None
        ops.append(op)
        summary.append(text)
    emptied = dropped + sum(1 for path in trimmed if lookup(current, path) == [])
    return Materialized(tuple(ops), current, tuple(summary), emptied)


def dotted(path: Sequence[str | int]) -> str:
    """A path as JMESPath writes it, the language deny conditions are in:
    `metadata.annotations."a.io/b"` (pattern fixes use `patches.dotted`)."""
    text = ""
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif segment.replace("_", "").isalnum():
            text += f".{segment}" if text else segment
        else:
            text += f".{json.dumps(segment)}" if text else json.dumps(segment)
    return text


def _operation(document: Any, edit: Edit) -> tuple[PatchOp, str] | tuple[()] | None:
    """One operation for one edit; `()` when the edit is already in place."""
    current = lookup(document, edit.path)
    where = dotted(edit.path)
    if edit.kind == "remove":
        if is_missing(current):
            return ()
        if isinstance(edit.path[-1], int):
            return PatchOp("remove", pointer(*edit.path)), (
                f"remove {_shown(current)} from {dotted(edit.path[:-1])}"
            )
        return PatchOp("remove", pointer(*edit.path)), f"remove {where}"
    if edit.kind == "append":
        if isinstance(current, list):
            op = PatchOp("add", pointer(*edit.path, "-"), edit.value)
            return op, f"add {_shown(edit.value)} to {where}"
        if not is_missing(current) and current is not None:
            return None
        created = _creating(document, edit.path, [edit.value])
        return None if created is None else (created, f"add {_shown(edit.value)} to {where}")
    if not is_missing(current):
        if current == edit.value and type(current) is type(edit.value):
            return ()
        op = PatchOp("replace", pointer(*edit.path), edit.value)
        return op, f"set {where} to {_shown(edit.value, edit.placeholder)}"
    created = _creating(document, edit.path, edit.value)
    if created is None:
        return None
    return created, f"set {where} to {_shown(edit.value, edit.placeholder)}"


def _creating(document: Any, path: Path, value: Any) -> PatchOp | None:
    """An `add` at the deepest existing ancestor, with the missing maps around `value`."""
    depth = len(path) - 1
    while depth > 0 and is_missing(lookup(document, path[:depth])):
        depth -= 1
    parent = lookup(document, path[:depth])
    if not isinstance(parent, dict) or any(isinstance(s, int) for s in path[depth:]):
        return None
    for segment in reversed(path[depth + 1 :]):
        value = {segment: value}
    return PatchOp("add", pointer(*path[: depth + 1]), value)


def _shown(value: Any, placeholder: bool = False) -> str:
    if placeholder and isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _is_within(path: Path, other: Path) -> bool:
    return len(other) < len(path) and path[: len(other)] == other


def _descending_key(path: Path) -> tuple[tuple[int, int, str], ...]:
    # Indexes compare as numbers so that element 10 is removed before 9.
    return tuple((1, s, "") if isinstance(s, int) else (0, 0, s) for s in path)
