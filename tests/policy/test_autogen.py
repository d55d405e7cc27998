"""Autogen: which rules Kyverno derives for pod controllers, and their shape."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy import autogen

ALL_CONTROLLER_KINDS = [
    "apps/v1/DaemonSet",
    "apps/v1/Deployment",
    "batch/v1/Job",
    "apps/v1/ReplicaSet",
    "v1/ReplicationController",
    "apps/v1/StatefulSet",
]
PODS = {"any": [{"resources": {"kinds": ["Pod"]}}]}
NO_PRIVILEGED = {
    "message": "no privileged containers",
    "pattern": {"spec": {"containers": [{"=(securityContext)": {"=(privileged)": False}}]}},
}


def policy(*rules: dict[str, Any], controllers: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "guard"}
    if controllers is not None:
        metadata["annotations"] = {autogen.ANNOTATION: controllers}
    return {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": metadata,
        "spec": {"rules": list(rules)},
    }


def rule(name: str = "check", match: Any = None, **fields: Any) -> dict[str, Any]:
    fields.setdefault("validate", NO_PRIVILEGED)
    return {"name": name, "match": PODS if match is None else match, **fields}


def names(expanded: list[autogen.ExpandedRule]) -> list[str]:
    return [e.rule["name"] for e in expanded]


def generated(document: dict[str, Any], **kwargs: Any) -> dict[str, dict[str, Any]]:
    return {
        e.rule["name"]: e.rule for e in autogen.expand_rules(document, **kwargs) if e.generated_for
    }


def test_pod_rule_gets_controller_and_cronjob_rules():
    """By default every pod controller is covered, CronJob by its own rule."""
    expanded = autogen.expand_rules(policy(rule("a"), rule("b")))

    assert names(expanded) == [
        "a",
        "b",
        "autogen-a",
        "autogen-cronjob-a",
        "autogen-b",
        "autogen-cronjob-b",
    ]
    assert [e.base_name for e in expanded] == ["a", "b", "a", "a", "b", "b"]
    assert expanded[0].generated_for == ()
    assert expanded[2].generated_for == (
        "DaemonSet",
        "Deployment",
        "Job",
        "ReplicaSet",
        "ReplicationController",
        "StatefulSet",
    )
    assert expanded[3].generated_for == ("CronJob",)


def test_generated_rules_nest_patterns_under_templates():
    """Patterns move to `spec.template` and `spec.jobTemplate.spec.template`."""
    rules = generated(policy(rule(validate={**NO_PRIVILEGED, "failureAction": "Enforce"})))

    controller, cronjob = rules["autogen-check"], rules["autogen-cronjob-check"]
    pattern = NO_PRIVILEGED["pattern"]
    assert controller["match"] == {"any": [{"resources": {"kinds": ALL_CONTROLLER_KINDS}}]}
    assert controller["validate"] == {
        "message": "no privileged containers",
        "failureAction": "Enforce",
        "pattern": {"spec": {"template": pattern}},
    }
    assert cronjob["match"] == {"any": [{"resources": {"kinds": ["batch/v1/CronJob"]}}]}
    assert cronjob["validate"]["pattern"] == {
        "spec": {"jobTemplate": {"spec": {"template": pattern}}}
    }


@pytest.mark.parametrize(
    ("controllers", "expected_names", "controller_kinds"),
    [
        ("Deployment,CronJob", ["autogen-check", "autogen-cronjob-check"], ["apps/v1/Deployment"]),
        (
            "StatefulSet,Deployment",
            ["autogen-check"],
            ["apps/v1/Deployment", "apps/v1/StatefulSet"],
        ),
        ("CronJob", ["autogen-cronjob-check"], None),
        ("none", [], None),
        ("all", ["autogen-check", "autogen-cronjob-check"], ALL_CONTROLLER_KINDS),
        ("Deployment,Gizmo", ["autogen-check"], ["apps/v1/Deployment"]),
        ("Gizmo", ["autogen-check"], ["Gizmo"]),
    ],
)
def test_annotation_chooses_controllers(controllers, expected_names, controller_kinds):
    """The annotation narrows the controllers; unknown names are dropped."""
    rules = generated(policy(rule(), controllers=controllers))

    assert list(rules) == expected_names
    if controller_kinds is not None:
        kinds = rules["autogen-check"]["match"]["any"][0]["resources"]["kinds"]
        assert kinds == controller_kinds


@pytest.mark.parametrize(
    "blocker",
    [
        rule("x", match={"any": [{"resources": {"kinds": ["Pod"], "names": ["web"]}}]}),
        rule("x", match={"resources": {"kinds": ["Pod"], "name": "web"}}),
        rule("x", match={"any": [{"resources": {"kinds": ["Pod"], "selector": {}}}]}),
        rule("x", match={"all": [{"resources": {"kinds": ["Pod"], "annotations": {}}}]}),
        rule("x", match={"any": [{"resources": {"kinds": ["Pod", "Deployment"]}}]}),
        rule("x", exclude={"any": [{"resources": {"names": ["web"]}}]}),
        rule("x", exclude={"resources": {"kinds": ["Pod", "Service"]}}),
        {"name": "x", "match": PODS, "generate": {"kind": "ConfigMap", "name": "c"}},
        {"name": "x", "match": PODS, "mutate": {"patchesJson6902": "- op: remove"}},
        {"name": "x", "match": PODS, "mutate": {"foreach": [{"patchesJson6902": "- op: remove"}]}},
    ],
)
def test_one_unsuitable_rule_blocks_the_whole_policy(blocker):
    """Kyverno decides for the policy as a whole, even against the annotation."""
    assert generated(policy(rule(), blocker)) == {}
    assert generated(policy(rule(), blocker, controllers="Deployment")) == {}


@pytest.mark.parametrize(
    "match",
    [
        {"any": [{"resources": {"kinds": ["v1/Pod"]}}]},
        {"any": [{"resources": {"kinds": ["Service"]}}]},
        {"any": [{"resources": {"kinds": ["*"]}}]},
    ],
)
def test_policy_must_name_pod_kinds_plainly(match):
    """Only bare Pod or controller kind names switch autogen on."""
    assert generated(policy(rule(match=match))) == {}


def test_rules_not_on_pods_stay_as_written():
    """A rule on other kinds in an autogen policy gets no companions."""
    services = rule("svc", match={"any": [{"resources": {"kinds": ["Service"]}}]})
    pods_in_exclude = rule("ex", exclude={"any": [{"resources": {"kinds": ["Deployment"]}}]})

    expanded = autogen.expand_rules(policy(rule(), services, pods_in_exclude))

    assert names(expanded) == ["check", "svc", "ex", "autogen-check", "autogen-cronjob-check"]


def test_controller_rule_alone_enables_autogen_for_pod_rules():
    """Naming a controller kind anywhere counts as needing autogen."""
    pinned = rule("pinned", match={"any": [{"resources": {"kinds": ["v1/Pod"]}}]})
    deployments = rule("deploy", match={"any": [{"resources": {"kinds": ["Deployment"]}}]})

    assert list(generated(policy(pinned, deployments))) == [
        "autogen-pinned",
        "autogen-cronjob-pinned",
    ]


def test_match_and_exclude_are_retargeted():
    """Pod filters move to controllers; other filters and fields are kept."""
    match = {
        "any": [
            {"resources": {"kinds": ["Pod"], "namespaces": ["shop"], "operations": ["CREATE"]}},
            {"resources": {"kinds": ["Service"]}},
        ]
    }
    exclude = {
        "any": [{"resources": {"kinds": ["Pod"], "namespaces": ["kube-system"]}}, {"subjects": []}]
    }

    rules = generated(policy(rule(match=match, exclude=exclude), controllers="Deployment,CronJob"))

    controller, cronjob = rules["autogen-check"], rules["autogen-cronjob-check"]
    assert controller["match"]["any"] == [
        {
            "resources": {
                "kinds": ["apps/v1/Deployment"],
                "namespaces": ["shop"],
                "operations": ["CREATE"],
            }
        },
        {"resources": {"kinds": ["Service"]}},
    ]
    assert controller["exclude"]["any"][0] == {
        "resources": {"kinds": ["apps/v1/Deployment"], "namespaces": ["kube-system"]}
    }
    assert [f["resources"]["kinds"] for f in cronjob["match"]["any"]] == [["batch/v1/CronJob"]] * 2
    assert cronjob["exclude"]["any"][1] == {
        "subjects": [],
        "resources": {"kinds": ["batch/v1/CronJob"]},
    }


def test_legacy_exclude_without_kinds_is_kept():
    """A legacy exclude with kinds is retargeted, one without kinds is not."""
    with_kinds = rule(
        "a",
        match={"resources": {"kinds": ["Pod"]}},
        exclude={"resources": {"kinds": ["Pod"], "namespaces": ["x"]}},
    )
    without = rule(
        "b", match={"resources": {"kinds": ["Pod"]}}, exclude={"resources": {"namespaces": ["x"]}}
    )

    rules = generated(policy(with_kinds, without, controllers="Job"))

    assert rules["autogen-a"]["match"] == {"resources": {"kinds": ["batch/v1/Job"]}}
    assert rules["autogen-a"]["exclude"] == {
        "resources": {"kinds": ["batch/v1/Job"], "namespaces": ["x"]}
    }
    assert rules["autogen-b"]["exclude"] == {"resources": {"namespaces": ["x"]}}


def test_variables_point_into_the_template():
    """References to the object's spec and metadata follow the template."""
    deny = {
        "message": "{{ request.object.metadata.name }} is not allowed",
        "deny": {
            "conditions": {
                "any": [
                    {
                        "key": "{{ request.oldObject.spec.hostNetwork }}",
                        "operator": "Equals",
                        "value": True,
                    }
                ]
            }
        },
    }
    source = rule(
        validate=deny,
        context=[{"name": "labels", "variable": {"jmesPath": "request.object.metadata.labels"}}],
        preconditions={
            "all": [
                {
                    "key": "{{ request.object.spec.nodeName || '' }}",
                    "operator": "Equals",
                    "value": "",
                }
            ]
        },
    )

    rules = generated(policy(source))

    controller, cronjob = rules["autogen-check"], rules["autogen-cronjob-check"]
    assert (
        controller["validate"]["message"]
        == "{{ request.object.spec.template.metadata.name }} is not allowed"
    )
    condition = controller["validate"]["deny"]["conditions"]["any"][0]
    assert condition["key"] == "{{ request.oldObject.spec.template.spec.hostNetwork }}"
    assert (
        controller["context"][0]["variable"]["jmesPath"]
        == "request.object.spec.template.metadata.labels"
    )
    assert cronjob["preconditions"]["all"][0]["key"] == (
        "{{ request.object.spec.jobTemplate.spec.template.spec.nodeName || '' }}"
    )


def test_cel_rules_rewrite_bare_object_paths():
    """CEL rules also rewrite `object.spec`, in expressions and preconditions."""
    cel = {"cel": {"expressions": [{"expression": "!has(object.spec.hostPID)"}]}}
    source = rule(
        validate=cel,
        celPreconditions=[{"name": "labelled", "expression": "has(object.metadata.labels)"}],
    )

    rules = generated(policy(source))

    controller, cronjob = rules["autogen-check"], rules["autogen-cronjob-check"]
    assert (
        controller["validate"]["cel"]["expressions"][0]["expression"]
        == "!has(object.spec.template.spec.hostPID)"
    )
    assert (
        controller["celPreconditions"][0]["expression"]
        == "has(object.spec.template.metadata.labels)"
    )
    assert cronjob["validate"]["cel"]["expressions"][0]["expression"] == (
        "!has(object.spec.jobTemplate.spec.template.spec.hostPID)"
    )


def test_non_cel_rules_keep_bare_object_paths():
    """Outside CEL rules only `request.object` paths are rewritten."""
    source = rule(
        celPreconditions=[{"name": "labelled", "expression": "has(object.metadata.labels)"}]
    )

    rules = generated(policy(source))

    assert (
        rules["autogen-check"]["celPreconditions"][0]["expression"] == "has(object.metadata.labels)"
    )


@pytest.mark.parametrize(
    ("validate", "expected"),
    [
        (
            {"message": "m", "anyPattern": [{"spec": {"a": 1}}, {"spec": {"b": 2}}]},
            {
                "message": "m",
                "anyPattern": [
                    {"spec": {"template": {"spec": {"a": 1}}}},
                    {"spec": {"template": {"spec": {"b": 2}}}},
                ],
            },
        ),
        (
            {
                "podSecurity": {
                    "level": "baseline",
                    "version": "latest",
                    "exclude": [{"controlName": "Capabilities"}],
                }
            },
            {
                "podSecurity": {
                    "level": "baseline",
                    "version": "latest",
                    "exclude": [{"controlName": "Capabilities"}],
                }
            },
        ),
        (
            {"message": "m", "foreach": [{"list": "request.object.spec.containers", "deny": {}}]},
            {
                "message": "m",
                "foreach": [{"list": "request.object.spec.template.spec.containers", "deny": {}}],
            },
        ),
        (
            {
                "message": "m",
                "allowExistingViolations": False,
                "pattern": {"metadata": {"labels": {"a": "?*"}}},
                "cel": {"expressions": []},
            },
            {
                "message": "m",
                "allowExistingViolations": False,
                "pattern": {"spec": {"template": {"metadata": {"labels": {"a": "?*"}}}}},
            },
        ),
    ],
)
def test_validate_kinds_are_rewritten(validate, expected):
    """Each validation kind keeps only the fields Kyverno copies."""
    rules = generated(policy(rule(validate=validate)), for_kind="Deployment")

    assert rules["autogen-check"]["validate"] == expected


@pytest.mark.parametrize(
    "source",
    [
        rule(validate={"message": "m", "manifests": {"attestors": []}}),
        rule(validate={"message": "only a message"}),
        {"name": "check", "match": PODS, "mutate": {"targets": [{"kind": "ConfigMap"}]}},
    ],
)
def test_rules_without_supported_content_are_not_generated(source):
    """Manifest checks and mutations other than merge patches stay on Pods."""
    assert generated(policy(source)) == {}


def test_mutations_nest_merge_patches():
    """Merge patches, alone or per foreach entry, move under the template."""
    patch = {"metadata": {"labels": {"+(team)": "shop"}}}
    single = {"name": "one", "match": PODS, "mutate": {"patchStrategicMerge": patch, "targets": []}}
    foreach = {
        "name": "many",
        "match": PODS,
        "mutate": {
            "foreach": [
                {
                    "list": "request.object.spec.containers",
                    "order": "Ascending",
                    "patchStrategicMerge": patch,
                }
            ]
        },
    }

    rules = generated(policy(single, foreach))

    assert rules["autogen-one"]["mutate"] == {"patchStrategicMerge": {"spec": {"template": patch}}}
    assert rules["autogen-cronjob-many"]["mutate"] == {
        "foreach": [
            {
                "list": "request.object.spec.jobTemplate.spec.template.spec.containers",
                "patchStrategicMerge": {"spec": {"jobTemplate": {"spec": {"template": patch}}}},
            }
        ]
    }


def test_verify_images_rules_are_copied():
    """Image verification rules apply unchanged to the controllers."""
    source = {
        "name": "signed",
        "match": PODS,
        "verifyImages": [{"imageReferences": ["*"]}],
        "imageExtractors": {},
    }

    rules = generated(policy(source))

    assert rules["autogen-signed"] == {
        "name": "autogen-signed",
        "match": {"any": [{"resources": {"kinds": ALL_CONTROLLER_KINDS}}]},
        "verifyImages": [{"imageReferences": ["*"]}],
    }


def test_long_names_are_cut_to_63_characters():
    """Kyverno truncates generated names to the Kubernetes name limit."""
    long_name = "x" * 60

    rules = generated(policy(rule(long_name)))

    assert list(rules) == ["autogen-" + "x" * 55, "autogen-cronjob-" + "x" * 47]


def test_written_autogen_rules_are_replaced():
    """Rules that look generated are dropped once autogen applies."""
    expanded = autogen.expand_rules(policy(rule(), rule("autogen-check")))

    assert names(expanded) == ["check", "autogen-check", "autogen-cronjob-check"]
    assert expanded[1].generated_for != ()


@pytest.mark.parametrize(
    ("for_kind", "expected"),
    [
        ("Deployment", ["check", "autogen-check"]),
        ("CronJob", ["check", "autogen-cronjob-check"]),
        ("Pod", ["check"]),
        ("Service", ["check"]),
    ],
)
def test_for_kind_generates_one_controller(for_kind, expected):
    """Kyverno's validation path generates only for the kind under admission."""
    expanded = autogen.expand_rules(policy(rule()), for_kind=for_kind)

    assert names(expanded) == expected


def test_message_references_follow_the_pattern():
    """`$(...)` references into the pattern are shifted under the template."""
    validate = {"message": "bad value $(./../pattern/spec/x)", "pattern": {"spec": {"x": 1}}}

    rules = generated(policy(rule(validate=validate)))

    assert (
        rules["autogen-check"]["validate"]["message"]
        == "bad value $(./../pattern/spec/template/spec/x)"
    )
    assert rules["autogen-cronjob-check"]["validate"]["message"] == (
        "bad value $(./../pattern/spec/jobTemplate/spec/template/spec/template/spec/x)"
    )


def test_written_rules_are_copies():
    """Callers may change the expanded rules without touching the policy."""
    document = policy(rule())

    autogen.expand_rules(document)[0].rule["match"]["any"].clear()

    assert document["spec"]["rules"][0]["match"] == PODS


def test_policy_without_rules_expands_to_nothing():
    """A malformed policy gives no rules rather than an exception."""
    assert autogen.expand_rules({"kind": "ClusterPolicy"}) == []
