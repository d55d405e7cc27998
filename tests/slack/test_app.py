"""The bolt app as Slack reaches it: signatures, acknowledgements, connection.

Requests are signed as Slack signs them and POSTed over real HTTP to the
HTTP-mode listener; bolt's own middleware verifies and dispatches them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.errors import PolicybotError
from bot.intake import teams
from bot.knowledge.catalog import bundled_policy_paths, load_catalog
from bot.policy import policies
from bot.slack import app as slack_app, messages
from handlers import checking
from tests.scenarios.slackrequests import (
    BoltOverHTTP,
    command_body,
    post,
    sign,
    texts_of,
)
from tests.slackfake import Failure, FakeSlack

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "uid": "u-1", "resourceVersion": "9"},
    "spec": {
        "template": {"spec": {"containers": [{"name": "web", "image": "nginx:latest"}]}},
    },
}


class SlowObjects:
    """Reads objects, slowly: longer than Slack waits for an acknowledgement."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    async def read_object(self, *, kind: str, namespace: str, name: str) -> Mapping[str, Any]:
        await asyncio.sleep(self.delay)
        return DEPLOYMENT


@pytest.fixture(scope="module")
def judge() -> checking.Judge:
    return checking.Judge(
        policies=policies.load_policies(bundled_policy_paths()), catalog=load_catalog()
    )


@pytest.fixture
async def bolt(slack: FakeSlack, judge: checking.Judge) -> AsyncIterator[BoltOverHTTP]:
    listeners = slack_app.Listeners(
        command="/policy", judge=judge, objects=SlowObjects(0.0), groups=None
    )
    async with BoltOverHTTP(listeners, slack) as running:
        yield running


class TestSignatures:
    async def test_signed_command_is_answered(self, bolt: BoltOverHTTP) -> None:
        """A request signed with the signing secret reaches the listener."""
        answer = await bolt.command("help")

        assert answer.status == 200
        assert answer.json["response_type"] == "ephemeral"
        assert "/policy check <kind>/<namespace>/<name>" in texts_of(answer.json)

    async def test_forged_signature_gets_401(self, bolt: BoltOverHTTP, slack: FakeSlack) -> None:
        """A body signed with another secret is refused before any listener runs."""
        body = command_body("help", response_url=bolt.hooks.url("h1"))

        answer = await post(bolt.url, body, sign(body, secret="not-the-signing-secret"))

        assert answer.status == 401
        assert slack.calls == []

    async def test_tampered_body_gets_401(self, bolt: BoltOverHTTP) -> None:
        """The signature covers the body: changing the text after signing fails."""
        body = command_body("help", response_url=bolt.hooks.url("h1"))
        headers = sign(body)

        answer = await post(bolt.url, body.replace("help", "check"), headers)

        assert answer.status == 401

    async def test_replayed_old_request_gets_401(self, bolt: BoltOverHTTP) -> None:
        """A correct signature older than five minutes is a replay."""
        body = command_body("help", response_url=bolt.hooks.url("h1"))

        answer = await post(bolt.url, body, sign(body, timestamp=int(time.time()) - 600))

        assert answer.status == 401

    async def test_unsigned_request_gets_401(self, bolt: BoltOverHTTP) -> None:
        """No signature headers at all is refused too."""
        body = command_body("help", response_url=bolt.hooks.url("h1"))

        answer = await post(bolt.url, body, {"Content-Type": "application/x-www-form-urlencoded"})

        assert answer.status == 401


class TestAcknowledgement:
    async def test_slow_check_is_acknowledged_at_once(
        self, slack: FakeSlack, judge: checking.Judge
    ) -> None:
        """The cluster read takes 4 s; Slack still gets its answer well within 3 s."""
        listeners = slack_app.Listeners(
            command="/policy", judge=judge, objects=SlowObjects(4.0), groups=None
        )
        async with BoltOverHTTP(listeners, slack) as bolt:
            answer = await bolt.command("check deployment/shop/web", hook="slow")
            acknowledged = answer.seconds
            answers = await bolt.hooks.wait_for("slow")

        assert answer.status == 200
        assert acknowledged < 1.0
        assert "Checking Deployment shop/web" in answer.json["text"]
        assert "would be refused" in texts_of(answers[0])

    async def test_command_name_is_configurable(
        self, slack: FakeSlack, judge: checking.Judge
    ) -> None:
        """A renamed command is the one registered, and the help names it."""
        listeners = slack_app.Listeners(command="/kyverno", judge=judge, objects=None, groups=None)
        async with BoltOverHTTP(listeners, slack) as bolt:
            renamed = await bolt.command("help", command="/kyverno")
            other = await bolt.command("help", command="/policy")

        assert "/kyverno check" in texts_of(renamed.json)
        assert other.status == 404


class SocketModeSlack:
    """Slack's side of Socket Mode, which the shared fake does not speak:
    `apps.connections.open` (app token), `auth.test` (bot token), and the
    WebSocket that carries envelopes in and acknowledgements out."""

    APP_TOKEN = "xapp-1-A0POLICYBOT-1-socket"
    BOT_TOKEN = "xoxb-socket-bot"

    def __init__(self) -> None:
        self.acks: list[dict[str, Any]] = []
        self.socket: web.WebSocketResponse | None = None
        self.connected = asyncio.Event()
        self.acked = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.root = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/apps.connections.open", self._open)
        app.router.add_post("/api/auth.test", self._auth_test)
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.root = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def send(self, envelope: dict[str, Any]) -> None:
        assert self.socket is not None
        await self.socket.send_json(envelope)

    async def _open(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.APP_TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        ws_url = self.root.replace("http://", "ws://") + "/link"
        return web.json_response({"ok": True, "url": ws_url})

    async def _auth_test(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.BOT_TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        body = {"ok": True, "team_id": "T0FAKETEAM", "user_id": "U0BOT", "bot_id": "B0BOT"}
        return web.json_response(body)

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.socket = socket
        await socket.send_json({"type": "hello", "num_connections": 1})
        self.connected.set()
        async for message in socket:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
                self.acked.set()
        return socket


class TestConnection:
    async def test_socket_mode_answers_over_the_websocket(self, judge: checking.Judge) -> None:
        """In Socket Mode a command arrives as an envelope and is acknowledged on it."""
        slack = SocketModeSlack()
        await slack.start()
        listeners = slack_app.Listeners(command="/policy", judge=judge, objects=None, groups=None)
        client = slack_app.make_client(slack.BOT_TOKEN, base_url=f"{slack.root}/api/")
        app = slack_app.build_app(listeners, client=client, signing_secret=None)
        connection = slack_app.SlackConnection(app, mode="socket", app_token=slack.APP_TOKEN)
        try:
            await connection.start()
            async with asyncio.timeout(10):
                await slack.connected.wait()
                await slack.send(
                    {
                        "envelope_id": "env-1",
                        "type": "slash_commands",
                        "accepts_response_payload": True,
                        "payload": {
                            "team_id": "T0FAKETEAM",
                            "user_id": "U0ASKER001",
                            "channel_id": "C0ALERTS01",
                            "command": "/policy",
                            "text": "help",
                            "response_url": f"{slack.root}/hooks/1",
                            "trigger_id": "1.2.3",
                        },
                    }
                )
                await slack.acked.wait()
        finally:
            await connection.stop()
            await slack.stop()

        (ack,) = slack.acks
        assert ack["envelope_id"] == "env-1"
        assert ack["payload"]["response_type"] == "ephemeral"
        assert "/policy check <kind>/<namespace>/<name>" in texts_of(ack["payload"])

    async def test_refused_app_token_names_the_variable(self, judge: checking.Judge) -> None:
        """A wrong app-level token fails the start with what to check."""
        slack = SocketModeSlack()
        await slack.start()
        listeners = slack_app.Listeners(command="/policy", judge=judge, objects=None, groups=None)
        client = slack_app.make_client(slack.BOT_TOKEN, base_url=f"{slack.root}/api/")
        app = slack_app.build_app(listeners, client=client, signing_secret=None)
        connection = slack_app.SlackConnection(app, mode="socket", app_token="xapp-wrong")
        try:
            with pytest.raises(
                PolicybotError, match=r"\(invalid_auth\); check that SLACK_APP_TOKEN"
            ):
                await connection.start()
        finally:
            await connection.stop()
            await slack.stop()

    def test_socket_mode_needs_the_app_token(self, judge: checking.Judge) -> None:
        """Socket Mode without SLACK_APP_TOKEN is refused with the variable's name."""
        listeners = slack_app.Listeners(command="/policy", judge=judge, objects=None, groups=None)
        app = slack_app.build_app(
            listeners, client=slack_app.make_client("xoxb-1"), signing_secret=None
        )

        with pytest.raises(PolicybotError, match="SLACK_APP_TOKEN"):
            slack_app.SlackConnection(app, mode="socket", app_token=None)

    async def test_probe_reports_auth_test(self, slack: FakeSlack) -> None:
        """Readiness asks auth.test and names the workspace and bot."""
        result = await slack_app.probe(slack.client())

        assert result.ok
        assert result.detail == "team Fake, bot user policybot"

    async def test_probe_reports_a_bad_token(self, slack: FakeSlack) -> None:
        """A revoked token makes the bot unready, with Slack's error code."""
        result = await slack_app.probe(slack.client(token="xoxb-revoked"))

        assert not result.ok
        assert result.detail == "auth.test failed: invalid_auth"

    async def test_probe_reports_slack_down(self, slack: FakeSlack) -> None:
        """A 503 from Slack is reported, not raised."""
        slack.fail_next("auth.test", Failure(status=503, error="service_unavailable"))

        result = await slack_app.probe(slack.client())

        assert not result.ok
        assert "service_unavailable" in result.detail


PLATFORM = {"name": "platform", "channel": "#platform-alerts", "oncall": "S0PLATFORM1"}
PAYMENTS = {"name": "payments", "channel": "#payments", "oncall": "@payments-oncall"}


class TestOncallGroups:
    async def test_handles_stay_when_slack_cannot_say(
        self, slack: FakeSlack, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Without usergroups.list the handles stay, and the log says what to fix."""
        data = {"default_team": "platform", "teams": [PLATFORM, PAYMENTS]}
        registry = teams.Registry.from_data(data)

        with caplog.at_level(logging.WARNING, logger="bot.slack.app"):
            resolved = await slack_app.resolve_oncall_groups(slack.client(), registry)

        assert resolved is registry
        assert "usergroups:read" in caplog.text
        assert "@payments-oncall" in caplog.text

    async def test_ids_need_no_lookup(self, slack: FakeSlack) -> None:
        """A registry of group IDs costs no Slack call."""
        data = {"default_team": "platform", "teams": [PLATFORM]}
        registry = teams.Registry.from_data(data)

        resolved = await slack_app.resolve_oncall_groups(slack.client(), registry)

        assert resolved is registry
        assert slack.calls == []

    async def test_handles_become_group_ids(self) -> None:
        """Known handles are replaced by IDs; unknown ones stay, with a warning."""
        groups = [{"id": "S0PAYMENTS1", "handle": "payments-oncall"}]
        server = await serve_usergroups_list(groups)
        data = {
            "default_team": "platform",
            "teams": [PLATFORM, PAYMENTS, {"name": "web", "channel": "#web", "oncall": "@nobody"}],
        }
        try:
            resolved = await slack_app.resolve_oncall_groups(
                slack_app.make_client("xoxb-1", base_url=f"{server.root}/api/"),
                teams.Registry.from_data(data),
            )
        finally:
            await server.runner.cleanup()

        assert [team.oncall for team in resolved] == ["S0PLATFORM1", "S0PAYMENTS1", "@nobody"]
        assert resolved.default.name == "platform"
        assert messages.mention("S0PAYMENTS1") == "<!subteam^S0PAYMENTS1>"


@dataclass
class Served:
    runner: web.AppRunner
    root: str


async def serve_usergroups_list(groups: list[dict[str, str]]) -> Served:
    """`usergroups.list` as Slack answers it; the shared fake has no such method."""

    async def usergroups_list(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "usergroups": groups})

    app = web.Application()
    app.router.add_route("*", "/api/usergroups.list", usergroups_list)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return Served(runner, f"http://{host}:{port}")
