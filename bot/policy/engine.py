"""Evaluating Kyverno policies against one admission request.

This is the orchestration Kyverno's validation handler performs for each rule:
select the rule (match/exclude), then run its validation and phrase the
outcome exactly as Kyverno phrases it, so that our reports read like the
messages teams see from the admission webhook. The individual validation
kinds live in their own modules; this one only decides which applies.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.policy import matching, validators, wildcards
from bot.policy.contexts import ContextResolver
from bot.policy.policies import Policy, Rule
from bot.policy.requests import AdmissionRequest
from bot.policy.results import Action, RuleResult

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inputs:
    """Variables and cluster access beyond the request itself."""

    resource_values: Mapping[str, Any] = field(default_factory=dict)
    """Variables for this resource under this policy (a test's values file)."""
    rule_values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Variables per rule, by the rule name as written."""
    resolver: ContextResolver | None = None

    def for_rule(self, rule: Rule) -> validators.RuleInputs:
        values = dict(self.resource_values)
        values.update(self.rule_values.get(rule.base_name, {}))
        return validators.RuleInputs(values=values, resolver=self.resolver)


NO_INPUTS = Inputs()


def evaluate(
    policy: Policy, request: AdmissionRequest, inputs: Inputs = NO_INPUTS
) -> list[RuleResult]:
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
        action = enforcement_of(policy, rule, request)
        outcome = validators.validate_rule(rule, request, inputs.for_rule(rule))
        if outcome is None:
            continue
        if action == "enforce" and _violated_before(policy, rule, request, inputs, outcome):
            outcome = validators.RuleOutcome(
                "skip", "skipping the rule evaluation as pre-existing violations are allowed"
            )
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
                action=action,
                policy_namespace=policy.namespace,
            )
        )
        # NB: applyRules "One" stops at the first rule that applied at all.
        if str(policy.spec.get("applyRules", "All")) == "One":
            break
    return results


def evaluate_all(
    policies: Iterable[Policy], request: AdmissionRequest, inputs: Inputs = NO_INPUTS
) -> list[RuleResult]:
    return [result for policy in policies for result in evaluate(policy, request, inputs)]


def _violated_before(
    policy: Policy,
    rule: Rule,
    request: AdmissionRequest,
    inputs: Inputs,
    outcome: validators.RuleOutcome,
) -> bool:
    """Whether an UPDATE only carries over a violation the old object already had.

    Kyverno lets such updates through (allowExistingViolations, on by
    default) so that a team can still edit an object admitted before the
    policy existed.
    """
    if outcome.status != "fail" or request.operation != "UPDATE" or request.old_object is None:
        return False
    if (rule.validate or {}).get("allowExistingViolations") is False:
        return False
    as_created = dataclasses.replace(
        request, object=dict(request.old_object), old_object=None, operation="CREATE"
    )
    if not matching.rule_matches(rule.raw, as_created, policy_namespace=policy.namespace):
        return False
    before = validators.validate_rule(rule, as_created, inputs.for_rule(rule))
    return before is not None and before.status == "fail"


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
