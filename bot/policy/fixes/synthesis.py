"""From a failing rule to a proven fix.

For one failure this module picks the strategy that fits the rule (pattern,
anyPattern, foreach, podSecurity, deny, cel), applies the proposed patch to a
copy of the manifest and evaluates the whole policy set again. The fix is
`exact` only if the violated rule now passes, no rule that passed before now
fails, and the patch holds no placeholder; otherwise it is `guided`, and
`none` when no change could be derived at all.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.policy import conditions, engine
from bot.policy.contexts import ContextError, EvaluationContext
from bot.policy.fixes import (
    cel_problems,
    deny_fixes,
    deny_tracing,
    filling,
    kube_semantics,
    pattern_fixes,
    pss_fixes,
)
from bot.policy.fixes.patches import PatchError, PatchOp, apply_patch, pointer
from bot.policy.fixes.platform_defaults import NO_DEFAULTS, PlatformDefaults
from bot.policy.fixes.proposals import ProposedFix
from bot.policy.jmespath import JMESPathError
from bot.policy.operators_go import deep_equal
from bot.policy.policies import Policy, Rule
from bot.policy.requests import AdmissionRequest
from bot.policy.results import RuleResult
from bot.policy.variables import SubstitutionError

logger = logging.getLogger(__name__)

FixStatus = Literal["exact", "guided", "none"]
LOOKUP_ERRORS = (SubstitutionError, ContextError, JMESPathError)


@dataclass(frozen=True)
class Fix:
    """The answer to "what exactly must change?" for one failing rule."""

    failure: RuleResult
    status: FixStatus
    ops: tuple[PatchOp, ...] = ()
    fixed: Mapping[str, Any] | None = None
    """The whole manifest with the patch applied."""
    summary: tuple[str, ...] = ()
    """One line per change, for people."""
    note: str = ""
    """Why the fix is guided or missing, when it is."""


def fix_failures(
    manifest: Mapping[str, Any],
    policies: Sequence[Policy],
    *,
    request: AdmissionRequest | None = None,
    inputs: engine.Inputs = engine.NO_INPUTS,
    defaults: PlatformDefaults = NO_DEFAULTS,
) -> list[Fix]:
    """One fix per failing rule of the policy set on this manifest."""
    request = request or AdmissionRequest(object=dict(manifest))
    before = engine.evaluate_all(policies, request, inputs)
    return [
        synthesize(result, request, policies, before=before, inputs=inputs, defaults=defaults)
        for result in before
        if result.status in ("fail", "warn")
    ]


def synthesize(
    failure: RuleResult,
    request: AdmissionRequest,
    policies: Sequence[Policy],
    *,
    before: Sequence[RuleResult],
    inputs: engine.Inputs = engine.NO_INPUTS,
    defaults: PlatformDefaults = NO_DEFAULTS,
) -> Fix:
    """The proven fix for one failure.

    `defaults` holds the values the platform has decided (LimitRange
    defaults, the default StorageClass); a field the rule wants set to any
    value takes them instead of a placeholder.
    """
    rule = _find_rule(policies, failure.policy, failure.rule)
    if rule is None:
        return Fix(failure, "none", note="the failing rule is not in the policy set")
    proposal = _propose(rule, request, inputs, defaults)
    if proposal is None or not proposal.ops:
        return Fix(failure, "none", note=_why_underivable(rule))
    return conclude(
        failure,
        request.object,
        proposal,
        defaults,
        prove=lambda fixed: prove(failure, request, fixed, policies, before=before, inputs=inputs),
    )


def conclude(
    failure: RuleResult,
    manifest: Mapping[str, Any],
    proposal: ProposedFix,
    defaults: PlatformDefaults,
    *,
    prove: Callable[[Mapping[str, Any]], str],
) -> Fix:
    """A strategy's proposal made a fix: filled in, completed, applied and judged.

    Every strategy, for Kyverno rules and CEL policies alike, ends here.
    `prove` says why a fixed manifest is not proven (empty when it is).
    """
    proposal = filling.fill(
        manifest, proposal.ops, proposal.placeholders, proposal.summary, defaults
    )
    # What the rule asks may not be all the workload needs to keep working.
    ops, needed, explained = kube_semantics.complete(manifest, proposal.ops)
    placeholders = (*proposal.placeholders, *needed)
    summary = (*proposal.summary, *explained)
    try:
        fixed = apply_patch(dict(manifest), ops)
    except PatchError as error:
        logger.warning(
            "A proposed fix for %s does not apply: %s", failure.rule or failure.policy, error
        )
        return Fix(failure, "none", note=f"the derived patch does not apply: {error}")

    fix = Fix(failure, "guided", ops, fixed, summary)
    if placeholders:
        return dataclasses.replace(
            fix, note=f"fill in the placeholder values at {', '.join(placeholders)}"
        )
    problem = prove(fixed)
    if problem:
        return dataclasses.replace(fix, note=problem)
    return dataclasses.replace(fix, status="exact")


def prove(
    failure: RuleResult,
    request: AdmissionRequest,
    fixed: Mapping[str, Any],
    policies: Sequence[Policy],
    *,
    before: Sequence[RuleResult],
    inputs: engine.Inputs = engine.NO_INPUTS,
) -> str:
    """Why the fixed manifest is not proven (empty when it is)."""
    patched_request = dataclasses.replace(request, object=dict(fixed))
    after = engine.evaluate_all(policies, patched_request, inputs)
    target = [r for r in after if (r.policy, r.rule) == (failure.policy, failure.rule)]
    if not target or target[0].status != "pass":
        status = target[0].status if target else "no result"
        return f"the patched manifest still does not pass the rule ({status})"
    failing_before = {(r.policy, r.rule) for r in before if r.status in ("fail", "error")}
    broken = [
        f"{r.policy}/{r.rule}"
        for r in after
        if r.status in ("fail", "error") and (r.policy, r.rule) not in failing_before
    ]
    if broken:
        return "the patch would make other rules fail: " + ", ".join(sorted(broken))
    return ""


def _find_rule(policies: Sequence[Policy], policy_name: str, rule_name: str) -> Rule | None:
    for policy in policies:
        if policy.name == policy_name:
            for rule in policy.rules:
                if rule.name == rule_name:
                    return rule
    return None


def _propose(
    rule: Rule, request: AdmissionRequest, inputs: engine.Inputs, defaults: PlatformDefaults
) -> ProposedFix | None:
    validate = rule.validate or {}
    if "podSecurity" in validate:
        fix = pss_fixes.fix_pod_security(
            request.object, validate["podSecurity"], rule_name=rule.name
        )
        return _from_proposed(fix)
    if "cel" in validate:
        own = inputs.for_rule(rule)
        problem = cel_problems.for_validate_cel(
            rule, request, params=own.cel_params, found=own.cel_lookups
        )
        return None if problem is None else _from_proposed(cel_problems.propose(problem))
    context = _context_for(rule, request, inputs)
    # Rule preconditions go with the deny block so that no fix dodges them.
    block = {**validate, "preconditions": rule.raw.get("preconditions")}
    return _propose_block(
        block,
        request.object,
        context,
        base=(),
        path=("validate",),
        lookup=_platform_lookup(request.object, defaults),
    )


def _platform_lookup(
    manifest: Mapping[str, Any], defaults: PlatformDefaults
) -> Callable[[tuple[str | int, ...]], pattern_fixes.Lookup | None]:
    """For a place in the manifest, the platform-value lookup of the part fixed there."""

    def at_base(base: tuple[str | int, ...]) -> pattern_fixes.Lookup | None:
        if defaults is NO_DEFAULTS:
            return None
        return lambda at: defaults.value_for(manifest, (*base, *at))

    return at_base


def _propose_block(
    block: Mapping[str, Any],
    target: Mapping[str, Any],
    context: EvaluationContext,
    *,
    base: tuple[str | int, ...],
    path: tuple[str | int, ...],
    lookup: Callable[[tuple[str | int, ...]], pattern_fixes.Lookup | None],
) -> ProposedFix | None:
    """A proposal for one validate (or foreach) block, with ops relative to the manifest."""
    if "pattern" in block or "anyPattern" in block:
        key = "pattern" if "pattern" in block else "anyPattern"
        try:
            pattern = context.substitute(block[key], path=(*path, key))
        except LOOKUP_ERRORS:
            return None
        if key == "pattern":
            proposed = pattern_fixes.fix_pattern(target, pattern, lookup=lookup(base))
        elif isinstance(pattern, list):
            proposed = pattern_fixes.fix_any_pattern(target, pattern, lookup=lookup(base))
        else:
            return None
        return _rebased(_from_proposed(proposed), base)
    if isinstance(block.get("deny"), Mapping):
        return _deny_proposal(
            block["deny"], context, base, preconditions=block.get("preconditions")
        )
    if isinstance(block.get("foreach"), list):
        return _propose_foreach(
            block["foreach"], target, context, base=base, path=path, lookup=lookup
        )
    return None


def _deny_proposal(
    deny: Mapping[str, Any],
    context: EvaluationContext,
    base: tuple[str | int, ...],
    *,
    preconditions: Any = None,
) -> ProposedFix | None:
    """A deny fix; its ops are already relative to the whole manifest."""
    found = deny_fixes.fix_deny(
        deny, context, roots=_element_roots(context, base), preconditions=preconditions
    )
    if found is None:
        return None
    return ProposedFix(found.ops, found.placeholders, found.summary)


def _element_roots(
    context: EvaluationContext, base: tuple[str | int, ...]
) -> dict[tuple[str | int, ...], tuple[str | int, ...]]:
    """Where the data a condition reads lives in the manifest."""
    roots: dict[tuple[str | int, ...], tuple[str | int, ...]] = {("request", "object"): ()}
    element = context.data.get("element", _NO_ELEMENT)
    if base and element is not _NO_ELEMENT:
        # `element` and the numbered name of the innermost loop are the same value.
        for name, value in context.data.items():
            if value is element and _ELEMENT_NAME.fullmatch(name):
                roots[(name,)] = base
    return roots


_NO_ELEMENT: Any = object()
_ELEMENT_NAME = re.compile(r"element\d*")


def _propose_foreach(
    loops: Sequence[Any],
    target: Mapping[str, Any],
    context: EvaluationContext,
    *,
    base: tuple[str | int, ...],
    path: tuple[str | int, ...],
    lookup: Callable[[tuple[str | int, ...]], pattern_fixes.Lookup | None],
) -> ProposedFix | None:
    nesting = sum(1 for segment in path if segment == "foreach")
    ops: list[PatchOp] = []
    placeholders: list[str] = []
    summary: list[str] = []
    for index, loop in enumerate(loops):
        if not isinstance(loop, Mapping):
            return None
        elements = _list_location(str(loop.get("list") or ""), context, base)
        for position, (item, where) in enumerate(elements or ()):
            # As in validation: null elements are skipped, each element gets
            # its loop's context entries, and preconditions pick the elements.
            if item is None or where is None:
                continue
            scoped = context.copy()
            scoped.add_element(item, position, nesting)
            if isinstance(loop.get("context"), list):
                scoped.load_entries(loop["context"])
            if not _preconditions_hold(loop.get("preconditions"), scoped):
                continue
            if isinstance(loop.get("deny"), Mapping):
                proposal = _deny_proposal(
                    loop["deny"], scoped, where, preconditions=loop.get("preconditions")
                )
            elif isinstance(item, Mapping):
                loop_path = (*path, "foreach", index)
                proposal = _propose_block(
                    loop, item, scoped, base=where, path=loop_path, lookup=lookup
                )
            else:
                proposal = None
            if proposal is not None:
                # Elements can ask for the same change (a field outside them).
                ops.extend(op for op in proposal.ops if op not in ops)
                placeholders.extend(proposal.placeholders)
                summary.extend(proposal.summary)
    if not ops:
        return None
    return ProposedFix(
        tuple(ops), tuple(dict.fromkeys(placeholders)), tuple(dict.fromkeys(summary))
    )


def _preconditions_hold(written: Any, context: EvaluationContext) -> bool:
    try:
        holds, _ = conditions.evaluate(written, context)
    except conditions.ConditionError:
        return False
    return holds


def _list_location(
    expression: str, context: EvaluationContext, base: tuple[str | int, ...]
) -> list[tuple[Any, tuple[str | int, ...] | None]] | None:
    """The foreach list's elements, each with its place in the manifest.

    Flattened multi-selects (`spec.[initContainers, containers][]`) and
    filters map every element back to its own list and index; an element
    whose place cannot be traced comes with None. None when the list itself
    cannot be evaluated, which validation treats as nothing to check.
    """
    try:
        found = context.query(expression)
    except LOOKUP_ERRORS:
        return None
    elements = found if isinstance(found, list) else [found]
    places: list[tuple[str | int, ...] | None] = [None] * len(elements)
    traced = deny_tracing.trace(expression, context.data)
    if traced is not None and deep_equal(traced.value, found):
        roots = _element_roots(context, base)
        # A computed element (a key name, `to_upper(@)`) has no place of its own.
        items = deny_tracing.items_of(traced) if isinstance(found, list) else (traced,)
        places = [None if i.derived else deny_tracing.locate(i.path, roots) for i in items]
    return list(zip(elements, places, strict=True))


def _rebased(proposal: ProposedFix | None, base: tuple[str | int, ...]) -> ProposedFix | None:
    """Ops computed on a list element, moved to the element's place in the manifest."""
    if proposal is None or not base:
        return proposal
    prefix = pointer(*base)
    return ProposedFix(
        tuple(dataclasses.replace(op, path=prefix + op.path) for op in proposal.ops),
        tuple(prefix + p for p in proposal.placeholders),
        proposal.summary,
    )


def _from_proposed(proposed: Any) -> ProposedFix | None:
    if proposed is None:
        return None
    return ProposedFix(tuple(proposed.ops), tuple(proposed.placeholders), tuple(proposed.summary))


def _context_for(rule: Rule, request: AdmissionRequest, inputs: engine.Inputs) -> EvaluationContext:
    context = EvaluationContext.for_request(request)
    for key, value in inputs.for_rule(rule).values.items():
        context.set_variable(key, value)
    entries = rule.raw.get("context")
    if isinstance(entries, list):
        # As in the engine: values named `entry.data.key` stand in for `entry`.
        preset = frozenset(key.split(".", 1)[0] for key in inputs.for_rule(rule).values)
        context.load_entries(entries, resolver=inputs.resolver, preset=preset)
    return context


def _why_underivable(rule: Rule) -> str:
    validate = rule.validate or {}
    if isinstance(validate.get("cel"), Mapping):
        return cel_problems.why_underivable(
            cel_problems.expressions_of(validate["cel"], "expressions")
        )
    if "deny" in validate:
        return "the deny conditions do not pin down an acceptable value"
    return "no change to the manifest could be derived from the rule"
