"""Fitting content into Slack's Block Kit limits before it is sent.

Slack refuses a message outright (`invalid_blocks`, `msg_too_long`) when one
field is a character too long, and the whole explanation is lost. So every
message goes through `lay_out` on its way into the outbox. It keeps what fits,
splits what can be split, and cuts only what cannot, with a visible marker:

- a section's text over 3,000 characters becomes several sections, cut at
  line ends and never inside a code block;
- a code block (a diff) too long for one section becomes a file to upload,
  and a short note takes its place, since a diff cut in half is worse than
  none; where files are not allowed (ephemeral messages) it is truncated;
- more than 10 fields, 10 context elements or 25 buttons go into further
  blocks of the same type; a header over 150 characters or a context text
  over 2,000 is truncated;
- more than 50 blocks, or more text than one message should hold, go into
  continuation messages.

Lengths are counted in UTF-16 code units, which is never less than what Slack
counts, so an emoji cannot push a field over by one.

See https://docs.slack.dev/reference/block-kit/blocks for the limits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Layout",
    "Message",
    "Snippet",
    "flatten",
    "lay_out",
    "measure",
    "truncate",
]

Block = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_TEXT = 2000
MAX_ACTIONS_ELEMENTS = 25

# The top-level `text`: Slack truncates past 40,000 characters, but asks for
# at most 4,000; it is what notifications and screen readers show.
MAX_TEXT = 4000

# NB: Slack documents no limit on a message's total size, yet very large
# payloads are refused; this budget of serialised blocks per message is ours,
# and it keeps a wall of text readable as a few messages.
MAX_MESSAGE_JSON = 12_000

# A code block longer than this goes into a file rather than the message.
MAX_INLINE_CODE = MAX_SECTION_TEXT

TRUNCATED = " … (truncated)"
SNIPPET_NOTE = "_Too long to show here: attached as `{filename}` in the thread._"
CONTINUED = "{headline} (part {number} of {total})"

_FENCED = re.compile(r"(```.*?```)", re.DOTALL)
_DIFF_LINE = re.compile(r"^(@@ |\+\+\+ |--- )", re.MULTILINE)


@dataclass(frozen=True)
class Message:
    """One message as Slack will accept it."""

    text: str
    blocks: list[Block] | None = None


@dataclass(frozen=True)
class Snippet:
    """A code block too long for a message, to be uploaded as a file."""

    filename: str
    content: str
    title: str


@dataclass(frozen=True)
class Layout:
    """The first message, its continuations, and the files that go with it."""

    messages: tuple[Message, ...]
    snippets: tuple[Snippet, ...] = ()


@dataclass
class _Snippets:
    """Collects the code blocks taken out of a message, numbering them."""

    allowed: bool
    found: list[Snippet] = field(default_factory=list)

    def take(self, fenced: str) -> str:
        """Return what stands in the message for one fenced code block."""
        inner = fenced[3:-3]
        if not self.allowed:
            room = MAX_INLINE_CODE - measure("``````" + TRUNCATED)
            return "```" + truncate(inner, room, marker="") + TRUNCATED + "```"

        extension = "diff" if _DIFF_LINE.search(inner) else "txt"
        filename = f"snippet-{len(self.found) + 1}.{extension}"
        self.found.append(Snippet(filename=filename, content=inner.strip("\n"), title=filename))
        return SNIPPET_NOTE.format(filename=filename)


def measure(text: str) -> int:
    """Length in UTF-16 code units: what Slack counts, or a little more."""
    return len(text.encode("utf-16-le")) // 2


def truncate(text: str, limit: int, *, marker: str = TRUNCATED) -> str:
    """Cut `text` to at most `limit` units, ending with `marker` if it was cut.

    The cut prefers a space or line end near the limit, so words stay whole.
    """
    if measure(text) <= limit:
        return text
    kept = _prefix(text, limit - measure(marker))
    nearby = max(kept.rfind(" "), kept.rfind("\n"))
    if nearby > len(kept) * 4 // 5:
        kept = kept[:nearby]
    return kept.rstrip() + marker


def lay_out(
    text: str,
    blocks: Sequence[Block] | None = None,
    *,
    snippets: bool = True,
) -> Layout:
    """Fit a message into Block Kit's limits.

    Args:
        text: The message's text; with `blocks`, the notification fallback.
        blocks: Block Kit blocks, or None for a text-only message.
        snippets: Whether long code blocks may become files (not for
            ephemeral messages, which have no thread to hold them).

    Returns:
        At least one message; the first stands for the whole, the others
        continue it. Snippets are the files its notes refer to.
    """
    found = _Snippets(allowed=snippets)
    if blocks is None:
        parts = _split_mrkdwn(text, MAX_TEXT, found) or [truncate(text, MAX_TEXT)]
        return Layout(tuple(Message(text=part) for part in parts), tuple(found.found))

    # NB: Slack wants a text beside blocks, for notifications and screen readers.
    text = text if text.strip() else flatten(blocks)
    fitted = [piece for block in blocks for piece in _fit_block(block, found)]
    groups = _group(fitted) or [[]]

    # The first message keeps the caller's text; the rest say what they continue.
    headline = truncate(text.strip().split("\n", 1)[0], MAX_HEADER_TEXT)
    messages = [Message(text=truncate(text, MAX_TEXT), blocks=groups[0] or None)]
    for number, group in enumerate(groups[1:], start=2):
        label = CONTINUED.format(headline=headline, number=number, total=len(groups))
        messages.append(Message(text=label, blocks=group))
    return Layout(tuple(messages), tuple(found.found))


def flatten(blocks: Sequence[Block], *, limit: int = MAX_TEXT) -> str:
    """The readable text of some blocks, for when Slack refuses the blocks.

    Headers, sections (text and fields) and context texts are kept, one per
    line; buttons and images are dropped.
    """
    lines: list[str] = []
    for block in blocks:
        texts = [block.get("text"), *(block.get("fields") or [])]
        texts += list(block.get("elements") or []) if block.get("type") == "context" else []
        lines += [
            t["text"] for t in texts if isinstance(t, dict) and isinstance(t.get("text"), str)
        ]
    return truncate("\n".join(line for line in lines if line.strip()), limit)


def _fit_block(block: Block, found: _Snippets) -> list[Block]:
    kind = block.get("type")
    if kind == "section":
        return _fit_section(block, found)
    if kind == "header":
        return [_fit_header(block)]
    if kind == "context":
        return _fit_context(block)
    if kind == "actions":
        return _spread(block, "elements", MAX_ACTIONS_ELEMENTS)
    return [block]


def _fit_section(block: Block, found: _Snippets) -> list[Block]:
    # Long text becomes several sections; the first keeps the accessory and id.
    pieces: list[Block] = []
    text_object = block.get("text")
    if isinstance(text_object, dict) and isinstance(text_object.get("text"), str):
        if text_object.get("type") == "mrkdwn":
            chunks = _split_mrkdwn(text_object["text"], MAX_SECTION_TEXT, found)
        else:
            chunks = _split_lines(text_object["text"], MAX_SECTION_TEXT)
        for index, chunk in enumerate(chunks or [" "]):
            piece: Block = dict(block) if index == 0 else {"type": "section"}
            piece.pop("fields", None)
            piece["text"] = {**text_object, "text": chunk}
            pieces.append(piece)

    # Fields come at most ten to a section, each within its own limit; they
    # follow the text, so the first ten join its last piece.
    fields = block.get("fields")
    if isinstance(fields, list) and fields:
        fitted = [_fit_text_object(item, MAX_FIELD_TEXT) for item in fields]
        for start in range(0, len(fitted), MAX_SECTION_FIELDS):
            group = fitted[start : start + MAX_SECTION_FIELDS]
            if start == 0 and pieces:
                pieces[-1]["fields"] = group
            elif start == 0:
                pieces.append({**block, "fields": group})
            else:
                pieces.append({"type": "section", "fields": group})
    return pieces or [block]


def _fit_header(block: Block) -> Block:
    text_object = block.get("text")
    if not isinstance(text_object, dict) or not isinstance(text_object.get("text"), str):
        return block
    short = truncate(text_object["text"], MAX_HEADER_TEXT, marker="…")
    return {**block, "text": {**text_object, "text": short}}


def _fit_context(block: Block) -> list[Block]:
    elements = block.get("elements")
    if not isinstance(elements, list):
        return [block]
    fitted = [_fit_text_object(item, MAX_CONTEXT_TEXT) for item in elements]
    return _spread({**block, "elements": fitted}, "elements", MAX_CONTEXT_ELEMENTS)


def _fit_text_object(item: Any, limit: int) -> Any:
    if isinstance(item, dict) and isinstance(item.get("text"), str):
        return {**item, "text": truncate(item["text"], limit)}
    return item


def _spread(block: Block, name: str, limit: int) -> list[Block]:
    """Split a block whose list `name` is too long into several blocks."""
    items = block.get(name)
    if not isinstance(items, list) or len(items) <= limit:
        return [block]
    first = {**block, name: items[:limit]}
    rest = {key: value for key, value in block.items() if key != "block_id"}
    return [first] + [{**rest, name: items[i : i + limit]} for i in range(limit, len(items), limit)]


def _group(blocks: list[Block]) -> list[list[Block]]:
    """Pack blocks into messages, by count and by size."""
    groups: list[list[Block]] = []
    current: list[Block] = []
    size = 0
    for block in blocks:
        block_size = len(json.dumps(block, ensure_ascii=False))
        if current and (len(current) >= MAX_BLOCKS or size + block_size > MAX_MESSAGE_JSON):
            # NB: a header is never left at the end of a message, away from its body.
            carried = [current.pop()] if len(current) > 1 and _is_header(current[-1]) else []
            groups.append(current)
            current = carried
            size = sum(len(json.dumps(b, ensure_ascii=False)) for b in current)
        current.append(block)
        size += block_size
    if current:
        groups.append(current)
    return groups


def _is_header(block: Block) -> bool:
    return block.get("type") == "header"


def _split_mrkdwn(text: str, limit: int, found: _Snippets) -> list[str]:
    """Split mrkdwn into chunks of at most `limit`, keeping code blocks whole.

    A code block too long for `MAX_INLINE_CODE` is handed to `found` first;
    the shorter ones always fit in a chunk of their own, so no chunk ends
    inside a fence.
    """
    chunks: list[str] = []
    current = ""
    for segment in _FENCED.split(text):
        if not segment:
            continue
        is_code = segment.startswith("```") and segment.endswith("```") and len(segment) >= 6
        if is_code and measure(segment) > MAX_INLINE_CODE:
            segment = found.take(segment)

        # Keep adding to the current chunk while it fits.
        if measure(current + segment) <= limit:
            current += segment
            continue
        if current.strip():
            chunks.append(current.strip("\n"))
        current = ""
        if measure(segment) <= limit:
            current = segment
            continue

        # Prose longer than a whole chunk is cut at line ends.
        *full, current = _split_lines(segment, limit)
        chunks.extend(full)
    if current.strip():
        chunks.append(current.strip("\n"))
    return chunks


def _split_lines(text: str, limit: int) -> list[str]:
    """Cut text at line ends into chunks of at most `limit` units."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in _hard_wrap(text.split("\n"), limit):
        added = measure(line) + (1 if current else 0)
        if current and size + added > limit:
            chunks.append("\n".join(current))
            current, size = [], 0
            added = measure(line)
        current.append(line)
        size += added
    if current:
        chunks.append("\n".join(current))
    return [chunk for chunk in chunks if chunk.strip()]


def _hard_wrap(lines: list[str], limit: int) -> list[str]:
    """Break any single line longer than `limit` into pieces that fit."""
    wrapped: list[str] = []
    for line in lines:
        while measure(line) > limit:
            head = _prefix(line, limit)
            wrapped.append(head)
            line = line[len(head) :]
        wrapped.append(line)
    return wrapped


def _prefix(text: str, units: int) -> str:
    """The longest prefix of `text` that measures at most `units`."""
    total = 0
    for index, char in enumerate(text):
        total += 2 if ord(char) > 0xFFFF else 1
        if total > units:
            return text[:index]
    return text
