"""The vocabulary of CEL fixes: what is wrong, and what might set it right.

The search (`cel_search`) judges an expression part by part and reports each
part that does not come out as wanted as a `Miss`: a leaf test (a comparison,
a `has()`, a string test), a list macro with no element that satisfies it
(`range`), or one element that fails an `all()` (`element`). Candidate edits
for a miss (`cel_candidates`, `cel_texts`, `cel_additions`) are `Candidate`s,
ranked by `tier` from exact to guided:

0. exact values;
1. placeholders the expression accepts once filled in with a neutral text;
2. placeholders it only accepts on trust (a `matches()` pattern), whose
   field is then taken as satisfied;
3. drastic edits: dropping a whole object, list or list element, or
   renaming what another field refers to, tried only when nothing else helps.

A `Chain` is one part of a leaf test that reads a manifest field, seen with
what the test does with it (compares it, tests a prefix, asks if it is there).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.policy.fixes import cel_syntax as syntax
from bot.policy.fixes.cel_paths import Bound, Env, Path, Reader
from bot.policy.fixes.deny_edits import Edit

MissKind = Literal["leaf", "range", "element"]

EXACT, FILLED, TRUSTED, DRASTIC = 0, 1, 2, 3
"""The tiers, in the order the search prefers them."""

STRING_TESTS = frozenset({"startsWith", "endsWith", "contains", "matches"})
_PRESENCE_TESTS = frozenset({"has", "hasValue"})


@dataclass(frozen=True)
class Miss:
    """One part of an expression that does not come out as wanted."""

    kind: MissKind
    parsed: syntax.Parsed
    node: syntax.Node
    """The part: a leaf test, or a macro call for `range` and `element` misses."""
    env: Env
    want: bool
    element: Bound | None = None
    """For `element`: the list element that fails the macro's test."""


@dataclass(frozen=True)
class Candidate:
    edits: tuple[Edit, ...]
    tier: int
    free: tuple[Path, ...] = ()
    """Fields taken as satisfied from now on (trusted placeholders)."""
    confirm: tuple[Path, ...] = ()
    """Places a person must confirm (dropped elements, guessed objects)."""


def placeholder(path: Path, value: str) -> Candidate:
    """Set a field to a text with a `<...>` placeholder in it."""
    return Candidate((Edit("set", path, value, placeholder=True),), FILLED)


@dataclass(frozen=True)
class Chain:
    """A part of a leaf test that reads a field, and what the test does with it."""

    miss: Miss
    node: syntax.Node
    parents: Mapping[int, syntax.Node]
    constants: list[Any]
    """Values worth trying for the field (see `cel_candidates`)."""

    @property
    def parent(self) -> syntax.Node | None:
        return self.parents.get(id(self.node))

    @property
    def wanted(self) -> bool:
        """Whether the test must hold (false under a `!`)."""
        return self.miss.want

    @property
    def test(self) -> str:
        """The string test applied to the field (`startsWith`...), if any."""
        parent = self.parent
        if isinstance(parent, syntax.Call) and parent.target is self.node:
            return parent.function if parent.function in STRING_TESTS else ""
        return ""

    def argument(self, reader: Reader) -> Any:
        """The argument of the call applied to the field, if it is a scalar.

        Usually a literal; otherwise what it evaluates to where the test
        stands (`image.startsWith(registry.trim())` inside `registries.exists`).
        """
        parent = self.parent
        if not isinstance(parent, syntax.Call) or not parent.args:
            return None
        known, value = syntax.literal_value(parent.args[0])
        if known:
            return value
        found = reader.evaluate(self.miss.parsed.text(parent.args[0]), self.miss.env)
        return found.value if found.kind in ("string", "int", "double", "bool") else None

    @property
    def used_as_list(self) -> bool:
        parent = self.parent
        if isinstance(parent, syntax.Call) and parent.target is self.node:
            return parent.function in syntax.MACROS or parent.function == "size"
        if isinstance(parent, syntax.Binary) and parent.op == "in":
            return parent.right is self.node
        return isinstance(parent, syntax.Call) and parent.function == "size"

    @property
    def presence(self) -> bool:
        """Whether the field is only tested for being there (`has`, `hasValue`)."""
        parent = self.parent
        return isinstance(parent, syntax.Call) and parent.function in _PRESENCE_TESTS

    @property
    def wants_it_gone(self) -> bool:
        """Whether the test asks for the field to be absent or empty."""
        parent = self.parent
        if self.presence:
            return not self.wanted
        if isinstance(parent, syntax.Call) and parent.function == "size":
            comparison = self.parents.get(id(parent))
            if isinstance(comparison, syntax.Binary):
                other = comparison.right if comparison.left is parent else comparison.left
                known, value = syntax.literal_value(other)
                return known and value == 0
        return False
