"""The outbox's part of the store, in the same SQLite file as the rest.

Its tables carry an `outbox_` prefix and have their own schema version, kept
per part in `store_parts` (as the notification groups do) rather than in
`PRAGMA user_version`, so parts added side by side upgrade independently.

Every state change commits before it returns. `start_outbox_item` in
particular is on disk before the outbox calls Slack, and `finish_outbox_item`
right after Slack answers: the gap between the two is the only time a crash
leaves an item whose fate is unknown.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

from bot.store.outbox import ItemKind, ItemState, MessageRecord, NewItem, OutboxItem
from bot.store.sqlite import SQLiteStore, migrate_part

logger = logging.getLogger(__name__)

PART = "outbox"

# Each entry upgrades the outbox's tables from version N to N+1 (its index).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE outbox_items (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        grp INTEGER NOT NULL,
        kind TEXT NOT NULL,
        lane TEXT NOT NULL,
        channel TEXT NOT NULL,
        key TEXT,
        thread_key TEXT,
        payload TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        attempted_at REAL,
        finished_at REAL,
        ts TEXT,
        error TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX outbox_items_open ON outbox_items (state, id);
    CREATE INDEX outbox_items_by_key ON outbox_items (key, state);
    CREATE TABLE outbox_messages (
        key TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        item INTEGER NOT NULL,
        parts INTEGER NOT NULL DEFAULT 1,
        thread_key TEXT,
        ts TEXT,
        failure TEXT NOT NULL DEFAULT ''
    ) WITHOUT ROWID;
    CREATE TABLE outbox_files (
        key TEXT NOT NULL,
        digest TEXT NOT NULL,
        PRIMARY KEY (key, digest)
    ) WITHOUT ROWID;
    CREATE TABLE outbox_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    """,
)

_OPEN_STATES = (ItemState.PENDING.value, ItemState.SENDING.value)
_ITEM_COLUMNS = (
    "id, grp, kind, lane, channel, key, thread_key, payload, state, attempts, "
    "created_at, attempted_at, ts, error"
)


class SQLiteOutboxStore(SQLiteStore):
    """The `bot.store.SQLiteStore`, plus `bot.store.outbox.OutboxStore`.

    It shares the store's one connection and lock. Other parts subclass
    `SQLiteStore` the same way and call `super().__init__`, so one class can
    combine them all.
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        with self._translating("upgrade the outbox"):
            migrate_part(self._db, PART, MIGRATIONS, path=self.path)
            self._instance = self._ensure_instance()

    def __enter__(self) -> Self:
        return self

    def outbox_instance(self) -> str:
        return self._instance

    def add_outbox_items(
        self,
        items: Sequence[NewItem],
        *,
        parts: Mapping[str, int] | None = None,
        files: Sequence[tuple[str, str]] = (),
        supersede: Sequence[str] = (),
        at: float,
    ) -> list[int]:
        ids: list[int] = []
        with self._translating("enqueue a Slack message"), self._transaction():
            # Older updates that nobody has sent yet are replaced by the new one.
            for key in supersede:
                self._db.execute(
                    "UPDATE outbox_items SET state = ?, finished_at = ? "
                    "WHERE kind = ? AND key = ? AND state = ?",
                    (ItemState.SUPERSEDED, at, ItemKind.UPDATE, key, ItemState.PENDING),
                )

            for item in items:
                cursor = self._db.execute(
                    "INSERT INTO outbox_items (grp, kind, lane, channel, key, thread_key, "
                    "payload, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        ids[0] if ids else 0,
                        item.kind,
                        item.lane,
                        item.channel,
                        item.key,
                        item.thread_key,
                        json.dumps(item.payload, ensure_ascii=False),
                        ItemState.PENDING,
                        at,
                    ),
                )
                assert cursor.lastrowid is not None
                ids.append(cursor.lastrowid)
                if item.kind is ItemKind.POST and item.key is not None:
                    self._put_message(item, item_id=cursor.lastrowid)
            if ids:
                # Only the first row was inserted before its own id was known.
                self._db.execute("UPDATE outbox_items SET grp = ? WHERE id = ?", (ids[0], ids[0]))

            # The message's shape and the files that now hang off it.
            for key, count in (parts or {}).items():
                self._db.execute("UPDATE outbox_messages SET parts = ? WHERE key = ?", (count, key))
            self._db.executemany(
                "INSERT OR IGNORE INTO outbox_files (key, digest) VALUES (?, ?)", files
            )
        return ids

    def open_outbox_items(self) -> list[OutboxItem]:
        with self._translating("read the outbox"):
            rows = self._db.execute(
                f"SELECT {_ITEM_COLUMNS} FROM outbox_items WHERE state IN (?, ?) ORDER BY id",
                _OPEN_STATES,
            ).fetchall()
        return [_item_from_row(row) for row in rows]

    def get_outbox_item(self, item_id: int) -> OutboxItem | None:
        with self._translating("read the outbox"):
            row = self._db.execute(
                f"SELECT {_ITEM_COLUMNS} FROM outbox_items WHERE id = ?", (item_id,)
            ).fetchone()
        return None if row is None else _item_from_row(row)

    def get_outbox_message(self, key: str) -> MessageRecord | None:
        with self._translating("read the outbox"):
            row = self._db.execute(
                "SELECT key, channel, item, parts, thread_key, ts, failure "
                "FROM outbox_messages WHERE key = ?",
                (key,),
            ).fetchone()
        if row is None:
            return None
        return MessageRecord(
            key=row[0],
            channel=row[1],
            item=row[2],
            parts=row[3],
            thread_key=row[4],
            ts=row[5],
            failure=row[6],
        )

    def has_outbox_file(self, key: str, digest: str) -> bool:
        with self._translating("read the outbox"):
            row = self._db.execute(
                "SELECT 1 FROM outbox_files WHERE key = ? AND digest = ?", (key, digest)
            ).fetchone()
        return row is not None

    def start_outbox_item(self, item_id: int, *, at: float) -> None:
        with self._translating("mark a Slack message as sending"):
            self._db.execute(
                "UPDATE outbox_items SET state = ?, attempts = attempts + 1, attempted_at = ? "
                "WHERE id = ?",
                (ItemState.SENDING, at, item_id),
            )

    def release_outbox_item(self, item_id: int, *, error: str, maybe_sent: bool) -> None:
        state = ItemState.SENDING if maybe_sent else ItemState.PENDING
        refund = 0 if maybe_sent else 1
        with self._translating("put a Slack message back in the outbox"):
            self._db.execute(
                "UPDATE outbox_items SET state = ?, error = ?, attempts = attempts - ? "
                "WHERE id = ?",
                (state, error, refund, item_id),
            )

    def finish_outbox_item(self, item_id: int, *, ts: str | None, at: float) -> None:
        with self._translating("record a delivered Slack message"), self._transaction():
            self._db.execute(
                "UPDATE outbox_items SET state = ?, ts = ?, finished_at = ?, error = '' "
                "WHERE id = ?",
                (ItemState.DONE, ts, at, item_id),
            )
            self._db.execute(
                "UPDATE outbox_messages SET ts = ? WHERE item = ? AND ? IS NOT NULL",
                (ts, item_id, ts),
            )

    def fail_outbox_item(self, item_id: int, *, error: str, at: float) -> None:
        with self._translating("record a failed Slack message"), self._transaction():
            self._db.execute(
                "UPDATE outbox_items SET state = ?, error = ?, finished_at = ? WHERE id = ?",
                (ItemState.FAILED, error, at, item_id),
            )
            self._db.execute(
                "UPDATE outbox_messages SET failure = ? WHERE item = ?", (error, item_id)
            )

    def forget_outbox_items(self, *, before: float) -> int:
        with self._translating("forget old Slack messages"), self._transaction():
            cursor = self._db.execute(
                "DELETE FROM outbox_items WHERE state NOT IN (?, ?) AND finished_at < ?",
                (*_OPEN_STATES, before),
            )
            self._db.execute(
                "DELETE FROM outbox_messages WHERE item NOT IN (SELECT id FROM outbox_items)"
            )
            self._db.execute(
                "DELETE FROM outbox_files WHERE key NOT IN (SELECT key FROM outbox_messages)"
            )
        return cursor.rowcount

    def _put_message(self, item: NewItem, *, item_id: int) -> None:
        # NB: posting under a key again starts a new message; the old one is
        # forgotten, and updates from now on go to the new one.
        self._db.execute(
            """
            INSERT INTO outbox_messages (key, channel, item, thread_key)
            VALUES (?, ?, ?, ?)
            ON CONFLICT (key) DO UPDATE SET
                channel = excluded.channel,
                item = excluded.item,
                thread_key = excluded.thread_key,
                parts = 1,
                ts = NULL,
                failure = ''
            """,
            (item.key, item.channel, item_id, item.thread_key),
        )

    def _ensure_instance(self) -> str:
        with self._transaction():
            row = self._db.execute(
                "SELECT value FROM outbox_meta WHERE name = 'instance'"
            ).fetchone()
            if row is not None:
                return str(row[0])
            instance = uuid.uuid4().hex[:12]
            self._db.execute(
                "INSERT INTO outbox_meta (name, value) VALUES ('instance', ?)", (instance,)
            )
            return instance

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def _item_from_row(row: tuple[Any, ...]) -> OutboxItem:
    return OutboxItem(
        id=row[0],
        group=row[1],
        kind=ItemKind(row[2]),
        lane=row[3],
        channel=row[4],
        key=row[5],
        thread_key=row[6],
        payload=json.loads(row[7]),
        state=ItemState(row[8]),
        attempts=row[9],
        created_at=row[10],
        attempted_at=row[11],
        ts=row[12],
        error=row[13],
    )
