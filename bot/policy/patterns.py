"""Structural matching of a resource against a Kyverno `validate.pattern`.

The walk mirrors Kyverno's validate package step by step, because both the
verdict and the reported path depend on its order: in each map the anchors
are settled first (sorted by key), then the plain keys, with globally
anchored keys and keys hiding nested anchors moved to the front. A failed
condition does not fail the rule; it marks the surrounding map, list
element or whole rule as skipped. Kyverno tells a skip from a failure partly
by the wording of its error messages, so this module keeps that wording.

Single values are judged by `values.value_matches`; anchor keys are read by
`anchors.parse_anchor`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.policy import anchors, values
from bot.policy.anchors import Anchor, AnchorKind

_CONDITION_MARK = "conditional anchor mismatch"
_GLOBAL_MARK = "global anchor mismatch"
_NEGATION_MARK = "negation anchor matched in resource"
_SCALAR_TYPES = (str, bool, int, float, type(None))


@dataclass(frozen=True)
class PatternOutcome:
    status: Literal["pass", "fail", "skip"]
    path: str = ""
    """Where Kyverno reports the failure, e.g. "/spec/containers/0/image/".

    Empty on a failure means Kyverno names no path and reports the rule as
    an execution error instead: it does so when a conditional or existence
    anchor's key was absent everywhere, or a list pattern of lists was longer
    than the resource's list.
    """
    reason: str = ""
    """One sentence for people: what was expected there and what was found."""


class _Kind(enum.Enum):
    CONDITION = "condition"
    GLOBAL = "global"
    NEGATION = "negation"
    GATHERED = "gathered"
    """Skips collected from a map or list (Kyverno's PatternError)."""
    PLAIN = "plain"


@dataclass(frozen=True)
class _Error:
    kind: _Kind
    message: str
    """Kyverno's wording; skips that bubble up are recognised by it."""
    reason: str

    def skips(self) -> bool:
        if self.kind in (_Kind.CONDITION, _Kind.GLOBAL):
            return True
        if self.kind is _Kind.NEGATION:
            return False
        return _CONDITION_MARK in self.message or _GLOBAL_MARK in self.message

    def negates(self) -> bool:
        if self.kind in (_Kind.CONDITION, _Kind.GLOBAL, _Kind.NEGATION):
            return self.kind is _Kind.NEGATION
        return _NEGATION_MARK in self.message


_Step = tuple[str, _Error | None]
_OK: _Step = ("", None)
_LIST_TYPES = (list, tuple)


def validate_pattern(resource: Any, pattern: Any) -> PatternOutcome:
    """Match a whole resource against a validate pattern, as Kyverno does.

    Args:
        resource: The object as decoded from YAML or JSON.
        pattern: The rule's `validate.pattern` (or one `anyPattern` entry).

    Returns:
        "pass", "fail" with Kyverno's path, or "skip" when a conditional or
        global anchor did not hold and the rule does not apply.
    """
    return CompiledPattern(pattern).validate(resource)


class CompiledPattern:
    """A pattern with everything that depends on it alone worked out once.

    Which keys are anchors, the order Kyverno visits them in and whether a
    subtree hides anchors never change between resources, so a rule's
    pattern is read once here and then matched against many resources.
    """

    def __init__(self, pattern: Any) -> None:
        self.pattern = pattern
        self._root = _compile(pattern)

    def validate(self, resource: Any) -> PatternOutcome:
        """The same outcome as `validate_pattern(resource, self.pattern)`."""
        matcher = _Matcher()
        path, error = matcher.match(resource, self._root, "/")
        if error is None:
            return PatternOutcome("pass")
        if error.skips():
            return PatternOutcome("skip", "", error.reason)
        if not error.negates() and matcher.anchor_keys_missing():
            return PatternOutcome("fail", "", error.reason)
        return PatternOutcome("fail", path, error.reason)


class PatternCache:
    """Compiled patterns of a loaded rule, kept for the rule's lifetime.

    Entries are found by the pattern's identity, so only patterns nobody
    edits belong here, such as those inside a loaded rule. Each entry holds
    its pattern, so no other object can take over its id while it exists.
    """

    def __init__(self) -> None:
        self._compiled: dict[int, tuple[Any, CompiledPattern]] = {}

    def compiled(self, pattern: Any) -> CompiledPattern:
        entry = self._compiled.get(id(pattern))
        if entry is not None and entry[0] is pattern:
            return entry[1]
        compiled = CompiledPattern(pattern)
        self._compiled[id(pattern)] = (pattern, compiled)
        return compiled


# Compiling -------------------------------------------------------------------


class _Node:
    """One pattern value as the walk meets it."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _Scalar(_Node):
    """A string, number, bool or null, judged by `values.value_matches`."""

    __slots__ = ()


class _Unknown(_Node):
    """A value of a type no pattern can hold; it fails wherever it is met."""

    __slots__ = ()


class _List(_Node):
    __slots__ = ("items",)

    def __init__(self, value: list[Any] | tuple[Any, ...]) -> None:
        super().__init__(value)
        self.items = tuple(_compile(item) for item in value)


_Entry = tuple[str, Anchor | None, _Node]
"""A phase-two key, its global anchor (None for a plain field), its value."""


class _Map(_Node):
    """A map, with its keys parsed and put in the order Kyverno visits them."""

    __slots__ = ("expandable", "first", "rest", "tracked")

    def __init__(self, value: Mapping[str, Any]) -> None:
        super().__init__(value)
        parsed = {key: anchors.parse_anchor(key) for key in value}
        # Phase one: the validation anchors, sorted by key.
        self.first: tuple[tuple[Anchor, _Node], ...] = tuple(
            (anchor, _compile(value[key]))
            for key, anchor in sorted(parsed.items())
            if anchor is not None and anchor.kind in anchors.VALIDATION_KINDS
        )
        # Phase two: every other key, in Kyverno's order. A mutate anchor
        # counts as part of a plain field name, so it is dropped here.
        plain = {k: v for k, v in value.items() if _kind(parsed[k]) not in anchors.VALIDATION_KINDS}
        self.rest: tuple[_Entry, ...] = tuple(
            (key, _unless_mutating(parsed[key]), _compile(plain[key]))
            for key in _order_plain_keys(plain)
        )
        # The anchor keys whose presence `_Matcher` records, with field names.
        self.tracked: tuple[tuple[str, str], ...] = tuple(
            (key, anchor.key)
            for key, anchor in parsed.items()
            if anchor is not None and anchor.kind in _TRACKED_KINDS
        )
        # NB: when false, resolving wildcard metadata keys against any resource
        # would give back an equal map, so the walk skips that step.
        self.expandable = anchors.may_expand_metadata_keys(value)


_TRACKED_KINDS = (AnchorKind.CONDITIONAL, AnchorKind.EXISTENCE, AnchorKind.NEGATION)


def _compile(pattern: Any) -> _Node:
    # The same order of type tests as the walk used to make on each visit.
    if isinstance(pattern, Mapping):
        return _Map(_with_text_keys(pattern))
    if isinstance(pattern, _LIST_TYPES):
        return _List(pattern)
    if isinstance(pattern, _SCALAR_TYPES):
        return _Scalar(pattern)
    return _Unknown(pattern)


def _kind(anchor: Anchor | None) -> AnchorKind | None:
    return anchor.kind if anchor is not None else None


def _unless_mutating(anchor: Anchor | None) -> Anchor | None:
    if anchor is not None and anchor.kind is AnchorKind.ADD_IF_NOT_PRESENT:
        return None
    return anchor


# Matching --------------------------------------------------------------------


class _Matcher:
    """One walk over a resource; remembers which anchor keys were ever seen."""

    def __init__(self) -> None:
        self._anchor_seen: dict[str, bool] = {}

    def anchor_keys_missing(self) -> bool:
        """True if some conditional or existence key never appeared at all."""
        return any(
            not seen and anchors.kind_of(key) is not AnchorKind.NEGATION
            for key, seen in self._anchor_seen.items()
        )

    def match(self, resource: Any, node: _Node, path: str) -> _Step:
        if isinstance(node, _Map):
            # NB: dict comes first, being the common case; the ABC test is slow.
            if not isinstance(resource, (dict, Mapping)):
                return path, _plain(
                    f"pattern and resource have different structures. Path: {path}",
                    f"Expected an object at {path}, found {_describe(resource)}.",
                )
            resource = _with_text_keys(resource)
            if node.tracked:
                self._note_anchor_keys(node, resource)
            return self._match_map(resource, node, path)
        if isinstance(node, _List):
            if not isinstance(resource, _LIST_TYPES):
                return path, _plain(
                    f"validation rule failed at path {path}",
                    f"Expected a list at {path}, found {_describe(resource)}.",
                )
            return self._match_list(resource, node, path)
        if isinstance(node, _Scalar):
            return _match_scalar(resource, node.value, path)
        return path, _plain(
            f"failed at '{path}', pattern contains unknown type",
            f"The pattern holds a {type(node.value).__name__} at {path}, which it cannot use.",
        )

    def _note_anchor_keys(self, node: _Map, resource: Mapping[str, Any]) -> None:
        # Feeds Kyverno's rule that a failure is an error, not a fail, when a
        # conditional or existence key was never found in the resource.
        for key, field in node.tracked:
            seen = self._anchor_seen.get(key, False)
            self._anchor_seen[key] = seen or field in resource

    def _match_map(self, resource: Mapping[str, Any], node: _Map, path: str) -> _Step:
        if node.expandable:
            expanded = anchors.expand_metadata_keys(node.value, resource)
            if expanded is not node.value:
                node = _Map(expanded)

        # Phase one: anchors. A failed condition here turns later failures
        # in the same map into skips.
        skipped: list[_Error] = []
        applied = 0
        for anchor, child in node.first:
            error_path, error = self._match_key(anchor, child, resource, path)
            if error is None:
                applied += 1
            elif error.skips():
                skipped.append(error)
            elif not _has_own_condition_failure(skipped):
                return error_path, error
        if skipped and (applied == 0 or _has_own_condition_failure(skipped)):
            return path, _gather(skipped)

        # Phase two: every other key, in Kyverno's order; the first error wins.
        for key, global_anchor, child in node.rest:
            if global_anchor is None:
                error_path, error = self._match_plain_key(key, child, resource, path)
            else:
                error_path, error = self._match_key(global_anchor, child, resource, path)
            if error is not None:
                return error_path, error
        return _OK

    def _match_list(self, resource: list[Any] | tuple[Any, ...], node: _List, path: str) -> _Step:
        pattern = node.value
        if not pattern:
            return path, _plain(
                "pattern Array empty",
                f"The pattern has an empty list at {path}, which never matches.",
            )
        head = node.items[0]
        if isinstance(head, _Map):
            # Only the first pattern element counts; it applies to every item.
            return self._match_each(resource, [head] * len(resource), path)
        if isinstance(head, _Scalar):
            return _match_scalar(resource, head.value, path)
        if len(resource) < len(pattern):
            return "", _plain(
                "validate Array failed, array length mismatch",
                f"Expected at least {len(pattern)} items at {path}, found {len(resource)}.",
            )
        return self._match_each(resource[: len(pattern)], list(node.items), path)

    def _match_each(self, items: Any, nodes: list[_Node], path: str) -> _Step:
        """Match items pairwise; items whose conditions fail are left out."""
        skipped: list[_Error] = []
        applied = 0
        for index, (item, node) in enumerate(zip(items, nodes, strict=True)):
            error_path, error = self.match(item, node, f"{path}{index}/")
            if error is None:
                applied += 1
            elif error.skips():
                skipped.append(error)
            else:
                return error_path, error
        if applied == 0 and skipped:
            return path, _gather(skipped)
        return _OK

    def _match_key(
        self, anchor: Anchor, node: _Node, resource: Mapping[str, Any], path: str
    ) -> _Step:
        """Match the value under an anchored key; plain keys have their own."""
        here = f"{path}{anchor.key}/"
        present = anchor.key in resource
        found = resource.get(anchor.key)

        if anchor.kind is AnchorKind.NEGATION:
            if not present:
                return _OK
            return here, _Error(
                _Kind.NEGATION,
                f"{_NEGATION_MARK}: {here} is not allowed",
                f"Expected {here} to be absent, found {_describe(found)}.",
            )
        if anchor.kind is AnchorKind.EXISTENCE:
            return self._match_existence(found, node, here) if present else _OK
        if anchor.kind is AnchorKind.EQUALITY:
            return self.match(found, node, here) if present else _OK

        # Conditional and global anchors: a mismatch is a skip, never a fail.
        is_global = anchor.kind is AnchorKind.GLOBAL
        kind, mark = (
            (_Kind.GLOBAL, _GLOBAL_MARK) if is_global else (_Kind.CONDITION, _CONDITION_MARK)
        )
        if not present:
            if is_global:
                return _OK
            return here, _Error(
                kind,
                f"{mark}: conditional anchor key doesn't exist in the resource",
                f"The condition on {here} does not hold there: the field is absent.",
            )
        error_path, error = self.match(found, node, here)
        if error is None:
            return _OK
        return error_path, _Error(
            kind,
            f"{mark}: {error.message}",
            f"The condition on {here} does not hold there: {_lower_first(error.reason)}",
        )

    def _match_plain_key(
        self, key: str, node: _Node, resource: Mapping[str, Any], path: str
    ) -> _Step:
        found = resource.get(key)
        pattern = node.value
        if isinstance(pattern, str) and pattern == "*":
            # A bare "*" only asks for a non-null value, and Kyverno reports
            # the failure at the parent path.
            if found is not None:
                return _OK
            return path, _plain(
                f"{path}/{key} not found", f"Expected {path}{key}/ to be set, found nothing."
            )
        return self.match(found, node, f"{path}{key}/")

    def _match_existence(self, found: Any, node: _Node, here: str) -> _Step:
        if not isinstance(found, _LIST_TYPES):
            return here, _plain(
                "invalid resource type: Existence ^ () anchor can be used only on list",
                f"Expected a list at {here}, found {_describe(found)}.",
            )
        if not isinstance(node, _List):
            return here, _plain(
                "invalid pattern type: Pattern has to be of list",
                f"The pattern at {here} must be a list to check a list.",
            )
        for wanted in node.items:
            if not isinstance(wanted, _Map):
                return here, _plain(
                    "invalid pattern type: Pattern has to be of type map",
                    f"The pattern items at {here} must be objects.",
                )
            if not any(
                self.match(item, wanted, f"{here}{index}/")[1] is None
                for index, item in enumerate(found)
            ):
                return here, _plain(
                    f"existence anchor validation failed at path {here}",
                    f"Expected at least one item of {here} to match the pattern, found none.",
                )
        return _OK


def _match_scalar(resource: Any, pattern: Any, path: str) -> _Step:
    if isinstance(resource, list | tuple):
        # A scalar pattern against a list must hold for every item.
        for item in resource:
            if not values.value_matches(item, pattern):
                return path, _plain(
                    f"resource value '{resource}' does not match '{pattern}' at path {path}",
                    f"Expected every item at {path} to match {_describe(pattern)}, "
                    f"found {_describe(item)}.",
                )
        return _OK
    if values.value_matches(resource, pattern):
        return _OK
    return path, _plain(
        f"resource value '{resource}' does not match '{pattern}' at path {path}",
        f"Expected {_describe(pattern)} at {path}, found {_describe(resource)}.",
    )


def _has_own_condition_failure(skipped: list[_Error]) -> bool:
    """Tell whether a skip came from an anchor of this map, not from deeper."""
    return any(error.kind is not _Kind.GATHERED for error in skipped)


def _gather(skipped: list[_Error]) -> _Error:
    return _Error(_Kind.GATHERED, "; ".join(error.message for error in skipped), skipped[0].reason)


def _plain(message: str, reason: str) -> _Error:
    return _Error(_Kind.PLAIN, message, reason)


def _order_plain_keys(pattern: Mapping[str, Any]) -> list[str]:
    """Order keys as Kyverno does: anchored subtrees first, in reverse."""
    front: list[str] = []
    back: list[str] = []
    for key in sorted(pattern):
        if anchors.kind_of(key) is AnchorKind.GLOBAL or anchors.has_nested_anchors(pattern[key]):
            front.insert(0, key)
        else:
            back.append(key)
    return front + back


_TEXT_ONLY = frozenset({str})


def _with_text_keys(data: Mapping[Any, Any]) -> Mapping[str, Any]:
    """Spell keys as JSON does; YAML may hand over numbers or bools as keys."""
    # The first test is a quicker form of the second for keys of type str
    # itself, which is nearly always what a resource holds.
    if _TEXT_ONLY.issuperset(map(type, data)) or all(isinstance(key, str) for key in data):
        return data
    return {_key_text(key): value for key, value in data.items()}


def _key_text(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f'"{shown}"'
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _lower_first(sentence: str) -> str:
    return sentence[:1].lower() + sentence[1:]
