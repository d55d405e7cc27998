"""Applying fixes to manifest files without losing comments or layout.

`policybot fix --write` must leave a file as its owner wrote it except for
the lines the fix changes. ruamel.yaml's round-trip mode keeps comments,
key order and quoting; we also detect how the file indents lists, because
teams use both `- name` flush with the parent key and indented under it.
"""

from __future__ import annotations

import difflib
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.errors import InputError
from bot.policy.fixes.patches import PatchError, PatchOp, parse_pointer

_EventLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# (mapping indent, sequence indent, sequence dash offset) styles seen in the wild.
INDENT_STYLES = ((2, 2, 0), (2, 4, 2), (4, 4, 2), (4, 6, 4))


def rewrite(text: str, patches: Mapping[int, Sequence[PatchOp]], *, source: str = "") -> str:
    """The file text with each document's patch applied (documents 1-based).

    Only the patched documents are re-rendered; every other byte of the file,
    other documents and the separators between them included, stays as the
    owner wrote it.
    """
    if not patches:
        return text
    spans = _document_spans(text, source)
    pieces: list[str] = []
    cursor = 0
    for number in sorted(patches):
        if number < 1 or number > len(spans):
            raise InputError(f"no document {number} to patch", source=source)
        start, end = spans[number - 1]
        pieces.append(text[cursor:start])
        pieces.append(_rewrite_document(text[start:end], patches[number], source=source))
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _document_spans(text: str, source: str) -> list[tuple[int, int]]:
    """Where each document's content lies in the text, between its markers."""
    spans: list[tuple[int, int]] = []
    start = 0
    try:
        for event in yaml.parse(text, Loader=_EventLoader):
            if isinstance(event, yaml.DocumentStartEvent) and event.end_mark is not None:
                start = event.end_mark.index
            elif isinstance(event, yaml.DocumentEndEvent) and event.start_mark is not None:
                spans.append((start, event.start_mark.index))
    except yaml.YAMLError as error:
        raise InputError(f"cannot rewrite: {error}", source=source) from error
    return spans


def _rewrite_document(chunk: str, ops: Sequence[PatchOp], *, source: str) -> str:
    # The rest of a `---` line and the blank lines after the content are the
    # file's, not the document's: keep them exactly.
    lead_match = re.match(r"[ \t]*\n", chunk)
    lead = lead_match.group(0) if lead_match else ""
    body = chunk[len(lead) :]
    trail = body[len(body.rstrip()) :]
    body = body[: len(body) - len(trail)]
    style = _detect_style(body)
    yaml_rt = _round_trip(style)
    try:
        document = yaml_rt.load(body)
    except YAMLError as error:
        raise InputError(f"cannot rewrite: {error}", source=source) from error
    untouched = _render(yaml_rt, document)
    for op in ops:
        _apply_in_place(document, op)
    patched = _render(yaml_rt, document)
    return lead + _with_original_lines(body, untouched, patched) + trail


def _render(yaml_rt: YAML, document: Any) -> str:
    out = io.StringIO()
    yaml_rt.dump(document, out)
    return out.getvalue().rstrip("\n")


def _with_original_lines(original: str, untouched: str, patched: str) -> str:
    """The patched rendering, with every line the patch left alone as the owner wrote it.

    A round trip through ruamel.yaml may respace a flow list or a comment on
    lines no op touched. Lines that the patch keeps (untouched -> patched)
    are mapped back through the round trip (original -> untouched) to the
    original's line; the merge is kept only if it reads as the same data.
    """
    own, round_trip, wanted = (
        text.splitlines(keepends=True) for text in (original, untouched, patched)
    )
    back: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
        None, own, round_trip, autojunk=False
    ).get_opcodes():
        # Equal-length blocks are the same lines respaced: a round trip keeps content.
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            back.update((j1 + k, i1 + k) for k in range(j2 - j1))
    merged: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
        None, round_trip, wanted, autojunk=False
    ).get_opcodes():
        if tag == "equal":
            merged.extend(own[back[k]] if k in back else round_trip[k] for k in range(i1, i2))
        else:
            merged.extend(wanted[j1:j2])
    text = "".join(merged).rstrip("\n")
    try:
        same = yaml.safe_load(text) == yaml.safe_load(patched)
    except yaml.YAMLError:
        same = False
    return text if same else patched


def _round_trip(style: tuple[int, int, int]) -> YAML:
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap long strings a team wrote on one line
    mapping, sequence, offset = style
    rt.indent(mapping=mapping, sequence=sequence, offset=offset)
    rt.explicit_start = None
    return rt


def _detect_style(body: str) -> tuple[int, int, int]:
    """The indentation style whose round trip reproduces the document best."""
    best, best_score = INDENT_STYLES[0], -1.0
    for style in INDENT_STYLES:
        rt = _round_trip(style)
        try:
            out = io.StringIO()
            rt.dump(rt.load(body), out)
        except YAMLError:
            return best
        rendered = out.getvalue().rstrip("\n")
        if rendered == body:
            return style
        score = _similarity(body, rendered)
        if score > best_score:
            best, best_score = style, score
    return best


def _similarity(a: str, b: str) -> float:
    lines_a, lines_b = a.splitlines(), b.splitlines()
    same = sum(1 for x, y in zip(lines_a, lines_b, strict=False) if x == y)
    return same / max(len(lines_a), len(lines_b), 1)


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
