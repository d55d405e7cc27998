"""The handler, the real outbox and a fake Slack Web API over HTTP."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.intake.teams import Registry
from bot.notify import Grouper, GroupSettings, Knowledge, Notifier
from bot.slack.outbox import Outbox
from bot.store.sqlite_notifications import SQLiteNotificationGroups
from bot.store.sqlite_outbox import SQLiteOutboxStore
from handlers.rejections import RejectionHandler
from tests.handlers.conftest import INVOLVED, T0, FakeCluster, failed_create
from tests.slack.conftest import FakeClock
from tests.slackfake import FakeSlack, block_errors


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_channel("payments-alerts", id="C0PAYMENTS")
        fake.add_channel("platform-help", id="C0PLATFORM")
        yield fake


async def test_burst_reaches_slack_as_one_message_per_rule(
    tmp_path: Path, slack: FakeSlack, registry: Registry, knowledge: Knowledge
) -> None:
    path = tmp_path / "store.db"
    with SQLiteOutboxStore(path) as outbox_store, SQLiteNotificationGroups(path) as groups:
        clock = FakeClock()
        outbox = Outbox(
            outbox_store, clock=clock, sleep=clock.sleep, settle=False, jitter=lambda: 0.0
        )
        settings = GroupSettings(update_interval=datetime.timedelta(0))
        cluster = FakeCluster()
        handler = RejectionHandler(
            registry=registry,
            knowledge=knowledge,
            notifier=Notifier(Grouper(groups, settings), outbox),
            owners=cluster,
            namespaces=cluster,
        )
        for n in range(25):
            at = T0 + datetime.timedelta(seconds=n)
            await handler.handle(failed_create(), involved=INVOLVED, at=at)

        # Deliver at Slack's pace: the outbox spaces posts to one channel.
        client = slack.client()
        while outbox_store.open_outbox_items():
            await outbox.deliver_pending(client)
            clock.advance(5.0)

    messages = slack.messages("C0PAYMENTS")
    assert len(messages) == 2
    assert all("Seen 25 times" in str(m["blocks"]) for m in messages)
    assert all(block_errors(m["blocks"], limit=50) == [] for m in messages)
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert len(slack.calls_to("chat.update")) < 25
