"""Kubernetes ValidatingAdmissionPolicy with and without a binding."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy.cel import Lookups, evaluate_vap
from bot.policy.requests import AdmissionRequest

DEPLOYMENTS = {
    "resourceRules": [
        {
            "apiGroups": ["apps"],
            "apiVersions": ["v1"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["deployments"],
        }
    ]
}
REPLICA_LIMIT = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "ValidatingAdmissionPolicy",
    "metadata": {"name": "replica-limit"},
    "spec": {
        "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
        "matchConstraints": DEPLOYMENTS,
        "validations": [
            {
                "expression": "object.spec.replicas <= int(params.data.maxReplicas)",
                "messageExpression": "'replicas must be at most ' + params.data.maxReplicas",
            }
        ],
    },
}


def _binding(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "replica-limit-binding"},
        "spec": {"policyName": "replica-limit", "validationActions": ["Deny"], **spec},
    }


def _deployment(replicas: int, namespace: str = "team") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"replicas": replicas},
    }


PARAMS = {"data": {"maxReplicas": "3"}}


@pytest.mark.parametrize(
    ("replicas", "expected"),
    [(2, ("pass", "")), (5, ("fail", "replicas must be at most 3"))],
)
def test_params_drive_the_validation(replicas: int, expected: tuple[str, str]) -> None:
    binding = _binding(paramRef={"name": "limits", "parameterNotFoundAction": "Deny"})

    outcome = evaluate_vap(
        REPLICA_LIMIT, binding, AdmissionRequest(_deployment(replicas)), params=PARAMS
    )

    assert outcome is not None
    assert (outcome.status, outcome.message, outcome.actions) == (*expected, ("Deny",))


@pytest.mark.parametrize(
    ("action", "expected"),
    [("Deny", "fail"), ("Allow", "pass")],
)
def test_missing_params_follow_parameter_not_found_action(action: str, expected: str) -> None:
    binding = _binding(paramRef={"name": "limits", "parameterNotFoundAction": action})

    outcome = evaluate_vap(REPLICA_LIMIT, binding, AdmissionRequest(_deployment(5)))

    assert outcome is not None
    assert outcome.status == expected


def test_binding_match_resources_narrow_the_policy() -> None:
    binding = _binding(
        paramRef={"name": "limits"},
        matchResources={"namespaceSelector": {"matchLabels": {"env": "prod"}}},
    )
    request = AdmissionRequest(_deployment(5), namespace_labels={"env": "dev"})

    assert evaluate_vap(REPLICA_LIMIT, binding, request, params=PARAMS) is None


def _policy(**spec: Any) -> dict[str, Any]:
    return {
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "p"},
        "spec": {"matchConstraints": DEPLOYMENTS, **spec},
    }


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"validations": [{"expression": "object.spec.replicas <= 3"}]}, ("pass", "")),
        (
            {"validations": [{"expression": "object.spec.replicas > 10", "message": "too few"}]},
            ("fail", "too few"),
        ),
        (
            {"validations": [{"expression": "object.spec.replicas > 10"}]},
            ("fail", "failed expression: object.spec.replicas > 10"),
        ),
        (
            {"validations": [{"expression": "object.spec.template.spec == 1"}]},
            (
                "error",
                "expression 'object.spec.template.spec == 1' resulted in error: "
                "no such key: template",
            ),
        ),
        (
            {
                "matchConditions": [
                    {"name": "only-big", "expression": "object.spec.replicas > 100"}
                ],
                "validations": [{"expression": "false"}],
            },
            ("skip", "match conditions aren't met"),
        ),
        (
            {
                "variables": [
                    {"name": "environment", "expression": "namespaceObject.metadata.labels.env"},
                    {"name": "isProd", "expression": "variables.environment == 'prod'"},
                ],
                "validations": [
                    {
                        "expression": "!variables.isProd || object.spec.replicas >= 2",
                        "messageExpression": "'only ' + string(object.spec.replicas) + "
                        "' replica(s) in ' + variables.environment",
                    }
                ],
            },
            ("fail", "only 1 replica(s) in prod"),
        ),
    ],
)
def test_policy_without_binding(spec: dict[str, Any], expected: tuple[str, str]) -> None:
    found = Lookups().with_namespaces(
        [{"kind": "Namespace", "metadata": {"name": "team", "labels": {"env": "prod"}}}]
    )

    outcome = evaluate_vap(_policy(**spec), None, AdmissionRequest(_deployment(1)), context=found)

    assert outcome is not None
    assert (outcome.status, outcome.message) == expected


def test_unmatched_requests_get_no_outcome() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}

    outcome = evaluate_vap(
        _policy(validations=[{"expression": "false"}]), None, AdmissionRequest(pod)
    )

    assert outcome is None
