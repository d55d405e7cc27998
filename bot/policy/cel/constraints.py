"""Whether admission `matchConstraints` (a MatchResources) select a request.

ValidatingAdmissionPolicies, their bindings and Kyverno ValidatingPolicies
all select requests the way admission webhooks do: resource rules naming API
groups, versions, plural resources and operations, a namespace selector, an
object selector, and exclusions. This follows the Kubernetes matcher, which
Kyverno reuses: a cluster-scoped object (other than a Namespace) is never
excluded by a namespace selector, and an object selector matches when either
the new or the old object carries the labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.policy import resources, selectors
from bot.policy.cel import admission
from bot.policy.requests import AdmissionRequest


def matches(
    constraints: Mapping[str, Any] | None,
    request: AdmissionRequest,
    *,
    namespace: Mapping[str, Any] | None = None,
) -> bool:
    """Whether the constraints select the request; a broken selector selects nothing.

    Args:
        constraints: a MatchResources mapping; None selects nothing.
        request: the request under admission.
        namespace: the request's Namespace object, when known, for its labels.
    """
    if constraints is None:
        return False
    target = admission.target_of(request)
    try:
        if not _namespace_selected(
            constraints.get("namespaceSelector"), target, request, namespace
        ):
            return False
        if not _object_selected(constraints.get("objectSelector"), request):
            return False
    except selectors.SelectorError:
        return False
    if _rules_match(constraints.get("excludeResourceRules"), target, request):
        return False
    rules = constraints.get("resourceRules")
    if not rules:
        return True
    return _rules_match(rules, target, request)


def _namespace_selected(
    selector: Any,
    target: admission.Target,
    request: AdmissionRequest,
    namespace: Mapping[str, Any] | None,
) -> bool:
    if not isinstance(selector, Mapping) or not selector:
        return True
    if not target.namespace and target.kind != "Namespace":
        return True
    return selectors.selector_matches(selector, admission.namespace_labels(request, namespace))


def _object_selected(selector: Any, request: AdmissionRequest) -> bool:
    if not isinstance(selector, Mapping) or not selector:
        return True
    candidates = [obj for obj in (request.object, request.old_object) if obj]
    return any(selectors.selector_matches(selector, resources.labels_of(o)) for o in candidates)


def _rules_match(rules: Any, target: admission.Target, request: AdmissionRequest) -> bool:
    if not isinstance(rules, list):
        return False
    return any(isinstance(rule, Mapping) and _rule_matches(rule, target, request) for rule in rules)


def _rule_matches(
    rule: Mapping[str, Any], target: admission.Target, request: AdmissionRequest
) -> bool:
    if not _listed(rule.get("operations"), target.operation):
        return False
    if not _listed(rule.get("apiGroups"), target.group):
        return False
    if not _listed(rule.get("apiVersions"), target.version):
        return False
    if not _resource_listed(rule.get("resources"), target):
        return False
    if not _scope_fits(rule.get("scope"), target):
        return False
    names = rule.get("resourceNames")
    if not names:
        return True
    if target.name and not _generated_only(request):
        return target.name in names
    generate_name = str(resources.metadata_of(request.object or {}).get("generateName") or "")
    return bool(generate_name) and any(generate_name.startswith(str(n)) for n in names)


def _listed(values: Any, actual: str) -> bool:
    if not isinstance(values, list):
        return False
    return any(str(value) in ("*", actual) for value in values)


def _resource_listed(values: Any, target: admission.Target) -> bool:
    if not isinstance(values, list):
        return False
    for value in values:
        resource, _, subresource = str(value).partition("/")
        if resource in ("*", target.resource) and subresource in ("*", target.subresource):
            return True
    return False


def _scope_fits(scope: Any, target: admission.Target) -> bool:
    if scope in (None, "", "*"):
        return True
    namespaced = bool(target.namespace) or not (target.cluster_scoped or target.kind == "Namespace")
    return namespaced if scope == "Namespaced" else not namespaced


def _generated_only(request: AdmissionRequest) -> bool:
    metadata = resources.metadata_of(request.object or {})
    return not metadata.get("name") and bool(metadata.get("generateName"))
