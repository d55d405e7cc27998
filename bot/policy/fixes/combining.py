"""Fixing every failure of one manifest at once.

Fixes for different rules are derived from the same original manifest, so
two of them may touch the same map (both adding a securityContext, say) and
cannot simply be concatenated. Instead we apply one exact fix, evaluate
again, and derive the next fix from the patched manifest; the ops collected
along the way form one valid RFC 6902 patch against the original.

Kyverno rules and CEL policies (ValidatingPolicy, VAP) are fixed in the
same loop. Each kind's proof only looks at its own kind, so a fix is taken
here only if it also leaves every policy of the other kind that passed
still passing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.policy import celpolicies, engine
from bot.policy.celpolicies import CelPolicy
from bot.policy.fixes import cel_fixes, synthesis
from bot.policy.fixes.patches import PatchOp
from bot.policy.fixes.platform_defaults import NO_DEFAULTS, PlatformDefaults
from bot.policy.policies import Policy
from bot.policy.requests import AdmissionRequest
from bot.policy.results import RuleResult

MAX_ROUNDS = 50
"""A safety bound: each round fixes at least one rule, and few manifests fail more."""

_REJECTED = frozenset({"fail", "warn", "error"})


@dataclass(frozen=True)
class CombinedFix:
    ops: tuple[PatchOp, ...]
    fixed: Mapping[str, Any]
    fixed_rules: tuple[str, ...]
    """`policy/rule` of every Kyverno failure the combined patch repairs, and
    the name of every CEL policy it satisfies."""


def combine(
    manifest: Mapping[str, Any],
    policies: Sequence[Policy],
    *,
    request: AdmissionRequest | None = None,
    inputs: engine.Inputs = engine.NO_INPUTS,
    defaults: PlatformDefaults = NO_DEFAULTS,
    cel_policies: Sequence[CelPolicy] = (),
) -> CombinedFix:
    current = request or AdmissionRequest(object=dict(manifest))
    ops: list[PatchOp] = []
    fixed_rules: list[str] = []
    unfixable: set[str] = set()
    for _ in range(MAX_ROUNDS):
        found = _next_fix(current, policies, cel_policies, inputs, defaults, unfixable)
        if found is None:
            break
        name, fix = found
        ops.extend(fix.ops)
        fixed_rules.append(name)
        current = dataclasses.replace(current, object=dict(fix.fixed or {}))
    return CombinedFix(tuple(ops), current.object, tuple(fixed_rules))


def _next_fix(
    current: AdmissionRequest,
    policies: Sequence[Policy],
    cel_policies: Sequence[CelPolicy],
    inputs: engine.Inputs,
    defaults: PlatformDefaults,
    unfixable: set[str],
) -> tuple[str, synthesis.Fix] | None:
    """The first exact fix for a remaining failure, marking those without one."""
    before = engine.evaluate_all(policies, current, inputs)
    # What passes now is the bar every candidate of this round must keep.
    passing = _passing(before, celpolicies.evaluate_all(cel_policies, current), cel_policies)
    for failure in before:
        name = f"{failure.policy}/{failure.rule}"
        if failure.status not in ("fail", "warn") or name in unfixable:
            continue
        fix = synthesis.synthesize(
            failure, current, policies, before=before, inputs=inputs, defaults=defaults
        )
        if _usable(fix, current, policies, cel_policies, inputs, passing):
            return name, fix
        unfixable.add(name)
    for policy in cel_policies:
        if policy.name in unfixable:
            continue
        cel_fix = cel_fixes.fix_cel_policy(
            policy, current, policies=cel_policies, defaults=defaults
        )
        if cel_fix is None:
            continue
        if _usable(cel_fix, current, policies, cel_policies, inputs, passing):
            return policy.name, cel_fix
        unfixable.add(policy.name)
    return None


def _usable(
    fix: synthesis.Fix,
    current: AdmissionRequest,
    policies: Sequence[Policy],
    cel_policies: Sequence[CelPolicy],
    inputs: engine.Inputs,
    passing: set[str],
) -> bool:
    """An exact fix that breaks nothing of either kind that passed before."""
    if fix.status != "exact" or fix.fixed is None:
        return False
    after = dataclasses.replace(current, object=dict(fix.fixed))
    kyverno = engine.evaluate_all(policies, after, inputs)
    return _passing(kyverno, celpolicies.evaluate_all(cel_policies, after), cel_policies) >= passing


def _passing(
    kyverno: Sequence[RuleResult], cel: Sequence[RuleResult], cel_policies: Sequence[CelPolicy]
) -> set[str]:
    """Every Kyverno rule and CEL policy that does not reject the request."""
    found = {f"{r.policy}/{r.rule}" for r in kyverno if r.status not in _REJECTED}
    rejected = {r.policy for r in cel if r.status in _REJECTED}
    return found | ({p.name for p in cel_policies} - rejected)
