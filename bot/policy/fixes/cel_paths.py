"""Where the values a CEL expression reads live in the manifest.

A fix edits fields, so for every part of an expression we want the field it
reads: `object.spec.hostNetwork` is `spec.hostNetwork`, and inside
`object.spec.containers.all(c, c.image ...)` the `c.image` of the second
element is `spec.containers[1].image`. Iteration variables are bound one
element at a time (`Bound`), each with the CEL text that yields it and its
place; lists made by `+`, `orValue`, `filter`, `map`, a conditional or a
named variable keep track of where each element came from. When an element
cannot be traced (a computed value), it is still bound, with no place.

Elements of a map are its keys; their place is the map entry, which can be
removed but not set.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.policy.cel.environment import Evaluation
from bot.policy.fixes import cel_syntax as syntax
from bot.policy.fixes.deny_edits import is_missing, lookup

Path = tuple[str | int, ...]
MAX_ELEMENTS = 64
"""Elements bound per list; bigger lists are judged on their first ones."""

_KEY_NAME = "key__"


@dataclass(frozen=True)
class Place:
    path: Path
    key: bool = False
    """The value is the key of the map entry at `path`, not the entry's value."""


@dataclass(frozen=True)
class Bound:
    """One iteration variable bound to one element."""

    name: str
    expression: str
    """CEL text for the element, valid where the outer variables are bound."""
    place: Place | None


Env = tuple[Bound, ...]


class Reader(Protocol):
    """What tracing needs from the evaluation of the current manifest."""

    @property
    def document(self) -> Any: ...

    def evaluate(self, text: str, env: Env) -> Evaluation: ...

    def variable(self, name: str) -> syntax.Parsed | None: ...


def bound_text(text: str, env: Env) -> str:
    """`text` with the iteration variables of `env` bound around it."""
    for bound in reversed(env):
        text = f"cel.bind({bound.name}, {bound.expression}, {text})"
    return text


def place_of(parsed: syntax.Parsed, node: syntax.Node, env: Env, reader: Reader) -> Place | None:
    """The manifest field a chain such as `c.securityContext.?privileged` reads."""
    if isinstance(node, syntax.Ident):
        if node.name == "object":
            return Place(())
        found = _lookup_bound(env, node.name)
        return found.place if found is not None else None
    if isinstance(node, syntax.Select):
        variable = _variable_name(node)
        if variable is not None:
            definition = reader.variable(variable)
            if definition is None:
                return None
            return place_of(definition, definition.root, (), reader)
        if _is_namespace_name(node):
            # NB: the namespace object is the request's namespace, which is
            # the manifest's own `metadata.namespace`.
            return Place(("metadata", "namespace"))
        return _extended(parsed, node.operand, node.field, env, reader)
    if isinstance(node, syntax.Index):
        known, key = syntax.literal_value(node.index)
        if not known or not isinstance(key, str | int) or isinstance(key, bool):
            return None
        return _extended(parsed, node.operand, key, env, reader)
    if (
        isinstance(node, syntax.Call)
        and node.target is not None
        and node.function in ("orValue", "value")
        and len(node.args) <= 1
    ):
        return place_of(parsed, node.target, env, reader)
    if isinstance(node, syntax.Conditional):
        branch = _branch(parsed, node, env, reader)
        return None if branch is None else place_of(parsed, branch, env, reader)
    return None


def _branch(
    parsed: syntax.Parsed, node: syntax.Conditional, env: Env, reader: Reader
) -> syntax.Node | None:
    """The branch a conditional takes on the current manifest."""
    condition = reader.evaluate(bound_text(parsed.text(node.condition), env), ())
    if condition.kind != "bool":
        return None
    return node.then if condition.value else node.otherwise


def elements(
    parsed: syntax.Parsed, node: syntax.Node, name: str, env: Env, reader: Reader
) -> list[Bound]:
    """The bindings of iteration variable `name` over the list or map `node`."""
    text = bound_text(parsed.text(node), env)
    found = reader.evaluate(text, ())
    if found.kind not in ("list", "map"):
        return []
    size = reader.evaluate(f"size({text})", ())
    count = size.value if size.kind == "int" and isinstance(size.value, int) else 0
    places = element_places(parsed, node, env, reader)
    if found.kind == "map":
        keys = [p for p in places or () if p is not None and p.key]
        if places is not None and len(keys) == count:
            return [
                Bound(name, json.dumps(p.path[-1]), p)
                for p in keys[:MAX_ELEMENTS]
                if isinstance(p.path[-1], str)
            ]
        # Keys of an untraced map, in the order CEL iterates them.
        keyed = f"{parsed.text(node)}.map({_KEY_NAME}, {_KEY_NAME})"
        return [Bound(name, f"{keyed}[{i}]", None) for i in range(min(count, MAX_ELEMENTS))]
    if places is None or len(places) != count:
        places = [None] * count
    source = parsed.text(node)
    return [Bound(name, f"{source}[{i}]", places[i]) for i in range(min(count, MAX_ELEMENTS))]


def element_places(
    parsed: syntax.Parsed, node: syntax.Node, env: Env, reader: Reader
) -> list[Place | None] | None:
    """Where each element of a list (or key of a map) lives; None when unknown."""
    place = place_of(parsed, node, env, reader)
    if place is not None and not place.key:
        value = lookup(reader.document, place.path)
        if is_missing(value) or value is None:
            return []
        if isinstance(value, list):
            return [Place((*place.path, i)) for i in range(len(value))]
        if isinstance(value, dict):
            return [Place((*place.path, key), key=True) for key in value]
        return None
    if isinstance(node, syntax.Binary) and node.op == "+":
        left = element_places(parsed, node.left, env, reader)
        right = element_places(parsed, node.right, env, reader)
        return None if left is None or right is None else left + right
    if isinstance(node, syntax.Select):
        variable = _variable_name(node)
        definition = reader.variable(variable) if variable else None
        if definition is not None:
            return element_places(definition, definition.root, (), reader)
        return None
    if isinstance(node, syntax.ListLit):
        return [place_of(parsed, item, env, reader) for item in node.items]
    if isinstance(node, syntax.Conditional):
        branch = _branch(parsed, node, env, reader)
        return None if branch is None else element_places(parsed, branch, env, reader)
    if isinstance(node, syntax.Call) and node.target is not None:
        return _call_places(parsed, node, env, reader)
    return None


def _call_places(
    parsed: syntax.Parsed, node: syntax.Call, env: Env, reader: Reader
) -> list[Place | None] | None:
    target = node.target
    assert target is not None
    if node.function == "orValue" and len(node.args) == 1:
        return element_places(parsed, target, env, reader)
    if not node.is_macro or node.function not in ("filter", "map"):
        return None
    variable = node.args[0]
    assert isinstance(variable, syntax.Ident)
    base = elements(parsed, target, variable.name, env, reader)
    kept = base
    if node.function == "filter" or len(node.args) == 3:
        predicate = node.args[1]
        kept = [b for b in base if _holds(parsed, predicate, (*env, b), reader)]
    if node.function == "filter":
        return [b.place for b in kept]
    mapped = node.args[-1]
    return [place_of(parsed, mapped, (*env, b), reader) for b in kept]


def _holds(parsed: syntax.Parsed, node: syntax.Node, env: Env, reader: Reader) -> bool:
    found = reader.evaluate(bound_text(parsed.text(node), env), ())
    return found.kind == "bool" and found.value is True


def _extended(
    parsed: syntax.Parsed, operand: syntax.Node, segment: str | int, env: Env, reader: Reader
) -> Place | None:
    base = place_of(parsed, operand, env, reader)
    if base is None or base.key:
        return None
    return Place((*base.path, segment))


def _lookup_bound(env: Env, name: str) -> Bound | None:
    for bound in reversed(env):
        if bound.name == name:
            return bound
    return None


def _variable_name(node: syntax.Select) -> str | None:
    operand = node.operand
    if isinstance(operand, syntax.Ident) and operand.name == "variables":
        return node.field
    return None


def _is_namespace_name(node: syntax.Select) -> bool:
    operand = node.operand
    return (
        node.field == "name"
        and isinstance(operand, syntax.Select)
        and operand.field == "metadata"
        and isinstance(operand.operand, syntax.Ident)
        and operand.operand.name == "namespaceObject"
    )


def chains(
    parsed: syntax.Parsed, node: syntax.Node, env: Env, reader: Reader
) -> list[tuple[syntax.Node, Place]]:
    """The outermost parts of `node` that read a manifest field, with their places."""
    found: list[tuple[syntax.Node, Place]] = []
    pending: list[syntax.Node] = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, syntax.Call) and current.is_macro and current.target is not None:
            # The body sees its own variable; only the range is read here.
            pending.append(current.target)
            continue
        place = place_of(parsed, current, env, reader)
        if place is not None and not _is_root(current):
            found.append((current, place))
            continue
        pending.extend(reversed(list(syntax.children(current))))
    return found


def _is_root(node: syntax.Node) -> bool:
    return isinstance(node, syntax.Ident) and node.name == "object"


def parents(root: syntax.Node) -> dict[int, syntax.Node]:
    """Each node's parent, keyed by the child's id."""
    found: dict[int, syntax.Node] = {}
    for node in syntax.walk(root):
        for child in syntax.children(node):
            found[id(child)] = node
    return found


def literals(parsed: syntax.Parsed, node: syntax.Node, reader: Reader) -> list[Any]:
    """Constant values the expression compares with, its variables' included.

    Keys (`labels['team']`) and `orValue()` defaults are no values for a
    field: the first names it, the second is what its absence reads as.
    """
    found: list[Any] = []
    seen_variables: set[str] = set()
    pending: list[syntax.Node] = [node]
    while pending:
        current = pending.pop()
        skipped: set[int] = set()
        for part in syntax.walk(current):
            if isinstance(part, syntax.Index):
                skipped.add(id(part.index))
            elif isinstance(part, syntax.Call) and part.function == "orValue":
                skipped.update(id(arg) for arg in part.args)
            known, value = syntax.literal_value(part)
            if known and not isinstance(part, syntax.ListLit):
                if id(part) not in skipped:
                    _add_unique(found, value)
            elif isinstance(part, syntax.Select) and (name := _variable_name(part)):
                definition = reader.variable(name)
                if definition is not None and name not in seen_variables:
                    seen_variables.add(name)
                    pending.append(definition.root)
    return found


def _add_unique(found: list[Any], value: Any) -> None:
    if not any(type(value) is type(seen) and value == seen for seen in found):
        found.append(value)


def add_values(found: list[Any], values: Sequence[Any]) -> None:
    for value in values:
        _add_unique(found, value)


@dataclass(frozen=True)
class Shapes:
    """The field paths all the expressions read, below whatever root.

    Candidates ask two things of a field: whether some expression reads a
    field below it (then it is an object, and a `has()` on it wants `{}`),
    and whether some expression tests its presence (then the policy foresees
    it missing, and removing it is a plain fix, not a dodge).
    """

    read: frozenset[tuple[str, ...]]
    tested: frozenset[tuple[str, ...]]

    @classmethod
    def of(cls, parsed: Sequence[syntax.Parsed]) -> Shapes:
        read: set[tuple[str, ...]] = set()
        tested: set[tuple[str, ...]] = set()
        for tree in parsed:
            for node in syntax.walk(tree.root):
                fields = field_names(node)
                if fields:
                    read.add(fields)
                if isinstance(node, syntax.Call) and node.function in ("has", "hasValue"):
                    inner = node.args[0] if node.function == "has" and node.args else node.target
                    if inner is not None and field_names(inner):
                        tested.add(field_names(inner))
        return cls(frozenset(read), frozenset(tested))

    def intermediate(self, node: syntax.Node) -> bool:
        """Whether some expression reads a field below this one: it is an object."""
        own = field_names(node)
        if not own:
            return False
        size = len(own)
        return any(
            len(shape) > size and shape[index : index + size] == own
            for shape in self.read
            for index in range(len(shape) - size)
        )

    def presence_tested(self, node: syntax.Node) -> bool:
        """Whether some expression asks if this field is there."""
        own = field_names(node)
        tail = own[-2:]
        return bool(own) and any(shape[-len(tail) :] == tail for shape in self.tested)


def field_names(node: syntax.Node) -> tuple[str, ...]:
    """`(spec, containers)` for `object.spec.?containers.orValue([])`."""
    found: list[str] = []
    current = node
    while True:
        if isinstance(current, syntax.Select):
            found.append(current.field)
            current = current.operand
        elif isinstance(current, syntax.Index):
            known, key = syntax.literal_value(current.index)
            if not known or not isinstance(key, str):
                return ()
            found.append(key)
            current = current.operand
        elif isinstance(current, syntax.Call) and current.function == "orValue":
            if current.target is None:
                return ()
            current = current.target
        else:
            return tuple(reversed(found))
