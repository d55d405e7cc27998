"""Rule selection: match and exclude in all their forms, as Kyverno's engine does it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy import matching
from bot.policy.requests import AdmissionRequest, UserInfo


def pod(name: str = "web-1", namespace: str = "shop", **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, **metadata},
    }


def deployment(name: str = "web", namespace: str = "shop") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
    }


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def any_of(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"any": [{"resources": r} for r in resources]}


PODS = {"kinds": ["Pod"]}


@pytest.mark.parametrize(
    ("resources", "manifest", "expected"),
    [
        (PODS, pod(), True),
        ({"kinds": ["Deployment"]}, pod(), False),
        ({"kinds": ["Pod"], "names": ["web-*"]}, pod(), True),
        ({"kinds": ["Pod"], "names": ["db-*", "api"]}, pod(), False),
        ({"kinds": ["Pod"], "name": "web-?"}, pod(), True),
        ({"kinds": ["Pod"], "name": "web"}, pod(), False),
        ({"kinds": ["Pod"], "name": "web-?", "names": ["db"]}, pod(), False),
        ({"kinds": ["Pod"], "namespaces": ["prod", "sh*"]}, pod(), True),
        ({"kinds": ["Pod"], "namespaces": ["prod"]}, pod(), False),
        (
            {"kinds": ["Pod"], "annotations": {"team": "a*"}},
            pod(annotations={"team": "alpha"}),
            True,
        ),
        (
            {"kinds": ["Pod"], "annotations": {"*/owner": "?"}},
            pod(annotations={"x/owner": "b"}),
            True,
        ),
        (
            {"kinds": ["Pod"], "annotations": {"team": "a*"}},
            pod(annotations={"team": "beta"}),
            False,
        ),
        ({"kinds": ["Pod"], "annotations": {"team": "*"}}, pod(), False),
        (
            {"kinds": ["Pod"], "selector": {"matchLabels": {"app": "web"}}},
            pod(labels={"app": "web"}),
            True,
        ),
        (
            {"kinds": ["Pod"], "selector": {"matchLabels": {"app": "w*"}}},
            pod(labels={"app": "web"}),
            True,
        ),
        ({"kinds": ["Pod"], "selector": {"matchLabels": {"app": "web"}}}, pod(), False),
        ({"kinds": ["Pod"], "selector": {}}, pod(), True),
        ({"kinds": ["Pod"], "selector": {"matchLabels": {"app": "bad value"}}}, pod(), False),
        ({"kinds": ["Pod"], "operations": ["CREATE", "UPDATE"]}, pod(), True),
        ({"kinds": ["Pod"], "operations": ["DELETE"]}, pod(), False),
        ({"kinds": ["Pod"], "names": ["gen-*"]}, pod(name="", generateName="gen-"), True),
    ],
)
def test_resource_fields_all_must_hold(resources, manifest, expected):
    """Within a filter, every field given must match; lists take any entry."""
    rule = {"match": any_of(resources)}

    assert matching.rule_matches(rule, AdmissionRequest(object=manifest)) is expected


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        (any_of({"kinds": ["Deployment"]}, PODS), True),
        (any_of({"kinds": ["Deployment"]}, {"kinds": ["Service"]}), False),
        (
            {"all": [{"resources": PODS}, {"resources": {"kinds": ["*"], "namespaces": ["shop"]}}]},
            True,
        ),
        (
            {"all": [{"resources": PODS}, {"resources": {"kinds": ["*"], "namespaces": ["x"]}}]},
            False,
        ),
        ({"resources": PODS}, True),
        ({"resources": {"kinds": ["Pod"], "namespaces": ["x"]}}, False),
        ({}, False),
        ({"any": []}, False),
        ({"any": [{}]}, False),
        ({"any": [{"resources": {"namespaces": ["shop"]}}]}, False),
    ],
)
def test_match_forms_combine_filters(match, expected):
    """`any` is OR, `all` is AND, the legacy form is a single filter."""
    assert matching.rule_matches({"match": match}, AdmissionRequest(object=pod())) is expected


@pytest.mark.parametrize(
    ("exclude", "expected"),
    [
        (None, True),
        ({}, True),
        ({"any": []}, True),
        ({"any": [{}]}, True),
        ({"any": [{"resources": {}}]}, True),
        ({"any": [{"resources": {"namespaces": ["kube-*"]}}]}, True),
        (
            {
                "any": [
                    {"resources": {"namespaces": ["kube-*"]}},
                    {"resources": {"names": ["web-*"]}},
                ]
            },
            False,
        ),
        (
            {"all": [{"resources": {"namespaces": ["shop"]}}, {"resources": {"names": ["web-*"]}}]},
            False,
        ),
        (
            {"all": [{"resources": {"namespaces": ["shop"]}}, {"resources": {"names": ["db"]}}]},
            True,
        ),
        ({"resources": {"namespaces": ["shop"]}}, False),
        ({"resources": {"kinds": ["Deployment"], "namespaces": ["shop"]}}, True),
        ({"resources": {"operations": ["DELETE"]}}, True),
    ],
)
def test_exclude_removes_what_it_selects(exclude, expected):
    """Exclude filters need no kinds; empty ones exclude nothing."""
    rule = {"match": any_of(PODS), "exclude": exclude}

    assert matching.rule_matches(rule, AdmissionRequest(object=pod())) is expected


ADMIN = UserInfo(
    username="alice",
    groups=("system:authenticated", "ops"),
    roles=("shop:editor",),
    cluster_roles=("cluster-admin",),
)
ROBOT = UserInfo(username="system:serviceaccount:ci:deployer", groups=("system:serviceaccounts",))


@pytest.mark.parametrize(
    ("user_fields", "user", "expected"),
    [
        ({"subjects": [{"kind": "User", "name": "alice"}]}, ADMIN, True),
        ({"subjects": [{"kind": "User", "name": "a*"}]}, ADMIN, True),
        ({"subjects": [{"kind": "User", "name": "bob"}]}, ADMIN, False),
        ({"subjects": [{"kind": "Group", "name": "ops"}]}, ADMIN, True),
        ({"subjects": [{"kind": "Group", "name": "dev"}]}, ADMIN, False),
        (
            {"subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"}]},
            ROBOT,
            True,
        ),
        ({"subjects": [{"kind": "ServiceAccount", "name": "*", "namespace": "ci"}]}, ROBOT, True),
        ({"subjects": [{"kind": "ServiceAccount", "name": "x", "namespace": "ci"}]}, ROBOT, False),
        ({"roles": ["shop:editor"]}, ADMIN, True),
        ({"roles": ["shop:*"]}, ADMIN, False),
        ({"clusterRoles": ["cluster-admin", "view"]}, ADMIN, True),
        ({"clusterRoles": ["view"]}, ADMIN, False),
        (
            {"clusterRoles": ["cluster-admin"], "subjects": [{"kind": "User", "name": "bob"}]},
            ADMIN,
            False,
        ),
        ({"subjects": [{"kind": "User", "name": "bob"}]}, None, True),
        ({"clusterRoles": ["view"]}, UserInfo(), True),
    ],
)
def test_match_user_fields_need_user_info(user_fields, user, expected):
    """User fields AND with the rest, and are ignored when no user is known."""
    rule = {"match": {"any": [{"resources": PODS, **user_fields}]}}
    request = AdmissionRequest(object=pod(), user_info=user)

    assert matching.rule_matches(rule, request) is expected


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        (ADMIN, False),
        (ROBOT, True),
        (None, True),
    ],
)
def test_exclude_user_fields_need_a_matching_user(user, expected):
    """Without user info, an exclude on cluster roles excludes nobody."""
    rule = {"match": any_of(PODS), "exclude": {"any": [{"clusterRoles": ["cluster-admin"]}]}}
    request = AdmissionRequest(object=pod(), user_info=user)

    assert matching.rule_matches(rule, request) is expected


def test_exclude_wildcard_user_matches_unknown_user():
    """An exclude on any user name also holds for the empty, unknown user."""
    rule = {
        "match": any_of(PODS),
        "exclude": {"any": [{"subjects": [{"kind": "User", "name": "*"}]}]},
    }

    assert not matching.rule_matches(rule, AdmissionRequest(object=pod()))


@pytest.mark.parametrize(
    ("resources", "labels", "expected"),
    [
        (
            {"kinds": ["Pod"], "namespaceSelector": {"matchLabels": {"env": "prod"}}},
            {"env": "prod"},
            True,
        ),
        (
            {"kinds": ["Pod"], "namespaceSelector": {"matchLabels": {"env": "prod"}}},
            {"env": "dev"},
            False,
        ),
        ({"kinds": ["Pod"], "namespaceSelector": {"matchLabels": {"env": "prod"}}}, {}, False),
        (
            {
                "kinds": ["Pod"],
                "namespaceSelector": {
                    "matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]
                },
            },
            {},
            True,
        ),
        (
            {"kinds": ["Pod"], "namespaceSelector": {"matchLabels": {"env": "p*"}}},
            {"env": "prod"},
            True,
        ),
    ],
)
def test_namespace_selector_reads_namespace_labels(resources, labels, expected):
    """The labels come from the request, not from the object."""
    request = AdmissionRequest(object=pod(), namespace_labels=labels)

    assert matching.rule_matches({"match": any_of(resources)}, request) is expected


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ({"kinds": ["Namespace"]}, True),
        ({"kinds": ["Namespace"], "namespaces": ["shop"]}, True),
        ({"kinds": ["Namespace"], "namespaces": ["other"]}, False),
        ({"kinds": ["Namespace"], "names": ["sh*"]}, True),
        ({"kinds": ["Namespace"], "namespaceSelector": {}}, False),
        ({"kinds": ["Namespace"], "selector": {"matchLabels": {"env": "prod"}}}, True),
    ],
)
def test_namespace_object_matches_by_its_own_name(resources, expected):
    """`namespaces` reads a Namespace's own name; namespaceSelector never fits it."""
    request = AdmissionRequest(
        object=namespace("shop", {"env": "prod"}), namespace_labels={"env": "prod"}
    )

    assert matching.rule_matches({"match": any_of(resources)}, request) is expected


def test_exclude_with_namespace_selector_spares_namespaces():
    """A namespaceSelector filter cannot exclude a Namespace object either."""
    rule = {
        "match": any_of({"kinds": ["Namespace"]}),
        "exclude": any_of({"namespaceSelector": {}}),
    }

    assert matching.rule_matches(rule, AdmissionRequest(object=namespace("shop")))


@pytest.mark.parametrize(
    ("policy_namespace", "manifest", "expected"),
    [
        ("", pod(namespace="shop"), True),
        ("shop", pod(namespace="shop"), True),
        ("shop", pod(namespace="other"), False),
        ("shop", namespace("shop"), False),
    ],
)
def test_namespaced_policy_sees_only_its_namespace(policy_namespace, manifest, expected):
    """A `Policy` never selects objects outside its namespace, nor Namespaces."""
    rule = {"match": any_of({"kinds": ["Pod", "Namespace"]})}
    request = AdmissionRequest(object=manifest)

    assert matching.rule_matches(rule, request, policy_namespace=policy_namespace) is expected


def test_subresource_request_needs_subresource_kind():
    """A rule on Pods does not judge `pods/exec`; `Pod/exec` does."""
    request = AdmissionRequest(object=pod(), operation="CONNECT", subresource="exec")

    assert not matching.rule_matches({"match": any_of(PODS)}, request)
    assert matching.rule_matches({"match": any_of({"kinds": ["Pod/exec"]})}, request)


def test_delete_judges_the_old_object():
    """On DELETE the object being removed is the one matched."""
    rule = {"match": any_of({"kinds": ["Deployment"], "operations": ["DELETE"]})}
    request = AdmissionRequest(object={}, old_object=deployment(), operation="DELETE")

    assert matching.rule_matches(rule, request)


def test_group_and_version_come_from_api_version():
    """Kinds with a group only match objects of that group."""
    rule = {"match": any_of({"kinds": ["apps/v1/Deployment"]})}
    other = {**deployment(), "apiVersion": "example.io/v1"}

    assert matching.rule_matches(rule, AdmissionRequest(object=deployment()))
    assert not matching.rule_matches(rule, AdmissionRequest(object=other))


@pytest.mark.parametrize(
    ("rule", "request_", "fragment"),
    [
        (
            {"match": any_of({"kinds": ["Deployment"]})},
            AdmissionRequest(object=pod()),
            "kind v1/Pod",
        ),
        (
            {"match": any_of({"kinds": ["Pod"], "namespaces": ["prod"]})},
            AdmissionRequest(object=pod()),
            "namespace 'shop' is not in ['prod']",
        ),
        (
            {
                "match": any_of(PODS),
                "exclude": {
                    "any": [
                        {"resources": {"namespaces": ["x"]}},
                        {"resources": {"names": ["web-1"]}},
                    ]
                },
            },
            AdmissionRequest(object=pod()),
            "excluded by exclude.any[1]",
        ),
        (
            {"match": any_of({"kinds": ["Pod"], "operations": ["DELETE"]})},
            AdmissionRequest(object=pod()),
            "operation CREATE",
        ),
        (
            {"match": {"any": [{"resources": {"names": ["x"]}}]}},
            AdmissionRequest(object=pod()),
            "names no kinds",
        ),
        ({"match": {}}, AdmissionRequest(object=pod()), "the filter is empty"),
        ({"match": any_of(PODS)}, AdmissionRequest(object={}), "no object"),
    ],
)
def test_mismatch_is_described(rule, request_, fragment):
    """The explanation names the field that failed and the value seen."""
    reason = matching.describe_mismatch(rule, request_)

    assert reason is not None
    assert fragment in reason


def test_matching_rule_has_no_mismatch():
    """None means the rule selects the request."""
    assert (
        matching.describe_mismatch({"match": any_of(PODS)}, AdmissionRequest(object=pod())) is None
    )
