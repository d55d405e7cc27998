"""Keeping a fix true to what Kubernetes does with the patched manifest.

A policy sees only its own pattern; Kubernetes sees the whole object. Some
changes that satisfy a rule would leave a workload that starts but behaves
differently: removing an environment variable's literal `value` (as a rule
against secrets in manifests asks) leaves the variable empty at run time.
This module completes such patches with what the workload still needs, as
placeholders, so the fix turns `guided` and the team sees where the value
must now come from instead of silently losing it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.policy.fixes.patches import PatchError, PatchOp, parse_pointer

_ENV_VALUE = re.compile(r"^(?P<var>.*/env/\d+)/value$")


def complete(
    manifest: Mapping[str, Any], ops: Sequence[PatchOp]
) -> tuple[tuple[PatchOp, ...], tuple[str, ...], tuple[str, ...]]:
    """The ops with completions added, the placeholders they hold, and their summary."""
    added: list[PatchOp] = []
    placeholders: list[str] = []
    summary: list[str] = []
    # NB: the completions go after every op; if an op removes a whole variable,
    # later indices shift and a completion could land on the wrong one.
    if any(op.op == "remove" and re.search(r"/env/\d+$", op.path) for op in ops):
        return tuple(ops), (), ()
    for op in ops:
        match = _ENV_VALUE.match(op.path) if op.op == "remove" else None
        if match is None:
            continue
        variable = _lookup(manifest, match.group("var"))
        if not isinstance(variable, Mapping) or "valueFrom" in variable:
            continue
        name = str(variable.get("name") or "value")
        pointer = match.group("var") + "/valueFrom"
        added.append(
            PatchOp(
                "add",
                pointer,
                {
                    "secretKeyRef": {
                        "name": "<name of the Secret that holds it>",
                        "key": f"<key of {name} in that Secret>",
                    }
                },
            )
        )
        placeholders.append(pointer)
        summary.append(f"read {name} from a Secret (valueFrom.secretKeyRef) instead")
    return (*ops, *added), tuple(placeholders), tuple(summary)


def _lookup(document: Any, pointer: str) -> Any:
    try:
        segments = parse_pointer(pointer)
    except PatchError:
        return None
    current = document
    for segment in segments:
        if isinstance(current, list) and segment.isdigit() and int(segment) < len(current):
            current = current[int(segment)]
        elif isinstance(current, Mapping) and segment in current:
            current = current[segment]
        else:
            return None
    return current
