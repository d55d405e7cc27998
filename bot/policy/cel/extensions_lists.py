"""List functions: the Kubernetes lists library and the CEL `lists`/`sets` extensions.

Kubernetes adds `isSorted`, `sum`, `min`, `max`, `indexOf` and
`lastIndexOf`; cel-go's lists extension, which Kubernetes and Kyverno enable,
adds `slice`, `flatten`, `distinct`, `reverse`, `sort` and `lists.range`;
the sets extension adds `sets.contains`, `sets.equivalent` and
`sets.intersects`. Values arrive here as plain Python values, so equality and
ordering follow CEL's rules explicitly: a bool never equals a number, and
only values of one kind can be ordered.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.policy.cel.signatures import Function, FunctionError, Overload, function, member

# CEL orders numbers across int, uint and double, but never across kinds.
_ORDER_CLASSES: tuple[tuple[str, tuple[type, ...]], ...] = (
    ("number", (int, float)),
    ("string", (str,)),
    ("bytes", (bytes,)),
    ("timestamp", (datetime,)),
    ("duration", (timedelta,)),
)


def cel_equal(left: Any, right: Any) -> bool:
    """CEL equality: like Python's, except that bools and numbers never match."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(cel_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(cel_equal(left[k], right[k]) for k in left)
    return bool(left == right)


def is_sorted(items: list[Any]) -> bool:
    _check_orderable(items, "isSorted")
    return all(items[i] <= items[i + 1] for i in range(len(items) - 1))


def sum_of(items: list[Any]) -> Any:
    if not items:
        return 0
    if any(isinstance(item, timedelta) for item in items):
        # Limitation: the CEL binding cannot take a duration back from a
        # function declared to return any type, so sums of durations fail.
        raise FunctionError("sum() of durations is not supported by this engine")
    if all(isinstance(item, int | float) and not isinstance(item, bool) for item in items):
        if len({type(item) for item in items}) > 1:
            raise FunctionError("sum() needs numbers of one type, got a mix of int and double")
        return sum(items)
    raise FunctionError(f"sum() needs a list of numbers or durations, got {_kinds(items)}")


def min_of(items: list[Any]) -> Any:
    if not items:
        raise FunctionError("min() called on an empty list")
    _check_orderable(items, "min")
    return min(items)


def max_of(items: list[Any]) -> Any:
    if not items:
        raise FunctionError("max() called on an empty list")
    _check_orderable(items, "max")
    return max(items)


def index_of(items: list[Any], value: Any) -> int:
    return next((i for i, item in enumerate(items) if cel_equal(item, value)), -1)


def last_index_of(items: list[Any], value: Any) -> int:
    matches = [i for i, item in enumerate(items) if cel_equal(item, value)]
    return matches[-1] if matches else -1


def slice_of(items: list[Any], start: int, end: int) -> list[Any]:
    if start < 0 or end < 0:
        raise FunctionError(f"slice({start}, {end}): indices must not be negative")
    if start > end:
        raise FunctionError(f"slice({start}, {end}): start must not exceed end")
    if end > len(items):
        raise FunctionError(f"slice({start}, {end}): end is past the list size {len(items)}")
    return items[start:end]


def flatten(items: list[Any], depth: int = 1) -> list[Any]:
    if depth < 0:
        raise FunctionError(f"flatten({depth}): depth must not be negative")
    flat: list[Any] = []
    for item in items:
        if isinstance(item, list) and depth > 0:
            flat.extend(flatten(item, depth - 1))
        else:
            flat.append(item)
    return flat


def distinct(items: list[Any]) -> list[Any]:
    kept: list[Any] = []
    for item in items:
        if not any(cel_equal(item, seen) for seen in kept):
            kept.append(item)
    return kept


def sort(items: list[Any]) -> list[Any]:
    _check_orderable(items, "sort")
    return sorted(items)


def number_range(count: int) -> list[int]:
    return list(range(count))


def sets_contain(items: list[Any], wanted: list[Any]) -> bool:
    return all(any(cel_equal(item, value) for item in items) for value in wanted)


def sets_equivalent(left: list[Any], right: list[Any]) -> bool:
    return sets_contain(left, right) and sets_contain(right, left)


def sets_intersect(left: list[Any], right: list[Any]) -> bool:
    return any(any(cel_equal(item, value) for item in left) for value in right)


def functions() -> list[Function]:
    reverse = member("reverse", ("list",), "list", lambda items: list(reversed(items)))
    flatten_overloads = Function(
        "flatten",
        (
            Overload(("list",), "list", flatten, member=True),
            Overload(("list", "int"), "list", flatten, member=True),
        ),
    )
    return [
        member("isSorted", ("list",), "bool", is_sorted),
        member("sum", ("list",), "dyn", sum_of),
        member("min", ("list",), "dyn", min_of),
        member("max", ("list",), "dyn", max_of),
        member("indexOf", ("list", "dyn"), "int", index_of),
        member("lastIndexOf", ("list", "dyn"), "int", last_index_of),
        member("slice", ("list", "int", "int"), "list", slice_of),
        flatten_overloads,
        member("distinct", ("list",), "list", distinct),
        reverse,
        member("sort", ("list",), "list", sort),
        function("lists.range", ("int",), "list", number_range),
        function("sets.contains", ("list", "list"), "bool", sets_contain),
        function("sets.equivalent", ("list", "list"), "bool", sets_equivalent),
        function("sets.intersects", ("list", "list"), "bool", sets_intersect),
    ]


def _order_class(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    return next((name for name, kinds in _ORDER_CLASSES if isinstance(value, kinds)), None)


def _check_orderable(items: list[Any], name: str) -> None:
    classes = {_order_class(item) for item in items}
    if None in classes or len(classes) > 1:
        raise FunctionError(f"{name}() needs values of one comparable type, got {_kinds(items)}")


def _kinds(items: list[Any]) -> str:
    names = sorted({type(item).__name__ for item in items})
    return ", ".join(names) or "nothing"
