"""Admissions: the Events and audit events that say a workload got through."""

from __future__ import annotations

from typing import Any

import pytest

from bot.notify.admissions import Admission, find_admission

RS = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "namespace": "shop", "name": "web-6c2e41"}


def audit(code: int, verb: str = "create", **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Event",
        "verb": verb,
        "objectRef": {
            "resource": "deployments",
            "namespace": "shop",
            "name": "web",
            "apiGroup": "apps",
            "apiVersion": "v1",
        },
        "responseStatus": {"code": code},
        **extra,
    }


def test_successful_create_names_the_controller() -> None:
    event = {"kind": "Event", "reason": "SuccessfulCreate", "involvedObject": RS}

    assert find_admission(event) == Admission(involved=RS)


def test_allowed_write_carries_the_object() -> None:
    manifest = {"kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}}

    found = find_admission(audit(201, requestObject=manifest))

    assert found == Admission(request=manifest)


def test_allowed_write_without_object_names_it() -> None:
    found = find_admission(audit(200, verb="patch"))

    assert found == Admission(
        involved={"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"}
    )


@pytest.mark.parametrize(
    "payload",
    [
        audit(403),
        audit(400),
        audit(200, verb="get"),
        audit(200, objectRef={"resource": "pods"}),
        {"kind": "Event", "reason": "FailedCreate", "involvedObject": RS},
        {"kind": "Event", "reason": "SuccessfulCreate"},
        "deployment.apps/web created",
        {"apiVersion": "audit.k8s.io/v1", "verb": "create", "responseStatus": "odd"},
    ],
)
def test_other_payloads_admit_nothing(payload: Any) -> None:
    assert find_admission(payload) is None
