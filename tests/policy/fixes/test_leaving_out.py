"""Pattern fixes that leave out what the rule forbids, where it accepts absence.

A rule written `=(key): "!X"` accepts the field absent. When no value it
allows can be derived, leaving the field out is an exact fix; a rule that
wants a value of some shape (`safe-*`) asks for a rename instead, which
stays a placeholder.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy import documents, policies
from bot.policy.fixes import synthesis, values_synthesis
from bot.policy.fixes.patches import apply_patch
from bot.policy.fixes.pattern_fixes import fix_pattern
from bot.policy.patterns import validate_pattern


def _passes(resource: dict[str, Any], pattern: Any) -> bool:
    return validate_pattern(resource, pattern).status == "pass"


def _fixed(resource: dict[str, Any], pattern: Any) -> dict[str, Any]:
    fix = fix_pattern(resource, pattern)
    assert fix is not None
    assert fix.placeholders == ()
    fixed = apply_patch(resource, list(fix.ops))
    assert _passes(fixed, pattern)
    return fixed


def test_forbidden_optional_value_is_left_out() -> None:
    """`=(type): "!NodePort"` is fixed by removing the type, not by guessing another."""
    service = {"kind": "Service", "spec": {"type": "NodePort", "ports": [{"port": 80}]}}

    fixed = _fixed(service, {"spec": {"=(type)": "!NodePort"}})

    assert "type" not in fixed["spec"]


def test_maps_left_empty_go_with_the_field() -> None:
    """Removing the only key of optional maps removes the maps too."""
    rule = {
        "spec": {"=(trafficPolicy)": {"=(tls)": {"=(mode)": "!DISABLE"}}},
    }
    alone = {"spec": {"host": "a", "trafficPolicy": {"tls": {"mode": "DISABLE"}}}}
    shared = {
        "spec": {"host": "a", "trafficPolicy": {"lb": "x", "tls": {"mode": "DISABLE"}}},
    }

    assert _fixed(alone, rule) == {"spec": {"host": "a"}}
    assert _fixed(shared, rule) == {"spec": {"host": "a", "trafficPolicy": {"lb": "x"}}}


def test_required_field_goes_with_its_optional_holder() -> None:
    """`=(hostPath): {path: "!/var/run/docker.sock"}` drops the hostPath source."""
    pod = {
        "spec": {
            "containers": [{"name": "a"}],
            "volumes": [{"name": "sock", "hostPath": {"path": "/var/run/docker.sock"}}],
        }
    }
    rule = {"spec": {"=(volumes)": [{"=(hostPath)": {"path": "!/var/run/docker.sock"}}]}}

    fixed = _fixed(pod, rule)

    # The volume stays: containers mount it by name.
    assert fixed["spec"]["volumes"] == [{"name": "sock"}]


def test_element_left_meaningless_is_dropped() -> None:
    """A sysctl without its value means nothing, so the sysctl goes."""
    pod = {
        "spec": {
            "securityContext": {
                "runAsNonRoot": True,
                "sysctls": [
                    {"name": "kernel.shm_rmid_forced", "value": "1+x=y"},
                    {"name": "net.ipv4.ip_local_port_range", "value": "1024 65000"},
                ],
            }
        }
    }
    rule = {"spec": {"=(securityContext)": {"=(sysctls)": [{"=(value)": "!*+* & !*=*"}]}}}

    fixed = _fixed(pod, rule)

    assert fixed["spec"]["securityContext"]["sysctls"] == [
        {"name": "net.ipv4.ip_local_port_range", "value": "1024 65000"}
    ]


def test_list_emptied_of_every_element_goes_whole() -> None:
    """When every element is dropped, the optional list (and its emptied holder) go."""
    pod = {"spec": {"securityContext": {"sysctls": [{"name": "k", "value": "1+x"}]}}}
    rule = {"spec": {"=(securityContext)": {"=(sysctls)": [{"=(value)": "!*+*"}]}}}

    fix = fix_pattern(pod, rule)

    assert fix is not None
    assert [op.to_json() for op in fix.ops] == [{"op": "remove", "path": "/spec/securityContext"}]
    assert "every element" in fix.summary[0]
    assert '"k"' in fix.summary[0]


def test_empty_optional_value_is_left_out() -> None:
    """An empty annotation the rule wants non-empty, if present, is removed."""
    claim = {"metadata": {"name": "c", "annotations": {"nfs.io/path": "", "keep": "1"}}}
    rule = {"metadata": {"=(annotations)": {"=(nfs.io/path)": "?*"}}}

    fixed = _fixed(claim, rule)

    assert fixed["metadata"]["annotations"] == {"keep": "1"}


def test_value_of_a_required_shape_stays_a_placeholder() -> None:
    """`name: safe-*` wants a renamed reference, which only the team can choose."""
    pod = {
        "spec": {
            "containers": [
                {"name": "a", "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "db"}}}]}
            ]
        }
    }
    rule = {
        "spec": {
            "containers": [{"=(env)": [{"=(valueFrom)": {"=(secretKeyRef)": {"name": "safe-*"}}}]}]
        }
    }

    fix = fix_pattern(pod, rule)

    assert fix is not None
    assert fix.placeholders == ("/spec/containers/0/env/0/valueFrom/secretKeyRef/name",)


def test_required_field_is_never_left_out() -> None:
    """Without an equality anchor the field is required: a placeholder, not a removal."""
    pod = {"metadata": {"namespace": "default"}}

    fix = fix_pattern(pod, {"metadata": {"namespace": "!default"}})

    assert fix is not None
    assert fix.placeholders == ("/metadata/namespace",)


def test_wide_optional_ancestors_are_not_removed() -> None:
    """Only the field or its direct holder may go, never a whole optional subtree."""
    pod = {"spec": {"template": {"spec": {"nodeName": "a", "hostname": "b"}}}}
    rule = {"spec": {"=(template)": {"spec": {"nodeName": "?*", "hostname": "!b"}}}}

    fix = fix_pattern(pod, rule)

    assert fix is not None
    assert fix.placeholders == ("/spec/template/spec/hostname",)


def test_star_label_is_set_present_and_empty() -> None:
    """A label the rule wants with any value (`"*"`) is added with the empty value."""
    pod = {"metadata": {"name": "p", "labels": {"app": "a"}}}

    fixed = _fixed(pod, {"metadata": {"labels": {"foo": "*"}}})

    assert fixed["metadata"]["labels"] == {"app": "a", "foo": ""}


def test_star_outside_labels_keeps_a_placeholder() -> None:
    """Elsewhere an empty text is not a meaningful value, so `"*"` stays guided."""
    pod = {"spec": {"containers": [{"name": "a"}]}}

    fix = fix_pattern(pod, {"spec": {"containers": [{"image": "*"}]}})

    assert fix is not None
    assert values_synthesis.has_placeholder(fix.ops[0].value)


def test_service_leaving_node_port_is_exact_and_valid() -> None:
    """End to end: the Service loses its type and the fields only NodePorts accept."""
    content = {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "no-nodeport"},
        "spec": {
            "rules": [
                {
                    "name": "no-nodeport",
                    "match": {"any": [{"resources": {"kinds": ["Service"]}}]},
                    "validate": {"message": "no", "pattern": {"spec": {"=(type)": "!NodePort"}}},
                }
            ]
        },
    }
    policy = policies.from_document(documents.Document("policy.yaml", 1, content))
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "a"},
        "spec": {
            "type": "NodePort",
            "externalTrafficPolicy": "Local",
            "ports": [{"port": 80, "nodePort": 30080}, {"port": 443}],
        },
    }

    [fix] = synthesis.fix_failures(service, [policy])

    assert fix.status == "exact", fix.note
    assert fix.fixed is not None
    assert fix.fixed["spec"] == {"ports": [{"port": 80}, {"port": 443}]}
    assert any("NodePort or LoadBalancer" in line for line in fix.summary)


@pytest.mark.parametrize(
    ("pod", "rule", "where"),
    [
        pytest.param(
            {"spec": {"securityContext": {"runAsUser": 0}}},
            {"spec": {"=(securityContext)": {"=(runAsUser)": "!0"}}},
            "/spec/securityContext/runAsUser",
            id="no-runAsUser-runs-as-the-image-user",
        ),
        pytest.param(
            {"spec": {"securityContext": {"seccompProfile": {"type": "Unconfined"}}}},
            {"spec": {"=(securityContext)": {"=(seccompProfile)": {"=(type)": "!Unconfined"}}}},
            "/spec/securityContext/seccompProfile/type",
            id="no-seccomp-profile-may-be-unconfined",
        ),
    ],
)
def test_fields_decided_at_run_time_are_not_left_out(
    pod: dict[str, Any], rule: dict[str, Any], where: str
) -> None:
    """Leaving these out would pass the rule without changing what runs."""
    fix = fix_pattern(pod, rule)

    assert fix is not None
    assert fix.placeholders == (where,)
