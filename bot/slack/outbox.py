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

This module holds the API, the lanes and the waiting between passes;
`bot.slack.planning` turns an item into the calls it stores, and
`bot.slack.delivering` makes one call and sorts out its answer.

Limitations: pacing, backoff and `Retry-After` live in memory, so a restarted
bot starts with a clean slate and may meet one 429 it could have avoided.
Continuation messages and files always go into the first message's thread.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import PermanentError, TemporaryError
from bot.slack import delivering, planning, ratelimits
from bot.store.outbox import OutboxItem, OutboxStore

__all__ = ["Ephemeral", "Outbox", "Post", "Update", "Upload", "new_web_client"]

logger = logging.getLogger(__name__)


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
        self._sleep = sleep
        self.limits = ratelimits.RateLimits(clock=clock)
        self._planner = planning.Planner(store, wall_clock=wall_clock)
        self._courier = delivering.Courier(
            store,
            limits=self.limits,
            due=self._due,
            clock=clock,
            wall_clock=wall_clock,
            jitter=jitter,
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            settle=settle,
        )

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
            item_id = self._planner.plan_post(item)
        elif isinstance(item, Update):
            item_id = self._planner.plan_update(item)
        elif isinstance(item, Ephemeral):
            item_id = self._planner.plan_ephemeral(item)
        else:
            item_id = self._planner.plan_upload(item)
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
            if self._courier.halted is not None:
                raise PermanentError(self._courier.halted)
            self._warn_if_client_retries(client)

            lanes: dict[str, list[OutboxItem]] = {}
            for item in self._store.open_outbox_items():
                lanes.setdefault(item.lane, []).append(item)
            self._next_due = None
            counts = await asyncio.gather(
                *(self._courier.deliver_lane(client, i) for i in lanes.values())
            )

            if self._courier.halted is not None:
                raise PermanentError(self._courier.halted)
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

    def _warn_if_client_retries(self, client: AsyncWebClient) -> None:
        if client.retry_handlers and not self._warned_client:
            self._warned_client = True
            logger.warning(
                "The Slack client resends calls by itself, so a post can appear twice; "
                "build it with bot.slack.outbox.new_web_client (retry_handlers=[])."
            )
