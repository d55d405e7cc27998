"""Notification groups: one Slack message per recurring rejection.

A controller retries a rejected Pod for as long as its Deployment exists, so
the same (workload, policy, rule) comes back every few seconds. A group is
the memory that turns those repeats into one message: which message it is
(the outbox key), what it says (the notice, as JSON), how often and when the
rejection happened, what the message shows so far, and whether the workload
was admitted since. Groups must outlive a restart, or a restarted bot would
post every ongoing rejection again.

The operations that count are atomic in the store, so two handlers racing on
one group never lose a repeat; deciding what a count means (a new message,
an update, nothing yet) is `bot.notify.grouping`'s job.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Protocol

__all__ = ["NotificationGroup", "NotificationGroups"]


@dataclass(frozen=True, kw_only=True)
class NotificationGroup:
    """One Slack message and the rejections it stands for."""

    key: str
    """The (workload, policy, rule) digest; buttons carry it."""
    workload: str
    """`Kind/namespace/name` of the workload, to find its groups on admission."""
    channel: str
    message_key: str
    """The outbox key of the Slack message; a new generation gets a new one."""
    notice: str
    """What the message says, as JSON (`bot.slack.messages.Notice`)."""
    count: int
    first_seen: datetime.datetime
    last_seen: datetime.datetime
    shown_count: int
    """The count the Slack message shows; lower than `count` while an update is due."""
    shown_at: datetime.datetime
    """When the message was last posted or updated."""
    resolved_at: datetime.datetime | None = None
    """When the workload was admitted after its last rejection."""
    generation: int = 1
    """How many messages this key has had; each starts after a quiet window or a fix."""
    blocking: bool = True
    """The rejection blocked the request, so an admission resolves it. Audit and
    warning findings do not block: admitting the workload proves nothing."""

    @property
    def pending(self) -> bool:
        """The message shows fewer repeats than happened."""
        return self.shown_count < self.count


class NotificationGroups(Protocol):
    """The groups, keyed by `NotificationGroup.key`: one live group per key."""

    def get_group(self, key: str) -> NotificationGroup | None: ...

    def save_group(self, group: NotificationGroup) -> None:
        """Insert a group, or replace the one with its key (a new generation)."""
        ...

    def set_notice(self, key: str, notice: str) -> None:
        """Replace what the group's message says (its fix came later)."""
        ...

    def count_repeat(
        self,
        key: str,
        *,
        at: datetime.datetime,
        active_since: datetime.datetime,
        started_since: datetime.datetime,
    ) -> NotificationGroup | None:
        """Count one more rejection in an open group, atomically.

        A group is open when it is not resolved, its last rejection is at or
        after `active_since` and its first at or after `started_since`.
        Returns the updated group, or None when there is no open group (the
        caller then starts a new message).
        """
        ...

    def mark_shown(self, key: str, *, count: int, at: datetime.datetime) -> None:
        """Record that the message now shows `count`; never lowers it."""
        ...

    def resolve_groups(self, workload: str, *, at: datetime.datetime) -> list[NotificationGroup]:
        """Mark the workload's open blocking groups resolved and return them.

        Only groups whose last rejection came strictly before `at` are
        resolved: an admission no newer than the latest rejection proves
        nothing.
        """
        ...

    def pending_groups(self) -> list[NotificationGroup]:
        """Unresolved groups whose message shows fewer repeats than happened."""
        ...

    def forget_groups(self, *, before: datetime.datetime) -> int:
        """Drop groups last seen before `before`; return how many went."""
        ...
