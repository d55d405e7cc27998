"""Delivery: posts, in-place updates, files in threads, and resolution."""

from __future__ import annotations

import datetime
import json

import pytest

from bot.notify.delivery import Notifier
from bot.notify.grouping import Grouper, GroupKey, GroupSettings
from bot.slack import outbox
from bot.slack.messages import FixView, Notice, Workload
from bot.store.sqlite_notifications import SQLiteNotificationGroups
from tests.notify.conftest import RecordingSink, at

KEY = GroupKey.make(kind="Deployment", namespace="shop", name="web", policy="p", rule="r")
SETTINGS = GroupSettings(update_interval=datetime.timedelta(seconds=30))


def notice(diff: str = "", *, with_fix: bool = True) -> Notice:
    return Notice(
        key=KEY.digest,
        workload=Workload("Deployment", "shop", "web"),
        team="shop",
        engine="kyverno",
        policy="p",
        rule="r",
        action="deny",
        message="no",
        title="A rule",
        why="Because.",
        how_to_fix="Change it.",
        fix=FixView("exact", diff=diff) if diff and with_fix else FixView("none", note="later"),
    )


class Composer:
    """Counts how often a notice had to be composed."""

    def __init__(self, diff: str = "") -> None:
        self.calls = 0
        self.diff = diff

    def __call__(self, with_fix: bool) -> Notice:
        self.calls += 1
        return notice(self.diff, with_fix=with_fix)


@pytest.fixture
def notifier(groups: SQLiteNotificationGroups, sink: RecordingSink) -> Notifier:
    return Notifier(Grouper(groups, SETTINGS), sink)


async def deliver(notifier: Notifier, seconds: float, compose: Composer, **extra: bool) -> str:
    return await notifier.deliver(
        KEY,
        at=at(seconds),
        channel="#shop",
        blocking=extra.get("blocking", True),
        compose=compose,
        fix_now=extra.get("fix_now", True),
    )


async def test_repeats_post_once_and_compose_once(notifier: Notifier, sink: RecordingSink) -> None:
    compose = Composer()

    outcomes = [await deliver(notifier, s, compose) for s in (0, 10, 20, 35, 40)]

    assert outcomes == ["posted", "counted", "counted", "updated", "counted"]
    assert compose.calls == 1
    posts, updates = sink.of(outbox.Post), sink.of(outbox.Update)
    assert len(posts) == 1
    assert len(updates) == 1
    assert isinstance(posts[0], outbox.Post)
    assert isinstance(updates[0], outbox.Update)
    assert updates[0].key == posts[0].key
    assert "Seen 4 times" in json.dumps(updates[0].blocks)


async def test_flush_shows_the_last_counts(notifier: Notifier, sink: RecordingSink) -> None:
    compose = Composer()
    for seconds in (0, 5, 6):
        await deliver(notifier, seconds, compose)

    assert await notifier.flush(at=at(10)) == 0
    assert await notifier.flush(at=at(10), force=True) == 1
    assert await notifier.flush(at=at(60), force=True) == 0

    last = sink.items[-1]
    assert isinstance(last, outbox.Update)
    assert "Seen 3 times" in json.dumps(last.blocks)


async def test_long_diff_is_uploaded_in_the_thread(notifier: Notifier, sink: RecordingSink) -> None:
    diff = "--- a/x\n+++ b/x\n" + "".join(f"+line {i}\n" for i in range(80))

    await deliver(notifier, 0, Composer(diff))

    post, upload = sink.items
    assert isinstance(post, outbox.Post)
    assert isinstance(upload, outbox.Upload)
    assert (upload.thread_key, upload.channel) == (post.key, "#shop")
    assert upload.content == diff
    assert upload.filename.endswith(".diff")


async def test_admission_resolves_the_message(notifier: Notifier, sink: RecordingSink) -> None:
    await deliver(notifier, 0, Composer())

    assert await notifier.resolve(KEY.workload, at=at(90)) == 1
    assert await notifier.resolve(KEY.workload, at=at(95)) == 0

    update = sink.items[-1]
    assert isinstance(update, outbox.Update)
    assert update.text.startswith("Resolved: Deployment shop/web")


async def test_rejection_after_resolution_posts_again(
    notifier: Notifier, sink: RecordingSink
) -> None:
    compose = Composer()
    await deliver(notifier, 0, compose)
    await notifier.resolve(KEY.workload, at=at(60))

    assert await deliver(notifier, 120, compose) == "posted"

    first, second = sink.of(outbox.Post)
    assert isinstance(first, outbox.Post)
    assert isinstance(second, outbox.Post)
    assert first.key != second.key


async def test_audit_findings_are_not_resolved(notifier: Notifier, sink: RecordingSink) -> None:
    await deliver(notifier, 0, Composer(), blocking=False)

    assert await notifier.resolve(KEY.workload, at=at(60)) == 0


async def test_fix_left_out_under_load_follows(
    notifier: Notifier, sink: RecordingSink, groups: SQLiteNotificationGroups
) -> None:
    diff = "--- a/x\n+++ b/x\n" + "".join(f"+line {i}\n" for i in range(80))
    compose = Composer(diff)
    await deliver(notifier, 0, compose, fix_now=False)

    assert notifier.fixes_pending == 1
    assert [type(item) for item in sink.items] == [outbox.Post]

    assert await notifier.complete_fixes(at=at(1)) == 1
    assert await notifier.complete_fixes(at=at(2)) == 0

    post, update, upload = sink.items
    assert isinstance(post, outbox.Post)
    assert isinstance(update, outbox.Update)
    assert isinstance(upload, outbox.Upload)
    assert update.key == upload.thread_key == post.key
    stored = groups.get_group(KEY.digest)
    assert stored is not None
    assert json.loads(stored.notice)["fix"]["status"] == "exact"
    assert compose.calls == 2


async def test_fix_budget_stops_early(notifier: Notifier, sink: RecordingSink) -> None:
    for rule in ("a", "b", "c"):
        key = GroupKey.make(kind="Deployment", namespace="shop", name="web", policy="p", rule=rule)
        await notifier.deliver(
            key, at=at(0), channel="#shop", blocking=True, compose=Composer("+x\n"), fix_now=False
        )

    assert await notifier.complete_fixes(at=at(1), budget=0.0) == 0
    assert await notifier.complete_fixes(at=at(1), budget=10.0) == 3


async def test_resolved_message_gets_no_late_fix(notifier: Notifier, sink: RecordingSink) -> None:
    await deliver(notifier, 0, Composer("+x\n"), fix_now=False)
    await notifier.resolve(KEY.workload, at=at(5))

    assert await notifier.complete_fixes(at=at(6)) == 0
