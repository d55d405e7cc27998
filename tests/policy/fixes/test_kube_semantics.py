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


def test_volume_without_source_becomes_an_empty_dir():
    """A removed hostPath leaves what Kubernetes would make of it, written out."""
    pod = apply_patch(
        POD, [PatchOp("add", "/spec/volumes", [{"name": "sock", "hostPath": {"path": "/x"}}])]
    )
    ops = [PatchOp("remove", "/spec/volumes/0/hostPath")]

    completed, placeholders, summary = kube_semantics.complete(pod, ops)

    assert apply_patch(pod, completed)["spec"]["volumes"] == [{"name": "sock", "emptyDir": {}}]
    assert placeholders == ()
    assert "sock" in summary[0]


def test_volume_keeping_another_source_is_left_alone():
    """Replacing one source by another needs no completion."""
    pod = apply_patch(
        POD, [PatchOp("add", "/spec/volumes", [{"name": "v", "hostPath": {"path": "/x"}}])]
    )
    ops = [
        PatchOp("remove", "/spec/volumes/0/hostPath"),
        PatchOp("add", "/spec/volumes/0/configMap", {"name": "c"}),
    ]

    completed, _, _ = kube_semantics.complete(pod, ops)

    assert completed == tuple(ops)


SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {
        "type": "LoadBalancer",
        "externalTrafficPolicy": "Local",
        "healthCheckNodePort": 32000,
        "loadBalancerSourceRanges": ["10.0.0.0/8"],
        "ports": [{"port": 80, "nodePort": 30080}, {"port": 81}],
    },
}


def test_service_turned_cluster_ip_loses_external_fields():
    """The API server accepts nodePort and friends only on external services."""
    ops = [PatchOp("remove", "/spec/type")]

    completed, _, summary = kube_semantics.complete(SERVICE, ops)

    assert apply_patch(SERVICE, completed)["spec"] == {"ports": [{"port": 80}, {"port": 81}]}
    assert "NodePort or LoadBalancer" in summary[0]


def test_service_turned_node_port_keeps_node_ports():
    """A NodePort keeps its node ports and traffic policy; only LoadBalancer fields go."""
    ops = [PatchOp("replace", "/spec/type", "NodePort")]

    completed, _, _ = kube_semantics.complete(SERVICE, ops)

    spec = apply_patch(SERVICE, completed)["spec"]
    assert spec["ports"][0]["nodePort"] == 30080
    assert spec["externalTrafficPolicy"] == "Local"
    assert "loadBalancerSourceRanges" not in spec


def test_service_keeping_its_type_is_left_alone():
    """Other changes to a Service need no completion."""
    ops = [PatchOp("replace", "/spec/ports/1/port", 82)]

    completed, _, _ = kube_semantics.complete(SERVICE, ops)

    assert completed == tuple(ops)


def _privileged_pod(**context: object) -> dict[str, object]:
    return apply_patch(POD, [PatchOp("add", "/spec/containers/0/securityContext", context)])


def test_escalation_off_drops_privileged_and_sys_admin():
    """allowPrivilegeEscalation: false cannot stand with privileged or SYS_ADMIN."""
    pod = _privileged_pod(privileged=True, capabilities={"add": ["NET_ADMIN", "SYS_ADMIN"]})
    ops = [PatchOp("add", "/spec/containers/0/securityContext/allowPrivilegeEscalation", False)]

    completed, placeholders, summary = kube_semantics.complete(pod, ops)

    context = apply_patch(pod, completed)["spec"]["containers"][0]["securityContext"]
    assert context["privileged"] is False
    assert context["capabilities"]["add"] == ["NET_ADMIN"]
    assert placeholders == ()
    assert len(summary) == 2


def test_existing_conflicts_are_not_ours_to_mend():
    """A conflict the manifest had before the fix is left for the rules to judge."""
    pod = _privileged_pod(privileged=True, allowPrivilegeEscalation=False)
    ops = [PatchOp("replace", "/spec/containers/0/image", "app:2")]

    completed, _, _ = kube_semantics.complete(pod, ops)

    assert completed == tuple(ops)


def test_pod_templates_are_searched_too():
    """Deployment and CronJob pod templates get the same care as a Pod."""
    container = {"name": "a", "image": "a:1", "securityContext": {"privileged": True}}
    cron = {
        "kind": "CronJob",
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [container]}}}}},
    }
    where = "/spec/jobTemplate/spec/template/spec/containers/0/securityContext"
    ops = [PatchOp("add", f"{where}/allowPrivilegeEscalation", False)]

    completed, _, _ = kube_semantics.complete(cron, ops)

    assert PatchOp("replace", f"{where}/privileged", False) in completed
