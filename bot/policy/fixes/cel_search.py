"""Searching for the edits that make a set of CEL expressions hold.

`cel_distances` judges how far the manifest is from passing and which parts
are wrong; `cel_candidates` proposes edits for those parts. A greedy loop
applies every candidate to a copy of the manifest, judges again, and keeps
the best one: the most exact tier (`cel_moves`) that gets nearer at all,
then the largest step, then the edit that changes least. Placeholders are
judged filled in with a neutral text, so a guided fix is checked as far as
it can be.

When no candidate gets nearer, a step that makes progress on a side of an
`||` needing several edits is taken (requests and limits both added, rather
than a volume mount renamed to dodge the test); drastic edits come only
when nothing else helps. The search stops when everything holds, or when
nothing helps at all: then there is no fix, never a wrong one. Conditions
that must keep holding (preconditions, match conditions) are judged with
the validations, so no edit dodges the rule by making it skip.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.policy.fixes import (
    cel_candidates as candidates,
    cel_distances as distances,
    cel_moves as moves,
    cel_paths as paths,
    cel_syntax as syntax,
)
from bot.policy.fixes.cel_distances import Distance, Judged, Problem
from bot.policy.fixes.cel_moves import Candidate
from bot.policy.fixes.cel_paths import Path
from bot.policy.fixes.deny_edits import lookup, materialize

logger = logging.getLogger(__name__)

MAX_STEPS = 48
"""Edits one search may make; a Pod with many containers needs a few each."""
MAX_MISSES = 8
"""Wrong parts whose candidates are tried in one step."""
MAX_TRIALS = 600
"""Candidates judged in one search, which bounds its time (a few ms each);
the policy library needs fewer than a hundred."""


@dataclass(frozen=True)
class Found:
    """Where the search got to."""

    document: Any
    """The manifest with every chosen edit applied, placeholders included."""
    confirm: tuple[Path, ...]
    trusted: tuple[Path, ...]
    """Fields holding placeholders the expressions were not checked against."""


def search(problem: Problem) -> Found | None:
    """The cheapest edited manifest on which every expression holds, or None."""
    try:
        roots = [syntax.parse(text) for text in problem.expressions]
        variables = {v.name: syntax.parse(v.expression) for v in problem.variables if v.name}
    except syntax.SyntaxProblem as problem_found:
        logger.debug("A CEL expression could not be read for fixing: %s", problem_found)
        return None
    shapes = paths.Shapes.of([*roots, *variables.values()])
    state = _State(problem.request.object, frozenset(), frozenset())
    judged = _judged(problem, variables, roots, state)
    budget = MAX_TRIALS
    for _ in range(MAX_STEPS):
        if judged.distance.near == 0:
            return Found(state.document, tuple(sorted(state.confirm, key=str)), tuple(state.free))
        steps: list[_Step] = []
        tried: set[str] = set()
        for miss in judged.misses[:MAX_MISSES]:
            for candidate in candidates.for_miss(miss, judged.probe, shapes=shapes):
                key = repr((candidate.edits, candidate.free))
                moved = None if key in tried else state.applied(candidate)
                tried.add(key)
                if moved is None:
                    continue
                budget -= 1
                if budget < 0:
                    logger.debug("The CEL fix search gave up after %d trials", MAX_TRIALS)
                    return None
                after = _judged(problem, variables, roots, moved)
                if after.distance < judged.distance:
                    steps.append(_Step(candidate, moved, after, _cost(candidate, state.document)))
        chosen = _choose(steps, judged.distance)
        if chosen is None:
            return None
        state, judged = chosen.state, chosen.judged
    return None


@dataclass(frozen=True)
class _Step:
    candidate: Candidate
    state: _State
    judged: Judged
    cost: int


def _choose(steps: Sequence[_Step], before: Distance) -> _Step | None:
    """The best step: most exact tier that gets nearer, then biggest, then cheapest.

    Steps that only make progress on a side that needs several edits come
    next, and dropping whole elements only when nothing else helps.
    """
    drastic = moves.DRASTIC
    nearer = [s for s in steps if s.judged.distance.near < before.near]
    groups = (
        ([s for s in nearer if s.candidate.tier < drastic], True),
        ([s for s in steps if s.candidate.tier < drastic], False),
        (nearer, True),
        (list(steps), False),
    )
    for group, by_near in groups:
        if group:
            return min(
                group,
                key=lambda s: (
                    s.candidate.tier,
                    s.judged.distance.near if by_near else s.judged.distance.full,
                    bool(s.candidate.confirm),
                    s.cost,
                ),
            )
    return None


@dataclass(frozen=True)
class _State:
    document: Any
    free: frozenset[Path]
    confirm: frozenset[Path]
    placeholders: bool = False

    def applied(self, candidate: Candidate) -> _State | None:
        done = materialize(self.document, candidate.edits)
        if done is None:
            return None
        return _State(
            done.document,
            self.free | frozenset(candidate.free),
            self.confirm | frozenset(candidate.confirm),
            self.placeholders or any(edit.placeholder for edit in candidate.edits),
        )


def _judged(
    problem: Problem,
    variables: Mapping[str, syntax.Parsed],
    roots: Sequence[syntax.Parsed],
    state: _State,
) -> Judged:
    return distances.judge(
        problem,
        variables,
        roots,
        state.document,
        free=state.free,
        placeholders=state.placeholders,
    )


def _cost(candidate: Candidate, document: Any) -> int:
    """How much a candidate changes: one per edit, plus whatever it removes.

    A removal costs a little more than setting a value, so that at equal
    cost the field keeps a value the rule accepts.
    """
    cost = 0
    for edit in candidate.edits:
        cost += 2
        if edit.kind == "remove":
            cost += 1 + 2 * _size(lookup(document, edit.path))
        elif edit.kind == "set" and edit.value in ("", [], {}):
            # An empty value is a removal said less plainly.
            cost += 1
    return cost


def _size(value: Any) -> int:
    if isinstance(value, dict):
        return sum(1 + _size(inner) for inner in value.values())
    if isinstance(value, list):
        return sum(1 + _size(inner) for inner in value)
    return 0
