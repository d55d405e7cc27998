"""Kyverno ValidatingPolicy: matching, autogen for controllers, outcomes."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy.cel import Lookups, evaluate_validating_policy, vpol
from bot.policy.requests import AdmissionRequest

PODS = {
    "resourceRules": [
        {
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["pods"],
        }
    ]
}
NO_LATEST: dict[str, Any] = {
    "apiVersion": "policies.kyverno.io/v1",
    "kind": "ValidatingPolicy",
    "metadata": {"name": "no-latest"},
    "spec": {
        "validationActions": ["Audit"],
        "matchConstraints": PODS,
        "validations": [
            {
                "expression": "object.spec.containers.all(c, !c.image.endsWith(':latest'))",
                "message": "latest is not allowed",
            }
        ],
    },
}


def _pod(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "team"},
        "spec": {"containers": [{"name": "a", "image": image}]},
    }


def _deployment(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "team"},
        "spec": {"template": {"metadata": {}, "spec": _pod(image)["spec"]}},
    }


def _cronjob(image: str) -> dict[str, Any]:
    job = {"template": {"spec": _pod(image)["spec"]}}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "c", "namespace": "team"},
        "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": job}},
    }


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (_pod("nginx:1"), "pass"),
        (_pod("nginx:latest"), "fail"),
        (_deployment("nginx:latest"), "fail"),
        (_deployment("nginx:1"), "pass"),
        (_cronjob("nginx:latest"), "fail"),
    ],
)
def test_policy_judges_pods_and_their_controllers(obj: dict[str, Any], expected: str) -> None:
    outcome = evaluate_validating_policy(NO_LATEST, AdmissionRequest(object=obj))

    assert outcome is not None
    assert (outcome.status, outcome.actions) == (expected, ("Audit",))


def test_policy_ignores_unmatched_kinds() -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}

    assert evaluate_validating_policy(NO_LATEST, AdmissionRequest(object=service)) is None


def test_autogen_can_be_limited_to_some_controllers() -> None:
    spec = {**NO_LATEST["spec"], "autogen": {"podControllers": {"controllers": ["cronjobs"]}}}
    policy = {**NO_LATEST, "spec": spec}

    on_deployment = evaluate_validating_policy(policy, AdmissionRequest(_deployment("x:latest")))
    on_cronjob = evaluate_validating_policy(policy, AdmissionRequest(_cronjob("x:latest")))

    assert on_deployment is None
    assert on_cronjob is not None
    assert on_cronjob.status == "fail"


def test_autogen_keeps_the_controller_namespace() -> None:
    spec = {"matchConstraints": PODS, "validations": [{"expression": "object.metadata.namespace"}]}

    derived = vpol.autogen_specs(spec)

    assert set(derived) == {"defaults", "cronjobs"}
    rule = derived["defaults"]["matchConstraints"]["resourceRules"][0]
    assert rule["resources"] == ["daemonsets", "deployments", "replicasets", "statefulsets"]
    assert derived["defaults"]["validations"][0]["expression"] == "object.metadata.namespace"


def _policy(**spec: Any) -> dict[str, Any]:
    return {
        "kind": "ValidatingPolicy",
        "metadata": {"name": "p"},
        "spec": {"matchConstraints": PODS, **spec},
    }


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"validations": [{"expression": "false"}]},
            ("fail", "CEL expression validation failed at index 0"),
        ),
        (
            {
                "validations": [
                    {
                        "expression": "false",
                        "messageExpression": "'image ' + object.spec.containers[0].image",
                    }
                ]
            },
            ("fail", "image nginx:1"),
        ),
        (
            {"validations": [{"expression": "object.spec.nope"}]},
            ("error", "error: no such key: nope"),
        ),
        (
            {
                "matchConditions": [{"name": "never", "expression": "false"}],
                "validations": [{"expression": "false"}],
            },
            ("skip", "match conditions not met"),
        ),
        (
            {
                "matchConditions": [{"name": "bad", "expression": "object.nope"}],
                "validations": [{"expression": "true"}],
            },
            ("error", "failed to load context: bad: no such key: nope"),
        ),
        (
            {
                "failurePolicy": "Ignore",
                "matchConditions": [{"name": "bad", "expression": "object.nope"}],
                "validations": [{"expression": "true"}],
            },
            ("skip", "match conditions could not be evaluated"),
        ),
        (
            {
                "variables": [
                    {
                        "name": "cm",
                        "expression": "resource.Get('v1', 'configmaps', 'team', 'allowed')",
                    }
                ],
                "validations": [
                    {
                        "expression": "object.spec.containers.all("
                        "c, c.image.startsWith(variables.cm.data.prefix))"
                    }
                ],
            },
            ("pass", "success"),
        ),
        (
            {"validations": [{"expression": "namespaceObject.metadata.labels.env == 'prod'"}]},
            ("pass", "success"),
        ),
    ],
)
def test_validating_policy_outcomes(spec: dict[str, Any], expected: tuple[str, str]) -> None:
    found = Lookups(
        objects=(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "allowed", "namespace": "team"},
                "data": {"prefix": "nginx"},
            },
        )
    ).with_namespaces(
        [{"kind": "Namespace", "metadata": {"name": "team", "labels": {"env": "prod"}}}]
    )

    outcome = evaluate_validating_policy(
        _policy(**spec), AdmissionRequest(_pod("nginx:1")), context=found
    )

    assert outcome is not None
    assert (outcome.status, outcome.message) == expected


def test_namespaced_policy_applies_only_in_its_namespace() -> None:
    policy = {**_policy(validations=[{"expression": "true"}]), "kind": "NamespacedValidatingPolicy"}
    policy["metadata"] = {"name": "p", "namespace": "other"}

    assert evaluate_validating_policy(policy, AdmissionRequest(_pod("nginx:1"))) is None


def test_default_action_is_deny() -> None:
    outcome = evaluate_validating_policy(
        _policy(validations=[{"expression": "true"}]), AdmissionRequest(_pod("a:1"))
    )

    assert outcome is not None
    assert outcome.actions == ("Deny",)
