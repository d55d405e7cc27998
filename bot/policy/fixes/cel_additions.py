"""New elements for the lists and maps a CEL macro ranges over, and dropped ones.

`l.exists(x, p)` wants one element that satisfies `p`; when none does (or
the list is missing), an element is added that the test itself describes: a
literal it compares `x` with (`'ALL'` for `drop.exists(c, c == 'ALL')`), an
object holding the one field it compares (`{topologyKey: zone}`, incomplete,
so a person confirms it), or for a map a key it accepts, whose value only
the team knows. `l.all(x, p)` may instead be fixed by dropping the elements
that fail: map entries and plain list items exactly, objects only with a
person's confirmation.
"""

from __future__ import annotations

from typing import Any

from bot.policy.fixes import (
    cel_moves as moves,
    cel_paths as paths,
    cel_syntax as syntax,
    values_synthesis,
)
from bot.policy.fixes.cel_moves import Candidate, Chain, Miss
from bot.policy.fixes.cel_paths import Bound, Path, Reader
from bot.policy.fixes.deny_edits import Edit, is_missing, lookup


def for_range(miss: Miss, reader: Reader) -> list[Candidate]:
    """An element that satisfies `exists()`, added to what it ranges over."""
    call = miss.node
    if not isinstance(call, syntax.Call) or call.target is None or not call.is_macro:
        return []
    place = paths.place_of(miss.parsed, call.target, miss.env, reader)
    if place is None or place.key:
        return []
    return _additions(miss, call, place.path, reader)


def for_macro_target(chain: Chain, path: Path, reader: Reader) -> list[Candidate]:
    """For a list a macro inside a test ranges over: elements it would accept."""
    parent = chain.parent
    if isinstance(parent, syntax.Call) and parent.is_macro and parent.target is chain.node:
        return _additions(chain.miss, parent, path, reader)
    return []


def for_element(element: Bound | None, reader: Reader) -> list[Candidate]:
    """Remove the element that fails an `all()`: a map entry, a list item."""
    if element is None or element.place is None:
        return []
    place = element.place
    if place.key:
        return [Candidate((Edit("remove", place.path),), moves.EXACT)]
    value = lookup(reader.document, place.path)
    if is_missing(value) or not place.path or not isinstance(place.path[-1], int):
        return []
    if isinstance(value, dict | list):
        confirm = (place.path[:-1],)
        return [Candidate((Edit("remove", place.path),), moves.DRASTIC, confirm=confirm)]
    return [Candidate((Edit("remove", place.path),), moves.EXACT)]


def _additions(miss: Miss, call: syntax.Call, path: Path, reader: Reader) -> list[Candidate]:
    """New elements a macro's test accepts: literals, one-field objects, map keys."""
    current = lookup(reader.document, path)
    variable = call.args[0]
    assert isinstance(variable, syntax.Ident)
    body = call.args[-1]
    absent = is_missing(current) or current is None
    found: list[Candidate] = []
    if isinstance(current, dict) or absent:
        entries = current if isinstance(current, dict) else {}
        found += [
            moves.placeholder((*path, key), values_synthesis.SET_A_VALUE)
            for key in _key_tests(body, variable.name)
            if key not in entries
        ]
    if not (isinstance(current, list) or absent):
        return found
    items = current if isinstance(current, list) else []
    found += [
        Candidate((Edit("append", path, value),), moves.EXACT)
        for value in paths.literals(miss.parsed, body, reader)
        if isinstance(value, str | int | float)
        and not isinstance(value, bool)
        and value not in items
    ]
    # A new object with only the field the test reads is a start for a person
    # to complete, not a finished element.
    for field, value in _field_tests(body, variable.name):
        if not any(isinstance(item, dict) and item.get(field) == value for item in items):
            edit = Edit("append", path, {field: value})
            found.append(Candidate((edit,), moves.FILLED, confirm=(path,)))
    return found


def _key_tests(body: syntax.Node, name: str) -> list[str]:
    """Keys a macro's test accepts: `k == 'a'`, `k in ['a']`, `k.startsWith('a/')`."""
    found: list[Any] = []
    for node in syntax.walk(body):
        if isinstance(node, syntax.Binary) and node.op in ("==", "in"):
            sides = [(node.left, node.right)]
            if node.op == "==":
                sides.append((node.right, node.left))
            for side, other in sides:
                known, value = syntax.literal_value(other)
                if known and isinstance(side, syntax.Ident) and side.name == name:
                    found += value if isinstance(value, list) else [value]
        elif isinstance(node, syntax.Call) and node.function == "startsWith" and node.args:
            known, value = syntax.literal_value(node.args[0])
            target = node.target
            if known and isinstance(target, syntax.Ident) and target.name == name:
                found.append(f"{value}{values_synthesis.SET_A_NAME}")
    return [key for key in found if isinstance(key, str) and key]


def _field_tests(body: syntax.Node, name: str) -> list[tuple[str, Any]]:
    """`(field, literal)` for each `x.field == literal` in a macro's body."""
    found: list[tuple[str, Any]] = []
    for node in syntax.walk(body):
        if not isinstance(node, syntax.Binary) or node.op != "==":
            continue
        for side, other in ((node.left, node.right), (node.right, node.left)):
            known, value = syntax.literal_value(other)
            if (
                known
                and isinstance(side, syntax.Select)
                and isinstance(side.operand, syntax.Ident)
                and side.operand.name == name
            ):
                found.append((side.field, value))
    return found
