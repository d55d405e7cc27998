"""RFC 6902 JSON patches: the operations a fix is made of.

Fixes are expressed as add / remove / replace operations on JSON pointers
(RFC 6901), which is what `kubectl patch --type json` takes and what the bot
shows next to the diff. Applying a patch never mutates its input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Operation = Literal["add", "remove", "replace"]


class PatchError(ValueError):
    """A patch does not fit the document (a missing parent, a bad index)."""


@dataclass(frozen=True)
class PatchOp:
    op: Operation
    path: str
    """An RFC 6901 pointer, e.g. `/spec/containers/0/securityContext`."""
    value: Any = None

    def to_json(self) -> dict[str, Any]:
        if self.op == "remove":
            return {"op": "remove", "path": self.path}
        return {"op": self.op, "path": self.path, "value": self.value}


def pointer(*segments: str | int) -> str:
    """Build a pointer, escaping `~` and `/` inside keys as RFC 6901 asks."""
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in segments)


def dotted(path: Sequence[str | int]) -> str:
    """A path as people write it: `spec.containers[0].labels["app.kubernetes.io/name"]`."""
    text = ""
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif segment.replace("_", "a").replace("-", "a").isalnum() and not segment[:1].isdigit():
            text += f".{segment}" if text else segment
        else:
            text += f"[{json.dumps(segment)}]"
    return text


def parse_pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"a JSON pointer must start with '/', got {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def value_at(document: Any, path: Sequence[str | int]) -> Any:
    """The value at a path of keys and list indices, or None when there is none."""
    node = document
    for segment in path:
        if isinstance(node, Mapping) and isinstance(segment, str):
            node = node.get(segment)
        elif isinstance(node, list | tuple) and isinstance(segment, int) and segment < len(node):
            node = node[segment]
        else:
            return None
    return node


def value_at_pointer(document: Any, where: str) -> Any:
    """The value an RFC 6901 pointer names, or None when there is none (or it is malformed)."""
    try:
        segments = parse_pointer(where)
    except PatchError:
        return None
    node = document
    for segment in segments:
        if isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        elif isinstance(node, Mapping) and segment in node:
            node = node[segment]
        else:
            return None
    return node


def apply_patch(document: Any, ops: Sequence[PatchOp]) -> Any:
    """A patched deep copy of `document`."""
    result = tree_copy(document)
    for op in ops:
        result = _apply_one(result, op)
    return result


def _apply_one(document: Any, op: PatchOp) -> Any:
    segments = parse_pointer(op.path)
    if not segments:
        if op.op == "remove":
            raise PatchError("cannot remove the whole document")
        return tree_copy(op.value)
    parent = document
    for depth, segment in enumerate(segments[:-1]):
        parent = _child(parent, segment, pointer(*segments[: depth + 1]))
    last = segments[-1]
    if isinstance(parent, dict):
        if op.op == "add":
            parent[last] = tree_copy(op.value)
        elif last not in parent:
            raise PatchError(f"{op.op} {op.path}: no such field")
        elif op.op == "remove":
            del parent[last]
        else:
            parent[last] = tree_copy(op.value)
    elif isinstance(parent, list):
        index = len(parent) if (last == "-" and op.op == "add") else _index(last, op.path)
        if op.op == "add":
            if index > len(parent):
                raise PatchError(f"add {op.path}: index beyond the end of the list")
            parent.insert(index, tree_copy(op.value))
        elif index >= len(parent):
            raise PatchError(f"{op.op} {op.path}: no such element")
        elif op.op == "remove":
            del parent[index]
        else:
            parent[index] = tree_copy(op.value)
    else:
        raise PatchError(f"{op.op} {op.path}: the parent is not a mapping or a list")
    return document


def tree_copy(value: Any) -> Any:
    """A copy in which no two places share a map or list.

    NB: copy.deepcopy keeps sharing, and YAML anchors and aliases make parts
    of a parsed manifest the same object; patching one place would then
    silently patch the other too.
    """
    if isinstance(value, dict):
        return {key: tree_copy(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [tree_copy(item) for item in value]
    return value


def _child(node: Any, segment: str, where: str) -> Any:
    if isinstance(node, dict):
        if segment not in node:
            raise PatchError(f"{where}: no such field")
        return node[segment]
    if isinstance(node, list):
        index = _index(segment, where)
        if index >= len(node):
            raise PatchError(f"{where}: no such element")
        return node[index]
    raise PatchError(f"{where}: not a mapping or a list")


def _index(segment: str, where: str) -> int:
    if not segment.isdigit():
        raise PatchError(f"{where}: {segment!r} is not a list index")
    return int(segment)
