"""The rejection handler: from a payload to the messages in the outbox."""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
from typing import Any

import pytest

from bot import health
from bot.errors import PermanentError, TemporaryError
from bot.intake.teams import Registry
from bot.notify import Grouper, Knowledge, Notifier
from bot.store.sqlite_notifications import SQLiteNotificationGroups
from handlers.rejections import RejectionHandler
from tests.handlers.conftest import (
    DEPLOYMENT,
    INVOLVED,
    T0,
    FakeCluster,
    RecordingSink,
    failed_create,
)


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def audit_denial(code: int = 400) -> dict[str, Any]:
    manifest = {
        **DEPLOYMENT,
        "metadata": {"name": "ledger", "namespace": "payments", "labels": {"team": "payments"}},
    }
    return {
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Event",
        "verb": "create",
        "user": {"username": "ci@example.com"},
        "objectRef": {"resource": "deployments", "namespace": "payments", "apiGroup": "apps"},
        "responseStatus": {
            "code": code,
            "message": (
                'admission webhook "validate.kyverno.svc-fail" denied the request: \n\n'
                "resource Deployment/payments/ledger was blocked due to the following "
                "policies \n\nrequire-non-root:\n  autogen-run-as-non-root: 'validation "
                "error: Containers must run as a non-root user. rule autogen-run-as-non-root "
                "failed at path /spec/template/spec/securityContext/'\n"
            ),
        },
        "requestObject": manifest,
    }


def successful_create() -> dict[str, Any]:
    return {"kind": "Event", "reason": "SuccessfulCreate", "involvedObject": INVOLVED}


async def test_controller_retries_make_one_message_per_rule(
    handler: RejectionHandler, sink: RecordingSink
) -> None:
    for n in range(10):
        await handler.handle(failed_create(), involved=INVOLVED, at=at(n * 10))
    await handler.flush(force=True)

    posts = sink.posts()
    assert len(posts) == 2
    assert {p.channel for p in posts} == {"#payments-alerts"}
    last = sink.updates()[-1]
    assert "Seen 10 times" in json.dumps(last.blocks)


async def test_fix_is_computed_on_the_owning_deployment(
    handler: RejectionHandler, sink: RecordingSink
) -> None:
    await handler.handle(failed_create(), involved=INVOLVED, at=T0)

    body = json.dumps([p.blocks for p in sink.posts()])
    assert "Blocked: Deployment payments/checkout" in body
    assert "*Exact fix*" in body
    assert "a/deployment-checkout.yaml" in body
    assert "namespace payments label team=payments" in body


async def test_audit_event_brings_its_own_manifest(
    handler: RejectionHandler, sink: RecordingSink
) -> None:
    handled = await handler.handle(audit_denial(), at=T0, source="audit")

    assert handled.posted == 1
    (post,) = sink.posts()
    body = json.dumps(post.blocks)
    assert "Deployment payments/ledger" in body
    assert "ci@example.com" in body
    assert "+        runAsNonRoot: true" in body


async def test_generated_and_pod_rules_share_a_message(
    handler: RejectionHandler, sink: RecordingSink
) -> None:
    """A Deployment's audit event and its Pods' events report one problem."""
    ledger_rs = {**INVOLVED, "name": "ledger-1"}
    handler_cluster = handler.owners
    assert isinstance(handler_cluster, FakeCluster)
    handler_cluster.objects[("Deployment", "payments", "ledger")] = audit_denial()["requestObject"]
    handler_cluster.objects[("ReplicaSet", "payments", "ledger-1")] = {
        "metadata": {"ownerReferences": [{"kind": "Deployment", "name": "ledger"}]}
    }

    await handler.handle(audit_denial(), at=T0)
    await handler.handle(failed_create(), involved=ledger_rs, at=at(5))

    rules = sorted(p.text.split(" violates ")[1].split(".")[0] for p in sink.posts())
    assert rules == [
        "disallow-privilege-escalation/privilege-escalation",
        "require-non-root/autogen-run-as-non-root",
    ]


async def test_without_cluster_the_controller_is_the_workload(
    registry: Registry, knowledge: Knowledge, sink: RecordingSink
) -> None:
    with SQLiteNotificationGroups(":memory:") as groups:
        handler = RejectionHandler(
            registry=registry, knowledge=knowledge, notifier=Notifier(Grouper(groups), sink)
        )
        await handler.handle(failed_create(), involved=INVOLVED, at=T0)
        await handler.handle(failed_create(), involved=INVOLVED, at=at(1))

    posts = sink.posts()
    assert len(posts) == 2
    body = json.dumps(posts[0].blocks)
    assert "ReplicaSet payments/checkout-5b7d9c" in body
    assert "no manifest" in body
    assert posts[0].channel == "#platform-help"


async def test_missing_owner_falls_back_to_named_object(
    handler: RejectionHandler, cluster: FakeCluster, sink: RecordingSink
) -> None:
    cluster.failure = PermanentError("forbidden")

    handled = await handler.handle(failed_create(), involved=INVOLVED, at=T0)

    assert handled.posted == 2
    assert "ReplicaSet payments/checkout-5b7d9c" in json.dumps(sink.posts()[0].blocks)


async def test_unreachable_cluster_is_retried_by_caller(
    handler: RejectionHandler, cluster: FakeCluster, sink: RecordingSink
) -> None:
    cluster.failure = TemporaryError("API server away", retry_after=1.0)

    with pytest.raises(TemporaryError):
        await handler.handle(failed_create(), involved=INVOLVED, at=T0)

    assert sink.items == []


async def test_unreadable_namespace_leaves_workload_labels(
    handler: RejectionHandler,
    cluster: FakeCluster,
    sink: RecordingSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cluster.namespace_failure = PermanentError("forbidden")

    await handler.handle(audit_denial(), at=T0)

    assert sink.posts()[0].channel == "#payments-alerts"
    assert "Could not read namespace payments" in caplog.text


async def test_text_naming_no_object_is_skipped(
    handler: RejectionHandler, sink: RecordingSink
) -> None:
    handled = await handler.handle("something went wrong, no idea what", at=T0)

    assert handled.skipped == 1
    assert sink.items == []


async def test_admission_resolves_the_workloads_messages(
    handler: RejectionHandler, sink: RecordingSink
) -> None:
    await handler.handle(failed_create(), involved=INVOLVED, at=T0)

    handled = await handler.handle(successful_create(), involved=INVOLVED, at=at(120))

    assert handled.resolved == 2
    assert [u.text.split(":")[0] for u in sink.updates()] == ["Resolved", "Resolved"]


async def test_concurrent_repeats_post_once(handler: RejectionHandler, sink: RecordingSink) -> None:
    events = [handler.handle(failed_create(), involved=INVOLVED, at=T0) for _ in range(20)]

    results = await asyncio.gather(*events)

    assert len(sink.posts()) == 2
    assert sum(r.posted + r.counted + r.updated for r in results) == 40


async def test_latency_and_metrics_are_recorded(
    registry: Registry, knowledge: Knowledge, cluster: FakeCluster, sink: RecordingSink
) -> None:
    metrics = health.Metrics()
    with SQLiteNotificationGroups(":memory:") as groups:
        handler = RejectionHandler(
            registry=registry,
            knowledge=knowledge,
            notifier=Notifier(Grouper(groups), sink),
            owners=cluster,
            metrics=metrics,
        )
        await handler.handle(failed_create(), involved=INVOLVED)
        await handler.handle(failed_create(), involved=INVOLVED)

    assert len(handler.latencies) == 4
    assert 0 < handler.latencies.percentile(0.5) <= handler.latencies.percentile(0.99) < 5
    assert metrics.rejections_seen.value(source="events") == 2
    assert metrics.rejections_notified.value(outcome="posted") == 2
    assert metrics.latency.count(kind="rejection") == 4


async def test_log_records_name_object_and_policy(
    handler: RejectionHandler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="handlers.rejections")

    await handler.handle(failed_create(), involved=INVOLVED, at=T0)

    record = next(r for r in caplog.records if "posted" in r.getMessage())
    assert record.__dict__["namespace"] == "payments"
    assert record.__dict__["kind"] == "Deployment"
    assert record.__dict__["object_name"] == "checkout"
    assert record.__dict__["policy_id"] == "disallow-privilege-escalation/privilege-escalation"


async def test_backlogged_rejection_gets_its_fix_later(
    handler: RejectionHandler, sink: RecordingSink
) -> None:
    """An event that waited past the budget is posted at once, fixed on flush."""
    handler.fix_budget = 0.0

    await handler.handle(failed_create(), involved=INVOLVED, at=T0, received=0.0)

    first = json.dumps([p.blocks for p in sink.posts()])
    assert "still being worked out" in first
    assert "Exact fix" not in first

    assert await handler.flush() == 2

    fixed = json.dumps([u.blocks for u in sink.updates()])
    assert fixed.count("*Exact fix*") == 2


async def test_left_out_fixes_follow_in_the_background(
    handler: RejectionHandler, sink: RecordingSink
) -> None:
    handler.fix_budget = 0.0

    await handler.handle(failed_create(), involved=INVOLVED, at=T0, received=0.0)
    for _ in range(10):
        await asyncio.sleep(0)

    assert handler.notifier.fixes_pending == 0
    assert json.dumps([u.blocks for u in sink.updates()]).count("*Exact fix*") == 2
