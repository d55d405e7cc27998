"""Applying fixes to manifest files without losing comments or layout.

`policybot fix --write` must leave a file as its owner wrote it except for
the lines the fix changes. ruamel.yaml's round-trip mode keeps comments,
key order and quoting; we also detect how the file indents lists, because
teams use both `- name` flush with the parent key and indented under it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.errors import InputError
from bot.policy.fixes.patches import PatchError, PatchOp, parse_pointer

# (mapping indent, sequence indent, sequence dash offset) styles seen in the wild.
INDENT_STYLES = ((2, 2, 0), (2, 4, 2), (4, 4, 2), (4, 6, 4))


def rewrite(text: str, patches: Mapping[int, Sequence[PatchOp]], *, source: str = "") -> str:
    """The file text with each document's patch applied (documents 1-based)."""
    if not patches:
        return text
    style = _detect_style(text)
    yaml = _round_trip(style)
    try:
        documents = list(yaml.load_all(text))
    except YAMLError as error:
        raise InputError(f"cannot rewrite: {error}", source=source) from error
    for number, ops in patches.items():
        if number < 1 or number > len(documents):
            raise InputError(f"no document {number} to patch", source=source)
        target = documents[number - 1]
        for op in ops:
            _apply_in_place(target, op)
    out = io.StringIO()
    yaml.dump_all(documents, out)
    return _restore_header(text, out.getvalue())


def _round_trip(style: tuple[int, int, int]) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long strings a team wrote on one line
    mapping, sequence, offset = style
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.explicit_start = None
    return yaml


def _detect_style(text: str) -> tuple[int, int, int]:
    """The indentation style whose round trip reproduces the file best."""
    best, best_score = INDENT_STYLES[0], -1.0
    for style in INDENT_STYLES:
        yaml = _round_trip(style)
        try:
            documents = list(yaml.load_all(text))
            out = io.StringIO()
            yaml.dump_all(documents, out)
        except YAMLError:
            return best
        rendered = _restore_header(text, out.getvalue())
        if rendered == text:
            return style
        score = _similarity(text, rendered)
        if score > best_score:
            best, best_score = style, score
    return best


def _similarity(a: str, b: str) -> float:
    lines_a, lines_b = a.splitlines(), b.splitlines()
    same = sum(1 for x, y in zip(lines_a, lines_b, strict=False) if x == y)
    return same / max(len(lines_a), len(lines_b), 1)


def _restore_header(original: str, rendered: str) -> str:
    # ruamel drops a leading `---` on the first document; keep the author's choice.
    if original.lstrip().startswith("---") and not rendered.startswith("---"):
        return "---\n" + rendered
    return rendered


def _apply_in_place(document: Any, op: PatchOp) -> None:
    segments = parse_pointer(op.path)
    if not segments:
        raise PatchError("cannot replace a whole document in place")
    parent = document
    for segment in segments[:-1]:
        parent = parent[int(segment)] if isinstance(parent, list) else parent[segment]
    last = segments[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if op.op == "add":
            parent.insert(index, op.value)
        elif op.op == "remove":
            del parent[index]
        else:
            parent[index] = op.value
    elif op.op == "remove":
        del parent[last]
    else:
        parent[last] = op.value
