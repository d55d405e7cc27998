"""The bot's small embedded memory, behind one typed interface.

Whatever must survive a restart lives here: for now, which admission
rejections the watcher has already handed on, so that a reconnect or a new
process neither repeats nor drops one. Others will add their own parts
(the outbox, notification groups, exceptions) as sibling Protocols that
`Store` combines, each with its table in the same SQLite file.

Callers see only the Protocols and frozen values below; `bot.store.sqlite`
is the one implementation. Its calls are short local writes (WAL, no fsync
per commit), so async code may call them directly.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Protocol

__all__ = ["SeenEvents", "Sighting", "Store"]


@dataclass(frozen=True)
class Sighting:
    """One admission rejection, as an Event object showed it when handed on.

    An Event keeps its uid when the same rejection happens again: the API
    server bumps `count` instead. So a sighting is "this uid, up to this count",
    and only a higher count is news.
    """

    uid: str
    count: int
    resource_version: str
    seen_at: datetime.datetime


class SeenEvents(Protocol):
    """Which rejection events have already been handed on."""

    def get_sighting(self, uid: str) -> Sighting | None: ...

    def record_sighting(self, sighting: Sighting) -> None:
        """Remember a sighting; a lower count never replaces a higher one."""
        ...

    def forget_sightings(self, *, before: datetime.datetime) -> int:
        """Drop sightings older than `before`; return how many went."""
        ...


class Store(SeenEvents, Protocol):
    """Everything the bot keeps across restarts."""

    def close(self) -> None: ...
