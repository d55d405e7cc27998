"""Evaluating a JMESPath while remembering where each value came from.

A deny condition reads the manifest through an expression such as
`request.object.spec.[initContainers, containers][].ports[].hostPort`, or
`element.securityContext.capabilities.drop[]` with an empty-list default. To
change what the expression yields we must know which field produced each
value, and where a missing list would go. `trace` evaluates the structural
part of JMESPath (fields, indexes, flattening, projections, filters,
multi-selects, `||`, pipes) itself and tags every value with its path in
the evaluation data; anything else (comparisons, most functions) is
evaluated by the engine's own interpreter and comes back untagged, or
tagged as *derived* when it is computed from one tagged value.

The tags are only as good as the evaluation, so callers compare the traced
value with the engine's answer and give up on any difference.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jmespath as jmespath_library
from jmespath import exceptions as jp_exceptions, visitor

from bot.policy.jmespath.errors import FunctionError
from bot.policy.jmespath.functions import KyvernoFunctions
from bot.policy.jmespath.interpreting import KyvernoInterpreter, MissingKey

Path = tuple[str | int, ...]
Node = dict[str, Any]

_OPTIONS = visitor.Options(custom_functions=KyvernoFunctions())
_TEXT_FUNCTIONS = frozenset({"to_upper", "to_lower", "trim", "to_string"})
_FAILURES = (FunctionError, MissingKey, jp_exceptions.JMESPathError, RecursionError)


@dataclass(frozen=True)
class Container:
    """Where a new element of a traced list would be written."""

    path: Path
    keys: bool = False
    """The elements are the keys of the mapping at `path` (from `keys(@)`),
    so adding one means adding a field."""
    field: str | None = None
    """The elements are this field of the list's objects (`actions[].action`),
    so adding one means adding an object with only that field."""
    chosen: bool = False
    """One of several lists that were flattened together; adding to any of
    them would do, so this choice is the owner's to confirm."""


@dataclass(frozen=True)
class Aggregate:
    """A value computed from a whole traced list: `contains` or `length`."""

    function: str
    subject: Traced
    needle: Any = None


@dataclass(frozen=True)
class Traced:
    value: Any
    path: Path | None = None
    """Where the value lives in the data, or would live if it is missing."""
    derived: bool = False
    """The value is computed from what is at `path` (`to_upper(@)`, a key
    name): removing the source removes it, writing to `path` does not set it."""
    items: tuple[Traced, ...] | None = None
    container: Container | None = None
    aggregate: Aggregate | None = None
    missing: bool = False
    """A key on the way is absent: Kyverno's strict lookup is failing here,
    and only a lenient construct (`||`, a projection, a function argument)
    turns the failure into null."""


def trace(expression: str, data: Any) -> Traced | None:
    """The traced value of `expression` on `data`, or None if it cannot be evaluated."""
    try:
        found = _Tracer().visit(_parse(expression), Traced(data, ()))
    except _FAILURES:
        return None
    # A failure no construct forgave fails the whole query, as in the engine.
    return None if found.missing else found


def items_of(traced: Traced) -> tuple[Traced, ...]:
    """The traced elements of a list value (empty for anything else)."""
    if not isinstance(traced.value, list):
        return ()
    if traced.items is not None and len(traced.items) == len(traced.value):
        return traced.items
    if traced.path is not None and not traced.derived:
        return tuple(Traced(v, (*traced.path, i)) for i, v in enumerate(traced.value))
    # Parts of a computed value (`split(path, '/')`) come from its source.
    return tuple(Traced(v, traced.path, derived=traced.derived) for v in traced.value)


def container_of(traced: Traced) -> Container | None:
    """Where to add an element to a traced list, missing lists included."""
    if traced.container is not None:
        return traced.container
    listed = traced.value is None or isinstance(traced.value, list)
    if traced.path is not None and not traced.derived and listed:
        return Container(traced.path)
    return None


def locate(path: Path | None, roots: Mapping[Path, Path]) -> Path | None:
    """Map a path in the evaluation data to a path in the manifest.

    `roots` maps data prefixes (`("request", "object")`, `("element",)`) to
    where they sit in the manifest; the longest matching prefix wins.
    """
    if path is None:
        return None
    for prefix in sorted(roots, key=len, reverse=True):
        if path[: len(prefix)] == prefix:
            return (*roots[prefix], *path[len(prefix) :])
    return None


@lru_cache(maxsize=1024)
def _parse(expression: str) -> Node:
    parsed: Node = jmespath_library.compile(expression).parsed
    return parsed


def _is_false(value: Any) -> bool:
    # Go's isFalse, as the engine's interpreter reads `||`.
    return value is None or value is False or (isinstance(value, str | list | dict) and not value)


def _child_path(parent: Traced, segment: str | int) -> Path | None:
    if parent.path is None or parent.derived:
        return None
    return (*parent.path, segment)


def _is_keys_of_current(node: Node) -> bool:
    children = node["children"]
    return (
        node["type"] == "function_expression"
        and node["value"] == "keys"
        and len(children) == 1
        and children[0]["type"] == "current"
    )


def _list_container(traced: Traced) -> Container | None:
    if traced.value is not None and not isinstance(traced.value, list):
        return None
    return container_of(traced)


def _first_of(containers: list[Container]) -> Container | None:
    if not containers:
        return None
    return dataclasses.replace(containers[0], chosen=len(containers) > 1)


def _projected_container(container: Container | None, right: Node) -> Container | None:
    """Where a new element goes once a projection maps each element by `right`."""
    if container is None or right["type"] == "identity":
        return container
    # A text function of each element (`to_upper(@)`) maps a new element the
    # same way, so adding the value as it should read is still right.
    if right["type"] == "function_expression":
        uses_element = any(child["type"] == "current" for child in right["children"])
        return container if uses_element and right["value"] in _TEXT_FUNCTIONS else None
    if right["type"] == "field" and not container.keys and container.field is None:
        return dataclasses.replace(container, field=right["value"])
    return None


class _Tracer:
    """Mirrors the engine's interpreter in strict mode, node by node.

    Where the engine would raise for a missing key the tracer returns a value
    marked `missing`, keeping the place the key would have; `_lenient` and
    `_forgiving` turn it into null exactly where the engine catches it.
    """

    def __init__(self) -> None:
        self._interpreter = KyvernoInterpreter(_OPTIONS, missing_key_errors=False)

    def visit(self, node: Node, current: Traced) -> Traced:
        method = getattr(self, f"_visit_{node['type']}", None)
        if method is None:
            return self._plain(node, current)
        found: Traced = method(node, current)
        return found

    def _lenient(self, node: Node, current: Traced) -> Traced:
        found = self.visit(node, current)
        return dataclasses.replace(found, missing=False) if found.missing else found

    def _forgiving(self, node: Node, current: Traced) -> Traced:
        try:
            return self._lenient(node, current)
        except _FAILURES:
            return Traced(None)

    def _plain(self, node: Node, current: Traced) -> Traced:
        # NB: the engine's lenient spots read a missing key as null, which is
        # what the interpreter does everywhere outside strict mode.
        return Traced(self._interpreter.visit(node, current.value))

    def _visit_current(self, node: Node, current: Traced) -> Traced:
        return current

    _visit_identity = _visit_current

    def _visit_literal(self, node: Node, current: Traced) -> Traced:
        return Traced(node["value"])

    def _visit_field(self, node: Node, current: Traced) -> Traced:
        key = node["value"]
        path = _child_path(current, key)
        if current.missing:
            return Traced(None, path, missing=True)
        if isinstance(current.value, dict):
            if key in current.value:
                return Traced(current.value[key], path)
            return Traced(None, path, missing=True)
        return Traced(None, path if current.value is None else None)

    def _visit_subexpression(self, node: Node, current: Traced) -> Traced:
        for child in node["children"]:
            if current.missing and child["type"] != "field":
                # The failure skips the rest, but the place stays known: the
                # keys of a missing map are added by creating it.
                if current.path is not None and _is_keys_of_current(child):
                    keys = Container(current.path, keys=True)
                    return Traced(None, missing=True, container=keys)
                return Traced(None, missing=True)
            current = self.visit(child, current)
        return current

    def _visit_index_expression(self, node: Node, current: Traced) -> Traced:
        left, index_node = node["children"]
        if index_node["type"] != "index":
            return self._plain(node, current)
        base = self.visit(left, current)
        index = int(index_node["value"])
        if base.missing:
            return Traced(None, missing=True)
        if not isinstance(base.value, list) or not -len(base.value) <= index < len(base.value):
            return Traced(None)
        return items_of(base)[index % len(base.value)]

    def _visit_pipe(self, node: Node, current: Traced) -> Traced:
        for child in node["children"]:
            current = self._lenient(child, current)
        return current

    def _visit_flatten(self, node: Node, current: Traced) -> Traced:
        base = self._forgiving(node["children"][0], current)
        if not isinstance(base.value, list):
            return Traced(None, container=container_of(base) if base.value is None else None)
        items: list[Traced] = []
        for element in items_of(base):
            if isinstance(element.value, list):
                items.extend(items_of(element))
            else:
                items.append(element)
        container = container_of(base)
        if any(isinstance(value, list) for value in base.value):
            inner = [c for e in items_of(base) if (c := _list_container(e)) is not None]
            container = _first_of(inner) or base.container
        return Traced([i.value for i in items], items=tuple(items), container=container)

    def _visit_projection(self, node: Node, current: Traced) -> Traced:
        left, right = node["children"]
        base = self._lenient(left, current)
        container = _projected_container(container_of(base), right)
        if not isinstance(base.value, list):
            return Traced(None, container=container if base.value is None else None)
        results = [self._lenient(right, element) for element in items_of(base)]
        kept = tuple(r for r in results if r.value is not None)
        if container is None:
            # A list per element (`containers[].resources.keys(@)`): a value
            # can go into any of them, the first one by default.
            inner = [c for r in results if (c := _list_container(r)) is not None]
            container = _first_of(inner)
        return Traced([r.value for r in kept], items=kept, container=container)

    def _visit_filter_projection(self, node: Node, current: Traced) -> Traced:
        left, right, condition = node["children"]
        base = self._forgiving(left, current)
        if not isinstance(base.value, list):
            return Traced(None)
        kept: list[Traced] = []
        for element in items_of(base):
            if _is_false(self._interpreter.visit(condition, element.value)):
                continue
            result = self._lenient(right, element)
            if result.value is not None:
                kept.append(result)
        return Traced([r.value for r in kept], items=tuple(kept))

    def _visit_value_projection(self, node: Node, current: Traced) -> Traced:
        left, right = node["children"]
        base = self._forgiving(left, current)
        if not isinstance(base.value, dict):
            return Traced(None)
        kept: list[Traced] = []
        for key, value in base.value.items():
            result = self._lenient(right, Traced(value, _child_path(base, key)))
            if result.value is not None:
                kept.append(result)
        return Traced([r.value for r in kept], items=tuple(kept))

    def _visit_multi_select_list(self, node: Node, current: Traced) -> Traced:
        if current.value is None:
            return Traced(None)
        items = tuple(self._lenient(child, current) for child in node["children"])
        return Traced([i.value for i in items], items=items)

    def _visit_or_expression(self, node: Node, current: Traced) -> Traced:
        left = self._lenient(node["children"][0], current)
        if not _is_false(left.value):
            return left
        right = self._lenient(node["children"][1], current)
        if right.path is not None:
            return right
        # The default stands in for the left side: writing there replaces it.
        items = tuple(Traced(v) for v in right.value) if isinstance(right.value, list) else None
        return Traced(
            right.value,
            left.path,
            derived=left.derived,
            items=items,
            container=container_of(left) or right.container,
        )

    def _visit_and_expression(self, node: Node, current: Traced) -> Traced:
        left = self._lenient(node["children"][0], current)
        if _is_false(left.value):
            return Traced(left.value)
        # NB: only the left side is lenient; a missing key on the right fails.
        return self.visit(node["children"][1], current)

    def _visit_function_expression(self, node: Node, current: Traced) -> Traced:
        value = self._interpreter.visit(node, current.value)
        name = node["value"]
        children = [c for c in node["children"] if c["type"] != "expref"]
        arguments = [self._lenient(child, current) for child in children]
        first = arguments[0] if arguments else Traced(None)
        source = first.path if not first.derived else None
        if name == "keys" and isinstance(first.value, dict) and source is not None:
            keys = tuple(Traced(k, (*source, k), derived=True) for k in first.value)
            return Traced(value, items=keys, container=Container(source, keys=True))
        if name == "values" and isinstance(first.value, dict) and source is not None:
            found = tuple(Traced(v, (*source, k)) for k, v in first.value.items())
            return Traced(value, items=found)
        if name == "contains" and len(arguments) == 2 and isinstance(first.value, list | str):
            return Traced(value, aggregate=Aggregate("contains", first, arguments[1].value))
        if name == "length" and len(arguments) == 1 and isinstance(first.value, list):
            return Traced(value, aggregate=Aggregate("length", first))
        sources = [a for a in arguments if a.path is not None]
        if len(sources) == 1 and not isinstance(sources[0].value, list | dict):
            return Traced(value, sources[0].path, derived=True)
        return Traced(value)
