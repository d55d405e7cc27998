"""Fixes stay true to what Kubernetes does with the patched manifest."""

from __future__ import annotations

from bot.policy.fixes import kube_semantics
from bot.policy.fixes.patches import PatchOp, apply_patch

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "app"},
    "spec": {
        "containers": [
            {
                "name": "app",
                "image": "app:1",
                "env": [{"name": "MODE", "value": "fast"}, {"name": "DB_PASSWORD", "value": "x"}],
            }
        ]
    },
}


def test_removed_env_value_gets_a_secret_reference():
    """Dropping a literal value adds a secretKeyRef to fill in, not an empty variable."""
    ops = [PatchOp("remove", "/spec/containers/0/env/1/value")]

    completed, placeholders, summary = kube_semantics.complete(POD, ops)

    fixed = apply_patch(POD, completed)
    variable = fixed["spec"]["containers"][0]["env"][1]
    assert "value" not in variable
    assert variable["valueFrom"]["secretKeyRef"]["name"].startswith("<")
    assert placeholders == ("/spec/containers/0/env/1/valueFrom",)
    assert "DB_PASSWORD" in summary[0]


def test_unrelated_ops_are_left_alone():
    """Only removals of an env value are completed."""
    ops = [PatchOp("replace", "/spec/containers/0/image", "app:2")]

    completed, placeholders, _ = kube_semantics.complete(POD, ops)

    assert completed == tuple(ops)
    assert placeholders == ()


def test_variable_with_value_from_needs_nothing():
    """A variable that already reads from elsewhere is not completed again."""
    pod = apply_patch(
        POD, [PatchOp("add", "/spec/containers/0/env/1/valueFrom", {"secretKeyRef": {}})]
    )
    ops = [PatchOp("remove", "/spec/containers/0/env/1/value")]

    completed, placeholders, _ = kube_semantics.complete(pod, ops)

    assert completed == tuple(ops)
    assert placeholders == ()


def test_shifting_removals_skip_completion():
    """When a whole variable is removed, indices move, so nothing is added."""
    ops = [
        PatchOp("remove", "/spec/containers/0/env/1/value"),
        PatchOp("remove", "/spec/containers/0/env/0"),
    ]

    completed, placeholders, _ = kube_semantics.complete(POD, ops)

    assert completed == tuple(ops)
    assert placeholders == ()
