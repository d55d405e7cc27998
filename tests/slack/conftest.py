"""Fixtures for the Slack layer: the fake Web API, a real client, a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.outbox import Outbox
from bot.store.sqlite_outbox import SQLiteOutboxStore
from tests.slackfake import FakeSlack

ALERTS = "C0ALERTS01"
PAYMENTS = "C0PAYMENTS"


class FakeClock:
    """Monotonic time that moves only when a test (or `sleep`) moves it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_channel("platform-alerts", id=ALERTS)
        fake.add_channel("team-payments", id=PAYMENTS)
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return slack.client()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def store(store_path: Path) -> Iterator[SQLiteOutboxStore]:
    with SQLiteOutboxStore(store_path) as opened:
        yield opened


@pytest.fixture
def outbox(store: SQLiteOutboxStore, clock: FakeClock) -> Outbox:
    return Outbox(store, clock=clock, sleep=clock.sleep, jitter=lambda: 0.0)
