"""Folding repeats of one rejection into one message.

A rejection is identified by its workload, policy and rule (`GroupKey`).
The first one opens a group and gets a message; each repeat while the group
is open only counts, and the message is updated in place with the count and
the last time seen. A group closes in three ways:

- the rejection stops for longer than `window`: the next one is news, and
  gets a new message (the old one stays as the record of the first episode);
- the group is older than `max_age`: a new message, so that a problem that
  never stopped does not hide in a day-old thread;
- the workload is admitted after its last rejection: the message is marked
  resolved, and a later rejection starts over. Only blocking rejections
  resolve this way; an audit or warning finding stays open, since the
  workload was admitted with it all along.

Slack allows about one update per second per channel, and a controller can
retry faster than that across many workloads, so a repeat updates the
message at most once per `update_interval`; counts that came in between are
picked up by the next repeat or by `due_updates`, which the caller runs
periodically. Nothing is lost that way, only delayed.

The state lives in the store (`bot.store.notifications`), so a restarted bot
keeps updating the messages it posted before.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import logging
from dataclasses import dataclass

from bot.knowledge.catalog import AUTOGEN_PREFIXES
from bot.store.notifications import NotificationGroup, NotificationGroups

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GroupSettings:
    """How repeats fold; the defaults match `bot.config.GroupingConfig`."""

    window: datetime.timedelta = datetime.timedelta(minutes=10)
    """Repeats within this time of the last one update the same message."""

    max_age: datetime.timedelta = datetime.timedelta(hours=24)
    """A repeat this long after the first starts a new message."""

    update_interval: datetime.timedelta = datetime.timedelta(seconds=30)
    """One message is updated at most this often; the counts in between wait."""

    def __post_init__(self) -> None:
        if self.window <= datetime.timedelta(0):
            raise ValueError(f"window must be positive, got {self.window}")
        if self.max_age < self.window:
            raise ValueError(
                f"max_age must be at least the window ({self.window}), got {self.max_age}"
            )
        if self.update_interval < datetime.timedelta(0):
            raise ValueError(f"update_interval must not be negative, got {self.update_interval}")


DEFAULT_SETTINGS = GroupSettings()


@dataclass(frozen=True)
class GroupKey:
    """What makes two rejections "the same": one workload, one policy, one rule."""

    kind: str
    namespace: str | None
    name: str
    policy: str | None
    rule: str | None

    @classmethod
    def make(
        cls, *, kind: str, namespace: str | None, name: str, policy: str | None, rule: str | None
    ) -> GroupKey:
        """The key of a violation, with Kyverno's generated rules folded in.

        Kyverno names a rule it generates for Pod controllers after the Pod
        rule (`autogen-x`, `autogen-cronjob-x`). A Deployment's audit event
        reports the one, its ReplicaSet's failed Pods the other; both are one
        problem of one workload, so they share a group.
        """
        for prefix in AUTOGEN_PREFIXES:
            if rule is not None and rule.startswith(prefix) and len(rule) > len(prefix):
                rule = rule.removeprefix(prefix)
                break
        return cls(kind, namespace, name, policy, rule)

    @property
    def workload(self) -> str:
        return workload_id(self.kind, self.namespace, self.name)

    @functools.cached_property
    def digest(self) -> str:
        """A short stable id for buttons and outbox keys (Slack values are limited)."""
        text = "\x1f".join((self.workload, self.policy or "", self.rule or ""))
        return "g" + hashlib.sha256(text.encode()).hexdigest()[:20]


def workload_id(kind: str, namespace: str | None, name: str) -> str:
    """A workload's id in the store: `Kind/namespace/name`."""
    return f"{kind}/{namespace or ''}/{name}"


@dataclass(frozen=True)
class Repeat:
    """A repeat counted in an open group."""

    group: NotificationGroup
    update_now: bool
    """Whether the message should be updated now, or wait for the interval."""


class Grouper:
    """Decides, for each rejection, between a new message, an update and a wait."""

    def __init__(
        self, store: NotificationGroups, settings: GroupSettings = GroupSettings()
    ) -> None:
        self.store = store
        self.settings = settings

    def count_repeat(self, key: GroupKey, *, at: datetime.datetime) -> Repeat | None:
        """Count a rejection in its open group; None when it needs a new message."""
        group = self.store.count_repeat(
            key.digest,
            at=at,
            active_since=at - self.settings.window,
            started_since=at - self.settings.max_age,
        )
        if group is None:
            return None
        return Repeat(group, update_now=self._due(group, at=at))

    def open(
        self,
        key: GroupKey,
        *,
        channel: str,
        notice: str,
        at: datetime.datetime,
        blocking: bool = True,
    ) -> NotificationGroup:
        """Start a group, and with it a message; a closed group of the key is replaced."""
        previous = self.store.get_group(key.digest)
        generation = previous.generation + 1 if previous is not None else 1
        group = NotificationGroup(
            key=key.digest,
            workload=key.workload,
            channel=channel,
            # NB: the time keeps keys unique after a forgotten group restarts at 1.
            message_key=f"{key.digest}.{generation}.{int(at.timestamp())}",
            notice=notice,
            count=1,
            first_seen=at,
            last_seen=at,
            shown_count=1,
            shown_at=at,
            generation=generation,
            blocking=blocking,
        )
        self.store.save_group(group)
        if previous is not None:
            logger.debug(
                "Group %s starts message %d; the last one closed at %s.",
                key.digest,
                generation,
                previous.resolved_at or previous.last_seen,
            )
        return group

    def shown(self, group: NotificationGroup, *, at: datetime.datetime) -> None:
        """The message now shows the group's count."""
        self.store.mark_shown(group.key, count=group.count, at=at)

    def resolve(self, workload: str, *, at: datetime.datetime) -> list[NotificationGroup]:
        """Close the workload's open groups: it was admitted at `at`."""
        return self.store.resolve_groups(workload, at=at)

    def due_updates(self, *, at: datetime.datetime, force: bool = False) -> list[NotificationGroup]:
        """Groups whose message lags behind and may be updated now (all with `force`)."""
        return [g for g in self.store.pending_groups() if force or self._due(g, at=at)]

    def forget(self, *, at: datetime.datetime) -> int:
        """Drop groups that can no longer be updated: older than `max_age`."""
        return self.store.forget_groups(before=at - self.settings.max_age)

    def _due(self, group: NotificationGroup, *, at: datetime.datetime) -> bool:
        return group.pending and at - group.shown_at >= self.settings.update_interval
