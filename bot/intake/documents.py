"""Reading pasted JSON and YAML the way people paste it: not always valid.

Objects reach us from logs, docs and chat, so they are often a little broken:
a comma missing between two members, a stray closing brace, `# comments`
and `...` ellipses in a JSON example, several JSON objects one per line, or
a YAML fragment whose top level mixes a list and a mapping. `load` repairs
what it safely can and returns None when the text is not structured at all,
so that the caller reads it as plain text instead. Nothing here raises.

The repairs, in order: JSON is decoded value after value (a stray tail is
ignored); if that fails, comment and ellipsis lines are dropped, missing
commas between members added and trailing commas removed, and decoding is
tried again. YAML is loaded document by document; if that fails, the text is
cut where its top level changes between list items and keys, and each piece
is loaded on its own, keeping the pieces that load.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_JSON_START = re.compile(r"^\s*[\[{]")
_YAML_START = re.compile(r"""^\s*(?:---|-(?:\s|$)|[\w.\-/"']+:(?:\s|$))""")
_TEXT_START = re.compile(r"^\s*(?:Warning|Error|error|Events):")
_JUNK_LINE = re.compile(r"^\s*(?:#|//|\.\.\.\s*$|…\s*$)")
_MISSING_COMMA = re.compile(r'(["\d}\]]|true|false|null)(\s*\n\s*")')
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
_DECODER = json.JSONDecoder()


def load(text: str) -> list[Any] | None:
    """The documents in `text`, or None when it does not read as JSON or YAML."""
    first = _first_line(text)
    if first is None or _TEXT_START.match(first):
        return None
    if _JSON_START.match(first):
        found = load_json(text)
        if found is not None:
            return found
    if _YAML_START.match(first):
        return _load_yaml(text)
    return None


def load_json(text: str) -> list[Any] | None:
    """One or more JSON values, repaired if need be; None when none decodes."""
    start = _json_start(text)
    if start < 0:
        return None
    found = _decode_all(text[start:])
    if found is None:
        found = _decode_all(_repair(text[start:]))
    return found


def _decode_all(text: str) -> list[Any] | None:
    values: list[Any] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text) or text[position] not in "[{":
            break
        try:
            value, position = _DECODER.raw_decode(text, position)
        except ValueError:
            break
        values.append(value)
    return values or None


def _repair(text: str) -> str:
    lines = [line for line in text.splitlines() if not _JUNK_LINE.match(line)]
    joined = "\n".join(lines)
    joined = _MISSING_COMMA.sub(r"\1,\2", joined)
    return _TRAILING_COMMA.sub(r"\1", joined)


def _load_yaml(text: str) -> list[Any] | None:
    try:
        documents = [doc for doc in yaml.load_all(text, Loader=_LOADER) if doc is not None]
    except yaml.YAMLError:
        return _salvage_yaml(text)
    return documents or None


def _salvage_yaml(text: str) -> list[Any] | None:
    pieces: list[list[str]] = []
    previous_kind = ""
    for line in text.splitlines():
        kind = _top_level_kind(line)
        if kind and kind != previous_kind:
            pieces.append([])
            previous_kind = kind
        if not pieces:
            pieces.append([])
        pieces[-1].append(line)
    if len(pieces) < 2:
        return None

    found = []
    for piece in pieces:
        try:
            loaded = yaml.load("\n".join(piece), Loader=_LOADER)
        except yaml.YAMLError:
            continue
        if loaded is not None:
            found.append(loaded)
    return found or None


def _top_level_kind(line: str) -> str:
    """`item` for a top-level list item, `key` for a top-level key, else ""."""
    if not line or line[0].isspace() or line.startswith("#"):
        return ""
    if line.startswith("- ") or line == "-":
        return "item"
    return "key" if ":" in line else ""


def _first_line(text: str) -> str | None:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped
    return None


def _json_start(text: str) -> int:
    """Where the JSON begins, after any leading comment lines."""
    offset = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "//")):
            return offset + line.index(stripped[0])
        offset += len(line)
    return -1
