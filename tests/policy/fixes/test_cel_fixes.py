"""Fixes for CEL rules and ValidatingPolicies, derived by search and proven."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.policy import celpolicies, documents, engine, policies
from bot.policy.celpolicies import CelPolicy
from bot.policy.fixes import cel_fixes, platform_defaults, synthesis
from bot.policy.requests import AdmissionRequest

PODS = {"any": [{"resources": {"kinds": ["Pod"]}}]}
ALL_CONTAINERS = (
    "object.spec.containers + object.spec.?initContainers.orValue([])"
    " + object.spec.?ephemeralContainers.orValue([])"
)


def _pod(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web",
            "namespace": "apps",
            "labels": {"app": "web"},
            "annotations": {"fluxcd.io/automated": "true", "owner": "team-a"},
        },
        "spec": {
            "replicas": 5,
            "hostNetwork": True,
            "containers": [
                {"name": "app", "image": "docker.io/nginx:latest", "ports": [{"hostPort": 80}]},
                {
                    "name": "sidecar",
                    "image": "registry.corp/proxy:1.2",
                    "securityContext": {"runAsNonRoot": True, "privileged": False},
                },
            ],
            "initContainers": [
                {"name": "init", "image": "busybox:1", "securityContext": {"privileged": True}}
            ],
            "volumes": [{"name": "data", "hostPath": {"path": "/var/run/docker.sock"}}],
            **spec,
        },
    }


def _deployment() -> dict[str, Any]:
    pod = _pod()
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {
            "replicas": 2,
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod["spec"]},
        },
    }


def _policy(
    *expressions: str, variables: dict[str, str] | None = None, **rule: Any
) -> policies.Policy:
    cel: dict[str, Any] = {"expressions": [{"expression": e} for e in expressions]}
    if variables:
        cel["variables"] = [{"name": k, "expression": v} for k, v in variables.items()]
    content = {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "pol"},
        "spec": {
            "rules": [
                {"name": "check", "match": PODS, "validate": {"message": "no", "cel": cel}, **rule}
            ]
        },
    }
    return policies.from_document(documents.Document("policy.yaml", 1, content))


def _fix(policy: policies.Policy, manifest: dict[str, Any] | None = None) -> synthesis.Fix:
    fixes = synthesis.fix_failures(manifest or _pod(), [policy])
    assert len(fixes) == 1
    return fixes[0]


def _ops(fix: synthesis.Fix) -> list[dict[str, Any]]:
    return [op.to_json() for op in fix.ops]


def _passes(policy: policies.Policy, manifest: Any) -> bool:
    results = engine.evaluate(policy, AdmissionRequest(object=dict(manifest)))
    return bool(results) and all(r.status == "pass" for r in results)


# Exact fixes, by expression shape ---------------------------------------------

SC = "/spec/containers/0/securityContext"
EXACT_CASES = [
    pytest.param(
        _policy("object.spec.containers.all(c, c.?securityContext.?runAsNonRoot.orValue(false))"),
        [{"op": "add", "path": SC, "value": {"runAsNonRoot": True}}],
        id="macro-over-containers-sets-the-boolean",
    ),
    pytest.param(
        _policy(
            "variables.all.all(c, c.?securityContext.?privileged.orValue(false) == false)",
            variables={"all": ALL_CONTAINERS},
        ),
        [
            {
                "op": "replace",
                "path": "/spec/initContainers/0/securityContext/privileged",
                "value": False,
            }
        ],
        id="variable-list-maps-back-to-init-containers",
    ),
    pytest.param(
        _policy("!has(object.spec.hostNetwork) || object.spec.hostNetwork == false"),
        [{"op": "replace", "path": "/spec/hostNetwork", "value": False}],
        id="has-guard-keeps-the-field-and-flips-it",
    ),
    pytest.param(
        _policy("!has(object.spec.volumes)"),
        [{"op": "remove", "path": "/spec/volumes"}],
        id="not-has-removes-the-field",
    ),
    pytest.param(
        _policy("object.spec.?dnsPolicy.orValue('Default') in ['ClusterFirst', 'None']"),
        [{"op": "add", "path": "/spec/dnsPolicy", "value": "ClusterFirst"}],
        id="in-list-takes-the-first-allowed",
    ),
    pytest.param(
        _policy("object.spec.replicas <= 3"),
        [{"op": "replace", "path": "/spec/replicas", "value": 3}],
        id="numeric-bound-is-clamped",
    ),
    pytest.param(
        _policy(
            "object.spec.containers.all(c, c.?ports.orValue([]).all(p,"
            " !has(p.hostPort) || p.hostPort >= 8000 && p.hostPort <= 9000))"
        ),
        [{"op": "replace", "path": "/spec/containers/0/ports/0/hostPort", "value": 8000}],
        id="nested-macro-range-is-clamped",
    ),
    pytest.param(
        _policy("object.metadata.?labels[?'team'].orValue('') in ['platform', 'data']"),
        [{"op": "add", "path": "/metadata/labels/team", "value": "platform"}],
        id="labels-map-entry-is-added",
    ),
    pytest.param(
        _policy("object.metadata.annotations.all(k, !k.startsWith('fluxcd.io/'))"),
        [{"op": "remove", "path": "/metadata/annotations/fluxcd.io~1automated"}],
        id="map-keys-failing-all-are-removed",
    ),
    pytest.param(
        _policy(
            "object.spec.containers.all(c,"
            " c.?securityContext.?capabilities.?drop.orValue([]).exists(d, d == 'ALL'))"
        ),
        [
            {"op": "add", "path": SC, "value": {"capabilities": {"drop": ["ALL"]}}},
            {
                "op": "add",
                "path": "/spec/containers/1/securityContext/capabilities",
                "value": {"drop": ["ALL"]},
            },
        ],
        id="exists-appends-the-wanted-item",
    ),
    pytest.param(
        _policy(
            "object.spec.containers.all(c, c.image.startsWith('registry.corp/'))",
        ),
        [
            {
                "op": "replace",
                "path": "/spec/containers/0/image",
                "value": "registry.corp/nginx:latest",
            }
        ],
        id="image-moves-under-the-registry",
    ),
    pytest.param(
        _policy(
            "object.spec.containers.all(c, variables.hosts.exists(r, c.image.startsWith(r)))",
            variables={"hosts": "['registry.corp', 'ghcr.io']"},
        ),
        [
            {
                "op": "replace",
                "path": "/spec/containers/0/image",
                "value": "registry.corp/nginx:latest",
            }
        ],
        id="image-moves-under-a-listed-registry",
    ),
    pytest.param(
        _policy("object.metadata.?labels.?app.orValue('') == object.metadata.name"),
        [],
        id="already-equal-fields-need-nothing",
    ),
    pytest.param(
        _policy("object.spec.?serviceAccountName.orValue('x') == object.metadata.labels.app"),
        [{"op": "add", "path": "/spec/serviceAccountName", "value": "web"}],
        id="field-takes-the-value-it-must-equal",
    ),
]


@pytest.mark.parametrize(("policy", "ops"), EXACT_CASES)
def test_exact_fix_passes_on_reevaluation(policy: policies.Policy, ops: Any) -> None:
    """Each shape gets the expected patch, and the patched pod passes."""
    if not ops:
        assert synthesis.fix_failures(_pod(), [policy]) == []
        return
    fix = _fix(policy)

    assert fix.status == "exact", fix.note
    assert _ops(fix) == ops
    assert _passes(policy, fix.fixed)


def test_deployment_is_fixed_through_autogen() -> None:
    """An autogen rule reads the pod template, so the fix edits the template."""
    policy = _policy(
        "object.spec.containers.all(c, c.?securityContext.?runAsNonRoot.orValue(false))"
    )
    fixes = synthesis.fix_failures(_deployment(), [policy])

    assert [f.failure.rule for f in fixes] == ["autogen-check"]
    assert fixes[0].status == "exact"
    assert _ops(fixes[0]) == [
        {
            "op": "add",
            "path": "/spec/template/spec/containers/0/securityContext",
            "value": {"runAsNonRoot": True},
        }
    ]


# Guided fixes and no fix -------------------------------------------------------

GUIDED_CASES = [
    pytest.param(
        _policy("object.spec.containers.all(c, !c.image.endsWith(':latest'))"),
        "/spec/containers/0/image",
        "docker.io/nginx:<pin a version>",
        id="image-tag-is-a-placeholder",
    ),
    pytest.param(
        _policy(
            "object.spec.containers.all(c, has(c.resources) && has(c.resources.limits.memory))"
        ),
        "/spec/containers/0/resources",
        {"limits": {"memory": "<set a value>"}},
        id="has-chain-creates-maps-around-a-placeholder",
    ),
    pytest.param(
        _policy("object.metadata.?labels[?'version'].orValue('').matches('^v[0-9]+$')"),
        "/metadata/labels/version",
        "<a value matching ^v[0-9]+$>",
        id="regex-is-trusted-to-a-person",
    ),
    pytest.param(
        _policy("size(object.spec.containers) <= 1"),
        "/spec/containers/0",
        None,
        id="which-container-to-drop-is-confirmed",
    ),
    pytest.param(
        _policy("object.metadata.namespace != 'apps'"),
        "/metadata/namespace",
        "<a value other than apps>",
        id="namespace-is-only-a-placeholder",
    ),
]


@pytest.mark.parametrize(("policy", "path", "value"), GUIDED_CASES)
def test_unknowable_values_are_guided(policy: policies.Policy, path: str, value: Any) -> None:
    """Where only the team knows the value, the fix holds a placeholder."""
    fix = _fix(policy)

    assert fix.status == "guided"
    assert [op.value for op in fix.ops if op.path == path] == [value]
    assert fix.note.startswith("fill in the placeholder values at")


NONE_CASES = [
    pytest.param(_policy("false"), "rejects everything it selects", id="constant-false"),
    pytest.param(
        _policy(
            "!has(object.spec.hostNetwork)",
            celPreconditions=[{"name": "net", "expression": "has(object.spec.hostNetwork)"}],
        ),
        "no edit of the fields",
        id="no-fix-dodges-the-preconditions",
    ),
    pytest.param(
        _policy("request.operation == 'DELETE'"), "no edit of the fields", id="request-data-only"
    ),
    pytest.param(
        _policy("object.kind == 'Deployment'"), "no edit of the fields", id="identity-is-kept"
    ),
]


@pytest.mark.parametrize(("policy", "note"), NONE_CASES)
def test_underivable_rules_give_no_fix(policy: policies.Policy, note: str) -> None:
    """What no manifest edit can satisfy gets no patch, and says why."""
    fix = _fix(policy)

    assert fix.status == "none"
    assert not fix.ops
    assert note in fix.note


def test_fix_leaves_the_manifest_untouched() -> None:
    """Synthesis works on copies; the caller's manifest is never edited."""
    manifest = _pod()
    before = copy.deepcopy(manifest)

    _fix(_policy("object.spec.replicas <= 3"), manifest)

    assert manifest == before


# ValidatingPolicy ---------------------------------------------------------------

POD_RULES = {
    "resourceRules": [
        {
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["pods"],
        }
    ]
}


def _vpol(name: str, *expressions: str, **spec: Any) -> CelPolicy:
    content = {
        "apiVersion": "policies.kyverno.io/v1",
        "kind": "ValidatingPolicy",
        "metadata": {"name": name},
        "spec": {
            "validationActions": ["Deny"],
            "matchConstraints": POD_RULES,
            "validations": [{"expression": e} for e in expressions],
            **spec,
        },
    }
    (policy,) = celpolicies.from_documents([documents.Document("vpol.yaml", 1, content)])
    return policy


NON_ROOT = "object.spec.containers.all(c, c.?securityContext.?runAsNonRoot.orValue(false))"


def test_validating_policy_fix_is_proven() -> None:
    """A ValidatingPolicy failure gets an exact fix, checked by evaluating again."""
    policy = _vpol("non-root", NON_ROOT)
    request = AdmissionRequest(object=_pod())

    fix = cel_fixes.fix_cel_policy(policy, request)

    assert fix is not None
    assert fix.status == "exact"
    assert fix.failure.policy == "non-root"
    assert _ops(fix) == [{"op": "add", "path": SC, "value": {"runAsNonRoot": True}}]


def test_validating_policy_autogen_edits_the_template() -> None:
    """For a Deployment the autogen spec applies, so the template is fixed."""
    policy = _vpol("non-root", NON_ROOT)
    request = AdmissionRequest(object=_deployment())

    fix = cel_fixes.fix_cel_policy(policy, request)

    assert fix is not None
    assert fix.status == "exact"
    assert [op.path for op in fix.ops] == ["/spec/template/spec/containers/0/securityContext"]


def test_passing_validating_policy_needs_no_fix() -> None:
    """A policy that admits the request has nothing to fix."""
    policy = _vpol("small", "object.spec.replicas <= 10")

    assert cel_fixes.fix_cel_policy(policy, AdmissionRequest(object=_pod())) is None


def test_fix_breaking_another_policy_is_guided() -> None:
    """The proof covers the other CEL policies: breaking one is not exact."""
    policy = _vpol("few", "object.spec.replicas <= 3")
    other = _vpol("many", "object.spec.replicas >= 4")
    request = AdmissionRequest(object=_pod())

    fix = cel_fixes.fix_cel_policy(policy, request, policies=[policy, other])

    assert fix is not None
    assert fix.status == "guided"
    assert "many" in fix.note


def test_match_conditions_are_kept() -> None:
    """No fix makes the policy skip by breaking its match conditions."""
    policy = _vpol(
        "nets",
        "!has(object.spec.hostNetwork)",
        matchConditions=[{"name": "net", "expression": "has(object.spec.hostNetwork)"}],
    )

    fix = cel_fixes.fix_cel_policy(policy, AdmissionRequest(object=_pod()))

    assert fix is not None
    assert fix.status == "none"


def test_parameterised_vap_is_not_fixed() -> None:
    """A VAP taking parameters gets no fix: one parameter set proves nothing."""
    content = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "vap"},
        "spec": {
            "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
            "matchConstraints": POD_RULES,
            "validations": [{"expression": "object.spec.replicas <= 3"}],
        },
    }
    (policy,) = celpolicies.from_documents([documents.Document("vap.yaml", 1, content)])

    fix = cel_fixes.fix_cel_policy(policy, AdmissionRequest(object=_pod()))

    assert fix is None or fix.status == "none"


def test_key_test_on_a_kubernetes_map_builds_a_map() -> None:
    """`'cpu' in c.resources.limits` wants a key in a map; a list there the API refuses."""
    policy = _policy(
        "object.spec.containers.all(c, has(c.resources) && has(c.resources.limits)"
        " && 'cpu' in c.resources.limits)"
    )
    pod = _pod(containers=[{"name": "app", "image": "nginx:1.25"}])

    fix = _fix(policy, pod)

    assert fix.fixed is not None
    limits = fix.fixed["spec"]["containers"][0]["resources"]["limits"]
    assert isinstance(limits, dict)
    assert set(limits) == {"cpu"}
    assert fix.status == "guided"


def test_key_test_takes_the_platform_default() -> None:
    """With platform defaults, the same key test is fixed exactly with the LimitRange value."""
    policy = _policy("object.spec.containers.all(c, 'cpu' in c.?resources.?limits.orValue({}))")
    pod = _pod(containers=[{"name": "app", "image": "nginx:1.25"}])
    defaults = platform_defaults.from_objects(
        [
            {
                "kind": "LimitRange",
                "metadata": {"name": "lr"},
                "spec": {"limits": [{"type": "Container", "default": {"cpu": "750m"}}]},
            }
        ]
    )

    [fix] = synthesis.fix_failures(pod, [policy], defaults=defaults)

    assert fix.status == "exact", fix.note
    assert fix.fixed is not None
    assert fix.fixed["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "750m"}}
