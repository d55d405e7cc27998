"""The evaluation context: request document, variables, elements and entries."""

import pytest

from bot.policy import jmespath
from bot.policy.contexts import ContextError, EvaluationContext, images_of
from bot.policy.requests import AdmissionRequest, UserInfo


def _pod(name="web", namespace="apps", image="nginx:1.25", **labels):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {"app": name}},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }


def _context(operation="CREATE", **fields):
    pod = _pod()
    old = _pod(image="nginx:1.24") if operation in ("UPDATE", "DELETE") else None
    request = AdmissionRequest(object=pod, operation=operation, old_object=old, **fields)
    return EvaluationContext.for_request(request)


class _Resolver:
    """A ContextResolver over fixed data that records what it was asked."""

    def __init__(self, config_maps=None, api_result=None):
        self.config_maps = config_maps or {}
        self.api_result = api_result
        self.asked = []

    def config_map(self, name, namespace):
        self.asked.append((namespace, name))
        return self.config_maps.get((namespace, name))

    def api_call(self, call):
        self.asked.append(dict(call))
        return self.api_result


def test_request_document_holds_admission_fields():
    """request.object, operation, namespace and the user are all queryable."""
    user = UserInfo(
        username="alice", uid="u-1", groups=("devs",), roles=("apps:dev",), cluster_roles=("view",)
    )
    context = _context(user_info=user)

    request = context.data["request"]
    assert request["object"]["metadata"]["name"] == "web"
    assert request["operation"] == "CREATE"
    assert request["namespace"] == "apps"
    assert request["userInfo"] == {"username": "alice", "uid": "u-1", "groups": ["devs"]}
    assert (request["roles"], request["clusterRoles"]) == (["apps:dev"], ["view"])
    assert "oldObject" not in request


def test_request_without_user_has_empty_user():
    """No user info still gives userInfo and service account fields to query."""
    context = _context()

    assert context.query("request.userInfo") == {}
    assert context.query("serviceAccountName") == ""
    assert context.query("serviceAccountNamespace") == ""


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("system:serviceaccount:ci:builder", ("builder", "ci")),
        ("system:serviceaccount:ci", ("", "")),
        ("system:serviceaccount:", ("", "")),
        ("alice", ("", "")),
    ],
)
def test_service_account_split_from_username(username, expected):
    """A service account user name yields its name and namespace, others nothing."""
    context = _context(user_info=UserInfo(username=username))

    assert (context.query("serviceAccountName"), context.query("serviceAccountNamespace")) == (
        expected
    )


@pytest.mark.xfail(
    reason=(
        "Kyverno cuts len('system:serviceaccount:') characters off any user name "
        "longer than the prefix without checking that the prefix is there "
        "(pkg/engine/context/context.go:290-299), so 'oidc:https://login.example.com:alice' "
        "yields name 'alice' and namespace 'mple.com'; we require the prefix"
    ),
    strict=True,
)
def test_service_account_split_ignores_prefix():
    """Kyverno splits any long user name, whatever it starts with."""
    user = UserInfo(username="oidc:https://login.example.com:alice")

    context = _context(user_info=user)

    assert context.query("serviceAccountName") == "alice"


def test_update_request_has_old_object():
    """UPDATE keeps both objects under request."""
    context = _context(operation="UPDATE")

    assert context.query("request.object.spec.containers[0].image") == "nginx:1.25"
    assert context.query("request.oldObject.spec.containers[0].image") == "nginx:1.24"
    assert context.deleting is False


def test_delete_request_reads_old_object():
    """DELETE has only request.oldObject, and variables are rewritten to it."""
    context = _context(operation="DELETE")

    assert "object" not in context.data["request"]
    assert context.request_object is None
    assert context.deleting is True
    assert context.substitute("{{ request.object.spec.containers[0].image }}") == "nginx:1.24"


def test_images_are_parsed_only_when_asked():
    """The images variable appears on first use, not before."""
    context = _context()

    before = "images" in context.data
    tag = context.query("images.containers.app.tag")

    assert before is False
    assert tag == "1.25"
    assert context.data["images"]["containers"]["app"]["registry"] == "docker.io"


def _deployment(*containers):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "spec": {"template": {"spec": {"containers": list(containers)}}},
    }


def _cronjob(*containers):
    pod_spec = {"containers": list(containers)}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "spec": {"jobTemplate": {"spec": {"template": {"spec": pod_spec}}}},
    }


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (_pod(image="nginx:1.25"), {"containers": {"app": "nginx:1.25"}}),
        (_deployment({"name": "d", "image": "ghcr.io/a/b:2"}), {"containers": {"d": "a/b:2"}}),
        (_cronjob({"name": "c", "image": "busybox"}), {"containers": {"c": "busybox:latest"}}),
        (
            {
                "kind": "Pod",
                "spec": {
                    "initContainers": [{"name": "i", "image": "alpine:3"}],
                    "containers": [{"name": "m", "image": "redis:7"}],
                },
            },
            {"initContainers": {"i": "alpine:3"}, "containers": {"m": "redis:7"}},
        ),
        ({"kind": "Pod", "spec": {}}, {}),
        ({"kind": "ConfigMap", "data": {"a": "b"}}, {}),
    ],
)
def test_images_are_grouped_by_container_list(resource, expected):
    """Each container list maps container names to parsed images."""
    found = images_of(resource)

    summary = {
        group: {name: f"{info['path']}:{info['tag']}" for name, info in entries.items()}
        for group, entries in found.items()
    }
    assert summary == expected


def test_missing_images_variable_is_unknown_key():
    """A resource without containers has no images variable at all."""
    context = EvaluationContext.for_request(AdmissionRequest(object={"kind": "Pod", "spec": {}}))

    with pytest.raises(jmespath.KeyNotFoundError):
        context.query("images.containers")


def test_image_entry_has_json_pointer():
    """images.<list>.<name>.jsonPointer locates the image field."""
    found = images_of(_pod())

    assert found["containers"]["app"]["jsonPointer"] == "/spec/containers/0/image"


def test_unregistered_kind_has_no_images():
    """A custom resource with a pod template gets no images variable."""
    rollout = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "nginx"}]}}},
    }

    assert images_of(rollout) == {}


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("team", {"team": "x"}),
        ("a.b.c", {"a": {"b": {"c": "x"}}}),
        ('labels."app.kubernetes.io/name"', {"labels": {"app.kubernetes.io/name": "x"}}),
        ('"dotted.key".inner', {"dotted.key": {"inner": "x"}}),
    ],
)
def test_dotted_key_sets_nested_value(key, expected):
    """Dots nest; a quoted segment keeps its dots."""
    context = EvaluationContext({})

    context.set_variable(key, "x")

    assert context.data == expected


def test_set_variable_leaves_request_object_intact():
    """Overriding a field of request.object never edits the caller's manifest."""
    pod = _pod()
    context = EvaluationContext.for_request(AdmissionRequest(object=pod))

    context.set_variable("request.object.metadata.name", "renamed")

    assert context.query("request.object.metadata.name") == "renamed"
    assert context.query("request.object.metadata.namespace") == "apps"
    assert pod["metadata"]["name"] == "web"


def test_map_variable_merges_into_existing_map():
    """A values entry that is a map adds keys instead of dropping the others."""
    context = _context()

    context.set_variable("request.object.metadata", {"labels": {"tier": "web"}})

    assert context.query("request.object.metadata.name") == "web"
    assert context.query("request.object.metadata.labels") == {"app": "web", "tier": "web"}


def test_elements_set_plain_and_numbered_names():
    """element/elementIndex always hold the innermost loop; elementN stays per level."""
    context = EvaluationContext({})

    context.add_element({"name": "outer"}, 2, 0)
    context.add_element("inner", 5, 1)

    assert context.query("element") == "inner"
    assert context.query("elementIndex") == 5
    assert context.query("element0.name") == "outer"
    assert context.query("elementIndex0") == 2
    assert (context.query("element1"), context.query("elementIndex1")) == ("inner", 5)


def test_copy_keeps_parent_unchanged():
    """Elements added to a copy do not leak into the original."""
    parent = EvaluationContext({"a": 1})

    child = parent.copy()
    child.add_element("x", 0, 0)

    assert "element" not in parent.data
    assert child.query("a") == 1


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ({"value": "plain"}, "plain"),
        ({"value": {"a": [1, 2]}, "jmesPath": "a[1]"}, 2),
        ({"value": "{{ request.object.metadata.name }}-x"}, "web-x"),
        ({"jmesPath": "request.object.metadata.labels.app"}, "web"),
        ({"jmesPath": "request.object.metadata.labels.missing", "default": "dflt"}, "dflt"),
        ({"jmesPath": "request.object.metadata.labels.app", "default": "dflt"}, "web"),
        ({"value": {"a": 1}, "jmesPath": "b", "default": "dflt"}, "dflt"),
        ({"default": "{{ request.namespace }}"}, "apps"),
        ({"value": 0}, 0),
        ({"value": False}, False),
    ],
)
def test_variable_entry_combines_its_fields(variable, expected):
    """value, jmesPath and default combine as Kyverno's variable loader does."""
    context = _context()

    context.load_entries([{"name": "v", "variable": variable}])

    assert context.query("v") == expected


@pytest.mark.parametrize(
    "variable",
    [
        {"jmesPath": "request.object.metadata.labels.missing"},
        {"value": {"a": 1}, "jmesPath": "b"},
        {"value": None},
        {"jmesPath": "request.object.metadata.annotations"},
        {"value": "{{ nowhere }}"},
    ],
)
def test_unresolvable_variable_entry_fails_on_use(variable):
    """A variable that cannot be evaluated raises only when referenced."""
    context = _context()

    context.load_entries([{"name": "v", "variable": variable}])

    with pytest.raises(ContextError, match="v"):
        context.query("v")


def test_failed_entry_spares_unrelated_expressions():
    """Only expressions that name the failed entry fail; similar names are fine."""
    context = _context()

    context.load_entries(
        [
            {"name": "broken", "variable": {"jmesPath": "nowhere.at.all"}},
            {"name": "brokenness", "variable": {"value": "fine"}},
        ]
    )

    assert context.query("brokenness") == "fine"
    assert context.query("request.object.metadata.name") == "web"
    with pytest.raises(ContextError, match="failed to load context entry broken"):
        context.query("length(broken)")


def test_later_entry_reads_earlier_entry():
    """Entries load in order, so one can build on the one before."""
    context = _context()

    context.load_entries(
        [
            {"name": "first", "variable": {"value": {"tier": "gold"}}},
            {"name": "second", "variable": {"jmesPath": "first.tier"}},
        ]
    )

    assert context.query("second") == "gold"


def test_preset_names_are_not_reloaded():
    """An entry whose name the caller already set keeps the caller's value."""
    context = _context()
    context.set_variable("cm.data.level", "high")

    context.load_entries(
        [{"name": "cm", "configMap": {"name": "settings", "namespace": "apps"}}],
        preset=frozenset({"cm"}),
    )

    assert context.query("cm.data.level") == "high"


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "cm", "configMap": {"name": "settings", "namespace": "apps"}},
        {"name": "cm", "apiCall": {"urlPath": "/api/v1/namespaces"}},
        {"name": "cm", "imageRegistry": {"reference": "nginx"}},
    ],
)
def test_cluster_entries_without_resolver_stay_unset(entry):
    """Offline, cluster-backed entries stay unset and fail whatever uses them."""
    context = _context()

    context.load_entries([entry])

    assert "cm" not in context.data
    with pytest.raises((ContextError, jmespath.JMESPathError)):
        context.query("cm.data")


def test_config_map_comes_from_resolver():
    """A configMap entry asks the resolver with names substituted first."""
    resolver = _Resolver(config_maps={("apps", "web-settings"): {"data": {"level": "high"}}})
    context = _context()

    context.load_entries(
        [
            {
                "name": "cm",
                "configMap": {
                    "name": "{{ request.object.metadata.name }}-settings",
                    "namespace": "{{ request.namespace }}",
                },
            }
        ],
        resolver=resolver,
    )

    assert resolver.asked == [("apps", "web-settings")]
    assert context.query("cm.data.level") == "high"


def test_missing_config_map_fails_on_use():
    """A ConfigMap the resolver does not know makes its entry fail."""
    context = _context()

    context.load_entries(
        [{"name": "cm", "configMap": {"name": "absent", "namespace": "apps"}}],
        resolver=_Resolver(),
    )

    with pytest.raises(ContextError, match="ConfigMap apps/absent not found"):
        context.query("cm.data")


@pytest.mark.xfail(
    reason=(
        "Kyverno reads a configMap entry without a namespace from 'default' for "
        "ClusterPolicies (pkg/engine/context/loaders/configmap.go:91-99); we ask the "
        "resolver for namespace ''"
    ),
    strict=True,
)
def test_config_map_namespace_defaults_to_default():
    """An entry without configMap.namespace reads from the default namespace."""
    resolver = _Resolver(config_maps={("default", "settings"): {"data": {"level": "high"}}})
    context = _context()

    context.load_entries([{"name": "cm", "configMap": {"name": "settings"}}], resolver=resolver)

    assert resolver.asked == [("default", "settings")]


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ({"urlPath": "/api/v1/namespaces"}, {"items": [{"name": "a"}, {"name": "b"}]}),
        ({"urlPath": "/api/v1/namespaces", "jmesPath": "items[].name"}, ["a", "b"]),
    ],
)
def test_api_call_result_is_narrowed(call, expected):
    """An apiCall entry stores the resolver's answer, narrowed by its jmesPath."""
    resolver = _Resolver(api_result={"items": [{"name": "a"}, {"name": "b"}]})
    context = _context()

    context.load_entries([{"name": "ns", "apiCall": call}], resolver=resolver)

    assert context.query("ns") == expected
    assert resolver.asked == [call]
