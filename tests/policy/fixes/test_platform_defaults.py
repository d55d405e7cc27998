"""Platform defaults: what LimitRanges and default StorageClasses decide, and fixes using it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.errors import InputError
from bot.policy import celpolicies, documents, policies
from bot.policy.fixes import cel_fixes, combining, synthesis
from bot.policy.fixes.platform_defaults import (
    NO_DEFAULTS,
    ContainerDefaults,
    PlatformDefaults,
    from_objects,
    load,
)
from bot.policy.requests import AdmissionRequest

DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_CLASS = "storageclass.beta.kubernetes.io/is-default-class"
CPU_LIMIT = ("spec", "containers", 0, "resources", "limits", "cpu")


def _limit_range(
    *items: dict[str, Any], name: str = "defaults", namespace: str | None = None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": metadata,
        "spec": {"limits": list(items)},
    }


def _container_item(**fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Container", **fields}


def _storage_class(
    name: str, *, annotation: str = DEFAULT_CLASS, value: Any = "true", created: Any = None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "annotations": {annotation: value}}
    if created is not None:
        metadata["creationTimestamp"] = created
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": metadata,
        "provisioner": "example.com/disk",
    }


def _pod(
    container: dict[str, Any] | None = None, *, namespace: str | None = "apps"
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "web"}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"containers": [container or {"name": "app", "image": "nginx:1.27"}]},
    }


def _pvc(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "apps"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            **spec,
        },
    }


def _statefulset() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "apps"},
        "spec": {
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "db", "image": "postgres:16"}]},
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }
            ],
        },
    }


TEAM_DEFAULTS = from_objects(
    [
        _limit_range(
            _container_item(
                default={"cpu": "500m", "memory": "512Mi"},
                defaultRequest={"cpu": "100m", "memory": "256Mi"},
            ),
            name="team-defaults",
            namespace="apps",
        ),
        _storage_class("fast-ssd"),
    ]
)


# Reading LimitRanges ----------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "limits", "requests"),
    [
        pytest.param(
            _container_item(default={"cpu": "500m"}),
            {"cpu": "500m"},
            {"cpu": "500m"},
            id="default-limit-is-also-the-default-request",
        ),
        pytest.param(
            _container_item(defaultRequest={"cpu": "100m"}),
            {},
            {"cpu": "100m"},
            id="default-request-alone-sets-no-limit",
        ),
        pytest.param(
            _container_item(max={"cpu": "2"}),
            {"cpu": "2"},
            {"cpu": "2"},
            id="max-stands-in-for-the-limit-and-then-the-request",
        ),
        pytest.param(
            _container_item(min={"memory": "64Mi"}),
            {},
            {"memory": "64Mi"},
            id="min-stands-in-for-the-request-only",
        ),
        pytest.param(
            _container_item(max={"cpu": "2"}, default={"cpu": "1"}),
            {"cpu": "1"},
            {"cpu": "1"},
            id="default-limit-beats-max",
        ),
        pytest.param(
            _container_item(default={"cpu": "1"}, min={"cpu": "50m"}),
            {"cpu": "1"},
            {"cpu": "1"},
            id="default-limit-beats-min-for-the-request",
        ),
        pytest.param(
            _container_item(max={"cpu": "2"}, defaultRequest={"cpu": "250m"}, min={"cpu": "10m"}),
            {"cpu": "2"},
            {"cpu": "250m"},
            id="default-request-beats-max-and-min",
        ),
        pytest.param(
            _container_item(default={"cpu": 1, "memory": "1Gi"}),
            {"cpu": "1", "memory": "1Gi"},
            {"cpu": "1", "memory": "1Gi"},
            id="numbers-become-quantity-text",
        ),
    ],
)
def test_limit_range_defaults_follow_the_api_server(
    item: dict[str, Any], limits: dict[str, str], requests: dict[str, str]
) -> None:
    """Missing defaults are filled the way the API server defaults a LimitRange."""
    defaults = from_objects([_limit_range(item)])

    [entry] = defaults.containers
    assert dict(entry.limits) == limits
    assert dict(entry.requests) == requests


def test_only_container_entries_are_read() -> None:
    """Pod and PersistentVolumeClaim entries say nothing about one container."""
    limit_range = _limit_range(
        {"type": "Pod", "max": {"cpu": "4"}},
        {"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}},
    )

    defaults = from_objects([limit_range])

    assert defaults.containers == ()
    assert defaults.value_for(_pod(), CPU_LIMIT) is None


def test_entries_keep_their_source_and_namespace() -> None:
    """A namespaced LimitRange is named with its namespace, and scoped to it."""
    defaults = from_objects(
        [
            _limit_range(_container_item(default={"cpu": "1"}), name="lr", namespace="team-a"),
            _limit_range(_container_item(default={"cpu": "2"}), name="everywhere"),
        ]
    )

    assert defaults.containers == (
        ContainerDefaults("LimitRange team-a/lr", "team-a", {"cpu": "1"}, {"cpu": "1"}),
        ContainerDefaults("LimitRange everywhere", None, {"cpu": "2"}, {"cpu": "2"}),
    )
    assert defaults.sources == ("LimitRange team-a/lr", "LimitRange everywhere")


def test_other_kinds_and_odd_shapes_are_ignored() -> None:
    """Objects that hold no usable defaults leave the defaults empty."""
    defaults = from_objects(
        [
            _pod(),
            {"kind": "LimitRange", "metadata": "not a map", "spec": {"limits": "not a list"}},
            {"kind": "LimitRange", "spec": {"limits": ["not a map", {"type": "Container"}]}},
            _limit_range(_container_item(default={"cpu": True, "memory": ["1Gi"]})),
            _storage_class("plain", annotation="example.com/other"),
        ]
    )

    assert defaults.containers == ()
    assert defaults.storage_class is None
    assert defaults.value_for(_pod(), CPU_LIMIT) is None


# Reading StorageClasses -------------------------------------------------------


@pytest.mark.parametrize(
    ("classes", "chosen"),
    [
        pytest.param([_storage_class("standard")], "standard", id="annotated-class"),
        pytest.param(
            [_storage_class("legacy", annotation=BETA_DEFAULT_CLASS)],
            "legacy",
            id="beta-annotation",
        ),
        pytest.param(
            [_storage_class("off", value="false"), _storage_class("on")],
            "on",
            id="false-is-not-default",
        ),
        pytest.param(
            [_storage_class("plain", annotation="example.com/default")],
            None,
            id="no-default-class",
        ),
        pytest.param(
            [
                _storage_class("new", created="2025-03-01T08:00:00Z"),
                _storage_class("old", created="2024-01-01T08:00:00Z"),
            ],
            "new",
            id="newest-wins-whatever-the-order",
        ),
        pytest.param(
            [
                _storage_class("dated", created="2024-01-01T08:00:00Z"),
                _storage_class("undated"),
            ],
            "dated",
            id="unknown-time-counts-as-oldest",
        ),
        pytest.param(
            [
                _storage_class("kubectl", created="2025-03-01T08:00:00Z"),
                _storage_class("client", created="2025-03-01T09:00:00+00:00"),
                _storage_class("offset", created="2025-03-01T09:30:00+02:00"),
            ],
            "client",
            id="time-spellings-compare-as-instants",
        ),
        pytest.param(
            [
                _storage_class("zeta", created="2025-03-01T08:00:00Z"),
                _storage_class("alpha", created="2025-03-01T08:00:00Z"),
            ],
            "alpha",
            id="same-time-goes-to-the-first-name",
        ),
        pytest.param(
            [
                _storage_class("alpha", created="2025-03-01T08:00:00Z"),
                _storage_class("zeta", created="2025-03-01T08:00:00Z"),
            ],
            "alpha",
            id="same-time-first-name-whatever-the-order",
        ),
        pytest.param(
            [_storage_class("beta"), _storage_class("alpha")],
            "alpha",
            id="no-times-first-name",
        ),
        pytest.param(
            [_storage_class("capital", value="True"), _storage_class("boolean", value=True)],
            None,
            id="only-the-exact-text-true-marks-a-default",
        ),
    ],
)
def test_default_storage_class_is_chosen_like_kubernetes(
    classes: list[dict[str, Any]], chosen: str | None
) -> None:
    """The annotated class is the default; among several, the newest, then the first name."""
    defaults = from_objects(classes)

    assert defaults.storage_class == chosen
    assert defaults.storage_class_source == (f"StorageClass {chosen}" if chosen else "")


# Loading files ----------------------------------------------------------------


def test_load_reads_files_directories_and_lists(tmp_path: Path) -> None:
    """Defaults come from single objects, `kind: List` files and directories."""
    (tmp_path / "limits.yaml").write_text(
        "apiVersion: v1\n"
        "kind: LimitRange\n"
        "metadata: {name: lr, namespace: apps}\n"
        "spec:\n"
        "  limits:\n"
        "  - type: Container\n"
        "    default: {cpu: 750m}\n"
    )
    (tmp_path / "classes.yaml").write_text(
        "apiVersion: v1\n"
        "kind: List\n"
        "items:\n"
        "- apiVersion: storage.k8s.io/v1\n"
        "  kind: StorageClass\n"
        "  metadata:\n"
        "    name: gold\n"
        "    annotations: {storageclass.kubernetes.io/is-default-class: 'true'}\n"
        "- apiVersion: storage.k8s.io/v1\n"
        "  kind: StorageClass\n"
        "  metadata: {name: bronze}\n"
        "---\n"
        "# only a comment in this document\n"
    )

    defaults = load([tmp_path])

    limit = defaults.value_for(_pod(), CPU_LIMIT)
    assert defaults.storage_class == "gold"
    assert limit is not None
    assert limit.value == "750m"
    assert set(defaults.sources) == {"LimitRange apps/lr", "StorageClass gold"}


def test_unquoted_and_quoted_timestamps_compare_as_times(tmp_path: Path) -> None:
    """YAML reads an unquoted timestamp as a date; it still competes by time."""
    path = tmp_path / "classes.yaml"
    path.write_text(
        "kind: StorageClass\n"
        "metadata:\n"
        "  name: later\n"
        "  creationTimestamp: 2025-03-01T10:00:00Z\n"
        "  annotations: {storageclass.kubernetes.io/is-default-class: 'true'}\n"
        "---\n"
        "kind: StorageClass\n"
        "metadata:\n"
        "  name: earlier\n"
        "  creationTimestamp: '2025-03-01T09:00:00Z'\n"
        "  annotations: {storageclass.kubernetes.io/is-default-class: 'true'}\n"
    )

    assert load([path]).storage_class == "later"


def test_shipped_defaults_load() -> None:
    """The knowledge base's LimitRange and StorageClass are usable as shipped."""
    from bot.knowledge import catalog

    defaults = load(catalog.bundled_platform_paths())

    assert defaults.containers
    assert defaults.storage_class
    assert defaults.value_for(_pod(), CPU_LIMIT) is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("- a\n- b\n", "must be a Kubernetes object", id="sequence"),
        pytest.param("just text\n", "must be a Kubernetes object", id="scalar"),
        pytest.param("kind: LimitRange\nspec: [\n", "invalid YAML at line 3", id="malformed"),
    ],
)
def test_unusable_files_are_input_errors(tmp_path: Path, text: str, message: str) -> None:
    """A document that is no object, or no YAML, names the file and the problem."""
    path = tmp_path / "defaults.yaml"
    path.write_text(text)

    with pytest.raises(InputError) as caught:
        load([path])

    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    """A path that does not exist is reported, not skipped."""
    with pytest.raises(InputError, match="no such file or directory"):
        load([tmp_path / "missing.yaml"])


# Values for container resources -------------------------------------------------


@pytest.mark.parametrize(
    ("manifest", "prefix"),
    [
        pytest.param(_pod(), ("spec", "containers", 0), id="container"),
        pytest.param(
            {**_pod(), "spec": {"containers": [], "initContainers": [{"name": "init"}]}},
            ("spec", "initContainers", 0),
            id="init-container",
        ),
        pytest.param(
            {**_pod(), "spec": {"containers": [], "ephemeralContainers": [{"name": "debug"}]}},
            ("spec", "ephemeralContainers", 0),
            id="ephemeral-container",
        ),
        pytest.param(
            {
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "apps"},
                "spec": {"template": {"spec": _pod()["spec"]}},
            },
            ("spec", "template", "spec", "containers", 0),
            id="deployment-template",
        ),
        pytest.param(
            {
                "kind": "CronJob",
                "metadata": {"name": "nightly", "namespace": "apps"},
                "spec": {"jobTemplate": {"spec": {"template": {"spec": _pod()["spec"]}}}},
            },
            ("spec", "jobTemplate", "spec", "template", "spec", "containers", 0),
            id="cronjob-template",
        ),
    ],
)
def test_container_resources_get_limit_range_values(
    manifest: dict[str, Any], prefix: tuple[str | int, ...]
) -> None:
    """Limits and requests of every kind of container, in any pod template, are answered."""
    limit = TEAM_DEFAULTS.value_for(manifest, (*prefix, "resources", "limits", "cpu"))
    request = TEAM_DEFAULTS.value_for(manifest, (*prefix, "resources", "requests", "memory"))

    assert limit is not None
    assert request is not None
    assert (limit.value, request.value) == ("500m", "256Mi")
    assert limit.note == "the platform default in LimitRange apps/team-defaults"


@pytest.mark.parametrize(
    ("manifest", "at"),
    [
        pytest.param(_pod(), ("spec", "resources", "limits", "cpu"), id="pod-level-resources"),
        pytest.param(_pvc(), ("spec", "resources", "requests", "storage"), id="claim-storage"),
        pytest.param(_pvc(), ("spec", "resources", "limits", "cpu"), id="claim-cpu"),
        pytest.param(
            _pod(), ("spec", "containers", "app", "resources", "limits", "cpu"), id="no-index"
        ),
        pytest.param(
            _pod(),
            ("spec", "volumes", 0, "resources", "limits", "cpu"),
            id="not-a-container-list",
        ),
        pytest.param(
            _pod(),
            ("spec", "containers", 0, "resources", "limits", "ephemeral-storage"),
            id="resource-without-default",
        ),
        pytest.param(_pod(), ("spec", "containers", 0, "resources", "limits"), id="whole-map"),
        pytest.param(_pod(), ("spec", "containers", 0), id="ends-in-an-index"),
        pytest.param(_pod(), (), id="empty-path"),
    ],
)
def test_fields_outside_container_resources_get_nothing(
    manifest: dict[str, Any], at: tuple[str | int, ...]
) -> None:
    """Only a container's own requests and limits take a LimitRange value."""
    assert TEAM_DEFAULTS.value_for(manifest, at) is None


@pytest.mark.parametrize(
    ("namespace", "expected"),
    [
        pytest.param("apps", "1", id="own-namespace-entry-first"),
        pytest.param("shop", "2", id="other-namespace-falls-to-the-global-entry"),
        pytest.param(None, "3", id="no-namespace-means-default"),
    ],
)
def test_namespaced_limit_ranges_apply_to_their_namespace(
    namespace: str | None, expected: str
) -> None:
    """A namespace's LimitRange applies there only; un-namespaced entries apply anywhere."""
    defaults = from_objects(
        [
            _limit_range(_container_item(default={"cpu": "1"}), namespace="apps"),
            _limit_range(_container_item(default={"cpu": "3"}), namespace="default"),
            _limit_range(_container_item(default={"cpu": "2"})),
        ]
    )

    found = defaults.value_for(_pod(namespace=namespace), CPU_LIMIT)

    assert found is not None
    assert found.value == expected


def test_first_entry_with_the_resource_wins() -> None:
    """Entries are tried in order; one without the resource passes it on."""
    defaults = from_objects(
        [
            _limit_range(_container_item(default={"memory": "1Gi"}), name="memory-only"),
            _limit_range(
                _container_item(default={"cpu": "750m"}),
                _container_item(default={"cpu": "9", "memory": "9Gi"}),
                name="both",
            ),
        ]
    )

    cpu = defaults.value_for(_pod(), CPU_LIMIT)
    memory = defaults.value_for(_pod(), (*CPU_LIMIT[:-1], "memory"))

    assert cpu is not None
    assert memory is not None
    assert (cpu.value, cpu.note) == ("750m", "the platform default in LimitRange both")
    assert (memory.value, memory.note) == ("1Gi", "the platform default in LimitRange memory-only")


def _limits_and_requests(limits: Any = None, requests: Any = None) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if limits is not None:
        resources["limits"] = limits
    if requests is not None:
        resources["requests"] = requests
    return {"name": "app", "image": "nginx:1.27", "resources": resources}


@pytest.mark.parametrize(
    ("item", "container", "field", "expected"),
    [
        pytest.param(
            _container_item(default={"cpu": "250m"}),
            _limits_and_requests(requests={"cpu": "1"}),
            ("limits", "cpu"),
            None,
            id="limit-250m-below-request-1",
        ),
        pytest.param(
            _container_item(default={"cpu": "250m"}),
            _limits_and_requests(requests={"cpu": 1}),
            ("limits", "cpu"),
            None,
            id="limit-below-numeric-request",
        ),
        pytest.param(
            _container_item(default={"memory": "512Mi"}),
            _limits_and_requests(requests={"memory": "1Gi"}),
            ("limits", "memory"),
            None,
            id="limit-512Mi-below-request-1Gi",
        ),
        pytest.param(
            _container_item(defaultRequest={"memory": "1Gi"}),
            _limits_and_requests(limits={"memory": "512Mi"}),
            ("requests", "memory"),
            None,
            id="request-1Gi-above-limit-512Mi",
        ),
        pytest.param(
            _container_item(defaultRequest={"cpu": "100m"}),
            _limits_and_requests(limits={"cpu": "not-a-quantity"}),
            ("requests", "cpu"),
            None,
            id="unreadable-counterpart",
        ),
        pytest.param(
            _container_item(default={"memory": "1Gi"}),
            _limits_and_requests(requests={"memory": "512Mi"}),
            ("limits", "memory"),
            "1Gi",
            id="limit-1Gi-above-request-512Mi",
        ),
        pytest.param(
            _container_item(default={"cpu": "1"}),
            _limits_and_requests(requests={"cpu": "1000m"}),
            ("limits", "cpu"),
            "1",
            id="equal-amounts-in-other-units",
        ),
        pytest.param(
            _container_item(defaultRequest={"cpu": "100m"}),
            _limits_and_requests(limits={"cpu": "1"}),
            ("requests", "cpu"),
            "100m",
            id="request-below-limit",
        ),
        pytest.param(
            _container_item(default={"cpu": "250m"}),
            _limits_and_requests(requests={"cpu": "<set a value>"}),
            ("limits", "cpu"),
            "250m",
            id="placeholder-counterpart-is-undecided",
        ),
    ],
)
def test_defaults_the_api_server_would_refuse_are_not_offered(
    item: dict[str, Any], container: dict[str, Any], field: tuple[str, str], expected: str | None
) -> None:
    """A default limit under the own request, or request over the own limit, is refused."""
    defaults = from_objects([_limit_range(item)])

    found = defaults.value_for(_pod(container), ("spec", "containers", 0, "resources", *field))

    assert (found.value if found else None) == expected


def test_refused_default_does_not_fall_back_to_a_later_entry() -> None:
    """The API server applies the first entry anyway, so a later one is no answer."""
    defaults = from_objects(
        [
            _limit_range(_container_item(default={"cpu": "250m"}), name="small"),
            _limit_range(_container_item(default={"cpu": "4"}), name="large"),
        ]
    )
    pod = _pod(_limits_and_requests(requests={"cpu": "1"}))

    assert defaults.value_for(pod, CPU_LIMIT) is None


# Values for storage classes -----------------------------------------------------


def test_claims_get_the_default_storage_class() -> None:
    """A claim, and a StatefulSet's claim template, take the default class."""
    sts_at = ("spec", "volumeClaimTemplates", 0, "spec", "storageClassName")

    claim = TEAM_DEFAULTS.value_for(_pvc(), ("spec", "storageClassName"))
    template = TEAM_DEFAULTS.value_for(_statefulset(), sts_at)

    assert claim is not None
    assert template is not None
    assert (claim.value, template.value) == ("fast-ssd", "fast-ssd")
    assert claim.note == "the default class, StorageClass fast-ssd"


@pytest.mark.parametrize(
    ("manifest", "at"),
    [
        pytest.param(
            {"kind": "PersistentVolume", "metadata": {"name": "pv"}, "spec": {}},
            ("spec", "storageClassName"),
            id="persistent-volume",
        ),
        pytest.param(_pvc(), ("spec", "dataSource", "storageClassName"), id="nested-field"),
        pytest.param(_pod(), ("spec", "storageClassName"), id="pod"),
    ],
)
def test_only_claims_get_a_storage_class(manifest: dict[str, Any], at: tuple[str, ...]) -> None:
    """A PersistentVolume names its own class; the default class is for claims."""
    assert TEAM_DEFAULTS.value_for(manifest, at) is None


def test_no_default_class_means_no_value() -> None:
    """Without an annotated class there is nothing to offer a claim."""
    defaults = from_objects([_storage_class("plain", value="false")])

    assert defaults.value_for(_pvc(), ("spec", "storageClassName")) is None
    assert NO_DEFAULTS.value_for(_pvc(), ("spec", "storageClassName")) is None


# Fixes that use the defaults ----------------------------------------------------


def _policy(validate: dict[str, Any], *, kinds: tuple[str, ...] = ("Pod",)) -> policies.Policy:
    content = {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "platform"},
        "spec": {
            "validationFailureAction": "Enforce",
            "rules": [
                {
                    "name": "check",
                    "match": {"any": [{"resources": {"kinds": list(kinds)}}]},
                    "validate": {"message": "not allowed", **validate},
                }
            ],
        },
    }
    return policies.from_document(documents.Document("policy.yaml", 1, content))


def _only_fix(
    manifest: dict[str, Any], policy: policies.Policy, defaults: PlatformDefaults
) -> synthesis.Fix:
    fixes = synthesis.fix_failures(manifest, [policy], defaults=defaults)
    assert len(fixes) == 1
    return fixes[0]


def _cpu_of(fixed: Any, *prefix: str | int) -> Any:
    node = fixed
    for segment in (*prefix, "containers", 0, "resources", "limits", "cpu"):
        node = node[segment]
    return node


CPU_LIMIT_PATTERN = {
    "pattern": {"spec": {"containers": [{"resources": {"limits": {"cpu": "?*"}}}]}}
}
CPU_LIMIT_DENY = {
    "deny": {
        "conditions": {
            "any": [
                {
                    "key": "{{ request.object.spec.containers[0].resources.limits.cpu || '' }}",
                    "operator": "Equals",
                    "value": "",
                }
            ]
        }
    }
}
CPU_LIMIT_FOREACH = {
    "foreach": [
        {
            "list": "request.object.spec.containers",
            "deny": {
                "conditions": {
                    "any": [
                        {
                            "key": "{{ element.resources.limits.cpu || '' }}",
                            "operator": "Equals",
                            "value": "",
                        }
                    ]
                }
            },
        }
    ]
}
CPU_LIMIT_CEL = {
    "cel": {
        "expressions": [
            {
                "expression": "object.spec.containers.all(c, has(c.resources)"
                " && has(c.resources.limits) && has(c.resources.limits.cpu))"
            }
        ]
    }
}
CPU_RULES = [
    pytest.param(CPU_LIMIT_PATTERN, id="pattern"),
    pytest.param(CPU_LIMIT_DENY, id="deny"),
    pytest.param(CPU_LIMIT_FOREACH, id="foreach-deny"),
    pytest.param(CPU_LIMIT_CEL, id="validate-cel"),
]


@pytest.mark.parametrize("validate", CPU_RULES)
def test_cpu_limit_rule_is_fixed_exactly_from_the_limit_range(validate: dict[str, Any]) -> None:
    """A rule that wants any CPU limit gets the LimitRange's default, proven."""
    fix = _only_fix(_pod(), _policy(validate), TEAM_DEFAULTS)

    assert fix.status == "exact"
    assert fix.fixed is not None
    assert _cpu_of(fix.fixed["spec"]) == "500m"
    assert any("LimitRange apps/team-defaults" in line for line in fix.summary)
    assert not any("<" in line for line in fix.summary)


@pytest.mark.parametrize("validate", CPU_RULES)
def test_cpu_limit_rule_without_defaults_stays_guided(validate: dict[str, Any]) -> None:
    """Without platform defaults the limit is the team's call: a placeholder."""
    fix = _only_fix(_pod(), _policy(validate), NO_DEFAULTS)

    assert fix.status == "guided"
    assert "/spec/containers/0/resources/limits/cpu" in fix.note


def test_defaults_of_another_namespace_leave_the_fix_guided() -> None:
    """A LimitRange of another namespace decides nothing for this manifest."""
    fix = _only_fix(_pod(namespace="shop"), _policy(CPU_LIMIT_PATTERN), TEAM_DEFAULTS)

    assert fix.status == "guided"


def test_own_request_beats_the_platform_default() -> None:
    """A container's own request is its limit before any LimitRange value."""
    pod = _pod(_limits_and_requests(requests={"cpu": "2"}))

    fix = _only_fix(pod, _policy(CPU_LIMIT_PATTERN), TEAM_DEFAULTS)

    assert fix.status == "exact"
    assert fix.fixed is not None
    assert _cpu_of(fix.fixed["spec"]) == "2"


def test_pod_controller_templates_are_fixed_through_autogen() -> None:
    """A Pod rule applied to a StatefulSet fills the template's container."""
    fix = _only_fix(_statefulset(), _policy(CPU_LIMIT_PATTERN), TEAM_DEFAULTS)

    assert fix.status == "exact"
    assert fix.fixed is not None
    assert _cpu_of(fix.fixed["spec"], "template", "spec") == "500m"


@pytest.mark.parametrize(
    ("validate", "manifest", "pointer"),
    [
        pytest.param(
            {"pattern": {"spec": {"storageClassName": "?*"}}},
            _pvc(),
            "/spec/storageClassName",
            id="claim-pattern",
        ),
        pytest.param(
            {
                "deny": {
                    "conditions": {
                        "any": [
                            {
                                "key": "{{ request.object.spec.storageClassName || '' }}",
                                "operator": "Equals",
                                "value": "",
                            }
                        ]
                    }
                }
            },
            _pvc(),
            "/spec/storageClassName",
            id="claim-deny",
        ),
        pytest.param(
            {"pattern": {"spec": {"volumeClaimTemplates": [{"spec": {"storageClassName": "?*"}}]}}},
            _statefulset(),
            "/spec/volumeClaimTemplates/0/spec/storageClassName",
            id="statefulset-claim-template",
        ),
    ],
)
def test_storage_class_rule_takes_the_default_class(
    validate: dict[str, Any], manifest: dict[str, Any], pointer: str
) -> None:
    """A rule that wants any storage class gets the default one; without it, a placeholder."""
    kinds = (str(manifest["kind"]),)

    exact = _only_fix(manifest, _policy(validate, kinds=kinds), TEAM_DEFAULTS)
    guided = _only_fix(manifest, _policy(validate, kinds=kinds), NO_DEFAULTS)

    assert exact.status == "exact"
    assert [(op.op, op.path, op.value) for op in exact.ops] == [("add", pointer, "fast-ssd")]
    assert any("StorageClass fast-ssd" in line for line in exact.summary)
    assert guided.status == "guided"
    assert pointer in guided.note


def test_combined_fix_uses_the_defaults() -> None:
    """Fixing every rule at once fills CPU and memory limits from the LimitRange."""
    policy = _policy(
        {
            "pattern": {
                "spec": {"containers": [{"resources": {"limits": {"cpu": "?*", "memory": "?*"}}}]}
            }
        }
    )

    combined = combining.combine(_pod(), [policy], defaults=TEAM_DEFAULTS)

    assert combined.fixed_rules == ("platform/check",)
    assert combined.fixed["spec"]["containers"][0]["resources"]["limits"] == {
        "cpu": "500m",
        "memory": "512Mi",
    }


CLAIMS_NEED_A_CLASS = """\
apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: claims-name-a-class
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [persistentvolumeclaims]
  validations:
  - expression: "has(object.spec.storageClassName) && object.spec.storageClassName != ''"
    message: Claims must name a storage class.
"""


def test_validating_policy_fix_takes_the_default_class() -> None:
    """A ValidatingPolicy that wants a storage class is fixed with the default one."""
    [policy] = celpolicies.from_documents(
        documents.parse_documents(CLAIMS_NEED_A_CLASS, source="vpol.yaml")
    )
    request = AdmissionRequest(object=_pvc())

    exact = cel_fixes.fix_cel_policy(policy, request, policies=[policy], defaults=TEAM_DEFAULTS)
    guided = cel_fixes.fix_cel_policy(policy, request, policies=[policy], defaults=NO_DEFAULTS)

    assert exact is not None
    assert guided is not None
    assert exact.status == "exact"
    assert exact.fixed is not None
    assert exact.fixed["spec"]["storageClassName"] == "fast-ssd"
    assert any("StorageClass fast-ssd" in line for line in exact.summary)
    assert guided.status == "guided"
    assert "/spec/storageClassName" in guided.note
