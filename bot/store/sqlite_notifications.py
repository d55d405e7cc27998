"""Notification groups in the store's SQLite file.

The table has its own schema steps, versioned per part in `store_parts`
rather than in `PRAGMA user_version`, which `bot.store.sqlite` uses for the
core tables: parts added side by side (the outbox, these groups) then
upgrade independently, and an old file gains a part the first time a bot
that knows it opens the file.

Counting a repeat and resolving a workload are single UPDATE ... RETURNING
statements, so they are atomic even with two writers on one file.
"""

from __future__ import annotations

import datetime
import logging
from pathlib import Path
from typing import Any

from bot.store.notifications import NotificationGroup
from bot.store.sqlite import SQLiteStore, migrate_part

logger = logging.getLogger(__name__)

PART = "notification_groups"

# Each entry upgrades this part from version N to N+1 (N is its index).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE notification_groups (
        key TEXT PRIMARY KEY,
        workload TEXT NOT NULL,
        channel TEXT NOT NULL,
        message_key TEXT NOT NULL,
        notice TEXT NOT NULL,
        count INTEGER NOT NULL,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        shown_count INTEGER NOT NULL,
        shown_at REAL NOT NULL,
        resolved_at REAL,
        generation INTEGER NOT NULL,
        blocking INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX notification_groups_by_workload ON notification_groups (workload);
    CREATE INDEX notification_groups_by_time ON notification_groups (last_seen);
    """,
)

_COLUMNS = (
    "key, workload, channel, message_key, notice, count, first_seen, last_seen, "
    "shown_count, shown_at, resolved_at, generation, blocking"
)


class SQLiteNotificationGroups(SQLiteStore):
    """The `bot.store.SQLiteStore`, plus `bot.store.notifications.NotificationGroups`."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        with self._translating("upgrade the notification groups"):
            migrate_part(self._db, PART, MIGRATIONS, path=self.path)

    def __enter__(self) -> SQLiteNotificationGroups:
        return self

    def get_group(self, key: str) -> NotificationGroup | None:
        with self._translating("read a notification group"):
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM notification_groups WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else _group(row)

    def save_group(self, group: NotificationGroup) -> None:
        with self._translating("save a notification group"):
            self._db.execute(
                f"INSERT OR REPLACE INTO notification_groups ({_COLUMNS}) "
                f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    group.key,
                    group.workload,
                    group.channel,
                    group.message_key,
                    group.notice,
                    group.count,
                    group.first_seen.timestamp(),
                    group.last_seen.timestamp(),
                    group.shown_count,
                    group.shown_at.timestamp(),
                    group.resolved_at.timestamp() if group.resolved_at else None,
                    group.generation,
                    int(group.blocking),
                ),
            )

    def set_notice(self, key: str, notice: str) -> None:
        with self._translating("update a notification's text"):
            self._db.execute(
                "UPDATE notification_groups SET notice = ? WHERE key = ?", (notice, key)
            )

    def count_repeat(
        self,
        key: str,
        *,
        at: datetime.datetime,
        active_since: datetime.datetime,
        started_since: datetime.datetime,
    ) -> NotificationGroup | None:
        # NB: events may arrive out of order; last_seen only moves forward.
        with self._translating("count a repeat"):
            row = self._db.execute(
                f"""
                UPDATE notification_groups
                SET count = count + 1, last_seen = MAX(last_seen, ?)
                WHERE key = ? AND resolved_at IS NULL AND last_seen >= ? AND first_seen >= ?
                RETURNING {_COLUMNS}
                """,
                (at.timestamp(), key, active_since.timestamp(), started_since.timestamp()),
            ).fetchone()
        return None if row is None else _group(row)

    def mark_shown(self, key: str, *, count: int, at: datetime.datetime) -> None:
        with self._translating("mark a notification shown"):
            self._db.execute(
                "UPDATE notification_groups SET shown_count = ?, shown_at = ? "
                "WHERE key = ? AND shown_count <= ?",
                (count, at.timestamp(), key, count),
            )

    def resolve_groups(self, workload: str, *, at: datetime.datetime) -> list[NotificationGroup]:
        with self._translating("resolve notification groups"):
            rows = self._db.execute(
                f"""
                UPDATE notification_groups SET resolved_at = ?
                WHERE workload = ? AND blocking AND resolved_at IS NULL AND last_seen < ?
                RETURNING {_COLUMNS}
                """,
                (at.timestamp(), workload, at.timestamp()),
            ).fetchall()
        return sorted((_group(row) for row in rows), key=lambda g: g.first_seen)

    def pending_groups(self) -> list[NotificationGroup]:
        with self._translating("list pending notification groups"):
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM notification_groups "
                f"WHERE resolved_at IS NULL AND shown_count < count ORDER BY shown_at"
            ).fetchall()
        return [_group(row) for row in rows]

    def forget_groups(self, *, before: datetime.datetime) -> int:
        with self._translating("forget old notification groups"):
            cursor = self._db.execute(
                "DELETE FROM notification_groups WHERE last_seen < ?", (before.timestamp(),)
            )
        return cursor.rowcount


def _group(row: tuple[Any, ...]) -> NotificationGroup:
    return NotificationGroup(
        key=row[0],
        workload=row[1],
        channel=row[2],
        message_key=row[3],
        notice=row[4],
        count=row[5],
        first_seen=_moment(row[6]),
        last_seen=_moment(row[7]),
        shown_count=row[8],
        shown_at=_moment(row[9]),
        resolved_at=_moment(row[10]) if row[10] is not None else None,
        generation=row[11],
        blocking=bool(row[12]),
    )


def _moment(timestamp: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
