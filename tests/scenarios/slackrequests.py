"""Requests as Slack sends them, and a catcher for what the bot sends back.

Inbound: slash commands, button clicks and modal submissions are encoded
and signed the way Slack does it (form-encoded bodies, `v0` HMAC-SHA256 over
`v0:<timestamp>:<body>` with the signing secret), then POSTed over real HTTP
to the bot's HTTP-mode listener, so bolt's own verification and dispatch
handle them. See https://docs.slack.dev/authentication/verifying-requests-from-slack

Outbound: answers to a `response_url` go to `ResponseUrls`, a small aiohttp
server on 127.0.0.1 that records each POST, as Slack's hooks endpoint would
accept it. Web API calls go to `tests.slackfake.FakeSlack`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T0FAKETEAM"
USER = "U0ASKER001"
CHANNEL = "C0ALERTS01"
PATIENCE = 10.0

_ids = itertools.count(1)


def sign(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """The headers Slack puts on a request with this body."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{stamp}:{body}".encode()
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
    }


def command_body(
    text: str,
    *,
    response_url: str,
    command: str = "/policy",
    user: str = USER,
    channel: str = CHANNEL,
) -> str:
    """A slash command's form body; Slack escapes &, < and > in the text."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    fields = {
        "token": "deprecated-verification-token",
        "team_id": TEAM,
        "team_domain": "fake",
        "channel_id": channel,
        "channel_name": "platform-alerts",
        "user_id": user,
        "user_name": "asker",
        "command": command,
        "text": escaped,
        "api_app_id": "A0POLICYBOT",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{next(_ids)}.1234.abcdef",
    }
    return urllib.parse.urlencode(fields)


def interaction_body(payload: Mapping[str, Any]) -> str:
    """Buttons and modals: one form field, `payload`, holding JSON."""
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def button_payload(
    action_id: str,
    value: str,
    *,
    response_url: str,
    channel: str = CHANNEL,
    message_ts: str = "1700000000.000100",
    user: str = USER,
) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "fake"},
        "user": {"id": user, "username": "asker", "team_id": TEAM},
        "api_app_id": "A0POLICYBOT",
        "token": "deprecated-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": f"{next(_ids)}.1234.abcdef",
        "channel": {"id": channel, "name": "platform-alerts"},
        "message": {"type": "message", "ts": message_ts, "text": "a rejection"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": f"rejection:{value}",
                "value": value,
                "action_ts": "1700000001.000200",
            }
        ],
    }


def submission_payload(
    *, callback_id: str, values: Mapping[str, Any], private_metadata: str, user: str = USER
) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "fake"},
        "user": {"id": user, "username": "asker", "team_id": TEAM},
        "api_app_id": "A0POLICYBOT",
        "token": "deprecated-verification-token",
        "trigger_id": f"{next(_ids)}.1234.abcdef",
        "view": {
            "id": "V0MODAL001",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": values},
            "hash": "1700000000.abcdef",
        },
    }


@dataclass
class Answer:
    """What `post` got back: HTTP status, and the body as JSON when it is."""

    status: int
    text: str
    seconds: float

    @property
    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


async def post(url: str, body: str, headers: Mapping[str, str]) -> Answer:
    """Send a request to the bot as Slack would, timing its answer."""
    started = time.monotonic()
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body.encode(), headers=dict(headers)) as response,
    ):
        return Answer(response.status, await response.text(), time.monotonic() - started)


@dataclass
class ResponseUrls:
    """Stands in for Slack's `response_url` endpoint: records every POST."""

    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    status: int = 200
    _runner: web.AppRunner | None = None
    _root: str = ""
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/commands/{hook}", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._root = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, hook: str) -> str:
        return f"{self._root}/commands/{hook}"

    async def wait_for(self, hook: str, count: int = 1) -> list[dict[str, Any]]:
        """The first `count` answers to `hook`, waiting for them to arrive."""
        async with asyncio.timeout(PATIENCE):
            while len(self.received.get(hook, [])) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.received[hook]

    async def _serve(self, request: web.Request) -> web.Response:
        hook = request.match_info["hook"]
        self.received.setdefault(hook, []).append(await request.json())
        self._arrived.set()
        if self.status != 200:
            return web.Response(status=self.status, text="expired_url")
        return web.Response(text="ok")


async def response_urls() -> AsyncIterator[ResponseUrls]:
    """Fixture body: a started catcher, stopped afterwards."""
    catcher = ResponseUrls()
    await catcher.start()
    yield catcher
    await catcher.stop()


def texts_of(answer: Mapping[str, Any]) -> str:
    """Every text of a message (fallback and blocks), for assertions."""
    parts = [str(answer.get("text") or "")]
    for block in answer.get("blocks") or ():
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(str(text.get("text", "")))
        for element in block.get("elements") or ():
            if isinstance(element, dict) and "text" in element:
                inner = element["text"]
                parts.append(str(inner.get("text", "") if isinstance(inner, dict) else inner))
        for item in block.get("fields") or ():
            parts.append(str(item.get("text", "")))
    return "\n".join(parts)


class BoltOverHTTP:
    """The bot's bolt app in HTTP mode on 127.0.0.1, and Slack's side of it.

    Use as `async with BoltOverHTTP(listeners, slack) as bolt:`; then
    `bolt.command("check ...", hook="h1")` sends a signed slash command.
    """

    def __init__(self, listeners: Any, slack: Any, *, secret: str = SIGNING_SECRET) -> None:
        from bot.slack import app as slack_app

        self.client = slack.client()
        self.app = slack_app.build_app(listeners, client=self.client, signing_secret=secret)
        self.connection = slack_app.SlackConnection(self.app, mode="http", host="127.0.0.1", port=0)
        self.hooks = ResponseUrls()
        self.url = ""

    async def __aenter__(self) -> BoltOverHTTP:
        await self.hooks.start()
        await self.connection.start()
        host, port = self.connection.addresses[0][:2]
        self.url = f"http://{host}:{port}/slack/events"
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.connection.stop()
        await self.hooks.stop()

    async def command(self, text: str, *, hook: str = "h1", **fields: Any) -> Answer:
        body = command_body(text, response_url=self.hooks.url(hook), **fields)
        return await post(self.url, body, sign(body))

    async def click(self, action_id: str, value: str, *, hook: str = "h1", **fields: Any) -> Answer:
        payload = button_payload(action_id, value, response_url=self.hooks.url(hook), **fields)
        body = interaction_body(payload)
        return await post(self.url, body, sign(body))

    async def submit(self, payload: Mapping[str, Any]) -> Answer:
        body = interaction_body(payload)
        return await post(self.url, body, sign(body))
