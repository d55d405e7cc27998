"""The smallest manifest change that makes a Kyverno validate pattern pass.

The walk follows the resource and the pattern side by side, as `patterns`
does when it judges them, and writes JSON patch operations wherever the two
disagree. Anchors keep their meaning: a condition that does not hold leaves
its map alone (we never edit a resource to dodge a rule), `=(key)` fixes a
value that is there but never adds the key, `X(key)` removes the key, and
`^(key)` repairs the list element that needs the fewest changes. Missing
parents are added whole, holding only what the pattern asks for.

Every fix is proven before it is returned: the operations are applied to a
copy and the pattern is evaluated again, with placeholders filled in by a
neutral text. A fix whose values hold placeholders is "guided": the team has
to choose a label value or an image version, and the fix says where.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.policy import anchors, patterns, values
from bot.policy.anchors import AnchorKind
from bot.policy.fixes import values_synthesis
from bot.policy.fixes.patches import PatchError, PatchOp, apply_patch, dotted, pointer, value_at
from bot.policy.fixes.proposals import ProposedFix
from bot.policy.fixes.values_synthesis import MISSING, Derived, satisfying_value

__all__ = [
    "MISSING",
    "PLACEHOLDER_PREFIX",
    "ProposedFix",
    "fix_any_pattern",
    "fix_pattern",
    "satisfying_value",
]

PLACEHOLDER_PREFIX = "<"
"""Values holding `<...>` are placeholders, e.g. `nginx:<pin a version>`."""

_MAX_ROUNDS = 8
"""Later passes catch what the first could not see: a wildcard label key
stands for one matching label per evaluation, as in Kyverno, so each pass
removes the next label that `X(prefix/*)` forbids."""

_TEXT_MAPS = frozenset(
    {"labels", "annotations", "nodeSelector", "matchLabels", "data", "stringData"}
)
"""Maps whose values Kubernetes only takes as strings."""

_MARKER_MAPS = frozenset({"labels", "annotations"})
"""Maps where a key with an empty value is a common, valid marker."""

_DECIDED_AT_RUN_TIME = frozenset(
    {
        "runAsUser",
        "runAsGroup",
        "runAsNonRoot",
        "allowPrivilegeEscalation",
        "readOnlyRootFilesystem",
        "seccompProfile",
        "appArmorProfile",
        "seLinuxOptions",
        "automountServiceAccountToken",
    }
)
"""Fields whose absence is no answer: the image, the node or a default that
is the very value rules forbid decides them (no runAsUser runs as the image's
user, maybe root; no seccomp profile may mean Unconfined), so leaving them
out would pass the rule without changing what runs."""

_REFERENCED_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers", "volumes"})
"""Lists whose elements are referred to by name, so never dropped."""

_Path = tuple[str | int, ...]

Lookup = Callable[[Sequence[str | int]], Derived | None]
"""Answers "what value has already been decided for this field?" (platform
defaults), for a path relative to the resource being fixed."""


def fix_pattern(
    resource: Mapping[str, Any], pattern: Any, *, lookup: Lookup | None = None
) -> ProposedFix | None:
    """Propose the changes that make a resource pass one validate pattern.

    Returns None when the resource already passes (or the rule skips it),
    or when no change can be derived after which the pattern passes; a
    change that merely turns the failure into a skip does not count.
    """
    if _status(resource, pattern) != "fail":
        return None
    return _propose(
        resource, pattern, accept=lambda doc: _status(doc, pattern) == "pass", lookup=lookup
    )


def fix_any_pattern(
    resource: Mapping[str, Any], alternatives: Sequence[Any], *, lookup: Lookup | None = None
) -> ProposedFix | None:
    """Propose the cheapest fix that makes one of the `anyPattern` entries pass.

    Fixes without placeholders are preferred, then those with fewer
    operations, then the earlier alternative.
    """
    if _any_status(resource, alternatives) != "fail":
        return None
    proposals = [
        _propose(
            resource,
            alternative,
            accept=lambda doc: _any_status(doc, alternatives) == "pass",
            lookup=lookup,
        )
        for alternative in alternatives
    ]
    ranked = [
        (bool(fix.placeholders), len(fix.ops), i)
        for i, fix in enumerate(proposals)
        if fix is not None
    ]
    if not ranked:
        return None
    return proposals[min(ranked)[2]]


def _status(resource: Any, pattern: Any) -> str:
    return patterns.validate_pattern(resource, pattern).status


def _any_status(resource: Any, alternatives: Sequence[Any]) -> str:
    """The anyPattern verdict: one pass is enough, all must skip to skip."""
    found = [_status(resource, alternative) for alternative in alternatives]
    if "pass" in found:
        return "pass"
    return "skip" if found and all(status == "skip" for status in found) else "fail"


def _propose(
    resource: Mapping[str, Any],
    pattern: Any,
    *,
    accept: Callable[[Any], bool],
    lookup: Lookup | None,
) -> ProposedFix | None:
    # Where the rule accepts an optional field left out and no value it allows
    # can be derived, leaving it out beats a placeholder; should that walk not
    # reach a passing manifest, the placeholders are still a useful answer.
    for prefer_removal in (True, False):
        found = _propose_rounds(
            resource, pattern, accept=accept, lookup=lookup, prefer_removal=prefer_removal
        )
        if found is not None:
            return found
    return None


def _propose_rounds(
    resource: Mapping[str, Any],
    pattern: Any,
    *,
    accept: Callable[[Any], bool],
    lookup: Lookup | None,
    prefer_removal: bool,
) -> ProposedFix | None:
    # Each round works on a copy whose placeholders are filled in, so that a
    # placeholder is not "fixed" again by the next round.
    changes: list[_Change] = []
    document: Any = resource
    probe: Any = resource
    for _ in range(_MAX_ROUNDS):
        walker = _Walker(probe, lookup, prefer_removal=prefer_removal)
        walker.fix(probe, pattern, (), present=True)
        found = walker.result()
        if not found:
            return None
        ops = [change.op for change in found]
        try:
            document = apply_patch(document, ops)
            probe = apply_patch(probe, ops)
        except PatchError:
            return None
        changes.extend(found)
        filled = [values_synthesis.fill_placeholders(document, f) for f in values_synthesis.FILLERS]
        if any(accept(candidate) for candidate in filled):
            return _as_fix(changes)
        probe = filled[0]
    return None


def _as_fix(changes: list[_Change]) -> ProposedFix:
    placeholders: list[str] = []
    for change in changes:
        if change.op.op != "remove":
            placeholders.extend(
                values_synthesis.placeholder_pointers(change.op.value, change.op.path)
            )
    return ProposedFix(
        ops=tuple(change.op for change in changes),
        placeholders=tuple(dict.fromkeys(placeholders)),
        summary=tuple(change.summary for change in changes),
    )


@dataclass(frozen=True)
class _Change:
    op: PatchOp
    summary: str


class _Walker:
    """One pass over a resource, collecting the changes a pattern asks for."""

    def __init__(
        self, document: Any, lookup: Lookup | None = None, *, prefer_removal: bool = False
    ) -> None:
        self._document = document
        self._lookup = lookup
        self._prefer_removal = prefer_removal
        self.changes: list[_Change] = []
        self._dropped: list[tuple[_Path, Any]] = []
        self._optional: set[_Path] = set()
        """Fields the pattern reaches through `=(key)`: it accepts them absent."""

    def result(self) -> list[_Change]:
        """The changes in an order that applies: list elements go last, from
        the highest index down, so no pointer is shifted before it is used."""
        emptied = self._emptied_lists()
        drops = [
            _Change(
                PatchOp("remove", pointer(*at)),
                f"remove {dotted(at)}" + (f" ({_render(name)})" if name is not None else ""),
            )
            for at, name in sorted(self._dropped, key=lambda drop: drop[0], reverse=True)
            if at[:-1] not in emptied
        ]
        gone = [
            _Change(
                PatchOp("remove", pointer(*self._pruned(owner))),
                f"remove {dotted(self._pruned(owner))}: every element of {dotted(owner)} "
                f"breaks the rule ({', '.join(_render(n) for n in names if n is not None)})",
            )
            for owner, names in sorted(emptied.items(), reverse=True)
        ]
        return self.changes + drops + gone

    def _emptied_lists(self) -> dict[_Path, list[Any]]:
        """Optional lists every element of which is dropped: the list goes instead.

        Returns each such list with the names of its elements.
        """
        by_list: dict[_Path, dict[Any, Any]] = {}
        for at, name in self._dropped:
            by_list.setdefault(at[:-1], {})[at[-1]] = name
        return {
            owner: list(dropped.values())
            for owner, dropped in by_list.items()
            if owner in self._optional
            and isinstance(found := value_at(self._document, owner), list)
            and len(dropped) == len(found)
        }

    def fix(self, value: Any, pattern: Any, at: _Path, *, present: bool) -> None:
        if _status(value if present else None, pattern) != "fail":
            return
        if isinstance(pattern, Mapping):
            if isinstance(value, Mapping):
                self._fix_map(value, _with_text_keys(pattern), at)
            else:
                self._set(at, self._build(pattern, at), present=present)
        elif isinstance(pattern, list | tuple):
            if isinstance(value, list | tuple):
                self._fix_list(value, pattern, at)
            else:
                self._set(at, self._build(pattern, at), present=present)
        elif present and isinstance(value, list | tuple):
            self._fix_items(value, pattern, at)
        elif pattern is None and present and at and isinstance(at[-1], str):
            self._remove(at)
        else:
            self._fix_leaf(value if present else MISSING, pattern, at)

    def _fix_map(self, value: Mapping[str, Any], pattern: Mapping[str, Any], at: _Path) -> None:
        pattern = anchors.expand_metadata_keys(pattern, value)

        # A condition that does not hold means the pattern does not apply
        # here, and changing the resource to make it hold is not our call.
        for key, inner in pattern.items():
            anchor = anchors.parse_anchor(key)
            if anchor is None or anchor.kind not in (AnchorKind.CONDITIONAL, AnchorKind.GLOBAL):
                continue
            holds = anchor.key in value and _status(value[anchor.key], inner) == "pass"
            if not holds and (anchor.kind is AnchorKind.CONDITIONAL or anchor.key in value):
                return

        # Then each key in the order the policy author wrote them.
        for key, inner in pattern.items():
            anchor = anchors.parse_anchor(key)
            if anchor is None:
                self._fix_plain_key(value, key, inner, at)
            elif anchor.key not in value:
                continue
            elif anchor.kind is AnchorKind.EQUALITY:
                self._optional.add((*at, anchor.key))
                self.fix(value[anchor.key], inner, (*at, anchor.key), present=True)
            elif anchor.kind is AnchorKind.NEGATION:
                self._remove((*at, anchor.key))
            elif anchor.kind is AnchorKind.EXISTENCE:
                self._fix_existence(value[anchor.key], inner, (*at, anchor.key))

    def _fix_plain_key(self, value: Mapping[str, Any], key: str, inner: Any, at: _Path) -> None:
        here = (*at, key)
        if key not in value and values.contains_wildcard(key) and _in_text_map(here):
            # An unmatched wildcard label key: the team picks the real name.
            here = (*at, values_synthesis.wildcard_template(key, values_synthesis.SET_A_NAME))
        if inner == "*":
            # A bare "*" only asks for a value other than null.
            if value.get(key) is None:
                self._set(here, self._any_value(here), present=key in value)
            return
        self.fix(value.get(key), inner, here, present=key in value)

    def _fix_list(self, value: Sequence[Any], pattern: Sequence[Any], at: _Path) -> None:
        if not pattern:
            return
        head = pattern[0]
        if isinstance(head, Mapping):
            # One pattern element applies to every element of the resource.
            for index, item in enumerate(value):
                if _rejects_by_name(item, head, at):
                    self._dropped.append(((*at, index), item["name"]))
                else:
                    self.fix(item, head, (*at, index), present=True)
        elif not isinstance(head, list | tuple):
            self._fix_items(value, head, at)
        elif len(value) >= len(pattern):
            for index, (item, inner) in enumerate(zip(value, pattern, strict=False)):
                self.fix(item, inner, (*at, index), present=True)

    def _fix_items(self, value: Sequence[Any], pattern: Any, at: _Path) -> None:
        """Make every scalar of a list match, without leaving duplicates."""
        kept: list[Any] = []
        notes: list[str] = []
        for index, item in enumerate(value):
            if values.value_matches(item, pattern):
                kept.append(item)
                continue
            proposal = self._leaf(pattern, item, (*at, index))
            if proposal is None:
                return
            if proposal[0] not in kept and proposal[0] not in value[index + 1 :]:
                kept.append(proposal[0])
                notes.append(proposal[1])
        if len(kept) == len(value):
            for index, (old, new) in enumerate(zip(value, kept, strict=True)):
                if old is not new:
                    self._set((*at, index), (new, ""), present=True)
        else:
            self._set(at, (kept, "; ".join(dict.fromkeys(filter(None, notes)))), present=True)

    def _fix_existence(self, value: Any, pattern: Any, at: _Path) -> None:
        if not isinstance(value, list | tuple) or not isinstance(pattern, list | tuple):
            return
        for wanted in pattern:
            if not isinstance(wanted, Mapping):
                continue
            if any(_status(item, wanted) == "pass" for item in value):
                continue
            if not value:
                self._set((*at, 0), self._build(wanted, (*at, 0)), present=False)
                continue
            # Repair the element that needs the fewest changes.
            options: list[tuple[tuple[bool, int, int], list[_Change]]] = []
            for index, item in enumerate(value):
                trial = _Walker(self._document, self._lookup, prefer_removal=self._prefer_removal)
                trial.fix(item, wanted, (*at, index), present=True)
                found = trial.result()
                if found:
                    guided = any(_holds_placeholder(c.op) for c in found)
                    options.append(((guided, len(found), index), found))
            if options:
                self.changes.extend(min(options, key=lambda option: option[0])[1])

    def _build(self, pattern: Any, at: _Path) -> tuple[Any, str] | None:
        """A new value for a missing field, holding only what is required."""
        if isinstance(pattern, Mapping):
            built: dict[str, Any] = {}
            notes: list[str] = []
            for key, inner in _with_text_keys(pattern).items():
                # Anchored keys never require the key to exist.
                if anchors.parse_anchor(key) is not None:
                    continue
                name = key
                if values.contains_wildcard(key) and _in_text_map((*at, key)):
                    name = values_synthesis.wildcard_template(key, values_synthesis.SET_A_NAME)
                if inner == "*":
                    part = self._any_value((*at, name))
                elif _status(None, inner) != "fail":
                    continue
                else:
                    part = self._build(inner, (*at, name))
                if part is None:
                    return None
                built[name] = part[0]
                notes.append(part[1])
            return built, "; ".join(dict.fromkeys(filter(None, notes)))
        if isinstance(pattern, list | tuple):
            if not pattern:
                return None
            if isinstance(pattern[0], list | tuple):
                parts = [self._build(inner, (*at, i)) for i, inner in enumerate(pattern)]
            else:
                parts = [self._build(pattern[0], (*at, 0))]
            if any(part is None for part in parts):
                return None
            kept = [part for part in parts if part is not None]
            said = dict.fromkeys(filter(None, (p[1] for p in kept)))
            return [part[0] for part in kept], "; ".join(said)
        return self._leaf(pattern, MISSING, at)

    def _fix_leaf(self, value: Any, pattern: Any, at: _Path) -> None:
        proposal = self._leaf(pattern, value, at)
        if (
            self._prefer_removal
            and proposal is not None
            and values_synthesis.has_placeholder(proposal[0])
            and (_only_forbids(pattern) or value in ("", None))
        ):
            # "Anything but X" with no derivable alternative, or an empty value:
            # leaving the field out loses nothing the team wrote on purpose. A
            # rule that wants a value of some shape (`safe-*`) asks for a
            # rename instead, which only the team can choose.
            removable = self._removable(at)
            if removable is not None:
                self._leave_out(removable)
                return
        self._set(at, proposal, present=value is not MISSING)

    def _any_value(self, at: _Path) -> tuple[Any, str] | None:
        """A value for a field the pattern wants present with any value (`"*"`)."""
        proposal = self._leaf("?*", MISSING, at)
        if (
            proposal is not None
            and values_synthesis.has_placeholder(proposal[0])
            and len(at) >= 2
            and at[-2] in _MARKER_MAPS
        ):
            # `*` matches the empty text, and an empty label is Kubernetes'
            # own way of marking presence (`node-role.kubernetes.io/...: ""`).
            return "", "present, with an empty value as the rule accepts any"
        return proposal

    def _leaf(self, pattern: Any, current: Any, at: _Path) -> tuple[Any, str] | None:
        """A scalar proposal, with a note when the resource suggested it."""
        if current is MISSING or current in (None, ""):
            # The resource's own answer first, then the platform's.
            for derived in (
                values_synthesis.derive(self._document, at),
                self._lookup(at) if self._lookup is not None else None,
            ):
                if derived is not None and values.value_matches(derived.value, pattern):
                    return derived.value, derived.note
        field = at[-1] if at and isinstance(at[-1], str) else ""
        proposal = satisfying_value(pattern, current, field=field, as_text=_in_text_map(at))
        return None if proposal is None else (proposal[0], "")

    def _set(self, at: _Path, proposal: tuple[Any, str] | None, *, present: bool) -> None:
        if proposal is None or not at:
            return
        value, note = proposal
        summary = f"set {dotted(at)} to {_render(value)}"
        if note:
            summary += f" ({note})"
        op = PatchOp("replace" if present else "add", pointer(*at), value)
        self.changes.append(_Change(op, summary))

    def _remove(self, at: _Path) -> None:
        self.changes.append(_Change(PatchOp("remove", pointer(*at)), f"remove {dotted(at)}"))

    def _removable(self, at: _Path) -> _Path | None:
        """The optional field to leave out instead of setting `at` to a placeholder.

        Only the field itself or the map holding it (`=(hostPath): {path: ...}`)
        qualifies, never anything wider: a rule that accepts a whole pod
        template left out does not mean the team can do without it. Maps that
        would be left empty go too, when the rule accepts them absent.
        """
        if not at or not isinstance(at[-1], str):
            return None
        if any(segment in _DECIDED_AT_RUN_TIME for segment in at):
            return None
        for candidate in (at, at[:-1]):
            if candidate and isinstance(candidate[-1], str) and candidate in self._optional:
                return self._pruned(candidate)
        return None

    def _pruned(self, at: _Path) -> _Path:
        while len(at) > 1 and isinstance(at[-2], str) and at[:-1] in self._optional:
            holder = value_at(self._document, at[:-1])
            if not isinstance(holder, Mapping) or set(holder) != {at[-1]}:
                break
            at = at[:-1]
        return at

    def _leave_out(self, at: _Path) -> None:
        element = at[:-1]
        item = value_at(self._document, element)
        if (
            len(element) >= 2
            and isinstance(element[-1], int)
            and element[-2] not in _REFERENCED_LISTS
            and isinstance(item, Mapping)
            and set(item) <= {at[-1], "name"}
        ):
            # A sysctl without its value, a toleration without its key: what
            # is left means nothing, so the element goes.
            self._dropped.append((element, item.get("name")))
            return
        self.changes.append(
            _Change(
                PatchOp("remove", pointer(*at)),
                f"remove {dotted(at)} (the rule accepts it left out, and no value "
                "it allows follows from the manifest)",
            )
        )


def _rejects_by_name(item: Any, pattern: Mapping[str, Any], at: _Path) -> bool:
    """Whether the pattern refuses a list element for what it is, by its name.

    A forbidden sysctl or a binding to `system:anonymous` is fixed by taking
    the element out, not by renaming it, which would keep its settings under
    another identity. Containers and volumes are never dropped: others refer
    to them by name, and removing one changes what the workload is.
    """
    if not at or at[-1] in _REFERENCED_LISTS or not isinstance(item, Mapping):
        return False
    name = item.get("name")
    wanted = pattern.get("name", pattern.get("=(name)"))
    if not isinstance(name, str) or not name or not isinstance(wanted, str):
        return False
    if values.trim_space(wanted) in ("*", "?*", "*?"):
        return False
    return not values.value_matches(name, wanted)


def _only_forbids(pattern: Any) -> bool:
    """Whether a pattern value only rules values out: `!NodePort`, `!*+* & !*=*`."""
    if not isinstance(pattern, str) or not pattern.strip():
        return False
    terms = [t.strip() for alt in pattern.split("|") for t in alt.split("&")]
    return all(term.startswith("!") for term in terms)


def _holds_placeholder(op: PatchOp) -> bool:
    return op.op != "remove" and values_synthesis.has_placeholder(op.value)


def _in_text_map(at: _Path) -> bool:
    """Whether a field only takes strings: a label, or an env value."""
    if len(at) >= 2 and at[-2] in _TEXT_MAPS:
        return True
    return len(at) >= 3 and at[-1] == "value" and at[-3] == "env"


def _with_text_keys(pattern: Mapping[Any, Any]) -> Mapping[str, Any]:
    """Spell keys as JSON does; YAML may hand over numbers or bools as keys."""
    if all(isinstance(key, str) for key in pattern):
        return pattern
    return {json.dumps(key) if not isinstance(key, str) else key: v for key, v in pattern.items()}


def _render(value: Any, limit: int = 80) -> str:
    text = _render_inner(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _render_inner(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_render_inner(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_render_inner(item) for item in value) + "]"
    return json.dumps(value)
