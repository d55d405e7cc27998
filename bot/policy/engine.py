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
from functools import cached_property
from types import MappingProxyType
from typing import Any

from bot.policy import resources, selectors, validators, wildcards
from bot.policy.contexts import ContextResolver
from bot.policy.policies import Policy, Rule
from bot.policy.requests import AdmissionRequest
from bot.policy.resources import ResourceRef
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
    cel_lookups: Any = None
    """Cluster objects CEL expressions may look up (a `bot.policy.cel.Lookups`)."""

    def for_rule(self, rule: Rule) -> validators.RuleInputs:
        own = self.rule_values.get(rule.base_name)
        if not self.resource_values and not own:
            return self._without_values
        values = dict(self.resource_values)
        values.update(own or {})
        return validators.RuleInputs(
            values=values, resolver=self.resolver, cel_lookups=self.cel_lookups
        )

    @cached_property
    def _without_values(self) -> validators.RuleInputs:
        # Shared by every rule without values of its own; the empty map is
        # read-only, so no caller can leave something in it for the next.
        return validators.RuleInputs(
            values=MappingProxyType({}), resolver=self.resolver, cel_lookups=self.cel_lookups
        )


NO_INPUTS = Inputs()


def evaluate(
    policy: Policy, request: AdmissionRequest, inputs: Inputs = NO_INPUTS
) -> list[RuleResult]:
    """Every validate rule of the policy that selects this request, judged.

    Rules that do not select the request give no result at all, the way
    Kyverno leaves them out of a policy report.
    """
    return _evaluate(policy, request, inputs, ref=None)


def evaluate_all(
    policies: Iterable[Policy], request: AdmissionRequest, inputs: Inputs = NO_INPUTS
) -> list[RuleResult]:
    # The request and its object stay as they are while it is judged, so all
    # of its results can share one ResourceRef.
    ref = request.ref
    return [result for policy in policies for result in _evaluate(policy, request, inputs, ref=ref)]


def _evaluate(
    policy: Policy, request: AdmissionRequest, inputs: Inputs, *, ref: ResourceRef | None
) -> list[RuleResult]:
    results: list[RuleResult] = []
    # Rules that cannot select this kind of object, or validate nothing,
    # would give no result; leaving them out keeps the order of the rest.
    for rule in policy.rules_for_kind(resources.kind_of(request.subject)):
        if not rule.selector.selects(request, policy_namespace=policy.namespace):
            continue
        action = enforcement_of(policy, rule, request)
        outcome = validators.validate_rule(rule, request, inputs.for_rule(rule))
        if outcome is None:
            continue
        # NB: Kyverno decides this from the rule's or policy's own action,
        # without namespace overrides (validate_resource.go).
        if _plain_action(policy, rule) == "enforce" and _violated_before(
            policy, rule, request, inputs, outcome
        ):
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
                resource=ref if ref is not None else request.ref,
                status=status,
                message=outcome.message,
                path=outcome.path,
                action=action,
                policy_namespace=policy.namespace,
            )
        )
        # NB: applyRules "One" stops at the first rule that passed or failed;
        # skips and errors do not count as applied.
        if str(policy.spec.get("applyRules", "All")) == "One" and status in ("pass", "fail"):
            break
    return results


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
    if not rule.selector.selects(as_created, policy_namespace=policy.namespace):
        return False
    before = validators.validate_rule(rule, as_created, inputs.for_rule(rule))
    return before is not None and before.status == "fail"


def enforcement_of(policy: Policy, rule: Rule, request: AdmissionRequest) -> Action:
    """Whether a failure of this rule would block the request or only be reported.

    As Kyverno resolves it: the rule's own overrides, then its
    `failureAction`, then the policy's overrides, then the policy's action.
    """
    return "enforce" if _declared_action(policy, rule, request).lower() == "enforce" else "audit"


def _plain_action(policy: Policy, rule: Rule) -> Action:
    declared = (rule.validate or {}).get("failureAction") or policy.failure_action
    return "enforce" if str(declared).lower() == "enforce" else "audit"


def _declared_action(policy: Policy, rule: Rule, request: AdmissionRequest) -> str:
    validate = rule.validate or {}
    declared = _override_for(validate.get("failureActionOverrides"), request)
    if declared is None and validate.get("failureAction") is not None:
        declared = str(validate["failureAction"])
    if declared is None:
        declared = _override_for(policy.spec.get("validationFailureActionOverrides"), request)
    return declared or policy.failure_action


def _override_for(overrides: Any, request: AdmissionRequest) -> str | None:
    """The action of the first override that covers the request's namespace."""
    if not isinstance(overrides, list):
        return None
    namespace = request.ref.namespace
    for override in overrides:
        if not isinstance(override, Mapping):
            continue
        action = str(override.get("action", ""))
        if action.lower() not in ("enforce", "audit"):
            continue
        selector = override.get("namespaceSelector")
        namespaces = override.get("namespaces")
        # NB: an override naming neither namespaces nor a selector covers them all.
        in_namespaces = namespaces is None or any(
            wildcards.wildcard_match(str(p), namespace) for p in namespaces
        )
        if in_namespaces and (selector is None or _selects(selector, request)):
            return action
    return None


def _selects(selector: Any, request: AdmissionRequest) -> bool:
    if not isinstance(selector, Mapping):
        return False
    try:
        return selectors.selector_matches(selector, request.namespace_labels)
    except selectors.SelectorError:
        return False
