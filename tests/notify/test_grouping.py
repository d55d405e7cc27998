"""Grouping: which rejections are news, which are repeats, and when to update."""

from __future__ import annotations

import datetime

import pytest

from bot.notify.grouping import Grouper, GroupKey, GroupSettings
from bot.store.sqlite_notifications import SQLiteNotificationGroups
from tests.notify.conftest import T0, at

KEY = GroupKey.make(
    kind="Deployment", namespace="shop", name="web", policy="disallow-latest-tag", rule="x"
)
SETTINGS = GroupSettings(
    window=datetime.timedelta(minutes=10),
    max_age=datetime.timedelta(hours=1),
    update_interval=datetime.timedelta(seconds=30),
)


@pytest.fixture
def grouper(groups: SQLiteNotificationGroups) -> Grouper:
    return Grouper(groups, SETTINGS)


def test_first_rejection_has_no_group(grouper: Grouper) -> None:
    assert grouper.count_repeat(KEY, at=T0) is None


def test_repeat_within_window_is_counted(grouper: Grouper) -> None:
    grouper.open(KEY, channel="#shop", notice="{}", at=T0)

    first = grouper.count_repeat(KEY, at=at(10))
    second = grouper.count_repeat(KEY, at=at(40))

    assert first is not None
    assert second is not None
    assert (first.group.count, first.update_now) == (2, False)
    assert (second.group.count, second.update_now) == (3, True)
    assert second.group.last_seen == at(40)


def test_repeat_after_quiet_window_needs_new_message(grouper: Grouper) -> None:
    grouper.open(KEY, channel="#shop", notice="{}", at=T0)

    assert grouper.count_repeat(KEY, at=at(599)) is not None
    assert grouper.count_repeat(KEY, at=at(599 + 601)) is None


def test_steady_repeats_restart_after_max_age(grouper: Grouper) -> None:
    """A problem that never pauses still gets a fresh message every max_age."""
    grouper.open(KEY, channel="#shop", notice="{}", at=T0)
    for minute in range(1, 60):
        assert grouper.count_repeat(KEY, at=at(minute * 60)) is not None

    assert grouper.count_repeat(KEY, at=at(3601)) is None


def test_new_generation_gets_new_message_key(grouper: Grouper) -> None:
    first = grouper.open(KEY, channel="#shop", notice="{}", at=T0)
    second = grouper.open(KEY, channel="#shop", notice="{}", at=at(3600))

    assert (first.generation, second.generation) == (1, 2)
    assert first.message_key != second.message_key
    assert second.message_key.startswith(KEY.digest)


def test_out_of_order_repeat_keeps_last_seen(grouper: Grouper) -> None:
    grouper.open(KEY, channel="#shop", notice="{}", at=at(100))

    repeat = grouper.count_repeat(KEY, at=at(50))

    assert repeat is not None
    assert (repeat.group.count, repeat.group.last_seen) == (2, at(100))


def test_admission_resolves_blocking_groups_only(grouper: Grouper) -> None:
    grouper.open(KEY, channel="#shop", notice="{}", at=T0)
    audit = GroupKey.make(kind="Deployment", namespace="shop", name="web", policy="p", rule="a")
    grouper.open(audit, channel="#shop", notice="{}", at=T0, blocking=False)

    resolved = grouper.resolve(KEY.workload, at=at(60))

    assert [group.key for group in resolved] == [KEY.digest]
    assert grouper.count_repeat(KEY, at=at(61)) is None
    assert grouper.count_repeat(audit, at=at(61)) is not None


def test_admission_before_last_rejection_resolves_nothing(grouper: Grouper) -> None:
    grouper.open(KEY, channel="#shop", notice="{}", at=T0)
    grouper.count_repeat(KEY, at=at(120))

    assert grouper.resolve(KEY.workload, at=at(60)) == []
    assert grouper.resolve(KEY.workload, at=at(120)) == []
    assert len(grouper.resolve(KEY.workload, at=at(121))) == 1


def test_lagging_counts_are_due_after_interval(grouper: Grouper) -> None:
    grouper.open(KEY, channel="#shop", notice="{}", at=T0)
    grouper.count_repeat(KEY, at=at(5))

    assert grouper.due_updates(at=at(10)) == []
    assert [g.count for g in grouper.due_updates(at=at(30))] == [2]
    assert [g.count for g in grouper.due_updates(at=at(10), force=True)] == [2]

    grouper.shown(grouper.due_updates(at=at(30))[0], at=at(30))
    assert grouper.due_updates(at=at(90), force=True) == []


def test_old_groups_are_forgotten(grouper: Grouper) -> None:
    grouper.open(KEY, channel="#shop", notice="{}", at=T0)

    assert grouper.forget(at=at(3599)) == 0
    assert grouper.forget(at=at(3601)) == 1


@pytest.mark.parametrize(
    ("rule", "folded"),
    [
        ("autogen-forbid-latest-tag", "forbid-latest-tag"),
        ("autogen-cronjob-forbid-latest-tag", "forbid-latest-tag"),
        ("forbid-latest-tag", "forbid-latest-tag"),
        ("autogen-", "autogen-"),
        (None, None),
    ],
)
def test_generated_rules_share_the_pod_rules_group(rule: str | None, folded: str | None) -> None:
    key = GroupKey.make(kind="Deployment", namespace="a", name="b", policy="p", rule=rule)

    assert key.rule == folded


def test_digest_is_stable_and_short() -> None:
    again = GroupKey.make(
        kind="Deployment", namespace="shop", name="web", policy="disallow-latest-tag", rule="x"
    )
    other = GroupKey.make(
        kind="Deployment", namespace="shop", name="web", policy="disallow-latest-tag", rule="y"
    )

    assert KEY.digest == again.digest != other.digest
    assert len(KEY.digest) == 21
    assert KEY.workload == "Deployment/shop/web"


@pytest.mark.parametrize(
    ("window", "max_age", "interval"),
    [(0, 60, 0), (120, 60, 0), (60, 60, -1)],
)
def test_settings_refuse_nonsense(window: int, max_age: int, interval: int) -> None:
    with pytest.raises(ValueError, match="must"):
        GroupSettings(
            window=datetime.timedelta(seconds=window),
            max_age=datetime.timedelta(seconds=max_age),
            update_interval=datetime.timedelta(seconds=interval),
        )
