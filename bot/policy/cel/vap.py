"""Kubernetes ValidatingAdmissionPolicy and its binding.

The API server applies a policy to a request when both the policy's
`matchConstraints` and a binding's `matchResources` select it, then
evaluates match conditions, variables and validations with the binding's
parameter object as `params`. The binding's `validationActions` say what a
failure does (Deny, Warn, Audit).

Without a binding we evaluate the policy on its own, as the Kyverno CLI
does, so a policy file can be checked before anyone writes the binding.
Outcomes follow the Kubernetes validator as the Kyverno CLI reports it:
false match conditions skip, an expression error is an `error` (whatever the
failurePolicy), a false validation a `fail`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.policy.cel import constraints, evaluation, lookups
from bot.policy.cel.evaluation import CelOutcome
from bot.policy.requests import AdmissionRequest

POLICY_KIND = "ValidatingAdmissionPolicy"
BINDING_KIND = "ValidatingAdmissionPolicyBinding"


def evaluate_vap(
    policy: Mapping[str, Any],
    binding: Mapping[str, Any] | None,
    request: AdmissionRequest,
    *,
    params: Any = None,
    context: lookups.Lookups | None = None,
) -> CelOutcome | None:
    """Judge a request against a policy through one binding; None when it does not apply.

    Args:
        policy: the ValidatingAdmissionPolicy.
        binding: the ValidatingAdmissionPolicyBinding, or None to apply the
            policy alone.
        request: the request under admission.
        params: the parameter object the binding's paramRef resolves to, or
            a list of them when its selector matched several.
        context: Namespace objects for `namespaceObject` and lookups.
    """
    spec = _mapping(policy.get("spec"))
    binding_spec = _mapping(binding.get("spec")) if binding is not None else {}
    namespace = evaluation.known_namespace(request, context)
    if not constraints.matches(spec.get("matchConstraints"), request, namespace=namespace):
        return None
    match_resources = binding_spec.get("matchResources")
    if isinstance(match_resources, Mapping) and not constraints.matches(
        match_resources, request, namespace=namespace
    ):
        return None
    actions = tuple(str(a) for a in binding_spec.get("validationActions") or ())

    # Parameters: a binding with paramRef needs them, unless told to allow.
    param_ref = _mapping(binding_spec.get("paramRef"))
    if spec.get("paramKind") is not None and param_ref and _no_params(params):
        if str(param_ref.get("parameterNotFoundAction") or "Deny") == "Allow":
            return CelOutcome(
                "pass", "no params found; parameterNotFoundAction is Allow", "", actions
            )
        message = "no params found for policy binding with `Deny` parameterNotFoundAction"
        return CelOutcome("fail", message, "", actions)

    param_sets = params if isinstance(params, list) and params else [params]
    for param_set in param_sets:
        outcome = _evaluate_once(
            spec, request, params=param_set, namespace=namespace, context=context, actions=actions
        )
        if outcome.status != "pass":
            return outcome
    return CelOutcome("pass", "", actions=actions)


def _evaluate_once(
    spec: Mapping[str, Any],
    request: AdmissionRequest,
    *,
    params: Any,
    namespace: Mapping[str, Any] | None,
    context: lookups.Lookups | None,
    actions: tuple[str, ...],
) -> CelOutcome:
    scope = evaluation.Scope(
        evaluation.request_data(request, params=params, namespace_object=namespace),
        variables=evaluation.named_list(spec.get("variables")),
        found=context,
    )

    skipped = evaluation.match_conditions_outcome(
        scope, spec, actions, error_prefix="", not_met="match conditions aren't met"
    )
    if skipped is not None:
        return skipped

    for validation in evaluation.validation_list(spec.get("validations")):
        result = scope.evaluate(validation.expression)
        if result.failed:
            message = evaluation.expression_error(validation.expression, result.error)
            return CelOutcome("error", message, validation.expression, actions)
        if result.kind != "bool" or result.value is not True:
            message = evaluation.kubernetes_message(scope, validation)
            return CelOutcome("fail", message, validation.expression, actions)
    return CelOutcome("pass", "", actions=actions)


def _no_params(params: Any) -> bool:
    return params is None or (isinstance(params, list) and not params)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
