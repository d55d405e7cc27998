"""The outbox against the fake Slack Web API, through the real slack_sdk client.

Time is a fake clock: pacing, Retry-After and backoff move only when a test
advances it, so nothing here sleeps.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import PermanentError
from bot.slack.outbox import Ephemeral, Outbox, Post, Update, Upload, new_web_client
from bot.slack.ratelimits import RateLimits
from bot.store import Sighting
from bot.store.outbox import ItemState
from bot.store.sqlite_outbox import SQLiteOutboxStore
from tests.slack.conftest import ALERTS, PAYMENTS, FakeClock
from tests.slackfake import Failure, FakeSlack


def texts(slack: FakeSlack, channel: str = ALERTS) -> list[str]:
    return [message["text"] for message in slack.messages(channel)]


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def restarted(store_path: Path, clock: FakeClock) -> Outbox:
    """A new outbox on the same file, as after a crash and a restart."""
    return Outbox(SQLiteOutboxStore(store_path), clock=clock, sleep=clock.sleep, jitter=lambda: 0)


# -- delivery and order ------------------------------------------------------


async def test_post_is_delivered_and_keyed(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack
) -> None:
    await outbox.enqueue(Post(ALERTS, "Rejected: web", blocks=[section("*why*")], key="g1"))

    delivered = await outbox.deliver_pending(client)

    assert delivered == 1
    [message] = slack.messages(ALERTS)
    assert (message["text"], message["blocks"]) == ("Rejected: web", [section("*why*")])
    assert outbox.ts_for("g1") == (ALERTS, message["ts"])


async def test_enqueued_item_is_on_disk(outbox: Outbox, store_path: Path) -> None:
    item_id = await outbox.enqueue(Post(ALERTS, "hello"))

    with SQLiteOutboxStore(store_path) as other:
        assert [item.id for item in other.open_outbox_items()] == [item_id]


async def test_channel_order_is_kept_and_paced(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack, clock: FakeClock
) -> None:
    """One message a second per channel; other channels do not wait."""
    for number in range(3):
        await outbox.enqueue(Post(ALERTS, f"alert {number}"))
    await outbox.enqueue(Post(PAYMENTS, "payments"))

    first = await outbox.deliver_pending(client)
    too_soon = await outbox.deliver_pending(client)
    clock.advance(1.0)
    second = await outbox.deliver_pending(client)
    clock.advance(1.0)
    third = await outbox.deliver_pending(client)

    assert (first, too_soon, second, third) == (2, 0, 1, 1)
    assert texts(slack) == ["alert 0", "alert 1", "alert 2"]
    assert texts(slack, PAYMENTS) == ["payments"]


async def test_ephemeral_reaches_its_user(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack
) -> None:
    slack.add_user("U0ALICE", "alice")
    await outbox.enqueue(Ephemeral(ALERTS, "U0ALICE", "Only you can see this."))

    await outbox.deliver_pending(client)

    [shown] = slack.ephemerals
    assert (shown["user"], shown["text"]) == ("U0ALICE", "Only you can see this.")
    assert slack.messages(ALERTS) == []


async def test_run_delivers_until_stopped(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack
) -> None:
    stop = asyncio.Event()
    runner = asyncio.create_task(outbox.run(client, stop=stop))
    await outbox.enqueue(Post(ALERTS, "first"))
    await outbox.enqueue(Post(ALERTS, "second"))

    for _ in range(200):
        if len(slack.messages(ALERTS)) == 2:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(runner, timeout=5)

    assert texts(slack) == ["first", "second"]


# -- rate limits and retries -------------------------------------------------


async def test_retry_after_is_honoured(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack, clock: FakeClock
) -> None:
    slack.fail_next("chat.postMessage", Failure.rate_limited(retry_after=30))
    await outbox.enqueue(Post(ALERTS, "hello"))

    refused = await outbox.deliver_pending(client)
    clock.advance(29)
    still_waiting = await outbox.deliver_pending(client)
    calls_while_waiting = len(slack.calls_to("chat.postMessage"))
    clock.advance(1)
    delivered = await outbox.deliver_pending(client)

    assert (refused, still_waiting, delivered) == (0, 0, 1)
    assert calls_while_waiting == 1
    assert texts(slack) == ["hello"]


async def test_retry_after_holds_only_its_channel(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack
) -> None:
    slack.fail_next("chat.postMessage", Failure.rate_limited(retry_after=30))
    await outbox.enqueue(Post(ALERTS, "held"))
    await outbox.enqueue(Post(ALERTS, "behind it"))
    await outbox.enqueue(Post(PAYMENTS, "free"))

    delivered = await outbox.deliver_pending(client)

    assert delivered == 1
    assert texts(slack, PAYMENTS) == ["free"]
    assert texts(slack) == []


async def test_server_errors_are_retried_with_backoff(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack, clock: FakeClock
) -> None:
    """After a 5xx the post may exist, so the history is checked first."""
    slack.fail_next("chat.postMessage", Failure(status=500), Failure(status=503))
    await outbox.enqueue(Post(ALERTS, "hello"))

    await outbox.deliver_pending(client)
    clock.advance(0.5)  # the first backoff (1s, halved by zero jitter) is over,
    early = await outbox.deliver_pending(client)  # but one post a second holds
    clock.advance(0.5)
    await outbox.deliver_pending(client)
    clock.advance(0.9)  # the second backoff: 2s, halved
    too_early = await outbox.deliver_pending(client)
    clock.advance(0.1)
    delivered = await outbox.deliver_pending(client)

    assert (early, too_early, delivered) == (0, 0, 1)
    assert [c.method for c in slack.calls] == [
        "chat.postMessage",
        "conversations.history",
        "chat.postMessage",
        "conversations.history",
        "chat.postMessage",
    ]
    assert texts(slack) == ["hello"]


async def test_persistent_server_errors_give_up(
    store: SQLiteOutboxStore, client: AsyncWebClient, slack: FakeSlack, clock: FakeClock
) -> None:
    outbox = Outbox(store, clock=clock, jitter=lambda: 0, max_attempts=3, settle=False)
    slack.fail_next("chat.postMessage", *[Failure(status=502)] * 3)
    item_id = await outbox.enqueue(Post(ALERTS, "hello"))

    for _ in range(5):
        await outbox.deliver_pending(client)
        clock.advance(60)

    item = store.get_outbox_item(item_id)
    assert item is not None
    assert (item.state, item.error) == (ItemState.FAILED, "internal_error, 3 times")
    assert len(slack.calls_to("chat.postMessage")) == 3


async def test_network_error_is_retried(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack, clock: FakeClock
) -> None:
    slack.fail_next("chat.postMessage", Failure(disconnect=True))
    await outbox.enqueue(Post(ALERTS, "hello"))

    await outbox.deliver_pending(client)
    clock.advance(1)
    await outbox.deliver_pending(client)

    assert texts(slack) == ["hello"]


# -- exactly once across failures and restarts -------------------------------


async def test_lost_answer_is_not_posted_twice(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack, clock: FakeClock
) -> None:
    """Slack posted it but the answer never came: the history shows it."""
    slack.fail_next("chat.postMessage", Failure.lost_answer())
    await outbox.enqueue(Post(ALERTS, "hello", key="g1"))

    await outbox.deliver_pending(client)
    clock.advance(1)
    delivered = await outbox.deliver_pending(client)

    [message] = slack.messages(ALERTS)
    assert delivered == 1
    assert outbox.ts_for("g1") == (ALERTS, message["ts"])
    assert len(slack.calls_to("chat.postMessage")) == 1


async def test_crash_during_call_is_settled_after_restart(
    outbox: Outbox, store_path: Path, client: AsyncWebClient, slack: FakeSlack, clock: FakeClock
) -> None:
    """The bot dies while Slack is posting; the new bot finds the post."""
    slack.fail_next("chat.postMessage", Failure.hang_after())
    await outbox.enqueue(Post(ALERTS, "first", key="g1"))
    await outbox.enqueue(Post(ALERTS, "second"))
    await outbox.enqueue(Post(ALERTS, "third"))

    crashing = asyncio.create_task(outbox.deliver_pending(client))
    await asyncio.wait_for(slack.stalled.wait(), timeout=5)
    crashing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await crashing
    after_restart = restarted(store_path, clock)
    for _ in range(3):
        await after_restart.deliver_pending(client)
        clock.advance(1)

    assert texts(slack) == ["first", "second", "third"]
    assert after_restart.ts_for("g1") == (ALERTS, slack.messages(ALERTS)[0]["ts"])


async def test_restart_mid_queue_delivers_rest_once(
    outbox: Outbox, store_path: Path, client: AsyncWebClient, slack: FakeSlack, clock: FakeClock
) -> None:
    for number in range(4):
        await outbox.enqueue(Post(ALERTS, f"alert {number}"))
    await outbox.deliver_pending(client)
    slack.fail_next("chat.postMessage", Failure.lost_answer())
    clock.advance(1)
    await outbox.deliver_pending(client)

    after_restart = restarted(store_path, clock)
    for _ in range(4):
        clock.advance(1)
        await after_restart.deliver_pending(client)

    assert texts(slack) == ["alert 0", "alert 1", "alert 2", "alert 3"]
    assert after_restart._store.open_outbox_items() == []


async def test_unverifiable_lost_answer_is_sent_again(
    outbox: Outbox,
    client: AsyncWebClient,
    slack: FakeSlack,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without the history scope, the documented window: a duplicate."""
    slack.fail_next("chat.postMessage", Failure.lost_answer())
    slack.fail_next("conversations.history", Failure.refusal("missing_scope"))
    await outbox.enqueue(Post(ALERTS, "hello"))

    await outbox.deliver_pending(client)
    clock.advance(1)
    with caplog.at_level(logging.WARNING, logger="bot.slack.delivering"):
        await outbox.deliver_pending(client)

    assert texts(slack) == ["hello", "hello"]
    assert "may appear twice" in caplog.text


# -- updates, threads and files ----------------------------------------------


async def test_update_waits_for_its_post(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack, clock: FakeClock
) -> None:
    slack.fail_next("chat.postMessage", Failure.rate_limited(retry_after=10))
    await outbox.enqueue(Post(ALERTS, "seen once", key="g1"))
    await outbox.enqueue(Update("g1", "seen 5 times"))

    await outbox.deliver_pending(client)
    updates_before_post = len(slack.calls_to("chat.update"))
    clock.advance(10)
    delivered = await outbox.deliver_pending(client)

    assert (updates_before_post, delivered) == (0, 2)
    assert texts(slack) == ["seen 5 times"]


async def test_waiting_updates_collapse_to_latest(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack, store: SQLiteOutboxStore
) -> None:
    await outbox.enqueue(Post(ALERTS, "seen once", key="g1"))
    first = await outbox.enqueue(Update("g1", "seen 2 times"))
    await outbox.enqueue(Update("g1", "seen 3 times"))
    await outbox.enqueue(Update("g1", "seen 4 times"))

    await outbox.deliver_pending(client)

    [update] = slack.calls_to("chat.update")
    assert update.args["text"] == "seen 4 times"
    superseded = store.get_outbox_item(first)
    assert superseded is not None
    assert superseded.state is ItemState.SUPERSEDED


async def test_update_replaces_blocks(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack
) -> None:
    """An update without blocks clears the old ones rather than keep them."""
    await outbox.enqueue(Post(ALERTS, "old", blocks=[section("old")], key="g1"))
    await outbox.enqueue(Update("g1", "resolved"))

    await outbox.deliver_pending(client)

    [message] = slack.messages(ALERTS)
    assert (message["text"], message["blocks"]) == ("resolved", [])


async def test_reply_goes_into_its_thread(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack, clock: FakeClock
) -> None:
    await outbox.enqueue(Post(ALERTS, "rejection", key="g1"))
    await outbox.enqueue(Post(ALERTS, "exception requested", thread_key="g1"))

    await outbox.deliver_pending(client)
    clock.advance(1)
    await outbox.deliver_pending(client)

    parent, reply = slack.messages(ALERTS)
    assert reply["thread_ts"] == parent["ts"]


async def test_upload_waits_and_lands_in_thread(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack, clock: FakeClock
) -> None:
    await outbox.enqueue(Post(ALERTS, "rejection", key="g1"))
    await outbox.enqueue(Upload(ALERTS, "fix.diff", "+  runAsNonRoot: true\n", thread_key="g1"))

    await outbox.deliver_pending(client)
    clock.advance(1)
    await outbox.deliver_pending(client)

    parent, shared = slack.messages(ALERTS)
    [file] = shared["files"]
    assert shared["thread_ts"] == parent["ts"]
    assert file["name"] == "fix.diff"
    assert slack.files[file["id"]]["content"] == b"+  runAsNonRoot: true\n"


async def test_long_message_continues_in_thread(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack, clock: FakeClock
) -> None:
    """60 blocks: 50 in the message, the rest in a reply; Slack takes both."""
    many = [section(f"finding {number}") for number in range(60)]
    await outbox.enqueue(Post(ALERTS, "60 findings", blocks=many, key="g1"))

    for _ in range(2):
        await outbox.deliver_pending(client)
        clock.advance(1)

    first, second = slack.messages(ALERTS)
    assert (len(first["blocks"]), len(second["blocks"])) == (50, 10)
    assert second["thread_ts"] == first["ts"]
    assert second["text"] == "60 findings (part 2 of 2)"
    assert all(call.ok for call in slack.calls)


async def test_long_diff_becomes_file_in_thread(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack, clock: FakeClock
) -> None:
    diff = "--- a/deploy.yaml\n+++ b/deploy.yaml\n" + "".join(
        f"@@ -{n} +{n} @@\n-  image: app:{n}\n+  image: app:{n}-fixed\n" for n in range(150)
    )
    text = f"*How to fix*\n```{diff}```"
    await outbox.enqueue(Post(ALERTS, "fix", blocks=[section(text)], key="g1"))

    for _ in range(2):
        await outbox.deliver_pending(client)
        clock.advance(1)

    message, shared = slack.messages(ALERTS)
    [file] = shared["files"]
    assert "attached as `snippet-1.diff`" in message["blocks"][0]["text"]["text"]
    assert shared["thread_ts"] == message["ts"]
    assert slack.files[file["id"]]["content"] == diff.strip("\n").encode()


async def test_update_does_not_attach_same_file_again(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack, clock: FakeClock
) -> None:
    diff = "".join(f"+ line {n}\n" for n in range(500))
    await outbox.enqueue(Post(ALERTS, "seen once", blocks=[section(f"```{diff}```")], key="g1"))
    await outbox.enqueue(Update("g1", "seen twice", blocks=[section(f"```{diff}```")]))

    for _ in range(3):
        await outbox.deliver_pending(client)
        clock.advance(1)

    assert len(slack.calls_to("files.completeUploadExternal")) == 1
    assert len(slack.calls_to("chat.update")) == 1


async def test_invalid_blocks_fall_back_to_text(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack, clock: FakeClock
) -> None:
    odd = [section("*Why:* privileged containers"), {"type": "carousel"}]
    await outbox.enqueue(Post(ALERTS, "Rejected", blocks=odd))

    await outbox.deliver_pending(client)
    clock.advance(1)
    await outbox.deliver_pending(client)

    [message] = slack.messages(ALERTS)
    assert message["text"] == "*Why:* privileged containers"
    assert "blocks" not in message


async def test_lost_thread_reply_is_found_in_thread(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack, clock: FakeClock
) -> None:
    await outbox.enqueue(Post(ALERTS, "rejection", key="g1"))
    await outbox.enqueue(Post(ALERTS, "reply", thread_key="g1"))
    await outbox.deliver_pending(client)
    slack.fail_next("chat.postMessage", Failure.lost_answer())

    for _ in range(3):
        clock.advance(1)
        await outbox.deliver_pending(client)

    assert texts(slack) == ["rejection", "reply"]
    assert [c.method for c in slack.calls][-1] == "conversations.replies"


async def test_update_grows_and_shrinks_parts(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack, clock: FakeClock
) -> None:
    """Parts are edited in place; new ones go to the thread, spare ones say so."""

    def findings(count: int) -> list[dict[str, Any]]:
        return [section(f"finding {n}") for n in range(count)]

    async def deliver_all() -> None:
        for _ in range(4):
            await outbox.deliver_pending(client)
            clock.advance(1)

    await outbox.enqueue(Post(ALERTS, "findings", blocks=findings(60), key="g1"))
    await deliver_all()
    await outbox.enqueue(Update("g1", "fewer", blocks=findings(10)))
    await deliver_all()
    shrunk = [len(m.get("blocks") or []) for m in slack.messages(ALERTS)]
    await outbox.enqueue(Update("g1", "more", blocks=findings(120)))
    await deliver_all()

    first, second, third = slack.messages(ALERTS)
    assert shrunk == [10, 0]
    assert [len(m["blocks"]) for m in (first, second, third)] == [50, 50, 20]
    assert third["thread_ts"] == first["ts"]
    assert outbox.ts_for("g1#part3") == (ALERTS, third["ts"])


async def test_old_finished_items_are_forgotten(
    outbox: Outbox, client: AsyncWebClient, store: SQLiteOutboxStore
) -> None:
    await outbox.enqueue(Post(ALERTS, "hello", key="g1"))
    await outbox.enqueue(Post(PAYMENTS, "waiting", key="g2"))
    await outbox.deliver_pending(client)
    store.fail_outbox_item(2, error="test", at=0.0)
    await outbox.enqueue(Post(ALERTS, "still queued", key="g3"))

    forgotten = store.forget_outbox_items(before=time.time() + 1)

    assert forgotten == 2
    assert (outbox.ts_for("g1"), store.get_outbox_message("g2")) == (None, None)
    assert store.get_outbox_message("g3") is not None


# -- refusals ----------------------------------------------------------------


async def test_bad_token_stops_delivery(
    outbox: Outbox, slack: FakeSlack, store: SQLiteOutboxStore
) -> None:
    item_id = await outbox.enqueue(Post(ALERTS, "hello"))
    client = slack.client(token="xoxb-revoked")

    with pytest.raises(PermanentError, match=r"invalid_auth.*check the token"):
        await outbox.deliver_pending(client)
    with pytest.raises(PermanentError):
        await outbox.deliver_pending(client)

    item = store.get_outbox_item(item_id)
    assert item is not None
    assert item.state is ItemState.PENDING
    assert len(slack.calls) == 1


async def test_not_in_channel_joins_then_posts(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack, clock: FakeClock
) -> None:
    lobby = slack.add_channel("lobby", member=False)
    await outbox.enqueue(Post(lobby, "hello"))

    await outbox.deliver_pending(client)
    clock.advance(1)
    await outbox.deliver_pending(client)

    assert texts(slack, lobby) == ["hello"]
    assert [c.method for c in slack.calls] == [
        "chat.postMessage",
        "conversations.join",
        "chat.postMessage",
    ]


async def test_private_channel_asks_for_invite(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack, store: SQLiteOutboxStore
) -> None:
    secret = slack.add_channel("secret", private=True, member=False)
    item_id = await outbox.enqueue(Post(secret, "hello"))

    await outbox.deliver_pending(client)

    item = store.get_outbox_item(item_id)
    assert item is not None
    assert item.state is ItemState.FAILED
    assert "method_not_supported_for_channel_type" in item.error
    assert "/invite" in item.error


async def test_refused_post_fails_its_dependents(
    outbox: Outbox, client: AsyncWebClient, slack: FakeSlack, store: SQLiteOutboxStore
) -> None:
    """A missing channel fails the post and its update; others go on."""
    post = await outbox.enqueue(Post("C0MISSING", "hello", key="g1"))
    update = await outbox.enqueue(Update("g1", "hello again"))
    await outbox.enqueue(Post(PAYMENTS, "unrelated"))

    delivered = await outbox.deliver_pending(client)

    states = [store.get_outbox_item(i) for i in (post, update)]
    assert [(s.state, s.error[:17]) for s in states if s] == [
        (ItemState.FAILED, "channel_not_found"),
        (ItemState.FAILED, "its message 'g1' "),
    ]
    assert delivered == 1


async def test_update_of_unknown_key_is_recorded(outbox: Outbox, store: SQLiteOutboxStore) -> None:
    item_id = await outbox.enqueue(Update("never-posted", "text"))

    item = store.get_outbox_item(item_id)

    assert item is not None
    assert item.state is ItemState.FAILED
    assert "never posted" in item.error


async def test_posting_same_key_twice_queues_once(outbox: Outbox, client: AsyncWebClient) -> None:
    """A caller that crashed and enqueues again does not post twice."""
    first = await outbox.enqueue(Post(ALERTS, "hello", key="g1"))
    again = await outbox.enqueue(Post(ALERTS, "hello", key="g1"))

    delivered = await outbox.deliver_pending(client)

    assert (again, delivered) == (first, 1)


async def test_retrying_client_gets_a_warning(
    outbox: Outbox, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    eager = AsyncWebClient(token=slack.token, base_url=slack.base_url)

    with caplog.at_level(logging.WARNING, logger="bot.slack.outbox"):
        await outbox.deliver_pending(eager)

    assert "new_web_client" in caplog.text
    assert new_web_client("xoxb-x").retry_handlers == []


# -- the store and the pacing underneath -------------------------------------


def test_outbox_tables_sit_beside_the_core_store(store_path: Path) -> None:
    with SQLiteOutboxStore(store_path) as first:
        instance = first.outbox_instance()
        first.record_sighting(Sighting("u1", 1, "rv", _epoch()))

    with SQLiteOutboxStore(store_path) as second:
        assert second.outbox_instance() == instance
        assert second.get_sighting("u1") is not None
    with sqlite3.connect(store_path) as db:
        assert db.execute("SELECT version FROM store_parts WHERE part = 'outbox'").fetchone() == (
            1,
        )


def test_newer_outbox_schema_is_refused(store_path: Path) -> None:
    SQLiteOutboxStore(store_path).close()
    with sqlite3.connect(store_path) as db:
        db.execute("UPDATE store_parts SET version = 9 WHERE part = 'outbox'")

    with pytest.raises(PermanentError, match=r"version 9.*Run a newer bot"):
        SQLiteOutboxStore(store_path)


@pytest.mark.parametrize(
    ("method", "allowed"),
    [("chat.update", 50), ("conversations.list", 20), ("views.open", 100), ("mystery", 20)],
)
def test_tier_allows_calls_per_minute(method: str, allowed: int) -> None:
    clock = FakeClock()
    limits = RateLimits(clock=clock)
    for _ in range(allowed):
        assert limits.wait_time(method) == 0
        limits.note_call(method)

    assert limits.wait_time(method) == pytest.approx(60)
    clock.advance(60)
    assert limits.wait_time(method) == 0


def test_retry_after_covers_method_or_channel() -> None:
    clock = FakeClock()
    limits = RateLimits(clock=clock)
    limits.note_retry_after("chat.postMessage", ALERTS, 30)
    limits.note_retry_after("users.info", None, 5)

    assert limits.wait_time("chat.postMessage", ALERTS) == 30
    assert limits.wait_time("chat.postMessage", PAYMENTS) == 0
    assert limits.wait_time("users.info", ALERTS) == 5


def _epoch() -> Any:
    import datetime

    return datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)


def test_window_edge_does_not_let_extra_calls_through():
    """A call counted as expired by the wait is also dropped from the window."""
    from bot.slack.ratelimits import RateLimits

    start = 1014.7105742562832  # a value where `start + 60 - 60` rounds below start
    now = [start]
    limits = RateLimits(clock=lambda: now[0])
    for _ in range(50):
        limits.note_call("chat.update")
    now[0] = start + 60.0
    waits = []
    for _ in range(51):
        waits.append(limits.wait_time("chat.update"))
        limits.note_call("chat.update")

    assert waits[:50] == [0.0] * 50
    assert waits[50] > 0
