"""Proven fixes for policies written wholly in CEL: ValidatingPolicy and VAP.

Kyverno rules with `validate.cel` are fixed through `synthesis`, like every
other rule. A ValidatingPolicy has no rules: one policy gives one verdict,
so this module is its counterpart of `synthesis.synthesize`. It derives the
edits with the same search (`cel_problems`, `cel_search`), applies them to a
copy of the manifest and evaluates the policy again: the fix is `exact` only
if the policy now passes, no other CEL policy given that passed before now
fails, and the patch holds no placeholder.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from bot.policy import cel, celpolicies
from bot.policy.celpolicies import CelPolicy
from bot.policy.fixes import cel_problems, synthesis
from bot.policy.fixes.platform_defaults import NO_DEFAULTS, PlatformDefaults
from bot.policy.requests import AdmissionRequest
from bot.policy.results import RuleResult

logger = logging.getLogger(__name__)

_REJECTED = frozenset({"fail", "error", "warn"})


def fix_cel_policy(
    policy: CelPolicy,
    request: AdmissionRequest,
    *,
    lookups: cel.Lookups | None = None,
    policies: Sequence[CelPolicy] = (),
    defaults: PlatformDefaults = NO_DEFAULTS,
) -> synthesis.Fix | None:
    """The fix for a CEL policy that rejects the request; None when it does not.

    Args:
        policy: the ValidatingPolicy (or ValidatingAdmissionPolicy) to satisfy.
        request: the request it rejects.
        lookups: cluster objects and namespaces its expressions may read.
        policies: the other CEL policies in force; none of them that passes
            now may fail after the fix.
        defaults: values the platform has decided, used instead of placeholders.
    """
    before = celpolicies.evaluate(policy, request, lookups=lookups)
    failure = next((r for r in before if r.status in _REJECTED), None)
    if failure is None:
        return None
    problem = cel_problems.for_cel_policy(policy.raw, request, found=lookups)
    proposal = cel_problems.propose(problem) if problem is not None else None
    if proposal is None or not proposal.ops:
        return synthesis.Fix(failure, "none", note=_why_underivable(policy, problem is None))
    others = [p for p in policies if p.name != policy.name]
    return synthesis.conclude(
        failure,
        request.object,
        proposal,
        defaults,
        prove=lambda fixed: _prove(policy, others, request, fixed, lookups=lookups),
    )


def _prove(
    policy: CelPolicy,
    others: Sequence[CelPolicy],
    request: AdmissionRequest,
    fixed: Mapping[str, Any],
    *,
    lookups: cel.Lookups | None,
) -> str:
    """Why the fixed manifest is not proven (empty when it is)."""
    patched = dataclasses.replace(request, object=dict(fixed))
    after = celpolicies.evaluate(policy, patched, lookups=lookups)
    if not after or any(r.status != "pass" for r in after):
        status = ", ".join(sorted({r.status for r in after})) or "no result"
        return f"the patched manifest still does not pass the policy ({status})"
    broken = [
        p.name
        for p in others
        if _passes(celpolicies.evaluate(p, request, lookups=lookups))
        and not _passes(celpolicies.evaluate(p, patched, lookups=lookups))
    ]
    if broken:
        return "the patch would make other policies fail: " + ", ".join(sorted(broken))
    return ""


def _passes(results: Sequence[RuleResult]) -> bool:
    return all(r.status not in _REJECTED for r in results)


def _why_underivable(policy: CelPolicy, unsupported: bool) -> str:
    if unsupported and policy.kind == celpolicies.VAP_KIND:
        return "fixes are not derived for ValidatingAdmissionPolicies that take parameters"
    if unsupported:
        return "the policy does not apply to this resource"
    spec = policy.raw.get("spec")
    validations = (
        cel_problems.expressions_of(spec, "validations") if isinstance(spec, Mapping) else []
    )
    return cel_problems.why_underivable(validations)
