"""One patch for every failure of a manifest, Kyverno rules and CEL policies alike."""

from __future__ import annotations

from typing import Any

from bot.policy import celpolicies, documents, engine, policies
from bot.policy.celpolicies import CelPolicy
from bot.policy.fixes import combining
from bot.policy.fixes.patches import apply_patch
from bot.policy.requests import AdmissionRequest

POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "namespace": "a"},
    "spec": {
        "hostNetwork": True,
        "containers": [{"name": "app", "image": "nginx:1.25"}],
    },
}


def _kyverno(name: str, pattern: dict[str, Any]) -> policies.Policy:
    content = {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": name},
        "spec": {
            "rules": [
                {
                    "name": name,
                    "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                    "validate": {"message": "no", "pattern": pattern},
                }
            ]
        },
    }
    return policies.from_document(documents.Document("policy.yaml", 1, content))


def _vpol(name: str, expression: str) -> CelPolicy:
    content = {
        "apiVersion": "policies.kyverno.io/v1",
        "kind": "ValidatingPolicy",
        "metadata": {"name": name},
        "spec": {
            "validationActions": ["Deny"],
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["pods"],
                    }
                ]
            },
            "validations": [{"expression": expression}],
        },
    }
    (policy,) = celpolicies.from_documents([documents.Document("vpol.yaml", 1, content)])
    return policy


NON_ROOT = _kyverno(
    "non-root", {"spec": {"containers": [{"securityContext": {"runAsNonRoot": True}}]}}
)
NO_HOST_NETWORK = _vpol(
    "no-host-network", "!(has(object.spec.hostNetwork) && object.spec.hostNetwork)"
)


def _rejections(
    fixed: dict[str, Any], kyverno: list[policies.Policy], cel: list[CelPolicy]
) -> list[str]:
    request = AdmissionRequest(object=fixed)
    found = [
        f"{r.policy}/{r.rule}"
        for r in engine.evaluate_all(kyverno, request)
        if r.status in ("fail", "error")
    ]
    return found + [r.policy for r in celpolicies.evaluate_all(cel, request) if r.status == "fail"]


def test_both_kinds_are_fixed_in_one_patch() -> None:
    """A Kyverno rule and a ValidatingPolicy are repaired by one valid patch."""
    combined = combining.combine(POD, [NON_ROOT], cel_policies=[NO_HOST_NETWORK])

    fixed = apply_patch(POD, list(combined.ops))
    assert fixed == combined.fixed
    assert _rejections(fixed, [NON_ROOT], [NO_HOST_NETWORK]) == []
    assert set(combined.fixed_rules) == {"non-root/non-root", "no-host-network"}


def test_cel_fix_that_breaks_a_kyverno_rule_is_not_taken() -> None:
    """The CEL proof sees only CEL policies; combining checks the other kind too."""
    wants_host_network = _kyverno("host-network", {"spec": {"hostNetwork": True}})

    combined = combining.combine(POD, [wants_host_network], cel_policies=[NO_HOST_NETWORK])

    assert combined.ops == ()
    assert combined.fixed == POD


def test_kyverno_fix_that_breaks_a_cel_policy_is_not_taken() -> None:
    """And a Kyverno fix may not make a passing CEL policy fail."""
    pod = {**POD, "spec": {**POD["spec"], "hostNetwork": False}}
    wants_host_network = _kyverno("host-network", {"spec": {"hostNetwork": True}})

    combined = combining.combine(pod, [wants_host_network], cel_policies=[NO_HOST_NETWORK])

    assert combined.ops == ()


def test_nothing_to_fix_gives_an_empty_patch() -> None:
    """A compliant manifest comes back unchanged."""
    pod = {
        **POD,
        "spec": {
            "containers": [
                {"name": "app", "image": "nginx:1.25", "securityContext": {"runAsNonRoot": True}}
            ]
        },
    }

    combined = combining.combine(pod, [NON_ROOT], cel_policies=[NO_HOST_NETWORK])

    assert combined.ops == ()
    assert combined.fixed_rules == ()
