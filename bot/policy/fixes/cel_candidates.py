"""Edits that might make one wrong part of a CEL expression come out right.

For a leaf test the search reports wrong (`cel_moves.Miss`), every part of
it that reads a manifest field (`cel_paths.chains`) gets edits chosen by the
semantics of what the test does with it: set the field to a literal the
expression compares it with (or next to a numeric bound), flip a boolean,
create the maps a `has()` asks for, remove a field, a map entry or a list
item, append a literal to a list, and for texts the guesses of `cel_texts`.
Misses on a macro as a whole go to `cel_additions`.

The values tried come from the expression (its literals, its variables'
literals) and from the manifest (what the other side of a comparison holds
now, e.g. the name a field must equal). A few fields are never edited:
`kind`, `apiVersion` and `metadata.name` say which object this is, so
changing them fixes a different object; `metadata.namespace` only gets a
placeholder, since where the object lives is the team's call.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bot.policy.fixes import (
    cel_additions as additions,
    cel_moves as moves,
    cel_paths as paths,
    cel_syntax as syntax,
    cel_texts as texts,
    values_synthesis,
)
from bot.policy.fixes.cel_moves import Candidate, Chain, Miss
from bot.policy.fixes.cel_paths import Path, Place, Reader, Shapes
from bot.policy.fixes.deny_edits import Edit, is_missing, lookup

KUBERNETES_MAPS = frozenset(
    {
        "limits",
        "requests",
        "labels",
        "annotations",
        "nodeSelector",
        "matchLabels",
        "data",
        "stringData",
        "binaryData",
        "parameters",
    }
)
"""Fields Kubernetes defines as string-keyed maps, whatever a policy does with them."""

_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in"})
_KINDS = {"bool": "bool", "int": "number", "uint": "number", "double": "number", "string": "string"}
_SCALARS = ("string", "int", "double", "bool")
_MAX_SCALARS = 16
_IDENTITY: frozenset[Path] = frozenset({("kind",), ("apiVersion",), ("metadata", "name")})
_RELOCATIONS: frozenset[Path] = frozenset({("metadata", "namespace")})


def for_miss(miss: Miss, reader: Reader, *, shapes: Shapes) -> list[Candidate]:
    """Candidate edits for one miss, in the order they are worth trying."""
    if miss.kind == "element":
        return additions.for_element(miss.element, reader)
    if miss.kind == "range":
        return additions.for_range(miss, reader)
    found: list[Candidate] = []
    parents = paths.parents(miss.node)
    constants = _constants(miss, reader)
    for node, place in paths.chains(miss.parsed, miss.node, miss.env, reader):
        if place.path not in _IDENTITY:
            chain = Chain(miss, node, parents, constants)
            found += _for_chain(chain, place, reader, shapes=shapes)
    return found


def _for_chain(chain: Chain, place: Place, reader: Reader, *, shapes: Shapes) -> list[Candidate]:
    if place.key:
        return [Candidate((Edit("remove", place.path),), moves.EXACT)]
    current = lookup(reader.document, place.path)
    if place.path in _RELOCATIONS:
        return [
            c for c in texts.for_text(chain, place.path, current, reader) if c.tier > moves.EXACT
        ]
    if is_missing(current) or (current is None and place.path[-1] in KUBERNETES_MAPS):
        return _creations(chain, place.path, reader, shapes=shapes)

    found: list[Candidate] = []
    if isinstance(current, bool):
        found.append(Candidate((Edit("set", place.path, not current),), moves.EXACT))
    # Setting a value is tried before removing the field, which loses more.
    element = isinstance(place.path[-1], int) and isinstance(current, dict | list)
    removal = Candidate(
        (Edit("remove", place.path),),
        _removal_tier(chain, place.path, current, shapes),
        confirm=(place.path[:-1],) if element else (),
    )
    if isinstance(current, list):
        found += _list_edits(chain, place.path, current, reader)
        # Emptying a list is a choice of all its elements, unless the test
        # wants it gone or empty anyway.
        plain = not any(isinstance(item, dict | list) for item in current)
        return [*found, removal] if chain.wants_it_gone or plain else found
    if isinstance(current, dict):
        return [*_keys(chain, place.path, current), removal]
    found += [*_settings(chain, place.path, current, reader), removal]
    if isinstance(current, str) or current is None:
        found += texts.for_text(chain, place.path, current, reader)
    if isinstance(current, str) and _is_reference(reader.document, place.path, current):
        # A name another field refers to (a volume mount's volume): editing
        # it breaks the link and only dodges the rule.
        found = [dataclasses.replace(c, tier=max(c.tier, moves.DRASTIC)) for c in found]
    return found


def _creations(chain: Chain, path: Path, reader: Reader, *, shapes: Shapes) -> list[Candidate]:
    """Values for a missing field: a map when something below it is read."""
    found: list[Candidate] = []
    # A field Kubernetes defines as a map is an object even where the policy
    # reads nothing below it (`has(c.resources.limits)`).
    intermediate = shapes.intermediate(chain.node) or bool(path and path[-1] in KUBERNETES_MAPS)
    if intermediate:
        found.append(Candidate((Edit("set", path, {}),), moves.EXACT))
    found += _settings(chain, path, values_synthesis.MISSING, reader)
    if chain.used_as_list and path and path[-1] in KUBERNETES_MAPS:
        # `'cpu' in c.resources.limits` tests a key: Kubernetes defines the
        # field as a map, and a list there would be refused by the API server.
        found += [
            Candidate((Edit("set", path, {key: value}, placeholder=True),), moves.FILLED)
            for edit in _keys(chain, path, {})
            for key, value in [(edit.edits[0].path[-1], edit.edits[0].value)]
        ]
    elif chain.used_as_list:
        found.append(Candidate((Edit("set", path, []),), moves.EXACT))
        found += _list_edits(chain, path, [], reader)
    elif not intermediate:
        found += texts.for_text(chain, path, None, reader)
    return found


def _removal_tier(chain: Chain, path: Path, current: Any, shapes: Shapes) -> int:
    """How plain a fix removing the field is.

    Dropping a whole object or list is drastic. A text is removed as plainly
    as it is set only where the policy foresees it missing (it tests its
    presence), or where it is a map entry (a label, an annotation) or a list
    item; elsewhere an `orValue()` default would be doing the work, and a
    removed `secretKeyRef.name` is no fix.
    """
    if isinstance(current, dict | list):
        return moves.DRASTIC if current else moves.EXACT
    if not isinstance(current, str) or isinstance(path[-1], int):
        return moves.EXACT
    if isinstance(_unwrapped(chain.node), syntax.Index) or shapes.presence_tested(chain.node):
        return moves.EXACT
    return moves.FILLED


def _unwrapped(node: syntax.Node) -> syntax.Node:
    while isinstance(node, syntax.Call) and node.function in ("orValue", "value"):
        if node.target is None:
            break
        node = node.target
    return node


def _settings(chain: Chain, path: Path, current: Any, reader: Reader) -> list[Candidate]:
    """The field set to each value worth trying, of a kind it is compared with."""
    if chain.test or chain.presence:
        # `image.contains(':')` asks for a text around the literal, not the
        # literal itself, and `has()` for any value; `cel_texts` builds those.
        return []
    parent = chain.parent
    if isinstance(parent, syntax.Binary) and parent.op == "in" and parent.right is chain.node:
        # `'cpu' in limits` looks for the literal inside the field, which is
        # a list or a map, never the literal itself.
        return []
    constants = chain.constants
    if chain.node is chain.miss.node:
        # A test that is a field itself (`c.privileged`, `variables.enforced`)
        # wants that field to be the boolean.
        constants = [chain.miss.want]
    kinds = _compared_kinds(chain, reader)
    found: list[Candidate] = []
    for value in constants:
        if isinstance(value, list | dict | bytes) or value is None:
            continue
        if kinds is not None and _kind(value) not in kinds:
            continue
        options = [value]
        if isinstance(value, int) and not isinstance(value, bool):
            options += [value + 1, value - 1]
        for option in options:
            if type(option) is not type(current) or option != current:
                found.append(Candidate((Edit("set", path, option),), moves.EXACT))
    return found


def _compared_kinds(chain: Chain, reader: Reader) -> set[str] | None:
    """The kinds of value the field is compared with; None when any may do."""
    parent, node, miss = chain.parent, chain.node, chain.miss
    if isinstance(parent, syntax.Binary) and parent.op in _COMPARISONS:
        other = parent.right if parent.left is node else parent.left
        found = reader.evaluate(miss.parsed.text(other), miss.env)
        if parent.op == "in" and parent.left is node:
            if found.kind != "list":
                return None
            return {_kind(value) for value in _scalars(miss, other, reader)} or None
        return {_KINDS[found.kind]} if found.kind in _KINDS else None
    return None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else "other"


def _list_edits(chain: Chain, path: Path, current: list[Any], reader: Reader) -> list[Candidate]:
    """Drop one item (an object only with confirmation), or append a value."""
    found: list[Candidate] = []
    for index, item in enumerate(current):
        edit = Edit("remove", (*path, index))
        if isinstance(item, dict | list):
            found.append(Candidate((edit,), moves.DRASTIC, confirm=(path,)))
        else:
            found.append(Candidate((edit,), moves.EXACT))
    found += [
        Candidate((Edit("append", path, value),), moves.EXACT)
        for value in chain.constants
        if isinstance(value, str | int | float)
        and not any(type(value) is type(item) and value == item for item in current)
    ]
    return found + additions.for_macro_target(chain, path, reader)


def _keys(chain: Chain, path: Path, current: dict[str, Any]) -> list[Candidate]:
    """`'key' in map`: add the entry, whose value only the team knows."""
    parent = chain.parent
    if not (isinstance(parent, syntax.Binary) and parent.op == "in" and parent.right is chain.node):
        return []
    known, key = syntax.literal_value(parent.left)
    if not known or not isinstance(key, str) or key in current:
        return []
    return [moves.placeholder((*path, key), values_synthesis.SET_A_VALUE)]


def _is_reference(document: Any, path: Path, value: str) -> bool:
    """Whether the field is a name that another field of the manifest repeats.

    Kubernetes links parts of an object by name (`volumeMounts[].name` to
    `volumes[].name`, `secretName`...), and such fields end in "name".
    """
    name = path[-1]
    if not isinstance(name, str) or not name.lower().endswith("name"):
        return False
    pending: list[tuple[Path, Any]] = [((), document)]
    while pending:
        where, node = pending.pop()
        if isinstance(node, dict):
            for key, inner in node.items():
                here = (*where, key)
                if key == name and inner == value and here != path:
                    return True
                pending.append((here, inner))
        elif isinstance(node, list):
            pending.extend(((*where, i), inner) for i, inner in enumerate(node))
    return False


def _constants(miss: Miss, reader: Reader) -> list[Any]:
    """Values worth trying: literals, and what the other side of a test holds."""
    found = paths.literals(miss.parsed, miss.node, reader)
    if any(isinstance(value, bool) for value in found):
        paths.add_values(found, [True, False])
    for node in syntax.walk(miss.node):
        if isinstance(node, syntax.Ident) and node.name not in ("object", "variables"):
            value = reader.evaluate(miss.parsed.text(node), miss.env)
            if value.kind in _SCALARS:
                paths.add_values(found, [value.value])
        elif isinstance(node, syntax.Binary) and node.op in ("==", "!=", "in"):
            for side in (node.left, node.right):
                value = reader.evaluate(miss.parsed.text(side), miss.env)
                if value.kind == "string":
                    paths.add_values(found, [value.value])
                elif value.kind == "list":
                    paths.add_values(found, _scalars(miss, side, reader))
    return found


def _scalars(miss: Miss, node: syntax.Node, reader: Reader) -> list[Any]:
    """The scalar items of a list the expression computes."""
    text = miss.parsed.text(node)
    size = reader.evaluate(f"size({text})", miss.env)
    count = size.value if size.kind == "int" and isinstance(size.value, int) else 0
    found: list[Any] = []
    for index in range(min(count, _MAX_SCALARS)):
        item = reader.evaluate(f"{text}[{index}]", miss.env)
        if item.kind in _SCALARS:
            found.append(item.value)
    return found
