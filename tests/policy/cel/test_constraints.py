"""matchConstraints: resource rules, selectors and exclusions."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy.cel import admission, constraints
from bot.policy.requests import AdmissionRequest

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "namespace": "team", "labels": {"app": "web"}},
}
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}
PODS_RULE = {"apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "operations": ["*"]}


def _request(obj: dict[str, Any], **kwargs: Any) -> AdmissionRequest:
    return AdmissionRequest(object=obj, **kwargs)


@pytest.mark.parametrize(
    ("match", "obj", "expected"),
    [
        ({"resourceRules": [PODS_RULE]}, POD, True),
        ({"resourceRules": [PODS_RULE]}, DEPLOYMENT, False),
        ({"resourceRules": [{**PODS_RULE, "operations": ["UPDATE"]}]}, POD, False),
        ({"resourceRules": [{**PODS_RULE, "resources": ["*"]}]}, POD, True),
        ({"resourceRules": [{**PODS_RULE, "resources": ["pods/status"]}]}, POD, False),
        ({"resourceRules": [{**PODS_RULE, "resourceNames": ["web"]}]}, POD, True),
        ({"resourceRules": [{**PODS_RULE, "resourceNames": ["api"]}]}, POD, False),
        ({"resourceRules": [{**PODS_RULE, "scope": "Cluster"}]}, POD, False),
        (
            {
                "resourceRules": [PODS_RULE],
                "excludeResourceRules": [{**PODS_RULE, "resourceNames": ["web"]}],
            },
            POD,
            False,
        ),
        (
            {"resourceRules": [PODS_RULE], "objectSelector": {"matchLabels": {"app": "web"}}},
            POD,
            True,
        ),
        (
            {"resourceRules": [PODS_RULE], "objectSelector": {"matchLabels": {"app": "x"}}},
            POD,
            False,
        ),
        (
            {
                "resourceRules": [PODS_RULE],
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team"}},
            },
            POD,
            True,
        ),
        (
            {
                "resourceRules": [{**PODS_RULE, "resources": ["nodes"]}],
                "namespaceSelector": {"matchLabels": {"env": "prod"}},
            },
            NODE,
            True,
        ),
        (None, POD, False),
    ],
)
def test_match_constraints_select_requests(
    match: dict[str, Any] | None, obj: dict[str, Any], expected: bool
) -> None:
    assert constraints.matches(match, _request(obj)) is expected


def test_namespace_labels_come_from_the_request() -> None:
    match = {"resourceRules": [PODS_RULE], "namespaceSelector": {"matchLabels": {"env": "prod"}}}

    prod = constraints.matches(match, _request(POD, namespace_labels={"env": "prod"}))
    dev = constraints.matches(match, _request(POD, namespace_labels={"env": "dev"}))

    assert (prod, dev) == (True, False)


@pytest.mark.parametrize(
    ("kind", "resource"),
    [
        ("Pod", "pods"),
        ("Ingress", "ingresses"),
        ("NetworkPolicy", "networkpolicies"),
        ("Gateway", "gateways"),
        ("Endpoints", "endpoints"),
        ("StorageClass", "storageclasses"),
    ],
)
def test_kinds_map_to_plural_resources(kind: str, resource: str) -> None:
    assert admission.resource_for_kind(kind) == resource
