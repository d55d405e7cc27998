"""The SQLite store: sightings, pruning, schema versions and broken files."""

from __future__ import annotations

import datetime
import sqlite3
from pathlib import Path

import pytest

from bot.errors import PermanentError
from bot.store import Sighting, Store
from bot.store.sqlite import MIGRATIONS, SQLiteStore

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)


def sighting(uid: str = "u1", count: int = 1, *, at: datetime.datetime = NOW) -> Sighting:
    return Sighting(uid=uid, count=count, resource_version=f"rv-{count}", seen_at=at)


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "store.db")


def test_sighting_round_trips(store: SQLiteStore) -> None:
    store.record_sighting(sighting(count=3))

    assert store.get_sighting("u1") == sighting(count=3)
    assert store.get_sighting("other") is None


def test_lower_count_never_replaces_higher(store: SQLiteStore) -> None:
    """A late writer with an older view of the Event loses."""
    store.record_sighting(sighting(count=5))
    store.record_sighting(sighting(count=2))
    store.record_sighting(sighting(count=5, at=NOW + datetime.timedelta(seconds=1)))

    found = store.get_sighting("u1")

    assert found is not None
    assert (found.count, found.seen_at) == (5, NOW + datetime.timedelta(seconds=1))


def test_old_sightings_are_forgotten(store: SQLiteStore) -> None:
    store.record_sighting(sighting("old", at=NOW - datetime.timedelta(hours=30)))
    store.record_sighting(sighting("new", at=NOW - datetime.timedelta(hours=1)))

    forgotten = store.forget_sightings(before=NOW - datetime.timedelta(hours=24))

    assert forgotten == 1
    assert store.get_sighting("old") is None
    assert store.get_sighting("new") is not None


def test_sightings_survive_reopening(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "store.db") as first:
        first.record_sighting(sighting())

    with SQLiteStore(tmp_path / "store.db") as second:
        assert second.get_sighting("u1") == sighting()


def test_file_uses_wal_and_current_schema(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / "store.db").close()

    with sqlite3.connect(tmp_path / "store.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "store.db") as db:
        db.execute("PRAGMA user_version = 99")

    with pytest.raises(PermanentError, match=r"schema version 99.*Run a newer bot"):
        SQLiteStore(tmp_path / "store.db")


def test_missing_folder_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "store.db"

    with pytest.raises(PermanentError, match=f"Cannot open the store {path}"):
        SQLiteStore(path)


def test_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(b"this is not sqlite" * 100)

    with pytest.raises(PermanentError, match=f"{path}.*move it aside"):
        SQLiteStore(path)


def test_memory_store_satisfies_the_protocol() -> None:
    """`:memory:` gives a throwaway store for tools and tests."""
    store: Store = SQLiteStore(":memory:")
    store.record_sighting(sighting())

    assert store.get_sighting("u1") is not None
    store.close()
