"""Deriving a fix from a `deny` rule's conditions.

A deny rule says when to reject, not what is acceptable, so the fix is the
cheapest set of edits that makes its conditions false. The logic follows
how Kyverno reads the blocks:

- `any` denies when one condition holds, so every holding one must be made
  false;
- `all` denies only when every condition holds, so one false is enough: we
  pick the cheapest, preferring no placeholders, then fixes that leave no
  list empty, then fewer operations;
- a list of blocks denies when every block does, so one block suffices.

`deny_conditions` proposes edits per condition; each one is applied to a
copy of the manifest and the condition evaluated again (with the foreach
element re-read from the patched manifest), so only edits that really make
it false are kept. The foreach's own preconditions must still hold after
the edit: skipping the element is dodging the rule, not fixing it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.policy import conditions
from bot.policy.contexts import EvaluationContext
from bot.policy.fixes import deny_conditions
from bot.policy.fixes.deny_edits import Edit, Materialized, Path, is_missing, lookup, materialize
from bot.policy.fixes.patches import pointer
from bot.policy.fixes.proposals import ProposedFix

_Block = tuple[Sequence[Any] | None, Sequence[Any]]
"""One `{any, all}` block: the `any` list (None when absent) and the `all` list."""


@dataclass(frozen=True)
class _Choice:
    edits: tuple[Edit, ...]
    confirm: tuple[Path, ...]
    cost: tuple[int, int, int]
    """(guided, lists emptied, operations): compared as a tuple."""


def fix_deny(
    deny: Mapping[str, Any],
    context: EvaluationContext,
    *,
    roots: Mapping[Path, Path],
    preconditions: Any = None,
) -> ProposedFix | None:
    """Edits that make the deny conditions false, as a patch on request.object.

    Args:
        deny: The rule's (or foreach entry's) `deny` block.
        context: The context the conditions are evaluated in, with the
            foreach element bound if there is one.
        roots: Where the data the conditions read sits in the manifest, e.g.
            `{("request", "object"): (), ("element",): ("spec", "containers", 0)}`.
        preconditions: The foreach entry's preconditions, which must still
            hold once the fix is applied.
    """
    manifest = context.request_object
    blocks = _blocks(deny.get("conditions"))
    if manifest is None or not blocks:
        return None
    checker = _Checker(context, roots, preconditions)
    options = [_falsify_block(block, checker) for block in blocks]
    best = _cheapest(o for o in options if o is not None)
    if best is None or not best.edits:
        return None
    done = materialize(manifest, best.edits)
    if done is None or not done.ops:
        return None
    placeholders = [pointer(*e.path) for e in best.edits if e.placeholder]
    placeholders += [pointer(*p) for p in best.confirm]
    return ProposedFix(done.ops, tuple(dict.fromkeys(placeholders)), done.summary)


def _blocks(written: Any) -> list[_Block]:
    """The condition blocks, in the three forms `conditions.evaluate` accepts."""
    if isinstance(written, Mapping):
        written = [written]
    if not isinstance(written, list) or not written:
        return []
    if all(isinstance(c, Mapping) and ("any" in c or "all" in c) for c in written):
        return [(_as_list(c.get("any"), none=True), _as_list(c.get("all"))) for c in written]
    return [(None, written)]


def _as_list(value: Any, *, none: bool = False) -> Any:
    if value is None and none:
        return None
    return value if isinstance(value, list) else []


def _falsify_block(block: _Block, checker: _Checker) -> _Choice | None:
    any_conditions, all_conditions = block
    options: list[_Choice] = []
    if any_conditions is not None:
        # Every condition that holds must stop holding.
        chosen: list[_Choice] = []
        for condition in any_conditions:
            holds = checker.holds(condition)
            best = _best_candidate(condition, checker) if holds else None
            if holds is None or (holds and best is None):
                chosen = []
                break
            if best is not None:
                chosen.append(best)
        if chosen:
            options.append(_combined(chosen))
    for condition in all_conditions:
        if checker.holds(condition):
            best = _best_candidate(condition, checker)
            if best is not None:
                options.append(best)
    return _cheapest(options)


def _best_candidate(condition: Any, checker: _Checker) -> _Choice | None:
    if not isinstance(condition, Mapping):
        return None
    proposals = deny_conditions.propose(
        condition, checker.context, roots=checker.roots, protected=checker.protected
    )
    choices: list[_Choice] = []
    for candidate in proposals:
        done = materialize(checker.manifest, candidate.edits)
        if done is None or not done.ops:
            continue
        # A placeholder often cannot pass the check (a text for a number),
        # yet it still shows the owner where to act.
        if not checker.falsified(done, condition) and not candidate.guided:
            continue
        cost = (int(candidate.guided), done.emptied, len(done.ops))
        choices.append(_Choice(candidate.edits, candidate.confirm, cost))
    return _cheapest(choices)


def _cheapest(options: Any) -> _Choice | None:
    best: _Choice | None = None
    for option in options:
        # Ties keep the earlier option: the more natural move comes first.
        if best is None or option.cost < best.cost:
            best = option
    return best


def _combined(choices: Sequence[_Choice]) -> _Choice:
    edits = tuple(dict.fromkeys(e for c in choices for e in c.edits))
    confirm = tuple(dict.fromkeys(p for c in choices for p in c.confirm))
    cost = (
        max(c.cost[0] for c in choices),
        sum(c.cost[1] for c in choices),
        sum(c.cost[2] for c in choices),
    )
    return _Choice(edits, confirm, cost)


class _Checker:
    """Evaluates conditions on the manifest as it is, or as a candidate patches it."""

    def __init__(
        self, context: EvaluationContext, roots: Mapping[Path, Path], preconditions: Any
    ) -> None:
        self.context = context
        self.roots = roots
        self.manifest: Mapping[str, Any] = context.request_object or {}
        self.preconditions = preconditions
        # Names bound to the foreach element: `element` and `elementN`.
        self.elements = {str(path[0]): base for path, base in roots.items() if len(path) == 1}
        self.protected: Path = next(iter(self.elements.values()), ())

    def holds(self, condition: Any, context: EvaluationContext | None = None) -> bool | None:
        try:
            found, _ = conditions.evaluate({"all": [condition]}, context or self.context)
        except conditions.ConditionError:
            return None
        return found

    def falsified(self, done: Materialized, condition: Any) -> bool:
        patched = self._context_for(done.document)
        if patched is None:
            return False
        if self.preconditions is not None:
            try:
                still, _ = conditions.evaluate(self.preconditions, patched)
            except conditions.ConditionError:
                return False
            if not still:
                return False
        return self.holds(condition, patched) is False

    def _context_for(self, document: Any) -> EvaluationContext | None:
        patched = self.context.copy()
        request = dict(patched.data.get("request") or {})
        request["object"] = document
        patched.data["request"] = request
        for name, base in self.elements.items():
            element = lookup(document, base)
            if is_missing(element):
                return None
            patched.data[name] = element
        return patched
