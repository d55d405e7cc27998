"""Exact fixes derived from deny conditions, by operator and by rule shape."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.policy import documents, engine, policies
from bot.policy.contexts import EvaluationContext
from bot.policy.fixes import deny_fixes, synthesis
from bot.policy.fixes.deny_edits import Path
from bot.policy.fixes.proposals import ProposedFix
from bot.policy.requests import AdmissionRequest

PODS = {"any": [{"resources": {"kinds": ["Pod"]}}]}
ALL_CONTAINERS = "request.object.spec.[ephemeralContainers, initContainers, containers][]"


def _pod(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "apps", "annotations": {"debug": "on"}},
        "spec": {
            "replicas": 5,
            "hostNetwork": True,
            "serviceAccountName": "default",
            "containers": [
                {
                    "name": "app",
                    "image": "k8s.gcr.io/app:1",
                    "ports": [{"containerPort": 80, "hostPort": 80}, {"hostPort": 5500}],
                    "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE", "SYS_ADMIN"]}},
                }
            ],
            **spec,
        },
    }


def _fix(conditions: Any, manifest: dict[str, Any] | None = None) -> ProposedFix | None:
    context = EvaluationContext.for_request(AdmissionRequest(object=manifest or _pod()))
    roots: dict[Path, Path] = {("request", "object"): ()}
    return deny_fixes.fix_deny({"conditions": conditions}, context, roots=roots)


def _ops(fix: ProposedFix | None) -> list[dict[str, Any]] | None:
    return None if fix is None else [op.to_json() for op in fix.ops]


def _cond(key: Any, operator: str, value: Any) -> dict[str, Any]:
    return {"key": key, "operator": operator, "value": value}


def _all(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"all": list(conditions)}


def _any(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"any": list(conditions)}


CAPS = "/spec/containers/0/securityContext/capabilities"
EXACT_CASES = [
    pytest.param(
        _any(_cond("{{ request.object.spec.serviceAccountName }}", "NotEquals", "app")),
        [{"op": "replace", "path": "/spec/serviceAccountName", "value": "app"}],
        id="not-equals-pins-the-value",
    ),
    pytest.param(
        _any(_cond("{{ request.object.spec.serviceAccountName }}", "AnyNotIn", ["a", "b"])),
        [{"op": "replace", "path": "/spec/serviceAccountName", "value": "a"}],
        id="not-in-takes-the-first-allowed",
    ),
    pytest.param(
        _all(_cond("{{ request.object.spec.hostNetwork || `false` }}", "Equals", True)),
        [{"op": "replace", "path": "/spec/hostNetwork", "value": False}],
        id="boolean-is-flipped",
    ),
    pytest.param(
        _any(_cond("{{ request.object.spec.replicas }}", "GreaterThan", 3)),
        [{"op": "replace", "path": "/spec/replicas", "value": 3}],
        id="greater-than-lands-on-the-bound",
    ),
    pytest.param(
        _any(_cond("{{ request.object.spec.replicas }}", "GreaterThanOrEquals", "3")),
        [{"op": "replace", "path": "/spec/replicas", "value": 2}],
        id="or-equals-steps-below-a-numeric-string",
    ),
    pytest.param(
        _any(_cond("{{ request.object.spec.replicas }}", "LessThan", 8)),
        [{"op": "replace", "path": "/spec/replicas", "value": 8}],
        id="less-than-lands-on-the-bound",
    ),
    pytest.param(
        _any(_cond("{{ request.object.metadata.annotations.debug || '' }}", "NotEquals", "")),
        [{"op": "remove", "path": "/metadata/annotations/debug"}],
        id="present-field-is-removed",
    ),
    pytest.param(
        _all(
            _cond(
                "{{ request.object.spec.containers[].securityContext.capabilities.add[] || '' }}",
                "AnyNotIn",
                ["NET_BIND_SERVICE", ""],
            )
        ),
        [{"op": "remove", "path": f"{CAPS}/add/1"}],
        id="disallowed-list-entries-are-removed",
    ),
    pytest.param(
        _all(
            _cond(
                "ALL",
                "AnyNotIn",
                "{{ request.object.spec.containers[0].securityContext.capabilities.drop[] "
                "|| `[]` }}",
            )
        ),
        [{"op": "add", "path": f"{CAPS}/drop", "value": ["ALL"]}],
        id="required-entry-is-appended-to-a-new-list",
    ),
    pytest.param(
        _all(
            _cond(
                "{{ request.object.spec.[initContainers, containers][].ports[].hostPort }}",
                "AnyNotIn",
                "5000-6000",
            ),
            _cond(
                "{{ request.object.spec.[initContainers, containers][].ports[].hostPort }}",
                "AnyNotIn",
                [0],
            ),
        ),
        [{"op": "remove", "path": "/spec/containers/0/ports/0/hostPort"}],
        id="port-outside-a-range-is-dropped",
    ),
    pytest.param(
        _any(
            _cond(
                "{{ contains(request.object.spec.containers[].securityContext"
                ".capabilities.add[], 'SYS_ADMIN') }}",
                "Equals",
                True,
            )
        ),
        [{"op": "remove", "path": f"{CAPS}/add/1"}],
        id="contains-true-removes-the-needle",
    ),
    pytest.param(
        _all(
            _cond(
                "{{ keys(request.object.metadata.annotations) | contains(@, 'debug') }}",
                "Equals",
                True,
            )
        ),
        [{"op": "remove", "path": "/metadata/annotations/debug"}],
        id="contains-on-keys-removes-the-field",
    ),
    pytest.param(
        _any(
            _cond(
                ["SYS_ADMIN", "NET_RAW"],
                "AnyIn",
                "{{ request.object.spec.containers[?name == 'app'].securityContext"
                ".capabilities.add[] }}",
            )
        ),
        [{"op": "remove", "path": f"{CAPS}/add/1"}],
        id="filtered-list-loses-the-forbidden-values",
    ),
    pytest.param(
        _any(
            _cond("{{ request.object.spec.replicas }}", "GreaterThan", 3),
            _cond("{{ request.object.spec.hostNetwork }}", "Equals", True),
        ),
        [
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "replace", "path": "/spec/hostNetwork", "value": False},
        ],
        id="any-falsifies-every-holding-condition",
    ),
    pytest.param(
        _all(
            _cond("{{ request.object.spec.storageClassName || '' }}", "Equals", ""),
            _cond("{{ request.object.spec.replicas }}", "GreaterThan", 3),
        ),
        [{"op": "replace", "path": "/spec/replicas", "value": 3}],
        id="all-prefers-the-condition-without-placeholder",
    ),
    pytest.param(
        _all(
            _cond(
                "{{ request.object.spec.containers[].securityContext.capabilities.add[] }}",
                "AnyIn",
                ["NET_BIND_SERVICE", "SYS_ADMIN"],
            ),
            _cond(
                "{{ request.object.spec.containers[].securityContext.capabilities.add[] }}",
                "AnyIn",
                ["NET_BIND_SERVICE"],
            ),
        ),
        [{"op": "remove", "path": f"{CAPS}/add/0"}],
        id="all-prefers-trimming-to-emptying",
    ),
    pytest.param(
        [
            _any(_cond("{{ request.object.spec.hostNetwork }}", "Equals", True)),
            _any(_cond("{{ request.operation }}", "Equals", "CREATE")),
        ],
        [{"op": "replace", "path": "/spec/hostNetwork", "value": False}],
        id="a-list-of-blocks-needs-one-false",
    ),
    pytest.param(
        [_cond("{{ request.object.spec.hostNetwork }}", "Equals", True)],
        [{"op": "replace", "path": "/spec/hostNetwork", "value": False}],
        id="legacy-bare-list-is-all",
    ),
]


@pytest.mark.parametrize(("conditions", "ops"), EXACT_CASES)
def test_exact_fixes_make_the_conditions_false(conditions: Any, ops: list[Any]) -> None:
    """Each operator's meaning gives a value, and the patch is minimal."""
    fix = _fix(conditions)

    assert fix is not None
    assert _ops(fix) == ops
    assert fix.placeholders == ()


GUIDED_CASES = [
    pytest.param(
        _any(_cond("{{ request.object.spec.storageClassName || '' }}", "Equals", "")),
        "/spec/storageClassName",
        "<a value other than ''>",
        id="missing-field-gets-a-placeholder",
    ),
    pytest.param(
        _any(_cond("{{ request.object.spec.containers[0].image }}", "Equals", "k8s.gcr.io/*")),
        "/spec/containers/0/image",
        "<a value other than k8s.gcr.io/*>",
        id="wildcard-cannot-be-inverted",
    ),
    pytest.param(
        _any(_cond("ownerReferences", "AnyNotIn", "{{ request.object.metadata.keys(@) }}")),
        "/metadata/ownerReferences",
        "<a value for ownerReferences>",
        id="required-key-gets-a-placeholder-field",
    ),
    pytest.param(
        _any(
            _cond("{{ contains(request.object.spec.containers[0].image, 'gcr') }}", "Equals", True)
        ),
        "/spec/containers/0/image",
        "<a value without gcr>",
        id="substring-is-the-owners-call",
    ),
    pytest.param(
        _any(_cond("{{ to_upper(request.object.spec.serviceAccountName) }}", "Equals", "DEFAULT")),
        "/spec/serviceAccountName",
        "<a value for which to_upper(request.object.spec.serviceAccountName) is not DEFAULT>",
        id="computed-key-points-at-its-source",
    ),
]


@pytest.mark.parametrize(("conditions", "pointer", "placeholder"), GUIDED_CASES)
def test_guided_fixes_mark_the_field_to_fill(
    conditions: Any, pointer: str, placeholder: str
) -> None:
    """Where no value can be derived, a placeholder says what is wanted."""
    fix = _fix(conditions)

    assert fix is not None
    assert fix.placeholders == (pointer,)
    assert [(op.path, op.value) for op in fix.ops] == [(pointer, placeholder)]


def test_dropping_elements_over_a_length_bound_is_for_confirmation() -> None:
    """Which elements to drop is a choice, so the list is marked guided."""
    manifest = _pod()
    manifest["spec"]["containers"] += [{"name": "b"}, {"name": "c"}]
    conditions = _any(_cond("{{ request.object.spec.containers[] | length(@) }}", "GreaterThan", 2))

    fix = _fix(conditions, manifest)

    assert _ops(fix) == [{"op": "remove", "path": "/spec/containers/2"}]
    assert fix is not None
    assert fix.placeholders == ("/spec/containers",)


@pytest.mark.parametrize(
    "conditions",
    [
        pytest.param(_any(_cond("{{ request.operation }}", "Equals", "CREATE")), id="no-field"),
        pytest.param(None, id="no-conditions"),
        pytest.param(
            _any(_cond("{{ request.object.spec.replicas }}", "GreaterThan", 9)), id="already-false"
        ),
        pytest.param(
            _any(
                _cond(
                    "{{ request.object.spec.containers[?name == 'app'] | length(@) }}", "Equals", 1
                )
            ),
            id="filtered-count",
        ),
    ],
)
def test_nothing_to_derive_gives_none(conditions: Any) -> None:
    """Conditions on request data, or already false, propose nothing."""
    assert _fix(conditions) is None


# End to end: policies through synthesis, proven by re-evaluation -------------


def _policy(*rules: dict[str, Any]) -> policies.Policy:
    content = {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "pol"},
        "spec": {"rules": list(rules)},
    }
    return policies.from_document(documents.Document("policy.yaml", 1, content))


def _rule(name: str, validate: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "match": PODS, "validate": {"message": "no", **validate}, **extra}


def _foreach(deny: dict[str, Any], lst: str = ALL_CONTAINERS, **loop: Any) -> dict[str, Any]:
    return {"foreach": [{"list": lst, "deny": {"conditions": deny}, **loop}]}


def _only_fix(manifest: dict[str, Any], *rules: dict[str, Any]) -> synthesis.Fix:
    policy = _policy(*rules)
    fixes = synthesis.fix_failures(manifest, [policy])
    assert len(fixes) == 1
    return fixes[0]


def _passes(fix: synthesis.Fix, *rules: dict[str, Any]) -> bool:
    assert fix.fixed is not None
    results = engine.evaluate(_policy(*rules), AdmissionRequest(object=dict(fix.fixed)))
    return all(r.status in ("pass", "skip") for r in results)


DROP_ALL = _rule(
    "drop-all",
    _foreach(
        _all(
            _cond(
                "ALL",
                "AnyNotIn",
                "{{ element.securityContext.capabilities.drop[].to_upper(@) || `[]` }}",
            )
        )
    ),
)
ADD_ONLY_BIND = _rule(
    "add-only-bind",
    _foreach(
        _all(
            _cond(
                "{{ element.securityContext.capabilities.add[] || '' }}",
                "AnyNotIn",
                ["NET_BIND_SERVICE", ""],
            )
        )
    ),
)


def test_foreach_over_a_multi_select_fixes_each_list() -> None:
    """Each flattened element is patched in its own list, parents created."""
    manifest = _pod(
        initContainers=[{"name": "init", "securityContext": {"capabilities": {"drop": ["all"]}}}],
        ephemeralContainers=[{"name": "debug"}],
    )

    fix = _only_fix(manifest, DROP_ALL)

    assert fix.status == "exact"
    assert _ops_of(fix) == [
        {
            "op": "add",
            "path": "/spec/ephemeralContainers/0/securityContext",
            "value": {"capabilities": {"drop": ["ALL"]}},
        },
        {"op": "add", "path": f"{CAPS}/drop", "value": ["ALL"]},
    ]
    assert _passes(fix, DROP_ALL)


def test_foreach_removes_disallowed_capabilities() -> None:
    """Only the offending entry goes; the allowed one stays."""
    fix = _only_fix(_pod(), ADD_ONLY_BIND)

    assert fix.status == "exact"
    assert _ops_of(fix) == [{"op": "remove", "path": f"{CAPS}/add/1"}]
    assert fix.summary == (
        'remove "SYS_ADMIN" from spec.containers[0].securityContext.capabilities.add',
    )


def test_autogen_rules_are_fixed_in_the_pod_template() -> None:
    """The same rule on a Deployment patches spec.template.spec."""
    pod = _pod()
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"template": {"metadata": {}, "spec": pod["spec"]}},
    }

    fix = _only_fix(deployment, ADD_ONLY_BIND)

    assert fix.status == "exact"
    assert _ops_of(fix) == [
        {
            "op": "remove",
            "path": "/spec/template/spec/containers/0/securityContext/capabilities/add/1",
        }
    ]


def test_foreach_preconditions_are_not_dodged() -> None:
    """A fix that would make the loop skip the element is not a fix."""
    rule = _rule(
        "root-privileged",
        _foreach(
            _all(
                _cond("{{ element.securityContext.privileged || `false` }}", "Equals", True),
                _cond("{{ element.securityContext.runAsUser || `0` }}", "Equals", 0),
            ),
            preconditions=_all(
                _cond("{{ element.securityContext.privileged || `false` }}", "Equals", True)
            ),
        ),
    )
    manifest = _pod()
    manifest["spec"]["containers"][0]["securityContext"] = {"privileged": True}

    fix = _only_fix(manifest, rule)

    assert fix.status == "exact"
    assert _ops_of(fix) == [
        {"op": "add", "path": "/spec/containers/0/securityContext/runAsUser", "value": 1}
    ]


def test_top_level_host_port_range_is_exact() -> None:
    """Ports outside the range lose their hostPort; those inside stay."""
    ports = f"{{{{ {ALL_CONTAINERS}.ports[].hostPort }}}}"
    rule = _rule(
        "host-port-range",
        {
            "deny": {
                "conditions": _all(
                    _cond(ports, "AnyNotIn", "5000-6000"), _cond(ports, "AnyNotIn", [0])
                )
            }
        },
    )

    fix = _only_fix(_pod(), rule)

    assert fix.status == "exact"
    assert _ops_of(fix) == [{"op": "remove", "path": "/spec/containers/0/ports/0/hostPort"}]
    assert _passes(fix, rule)


def test_placeholder_fix_is_guided_at_the_right_path() -> None:
    """A value the rule cannot give is left for the owner, clearly marked."""
    rule = _rule(
        "needs-class",
        {
            "deny": {
                "conditions": _any(
                    _cond("{{ request.object.spec.priorityClassName || '' }}", "Equals", "")
                )
            }
        },
    )

    fix = _only_fix(_pod(), rule)

    assert fix.status == "guided"
    assert _ops_of(fix) == [
        {"op": "add", "path": "/spec/priorityClassName", "value": "<a value other than ''>"}
    ]
    assert "/spec/priorityClassName" in fix.note


def test_foreach_over_strings_points_at_the_element() -> None:
    """Elements that are plain strings are found by their index."""
    manifest = _pod()
    manifest["spec"]["hosts"] = ["ok.example.com", "*.example.com"]
    rule = _rule(
        "no-wildcard-hosts",
        _foreach(
            _any(_cond("{{ contains(element, '*') }}", "Equals", True)),
            lst="request.object.spec.hosts",
        ),
    )

    fix = _only_fix(manifest, rule)

    assert fix.status == "guided"
    assert _ops_of(fix) == [
        {"op": "replace", "path": "/spec/hosts/1", "value": "<a value without *>"}
    ]


def test_a_fix_never_edits_the_manifest_in_place() -> None:
    """Synthesis works on copies; the caller's manifest is untouched."""
    manifest = _pod()
    before = copy.deepcopy(manifest)

    _only_fix(manifest, ADD_ONLY_BIND)

    assert manifest == before


def _ops_of(fix: synthesis.Fix) -> list[dict[str, Any]]:
    return [op.to_json() for op in fix.ops]
