"""Expressions of the shapes that published Kyverno policies use, on sample data.

The expressions below were collected from the `{{ ... }}` variables,
`jmesPath:` and `list:` fields of the policy library; nested variables are
shown already substituted, as the engine hands them over. They run in strict
mode, as in Kyverno, so a path that Kyverno would reject fails here too.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy.jmespath import implemented, search

REQUEST: dict[str, Any] = {
    "request": {
        "operation": "CREATE",
        "namespace": "shop",
        "userInfo": {"username": "dev", "groups": ["team-a", "system:authenticated"]},
        "object": {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "web-1",
                "labels": {"app": "web", "corp.org/version": "v1.2.3"},
                "annotations": {
                    "nginx.ingress.kubernetes.io/server-snippet": "location / { alias /x; }",
                    "fluxcd.io/automated": "true",
                    "pod.kubernetes.io/lifetime": "4h",
                },
                "ownerReferences": [{"kind": "ReplicaSet", "uid": "abc"}],
            },
            "spec": {
                "duration": "2160h0m0s",
                "dnsNames": ["a.example.com", "b.example.com"],
                "podSelector": {},
                "initContainers": [{"name": "init", "image": "busybox"}],
                "containers": [
                    {
                        "name": "app",
                        "image": "ghcr.io/shop/web:1.0",
                        "ports": [{"containerPort": 80, "hostPort": 8080}],
                        "resources": {
                            "requests": {"memory": "1Gi", "cpu": "250m"},
                            "limits": {"memory": "2Gi"},
                        },
                        "securityContext": {
                            "runAsUser": 1000,
                            "capabilities": {"drop": ["all"], "add": ["NET_ADMIN"]},
                        },
                        "volumeMounts": [{"name": "data", "readOnly": True}],
                    }
                ],
                "volumes": [
                    {"name": "data", "hostPath": {"path": "/var/lib/data"}},
                    {"name": "scratch", "emptyDir": {}},
                ],
                "rules": [{"host": "shop.example.com"}, {"http": {}}],
            },
        },
    },
    "element": {
        "group": "*",
        "verbs": ["get", "*"],
        "path": "/etc/config",
        "securityContext": {"capabilities": {"drop": ["all"]}},
        "livenessProbe": {},
    },
    "items": [
        {
            "metadata": {"namespace": "shop", "name": "other", "annotations": {}},
            "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "minAvailable": 2},
        },
        {
            "metadata": {"namespace": "shop", "name": "web-1"},
            "spec": {"podSelector": {"matchLabels": {"app": "db"}}},
        },
    ],
    "images": {"containers": {"app": {"registry": "ghcr.io", "name": "shop/web"}}},
    "saMap": {"data": {"builder": "ghcr.io"}},
    "namespacesWithPriorityLabel": ["shop", "billing"],
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("request.operation || 'BACKGROUND'", "CREATE"),
        ("request.missing || 'BACKGROUND'", "BACKGROUND"),
        ("request.object.metadata.keys(@)", ["name", "labels", "annotations", "ownerReferences"]),
        ("contains(element.group, '*')", True),
        ("element.securityContext.capabilities.add[] || ''", ""),
        ("element.securityContext.capabilities.drop[].to_upper(@) || `[]`", ["ALL"]),
        (
            "request.object.metadata.annotations.values(@)[].regex_match('\\s*alias\\s*.*;', @)",
            [True, False, False],
        ),
        (
            "max( [ to_number(regex_replace_all('h.*',request.object.spec.duration,'')), "
            "to_number('2400') ] )",
            2400,
        ),
        ("request.object.spec.dnsNames || `[]` | length(@)", 2),
        ("request.userInfo.groups[?contains(@,':') == `false`]", ["team-a"]),
        (
            "request.userInfo.groups[?contains(@,':') == `false`][].join('-', [@, '*'])",
            ["team-a-*"],
        ),
        ("keys(request.object.spec) | contains(@, 'encryption')", False),
        ("request.object.spec.rules[].host || `[]` | length(@)", 1),
        ("element.keys(@)[]", ["group", "verbs", "path", "securityContext", "livenessProbe"]),
        ("request.object.metadata.ownerReferences[0].kind || ''", "ReplicaSet"),
        ("request.object.spec.volumes[?hostPath] | length(@)", 1),
        ("element.path  | to_string(@) | split(@, '/') | [1]", "etc"),
        (
            "request.object.spec.volumes[?contains(keys(@), 'emptyDir') && "
            "!contains(keys(emptyDir), 'sizeLimit')].name",
            ["scratch"],
        ),
        ("request.object.metadata.labels.\"corp.org/version\" || 'empty'", "v1.2.3"),
        ("regex_match('^v[0-9].[0-9].[0-9]$','v1.2.3')", True),
        ("contains(element.verbs[], '*')", True),
        ('items[?label_match(spec.podSelector.matchLabels, `{"app":"web"}`)] | length(@)', 1),
        (
            'items[?label_match(spec.podSelector.matchLabels, `{"app":"web"}`)] | [0] | '
            "spec.minAvailable || `0`",
            2,
        ),
        (
            "request.object.metadata.keys(@).contains(@, 'ownerReferences') && "
            "request.object.metadata.ownerReferences[0].uid",
            "abc",
        ),
        ("images.containers.*.registry | [0]", "ghcr.io"),
        ('saMap.data."builder"', "ghcr.io"),
        ("request.object.spec.containers[].resources.keys(@)[]", ["requests", "limits"]),
        (
            "request.object.metadata.annotations.keys(@)[?contains(@, 'fluxcd.io/')]",
            ["fluxcd.io/automated"],
        ),
        (
            "request.object.spec.[containers, initContainers, ephemeralContainers][]"
            ".volumeMounts[?name == 'data' && readOnly] [] | length(@)",
            1,
        ),
        (
            "request.object.metadata.labels || `{}` |  merge(@, {breakglass:null})",
            {"app": "web", "corp.org/version": "v1.2.3", "breakglass": None},
        ),
        ("request.object.spec.podSelector.keys(@) | length(@)", 0),
        ("request.object.metadata.annotations.\"pod.kubernetes.io/lifetime\" || '0s'", "4h"),
        (
            "items[?[metadata.namespace, metadata.name] != ['shop', 'web-1']].metadata.name",
            ["other"],
        ),
        (
            "request.object.spec.containers[?resources.requests.memory!=resources.limits.memory]"
            " | length(@)",
            1,
        ),
        ("divide('2Gi', '1Gi')", 2),
        ("divide('0', '1m')", 0),
        (
            "request.object.spec.[ephemeralContainers, initContainers, containers][]"
            ".ports[].hostPort",
            [8080],
        ),
        ("request.object.spec.volumes[].keys(@)[] || ''", ["name", "hostPath", "name", "emptyDir"]),
        ("length(namespacesWithPriorityLabel)", 2),
        (
            "request.object.spec.[initContainers, ephemeralContainers, containers][].name",
            ["init", "app"],
        ),
    ],
)
def test_policy_expression_evaluates_as_in_kyverno(expression: str, expected: Any) -> None:
    assert search(expression, REQUEST, missing_key_errors=True) == expected


def test_merge_with_null_selector_blanks_one_label() -> None:
    labels = {"metadata": {"labels": {"app": "web", "breakglass": "yes"}}}

    result = search("metadata.labels || `{}` | merge(@, {breakglass:null})", labels)

    # `{breakglass: null}` reads the field `null` of the labels, which is absent.
    assert result == {"app": "web", "breakglass": None}


def test_unique_uid_query_skips_only_the_requesting_owner() -> None:
    pods = {
        "items": [
            {
                "metadata": {"ownerReferences": [{"uid": "abc"}]},
                "spec": {"containers": [{"securityContext": {"runAsUser": 1000}}]},
            },
            {
                "metadata": {"ownerReferences": [{"uid": "xyz"}]},
                "spec": {"containers": [{"securityContext": {"runAsUser": 2000}}]},
            },
            {"metadata": {}, "spec": {"containers": [{"securityContext": {"runAsUser": 3000}}]}},
        ]
    }
    expression = (
        "items[?@.metadata.ownerReferences == false || "
        "metadata.ownerReferences[?uid != 'abc']].spec.containers[].securityContext."
        "to_string(runAsUser)"
    )

    # `false` unquoted is a field name: the comparison is true when both the
    # owner references and that field are absent, so owner-less pods count.
    assert search(expression, pods, missing_key_errors=True) == ["2000", "3000"]


def test_every_function_the_policy_library_calls_is_implemented() -> None:
    used = {
        "contains", "divide", "join", "keys", "label_match", "length", "max", "merge",
        "regex_match", "regex_replace_all", "split", "to_number", "to_string", "to_upper",
        "values",
    }  # fmt: skip

    assert used <= implemented()
