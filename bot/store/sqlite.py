"""The store in one SQLite file, in WAL mode.

WAL lets a reader (a CLI command inspecting the file) run beside the bot's
writer, and with `synchronous=NORMAL` a commit costs no fsync: a power cut
may lose the last few commits, never corrupt the file. Losing a sighting
only means one rejection could be handed on again, which is the safe side.

The schema is versioned with `PRAGMA user_version`; each step in
`MIGRATIONS` upgrades the file by one version, so an old file opens in a new
bot. A file from a newer bot is refused rather than guessed at. Parts kept
beside the core tables (the outbox, the notification groups) version
themselves in a `store_parts` table instead, each through `migrate_part`.

sqlite3's own exceptions never leave this module: a busy or locked file is a
`TemporaryError`, anything else a `PermanentError` that names the file.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from bot.errors import PermanentError, TemporaryError
from bot.store import Sighting

logger = logging.getLogger(__name__)

# Each entry upgrades the schema from version N to N+1 (N is its index).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE seen_events (
        uid TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        resource_version TEXT NOT NULL,
        seen_at REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX seen_events_by_time ON seen_events (seen_at);
    """,
)

# How long a writer waits for another process's lock before giving up.
BUSY_TIMEOUT_SECONDS = 5.0


class SQLiteStore:
    """The `bot.store.Store` in one file; `":memory:"` gives a throwaway one.

    One connection, guarded by a lock, so the store may be called from the
    event loop and from worker threads alike.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,  # we open transactions ourselves
                check_same_thread=False,
            )
        except sqlite3.Error as e:
            raise PermanentError(
                f"Cannot open the store {self.path}: {e}. "
                f"Check that its folder exists and is writable."
            ) from e
        with self._translating("open"):
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def get_sighting(self, uid: str) -> Sighting | None:
        with self._translating("read a sighting"):
            row = self._db.execute(
                "SELECT uid, count, resource_version, seen_at FROM seen_events WHERE uid = ?",
                (uid,),
            ).fetchone()
        if row is None:
            return None
        return Sighting(
            uid=row[0],
            count=row[1],
            resource_version=row[2],
            seen_at=datetime.datetime.fromtimestamp(row[3], tz=datetime.UTC),
        )

    def record_sighting(self, sighting: Sighting) -> None:
        # NB: the WHERE clause keeps the higher count when two writers race.
        with self._translating("record a sighting"):
            self._db.execute(
                """
                INSERT INTO seen_events (uid, count, resource_version, seen_at)
                VALUES (?, ?, ?, ?)
                ON CONFLICT (uid) DO UPDATE SET
                    count = excluded.count,
                    resource_version = excluded.resource_version,
                    seen_at = excluded.seen_at
                WHERE excluded.count >= seen_events.count
                """,
                (
                    sighting.uid,
                    sighting.count,
                    sighting.resource_version,
                    sighting.seen_at.timestamp(),
                ),
            )

    def forget_sightings(self, *, before: datetime.datetime) -> int:
        with self._translating("forget old sightings"):
            cursor = self._db.execute(
                "DELETE FROM seen_events WHERE seen_at < ?", (before.timestamp(),)
            )
        return cursor.rowcount

    def _migrate(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > len(MIGRATIONS):
            raise PermanentError(
                f"The store {self.path} has schema version {version}, but this bot knows "
                f"versions up to {len(MIGRATIONS)}. Run a newer bot or point it at another file."
            )

        # One transaction per step, so a crash leaves a consistent version.
        for target, script in enumerate(MIGRATIONS[version:], start=version + 1):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in script.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {target}")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            logger.debug("Upgraded the store %s to schema version %d.", self.path, target)

    @contextlib.contextmanager
    def _translating(self, action: str) -> Iterator[None]:
        with self._lock:
            try:
                yield
            except sqlite3.OperationalError as e:
                if "locked" in str(e) or "busy" in str(e):
                    raise TemporaryError(
                        f"Could not {action} in the store {self.path}: it stayed locked "
                        f"for {BUSY_TIMEOUT_SECONDS:g}s. Is another bot using the same file?",
                        retry_after=1.0,
                    ) from e
                raise PermanentError(f"Could not {action} in the store {self.path}: {e}.") from e
            except sqlite3.Error as e:
                raise PermanentError(
                    f"Could not {action} in the store {self.path}: {e}. "
                    f"If the file is damaged, move it aside; the bot starts a new one."
                ) from e


def migrate_part(
    db: sqlite3.Connection, part: str, migrations: tuple[str, ...], *, path: str
) -> None:
    """Bring one part of the schema to its latest version, a step per transaction."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS store_parts "
        "(part TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID"
    )

    # Each step reads the version afresh inside its transaction, so two bots
    # opening one file cannot both apply it.
    while True:
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT version FROM store_parts WHERE part = ?", (part,)).fetchone()
            version = 0 if row is None else int(row[0])
            if version > len(migrations):
                raise PermanentError(
                    f"The store {path} has {part} at schema version {version}, but this bot "
                    f"knows versions up to {len(migrations)}. Run a newer bot or point it at "
                    f"another file."
                )
            if version < len(migrations):
                for statement in migrations[version].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(
                    "INSERT OR REPLACE INTO store_parts (part, version) VALUES (?, ?)",
                    (part, version + 1),
                )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        if version >= len(migrations):
            return
        logger.debug("Upgraded %s in the store %s to schema version %d.", part, path, version + 1)
