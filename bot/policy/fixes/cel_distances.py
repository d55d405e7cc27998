"""Judging how far a manifest is from passing a set of CEL expressions.

CEL is not inverted symbolically. Instead every expression is judged part
by part, which gives a distance from passing, in the spirit of search-based
test generation:

- `a && b` is as far as both parts together, `a || b` as the nearer one, `!a`
  swaps what is wanted, `c ? a : b` takes the cheaper branch including the
  cost of steering `c`;
- `l.all(x, p)` adds up the distance of every element, `l.exists(x, p)`
  takes the nearest element (an empty list is one step away);
- a named variable used as a test is judged as its expression;
- any other part is a leaf, evaluated by CEL with the iteration variables
  bound (`cel.bind`), and counts 0 when it comes out as wanted and 1 when not
  (less when a number is merely on the wrong side of a bound).

Every leaf that does not come out right, and every macro no element
satisfies, is reported as a `Miss` for `cel_candidates` to work on; parts
that come out right as a whole report nothing, whatever their sub-parts say.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from bot.policy.cel import evaluation, lookups
from bot.policy.cel.environment import Evaluation
from bot.policy.fixes import cel_paths as paths, cel_syntax as syntax, values_synthesis
from bot.policy.fixes.cel_moves import Miss
from bot.policy.fixes.cel_paths import Env, Path
from bot.policy.requests import AdmissionRequest

_CONNECTIVES = frozenset({"&&", "||"})
_ORDERINGS = frozenset({"<", "<=", ">", ">="})
_NUMBERS = frozenset({"int", "uint", "double"})


@dataclass(frozen=True)
class Problem:
    """Expressions that must all hold, and how to evaluate them on a manifest."""

    request: AdmissionRequest
    expressions: tuple[str, ...]
    variables: tuple[evaluation.Named, ...] = ()
    data: Callable[[AdmissionRequest], Mapping[str, Any]] = evaluation.request_data
    """The values of `object`, `request`, `namespaceObject`... for a request."""
    found: lookups.Lookups | None = None


class Distance(NamedTuple):
    """How far from holding, in two measures.

    `near` counts the cheaper side of each `||`; `full` counts both, so that
    work towards a side that needs several edits shows as progress too.
    """

    near: float
    full: float

    def __add__(self, other: object) -> Distance:
        assert isinstance(other, Distance)
        return Distance(self.near + other.near, self.full + other.full)


ZERO = Distance(0.0, 0.0)
ONE = Distance(1.0, 1.0)


@dataclass(frozen=True)
class Judged:
    """The verdict on one manifest."""

    distance: Distance
    misses: list[Miss]
    probe: Probe


class Probe:
    """The expressions' view of one manifest: evaluation and tracing.

    Evaluations are remembered per source text: judging one manifest asks
    for the same element and the same sub-expression many times.
    """

    def __init__(
        self, problem: Problem, variables: Mapping[str, syntax.Parsed], document: Any
    ) -> None:
        self._document = document
        self._variables = variables
        request = dataclasses.replace(problem.request, object=document)
        self._scope = evaluation.Scope(
            problem.data(request), variables=problem.variables, found=problem.found
        )
        self._seen: dict[str, Evaluation] = {}

    @property
    def document(self) -> Any:
        return self._document

    def evaluate(self, text: str, env: Env) -> Evaluation:
        source = paths.bound_text(text, env)
        found = self._seen.get(source)
        if found is None:
            found = self._seen[source] = self._scope.evaluate(source)
        return found

    def variable(self, name: str) -> syntax.Parsed | None:
        return self._variables.get(name)


def judge(
    problem: Problem,
    variables: Mapping[str, syntax.Parsed],
    roots: Sequence[syntax.Parsed],
    document: Any,
    *,
    free: frozenset[Path] = frozenset(),
    placeholders: bool = False,
) -> Judged:
    """The distance of a state, its wrong parts, and the probe that judged it.

    Placeholders are judged filled in with each neutral text in turn, the
    nearest counting: a person picks a value that works.
    """
    best: Judged | None = None
    fillers = values_synthesis.FILLERS if placeholders else values_synthesis.FILLERS[:1]
    for filler in fillers:
        filled = values_synthesis.fill_placeholders(document, filler) if placeholders else document
        probe = Probe(problem, variables, filled)
        judge = _Judge(probe, free)
        distance = ZERO
        for root in roots:
            distance = distance + judge.distance(root, root.root, (), True)
        if best is None or distance < best.distance:
            best = Judged(distance, judge.misses, probe)
    assert best is not None
    return best


class _Judge:
    def __init__(self, probe: Probe, free: frozenset[Path]) -> None:
        self.probe = probe
        self.free = free
        self.misses: list[Miss] = []
        self.expanding: set[str] = set()

    def distance(self, parsed: syntax.Parsed, node: syntax.Node, env: Env, want: bool) -> Distance:
        # A part that comes out right needs no fix, whatever its sub-parts say.
        recorded = len(self.misses)
        found = self._distance(parsed, node, env, want)
        if found.near == 0:
            del self.misses[recorded:]
        return found

    def _distance(self, parsed: syntax.Parsed, node: syntax.Node, env: Env, want: bool) -> Distance:
        if isinstance(node, syntax.Binary) and node.op in _CONNECTIVES:
            left = self.distance(parsed, node.left, env, want)
            right = self.distance(parsed, node.right, env, want)
            # `&&` wanted true and `||` wanted false need both sides.
            if (node.op == "&&") == want:
                return left + right
            return Distance(min(left.near, right.near), left.full + right.full)
        if isinstance(node, syntax.Unary) and node.op == "!":
            return self.distance(parsed, node.operand, env, not want)
        if isinstance(node, syntax.Conditional):
            steer_then = self.distance(parsed, node.condition, env, True)
            steer_else = self.distance(parsed, node.condition, env, False)
            then = self.distance(parsed, node.then, env, want)
            otherwise = self.distance(parsed, node.otherwise, env, want)
            return min(steer_then + then, steer_else + otherwise)
        if isinstance(node, syntax.Call) and node.is_macro and node.function in ("all", "exists"):
            return self._macro(parsed, node, env, want)
        if isinstance(node, syntax.Select) and isinstance(node.operand, syntax.Ident):
            definition = self._variable(node)
            if definition is not None and node.field not in self.expanding:
                # NB: a variable naming itself is an error CEL reports; the
                # guard only keeps the judging from recursing forever.
                self.expanding.add(node.field)
                try:
                    return self.distance(definition, definition.root, (), want)
                finally:
                    self.expanding.discard(node.field)
        if isinstance(node, syntax.Literal) and isinstance(node.value, bool):
            return ZERO if node.value == want else ONE
        return self._leaf(parsed, node, env, want)

    def _variable(self, node: syntax.Select) -> syntax.Parsed | None:
        """A named variable used as a test is judged as its own expression."""
        operand = node.operand
        if not isinstance(operand, syntax.Ident) or operand.name != "variables":
            return None
        return self.probe.variable(node.field)

    def _macro(self, parsed: syntax.Parsed, node: syntax.Call, env: Env, want: bool) -> Distance:
        assert node.target is not None
        variable = node.args[0]
        assert isinstance(variable, syntax.Ident)
        found = self.probe.evaluate(parsed.text(node.target), env)
        if found.kind not in ("list", "map"):
            return self._leaf(parsed, node, env, want)
        bound = paths.elements(parsed, node.target, variable.name, env, self.probe)
        body = node.args[1]
        # `all` wanted true and `exists` wanted false need every element.
        if (node.function == "all") == want:
            total = ZERO
            for element in bound:
                distance = self.distance(parsed, body, (*env, element), want)
                if distance.near > 0:
                    self.misses.append(Miss("element", parsed, node, env, want, element))
                total = total + distance
            return total
        nearest = ONE
        for element in bound:
            nearest = min(nearest, self.distance(parsed, body, (*env, element), want))
        if nearest.near > 0:
            self.misses.append(Miss("range", parsed, node, env, want))
        return nearest

    def _leaf(self, parsed: syntax.Parsed, node: syntax.Node, env: Env, want: bool) -> Distance:
        if self.free and self._reads_free(parsed, node, env):
            return ZERO
        found = self.probe.evaluate(parsed.text(node), env)
        if found.kind == "bool" and found.value is want:
            return ZERO
        self.misses.append(Miss("leaf", parsed, node, env, want))
        if found.kind == "bool" and isinstance(node, syntax.Binary):
            gap = self._gap(parsed, node, env, want)
            return Distance(gap, gap)
        return ONE

    def _gap(self, parsed: syntax.Parsed, node: syntax.Binary, env: Env, want: bool) -> float:
        """Less than 1 for a number on the wrong side of a bound, by how far."""
        if node.op not in _ORDERINGS and node.op != "==":
            return 1.0
        left = self.probe.evaluate(parsed.text(node.left), env)
        right = self.probe.evaluate(parsed.text(node.right), env)
        if left.kind not in _NUMBERS or right.kind not in _NUMBERS:
            return 1.0
        if self._sizes_a_map(parsed, node.left, env) or self._sizes_a_map(parsed, node.right, env):
            # Dropping fields one by one is no way towards an empty object.
            return 1.0
        if node.op == "==" and not want:
            return 1.0
        gap = abs(float(left.value) - float(right.value)) + 1.0
        return 0.5 + 0.5 * gap / (gap + 1.0)

    def _sizes_a_map(self, parsed: syntax.Parsed, node: syntax.Node, env: Env) -> bool:
        if not isinstance(node, syntax.Call) or node.function != "size":
            return False
        subject = node.target if node.target is not None else (node.args or (None,))[0]
        if subject is None:
            return False
        return self.probe.evaluate(parsed.text(subject), env).kind == "map"

    def _reads_free(self, parsed: syntax.Parsed, node: syntax.Node, env: Env) -> bool:
        for _, place in paths.chains(parsed, node, env, self.probe):
            if any(place.path[: len(free)] == free for free in self.free):
                return True
        return False
