"""What the Slack outbox keeps across restarts.

The outbox (`bot.slack.outbox`) turns each request to send something into one
or more items here, and moves each item through its states:

    pending --start--> sending --finish--> done
       ^                  |  \\--fail----> failed
       |                  |
       +---release--------+ (certainly not delivered: a 429, a refusal to retry)
                          |
                   sending again (maybe delivered: a 5xx, a lost connection)

An item left in `sending` may or may not have reached Slack, whether the call
failed ambiguously or the process died during it; the outbox settles it
before sending again. An item never leaves `done` or `failed`; `superseded`
is for an update that a newer update to the same message replaced.

Messages are kept by key, so later updates and thread replies find them once
they are posted, even after a restart.

This module holds only the interface and its values; `bot.store.sqlite_outbox`
implements it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "ItemKind",
    "ItemState",
    "MessageRecord",
    "NewItem",
    "OutboxItem",
    "OutboxStore",
]


class ItemKind(enum.StrEnum):
    POST = "post"
    UPDATE = "update"
    EPHEMERAL = "ephemeral"
    UPLOAD = "upload"


class ItemState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"
    FAILED = "failed"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class NewItem:
    """One call to make, as the outbox planned it."""

    kind: ItemKind
    lane: str
    """Items in one lane go out in order; one lane per channel (and user)."""
    channel: str
    payload: dict[str, Any]
    """JSON-ready arguments: text, blocks, user, filename, content..."""
    key: str | None = None
    """A post: the key it will be known by. An update: the key it changes."""
    thread_key: str | None = None
    """Posts and uploads in a thread: the key of the thread's first message."""


@dataclass(frozen=True, kw_only=True)
class OutboxItem(NewItem):
    """An item as stored, with its progress."""

    id: int
    group: int
    """The id `enqueue` returned for the request this item is part of."""
    state: ItemState
    attempts: int = 0
    created_at: float
    attempted_at: float | None = None
    """Wall-clock time of the last call, in seconds since the epoch."""
    ts: str | None = None
    error: str = ""


@dataclass(frozen=True)
class MessageRecord:
    """A message known by key: where it lives and, once posted, its ts."""

    key: str
    channel: str
    item: int
    """The id of the item that posts it."""
    parts: int = 1
    """How many messages its content spans: it, then `key#part2` and on."""
    thread_key: str | None = None
    ts: str | None = None
    failure: str = ""


class OutboxStore(Protocol):
    """Durable items and messages for `bot.slack.outbox.Outbox`."""

    def outbox_instance(self) -> str:
        """A random name for this store, fixed at its creation.

        Posts carry it in their metadata, so that after a crash the outbox
        can recognise its own messages, even beside another bot's.
        """
        ...

    def add_outbox_items(
        self,
        items: Sequence[NewItem],
        *,
        parts: Mapping[str, int] | None = None,
        files: Sequence[tuple[str, str]] = (),
        supersede: Sequence[str] = (),
        at: float,
    ) -> list[int]:
        """Add items in one transaction; return their ids, in order.

        The first item's id is the group of them all. Each post with a key
        (re)creates that key's message. `parts` sets how many messages a
        key's content spans; `files` are (key, digest) pairs of files now
        attached to a message. Pending updates to any key in `supersede`
        become superseded first.
        """
        ...

    def open_outbox_items(self) -> list[OutboxItem]:
        """Pending and sending items, oldest first."""
        ...

    def get_outbox_item(self, item_id: int) -> OutboxItem | None: ...

    def get_outbox_message(self, key: str) -> MessageRecord | None: ...

    def has_outbox_file(self, key: str, digest: str) -> bool: ...

    def start_outbox_item(self, item_id: int, *, at: float) -> None:
        """Mark an item sending and count the attempt, before the call."""
        ...

    def release_outbox_item(self, item_id: int, *, error: str, maybe_sent: bool) -> None:
        """Put an item back after a failed call, sending if it `maybe_sent`.

        An attempt that certainly did not reach Slack is not counted.
        """
        ...

    def finish_outbox_item(self, item_id: int, *, ts: str | None, at: float) -> None:
        """Mark an item done; for a post, its message gets the ts too."""
        ...

    def fail_outbox_item(self, item_id: int, *, error: str, at: float) -> None:
        """Mark an item failed; a post's message is marked failed with it."""
        ...

    def forget_outbox_items(self, *, before: float) -> int:
        """Drop finished items (and their messages) older than `before`."""
        ...
