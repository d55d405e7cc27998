"""Kyverno ClusterPolicy rules with `validate.cel`: CEL in a classic policy.

Kyverno runs these through the Kubernetes admission validator with no
failure policy, which means Fail: an expression that errors denies the
request like a false one does, so it reports `fail` with the error as the
message. The rule's `celPreconditions` act as match conditions (false means
`skip`), and a validation without a message falls back to `validate.message`.
Matching the rule (match/exclude) and autogen are the caller's business.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.policy.cel import admission, evaluation, lookups
from bot.policy.cel.evaluation import CelOutcome
from bot.policy.requests import AdmissionRequest


def evaluate_validate_cel(
    cel_block: Mapping[str, Any],
    request: AdmissionRequest,
    *,
    params: Any = None,
    preconditions: Sequence[Mapping[str, Any]] = (),
    default_message: str = "",
    rule_name: str = "",
    context: lookups.Lookups | None = None,
) -> CelOutcome:
    """Judge one request against a rule's `validate.cel` block.

    Args:
        cel_block: the `validate.cel` mapping: expressions, variables,
            paramKind/paramRef; auditAnnotations are ignored.
        request: the request under admission.
        params: the parameter object, or a list of them when the paramRef
            selector matched several; required when the block has paramRef.
        preconditions: the rule's `celPreconditions` ({name, expression}).
        default_message: the rule's `validate.message`, used by expressions
            that carry no message of their own.
        rule_name: the rule's name, for the pass message.
        context: cluster objects and namespaces the expressions may look up.
    """
    uses_params = cel_block.get("paramKind") is not None or cel_block.get("paramRef") is not None
    if uses_params and params is None:
        return CelOutcome(
            "error",
            "error in parameterized resource: validate.cel names paramRef, "
            "but no parameter object was supplied",
        )
    param_sets = params if uses_params and isinstance(params, list) else [params]
    if uses_params and not param_sets:
        return CelOutcome("error", "error in parameterized resource: no parameter objects found")

    for param_set in param_sets:
        outcome = _evaluate_once(
            cel_block,
            request,
            params=param_set,
            preconditions=evaluation.named_list(list(preconditions)),
            default_message=default_message,
            context=context,
        )
        if outcome is not None:
            return outcome
    passed = f"Validation rule '{rule_name}' passed." if rule_name else ""
    return CelOutcome("pass", passed)


def _evaluate_once(
    cel_block: Mapping[str, Any],
    request: AdmissionRequest,
    *,
    params: Any,
    preconditions: Sequence[evaluation.Named],
    default_message: str,
    context: lookups.Lookups | None,
) -> CelOutcome | None:
    """The failing outcome for one parameter object, or None when all hold."""
    scope = evaluation.Scope(
        evaluation.request_data(
            request, params=params, namespace_object=namespace_object(request, context)
        ),
        variables=evaluation.named_list(cel_block.get("variables")),
        found=context,
    )

    # Preconditions first: false skips the rule, an error fails it.
    holds, errors = evaluation.conditions_hold(scope, preconditions)
    if errors:
        return CelOutcome("fail", "failed to evaluate celPreconditions: " + "; ".join(errors))
    if not holds:
        return CelOutcome("skip", "cel preconditions not met")

    for validation in evaluation.validation_list(cel_block.get("expressions")):
        result = scope.evaluate(validation.expression)
        if result.failed:
            message = evaluation.expression_error(validation.expression, result.error)
            return CelOutcome("fail", message, validation.expression)
        if result.kind != "bool" or result.value is not True:
            if not validation.message:
                validation = evaluation.Validation(
                    validation.expression,
                    default_message,
                    validation.message_expression,
                    validation.reason,
                )
            message = evaluation.kubernetes_message(scope, validation)
            return CelOutcome("fail", message, validation.expression)
    return None


def namespace_object(
    request: AdmissionRequest, context: lookups.Lookups | None
) -> Mapping[str, Any] | None:
    """The `namespaceObject` a Kyverno CEL rule sees: the known one, or Kyverno's stand-in."""
    known = evaluation.known_namespace(request, context)
    if known is not None:
        return known
    # NB: offline, Kyverno builds a Namespace that carries only its name.
    namespace = admission.target_of(request).namespace
    return admission.minimal_namespace(namespace, {}) if namespace else None
