"""The manifest to fix: from requests or owner chains, stripped and redacted."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

from bot.errors import PermanentError
from bot.intake import resolving
from bot.intake.resolving import REDACTED

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
BLOB = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY0123"


def deployment_from_server() -> dict[str, Any]:
    """A Deployment as `kubectl get -o json` shows it, server fields and all."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "6b1f",
            "resourceVersion": "48213",
            "generation": 4,
            "creationTimestamp": "2026-01-02T03:04:05Z",
            "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
            "labels": {"app": "web", "team": "payments"},
            "annotations": {
                "deployment.kubernetes.io/revision": "4",
                "kubectl.kubernetes.io/last-applied-configuration": '{"big": "json"}',
                "owner": "payments",
            },
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {
                    "creationTimestamp": None,
                    "labels": {"app": "web", "pod-template-hash": "7d9"},
                },
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "shop/web:1.2",
                            "env": [
                                {"name": "DB_PASSWORD", "value": "hunter2"},
                                {"name": "LOG_LEVEL", "value": "info"},
                                {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "t"}}},
                            ],
                        }
                    ]
                },
            },
        },
        "status": {"replicas": 2, "readyReplicas": 2},
    }


def test_server_fields_are_stripped() -> None:
    cleaned = resolving.clean(deployment_from_server())

    assert cleaned["metadata"] == {
        "name": "web",
        "namespace": "shop",
        "labels": {"app": "web", "team": "payments"},
        "annotations": {"owner": "payments"},
    }
    assert "status" not in cleaned
    assert cleaned["spec"]["template"]["metadata"] == {"labels": {"app": "web"}}
    assert cleaned["spec"]["selector"] == {"matchLabels": {"app": "web"}}


def test_input_is_left_untouched() -> None:
    original = deployment_from_server()
    before = copy.deepcopy(original)

    resolving.clean(original)

    assert original == before


def test_env_values_with_secret_names_are_redacted() -> None:
    env = resolving.clean(deployment_from_server())["spec"]["template"]["spec"]["containers"][0][
        "env"
    ]

    assert env == [
        {"name": "DB_PASSWORD", "value": REDACTED},
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "t"}}},
    ]


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("PASSWORD", True),
        ("db_passwd", True),
        ("STRIPE_SECRET", True),
        ("GITHUB_TOKEN", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("GCP_CREDENTIALS", True),
        ("TLS_PRIVATE_KEY", True),
        ("API_KEY", True),
        ("apikey", True),
        ("SIGNING_KEY", True),
        ("KEY", True),
        ("SENTRY_DSN", True),
        ("KEYCLOAK_URL", False),
        ("PASSTHROUGH_MODE", False),
        ("MONKEY_COUNT", False),
        ("LOG_LEVEL", False),
    ],
)
def test_secret_looking_env_names(name: str, secret: bool) -> None:
    manifest = {"kind": "Pod", "spec": {"containers": [{"env": [{"name": name, "value": "v"}]}]}}

    value = resolving.redact(manifest)["spec"]["containers"][0]["env"][0]["value"]

    assert (value == REDACTED) is secret


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (BLOB, REDACTED),
        ("sha256:" + "ab12" * 16, "sha256:" + "ab12" * 16),  # hex digests are no secret
        ("https://example.com/some/long/path/to/a/resource", "unchanged"),
        ("plain words", "unchanged"),
    ],
)
def test_long_base64_env_values_are_redacted(value: str, expected: str) -> None:
    manifest = {"spec": {"containers": [{"env": [{"name": "CONFIG", "value": value}]}]}}

    redacted = resolving.redact(manifest)["spec"]["containers"][0]["env"][0]["value"]

    assert redacted == (value if expected == "unchanged" else expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"--token={JWT}", f"--token={REDACTED}"),
        (f"Authorization: Bearer {JWT}", f"Authorization: Bearer {REDACTED}"),
        (
            f"git clone https://{GITHUB_TOKEN}@github.com/x",
            f"git clone https://{REDACTED}@github.com/x",
        ),
        (f"key id {AWS_KEY_ID} here", f"key id {REDACTED} here"),
        ("xoxb-1234567890-abcdefghij", REDACTED),
        ("postgres://app:s3cr3t@db:5432/shop", f"postgres://app:{REDACTED}@db:5432/shop"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", REDACTED),
        ("nothing to see", "nothing to see"),
    ],
)
def test_token_shaped_strings_are_redacted_anywhere(text: str, expected: str) -> None:
    manifest = {
        "spec": {"containers": [{"args": [text]}]},
        "metadata": {"annotations": {"a": text}},
    }

    redacted = resolving.redact(manifest)

    assert redacted["spec"]["containers"][0]["args"] == [expected]
    assert redacted["metadata"]["annotations"]["a"] == expected


def test_secret_data_values_are_redacted() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {"password": "aHVudGVyMg=="},
        "stringData": {"user": "app"},
    }

    cleaned = resolving.clean(secret)

    assert cleaned["data"] == {"password": REDACTED}
    assert cleaned["stringData"] == {"user": REDACTED}


def test_pod_loses_scheduling_and_token_volume() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "debug",
            "ownerReferences": [
                {"kind": "ReplicaSet", "name": "web-7d9", "controller": True},
                {"kind": "ConfigMap", "name": "hand-written"},
            ],
        },
        "spec": {
            "nodeName": "node-1",
            "containers": [
                {
                    "name": "app",
                    "volumeMounts": [
                        {"name": "kube-api-access-x1y2", "mountPath": "/var/run/secrets"},
                        {"name": "data", "mountPath": "/data"},
                    ],
                }
            ],
            "volumes": [
                {"name": "kube-api-access-x1y2", "projected": {"sources": []}},
                {"name": "data", "emptyDir": {}},
            ],
        },
    }

    cleaned = resolving.clean(pod)

    assert cleaned["metadata"]["ownerReferences"] == [{"kind": "ConfigMap", "name": "hand-written"}]
    assert "nodeName" not in cleaned["spec"]
    assert cleaned["spec"]["volumes"] == [{"name": "data", "emptyDir": {}}]
    assert cleaned["spec"]["containers"][0]["volumeMounts"] == [
        {"name": "data", "mountPath": "/data"}
    ]


def test_job_loses_controller_selector_and_labels() -> None:
    """A CronJob's Job template, and a Job, as the controllers left them."""
    generated = {"batch.kubernetes.io/controller-uid": "u1", "controller-uid": "u1"}
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "nightly-1", "labels": {**generated, "job-name": "nightly-1"}},
        "spec": {
            "selector": {"matchLabels": dict(generated)},
            "template": {"metadata": {"labels": {**generated, "app": "nightly"}}, "spec": {}},
        },
    }

    cleaned = resolving.clean(job)

    assert "labels" not in cleaned["metadata"]
    assert "selector" not in cleaned["spec"]
    assert cleaned["spec"]["template"]["metadata"] == {"labels": {"app": "nightly"}}


def test_request_object_is_found_in_audit_events_and_reviews() -> None:
    pod = {"kind": "Pod", "metadata": {"name": "p"}}

    assert resolving.request_object({"kind": "Event", "requestObject": pod}) == pod
    assert resolving.request_object({"kind": "AdmissionReview", "request": {"object": pod}}) == pod
    assert resolving.request_object({"kind": "Event"}) is None


class FakeOwners:
    """An OwnerLookup that knows a few tops, and remembers what was asked."""

    def __init__(self, tops: Mapping[str, Mapping[str, Any]]) -> None:
        self.tops = tops
        self.asked: list[dict[str, str]] = []

    async def find_top_manifest(
        self, *, api_version: str, kind: str, namespace: str, name: str
    ) -> Mapping[str, Any]:
        self.asked.append(
            {"api_version": api_version, "kind": kind, "namespace": namespace, "name": name}
        )
        if name not in self.tops:
            raise PermanentError(f"{kind} {name} is gone")
        return self.tops[name]


async def test_plain_request_is_the_manifest() -> None:
    """What a person applied is exactly what they should fix."""
    owners = FakeOwners({})

    resolution = await resolving.resolve(request=deployment_from_server(), owners=owners)

    assert resolution.source == "request"
    assert resolution.manifest["kind"] == "Deployment"
    assert owners.asked == []


async def test_controller_request_leads_to_its_owner() -> None:
    """A Pod a ReplicaSet sent is fixed in the Deployment above it."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "namespace": "shop",
            "generateName": "web-7d9-",
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "web-7d9",
                    "controller": True,
                }
            ],
        },
    }
    owners = FakeOwners({"web-7d9": deployment_from_server()})

    resolution = await resolving.resolve(request=pod, owners=owners)

    assert resolution.source == "owner-chain"
    assert resolution.manifest["kind"] == "Deployment"
    assert resolution.manifest["spec"]["template"]["spec"]["containers"][0]["env"][0] == {
        "name": "DB_PASSWORD",
        "value": REDACTED,
    }
    assert owners.asked == [
        {"api_version": "apps/v1", "kind": "ReplicaSet", "namespace": "shop", "name": "web-7d9"}
    ]


async def test_vanished_owner_falls_back_to_the_request() -> None:
    pod = {
        "kind": "Pod",
        "metadata": {
            "ownerReferences": [{"kind": "ReplicaSet", "name": "gone", "controller": True}]
        },
    }

    resolution = await resolving.resolve(request=pod, owners=FakeOwners({}))

    assert resolution.source == "request"
    assert "ownerReferences" not in resolution.manifest["metadata"]


async def test_involved_object_is_walked_up() -> None:
    """An Event names the ReplicaSet; its kind alone gives the apiVersion."""
    owners = FakeOwners({"web-7d9": deployment_from_server()})
    involved = {"kind": "ReplicaSet", "namespace": "shop", "name": "web-7d9"}

    resolution = await resolving.resolve(involved=involved, owners=owners)

    assert resolution.source == "owner-chain"
    assert owners.asked[0]["api_version"] == "apps/v1"


@pytest.mark.parametrize(
    ("involved", "owners", "message"),
    [
        (None, FakeOwners({}), "names no object"),
        ({"kind": "Pod"}, FakeOwners({}), "names no object"),
        ({"kind": "Pod", "name": "p"}, None, "the cluster is not connected"),
    ],
)
async def test_nothing_to_resolve_says_why(
    involved: dict[str, str] | None, owners: FakeOwners | None, message: str
) -> None:
    with pytest.raises(PermanentError, match=message):
        await resolving.resolve(involved=involved, owners=owners)
