"""How an answer reaches the person who asked, over Slack's transports.

A command or a button answers through its request's `response_url`, only to
the asker. A modal submission has none of its own, so the command's
`response_url` and channel travel in the modal's private metadata
(`carry_metadata` writes them, `carried_metadata` reads them back); when the
URL has expired the answer falls back to an ephemeral message in the channel,
then to a DM. A Re-check answers in the clicked message's thread, or the
clicker alone when the thread refuses it.

What to say comes from `bot.slack.command_texts`; `bot.slack.app` decides
which of these an answer takes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack import blocks, command_texts as texts

logger = logging.getLogger(__name__)

Log = logging.LoggerAdapter[logging.Logger]
"""A request's logger, whose records say who asked what."""


def slack_error(error: SlackApiError) -> str:
    """Slack's error code, or the HTTP status when the body is not Slack's JSON."""
    data = error.response.data
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"HTTP {error.response.status_code}"


def carry_metadata(command: Mapping[str, Any]) -> dict[str, str]:
    """What a modal opened by `command` must carry for its answer to arrive."""
    return {
        "channel": str(command.get("channel_id") or ""),
        "response_url": str(command.get("response_url") or ""),
    }


def carried_metadata(view: Mapping[str, Any]) -> dict[str, str]:
    try:
        data = json.loads(str(view.get("private_metadata") or "{}"))
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def ephemeral(reply: texts.Reply) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": reply.text, "blocks": reply.blocks}


async def send(respond: AsyncRespond, reply: texts.Reply) -> None:
    """Answer through the request's response_url, only to the asker."""
    layout = blocks.lay_out(reply.text, reply.blocks, snippets=False)
    for message in layout.messages:
        response = await respond(
            text=message.text,
            blocks=message.blocks,
            response_type="ephemeral",
            replace_original=False,
        )
        if response.status_code != 200:
            logger.warning(
                "Slack refused an ephemeral answer (HTTP %d: %s); the asker sees none.",
                response.status_code,
                str(response.body)[:200],
            )
            return


async def answer_privately(
    client: AsyncWebClient,
    reply: texts.Reply,
    *,
    metadata: Mapping[str, str],
    user: str,
    log: Log,
) -> None:
    """Answer a modal submission: through the command's response_url while it
    is valid (30 minutes), else ephemerally in the channel, else in a DM."""
    layout = blocks.lay_out(reply.text, reply.blocks, snippets=False)
    url = metadata.get("response_url", "")
    if url:
        webhook = AsyncWebhookClient(url=url)
        try:
            for message in layout.messages:
                sent = await webhook.send(
                    text=message.text,
                    blocks=message.blocks,
                    response_type="ephemeral",
                    replace_original=False,
                )
                if sent.status_code != 200:
                    raise ValueError(f"HTTP {sent.status_code}: {str(sent.body)[:100]}")
        except (aiohttp.ClientError, ValueError) as error:
            log.info("The response_url no longer works (%s); answering another way.", error)
        else:
            return

    # The fallbacks: ephemeral in the command's channel, then the app's DM.
    channel = metadata.get("channel", "")
    targets = [channel, user] if channel else [user]
    for message in layout.messages:
        while targets:
            try:
                if targets[0] == user:
                    await client.chat_postMessage(
                        channel=user, text=message.text, blocks=message.blocks
                    )
                else:
                    await client.chat_postEphemeral(
                        channel=targets[0], user=user, text=message.text, blocks=message.blocks
                    )
                break
            except (SlackApiError, aiohttp.ClientError) as error:
                reason = slack_error(error) if isinstance(error, SlackApiError) else repr(error)
                log.warning("Could not answer %s in %s (%s).", user, targets[0], reason)
                targets.pop(0)
        if not targets:
            log.error(
                "The answer to %s's pasted manifest was lost: Slack refused every way to "
                "reach them; check the bot's chat:write scope.",
                user,
            )
            return


async def reply_in_thread(
    client: AsyncWebClient,
    body: Mapping[str, Any],
    reply: texts.Reply,
    *,
    respond: AsyncRespond,
    log: Log,
) -> None:
    """Post under the clicked message, so its team sees the answer; if that is
    refused (an archived channel), answer the clicker alone."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    thread = container.get("message_ts") or (body.get("message") or {}).get("ts")
    if not channel or not thread:
        await send(respond, reply)
        return
    layout = blocks.lay_out(reply.text, reply.blocks, snippets=False)
    try:
        for message in layout.messages:
            await client.chat_postMessage(
                channel=channel, thread_ts=thread, text=message.text, blocks=message.blocks
            )
    except SlackApiError as error:
        log.warning(
            "Could not reply in the thread of %s in %s (%s); answering the clicker only.",
            thread,
            channel,
            slack_error(error),
        )
        await send(respond, reply)
