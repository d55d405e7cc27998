"""A small cluster, a registry and a recording sink for the handler tests."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from bot.errors import PermanentError
from bot.intake.teams import Registry
from bot.notify import Grouper, GroupSettings, Knowledge, Notifier
from bot.slack import outbox
from bot.store.sqlite_notifications import SQLiteNotificationGroups
from handlers.rejections import RejectionHandler

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "checkout", "namespace": "payments", "uid": "u-checkout"},
    "spec": {
        "selector": {"matchLabels": {"app": "checkout"}},
        "template": {
            "metadata": {"labels": {"app": "checkout"}},
            "spec": {
                "containers": [
                    {
                        "name": "checkout",
                        "image": "registry.example.com/checkout:2.1",
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "64Mi"},
                            "limits": {"memory": "64Mi"},
                        },
                    }
                ]
            },
        },
    },
}
REPLICA_SET: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "ReplicaSet",
    "metadata": {
        "name": "checkout-5b7d9c",
        "namespace": "payments",
        "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout", "controller": True}
        ],
    },
}
NAMESPACES: dict[str, dict[str, Any]] = {
    "payments": {"metadata": {"name": "payments", "labels": {"team": "payments"}}},
    "sandbox": {"metadata": {"name": "sandbox"}},
}
INVOLVED = {
    "apiVersion": "apps/v1",
    "kind": "ReplicaSet",
    "namespace": "payments",
    "name": "checkout-5b7d9c",
}
KYVERNO_DENIAL = (
    'Error creating: admission webhook "validate.kyverno.svc-fail" denied the request: \n\n'
    "resource Pod/payments/ was blocked due to the following policies \n\n"
    "disallow-privilege-escalation:\n"
    "  privilege-escalation: 'validation error: Privilege escalation must be turned off. "
    "rule privilege-escalation failed at path /spec/containers/0/securityContext/'\n"
    "require-non-root:\n"
    "  run-as-non-root: 'validation error: Containers must run as a non-root user. "
    "rule run-as-non-root failed at path /spec/securityContext/'\n"
)


def failed_create(message: str = KYVERNO_DENIAL) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "checkout-5b7d9c.1", "namespace": "payments"},
        "involvedObject": INVOLVED,
        "reason": "FailedCreate",
        "type": "Warning",
        "source": {"component": "replicaset-controller"},
        "message": message,
    }


class FakeCluster:
    """Owner chains and Namespaces from a few objects; can be told to fail."""

    def __init__(self) -> None:
        self.objects = {
            ("Deployment", "payments", "checkout"): DEPLOYMENT,
            ("ReplicaSet", "payments", "checkout-5b7d9c"): REPLICA_SET,
        }
        self.failure: Exception | None = None
        self.namespace_failure: Exception | None = None

    async def find_top_manifest(
        self, *, api_version: str, kind: str, namespace: str, name: str
    ) -> Mapping[str, Any]:
        if self.failure is not None:
            raise self.failure
        current = self.objects.get((kind, namespace, name))
        if current is None:
            raise PermanentError(f"{kind} {namespace}/{name} not found")
        for owner in current["metadata"].get("ownerReferences", []):
            current = self.objects[(owner["kind"], namespace, owner["name"])]
        return copy.deepcopy(current)

    async def read_namespace(self, name: str) -> Mapping[str, Any] | None:
        if self.namespace_failure is not None:
            raise self.namespace_failure
        return NAMESPACES.get(name)


class RecordingSink:
    def __init__(self) -> None:
        self.items: list[outbox.Item] = []

    async def enqueue(self, item: outbox.Item) -> int:
        self.items.append(item)
        return len(self.items)

    def posts(self) -> list[outbox.Post]:
        return [item for item in self.items if isinstance(item, outbox.Post)]

    def updates(self) -> list[outbox.Update]:
        return [item for item in self.items if isinstance(item, outbox.Update)]


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    return Knowledge.bundled()


@pytest.fixture
def registry() -> Registry:
    return Registry.from_data(
        {
            "default_team": "platform",
            "teams": [
                {"name": "payments", "channel": "#payments-alerts", "oncall": "@pay-oc"},
                {"name": "platform", "channel": "#platform-help"},
            ],
        }
    )


@pytest.fixture
def cluster() -> FakeCluster:
    return FakeCluster()


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def groups() -> Iterator[SQLiteNotificationGroups]:
    with SQLiteNotificationGroups(":memory:") as store:
        yield store


@pytest.fixture
def handler(
    registry: Registry,
    knowledge: Knowledge,
    cluster: FakeCluster,
    sink: RecordingSink,
    groups: SQLiteNotificationGroups,
) -> RejectionHandler:
    settings = GroupSettings(update_interval=datetime.timedelta(seconds=30))
    return RejectionHandler(
        registry=registry,
        knowledge=knowledge,
        notifier=Notifier(Grouper(groups, settings), sink),
        owners=cluster,
        namespaces=cluster,
        clock=lambda: T0,
    )
