"""validate.cel in a Kyverno ClusterPolicy rule."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy.cel import evaluate_validate_cel
from bot.policy.requests import AdmissionRequest, UserInfo


def _pod(*, replicas: int = 1, host_network: bool = False) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "team", "labels": {"app": "web"}},
        "spec": {
            "hostNetwork": host_network,
            "replicas": replicas,
            "containers": [{"name": "a", "image": "nginx:1.25"}],
        },
    }


HOST_NETWORK = {"expressions": [{"expression": "!object.spec.hostNetwork", "message": "no host"}]}

CASES: list[tuple[str, dict[str, Any], dict[str, Any], tuple[str, str]]] = [
    ("passing expression", HOST_NETWORK, _pod(), ("pass", "Validation rule 'r' passed.")),
    ("failing expression", HOST_NETWORK, _pod(host_network=True), ("fail", "no host")),
    (
        "message expression wins",
        {
            "expressions": [
                {
                    "expression": "object.spec.replicas < 2",
                    "message": "static",
                    "messageExpression": "'replicas is ' + string(object.spec.replicas)",
                }
            ]
        },
        _pod(replicas=5),
        ("fail", "replicas is 5"),
    ),
    (
        "multi-line message expression falls back",
        {
            "expressions": [
                {
                    "expression": "false",
                    "message": "static",
                    "messageExpression": "'a\\nb'",
                }
            ]
        },
        _pod(),
        ("fail", "static"),
    ),
    (
        "no message names the expression",
        {"expressions": [{"expression": "object.spec.replicas < 2"}]},
        _pod(replicas=3),
        ("fail", "failed expression: object.spec.replicas < 2"),
    ),
    (
        "errors fail the rule",
        {"expressions": [{"expression": "object.spec.nope == 1"}]},
        _pod(),
        ("fail", "expression 'object.spec.nope == 1' resulted in error: no such key: nope"),
    ),
    (
        "variables feed expressions",
        {
            "variables": [
                {"name": "images", "expression": "object.spec.containers.map(c, c.image)"}
            ],
            "expressions": [{"expression": "variables.images.all(i, i.contains(':'))"}],
        },
        _pod(),
        ("pass", "Validation rule 'r' passed."),
    ),
    (
        "request and namespaceObject are there",
        {
            "expressions": [
                {"expression": "request.operation == 'CREATE' && request.kind.kind == 'Pod'"},
                {"expression": "namespaceObject.metadata.name == 'team'"},
                {"expression": "request.userInfo.username == 'alice'"},
            ]
        },
        _pod(),
        ("pass", "Validation rule 'r' passed."),
    ),
]


@pytest.mark.parametrize(
    ("block", "obj", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_validate_cel_outcomes(
    block: dict[str, Any], obj: dict[str, Any], expected: tuple[str, str]
) -> None:
    request = AdmissionRequest(object=obj, user_info=UserInfo(username="alice"))

    outcome = evaluate_validate_cel(block, request, rule_name="r")

    assert (outcome.status, outcome.message) == expected


def test_rule_message_fills_in_for_silent_expressions() -> None:
    block = {"expressions": [{"expression": "false"}]}

    outcome = evaluate_validate_cel(
        block, AdmissionRequest(object=_pod()), default_message="from the rule"
    )

    assert (outcome.status, outcome.message, outcome.expression) == (
        "fail",
        "from the rule",
        "false",
    )


@pytest.mark.parametrize(
    ("precondition", "expected"),
    [
        ("object.metadata.name == 'web'", "fail"),
        ("object.metadata.name == 'api'", "skip"),
        ("object.metadata.nope == 'x'", "fail"),
    ],
)
def test_cel_preconditions_gate_the_rule(precondition: str, expected: str) -> None:
    block = {"expressions": [{"expression": "false", "message": "denied"}]}

    outcome = evaluate_validate_cel(
        block,
        AdmissionRequest(object=_pod()),
        preconditions=[{"name": "p", "expression": precondition}],
    )

    assert outcome.status == expected


def test_params_are_required_and_used() -> None:
    block = {
        "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
        "paramRef": {"name": "limits"},
        "expressions": [{"expression": "object.spec.replicas <= int(params.data.max)"}],
    }
    request = AdmissionRequest(object=_pod(replicas=3))

    missing = evaluate_validate_cel(block, request)
    low = evaluate_validate_cel(block, request, params={"data": {"max": "2"}})
    high = evaluate_validate_cel(block, request, params=[{"data": {"max": "5"}}])

    assert (missing.status, low.status, high.status) == ("error", "fail", "pass")


def test_delete_requests_see_only_the_old_object() -> None:
    block = {"expressions": [{"expression": "object == null && oldObject.metadata.name == 'web'"}]}
    request = AdmissionRequest(object=_pod(), operation="DELETE", old_object=_pod())

    outcome = evaluate_validate_cel(block, request)

    assert outcome.status == "pass"
