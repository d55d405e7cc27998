"""What a CEL fix must achieve, and the patch that achieves it.

A Kyverno rule with `validate.cel` passes when its celPreconditions hold
and every expression is true; a ValidatingPolicy passes when its match
conditions hold and every validation is true. Both become one `Problem`
for `cel_search`, evaluated the way their evaluators in `bot.policy.cel`
evaluate them (the same variables, parameter object and namespace).
Preconditions are part of the problem because a fix that makes the rule
skip has dodged it, not fixed it.

Autogen needs no special handling: a Kyverno rule generated for pod
controllers, and the spec a ValidatingPolicy derives for them, already read
the pod template (`object.spec.template.spec...`), so the fields traced are
the template's.

The search's result becomes a patch by comparing the edited manifest with
the original, so a `has()` chain answered one map at a time still reads as
one added object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.policy.cel import admission, constraints, evaluation, kyverno_cel, lookups, vap, vpol
from bot.policy.fixes import cel_search, values_synthesis
from bot.policy.fixes.cel_distances import Problem
from bot.policy.fixes.deny_edits import Edit, Path, materialize
from bot.policy.fixes.patches import pointer
from bot.policy.fixes.proposals import ProposedFix
from bot.policy.policies import Rule
from bot.policy.requests import AdmissionRequest


def for_validate_cel(
    rule: Rule, request: AdmissionRequest, *, params: Any = None, found: lookups.Lookups | None
) -> Problem | None:
    """The problem a Kyverno `validate.cel` rule poses; None if it is not one."""
    block = (rule.validate or {}).get("cel")
    if not isinstance(block, Mapping):
        return None
    uses_params = block.get("paramKind") is not None or block.get("paramRef") is not None
    if uses_params and isinstance(params, list):
        # Limitation: with several parameter objects only the first is fixed for.
        params = params[0] if params else None
    if uses_params and params is None:
        return None

    def data(current: AdmissionRequest) -> Mapping[str, Any]:
        return evaluation.request_data(
            current, params=params, namespace_object=kyverno_cel.namespace_object(current, found)
        )

    preconditions = rule.raw.get("celPreconditions")
    conditions = evaluation.named_list(preconditions if isinstance(preconditions, list) else [])
    validations = evaluation.validation_list(block.get("expressions"))
    return Problem(
        request=request,
        expressions=(
            *(c.expression for c in conditions),
            *(v.expression for v in validations),
        ),
        variables=evaluation.named_list(block.get("variables")),
        data=data,
        found=found,
    )


def for_cel_policy(
    policy: Mapping[str, Any], request: AdmissionRequest, *, found: lookups.Lookups | None
) -> Problem | None:
    """The problem a ValidatingPolicy (or a VAP) poses; None if it does not apply.

    A ValidatingAdmissionPolicy is only fixed for when it takes no parameter
    object, since a fix proven against one parameter set says nothing about
    the bindings that supply others.
    """
    spec = _mapping(policy.get("spec"))
    namespace = evaluation.known_namespace(request, found)
    json_mode = str(_mapping(spec.get("evaluation")).get("mode") or "") == "JSON"
    chosen: Mapping[str, Any] | None = None
    if policy.get("kind") == vap.POLICY_KIND:
        if spec.get("paramKind") is None and constraints.matches(
            spec.get("matchConstraints"), request, namespace=namespace
        ):
            chosen = spec
    elif json_mode:
        chosen = spec
    else:
        # As the evaluator does: the policy as written, else its autogen specs.
        for candidate in (spec, *vpol.autogen_specs(spec).values()):
            match = candidate.get("matchConstraints")
            if constraints.matches(match, request, namespace=namespace):
                chosen = candidate
                break
    if chosen is None:
        return None

    def data(current: AdmissionRequest) -> Mapping[str, Any]:
        # NB: JSON documents have no namespace, whatever their metadata says.
        moved = None if json_mode else _moved_namespace(current, namespace, found)
        return evaluation.request_data(current, namespace_object=moved)

    conditions = evaluation.named_list(chosen.get("matchConditions"))
    validations = evaluation.validation_list(chosen.get("validations"))
    return Problem(
        request=request,
        expressions=(
            *(c.expression for c in conditions),
            *(v.expression for v in validations),
        ),
        variables=evaluation.named_list(chosen.get("variables")),
        data=data,
        found=found,
    )


def why_underivable(expressions: Sequence[str]) -> str:
    """Why no fix came out, for a policy or rule with these validations."""
    if any(text.strip() == "false" for text in expressions):
        # NB: such rules exist to reject whatever they select (a deprecated
        # API version, a kind that is not allowed); only their match can change.
        return "the rule rejects everything it selects; no edit of the manifest passes it"
    return "no edit of the fields the CEL expressions read makes them all hold"


def expressions_of(block: Mapping[str, Any], key: str) -> list[str]:
    return [v.expression for v in evaluation.validation_list(block.get(key))]


def propose(problem: Problem) -> ProposedFix | None:
    """The patch the search finds for a problem, as a proposal to prove."""
    reached = cel_search.search(problem)
    if reached is None:
        return None
    original = problem.request.object
    edits = _differences(original, reached.document, ())
    if not edits:
        return None
    done = materialize(original, edits)
    if done is None:
        return None
    placeholders = [
        p
        for op in done.ops
        if op.op != "remove"
        for p in values_synthesis.placeholder_pointers(op.value, op.path)
    ]
    placeholders += [pointer(*path) for path in (*reached.confirm, *reached.trusted)]
    return ProposedFix(done.ops, tuple(dict.fromkeys(placeholders)), done.summary)


def _differences(before: Any, after: Any, path: Path) -> list[Edit]:
    """Edits that turn `before` into `after`: fields set or removed, list items."""
    if isinstance(before, dict) and isinstance(after, dict):
        edits: list[Edit] = []
        for key, value in before.items():
            if key not in after:
                edits.append(Edit("remove", (*path, key)))
            else:
                edits += _differences(value, after[key], (*path, key))
        edits += [Edit("set", (*path, k), v) for k, v in after.items() if k not in before]
        return edits
    if isinstance(before, list) and isinstance(after, list):
        return _list_differences(before, after, path)
    if type(before) is type(after) and before == after:
        return []
    return [Edit("set", path, after)]


def _list_differences(before: list[Any], after: list[Any], path: Path) -> list[Edit]:
    if len(before) == len(after):
        return [
            e for i, item in enumerate(before) for e in _differences(item, after[i], (*path, i))
        ]
    if len(after) > len(before) and after[: len(before)] == before:
        return [Edit("append", path, item) for item in after[len(before) :]]
    kept = _kept_indexes(before, after)
    if kept is not None:
        return [Edit("remove", (*path, i)) for i in range(len(before)) if i not in kept]
    return [Edit("set", path, after)]


def _kept_indexes(before: list[Any], after: list[Any]) -> set[int] | None:
    """Which items of `before` remain in `after` when items were only removed."""
    kept: set[int] = set()
    position = 0
    for index, item in enumerate(before):
        if position < len(after) and after[position] == item:
            kept.add(index)
            position += 1
    return kept if position == len(after) else None


def _moved_namespace(
    request: AdmissionRequest, known: Mapping[str, Any] | None, found: lookups.Lookups | None
) -> Mapping[str, Any] | None:
    """The namespace object, following a fix that moves the manifest elsewhere."""
    current = evaluation.known_namespace(request, found)
    if current is not None or known is None:
        return current
    namespace = admission.target_of(request).namespace
    return admission.minimal_namespace(namespace, {}) if namespace else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
