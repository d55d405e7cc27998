"""Planning: turning an enqueued item into the rows the outbox stores.

Each `Post`, `Update`, `Ephemeral` or `Upload` becomes one or more stored
calls, added in one transaction: `bot.slack.blocks.lay_out` splits long
content into a first message plus continuations in its thread, and long code
into files there. An update edits the parts a message already has, posts the
parts it gains, and marks the parts it no longer needs as replaced; it also
supersedes older updates of the same parts that are still waiting. Items that
can never be delivered (a thread that was never posted) are stored as failed
at once, with the reason.

Planning makes no Slack call; `bot.slack.delivering` does that later.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.slack import blocks
from bot.store.outbox import ItemKind, NewItem, OutboxStore

if TYPE_CHECKING:
    from bot.slack.outbox import Ephemeral, Post, Update, Upload

logger = logging.getLogger(__name__)

SUPERSEDED_PART = "_(This part was replaced by the update above.)_"


class Planner:
    """Stores enqueued items as the calls that will deliver them."""

    def __init__(self, store: OutboxStore, *, wall_clock: Callable[[], float]) -> None:
        self._store = store
        self._wall_clock = wall_clock

    def plan_post(self, post: Post) -> int:
        # Already queued under this key: enqueueing again changes nothing.
        if post.key is not None:
            existing = self._store.get_outbox_message(post.key)
            if existing is not None:
                original = self._store.get_outbox_item(existing.item)
                logger.debug("A post under key %r is already queued; not adding it.", post.key)
                return existing.item if original is None else original.group

        key = post.key or f"~{uuid.uuid4().hex}"
        problem = self._check_thread(post.channel, post.thread_key)
        layout = blocks.lay_out(post.text, post.blocks)
        first = _new(ItemKind.POST, post.channel, layout.messages[0], key, post.thread_key)
        if problem:
            return self._refuse(first, problem)

        # Continuations and files go into the message's thread.
        thread = post.thread_key or key
        items = [first]
        for number, message in enumerate(layout.messages[1:], start=2):
            items.append(_new(ItemKind.POST, post.channel, message, _part(key, number), thread))
        items += [_snippet(post.channel, snippet, thread) for snippet in layout.snippets]
        files = [(key, _digest(snippet.content)) for snippet in layout.snippets]
        return self._add(items, parts={key: len(layout.messages)}, files=files)

    def plan_update(self, update: Update) -> int:
        target = self._store.get_outbox_message(update.key)
        layout = blocks.lay_out(update.text, update.blocks)
        if target is None or target.failure:
            why = "was never posted" if target is None else f"failed: {target.failure}"
            channel = "" if target is None else target.channel
            first = _new(ItemKind.UPDATE, channel, layout.messages[0], update.key)
            return self._refuse(first, f"the message under key {update.key!r} {why}")

        # Existing parts are edited; extra parts are posted in the thread, and
        # parts the new content no longer needs say so.
        channel, thread = target.channel, target.thread_key or update.key
        items: list[NewItem] = []
        for number, message in enumerate(layout.messages, start=1):
            key = _part(update.key, number)
            kind = ItemKind.UPDATE if number <= target.parts else ItemKind.POST
            items.append(
                _new(kind, channel, message, key, thread if kind is ItemKind.POST else None)
            )
        for number in range(len(layout.messages) + 1, target.parts + 1):
            spare = blocks.Message(text=SUPERSEDED_PART, blocks=None)
            items.append(_new(ItemKind.UPDATE, channel, spare, _part(update.key, number)))

        # A file already attached for this message is not attached again.
        snippets = [
            snippet
            for snippet in layout.snippets
            if not self._store.has_outbox_file(update.key, _digest(snippet.content))
        ]
        items += [_snippet(channel, snippet, thread) for snippet in snippets]
        spread = max(target.parts, len(layout.messages))
        return self._add(
            items,
            parts={update.key: spread},
            files=[(update.key, _digest(snippet.content)) for snippet in snippets],
            supersede=[_part(update.key, number) for number in range(1, spread + 1)],
        )

    def plan_ephemeral(self, ephemeral: Ephemeral) -> int:
        layout = blocks.lay_out(ephemeral.text, ephemeral.blocks, snippets=False)
        lane = f"{ephemeral.channel}/{ephemeral.user}"
        items = [
            NewItem(
                kind=ItemKind.EPHEMERAL,
                lane=lane,
                channel=ephemeral.channel,
                payload={"user": ephemeral.user, "text": m.text, "blocks": m.blocks},
            )
            for m in layout.messages
        ]
        return self._add(items)

    def plan_upload(self, upload: Upload) -> int:
        item = NewItem(
            kind=ItemKind.UPLOAD,
            lane=upload.channel,
            channel=upload.channel,
            thread_key=upload.thread_key,
            payload={
                "filename": upload.filename,
                "content": upload.content,
                "title": upload.title or upload.filename,
                "initial_comment": upload.initial_comment,
            },
        )
        problem = self._check_thread(upload.channel, upload.thread_key)
        return self._refuse(item, problem) if problem else self._add([item])

    def _check_thread(self, channel: str, thread_key: str | None) -> str:
        if thread_key is None:
            return ""
        parent = self._store.get_outbox_message(thread_key)
        if parent is None:
            return f"its thread {thread_key!r} was never posted"
        if parent.channel != channel:
            return f"its thread {thread_key!r} is in {parent.channel}, not {channel}"
        return ""

    def _add(
        self,
        items: list[NewItem],
        *,
        parts: dict[str, int] | None = None,
        files: list[tuple[str, str]] | None = None,
        supersede: list[str] | None = None,
    ) -> int:
        ids = self._store.add_outbox_items(
            items,
            parts=parts,
            files=files or [],
            supersede=supersede or [],
            at=self._wall_clock(),
        )
        logger.debug("Queued %d Slack call(s) as item %d.", len(ids), ids[0])
        return ids[0]

    def _refuse(self, item: NewItem, problem: str) -> int:
        """Record an item that can never be delivered, and say why."""
        item_id = self._add([item])
        self._store.fail_outbox_item(item_id, error=problem, at=self._wall_clock())
        logger.warning("Not sending Slack item %d: %s.", item_id, problem)
        return item_id


def _new(
    kind: ItemKind,
    channel: str,
    message: blocks.Message,
    key: str | None,
    thread_key: str | None = None,
) -> NewItem:
    return NewItem(
        kind=kind,
        lane=channel,
        channel=channel,
        key=key,
        thread_key=thread_key,
        payload={"text": message.text, "blocks": message.blocks},
    )


def _snippet(channel: str, snippet: blocks.Snippet, thread_key: str) -> NewItem:
    return NewItem(
        kind=ItemKind.UPLOAD,
        lane=channel,
        channel=channel,
        thread_key=thread_key,
        payload={
            "filename": snippet.filename,
            "content": snippet.content,
            "title": snippet.title,
            "initial_comment": "",
        },
    )


def _part(key: str, number: int) -> str:
    """The key of a message's `number`th part; the first is the key itself."""
    return key if number == 1 else f"{key}#part{number}"


def _digest(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()
