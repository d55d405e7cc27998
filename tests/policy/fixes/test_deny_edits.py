"""Turning deny edits into JSON patch operations that always apply."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy.fixes.deny_edits import Edit, dotted, materialize
from bot.policy.fixes.patches import apply_patch


def _pod() -> dict[str, Any]:
    return {
        "metadata": {"name": "web"},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "securityContext": {"capabilities": {"add": ["A", "B", "C", "D"]}},
                }
            ]
        },
    }


ADD = ("spec", "containers", 0, "securityContext", "capabilities", "add")


@pytest.mark.parametrize(
    ("edits", "ops"),
    [
        (
            [Edit("append", ("spec", "containers", 0, "securityContext", "x", "drop"), "ALL")],
            [
                {
                    "op": "add",
                    "path": "/spec/containers/0/securityContext/x",
                    "value": {"drop": ["ALL"]},
                }
            ],
        ),
        (
            [Edit("append", ADD, "E")],
            [
                {
                    "op": "add",
                    "path": "/spec/containers/0/securityContext/capabilities/add/-",
                    "value": "E",
                }
            ],
        ),
        (
            [Edit("remove", (*ADD, 0)), Edit("remove", (*ADD, 2))],
            [
                {"op": "remove", "path": "/spec/containers/0/securityContext/capabilities/add/2"},
                {"op": "remove", "path": "/spec/containers/0/securityContext/capabilities/add/0"},
            ],
        ),
        (
            [Edit("set", ("metadata", "labels", "team"), "a")],
            [{"op": "add", "path": "/metadata/labels", "value": {"team": "a"}}],
        ),
        (
            [Edit("set", ("metadata", "name"), "api")],
            [{"op": "replace", "path": "/metadata/name", "value": "api"}],
        ),
        ([Edit("set", ("metadata", "name"), "web")], []),
        ([Edit("remove", ("metadata", "labels"))], []),
    ],
)
def test_edits_become_ordered_operations(edits: list[Edit], ops: list[Any]) -> None:
    """Parents are created, removals run from the highest index, no-ops vanish."""
    done = materialize(_pod(), edits)

    assert done is not None
    assert [op.to_json() for op in done.ops] == ops
    assert apply_patch(_pod(), done.ops) == done.document


def test_removals_inside_a_removed_field_are_dropped() -> None:
    """Removing a field makes removals inside it redundant."""
    edits = [Edit("remove", (*ADD, 1)), Edit("remove", ADD[:-1])]

    done = materialize(_pod(), edits)

    assert done is not None
    assert [op.path for op in done.ops] == ["/spec/containers/0/securityContext/capabilities"]


@pytest.mark.parametrize(
    ("edits", "emptied"),
    [
        ([Edit("remove", (*ADD, i)) for i in range(4)], 1),
        ([Edit("remove", ADD)], 1),
        ([Edit("remove", (*ADD, 0))], 0),
    ],
)
def test_emptied_counts_lists_stripped_bare(edits: list[Edit], emptied: int) -> None:
    """Emptying or dropping a whole list is what the cost model penalises."""
    done = materialize(_pod(), edits)

    assert done is not None
    assert done.emptied == emptied


@pytest.mark.parametrize(
    "edit",
    [
        Edit("set", ("spec", "containers", 3, "image"), "x"),
        Edit("append", ("metadata", "name"), "x"),
    ],
)
def test_impossible_edits_give_none(edit: Edit) -> None:
    """No list index is invented and no scalar is appended to."""
    assert materialize(_pod(), [edit]) is None


def test_summary_names_the_change_for_people() -> None:
    """Each operation gets one line with the value and where it goes."""
    edits = [Edit("append", ADD, "E"), Edit("remove", (*ADD, 0)), Edit("remove", ("metadata",))]

    done = materialize(_pod(), edits)

    assert done is not None
    assert done.summary == (
        'add "E" to spec.containers[0].securityContext.capabilities.add',
        'remove "A" from spec.containers[0].securityContext.capabilities.add',
        "remove metadata",
    )


def test_dotted_quotes_keys_with_dots_and_slashes() -> None:
    """Annotation keys read as JMESPath would quote them."""
    assert dotted(("metadata", "annotations", "a.io/b", 0)) == 'metadata.annotations."a.io/b"[0]'
