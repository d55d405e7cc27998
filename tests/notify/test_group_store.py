"""The SQLite notification groups: round trips, schema parts, concurrent writers."""

from __future__ import annotations

import datetime
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.errors import PermanentError
from bot.store.notifications import NotificationGroup, NotificationGroups
from bot.store.sqlite_notifications import MIGRATIONS, PART, SQLiteNotificationGroups
from bot.store.sqlite_outbox import SQLiteOutboxStore
from tests.notify.conftest import T0, at


def group(key: str = "g1", **changes: object) -> NotificationGroup:
    values: dict[str, object] = {
        "key": key,
        "workload": "Deployment/shop/web",
        "channel": "#shop",
        "message_key": f"{key}.1.0",
        "notice": '{"k": 1}',
        "count": 1,
        "first_seen": T0,
        "last_seen": T0,
        "shown_count": 1,
        "shown_at": T0,
    }
    values.update(changes)
    return NotificationGroup(**values)  # type: ignore[arg-type]


def test_store_satisfies_the_protocol(groups: SQLiteNotificationGroups) -> None:
    store: NotificationGroups = groups

    store.save_group(group())

    assert store.get_group("g1") == group()
    assert store.get_group("other") is None


def test_resolved_and_audit_groups_round_trip(groups: SQLiteNotificationGroups) -> None:
    saved = group(resolved_at=at(60), blocking=False, generation=3)

    groups.save_group(saved)

    assert groups.get_group("g1") == saved


def test_mark_shown_never_lowers_the_count(groups: SQLiteNotificationGroups) -> None:
    groups.save_group(group(count=5, shown_count=1))

    groups.mark_shown("g1", count=4, at=at(30))
    groups.mark_shown("g1", count=2, at=at(40))

    found = groups.get_group("g1")
    assert found is not None
    assert (found.shown_count, found.shown_at) == (4, at(30))


def test_pending_lists_only_lagging_open_groups(groups: SQLiteNotificationGroups) -> None:
    groups.save_group(group("lagging", count=3))
    groups.save_group(group("current"))
    groups.save_group(group("closed", count=3, resolved_at=at(5)))

    assert [g.key for g in groups.pending_groups()] == ["lagging"]


def test_groups_survive_reopening(tmp_path: Path) -> None:
    with SQLiteNotificationGroups(tmp_path / "store.db") as first:
        first.save_group(group())

    with SQLiteNotificationGroups(tmp_path / "store.db") as second:
        assert second.get_group("g1") == group()


def test_part_version_lives_beside_the_outbox(tmp_path: Path) -> None:
    """Both parts share `store_parts` in one file, each with its own version."""
    path = tmp_path / "store.db"
    with SQLiteOutboxStore(path), SQLiteNotificationGroups(path) as store:
        store.save_group(group())

    rows = dict(sqlite3.connect(path).execute("SELECT part, version FROM store_parts"))

    assert rows[PART] == len(MIGRATIONS)
    assert "outbox" in rows


def test_newer_part_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    SQLiteNotificationGroups(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE store_parts SET version = 99 WHERE part = ?", (PART,))

    with pytest.raises(PermanentError, match="schema version 99"):
        SQLiteNotificationGroups(path)


def test_concurrent_writers_lose_no_repeat(tmp_path: Path) -> None:
    """Two processes' worth of connections count into one group exactly."""
    path = tmp_path / "store.db"
    stores = [SQLiteNotificationGroups(path) for _ in range(2)]
    stores[0].save_group(group())
    since = T0 - datetime.timedelta(hours=1)

    def count(store: SQLiteNotificationGroups) -> None:
        for n in range(200):
            store.count_repeat("g1", at=at(n), active_since=since, started_since=since)

    threads = [threading.Thread(target=count, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    found = stores[0].get_group("g1")
    for store in stores:
        store.close()
    assert found is not None
    assert found.count == 401
