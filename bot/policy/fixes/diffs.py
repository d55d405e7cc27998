"""Showing a fix: stable YAML for manifests and unified diffs between them.

Objects that did not come from a file (a live object, an audit event's
request) are rendered in one stable YAML style so that the same fix always
reads the same. Files are diffed as rewritten by `rewriting`, which keeps
their comments and layout.
"""

from __future__ import annotations

import difflib
from typing import Any

import yaml

CONTEXT_LINES = 3


class _StableDumper(yaml.SafeDumper):
    """Block style, keys in their original order, lists indented under keys."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def render_yaml(obj: Any) -> str:
    return yaml.dump(
        obj,
        Dumper=_StableDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )


def unified_diff(before: str, after: str, *, name: str) -> str:
    """Only the changed lines with a little context, `a/` and `b/` labelled."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{name.lstrip('/')}",
        tofile=f"b/{name.lstrip('/')}",
        n=CONTEXT_LINES,
    )
    # As git and patch(1) do: a last line without its newline is marked, so
    # the diff applies back exactly and the line is not shown as changed.
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def diff_objects(before: Any, after: Any, *, name: str) -> str:
    return unified_diff(render_yaml(before), render_yaml(after), name=name)
