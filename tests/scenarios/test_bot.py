"""The whole bot, from a rejection Event in the cluster to the team's channel.

`bot.app.Bot` runs as `policybot run` would, with every layer real: the
official Kubernetes client against the API server emulator (Events with
watches, workloads to read), the SQLite store in a temporary folder, the
outbox and bolt against the fake Slack Web API, HTTP mode for Slack's
requests (signed as Slack signs them), and the health server.
"""

from __future__ import annotations

import asyncio
import copy
import os
import signal
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import app, config
from bot.slack import messages
from tests.kube.conftest import write_kubeconfig
from tests.scenarios.cluster import ClusterServer
from tests.scenarios.slackrequests import (
    SIGNING_SECRET,
    ResponseUrls,
    button_payload,
    command_body,
    interaction_body,
    post,
    sign,
    texts_of,
)
from tests.slackfake import TOKEN, FakeSlack

PAYMENTS = "C0PAYMENTS"
PLATFORM = "C0PLATFORM"
PATIENCE = 15.0

NAMESPACE = {
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {"name": "shop", "labels": {"team": "payments"}},
}
DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "web",
        "namespace": "shop",
        "uid": "uid-web",
        "resourceVersion": "101",
        "generation": 3,
        "labels": {"app.kubernetes.io/name": "web", "team": "payments"},
        "annotations": {"deployment.kubernetes.io/revision": "3"},
    },
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {
                "labels": {"app": "web", "app.kubernetes.io/name": "web", "team": "payments"}
            },
            "spec": {
                "securityContext": {"runAsNonRoot": True},
                "containers": [
                    {
                        "name": "web",
                        "image": "nginx:latest",
                        "securityContext": {"allowPrivilegeEscalation": False},
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "64Mi"},
                            "limits": {"memory": "64Mi"},
                        },
                    }
                ],
            },
        },
    },
    "status": {"replicas": 0, "unavailableReplicas": 2},
}
REPLICASET = {
    "apiVersion": "apps/v1",
    "kind": "ReplicaSet",
    "metadata": {
        "name": "web-7d9",
        "namespace": "shop",
        "uid": "uid-web-7d9",
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": "web",
                "uid": "uid-web",
                "controller": True,
            }
        ],
    },
    "spec": copy.deepcopy(DEPLOYMENT["spec"]),
}
REJECTION = {
    "apiVersion": "v1",
    "kind": "Event",
    "metadata": {"name": "web-7d9.17a1", "namespace": "shop"},
    "involvedObject": {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "web-7d9",
        "namespace": "shop",
    },
    "reason": "FailedCreate",
    "type": "Warning",
    "count": 1,
    "message": (
        'Error creating: admission webhook "validate.kyverno.svc-fail" denied the request: '
        "\n\npolicy Pod/shop/web-7d9-x2k4p for resource violation: \n\n"
        "disallow-latest-tag:\n"
        '  forbid-latest-tag: \'validation error: The image tag "latest" is not allowed. '
        "Pin a version tag or a digest. rule forbid-latest-tag failed at path "
        "/spec/containers/0/image/'\n"
    ),
}


@pytest.fixture
async def cluster() -> AsyncIterator[ClusterServer]:
    server = ClusterServer()
    for obj in (NAMESPACE, DEPLOYMENT, REPLICASET):
        server.put(obj)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_channel("platform-alerts", id=PLATFORM)
        fake.add_channel("payments-alerts", id=PAYMENTS)
        yield fake


@pytest.fixture
async def hooks() -> AsyncIterator[ResponseUrls]:
    catcher = ResponseUrls()
    await catcher.start()
    yield catcher
    await catcher.stop()


@pytest.fixture
async def bot(cluster: ClusterServer, slack: FakeSlack, tmp_path: Path) -> AsyncIterator[app.Bot]:
    settings = config.from_data(
        {
            "teams": {
                "default_team": "platform",
                "teams": [
                    {"name": "platform", "channel": "#platform-alerts"},
                    {"name": "payments", "channel": "#payments-alerts"},
                ],
            },
            "grouping": {"update_interval": "1s"},
            "watch": {"namespaces": ["shop"]},
            "slack": {
                "mode": "http",
                "http": {"listen": "127.0.0.1:0"},
                "api_url": slack.base_url,
            },
            "store": {"path": str(tmp_path / "policybot.db")},
            "health": {"listen": "127.0.0.1:0"},
        },
        source="scenario.yaml",
    )
    secrets = config.Secrets(bot_token=TOKEN, signing_secret=SIGNING_SECRET)
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", cluster.url)
    running = app.Bot(settings, secrets, kubeconfig=str(kubeconfig))
    await running.start()
    yield running
    await running.stop()


def slack_url(bot: app.Bot) -> str:
    assert bot.slack is not None
    host, port = bot.slack.addresses[0][:2]
    return f"http://{host}:{port}/slack/events"


def health_url(bot: app.Bot) -> str:
    assert bot.health_runner is not None
    host, port = bot.health_runner.addresses[0][:2]
    return f"http://{host}:{port}"


async def until(condition: Callable[[], bool]) -> None:
    """Poll `condition`: the fakes record calls but signal nothing."""
    async with asyncio.timeout(PATIENCE):
        while not condition():  # noqa: ASYNC110 (nothing to wait on but the records)
            await asyncio.sleep(0.02)


def posts_in(slack: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [m for m in slack.messages(channel) if "thread_ts" not in m]


class TestRejectionToSlack:
    async def test_rejection_posts_one_message_with_the_fix(
        self, bot: app.Bot, cluster: ClusterServer, slack: FakeSlack
    ) -> None:
        """An Event in the cluster becomes one message in the owning team's channel."""
        cluster.add(REJECTION)

        await until(lambda: len(posts_in(slack, PAYMENTS)) == 1)
        await asyncio.sleep(0.3)  # nothing more may follow

        (message,) = posts_in(slack, PAYMENTS)
        text = texts_of(message)
        assert slack.messages(PLATFORM) == []
        assert message["text"].startswith("Blocked: Deployment shop/web violates")
        assert "payments (namespace shop label team=payments)" in text
        assert "*Suggested fix*" in text
        assert (
            "-          image: nginx:latest\n+          image: nginx:&lt;pin a version&gt;" in text
        )
        assert "resourceVersion" not in text
        buttons = [
            e["action_id"]
            for b in message["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
        ]
        assert buttons[:2] == [messages.RECHECK_ACTION, messages.EXPLAIN_ACTION]

    async def test_repeat_updates_the_same_message(
        self, bot: app.Bot, cluster: ClusterServer, slack: FakeSlack
    ) -> None:
        """The controller's retry bumps the Event's count; the message is edited."""
        event = cluster.add(REJECTION)
        await until(lambda: len(posts_in(slack, PAYMENTS)) == 1)
        await asyncio.sleep(1.1)  # past update_interval

        cluster.modify("shop", event["metadata"]["name"], count=2)
        await until(lambda: bool(slack.calls_to("chat.update")))

        (message,) = posts_in(slack, PAYMENTS)
        (update,) = slack.calls_to("chat.update")
        assert update.ok
        assert update.args["ts"] == message["ts"]
        assert "Seen 2 times" in texts_of(message)
        assert len(slack.calls_to("chat.postMessage")) == 1

    async def test_health_is_ready(self, bot: app.Bot) -> None:
        """With the store, Slack and the cluster answering, /readyz says ready."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{health_url(bot)}/readyz") as response,
        ):
            status, body = response.status, await response.json()

        assert status == 200
        assert body["status"] == "ready"
        assert set(body["checks"]) == {"started", "store", "slack", "cluster"}

    async def test_metrics_count_the_rejection(
        self, bot: app.Bot, cluster: ClusterServer, slack: FakeSlack
    ) -> None:
        """/metrics shows the rejection seen, notified, and the post sent."""
        cluster.add(REJECTION)
        await until(lambda: len(posts_in(slack, PAYMENTS)) == 1)
        await until(lambda: bot.metrics.outbox_sent.value() >= 1)

        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{health_url(bot)}/metrics") as response,
        ):
            lines = (await response.text()).splitlines()

        assert 'policybot_rejections_seen_total{source="events"} 1' in lines
        assert 'policybot_rejections_notified_total{outcome="posted"} 1' in lines
        assert "policybot_outbox_sent_total 1" in lines
        assert "policybot_outbox_pending 0" in lines


class TestSlackRequests:
    async def test_check_command_answers_only_the_asker(
        self, bot: app.Bot, cluster: ClusterServer, slack: FakeSlack, hooks: ResponseUrls
    ) -> None:
        """`/policy check` reads the live Deployment and answers ephemerally."""
        body = command_body("check deployment/shop/web", response_url=hooks.url("ask"))

        ack = await post(slack_url(bot), body, sign(body))
        (answer,) = await hooks.wait_for("ask")

        assert ack.status == 200
        assert ack.json["response_type"] == "ephemeral"
        assert answer["response_type"] == "ephemeral"
        assert "*Deployment shop/web* would be refused" in texts_of(answer)
        assert "+          image: nginx:" in texts_of(answer)
        assert "/apis/apps/v1/namespaces/shop/deployments/web" in cluster.reads
        assert slack.calls_to("chat.postMessage") == []

    async def test_recheck_button_replies_in_the_thread(
        self, bot: app.Bot, cluster: ClusterServer, slack: FakeSlack, hooks: ResponseUrls
    ) -> None:
        """Re-check on the posted message reads the workload and answers under it."""
        cluster.add(REJECTION)
        await until(lambda: len(posts_in(slack, PAYMENTS)) == 1)
        (message,) = posts_in(slack, PAYMENTS)
        (value,) = {
            e["value"]
            for b in message["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == messages.RECHECK_ACTION
        }
        payload = button_payload(
            messages.RECHECK_ACTION,
            value,
            response_url=hooks.url("click"),
            channel=PAYMENTS,
            message_ts=message["ts"],
        )
        body = interaction_body(payload)

        ack = await post(slack_url(bot), body, sign(body))
        await until(lambda: len(slack.messages(PAYMENTS)) == 2)

        reply = slack.messages(PAYMENTS)[-1]
        assert ack.status == 200
        assert reply["thread_ts"] == message["ts"]
        assert "it still violates `disallow-latest-tag/forbid-latest-tag`" in texts_of(reply)

    async def test_forged_signature_is_rejected(
        self, bot: app.Bot, slack: FakeSlack, hooks: ResponseUrls
    ) -> None:
        """A request not signed with the signing secret gets 401 and does nothing."""
        body = command_body("check deployment/shop/web", response_url=hooks.url("forged"))

        answer = await post(slack_url(bot), body, sign(body, secret="a-guess"))
        await asyncio.sleep(0.2)

        assert answer.status == 401
        assert hooks.received == {}
        assert [c.method for c in slack.calls if c.method != "auth.test"] == []


class TestShutdown:
    async def test_stop_shows_unshown_counts_then_closes(
        self, cluster: ClusterServer, slack: FakeSlack, bot: app.Bot
    ) -> None:
        """A repeat counted but not yet shown is delivered before the bot stops."""
        event = cluster.add(REJECTION)
        await until(lambda: len(posts_in(slack, PAYMENTS)) == 1)
        cluster.modify("shop", event["metadata"]["name"], count=3)
        await until(lambda: bot.metrics.rejections_seen.value(source="events") == 2)
        health = health_url(bot)

        await bot.stop()

        (update,) = slack.calls_to("chat.update")
        assert update.ok
        assert "Seen 2 times" in texts_of(posts_in(slack, PAYMENTS)[0])
        assert bot.slack is not None
        assert bot.slack.addresses == []
        with pytest.raises(aiohttp.ClientConnectionError):
            async with aiohttp.ClientSession() as session:
                await session.get(f"{health}/healthz")

    async def test_sigterm_stops_run_cleanly(
        self, cluster: ClusterServer, slack: FakeSlack, tmp_path: Path
    ) -> None:
        """`policybot run` returns 0 on SIGTERM, and gives the signal back."""
        port = free_port()
        settings = config.from_data(
            {
                "teams": {
                    "default_team": "platform",
                    "teams": [{"name": "platform", "channel": "#platform-alerts"}],
                },
                "watch": {"namespaces": ["shop"]},
                "slack": {
                    "mode": "http",
                    "http": {"listen": "127.0.0.1:0"},
                    "api_url": slack.base_url,
                },
                "store": {"path": str(tmp_path / "policybot.db")},
                "health": {"listen": f"127.0.0.1:{port}"},
            }
        )
        secrets = config.Secrets(bot_token=TOKEN, signing_secret=SIGNING_SECRET)
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", cluster.url)
        running = asyncio.create_task(app.run(settings, secrets, kubeconfig=str(kubeconfig)))
        await until_answers(f"http://127.0.0.1:{port}/healthz")

        os.kill(os.getpid(), signal.SIGTERM)
        async with asyncio.timeout(PATIENCE):
            code = await running

        assert code == 0
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def until_answers(url: str) -> None:
    async with asyncio.timeout(PATIENCE):
        while True:
            try:
                async with aiohttp.ClientSession() as session, session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
