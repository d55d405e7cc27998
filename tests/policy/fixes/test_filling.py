"""Filling a proposal's placeholders with values the manifest or the platform decided."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy.fixes import filling, values_synthesis
from bot.policy.fixes.patches import PatchOp
from bot.policy.fixes.platform_defaults import NO_DEFAULTS, from_objects
from bot.policy.fixes.proposals import ProposedFix

SET = values_synthesis.SET_A_VALUE
RESOURCES = "/spec/containers/0/resources"
CPU_LIMIT = f"{RESOURCES}/limits/cpu"
MEMORY_LIMIT = f"{RESOURCES}/limits/memory"

DEFAULTS = from_objects(
    [
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": {"name": "team-defaults", "namespace": "apps"},
            "spec": {
                "limits": [
                    {
                        "type": "Container",
                        "default": {"cpu": "500m"},
                        "defaultRequest": {"cpu": "100m"},
                    }
                ]
            },
        },
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": "fast-ssd",
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
        },
    ]
)
FROM_LIMIT_RANGE = "(the platform default in LimitRange apps/team-defaults)"


def _pod(**container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"containers": [{"name": "app", "image": "nginx", **container}]},
    }


def _values(fix: ProposedFix) -> list[tuple[str, str, Any]]:
    return [(op.op, op.path, op.value) for op in fix.ops]


def _claim() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "apps"},
        "spec": {"resources": {"requests": {"storage": "1Gi"}}},
    }


def test_placeholder_inside_a_map_value_is_filled() -> None:
    """A placeholder leaf deep in an added map takes the LimitRange default."""
    ops = [PatchOp("add", RESOURCES, {"limits": {"cpu": SET}})]

    fix = filling.fill(_pod(), ops, (CPU_LIMIT,), (f"set resources.limits.cpu to {SET}",), DEFAULTS)

    assert _values(fix) == [("add", RESOURCES, {"limits": {"cpu": "500m"}})]
    assert fix.placeholders == ()
    assert fix.summary == (
        f"set spec.containers[0].resources.limits.cpu to 500m {FROM_LIMIT_RANGE}",
    )


def test_every_placeholder_of_a_value_is_answered() -> None:
    """A limit and a request added together each take their own default."""
    ops = [PatchOp("add", RESOURCES, {"limits": {"cpu": SET}, "requests": {"cpu": SET}})]
    pointers = (CPU_LIMIT, f"{RESOURCES}/requests/cpu")

    fix = filling.fill(_pod(), ops, pointers, (), DEFAULTS)

    assert _values(fix) == [
        ("add", RESOURCES, {"limits": {"cpu": "500m"}, "requests": {"cpu": "100m"}})
    ]
    assert fix.placeholders == ()


def test_placeholder_in_a_list_value_is_filled() -> None:
    """List items are looked up by index, so a whole added container list works."""
    init = {"name": "init", "image": "busybox:1", "resources": {"limits": {"cpu": SET}}}
    ops = [PatchOp("add", "/spec/initContainers", [init])]

    fix = filling.fill(_pod(), ops, ("/spec/initContainers/0/resources/limits/cpu",), (), DEFAULTS)

    [op] = fix.ops
    assert op.value[0]["resources"] == {"limits": {"cpu": "500m"}}
    assert fix.placeholders == ()
    assert fix.summary == (
        f"set spec.initContainers[0].resources.limits.cpu to 500m {FROM_LIMIT_RANGE}",
    )


def test_own_counterpart_comes_before_the_platform() -> None:
    """A missing limit takes the container's own request before a LimitRange value."""
    pod = _pod(resources={"requests": {"cpu": "2"}})
    ops = [PatchOp("add", f"{RESOURCES}/limits", {"cpu": SET})]

    fix = filling.fill(pod, ops, (CPU_LIMIT,), (), DEFAULTS)

    assert _values(fix) == [("add", f"{RESOURCES}/limits", {"cpu": "2"})]
    assert fix.summary == (
        "set spec.containers[0].resources.limits.cpu to 2 (same as the request)",
    )


def test_any_whole_placeholder_text_is_filled() -> None:
    """A deny fix's `<a value other than ''>` is as much a placeholder as `<set a value>`."""
    ops = [PatchOp("add", "/spec/storageClassName", "<a value other than ''>")]

    fix = filling.fill(_claim(), ops, ("/spec/storageClassName",), (), DEFAULTS)

    assert _values(fix) == [("add", "/spec/storageClassName", "fast-ssd")]
    assert fix.summary == (
        "set spec.storageClassName to fast-ssd (the default class, StorageClass fast-ssd)",
    )


@pytest.mark.parametrize(
    ("manifest", "op"),
    [
        pytest.param(
            _pod(),
            PatchOp("replace", "/spec/containers/0/image", "nginx:<pin a version>"),
            id="image-version",
        ),
        pytest.param(
            _claim(),
            PatchOp("add", "/spec/storageClassName", "gold-<set a name>"),
            id="field-the-platform-could-answer",
        ),
    ],
)
def test_partial_placeholder_is_left_alone(manifest: dict[str, Any], op: PatchOp) -> None:
    """`nginx:<pin a version>` asks for part of a value, which no default answers."""
    summary = (f"set {op.path} to {op.value}",)

    fix = filling.fill(manifest, [op], (op.path,), summary, DEFAULTS)

    assert fix == ProposedFix((op,), (op.path,), summary)


def test_unanswered_placeholder_keeps_its_pointer_and_line() -> None:
    """A resource the LimitRange does not default stays a placeholder, still explained."""
    ops = [PatchOp("add", RESOURCES, {"limits": {"cpu": SET, "memory": SET}})]
    summary = (f"set resources.limits to {{cpu: {SET}, memory: {SET}}}",)

    fix = filling.fill(_pod(), ops, (CPU_LIMIT, MEMORY_LIMIT), summary, DEFAULTS)

    assert _values(fix) == [("add", RESOURCES, {"limits": {"cpu": "500m", "memory": SET}})]
    assert fix.placeholders == (MEMORY_LIMIT,)
    assert fix.summary == (
        *summary,
        f"set spec.containers[0].resources.limits.cpu to 500m {FROM_LIMIT_RANGE}",
    )


def test_confirm_pointers_are_kept() -> None:
    """A pointer that never held a placeholder asks for a confirmation and stays."""
    ops = [
        PatchOp("add", RESOURCES, {"limits": {"cpu": SET}}),
        PatchOp("replace", "/spec/containers/0/image", "nginx:1.27"),
    ]
    pointers = (CPU_LIMIT, "/spec/containers/0/image")
    summary = (f"set resources.limits.cpu to {SET}", "pin the image to nginx:1.27 (confirm)")

    fix = filling.fill(_pod(), ops, pointers, summary, DEFAULTS)

    assert _values(fix)[0] == ("add", RESOURCES, {"limits": {"cpu": "500m"}})
    assert fix.placeholders == ("/spec/containers/0/image",)
    assert fix.summary == (
        "pin the image to nginx:1.27 (confirm)",
        f"set spec.containers[0].resources.limits.cpu to 500m {FROM_LIMIT_RANGE}",
    )


def test_filled_line_goes_while_an_unfilled_one_stays() -> None:
    """Only summary lines showing a placeholder the patch still holds are kept."""
    ops = [
        PatchOp("add", RESOURCES, {"limits": {"cpu": SET}}),
        PatchOp("replace", "/spec/containers/0/image", "nginx:<pin a version>"),
    ]
    pointers = (CPU_LIMIT, "/spec/containers/0/image")
    summary = (f"set resources.limits.cpu to {SET}", "set the image to nginx:<pin a version>")

    fix = filling.fill(_pod(), ops, pointers, summary, DEFAULTS)

    assert fix.placeholders == ("/spec/containers/0/image",)
    assert fix.summary == (
        "set the image to nginx:<pin a version>",
        f"set spec.containers[0].resources.limits.cpu to 500m {FROM_LIMIT_RANGE}",
    )


def test_nothing_to_fill_returns_the_proposal_unchanged() -> None:
    """Without an answer, the proposal comes back exactly as it was given."""
    ops = [
        PatchOp("add", RESOURCES, {"limits": {"cpu": SET}}),
        PatchOp("remove", "/spec/hostNetwork"),
    ]
    summary = (f"set resources.limits.cpu to {SET}", "remove spec.hostNetwork")

    fix = filling.fill(_pod(hostNetwork=True), ops, (CPU_LIMIT,), summary, NO_DEFAULTS)

    assert fix == ProposedFix(tuple(ops), (CPU_LIMIT,), summary)


def test_proposal_without_placeholders_is_unchanged() -> None:
    """Ops that hold no placeholder are not looked at."""
    ops = [PatchOp("add", RESOURCES, {"limits": {"cpu": "1"}})]

    fix = filling.fill(_pod(), ops, (), ("set resources.limits.cpu to 1",), DEFAULTS)

    assert fix == ProposedFix(tuple(ops), (), ("set resources.limits.cpu to 1",))


def test_other_namespace_gets_no_namespaced_default() -> None:
    """A LimitRange of the namespace `apps` answers nothing for `shop`."""
    pod = _pod()
    pod["metadata"]["namespace"] = "shop"
    ops = [PatchOp("add", RESOURCES, {"limits": {"cpu": SET}})]

    fix = filling.fill(pod, ops, (CPU_LIMIT,), (), DEFAULTS)

    assert fix == ProposedFix(tuple(ops), (CPU_LIMIT,), ())


def test_patch_that_does_not_apply_is_unchanged() -> None:
    """A proposal that cannot be applied is left for the proof to reject."""
    ops = [PatchOp("add", "/spec/missing/parent/cpu", SET)]

    fix = filling.fill(_pod(), ops, ("/spec/missing/parent/cpu",), (), DEFAULTS)

    assert fix == ProposedFix(tuple(ops), ("/spec/missing/parent/cpu",), ())
