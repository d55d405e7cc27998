"""From a grouping decision to what the outbox sends.

`Notifier` is the one place that turns the state of a notification group
into Slack calls: a post for a new group (and the fix as a file in its
thread when the diff is too long for the message), an update when repeats
are due to show, an update in the resolved form once the workload is
admitted. The notice is composed only when a new message needs it, so a
repeat costs one store write and no engine run.

Proving a fix costs milliseconds, and a burst can bring hundreds of new
workloads at once. When the caller says it is behind (`fix_now=False`), the
message is posted at once with the explanation only, and the fix is worked
out later by `complete_fixes`, which the caller runs when it has time; the
message is then updated with the diff. A fix left pending when the process
stops is not recovered: the message keeps its explanation and the Re-check
button.

The sink is anything with the outbox's `enqueue`; tests and the demo pass
their own.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Literal, Protocol

from bot.notify.grouping import Grouper, GroupKey
from bot.slack import messages, outbox
from bot.slack.messages import Notice, Seen
from bot.store.notifications import NotificationGroup

logger = logging.getLogger(__name__)

Outcome = Literal["posted", "updated", "counted"]

MAX_UNFIXED = 10_000
"""Pending fixes kept at most; beyond, the oldest messages keep explanation only."""


class Sink(Protocol):
    """Where Slack calls go: `bot.slack.outbox.Outbox` in the bot."""

    async def enqueue(self, item: outbox.Item) -> object:
        """Store the item for delivery; it is safe once this returns."""
        ...


class Notifier:
    """Posts, updates and resolves rejection messages through a sink."""

    def __init__(self, grouper: Grouper, sink: Sink) -> None:
        self.grouper = grouper
        self.sink = sink
        self._unfixed: OrderedDict[str, Callable[[], Notice]] = OrderedDict()

    @property
    def fixes_pending(self) -> int:
        """Messages posted without their fix, waiting for `complete_fixes`."""
        return len(self._unfixed)

    async def deliver(
        self,
        key: GroupKey,
        *,
        at: datetime.datetime,
        channel: str,
        blocking: bool,
        compose: Callable[[bool], Notice],
        fix_now: bool = True,
    ) -> Outcome:
        """Count a rejection, and post or update its message when that is due.

        Args:
            key: the workload, policy and rule.
            at: when the rejection happened.
            channel: where a new message goes.
            blocking: whether the request was refused (an admission then resolves it).
            compose: builds the notice, with its fix or without (the argument);
                called only for a new message.
            fix_now: False when the caller is behind: the fix comes later.
        """
        repeat = self.grouper.count_repeat(key, at=at)
        if repeat is not None:
            if not repeat.update_now:
                return "counted"
            await self._update(repeat.group, at=at)
            return "updated"

        # A new message: compose it now, and remember what it says. NB: no
        # await comes between the count above and `open`, so two handlers on
        # one event loop cannot both open the group.
        notice = compose(fix_now)
        group = self.grouper.open(
            key,
            channel=channel,
            notice=json.dumps(notice.to_json()),
            at=at,
            blocking=blocking,
        )
        if not fix_now:
            self._unfixed[group.key] = functools.partial(compose, True)
            while len(self._unfixed) > MAX_UNFIXED:
                self._unfixed.popitem(last=False)
        message = messages.rejection(notice, seen_of(group))
        await self.sink.enqueue(
            outbox.Post(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                key=group.message_key,
            )
        )
        await self._attach(group, message)
        return "posted"

    async def complete_fixes(
        self, *, at: datetime.datetime, budget: float | None = None, limit: int | None = None
    ) -> int:
        """Work out the fixes left out under load, and update their messages.

        Args:
            at: now, for the update interval.
            budget: seconds to spend at most (one fix may overrun it); None
                for no limit.
            limit: how many fixes at most; None for no limit.

        Returns how many messages got their fix.
        """
        deadline = None if budget is None else time.perf_counter() + budget
        done = 0
        while self._unfixed and (deadline is None or time.perf_counter() < deadline):
            if limit is not None and done >= limit:
                break
            key, compose = self._unfixed.popitem(last=False)
            group = self.grouper.store.get_group(key)
            if group is None or group.resolved_at is not None:
                continue
            notice = json.dumps(compose().to_json())
            self.grouper.store.set_notice(key, notice)
            group = dataclasses.replace(group, notice=notice)
            message = messages.rejection(notice_of(group), seen_of(group))
            await self.sink.enqueue(
                outbox.Update(key=group.message_key, text=message.text, blocks=message.blocks)
            )
            await self._attach(group, message)
            self.grouper.shown(group, at=at)
            done += 1
        return done

    async def resolve(self, workload: str, *, at: datetime.datetime) -> int:
        """Mark the workload's open messages resolved; return how many."""
        groups = self.grouper.resolve(workload, at=at)
        for group in groups:
            resolved = seen_of(group)
            message = messages.resolved(notice_of(group), resolved)
            await self.sink.enqueue(
                outbox.Update(key=group.message_key, text=message.text, blocks=message.blocks)
            )
        return len(groups)

    async def flush(
        self, *, at: datetime.datetime, force: bool = False, budget: float | None = None
    ) -> int:
        """Update the messages whose counts lag behind; return how many.

        Run it periodically (every `update_interval` or so), and with `force`
        on shutdown, so that no count stays unshown. With a `budget` (seconds),
        it stops once that is spent and leaves the rest for the next run.
        """
        deadline = None if budget is None else time.perf_counter() + budget
        done = 0
        for group in self.grouper.due_updates(at=at, force=force):
            if deadline is not None and time.perf_counter() >= deadline:
                break
            await self._update(group, at=at)
            done += 1
        return done

    async def _attach(self, group: NotificationGroup, message: messages.Message) -> None:
        """Upload a diff too long for the message into its thread."""
        if message.attachment is None:
            return
        await self.sink.enqueue(
            outbox.Upload(
                channel=group.channel,
                filename=message.attachment.filename,
                content=message.attachment.content,
                title=message.attachment.title,
                thread_key=group.message_key,
                initial_comment=message.attachment.comment,
            )
        )

    async def _update(self, group: NotificationGroup, *, at: datetime.datetime) -> None:
        message = messages.rejection(notice_of(group), seen_of(group))
        await self.sink.enqueue(
            outbox.Update(key=group.message_key, text=message.text, blocks=message.blocks)
        )
        self.grouper.shown(group, at=at)


def seen_of(group: NotificationGroup) -> Seen:
    return Seen(
        count=group.count,
        first_seen=group.first_seen,
        last_seen=group.last_seen,
        resolved_at=group.resolved_at,
    )


def notice_of(group: NotificationGroup) -> Notice:
    return Notice.from_json(json.loads(group.notice))
