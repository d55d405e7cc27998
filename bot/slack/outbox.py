"""The outbox: every message to Slack is stored first, then delivered.

Handlers never call Slack to post. They `enqueue` a `Post`, `Update`,
`Ephemeral` or `Upload`, which is on disk when `enqueue` returns, and a single
loop (`run`) delivers it, however long Slack takes to accept it.

Delivery keeps these promises:

- Order: items in one channel go out in the order they were enqueued (one
  *lane* per channel; ephemeral messages have a lane per channel and user).
  A lane that must wait holds back only itself.
- Pacing: `bot.slack.ratelimits` keeps each method within its tier and posts
  to about one a second per channel; a 429's `Retry-After` is honoured for
  that method (and channel).
- Retries: a 5xx or a network error is retried with exponential backoff and
  jitter, up to `max_attempts`; a refusal (`channel_not_found`,
  `is_archived`...) fails the item at once and records why. `not_in_channel`
  makes the bot join the channel, once. An auth error (`invalid_auth`) stops
  all delivery: `deliver_pending` raises `PermanentError` and the items stay
  queued for a bot with a working token.
- Size: content goes through `bot.slack.blocks.lay_out`, so a long message
  becomes a first message plus continuations in its thread, and a long diff
  becomes a file in the thread.
- Updates: an `Update` waits until its post has a ts; several updates to the
  same message that are still waiting collapse into the latest.

Exactly once, as far as Slack allows. Slack takes no idempotency key, so the
outbox does this:

1. The item is marked *sending* and committed before the call.
2. The ts is committed as soon as Slack answers.
3. A post carries its item's tag (`<store instance>:<item id>`) as message
   metadata. An item found *sending* (the bot died between 1 and 2, or the
   call failed without a clear answer) is looked up by that tag in the
   channel's history before it is sent again; if found, it is done.

So a post can be duplicated only if the bot dies (or its call fails
ambiguously) between 1 and 2 *and* the history lookup is impossible: the bot
lacks the `channels:history`/`groups:history` scope, or the message is not
among the pages searched. Ephemeral messages and file uploads have no such
lookup: for them the window is the call itself, from the request leaving to
the ts being committed (a few hundred milliseconds), and a crash there sends
them again. Updates are idempotent and simply repeat. With `settle=False`
posts have that same window: a crash or an ambiguous failure (5xx, dropped
connection) during the call sends the post again.

Limitations: pacing, backoff and `Retry-After` live in memory, so a restarted
bot starts with a clean slate and may meet one 429 it could have avoided.
Continuation messages and files always go into the first message's thread.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import PermanentError, TemporaryError
from bot.slack import blocks, ratelimits
from bot.store.outbox import ItemKind, ItemState, NewItem, OutboxItem, OutboxStore

__all__ = ["Ephemeral", "Outbox", "Post", "Update", "Upload", "new_web_client"]

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

SUPERSEDED_PART = "_(This part was replaced by the update above.)_"

# How far around an attempt to search the history for its message.
CLOCK_SKEW_SECONDS = 300.0
SETTLE_PAGES = 5

METHODS = {
    ItemKind.POST: "chat.postMessage",
    ItemKind.UPDATE: "chat.update",
    ItemKind.EPHEMERAL: "chat.postEphemeral",
    ItemKind.UPLOAD: "files.completeUploadExternal",
}


@dataclass(frozen=True)
class Post:
    """A new message. `key` names it for updates and thread replies."""

    channel: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    key: str | None = None
    thread_key: str | None = None


@dataclass(frozen=True)
class Update:
    """New content for the message posted under `key`."""

    key: str
    text: str
    blocks: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Ephemeral:
    """A message only `user` sees, and only until they reload."""

    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Upload:
    """A file shared in a channel, or in the thread of `thread_key`."""

    channel: str
    filename: str
    content: str
    title: str = ""
    thread_key: str | None = None
    initial_comment: str = ""


Item = Post | Update | Ephemeral | Upload


class _Outcome(enum.Enum):
    DELIVERED = "delivered"
    WAITING = "waiting"  # the lane must wait: keep its order
    FAILED = "failed"  # given up; the lane goes on


def new_web_client(token: str, *, base_url: str | None = None, timeout: int = 30) -> AsyncWebClient:
    """A Slack client fit for the outbox.

    NB: slack_sdk's default client resends a request once when the connection
    drops, which can post a message twice behind the outbox's back; this one
    leaves every retry to the outbox.
    """
    return AsyncWebClient(
        token=token,
        base_url=base_url or AsyncWebClient.BASE_URL,
        timeout=timeout,
        retry_handlers=[],
    )


class Outbox:
    """Stores messages for Slack and delivers them, in order, exactly once.

    Args:
        store: Where items live; the same file across restarts.
        clock: Monotonic seconds, for pacing and backoff.
        wall_clock: Seconds since the epoch, stored with each attempt.
        sleep: How `run` waits; tests pass one that moves their clock.
        jitter: A random number in [0, 1), to spread retries.
        max_attempts: Attempts before a temporary failure becomes final.
        backoff_base: The first retry's delay, doubled for each next one.
        backoff_cap: The longest delay between two attempts.
        settle: Whether to look a maybe-sent post up in the history before
            sending it again (needs the `*:history` scopes).
    """

    def __init__(
        self,
        store: OutboxStore,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        max_attempts: int = 12,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        settle: bool = True,
    ) -> None:
        self._store = store
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._jitter = jitter
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._settle_enabled = settle
        self.limits = ratelimits.RateLimits(clock=clock)

        self._not_before: dict[int, float] = {}
        self._joining_tried: set[int] = set()
        self._plain: set[int] = set()
        self._halted: str | None = None
        self._next_due: float | None = None
        self._wakeup = asyncio.Event()
        self._pass_lock = asyncio.Lock()
        self._warned_client = False

    # -- the public surface ------------------------------------------------

    async def enqueue(self, item: Item) -> int:
        """Store `item` for delivery; return its id once it is on disk.

        A key names one message for good: a second `Post` under the same key
        is not queued again, and its first id is returned. That makes
        enqueueing safe to repeat after a crash of the caller.
        """
        if isinstance(item, Post):
            item_id = self._enqueue_post(item)
        elif isinstance(item, Update):
            item_id = self._enqueue_update(item)
        elif isinstance(item, Ephemeral):
            item_id = self._enqueue_ephemeral(item)
        else:
            item_id = self._enqueue_upload(item)
        self._wakeup.set()
        return item_id

    def ts_for(self, key: str) -> tuple[str, str] | None:
        """The (channel, ts) of the message posted under `key`, once posted."""
        message = self._store.get_outbox_message(key)
        if message is None or message.ts is None:
            return None
        return message.channel, message.ts

    async def deliver_pending(self, client: AsyncWebClient) -> int:
        """Make one pass over the queue; return how many items went out.

        Raises:
            PermanentError: Slack refused the token; nothing more is sent.
        """
        async with self._pass_lock:
            if self._halted is not None:
                raise PermanentError(self._halted)
            self._warn_if_client_retries(client)

            lanes: dict[str, list[OutboxItem]] = {}
            for item in self._store.open_outbox_items():
                lanes.setdefault(item.lane, []).append(item)
            self._next_due = None
            counts = await asyncio.gather(*(self._deliver_lane(client, i) for i in lanes.values()))

            if self._halted is not None:
                raise PermanentError(self._halted)
            return sum(counts)

    async def run(self, client: AsyncWebClient, *, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, waking for new items and due retries."""
        while not stop.is_set():
            self._wakeup.clear()
            try:
                await self.deliver_pending(client)
            except TemporaryError as e:
                delay = e.retry_after or 1.0
                logger.warning("The outbox will try again in %.0fs: %s", delay, e)
                self._due(self._clock() + delay)
            await self._wait(stop)

    # -- enqueueing: planning the calls ------------------------------------

    def _enqueue_post(self, post: Post) -> int:
        # Already queued under this key: enqueueing again changes nothing.
        if post.key is not None:
            existing = self._store.get_outbox_message(post.key)
            if existing is not None:
                original = self._store.get_outbox_item(existing.item)
                logger.debug("A post under key %r is already queued; not adding it.", post.key)
                return existing.item if original is None else original.group

        key = post.key or f"~{uuid.uuid4().hex}"
        problem = self._check_thread(post.channel, post.thread_key)
        layout = blocks.lay_out(post.text, post.blocks)
        first = _new(ItemKind.POST, post.channel, layout.messages[0], key, post.thread_key)
        if problem:
            return self._refuse(first, problem)

        # Continuations and files go into the message's thread.
        thread = post.thread_key or key
        items = [first]
        for number, message in enumerate(layout.messages[1:], start=2):
            items.append(_new(ItemKind.POST, post.channel, message, _part(key, number), thread))
        items += [_snippet(post.channel, snippet, thread) for snippet in layout.snippets]
        files = [(key, _digest(snippet.content)) for snippet in layout.snippets]
        return self._add(items, parts={key: len(layout.messages)}, files=files)

    def _enqueue_update(self, update: Update) -> int:
        target = self._store.get_outbox_message(update.key)
        layout = blocks.lay_out(update.text, update.blocks)
        if target is None or target.failure:
            why = "was never posted" if target is None else f"failed: {target.failure}"
            channel = "" if target is None else target.channel
            first = _new(ItemKind.UPDATE, channel, layout.messages[0], update.key)
            return self._refuse(first, f"the message under key {update.key!r} {why}")

        # Existing parts are edited; extra parts are posted in the thread, and
        # parts the new content no longer needs say so.
        channel, thread = target.channel, target.thread_key or update.key
        items: list[NewItem] = []
        for number, message in enumerate(layout.messages, start=1):
            key = _part(update.key, number)
            kind = ItemKind.UPDATE if number <= target.parts else ItemKind.POST
            items.append(
                _new(kind, channel, message, key, thread if kind is ItemKind.POST else None)
            )
        for number in range(len(layout.messages) + 1, target.parts + 1):
            spare = blocks.Message(text=SUPERSEDED_PART, blocks=None)
            items.append(_new(ItemKind.UPDATE, channel, spare, _part(update.key, number)))

        # A file already attached for this message is not attached again.
        snippets = [
            snippet
            for snippet in layout.snippets
            if not self._store.has_outbox_file(update.key, _digest(snippet.content))
        ]
        items += [_snippet(channel, snippet, thread) for snippet in snippets]
        spread = max(target.parts, len(layout.messages))
        return self._add(
            items,
            parts={update.key: spread},
            files=[(update.key, _digest(snippet.content)) for snippet in snippets],
            supersede=[_part(update.key, number) for number in range(1, spread + 1)],
        )

    def _enqueue_ephemeral(self, ephemeral: Ephemeral) -> int:
        layout = blocks.lay_out(ephemeral.text, ephemeral.blocks, snippets=False)
        lane = f"{ephemeral.channel}/{ephemeral.user}"
        items = [
            NewItem(
                kind=ItemKind.EPHEMERAL,
                lane=lane,
                channel=ephemeral.channel,
                payload={"user": ephemeral.user, "text": m.text, "blocks": m.blocks},
            )
            for m in layout.messages
        ]
        return self._add(items)

    def _enqueue_upload(self, upload: Upload) -> int:
        item = NewItem(
            kind=ItemKind.UPLOAD,
            lane=upload.channel,
            channel=upload.channel,
            thread_key=upload.thread_key,
            payload={
                "filename": upload.filename,
                "content": upload.content,
                "title": upload.title or upload.filename,
                "initial_comment": upload.initial_comment,
            },
        )
        problem = self._check_thread(upload.channel, upload.thread_key)
        return self._refuse(item, problem) if problem else self._add([item])

    def _check_thread(self, channel: str, thread_key: str | None) -> str:
        if thread_key is None:
            return ""
        parent = self._store.get_outbox_message(thread_key)
        if parent is None:
            return f"its thread {thread_key!r} was never posted"
        if parent.channel != channel:
            return f"its thread {thread_key!r} is in {parent.channel}, not {channel}"
        return ""

    def _add(
        self,
        items: list[NewItem],
        *,
        parts: dict[str, int] | None = None,
        files: list[tuple[str, str]] | None = None,
        supersede: list[str] | None = None,
    ) -> int:
        ids = self._store.add_outbox_items(
            items,
            parts=parts,
            files=files or [],
            supersede=supersede or [],
            at=self._wall_clock(),
        )
        logger.debug("Queued %d Slack call(s) as item %d.", len(ids), ids[0])
        return ids[0]

    def _refuse(self, item: NewItem, problem: str) -> int:
        """Record an item that can never be delivered, and say why."""
        item_id = self._add([item])
        self._store.fail_outbox_item(item_id, error=problem, at=self._wall_clock())
        logger.warning("Not sending Slack item %d: %s.", item_id, problem)
        return item_id

    # -- delivering --------------------------------------------------------

    async def _deliver_lane(self, client: AsyncWebClient, items: list[OutboxItem]) -> int:
        delivered = 0
        for stale in items:
            # An enqueue may have superseded it since the pass began.
            if self._halted is not None:
                break
            item = self._store.get_outbox_item(stale.id)
            if item is None or item.state not in (ItemState.PENDING, ItemState.SENDING):
                continue
            outcome = await self._deliver_item(client, item)
            if outcome is _Outcome.WAITING:
                break
            if outcome is _Outcome.DELIVERED:
                delivered += 1
        return delivered

    async def _deliver_item(self, client: AsyncWebClient, item: OutboxItem) -> _Outcome:
        # Not before its backoff has passed.
        now = self._clock()
        not_before = self._not_before.get(item.id, now)
        if not_before > now:
            self._due(not_before)
            return _Outcome.WAITING

        # A thread reply, a file in a thread or an update needs a ts first.
        depends_on = item.key if item.kind is ItemKind.UPDATE else item.thread_key
        target_ts: str | None = None
        if depends_on is not None:
            target = self._store.get_outbox_message(depends_on)
            if target is None or target.failure:
                why = target.failure if target else "it is unknown"
                return self._give_up(item, f"its message {depends_on!r} failed: {why}")
            if target.ts is None:
                return _Outcome.WAITING
            target_ts = target.ts

        # Within Slack's limits for the method and the channel.
        wait = max(self.limits.wait_time(m, item.channel) for m in _methods_of(item))
        if wait > 0:
            self._due(now + wait)
            return _Outcome.WAITING

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
        return _Outcome.DELIVERED

    async def _call(
        self, client: AsyncWebClient, item: OutboxItem, *, target_ts: str | None
    ) -> str | None:
        payload = item.payload
        text: str = payload.get("text", "")
        content: list[dict[str, Any]] | None = payload.get("blocks")
        if content and item.id in self._plain:
            text, content = blocks.flatten(content), None
        for method in _methods_of(item):
            self.limits.note_call(method, item.channel)

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
    ) -> _Outcome:
        response = e.response
        error = _error_code(response)
        status = _status(response)
        method = str(getattr(response, "api_url", "") or getattr(response, "url", "")).rsplit("/")[
            -1
        ]

        # Too fast: wait as told; this call certainly did not happen.
        if status == 429 or error == "ratelimited":
            retry_after = _retry_after(response.headers)
            self.limits.note_retry_after(method, _scope(method, item.channel), retry_after)
            self._store.release_outbox_item(item.id, error=error, maybe_sent=False)
            self._due(self._clock() + retry_after)
            return _Outcome.WAITING

        # A bad token stops everything, loudly, and loses nothing.
        if error in AUTH_ERRORS:
            self._store.release_outbox_item(item.id, error=error, maybe_sent=False)
            self._halt(error, method)
            return _Outcome.WAITING

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

    async def _deliver_again(self, client: AsyncWebClient, item: OutboxItem) -> _Outcome:
        fresh = self._store.get_outbox_item(item.id)
        return _Outcome.FAILED if fresh is None else await self._deliver_item(client, fresh)

    async def _join(self, client: AsyncWebClient, channel: str) -> str:
        """Join `channel`; return why that failed, or "" once joined."""
        self.limits.note_call("conversations.join", None)
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
    ) -> _Outcome | None:
        """Find a maybe-sent post by its tag; None means send it (again)."""
        method = "conversations.replies" if thread_ts else "conversations.history"
        wait = self.limits.wait_time(method, item.channel)
        if wait > 0:
            self._due(self._clock() + wait)
            return _Outcome.WAITING

        # The window covers the attempt, the call's timeout and clock skew.
        attempted = item.attempted_at or item.created_at
        timeout = float(client.timeout)
        oldest = f"{attempted - CLOCK_SKEW_SECONDS:.6f}"
        latest = f"{attempted + timeout + CLOCK_SKEW_SECONDS:.6f}"
        tag = self._tag(item)
        cursor: str | None = None
        try:
            for _ in range(SETTLE_PAGES):
                self.limits.note_call(method, item.channel)
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
                    return _Outcome.DELIVERED
                cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
                if cursor is None:
                    break
        except SlackApiError as e:
            error = _error_code(e.response)
            if _status(e.response) == 429 or error == "ratelimited":
                retry_after = _retry_after(e.response.headers)
                self.limits.note_retry_after(method, item.channel, retry_after)
                self._due(self._clock() + retry_after)
                return _Outcome.WAITING
            if error in AUTH_ERRORS:
                self._halt(error, method)
                return _Outcome.WAITING
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
    ) -> _Outcome:
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
        return _Outcome.WAITING

    def _give_up(self, item: OutboxItem, problem: str) -> _Outcome:
        self._store.fail_outbox_item(item.id, error=problem, at=self._wall_clock())
        self._not_before.pop(item.id, None)
        logger.error(
            "Gave up on Slack item %d (%s to %s): %s.", item.id, item.kind, item.channel, problem
        )
        return _Outcome.FAILED

    def _halt(self, error: str, method: str) -> None:
        self._halted = (
            f"Slack refused the bot token ({error} on {method}). Nothing more is sent: "
            f"check the token the bot runs with and the app's installation, then restart. "
            f"Queued messages are kept and go out after the restart."
        )
        logger.critical(self._halted)

    # -- waiting -----------------------------------------------------------

    def _due(self, when: float) -> None:
        """Note that something may be deliverable at `when`."""
        self._next_due = when if self._next_due is None else min(self._next_due, when)

    async def _wait(self, stop: asyncio.Event) -> None:
        """Wait for a stop, a new item, or the next item's due time."""
        waiters: list[Awaitable[Any]] = [stop.wait(), self._wakeup.wait()]
        if self._next_due is not None:
            waiters.append(self._sleep(max(self._next_due - self._clock(), 0.0)))
        tasks = [asyncio.ensure_future(waiter) for waiter in waiters]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _tag(self, item: OutboxItem) -> str:
        return f"{self._store.outbox_instance()}:{item.id}"

    def _warn_if_client_retries(self, client: AsyncWebClient) -> None:
        if client.retry_handlers and not self._warned_client:
            self._warned_client = True
            logger.warning(
                "The Slack client resends calls by itself, so a post can appear twice; "
                "build it with bot.slack.outbox.new_web_client (retry_handlers=[])."
            )


def _new(
    kind: ItemKind,
    channel: str,
    message: blocks.Message,
    key: str | None,
    thread_key: str | None = None,
) -> NewItem:
    return NewItem(
        kind=kind,
        lane=channel,
        channel=channel,
        key=key,
        thread_key=thread_key,
        payload={"text": message.text, "blocks": message.blocks},
    )


def _snippet(channel: str, snippet: blocks.Snippet, thread_key: str) -> NewItem:
    return NewItem(
        kind=ItemKind.UPLOAD,
        lane=channel,
        channel=channel,
        thread_key=thread_key,
        payload={
            "filename": snippet.filename,
            "content": snippet.content,
            "title": snippet.title,
            "initial_comment": "",
        },
    )


def _part(key: str, number: int) -> str:
    """The key of a message's `number`th part; the first is the key itself."""
    return key if number == 1 else f"{key}#part{number}"


def _digest(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


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
