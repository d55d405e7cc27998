"""Shared pieces of the notify tests: a fresh group store and a recording sink."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest

from bot.slack import outbox
from bot.store.sqlite_notifications import SQLiteNotificationGroups

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def at(seconds: float) -> datetime.datetime:
    """A moment `seconds` after T0."""
    return T0 + datetime.timedelta(seconds=seconds)


class RecordingSink:
    """Takes outbox items the way `bot.slack.outbox.Outbox.enqueue` does."""

    def __init__(self) -> None:
        self.items: list[outbox.Item] = []

    async def enqueue(self, item: outbox.Item) -> int:
        self.items.append(item)
        return len(self.items)

    def of(self, kind: type[outbox.Item]) -> list[outbox.Item]:
        return [item for item in self.items if isinstance(item, kind)]


@pytest.fixture
def groups() -> Iterator[SQLiteNotificationGroups]:
    with SQLiteNotificationGroups(":memory:") as store:
        yield store


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()
