"""Minimal patches that make a validate pattern pass, proven by evaluation."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bot.policy.fixes import pattern_fixes, values_synthesis
from bot.policy.fixes.patches import apply_patch
from bot.policy.fixes.pattern_fixes import fix_any_pattern, fix_pattern
from bot.policy.patterns import validate_pattern


def _pod(*containers: dict[str, Any], labels: Any = None, **spec: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "web"}
    if labels is not None:
        metadata["labels"] = labels
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"containers": list(containers) or [_container()], **spec},
    }


def _container(name: str = "app", image: str = "nginx:1.25", **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": image, **fields}


def _ops(fix: pattern_fixes.ProposedFix | None) -> list[dict[str, Any]] | None:
    return None if fix is None else [op.to_json() for op in fix.ops]


def _containers(item: Any) -> dict[str, Any]:
    return {"spec": {"containers": [item]}}


NON_ROOT = _containers({"securityContext": {"runAsNonRoot": "true"}})
MAYBE_PRIVILEGED = {
    "spec": {
        "=(initContainers)": [{"=(securityContext)": {"=(privileged)": "false"}}],
        "containers": [{"=(securityContext)": {"=(privileged)": "false"}}],
    }
}


@pytest.mark.parametrize(
    ("resource", "pattern", "expected"),
    [
        pytest.param(
            _pod(_container(), _container("b", securityContext={"runAsNonRoot": False})),
            NON_ROOT,
            [
                {
                    "op": "add",
                    "path": "/spec/containers/0/securityContext",
                    "value": {"runAsNonRoot": True},
                },
                {
                    "op": "replace",
                    "path": "/spec/containers/1/securityContext/runAsNonRoot",
                    "value": True,
                },
            ],
            id="missing-parent-added-whole-and-wrong-value-replaced",
        ),
        pytest.param(
            _pod(_container(securityContext={"runAsUser": 0})),
            _containers({"securityContext": {"runAsNonRoot": True, "runAsUser": ">0"}}),
            [
                {
                    "op": "add",
                    "path": "/spec/containers/0/securityContext/runAsNonRoot",
                    "value": True,
                },
                {
                    "op": "replace",
                    "path": "/spec/containers/0/securityContext/runAsUser",
                    "value": 1,
                },
            ],
            id="bool-pattern-and-greater-than",
        ),
        pytest.param(
            _pod(_container(securityContext="yes")),
            NON_ROOT,
            [
                {
                    "op": "replace",
                    "path": "/spec/containers/0/securityContext",
                    "value": {"runAsNonRoot": True},
                }
            ],
            id="wrong-type-replaced",
        ),
        pytest.param(
            _pod(hostNetwork=True),
            {"spec": {"hostNetwork": False}},
            [{"op": "replace", "path": "/spec/hostNetwork", "value": False}],
            id="plain-scalar",
        ),
        pytest.param(
            _pod(hostNetwork=True),
            {"spec": {"X(hostNetwork)": "null"}},
            [{"op": "remove", "path": "/spec/hostNetwork"}],
            id="negation-removes",
        ),
        pytest.param(
            _pod(hostPID=True),
            {"spec": {"hostPID": None}},
            [{"op": "remove", "path": "/spec/hostPID"}],
            id="null-pattern-removes",
        ),
        pytest.param(
            _pod(
                _container(securityContext={"privileged": True}),
                initContainers=[_container("init", securityContext={"privileged": True})],
            ),
            MAYBE_PRIVILEGED,
            [
                {
                    "op": "replace",
                    "path": "/spec/initContainers/0/securityContext/privileged",
                    "value": False,
                },
                {
                    "op": "replace",
                    "path": "/spec/containers/0/securityContext/privileged",
                    "value": False,
                },
            ],
            id="equality-fixes-present-values",
        ),
        pytest.param(
            _pod(_container(), _container("b", securityContext={"privileged": True})),
            MAYBE_PRIVILEGED,
            [
                {
                    "op": "replace",
                    "path": "/spec/containers/1/securityContext/privileged",
                    "value": False,
                }
            ],
            id="only-the-offending-element",
        ),
        pytest.param(
            _pod(_container(resources={"limits": {"memory": "4Gi", "cpu": "1"}})),
            _containers({"resources": {"limits": {"memory": "<=2Gi", "cpu": "<=2"}}}),
            [
                {
                    "op": "replace",
                    "path": "/spec/containers/0/resources/limits/memory",
                    "value": "2Gi",
                }
            ],
            id="quantity-clamped-keeps-unit",
        ),
        pytest.param(
            _pod(_container(resources={"requests": {"cpu": "250m"}})),
            _containers({"(name)": "*", "resources": {"limits": {"cpu": "?*"}}}),
            [
                {
                    "op": "add",
                    "path": "/spec/containers/0/resources/limits",
                    "value": {"cpu": "250m"},
                }
            ],
            id="limit-taken-from-request",
        ),
        pytest.param(
            _pod(_container(ports=[{"containerPort": 8080}])),
            _containers({"=(ports)": [{"name": "*"}], "name": "*"}),
            [{"op": "add", "path": "/spec/containers/0/ports/0/name", "value": "tcp-8080"}],
            id="port-named-after-its-number",
        ),
        pytest.param(
            {"spec": {"ports": [{"port": 80}, {"port": 32001}]}},
            {"spec": {"ports": [{"port": "32000-33000"}]}},
            [{"op": "replace", "path": "/spec/ports/0/port", "value": 32000}],
            id="range-gives-nearest-bound",
        ),
        pytest.param(
            {"spec": {"replicas": 1}},
            {"spec": {"replicas": ">1"}},
            [{"op": "replace", "path": "/spec/replicas", "value": 2}],
            id="strictly-greater",
        ),
        pytest.param(
            {"spec": {"seccompProfile": {"type": "Unconfined"}}},
            {"spec": {"seccompProfile": {"type": "RuntimeDefault | Localhost"}}},
            [{"op": "replace", "path": "/spec/seccompProfile/type", "value": "RuntimeDefault"}],
            id="enumeration-first-choice",
        ),
        pytest.param(
            {"metadata": {"annotations": {"sidecar.istio.io/inject": "false"}}},
            {"metadata": {"=(annotations)": {"=(sidecar.istio.io/inject)": "!false"}}},
            [
                {
                    "op": "replace",
                    "path": "/metadata/annotations/sidecar.istio.io~1inject",
                    "value": "true",
                }
            ],
            id="annotation-stays-a-string",
        ),
        pytest.param(
            {"metadata": {"name": "x"}},
            {"metadata": {"labels": {"allow-docker": "true"}}},
            [{"op": "add", "path": "/metadata/labels", "value": {"allow-docker": "true"}}],
            id="label-map-added-with-strings",
        ),
        pytest.param(
            {"spec": {"accessModes": ["ReadWriteOnce", "ReadOnlyMany"]}},
            {"spec": {"accessModes": ["ReadWriteOncePod"]}},
            [{"op": "replace", "path": "/spec/accessModes", "value": ["ReadWriteOncePod"]}],
            id="scalar-list-without-duplicates",
        ),
        pytest.param(
            {"spec": {"accessModes": ["ReadWriteOncePod", "ReadOnlyMany"]}},
            {"spec": {"accessModes": ["ReadWriteOnce | ReadWriteOncePod"]}},
            [{"op": "replace", "path": "/spec/accessModes/1", "value": "ReadWriteOnce"}],
            id="scalar-list-item-replaced",
        ),
        pytest.param(
            {"spec": {"accessModes": ["ReadWriteOncePod", "ReadOnlyMany"]}},
            {"spec": {"accessModes": ["ReadWriteOncePod | ReadWriteOnce"]}},
            [{"op": "replace", "path": "/spec/accessModes", "value": ["ReadWriteOncePod"]}],
            id="scalar-list-duplicate-dropped",
        ),
        pytest.param(
            {"spec": {"securityContext": {"sysctls": [{"name": "a"}, {"name": "kernel.x"}]}}},
            {"spec": {"=(securityContext)": {"=(sysctls)": [{"=(name)": "a | b"}]}}},
            [{"op": "remove", "path": "/spec/securityContext/sysctls/1"}],
            id="forbidden-element-dropped",
        ),
        pytest.param(
            {"subjects": [{"name": "x"}, {"name": "system:anonymous"}, {"name": "system:masters"}]},
            {"subjects": [{"name": "!system:*"}]},
            [{"op": "remove", "path": "/subjects/2"}, {"op": "remove", "path": "/subjects/1"}],
            id="drops-from-the-highest-index",
        ),
        pytest.param(
            _pod(_container(image="nginx:1.2")),
            _containers({"image": "registry.corp/*"}),
            [
                {
                    "op": "replace",
                    "path": "/spec/containers/0/image",
                    "value": "registry.corp/nginx:1.2",
                }
            ],
            id="image-moved-to-registry",
        ),
        pytest.param(
            _pod(_container(image="nginx:latest")),
            _containers({"(image)": "*:latest", "imagePullPolicy": "Always"}),
            [{"op": "add", "path": "/spec/containers/0/imagePullPolicy", "value": "Always"}],
            id="condition-holds-so-guarded-part-fixed",
        ),
        pytest.param(
            {"metadata": {"annotations": {"fluxcd.io/a": "1", "fluxcd.io/b": "2", "keep": "3"}}},
            {"metadata": {"=(annotations)": {"X(fluxcd.io/*)": "*?"}}},
            [
                {"op": "remove", "path": "/metadata/annotations/fluxcd.io~1a"},
                {"op": "remove", "path": "/metadata/annotations/fluxcd.io~1b"},
            ],
            id="wildcard-negation-every-match",
        ),
    ],
)
def test_exact_fixes_patch_only_what_fails(
    resource: dict[str, Any], pattern: Any, expected: list[dict[str, Any]]
) -> None:
    """Each anchor, operator and list shape gives the smallest exact patch."""
    original = copy.deepcopy(resource)

    fix = fix_pattern(resource, pattern)

    assert _ops(fix) == expected
    assert fix is not None
    assert fix.placeholders == ()
    assert len(fix.summary) == len(fix.ops)
    assert validate_pattern(apply_patch(resource, fix.ops), pattern).status == "pass"
    assert resource == original


@pytest.mark.parametrize(
    ("resource", "pattern"),
    [
        pytest.param(
            _pod(_container(securityContext={"runAsNonRoot": True})),
            NON_ROOT | {"metadata": {"name": "web"}},
            id="already-passes",
        ),
        pytest.param(_pod(_container()), MAYBE_PRIVILEGED, id="equality-key-absent"),
        pytest.param(
            _pod(_container(image="nginx:1.25")),
            _containers({"(image)": "*:latest", "imagePullPolicy": "Always"}),
            id="condition-does-not-hold",
        ),
        pytest.param(
            _pod(_container()),
            _containers({"(securityContext)": {"privileged": True}, "image": "registry/*"}),
            id="condition-key-absent",
        ),
        pytest.param(
            _pod(hostNetwork=False),
            {"spec": {"<(hostNetwork)": True, "containers": [{"image": "registry/*"}]}},
            id="global-anchor-mismatch",
        ),
        pytest.param(
            {"spec": {"storageClassName": "fast"}, "metadata": {}},
            {
                "metadata": {"=(annotations)": {"=(nfs)": "?*"}},
                "spec": {"<(storageClassName)": "n"},
            },
            id="global-anchor-skips-rule",
        ),
    ],
)
def test_no_fix_when_nothing_fails(resource: dict[str, Any], pattern: Any) -> None:
    """A pass, or a condition that does not hold, asks for no change at all."""
    fix = fix_pattern(resource, pattern)

    assert fix is None


def test_conditions_are_never_changed_to_dodge_a_rule() -> None:
    """Only the container whose condition holds is touched."""
    resource = _pod(_container("a", image="nginx:latest"), _container("b", image="nginx:1"))
    pattern = _containers({"(image)": "*:latest", "imagePullPolicy": "Always"})

    fix = fix_pattern(resource, pattern)

    assert _ops(fix) == [
        {"op": "add", "path": "/spec/containers/0/imagePullPolicy", "value": "Always"}
    ]


def test_global_anchor_absent_still_fixes() -> None:
    """An absent global-anchor key does not stop the rest being fixed."""
    resource = {"spec": {"runtimeClassName": "gvisor"}}
    pattern = {"spec": {"<(hostNetwork)": True, "runtimeClassName": "kata | runc"}}

    fix = fix_pattern(resource, pattern)

    assert _ops(fix) == [{"op": "replace", "path": "/spec/runtimeClassName", "value": "kata"}]


def test_equality_anchor_never_adds_its_key() -> None:
    """`=(key)` checks a value that is there; it never asks to add one."""
    resource = _pod(_container(securityContext={"privileged": True}))
    pattern = _containers(
        {"=(securityContext)": {"=(privileged)": False, "=(runAsUser)": ">0"}},
    )

    fix = fix_pattern(resource, pattern)

    assert _ops(fix) == [
        {"op": "replace", "path": "/spec/containers/0/securityContext/privileged", "value": False}
    ]


def test_existence_anchor_repairs_the_cheapest_element() -> None:
    """`^(key)` needs one matching element; the closest one is fixed."""
    resource = _pod(
        _container("a"),
        _container("b", securityContext={"readOnlyRootFilesystem": False}),
        _container("c", securityContext={"readOnlyRootFilesystem": False, "runAsUser": 0}),
    )
    pattern = {
        "spec": {
            "^(containers)": [
                {"securityContext": {"readOnlyRootFilesystem": True, "runAsUser": ">0"}}
            ]
        }
    }

    fix = fix_pattern(resource, pattern)

    assert _ops(fix) == [
        {
            "op": "add",
            "path": "/spec/containers/0/securityContext",
            "value": {"readOnlyRootFilesystem": True, "runAsUser": 1},
        }
    ]


def test_existence_anchor_on_empty_list_adds_an_element() -> None:
    """With nothing to repair, the one element the pattern asks for is added."""
    resource: dict[str, Any] = {"spec": {"tolerations": []}}
    pattern = {"spec": {"^(tolerations)": [{"key": "dedicated", "effect": "NoSchedule"}]}}

    fix = fix_pattern(resource, pattern)

    assert _ops(fix) == [
        {
            "op": "add",
            "path": "/spec/tolerations/0",
            "value": {"key": "dedicated", "effect": "NoSchedule"},
        }
    ]


def test_missing_list_is_built_from_the_pattern() -> None:
    """A required list of scalars is created with one allowed value."""
    fix = fix_pattern({"spec": {}}, {"spec": {"accessModes": ["ReadWriteOncePod"]}})

    assert _ops(fix) == [{"op": "add", "path": "/spec/accessModes", "value": ["ReadWriteOncePod"]}]


def test_list_of_lists_matches_pairwise() -> None:
    """Nested list patterns line up element by element."""
    resource = {"matrix": [[1, 2], [0, 5]]}
    pattern = {"matrix": [[">0"], ["<4"]]}

    fix = fix_pattern(resource, pattern)

    assert _ops(fix) == [{"op": "replace", "path": "/matrix/1/1", "value": 3}]


def test_pod_controller_pattern_under_template() -> None:
    """Autogen patterns sit under spec.template and are fixed there."""
    deployment = {
        "kind": "Deployment",
        "spec": {"template": {"spec": {"containers": [_container()]}}},
    }
    pattern = {"spec": {"template": NON_ROOT}}

    fix = fix_pattern(deployment, pattern)

    assert _ops(fix) == [
        {
            "op": "add",
            "path": "/spec/template/spec/containers/0/securityContext",
            "value": {"runAsNonRoot": True},
        }
    ]
    assert fix is not None
    assert fix.summary == (
        "set spec.template.spec.containers[0].securityContext to {runAsNonRoot: true}",
    )


@pytest.mark.parametrize(
    ("resource", "pattern", "placeholders", "value"),
    [
        pytest.param(
            _pod(labels={"app": "web"}),
            {"metadata": {"labels": {"app": "?*", "team": "?*"}}},
            ("/metadata/labels/team",),
            "<set a value>",
            id="required-label",
        ),
        pytest.param(
            _pod(_container(image="nginx")),
            _containers({"image": "*:*"}),
            ("/spec/containers/0/image",),
            "nginx:<pin a version>",
            id="image-without-tag",
        ),
        pytest.param(
            _pod(_container(image="nginx:latest")),
            _containers({"image": "!*:latest"}),
            ("/spec/containers/0/image",),
            "nginx:<pin a version>",
            id="image-latest",
        ),
        pytest.param(
            {"metadata": {"namespace": "default"}},
            {"metadata": {"namespace": "!default"}},
            ("/metadata/namespace",),
            "<set a value other than default>",
            id="negated-value",
        ),
        pytest.param(
            {"metadata": {"labels": {"a": "b"}}},
            {"metadata": {"labels": {"pod-security.kubernetes.io/*": "?*"}}},
            ("/metadata/labels/pod-security.kubernetes.io~1<set a name>",),
            "<set a value>",
            id="wildcard-label-key",
        ),
    ],
)
def test_guided_fixes_point_at_their_placeholders(
    resource: dict[str, Any], pattern: Any, placeholders: tuple[str, ...], value: str
) -> None:
    """Values only the team knows hold a placeholder, and the fix says where."""
    fix = fix_pattern(resource, pattern)

    assert fix is not None
    assert fix.placeholders == placeholders
    patched = apply_patch(resource, fix.ops)
    filled = values_synthesis.fill_placeholders(patched, "1")
    assert validate_pattern(filled, pattern).status == "pass"
    assert fix.ops[-1].value in (value, {placeholders[0].rsplit("/", 1)[-1]: value})


def test_whole_missing_map_lists_nested_placeholders() -> None:
    """Placeholders inside an added map are reported at their own pointers."""
    fix = fix_pattern({"metadata": {}}, {"metadata": {"labels": {"team": "?*", "tier": "a | b"}}})

    assert fix is not None
    assert _ops(fix) == [
        {"op": "add", "path": "/metadata/labels", "value": {"team": "<set a value>", "tier": "a"}}
    ]
    assert fix.placeholders == ("/metadata/labels/team",)
    assert fix.summary == ('set metadata.labels to {team: "<set a value>", tier: "a"}',)


def test_summary_lines_read_like_instructions() -> None:
    """Each op gets one line, naming the field the way people write it."""
    resource = _pod(
        _container(securityContext={"runAsNonRoot": False}),
        labels={"app.kubernetes.io/name": "x"},
        hostNetwork=True,
    )
    pattern = {
        "metadata": {"labels": {"app.kubernetes.io/name": "web"}},
        "spec": {
            "X(hostNetwork)": None,
            "containers": [{"securityContext": {"runAsNonRoot": True}}],
        },
    }

    fix = fix_pattern(resource, pattern)

    assert fix is not None
    assert sorted(fix.summary) == [
        "remove spec.hostNetwork",
        'set metadata.labels["app.kubernetes.io/name"] to "web"',
        "set spec.containers[0].securityContext.runAsNonRoot to true",
    ]


@pytest.mark.parametrize(
    ("resource", "pattern"),
    [
        pytest.param({"spec": {"a": "b"}}, {"spec": {"+(a)": "c"}}, id="mutate-anchor"),
        pytest.param({"spec": {"a": [1]}}, {"spec": {"a": []}}, id="empty-list-pattern"),
        pytest.param({"spec": {}}, {"spec": {"a": []}}, id="empty-list-to-build"),
        pytest.param({"m": [[1]]}, {"m": [[1], [2]]}, id="list-of-lists-too-short"),
        pytest.param({"spec": {"a": 1}}, {"spec": {"a": object()}}, id="unknown-pattern-type"),
    ],
)
def test_no_fix_when_nothing_sensible_exists(resource: dict[str, Any], pattern: Any) -> None:
    """Patterns no edit can satisfy give None rather than a wrong patch."""
    fix = fix_pattern(resource, pattern)

    assert fix is None


RUN_AS_NON_ROOT_ANY = [
    {
        "spec": {
            "securityContext": {"runAsNonRoot": "true"},
            "containers": [{"=(securityContext)": {"=(runAsNonRoot)": "true"}}],
        }
    },
    {"spec": {"containers": [{"securityContext": {"runAsNonRoot": "true"}}]}},
]


def test_any_pattern_picks_the_fewest_changes() -> None:
    """One pod-level field beats one field per container."""
    resource = _pod(_container("a"), _container("b"))

    fix = fix_any_pattern(resource, RUN_AS_NON_ROOT_ANY)

    assert _ops(fix) == [
        {"op": "add", "path": "/spec/securityContext", "value": {"runAsNonRoot": True}}
    ]


def test_any_pattern_prefers_exact_over_fewer_ops() -> None:
    """A fix without placeholders wins even when it takes more operations."""
    resource: dict[str, Any] = {"spec": {"destination": {}}}
    alternatives = [
        {"spec": {"destination": {"server": "?*"}}},
        {"spec": {"destination": {"namespace": "apps", "project": "a | b"}}},
    ]

    fix = fix_any_pattern(resource, alternatives)

    assert fix is not None
    assert fix.placeholders == ()
    assert [op.path for op in fix.ops] == [
        "/spec/destination/namespace",
        "/spec/destination/project",
    ]


def test_any_pattern_gives_none_when_one_already_passes() -> None:
    """Nothing to do when any alternative passes, or when all of them skip."""
    passing = _pod(_container(securityContext={"runAsNonRoot": True}))
    skipping = _pod(_container(image="nginx:1"))
    conditional = [_containers({"(image)": "*:latest", "imagePullPolicy": "Always"})]

    assert fix_any_pattern(passing, RUN_AS_NON_ROOT_ANY) is None
    assert fix_any_pattern(skipping, conditional) is None
    assert fix_any_pattern(skipping, []) is None


def test_any_pattern_gives_none_when_no_alternative_can_be_fixed() -> None:
    """Alternatives that no edit satisfies give no fix at all."""
    fix = fix_any_pattern({"a": [1]}, [{"a": []}, {"a": [[1], [2]]}])

    assert fix is None


def test_later_round_catches_the_next_wildcard_match() -> None:
    """A wildcard key matches one label per pass; every match goes."""
    resource = {"metadata": {"labels": {f"x-{i}": "a" for i in range(1, 6)} | {"y": "b"}}}
    pattern = {"metadata": {"labels": {"X(x-*)": "null"}}}

    fix = fix_pattern(resource, pattern)

    assert fix is not None
    assert [op.path for op in fix.ops] == [f"/metadata/labels/x-{i}" for i in range(1, 6)]


def test_satisfying_value_is_reexported() -> None:
    """The value-level API is reachable from the pattern module."""
    proposal = pattern_fixes.satisfying_value(">=1", pattern_fixes.MISSING)

    assert proposal == (1, False)
    assert pattern_fixes.PLACEHOLDER_PREFIX == "<"


# Property: generated pods against common policy patterns --------------------

BOOLS = st.sampled_from([True, False, "true", "false"])
SECURITY = st.fixed_dictionaries(
    {},
    optional={
        "runAsNonRoot": BOOLS,
        "privileged": BOOLS,
        "allowPrivilegeEscalation": BOOLS,
        "runAsUser": st.integers(0, 2000),
        "readOnlyRootFilesystem": st.booleans(),
    },
)
QUANTITIES = st.sampled_from(["100m", "1", "2", "4", "64Mi", "512Mi", "2Gi", "4Gi", 3])
RESOURCES = st.fixed_dictionaries(
    {},
    optional={
        "limits": st.fixed_dictionaries({}, optional={"cpu": QUANTITIES, "memory": QUANTITIES}),
        "requests": st.fixed_dictionaries({}, optional={"cpu": QUANTITIES, "memory": QUANTITIES}),
    },
)
ENV = st.lists(
    st.fixed_dictionaries(
        {"name": st.sampled_from(["PORT", "DB_PASSWORD", "API_SECRET", "MODE"])},
        optional={
            "value": st.sampled_from(["1", "debug"]),
            # NB: copied, so that no two generated pods share one dict, which
            # a deep copy would keep shared and a patch would then change twice.
            "valueFrom": st.sampled_from(
                [
                    {"secretKeyRef": {"name": "db", "key": "password"}},
                    {"configMapKeyRef": {"name": "cfg", "key": "mode"}},
                ]
            ).map(copy.deepcopy),
        },
    ),
    max_size=3,
)
IMAGES = st.sampled_from(
    ["nginx", "nginx:latest", "nginx:1.25", "registry.corp/app:2", "docker.io/library/redis:7"]
)
CONTAINER = st.fixed_dictionaries(
    {"name": st.sampled_from(["app", "sidecar", "proxy"]), "image": IMAGES},
    optional={
        "securityContext": SECURITY,
        "env": ENV,
        "resources": RESOURCES,
        "imagePullPolicy": st.sampled_from(["Always", "IfNotPresent"]),
    },
)
LABELS = st.dictionaries(
    st.sampled_from(["app", "team", "tier", "env"]),
    st.sampled_from(["web", "", "frontend", "prod"]),
    max_size=4,
)
PODS = st.builds(
    lambda containers, init, labels, security, host: {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", **({"labels": labels} if labels is not None else {})},
        "spec": {
            "containers": containers,
            **({"initContainers": init} if init else {}),
            **({"securityContext": security} if security is not None else {}),
            **({"hostNetwork": host} if host is not None else {}),
        },
    },
    st.lists(CONTAINER, min_size=1, max_size=3),
    st.lists(CONTAINER, max_size=2),
    st.none() | LABELS,
    st.none() | SECURITY,
    st.none() | st.booleans(),
)


def _each_container(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "spec": {
            "=(initContainers)": [item],
            "containers": [item],
        }
    }


PATTERNS = [
    NON_ROOT,
    _each_container({"=(securityContext)": {"=(privileged)": "false"}}),
    _containers({"securityContext": {"allowPrivilegeEscalation": "false"}}),
    _each_container({"=(securityContext)": {"=(runAsUser)": ">0"}}),
    {"metadata": {"labels": {"app": "?*", "team": "?*"}}},
    {"metadata": {"labels": {"tier": "frontend | backend"}}},
    _containers({"image": "!*:latest"}),
    _containers({"image": "registry.corp/*"}),
    _containers({"(image)": "*:latest", "imagePullPolicy": "Always"}),
    _each_container({"=(env)": [{"=(valueFrom)": {"X(secretKeyRef)": "null"}}]}),
    _containers({"=(env)": [{"name": "!*SECRET*"}]}),
    _containers({"resources": {"limits": {"memory": "<=2Gi", "cpu": "?*"}}}),
    _containers({"resources": {"requests": {"memory": ">=64Mi"}, "limits": {"cpu": "<=2"}}}),
    {"spec": {"^(containers)": [{"securityContext": {"readOnlyRootFilesystem": True}}]}},
    {"spec": {"=(hostNetwork)": False, "=(securityContext)": {"=(runAsUser)": "1000-2000"}}},
    {"spec": {"<(hostNetwork)": False, "containers": [{"name": "app | sidecar"}]}},
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PODS, st.sampled_from(PATTERNS))
def test_exact_fixes_always_make_the_pattern_pass(pod: dict[str, Any], pattern: Any) -> None:
    """Whenever a fix has no placeholders, the patched pod passes the pattern.

    A guided fix passes too once its placeholders are filled in, and every
    failing pod gets one or the other for these patterns.
    """
    before = validate_pattern(pod, pattern).status

    fix = fix_pattern(pod, pattern)

    if before != "fail":
        assert fix is None
        return
    assert fix is not None
    patched = apply_patch(pod, fix.ops)
    if not fix.placeholders:
        assert validate_pattern(patched, pattern).status == "pass"
    else:
        filled = values_synthesis.fill_placeholders(patched, "1")
        assert validate_pattern(filled, pattern).status == "pass"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PODS, st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=3))
def test_any_pattern_fixes_make_one_alternative_pass(
    pod: dict[str, Any], alternatives: list[Any]
) -> None:
    """The chosen anyPattern fix leaves at least one alternative passing."""
    fix = fix_any_pattern(pod, alternatives)

    if fix is None or fix.placeholders:
        return
    patched = apply_patch(pod, fix.ops)
    assert any(validate_pattern(patched, p).status == "pass" for p in alternatives)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PODS)
def test_security_patterns_always_get_an_exact_fix(pod: dict[str, Any]) -> None:
    """Boolean and numeric security fields never need a placeholder."""
    for pattern in PATTERNS[:4]:
        if validate_pattern(pod, pattern).status != "fail":
            continue

        fix = fix_pattern(pod, pattern)

        assert fix is not None
        assert fix.placeholders == ()
