"""Evaluating Kyverno policies against one admission request.

This is the orchestration Kyverno's validation handler performs for each rule:
select the rule (match/exclude), then run its validation and phrase the
outcome exactly as Kyverno phrases it, so that our reports read like the
messages teams see from the admission webhook. The individual validation
kinds live in their own modules; this one only decides which applies.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from bot.policy import matching, validators, wildcards
from bot.policy.policies import Policy, Rule
from bot.policy.requests import AdmissionRequest
from bot.policy.results import Action, RuleResult

logger = logging.getLogger(__name__)


def evaluate(policy: Policy, request: AdmissionRequest) -> list[RuleResult]:
    """Every validate rule of the policy that selects this request, judged.

    Rules that do not select the request give no result at all, the way
    Kyverno leaves them out of a policy report.
    """
    results: list[RuleResult] = []
    for rule in policy.rules:
        if rule.validate is None:
            continue
        if not matching.rule_matches(rule.raw, request, policy_namespace=policy.namespace):
            continue
        outcome = validators.validate_rule(rule, request)
        if outcome is None:
            continue
        status = outcome.status
        if status == "fail" and not policy.scored:
            status = "warn"
        results.append(
            RuleResult(
                policy=policy.name,
                rule=rule.name,
                base_rule=rule.base_name,
                resource=request.ref,
                status=status,
                message=outcome.message,
                path=outcome.path,
                action=enforcement_of(policy, rule, request),
                policy_namespace=policy.namespace,
            )
        )
        # NB: applyRules "One" stops at the first rule that applied at all.
        if str(policy.spec.get("applyRules", "All")) == "One":
            break
    return results


def evaluate_all(policies: Iterable[Policy], request: AdmissionRequest) -> list[RuleResult]:
    return [result for policy in policies for result in evaluate(policy, request)]


def enforcement_of(policy: Policy, rule: Rule, request: AdmissionRequest) -> Action:
    """Whether a failure of this rule would block the request or only be reported.

    A rule's own `failureAction` wins over the policy's; the policy's
    namespace overrides apply to objects in the namespaces they list.
    """
    validate = rule.validate or {}
    declared = validate.get("failureAction")
    if declared is None:
        declared = _override_for(policy.spec, request) or policy.failure_action
    return "enforce" if str(declared).lower() == "enforce" else "audit"


def _override_for(spec: Mapping[str, Any], request: AdmissionRequest) -> str | None:
    overrides = spec.get("validationFailureActionOverrides")
    if not isinstance(overrides, list):
        return None
    namespace = request.ref.namespace
    for override in overrides:
        if not isinstance(override, Mapping):
            continue
        namespaces = override.get("namespaces") or []
        if namespace and any(wildcards.wildcard_match(str(p), namespace) for p in namespaces):
            return str(override.get("action", ""))
    return None
