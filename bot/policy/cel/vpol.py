"""Kyverno ValidatingPolicy (policies.kyverno.io): matching, autogen, evaluation.

A ValidatingPolicy is a ValidatingAdmissionPolicy with Kyverno's libraries
and no binding. Like Kyverno, we also derive policies for pod controllers
from one that matches only Pods (autogen): the same spec, matching
Deployments, Jobs and the like (or CronJobs), with `object.spec` and
`object.metadata` in every expression moved under the pod template. A
request is judged by the first of these specs whose constraints select it.

Outcomes follow Kyverno's engine: false match conditions skip, an
expression error is an `error`, a false validation a `fail` with the
messageExpression, the message, or "CEL expression validation failed at
index N".
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.policy import resources
from bot.policy.cel import admission, constraints, evaluation, lookups
from bot.policy.cel.evaluation import CelOutcome
from bot.policy.requests import AdmissionRequest

POLICY_KINDS = frozenset({"ValidatingPolicy", "NamespacedValidatingPolicy"})


@dataclass(frozen=True)
class _Controller:
    group: str
    resource: str
    template: str
    """Where the pod template lives: `spec.template` or the CronJob's path."""


_CONTROLLERS = {
    "daemonsets": _Controller("apps", "daemonsets", "spec.template"),
    "deployments": _Controller("apps", "deployments", "spec.template"),
    "replicasets": _Controller("apps", "replicasets", "spec.template"),
    "statefulsets": _Controller("apps", "statefulsets", "spec.template"),
    "jobs": _Controller("batch", "jobs", "spec.template"),
    "cronjobs": _Controller("batch", "cronjobs", "spec.jobTemplate.spec.template"),
}
# Fields whose paths must stay on the controller itself, not its template.
_PROTECTED_SUFFIXES = (".namespace",)


def evaluate_validating_policy(
    policy: Mapping[str, Any],
    request: AdmissionRequest,
    *,
    context: lookups.Lookups | None = None,
) -> CelOutcome | None:
    """Judge a request against a ValidatingPolicy; None when it does not apply.

    Args:
        policy: the whole ValidatingPolicy (or NamespacedValidatingPolicy).
        request: the request under admission.
        context: objects for `resource.Get`/`List`, image metadata, global
            context entries and Namespace objects (`namespaceObject`).
    """
    spec = _mapping(policy.get("spec"))
    if policy.get("kind") == "NamespacedValidatingPolicy":
        own = resources.namespace_of(policy)
        if admission.target_of(request).namespace != own:
            return None
    actions = tuple(str(a) for a in spec.get("validationActions") or ("Deny",))
    namespace = evaluation.known_namespace(request, context)

    if str(_mapping(spec.get("evaluation")).get("mode") or "") == "JSON":
        return _evaluate_spec(spec, request, namespace=None, context=context, actions=actions)
    for candidate in (spec, *autogen_specs(spec).values()):
        if constraints.matches(candidate.get("matchConstraints"), request, namespace=namespace):
            return _evaluate_spec(
                candidate, request, namespace=namespace, context=context, actions=actions
            )
    return None


def autogen_specs(spec: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The specs Kyverno derives for pod controllers, by "defaults"/"cronjobs"."""
    match = spec.get("matchConstraints")
    if not isinstance(match, Mapping) or not _can_autogen(match):
        return {}
    controllers = _mapping(_mapping(spec.get("autogen")).get("podControllers")).get("controllers")
    names = set(_CONTROLLERS) if controllers is None else {str(c) for c in controllers}
    groups: dict[str, list[_Controller]] = {}
    for name in sorted(names & set(_CONTROLLERS)):
        controller = _CONTROLLERS[name]
        groups.setdefault("cronjobs" if name == "cronjobs" else "defaults", []).append(controller)

    operations = _mapping(match["resourceRules"][0]).get("operations") or []
    specs: dict[str, dict[str, Any]] = {}
    for config, members in groups.items():
        derived = _rewritten(copy.deepcopy(dict(spec)), members[0].template)
        derived["matchConstraints"] = _controller_constraints(members, operations, match)
        specs[config] = derived
    return specs


def _evaluate_spec(
    spec: Mapping[str, Any],
    request: AdmissionRequest,
    *,
    namespace: Mapping[str, Any] | None,
    context: lookups.Lookups | None,
    actions: tuple[str, ...],
) -> CelOutcome:
    scope = evaluation.Scope(
        evaluation.request_data(request, namespace_object=namespace),
        variables=evaluation.named_list(spec.get("variables")),
        found=context,
    )

    skipped = evaluation.match_conditions_outcome(
        scope,
        spec,
        actions,
        error_prefix="failed to load context: ",
        not_met="match conditions not met",
    )
    if skipped is not None:
        return skipped

    for index, validation in enumerate(evaluation.validation_list(spec.get("validations"))):
        result = scope.evaluate(validation.expression)
        if result.failed:
            return CelOutcome("error", f"error: {result.error}", validation.expression, actions)
        if result.kind != "bool":
            message = f"error: validation must be a bool, got {result.kind}"
            return CelOutcome("error", message, validation.expression, actions)
        if result.value is False:
            message = _failure_message(scope, validation, index)
            return CelOutcome("fail", message, validation.expression, actions)
    return CelOutcome("pass", "success", actions=actions)


def _failure_message(scope: evaluation.Scope, validation: evaluation.Validation, index: int) -> str:
    message = validation.message
    if validation.message_expression:
        result = scope.evaluate(validation.message_expression)
        if result.failed:
            message = f"failed to evaluate message expression: {result.error}"
        elif result.kind != "string":
            message = f"failed to convert message expression to string: got {result.kind}"
        else:
            message = str(result.value)
    return message or f"CEL expression validation failed at index {index}"


def _can_autogen(match: Mapping[str, Any]) -> bool:
    """Kyverno autogenerates only for a single rule on core/v1 pods."""
    selector = _mapping(match.get("objectSelector"))
    if selector.get("matchLabels") or selector.get("matchExpressions"):
        return False
    if match.get("excludeResourceRules"):
        return False
    rules = match.get("resourceRules")
    if not isinstance(rules, list) or len(rules) != 1 or not isinstance(rules[0], Mapping):
        return False
    rule = rules[0]
    return (
        not rule.get("resourceNames")
        and list(rule.get("apiGroups") or []) == [""]
        and list(rule.get("apiVersions") or []) == ["v1"]
        and list(rule.get("resources") or []) == ["pods"]
    )


def _controller_constraints(
    members: list[_Controller], operations: Any, match: Mapping[str, Any]
) -> dict[str, Any]:
    by_group: dict[str, list[str]] = {}
    for controller in members:
        by_group.setdefault(controller.group, []).append(controller.resource)
    rules = [
        {
            "apiGroups": [group],
            "apiVersions": ["v1"],
            "resources": sorted(names),
            "operations": list(operations),
        }
        for group, names in sorted(by_group.items())
    ]
    constraints_: dict[str, Any] = {"resourceRules": rules}
    if match.get("namespaceSelector") is not None:
        constraints_["namespaceSelector"] = copy.deepcopy(match["namespaceSelector"])
    return constraints_


def _rewritten(value: Any, template: str) -> Any:
    """Move `object.spec`/`.metadata` (and oldObject's) under the pod template."""
    if isinstance(value, dict):
        return {key: _rewritten(item, template) for key, item in value.items()}
    if isinstance(value, list):
        return [_rewritten(item, template) for item in value]
    if isinstance(value, str):
        for root in ("object", "oldObject"):
            for field in ("spec", "metadata"):
                value = _replace_path(value, f"{root}.{field}", f"{root}.{template}.{field}")
    return value


def _replace_path(text: str, old: str, new: str) -> str:
    """Replace `old` everywhere except right before a protected field."""
    pieces: list[str] = []
    cursor = 0
    while (found := text.find(old, cursor)) >= 0:
        after = found + len(old)
        pieces.append(text[cursor:found])
        pieces.append(old if _protected(text[after:]) else new)
        cursor = after
    pieces.append(text[cursor:])
    return "".join(pieces)


def _protected(rest: str) -> bool:
    for suffix in _PROTECTED_SUFFIXES:
        if rest.startswith(suffix):
            following = rest[len(suffix) : len(suffix) + 1]
            if not following or not (following.isalnum() or following == "_"):
                return True
    return False


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
