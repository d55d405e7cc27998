"""RFC 6902 patches: pointers, the three operations, and the errors."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, strategies as st

from bot.policy.fixes.patches import PatchError, PatchOp, apply_patch, parse_pointer, pointer

DOC = {
    "metadata": {"labels": {"app": "web", "a/b": "x", "t~x": "y"}},
    "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
}


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        ((), ""),
        (("spec", "containers", 0), "/spec/containers/0"),
        (
            ("metadata", "labels", "app.kubernetes.io/name"),
            "/metadata/labels/app.kubernetes.io~1name",
        ),
        (("a~b",), "/a~0b"),
        (("~/",), "/~0~1"),
        (("",), "/"),
    ],
)
def test_pointer_escapes_tilde_and_slash(segments: tuple[str | int, ...], expected: str) -> None:
    """Keys holding `~` or `/` are escaped as RFC 6901 asks."""
    built = pointer(*segments)

    assert built == expected


@given(st.lists(st.text(max_size=8), max_size=5))
def test_pointer_round_trips_through_parse(segments: list[str]) -> None:
    """Parsing a built pointer gives back the segments, whatever they hold."""
    parsed = parse_pointer(pointer(*segments))

    assert parsed == segments


def test_parse_pointer_rejects_missing_slash() -> None:
    """A pointer that does not start with a slash is an error."""
    with pytest.raises(PatchError, match="must start with '/'"):
        parse_pointer("spec/containers")


@pytest.mark.parametrize(
    ("op", "check"),
    [
        (
            PatchOp("add", "/spec/hostNetwork", False),
            lambda doc: doc["spec"]["hostNetwork"] is False,
        ),
        (
            PatchOp("add", "/spec/containers/0/securityContext", {"runAsNonRoot": True}),
            lambda doc: doc["spec"]["containers"][0]["securityContext"] == {"runAsNonRoot": True},
        ),
        (
            PatchOp("add", "/spec/containers/1", {"name": "mid"}),
            lambda doc: [c["name"] for c in doc["spec"]["containers"]] == ["a", "mid", "b"],
        ),
        (
            PatchOp("add", "/spec/containers/-", {"name": "end"}),
            lambda doc: doc["spec"]["containers"][-1] == {"name": "end"},
        ),
        (
            PatchOp("add", "/spec/containers/2", {"name": "end"}),
            lambda doc: len(doc["spec"]["containers"]) == 3,
        ),
        (
            PatchOp("add", "/metadata/labels/app", "api"),
            lambda doc: doc["metadata"]["labels"]["app"] == "api",
        ),
        (
            PatchOp("replace", "/metadata/labels/a~1b", "z"),
            lambda doc: doc["metadata"]["labels"]["a/b"] == "z",
        ),
        (
            PatchOp("replace", "/spec/containers/1", {"name": "c"}),
            lambda doc: doc["spec"]["containers"][1] == {"name": "c"},
        ),
        (
            PatchOp("remove", "/metadata/labels/t~0x"),
            lambda doc: "t~x" not in doc["metadata"]["labels"],
        ),
        (
            PatchOp("remove", "/spec/containers/0"),
            lambda doc: doc["spec"]["containers"] == [{"name": "b"}],
        ),
        (PatchOp("replace", "", {"kind": "Pod"}), lambda doc: doc == {"kind": "Pod"}),
    ],
)
def test_each_operation_changes_only_its_target(op: PatchOp, check: Callable[[Any], bool]) -> None:
    """add, replace and remove act on maps and lists as RFC 6902 says."""
    patched = apply_patch(DOC, [op])

    assert check(patched)


def test_apply_patch_leaves_its_input_alone() -> None:
    """The document and the op values are copied, never shared or mutated."""
    original = copy.deepcopy(DOC)
    value = {"runAsNonRoot": True}

    patched = apply_patch(DOC, [PatchOp("add", "/spec/securityContext", value)])
    value["runAsNonRoot"] = False

    assert original == DOC
    assert patched["spec"]["securityContext"] == {"runAsNonRoot": True}


def test_ops_apply_in_order() -> None:
    """A later op sees what an earlier one added."""
    ops = [
        PatchOp("add", "/spec/securityContext", {}),
        PatchOp("add", "/spec/securityContext/runAsUser", 1000),
        PatchOp("replace", "/spec/securityContext/runAsUser", 1001),
    ]

    patched = apply_patch(DOC, ops)

    assert patched["spec"]["securityContext"] == {"runAsUser": 1001}


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (PatchOp("add", "/spec/missing/x", 1), "/spec/missing: no such field"),
        (PatchOp("replace", "/spec/nothing", 1), "no such field"),
        (PatchOp("remove", "/metadata/labels/nothing"), "no such field"),
        (PatchOp("add", "/spec/containers/5", {}), "index beyond the end"),
        (PatchOp("replace", "/spec/containers/2", {}), "no such element"),
        (PatchOp("remove", "/spec/containers/-"), "is not a list index"),
        (PatchOp("add", "/spec/containers/x/name", "a"), "is not a list index"),
        (PatchOp("add", "/spec/containers/9/name", "a"), "no such element"),
        (PatchOp("add", "/metadata/labels/app/x", 1), "not a mapping or a list"),
        (PatchOp("add", "/metadata/labels/app/x/y", 1), "not a mapping or a list"),
        (PatchOp("remove", ""), "cannot remove the whole document"),
    ],
)
def test_ops_that_do_not_fit_raise_patch_error(op: PatchOp, message: str) -> None:
    """A missing parent, a bad index or a scalar parent is an error."""
    with pytest.raises(PatchError, match=message):
        apply_patch(DOC, [op])


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        (PatchOp("remove", "/a", "ignored"), {"op": "remove", "path": "/a"}),
        (PatchOp("add", "/a", None), {"op": "add", "path": "/a", "value": None}),
        (PatchOp("replace", "/a", [1]), {"op": "replace", "path": "/a", "value": [1]}),
    ],
)
def test_to_json_gives_the_rfc_shape(op: PatchOp, expected: dict[str, Any]) -> None:
    """remove carries no value; add and replace always carry one."""
    shaped = op.to_json()

    assert shaped == expected


def test_shared_objects_are_patched_independently() -> None:
    """Two paths that alias one object in the input are separate in the output."""
    shared = {"privileged": True}
    document = {"containers": [{"securityContext": shared}, {"securityContext": shared}]}
    ops = [
        PatchOp("remove", "/containers/0/securityContext/privileged"),
        PatchOp("remove", "/containers/1/securityContext/privileged"),
    ]

    patched = apply_patch(document, ops)

    assert patched == {"containers": [{"securityContext": {}}, {"securityContext": {}}]}
