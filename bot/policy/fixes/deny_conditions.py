"""Ways to make one deny condition false, by the semantics of its operator.

A condition is `key <operator> value`, and either side may read the manifest
through a variable. The side that does is traced (`deny_tracing`) so we know
which fields produced it; the other side is taken as it evaluates. From
there a handful of moves cover the common shapes:

- a scalar field: set it to a value taken from the other side that makes the
  operator false (`NotEquals x` -> x, `AnyNotIn [a, b]` -> a, `GreaterThan 3`
  -> 3, `Equals true` -> false), or remove it when that is what empties it;
- a list read through the condition: remove the elements that alone make it
  hold (`add[] AnyNotIn [NET_BIND_SERVICE]`, `[get, list] AnyIn verbs[]`),
  or append the missing value (`ALL AnyNotIn drop[]`), creating the list
  and the maps above it; for a list of keys, appending adds a field;
- `contains(list, x)`: remove the x, or append it; `length(list)` above a
  bound: drop the last elements, for a person to confirm which;
- anything else at a known field: a `<...>` placeholder saying what is
  wanted, which makes the fix guided.

Moves are only proposals: the caller applies each one and evaluates the
condition again, so a move that reads the operator wrongly is dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.policy import operators, variables, wildcards
from bot.policy.contexts import ContextError, EvaluationContext
from bot.policy.fixes import deny_tracing as tracing
from bot.policy.fixes.deny_edits import Edit, Path
from bot.policy.fixes.deny_tracing import Traced
from bot.policy.jmespath import JMESPathError, values as jp_values
from bot.policy.operators_go import deep_equal
from bot.policy.variables import SubstitutionError

_WHOLE_VARIABLE = re.compile(r"^\s*\{\{(?P<inner>.*)\}\}\s*$", re.DOTALL)
_RANGE = re.compile(r"^(-?\d+)-(-?\d+)$")
_INTEGER = re.compile(r"^-?\d+$")
_LOOKUP_ERRORS = (SubstitutionError, ContextError, JMESPathError)

_ORDERING_WANTS = {
    "greaterthan": "at most",
    "greaterthanorequals": "below",
    "lessthan": "at least",
    "lessthanorequals": "above",
}
_REVERSED_ORDERING_WANTS = {
    "greaterthan": "at least",
    "greaterthanorequals": "above",
    "lessthan": "at most",
    "lessthanorequals": "below",
}


@dataclass(frozen=True)
class Candidate:
    """One way to make the condition false, in manifest paths."""

    edits: tuple[Edit, ...]
    confirm: tuple[Path, ...] = ()
    """Places where the move had to choose (which elements to drop), for a
    person to confirm; a candidate with any is guided."""

    @property
    def guided(self) -> bool:
        return bool(self.confirm) or any(e.placeholder for e in self.edits)


@dataclass(frozen=True)
class _Test:
    """Evaluates the condition with the traced side replaced."""

    operator: str
    other: Any
    traced_is_key: bool

    def holds(self, replacement: Any) -> bool:
        key, value = (replacement, self.other) if self.traced_is_key else (self.other, replacement)
        try:
            return operators.evaluate_operator(self.operator, key, value)
        except operators.UnknownOperatorError:
            return True


def propose(
    condition: Mapping[str, Any],
    context: EvaluationContext,
    *,
    roots: Mapping[Path, Path],
    protected: Path = (),
) -> list[Candidate]:
    """Candidate edits, most natural first, that may make `condition` false.

    `roots` maps the data the condition reads to the manifest (see
    `deny_tracing.locate`); edits that would remove or overwrite `protected`
    (the foreach element being checked) or anything above it are left out.
    """
    operator = str(condition.get("operator") or "")
    try:
        key = context.substitute(condition.get("key"))
        value = context.substitute(condition.get("value"))
    except _LOOKUP_ERRORS:
        return []
    found: list[Candidate] = []
    for written, evaluated, other, is_key in (
        (condition.get("key"), key, value, True),
        (condition.get("value"), value, key, False),
    ):
        traced = _trace_side(written, evaluated, context)
        if traced is None:
            continue
        test = _Test(operator, other, is_key)
        for edits, confirm in _moves(traced, test, written):
            candidate = _located(edits, confirm, roots, protected)
            if candidate is not None:
                found.append(candidate)
    return found


def _trace_side(written: Any, evaluated: Any, context: EvaluationContext) -> Traced | None:
    """The traced value of a side that is exactly one variable."""
    if not isinstance(written, str):
        return None
    match = _WHOLE_VARIABLE.match(written)
    if match is None:
        return None
    inner = match.group("inner").strip()
    if inner.startswith("-"):
        inner = inner[1:].strip()
    source: Path | None = None
    if "{{" in inner:
        # Kyverno resolves nested variables first and then reads the result;
        # a single field read that way is where a new value would go.
        source = _nested_source(inner, context)
        try:
            inner = context.substitute(inner)
        except _LOOKUP_ERRORS:
            return None
        if not isinstance(inner, str):
            return None
    if "{{" in inner or "}}" in inner or not inner:
        return None
    traced = tracing.trace(inner, context.data)
    if traced is None or not deep_equal(traced.value, evaluated):
        return None
    traceless = traced.path is None and traced.aggregate is None and not traced.items
    if traceless and source is not None:
        return Traced(traced.value, source, derived=True)
    return traced


def _nested_source(text: str, context: EvaluationContext) -> Path | None:
    """The one scalar field the nested variables in `text` read, if just one."""
    found: set[Path] = set()
    for match in variables.VARIABLE.finditer(text):
        expression = match.group(2)[2:-2].strip().removeprefix("-").strip()
        traced = tracing.trace(expression, context.data)
        if traced is None or traced.path is None or isinstance(traced.value, list | dict):
            return None
        found.add(traced.path)
    return found.pop() if len(found) == 1 else None


_Move = tuple[tuple[Edit, ...], tuple[Path, ...]]


def _moves(traced: Traced, test: _Test, written: Any) -> list[_Move]:
    if traced.aggregate is not None:
        return _aggregate_moves(traced, traced.aggregate, test)
    if isinstance(traced.value, list):
        return _list_moves(traced, test)
    return _scalar_moves(traced, test, written)


def _scalar_moves(traced: Traced, test: _Test, written: Any) -> list[_Move]:
    path = traced.path
    if path is None:
        return []
    moves: list[_Move] = []
    if not traced.derived:
        wanted = next(
            (v for v in _values_from(test.other, traced.value) if not test.holds(v)), None
        )
        setting: list[_Move] = [] if wanted is None else [((Edit("set", path, wanted),), ())]
        removing: list[_Move] = [((Edit("remove", path),), ())]
        # Setting a field to an empty value is removing it, said less plainly.
        empty = wanted in ("", None) or wanted == [] or wanted == {}
        moves += removing + setting if empty else setting + removing
    text = _placeholder(test, written, derived=traced.derived)
    moves.append(((Edit("set", path, text, placeholder=True),), ()))
    return moves


def _list_moves(traced: Traced, test: _Test) -> list[_Move]:
    moves: list[_Move] = []
    items = tracing.items_of(traced)
    offending = [item for item in items if test.holds([item.value])]
    if offending and all(item.path is not None for item in offending):
        moves.append((tuple(Edit("remove", i.path) for i in offending if i.path), ()))

    container = tracing.container_of(traced)
    if container is not None:
        additions = _additions(test.other)
        for addition in additions:
            if not test.holds([*traced.value, addition]):
                moves.append(_adding(container, [addition]))
                break
        missing = [a for a in additions if not any(_same(a, v) for v in traced.value)]
        if len(missing) > 1 and not test.holds([*traced.value, *missing]):
            moves.append(_adding(container, missing))

    if traced.path is not None and not traced.derived and traced.value:
        moves.append(((Edit("remove", traced.path),), ()))
    return moves


def _aggregate_moves(traced: Traced, aggregate: tracing.Aggregate, test: _Test) -> list[_Move]:
    subject = aggregate.subject
    if aggregate.function == "contains":
        return _contains_moves(traced, aggregate, test)
    # `length` above a bound: keep as many elements as it allows. Which ones
    # to keep is the owner's call, so the list is marked for confirmation.
    # Only whole elements of a plain list are dropped: dropping what a filter
    # picked (the containers whose limits differ from their requests) or a
    # field of each element (`rules[].http`) is no fix.
    container = tracing.container_of(subject)
    if container is None or container.keys or container.field is not None:
        return []
    items = tracing.items_of(subject)
    keep = next((n for n in range(len(items) - 1, -1, -1) if not test.holds(n)), None)
    dropped = items[keep:] if keep is not None else ()
    paths = [i.path for i in dropped if i.path is not None and i.path[:-1] == container.path]
    if not paths or len(paths) < len(dropped):
        return []
    return [(tuple(Edit("remove", p) for p in paths), (container.path,))]


def _contains_moves(traced: Traced, aggregate: tracing.Aggregate, test: _Test) -> list[_Move]:
    subject, needle = aggregate.subject, aggregate.needle
    wanted = not traced.value
    if test.holds(wanted):
        return []
    if isinstance(subject.value, str):
        # A substring: only the owner can say what the text should be.
        if subject.path is None or subject.derived:
            return []
        text = _inert(f"<a value {'containing' if wanted else 'without'} {_shown(needle)}>")
        return [((Edit("set", subject.path, text, placeholder=True),), ())]
    if not wanted:
        found = [i for i in tracing.items_of(subject) if _same(i.value, needle)]
        if found and all(i.path is not None for i in found):
            return [(tuple(Edit("remove", i.path) for i in found if i.path), ())]
        return []
    container = tracing.container_of(subject)
    return [] if container is None else [_adding(container, [needle])]


def _adding(container: tracing.Container, additions: Sequence[Any]) -> _Move:
    """Edits that add each value to the list, and what the owner must confirm."""
    if container.keys:
        edits = tuple(
            Edit("set", (*container.path, str(a)), _inert(f"<a value for {a}>"), placeholder=True)
            for a in additions
        )
        return edits, ()
    if container.field is not None:
        # A new object with only the field the rule reads is a start, not a
        # finished element.
        objects = tuple(Edit("append", container.path, {container.field: a}) for a in additions)
        return objects, (container.path,)
    confirm = (container.path,) if container.chosen else ()
    return tuple(Edit("append", container.path, a) for a in additions), confirm


def _located(
    edits: Sequence[Edit], confirm: Sequence[Path], roots: Mapping[Path, Path], protected: Path
) -> Candidate | None:
    located: list[Edit] = []
    for edit in edits:
        path = tracing.locate(edit.path, roots)
        if path is None or not _allowed(edit, path, protected):
            return None
        located.append(Edit(edit.kind, path, edit.value, edit.placeholder))
    places = [tracing.locate(p, roots) for p in confirm]
    if any(p is None for p in places):
        return None
    return Candidate(tuple(located), tuple(p for p in places if p is not None))


def _allowed(edit: Edit, path: Path, protected: Path) -> bool:
    above = path == protected[: len(path)]
    if edit.kind == "remove":
        return not above
    return not above or path == protected


def _values_from(other: Any, current: Any) -> list[Any]:
    """Concrete values the other side suggests, nearest first."""
    found: list[Any] = []
    for option in other if isinstance(other, list) else [other]:
        if isinstance(option, bool):
            found += [option, not option]
        elif isinstance(option, int | float):
            found += _around(option)
        elif isinstance(option, str):
            bounds = _RANGE.match(option)
            if bounds:
                found += [int(bounds.group(1)), int(bounds.group(2))]
            elif _INTEGER.match(option):
                found += [*_around(int(option)), option]
            elif not wildcards.has_wildcard(option):
                found.append(option)
    if isinstance(current, bool):
        found.append(not current)
    unique: list[Any] = []
    for value in found:
        if not any(_same(value, seen) for seen in unique):
            unique.append(value)
    return unique


def _around(number: int | float) -> list[int | float]:
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    return [number, number + 1, number - 1]


def _additions(other: Any) -> list[Any]:
    options = other if isinstance(other, list) else [other]
    return [
        option
        for option in options
        if isinstance(option, str | int | float)
        and not (isinstance(option, str) and (not option or wildcards.has_wildcard(option)))
    ]


def _same(left: Any, right: Any) -> bool:
    return jp_values.strict_equal(left, right)


def _placeholder(test: _Test, written: Any, *, derived: bool) -> str:
    """A `<...>` text that says what the field must become."""
    return _inert(_wanted(test, written, derived=derived))


def _inert(text: str) -> str:
    # NB: a placeholder must never read as a variable: the patched manifest
    # is evaluated again, and a `{{` in it would be substituted.
    return text.replace("{{", "").replace("}}", "")


def _wanted(test: _Test, written: Any, *, derived: bool) -> str:
    other = _shown(test.other)
    name = test.operator.lower().removeprefix("duration")
    if derived:
        expression = str(written).strip().removeprefix("{{").removesuffix("}}").strip()
        if name in ("equals", "equal"):
            return f"<a value for which {expression} is not {other}>"
        if name in ("notequals", "notequal"):
            return f"<a value for which {expression} is {other}>"
        return f"<a value for which {expression} {test.operator} {other} is false>"
    if test.traced_is_key:
        if name in ("equals", "equal"):
            return f"<a value other than {other}>"
        if name in ("notequals", "notequal"):
            return f"<a value matching {other}>"
        if name in ("in", "anyin", "allin"):
            return f"<a value not in {other}>"
        if name in ("notin", "anynotin", "allnotin"):
            return f"<one of {other}>"
        if name in _ORDERING_WANTS:
            return f"<a value {_ORDERING_WANTS[name]} {other}>"
    else:
        if name in ("in", "anyin", "allin"):
            return f"<a value without {other}>"
        if name in ("notin", "anynotin", "allnotin"):
            return f"<a value including {other}>"
        if name in _REVERSED_ORDERING_WANTS:
            return f"<a value {_REVERSED_ORDERING_WANTS[name]} {other}>"
    return f"<a value for which the rule's {test.operator} condition is false>"


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value) or "nothing"
    if isinstance(value, str):
        return value if value else "''"
    return json.dumps(value)
