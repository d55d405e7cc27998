"""Delivering: one attempt at one stored item, and what its answer means.

`bot.slack.outbox` decides when to make a pass and which lanes to walk; this
module makes the calls. For each item it checks the item may go (its backoff
is over, the message it depends on has a ts, the method is within its rate
limit), looks a maybe-sent post up in the channel's history first, calls
Slack, and records the answer. A refusal is sorted by what to do next: wait
out a 429, retry a 5xx or a network error with backoff, halt on a bad token,
join the channel once, resend refused blocks as plain text, or give up and
record why.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import blocks, ratelimits
from bot.store.outbox import ItemKind, ItemState, OutboxItem, OutboxStore

logger = logging.getLogger(__name__)

METADATA_EVENT = "policybot_outbox"

# Errors that mean the token itself is bad: nothing else will work either.
AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)
# Errors Slack itself calls temporary; the call may or may not have happened.
RETRYABLE_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# Errors about the blocks: the message is sent again as plain text.
BLOCK_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long"})
NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError, SlackRequestError)

# What an operator can do about a refusal, added to the recorded failure.
HINTS = {
    "channel_not_found": "no such channel, or a private one without the bot: check the "
    "team's channel, or /invite the bot",
    "is_archived": "the channel is archived: point the team at a live channel",
    "user_not_in_channel": "the user is not in the channel",
    "message_not_found": "the message was deleted",
}


# How far around an attempt to search the history for its message.
CLOCK_SKEW_SECONDS = 300.0
SETTLE_PAGES = 5

METHODS = {
    ItemKind.POST: "chat.postMessage",
    ItemKind.UPDATE: "chat.update",
    ItemKind.EPHEMERAL: "chat.postEphemeral",
    ItemKind.UPLOAD: "files.completeUploadExternal",
}


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    WAITING = "waiting"  # the lane must wait: keep its order
    FAILED = "failed"  # given up; the lane goes on


class Courier:
    """Delivers stored items one at a time, and keeps what it learns meanwhile.

    What it keeps lives in memory only: each item's backoff, the items that
    already tried to join their channel or fell back to plain text, and why
    delivery halted, if it did. `due` is told whenever something becomes
    deliverable later, so the outbox knows how long it may sleep.
    """

    def __init__(
        self,
        store: OutboxStore,
        *,
        limits: ratelimits.RateLimits,
        due: Callable[[float], None],
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        jitter: Callable[[], float],
        max_attempts: int,
        backoff_base: float,
        backoff_cap: float,
        settle: bool,
    ) -> None:
        self._store = store
        self._limits = limits
        self._due = due
        self._clock = clock
        self._wall_clock = wall_clock
        self._jitter = jitter
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._settle_enabled = settle

        self._not_before: dict[int, float] = {}
        self._joining_tried: set[int] = set()
        self._plain: set[int] = set()
        # Why delivery stopped for good (a refused token), or None.
        self.halted: str | None = None

    async def deliver_lane(self, client: AsyncWebClient, items: list[OutboxItem]) -> int:
        """Deliver a lane's items in order, up to the first that must wait."""
        delivered = 0
        for stale in items:
            # An enqueue may have superseded it since the pass began.
            if self.halted is not None:
                break
            item = self._store.get_outbox_item(stale.id)
            if item is None or item.state not in (ItemState.PENDING, ItemState.SENDING):
                continue
            outcome = await self._deliver_item(client, item)
            if outcome is Outcome.WAITING:
                break
            if outcome is Outcome.DELIVERED:
                delivered += 1
        return delivered

    async def _deliver_item(self, client: AsyncWebClient, item: OutboxItem) -> Outcome:
        # Not before its backoff has passed.
        now = self._clock()
        not_before = self._not_before.get(item.id, now)
        if not_before > now:
            self._due(not_before)
            return Outcome.WAITING

        # A thread reply, a file in a thread or an update needs a ts first.
        depends_on = item.key if item.kind is ItemKind.UPDATE else item.thread_key
        target_ts: str | None = None
        if depends_on is not None:
            target = self._store.get_outbox_message(depends_on)
            if target is None or target.failure:
                why = target.failure if target else "it is unknown"
                return self._give_up(item, f"its message {depends_on!r} failed: {why}")
            if target.ts is None:
                return Outcome.WAITING
            target_ts = target.ts

        # Within Slack's limits for the method and the channel.
        wait = max(self._limits.wait_time(m, item.channel) for m in _methods_of(item))
        if wait > 0:
            self._due(now + wait)
            return Outcome.WAITING

        # Maybe sent already: look before sending again.
        if item.state is ItemState.SENDING and item.kind is ItemKind.POST and self._settle_enabled:
            thread_ts = target_ts if item.thread_key else None
            settled = await self._settle(client, item, thread_ts=thread_ts)
            if settled is not None:
                return settled

        # Mark it before the call, and record the answer right after it.
        self._store.start_outbox_item(item.id, at=self._wall_clock())
        try:
            ts = await self._call(client, item, target_ts=target_ts)
        except SlackApiError as e:
            return await self._handle_refusal(client, item, e)
        except NETWORK_ERRORS as e:
            return self._retry_later(item, _describe(e), maybe_sent=True)
        self._store.finish_outbox_item(item.id, ts=ts, at=self._wall_clock())
        self._not_before.pop(item.id, None)
        logger.debug("Delivered Slack item %d (%s) to %s.", item.id, item.kind, item.channel)
        return Outcome.DELIVERED

    async def _call(
        self, client: AsyncWebClient, item: OutboxItem, *, target_ts: str | None
    ) -> str | None:
        payload = item.payload
        text: str = payload.get("text", "")
        content: list[dict[str, Any]] | None = payload.get("blocks")
        if content and item.id in self._plain:
            text, content = blocks.flatten(content), None
        for method in _methods_of(item):
            self._limits.note_call(method, item.channel)

        if item.kind is ItemKind.POST:
            response = await client.chat_postMessage(
                channel=item.channel,
                text=text,
                blocks=content,
                thread_ts=target_ts if item.thread_key else None,
                metadata={"event_type": METADATA_EVENT, "event_payload": {"item": self._tag(item)}},
                unfurl_links=False,
                unfurl_media=False,
            )
            return str(response["ts"])
        if item.kind is ItemKind.UPDATE:
            assert target_ts is not None
            # NB: blocks=[] clears old blocks; leaving them out would keep them.
            response = await client.chat_update(
                channel=item.channel, ts=target_ts, text=text, blocks=content or []
            )
            return str(response.get("ts") or target_ts)
        if item.kind is ItemKind.EPHEMERAL:
            response = await client.chat_postEphemeral(
                channel=item.channel, user=payload["user"], text=text, blocks=content
            )
            return str(response.get("message_ts") or "") or None
        await client.files_upload_v2(
            channel=item.channel,
            filename=payload["filename"],
            content=payload["content"],
            title=payload["title"],
            initial_comment=payload["initial_comment"] or None,
            thread_ts=target_ts if item.thread_key else None,
        )
        return None

    async def _handle_refusal(
        self, client: AsyncWebClient, item: OutboxItem, e: SlackApiError
    ) -> Outcome:
        response = e.response
        error = _error_code(response)
        status = _status(response)
        method = str(getattr(response, "api_url", "") or getattr(response, "url", "")).rsplit("/")[
            -1
        ]

        # Too fast: wait as told; this call certainly did not happen.
        if status == 429 or error == "ratelimited":
            retry_after = _retry_after(response.headers)
            self._limits.note_retry_after(method, _scope(method, item.channel), retry_after)
            self._store.release_outbox_item(item.id, error=error, maybe_sent=False)
            self._due(self._clock() + retry_after)
            return Outcome.WAITING

        # A bad token stops everything, loudly, and loses nothing.
        if error in AUTH_ERRORS:
            self._store.release_outbox_item(item.id, error=error, maybe_sent=False)
            self._halt(error, method)
            return Outcome.WAITING

        # Slack's trouble, not ours: back off and try again.
        if status >= 500 or error in RETRYABLE_ERRORS:
            return self._retry_later(item, error, maybe_sent=True)

        # Not a member: join once, then try again.
        if error == "not_in_channel" and item.id not in self._joining_tried:
            self._joining_tried.add(item.id)
            self._store.release_outbox_item(item.id, error=error, maybe_sent=False)
            problem = await self._join(client, item.channel)
            if problem:
                return self._give_up(item, problem)
            return await self._deliver_again(client, item)

        # Blocks Slack would not take: keep the words, drop the layout.
        if error in BLOCK_ERRORS and item.payload.get("blocks") and item.id not in self._plain:
            self._plain.add(item.id)
            details = "; ".join(str(d) for d in _field(response, "errors") or [])[:300]
            logger.warning(
                "Slack refused the blocks of item %d (%s%s); sending it as plain text.",
                item.id,
                error,
                f": {details}" if details else "",
            )
            self._store.release_outbox_item(item.id, error=error, maybe_sent=False)
            return await self._deliver_again(client, item)

        needed = _field(response, "needed") if error == "missing_scope" else None
        hint = f"add the scope {needed} to the app and reinstall it" if needed else HINTS.get(error)
        return self._give_up(item, f"{error}: {hint}" if hint else error)

    async def _deliver_again(self, client: AsyncWebClient, item: OutboxItem) -> Outcome:
        fresh = self._store.get_outbox_item(item.id)
        return Outcome.FAILED if fresh is None else await self._deliver_item(client, fresh)

    async def _join(self, client: AsyncWebClient, channel: str) -> str:
        """Join `channel`; return why that failed, or "" once joined."""
        self._limits.note_call("conversations.join", None)
        try:
            await client.conversations_join(channel=channel)
        except SlackApiError as e:
            code = _error_code(e.response)
            return (
                f"not_in_channel: the bot is not in {channel} and cannot join it ({code}); "
                f"invite it to the channel with /invite"
            )
        except NETWORK_ERRORS as e:
            return f"not_in_channel: joining {channel} failed ({_describe(e)})"
        logger.info("Joined %s to deliver a message there.", channel)
        return ""

    async def _settle(
        self, client: AsyncWebClient, item: OutboxItem, *, thread_ts: str | None
    ) -> Outcome | None:
        """Find a maybe-sent post by its tag; None means send it (again)."""
        method = "conversations.replies" if thread_ts else "conversations.history"
        wait = self._limits.wait_time(method, item.channel)
        if wait > 0:
            self._due(self._clock() + wait)
            return Outcome.WAITING

        # The window covers the attempt, the call's timeout and clock skew.
        attempted = item.attempted_at or item.created_at
        timeout = float(client.timeout)
        oldest = f"{attempted - CLOCK_SKEW_SECONDS:.6f}"
        latest = f"{attempted + timeout + CLOCK_SKEW_SECONDS:.6f}"
        tag = self._tag(item)
        cursor: str | None = None
        try:
            for _ in range(SETTLE_PAGES):
                self._limits.note_call(method, item.channel)
                if thread_ts:
                    response = await client.conversations_replies(
                        channel=item.channel,
                        ts=thread_ts,
                        oldest=oldest,
                        latest=latest,
                        include_all_metadata=True,
                        limit=200,
                        cursor=cursor,
                    )
                else:
                    response = await client.conversations_history(
                        channel=item.channel,
                        oldest=oldest,
                        latest=latest,
                        include_all_metadata=True,
                        limit=200,
                        cursor=cursor,
                    )
                ts = _find_tagged(response.get("messages") or [], tag)
                if ts is not None:
                    self._store.finish_outbox_item(item.id, ts=ts, at=self._wall_clock())
                    logger.info(
                        "Slack item %d had been posted before (ts %s); kept it.", item.id, ts
                    )
                    return Outcome.DELIVERED
                cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
                if cursor is None:
                    break
        except SlackApiError as e:
            error = _error_code(e.response)
            if _status(e.response) == 429 or error == "ratelimited":
                retry_after = _retry_after(e.response.headers)
                self._limits.note_retry_after(method, item.channel, retry_after)
                self._due(self._clock() + retry_after)
                return Outcome.WAITING
            if error in AUTH_ERRORS:
                self._halt(error, method)
                return Outcome.WAITING
            logger.warning(
                "Cannot tell whether Slack item %d reached %s (%s on %s); sending it again, "
                "so it may appear twice. Grant the app the history scopes to prevent this.",
                item.id,
                item.channel,
                error,
                method,
            )
        except NETWORK_ERRORS as e:
            return self._retry_later(item, _describe(e), maybe_sent=True, counted=False)
        return None

    def _retry_later(
        self, item: OutboxItem, error: str, *, maybe_sent: bool, counted: bool = True
    ) -> Outcome:
        attempts = item.attempts + (1 if counted else 0)
        if attempts >= self._max_attempts:
            return self._give_up(item, f"{error}, {attempts} times")

        # Exponential backoff with jitter, so a crowd of retries spreads out.
        delay = min(self._backoff_cap, self._backoff_base * 2 ** max(attempts - 1, 0))
        delay *= 0.5 + 0.5 * self._jitter()
        self._store.release_outbox_item(item.id, error=error, maybe_sent=maybe_sent)
        self._not_before[item.id] = self._clock() + delay
        self._due(self._not_before[item.id])
        logger.warning(
            "Slack call for item %d to %s failed (%s); retrying in %.1fs, attempt %d of %d.",
            item.id,
            item.channel,
            error,
            delay,
            attempts + 1,
            self._max_attempts,
        )
        return Outcome.WAITING

    def _give_up(self, item: OutboxItem, problem: str) -> Outcome:
        self._store.fail_outbox_item(item.id, error=problem, at=self._wall_clock())
        self._not_before.pop(item.id, None)
        logger.error(
            "Gave up on Slack item %d (%s to %s): %s.", item.id, item.kind, item.channel, problem
        )
        return Outcome.FAILED

    def _halt(self, error: str, method: str) -> None:
        self.halted = (
            f"Slack refused the bot token ({error} on {method}). Nothing more is sent: "
            f"check the token the bot runs with and the app's installation, then restart. "
            f"Queued messages are kept and go out after the restart."
        )
        logger.critical(self.halted)

    def _tag(self, item: OutboxItem) -> str:
        return f"{self._store.outbox_instance()}:{item.id}"


def _methods_of(item: OutboxItem) -> tuple[str, ...]:
    if item.kind is ItemKind.UPLOAD:
        # The file is shared as a message, so it is paced like one.
        return ("files.getUploadURLExternal", METHODS[item.kind], ratelimits.POST_METHOD)
    return (METHODS[item.kind],)


def _scope(method: str, channel: str) -> str | None:
    """Whether a 429 on `method` concerns one channel or the whole method."""
    return channel if method.startswith("chat.") else None


def _find_tagged(messages: list[Any], tag: str) -> str | None:
    for message in messages:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == METADATA_EVENT and payload.get("item") == tag:
            return str(message["ts"])
    return None


def _field(response: Any, name: str) -> Any:
    """A field of Slack's answer, or None when the body was not JSON."""
    data = getattr(response, "data", None)
    return data.get(name) if isinstance(data, dict) else None


def _status(response: Any) -> int:
    # NB: for a body that claims JSON but is not, slack_sdk attaches aiohttp's
    # own response, whose status is `status`, not `status_code`.
    status = getattr(response, "status_code", None) or getattr(response, "status", 0)
    return int(status or 0)


def _error_code(response: Any) -> str:
    return str(_field(response, "error") or f"http_{_status(response)}")


def _retry_after(headers: Any) -> float:
    try:
        return max(float(headers.get("Retry-After", 1)), 0.0)
    except (TypeError, ValueError):
        return 1.0


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:200]
