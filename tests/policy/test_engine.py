"""Evaluating a policy on a request: results, actions, scoring, old objects."""

import pytest

from bot.policy import documents, engine, policies
from bot.policy.policies import Rule
from bot.policy.requests import AdmissionRequest
from bot.policy.resources import ResourceRef

NEEDS_TEAM = {"metadata": {"labels": {"team": "?*"}}}
PODS = {"any": [{"resources": {"kinds": ["Pod"]}}]}


def _pod(namespace="apps", **labels):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": namespace, "labels": labels or {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]},
    }


def _rule(name="needs-team", match=PODS, pattern=NEEDS_TEAM, **validate):
    return {
        "name": name,
        "match": match,
        "validate": {"message": "A team label is required.", "pattern": pattern, **validate},
    }


def _policy(*rules, action=None, annotations=None, **spec):
    metadata = {"name": "pol"}
    if annotations:
        metadata["annotations"] = annotations
    if action:
        spec["validationFailureAction"] = action
    content = {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": metadata,
        "spec": {"rules": list(rules or [_rule()]), **spec},
    }
    return policies.from_document(documents.Document("policy.yaml", 1, content))


def _statuses(policy, request, inputs=engine.NO_INPUTS):
    return [(r.rule, r.status) for r in engine.evaluate(policy, request, inputs)]


def test_result_names_policy_rule_and_resource():
    """A result carries what a policy report needs about the verdict."""
    [result] = engine.evaluate(_policy(), AdmissionRequest(object=_pod()))

    assert (result.policy, result.rule, result.base_rule) == ("pol", "needs-team", "needs-team")
    assert result.resource == ResourceRef("Pod", "apps", "web", "v1")
    assert (result.status, result.action, result.policy_namespace) == ("fail", "audit", "")
    assert result.path == "/metadata/labels/team/"
    assert result.message.startswith("validation error: A team label is required. rule needs-team")
    assert result.blocks is False


def test_unselected_and_non_validate_rules_are_silent():
    """Rules that do not select the request, or do not validate, give no result."""
    deployments = {"any": [{"resources": {"kinds": ["Deployment"]}}]}
    mutate = {"name": "add-label", "match": PODS, "mutate": {"patchStrategicMerge": {}}}
    policy = _policy(_rule("other", match=deployments), mutate)

    results = engine.evaluate(policy, AdmissionRequest(object=_pod()))

    assert results == []


def test_rule_values_override_resource_values():
    """A rule sees resource values, with its own rule values winning."""
    inputs = engine.Inputs(
        resource_values={"a": 1, "b": 1},
        rule_values={"needs-team": {"b": 2}, "other": {"c": 3}},
    )
    generated = Rule(name="autogen-needs-team", base_name="needs-team", raw={})

    values = inputs.for_rule(generated).values

    assert values == {"a": 1, "b": 2}


def test_inputs_reach_the_rule():
    """Values given to evaluate are visible to the rule's variables."""
    rule = _rule(pattern={"metadata": {"labels": {"app": "{{ wanted }}"}}})
    inputs = engine.Inputs(rule_values={"needs-team": {"wanted": "web"}})

    statuses = _statuses(_policy(rule), AdmissionRequest(object=_pod()), inputs)

    assert statuses == [("needs-team", "pass")]


OVERRIDE_APPS = [{"action": "Enforce", "namespaces": ["ap*"]}]


@pytest.mark.parametrize(
    ("action", "rule_action", "overrides", "expected"),
    [
        (None, None, None, "audit"),
        ("Audit", None, None, "audit"),
        ("Enforce", None, None, "enforce"),
        ("enforce", None, None, "enforce"),
        ("Audit", "Enforce", None, "enforce"),
        ("Enforce", "Audit", None, "audit"),
        ("Audit", None, OVERRIDE_APPS, "enforce"),
        ("Audit", None, [{"action": "Enforce", "namespaces": ["prod"]}], "audit"),
        ("Enforce", None, [{"action": "Audit", "namespaces": ["apps"]}], "audit"),
        ("Audit", "Audit", OVERRIDE_APPS, "audit"),
    ],
)
def test_enforcement_precedence(action, rule_action, overrides, expected):
    """Rule failureAction beats namespace overrides, which beat the policy action."""
    validate = {"failureAction": rule_action} if rule_action else {}
    spec = {"validationFailureActionOverrides": overrides} if overrides else {}
    policy = _policy(_rule(**validate), action=action, **spec)

    [result] = engine.evaluate(policy, AdmissionRequest(object=_pod()))

    assert result.action == expected
    assert result.blocks is (expected == "enforce")


def test_rule_level_override_applies():
    """validate.failureActionOverrides picks the action per namespace for one rule."""
    rule = _rule(failureAction="Audit", failureActionOverrides=OVERRIDE_APPS)

    [result] = engine.evaluate(_policy(rule), AdmissionRequest(object=_pod()))

    assert result.action == "enforce"


def test_override_without_namespaces_applies_everywhere():
    """An override that lists no namespaces covers them all."""
    policy = _policy(action="Audit", validationFailureActionOverrides=[{"action": "Enforce"}])

    [result] = engine.evaluate(policy, AdmissionRequest(object=_pod()))

    assert result.action == "enforce"


@pytest.mark.parametrize(
    ("annotations", "pod", "expected"),
    [
        ({"policies.kyverno.io/scored": "false"}, _pod(), "warn"),
        ({"policies.kyverno.io/scored": "false"}, _pod(team="a"), "pass"),
        ({"policies.kyverno.io/scored": "true"}, _pod(), "fail"),
        (None, _pod(), "fail"),
    ],
)
def test_unscored_policy_warns_instead_of_failing(annotations, pod, expected):
    """scored=false turns failures, and only failures, into warnings."""
    policy = _policy(action="Enforce", annotations=annotations)

    [result] = engine.evaluate(policy, AdmissionRequest(object=pod))

    assert result.status == expected
    assert result.blocks is (expected == "fail")


PRE_EXISTING = "skipping the rule evaluation as pre-existing violations are allowed"


@pytest.mark.parametrize(
    ("operation", "old", "action", "validate", "expected"),
    [
        ("UPDATE", _pod(), "Enforce", {}, ("skip", PRE_EXISTING)),
        ("UPDATE", _pod(), "Enforce", {"allowExistingViolations": True}, ("skip", PRE_EXISTING)),
        ("UPDATE", _pod(team="a"), "Enforce", {}, ("fail", None)),
        ("UPDATE", _pod(), "Enforce", {"allowExistingViolations": False}, ("fail", None)),
        ("UPDATE", _pod(), "Audit", {}, ("fail", None)),
        ("UPDATE", _pod(), "Audit", {"failureAction": "Enforce"}, ("skip", PRE_EXISTING)),
        ("CREATE", None, "Enforce", {}, ("fail", None)),
    ],
)
def test_existing_violations_are_allowed_on_update(operation, old, action, validate, expected):
    """An enforced UPDATE that keeps a violation the old object had is a skip."""
    policy = _policy(_rule(**validate), action=action)
    request = AdmissionRequest(object=_pod(), operation=operation, old_object=old)

    [result] = engine.evaluate(policy, request)

    status, message = expected
    assert result.status == status
    assert message is None or result.message == message


def test_old_object_outside_the_rule_is_not_excused():
    """If the rule would not have selected the old object, the failure stands."""
    labelled = {
        "any": [{"resources": {"kinds": ["Pod"], "selector": {"matchLabels": {"app": "web"}}}}]
    }
    policy = _policy(_rule(match=labelled), action="Enforce")
    request = AdmissionRequest(object=_pod(), operation="UPDATE", old_object=_pod(app="db"))

    [result] = engine.evaluate(policy, request)

    assert result.status == "fail"


def test_existing_violation_check_ignores_overrides():
    """An Enforce policy audited in one namespace still excuses old violations there."""
    overrides = [{"action": "Audit", "namespaces": ["apps"]}]
    policy = _policy(action="Enforce", validationFailureActionOverrides=overrides)
    request = AdmissionRequest(object=_pod(), operation="UPDATE", old_object=_pod())

    [result] = engine.evaluate(policy, request)

    assert result.status == "skip"


def test_apply_one_stops_after_first_applied_rule():
    """applyRules One reports only the first rule that passed or failed."""
    policy = _policy(_rule("first"), _rule("second"), applyRules="One")

    statuses = _statuses(policy, AdmissionRequest(object=_pod()))

    assert statuses == [("first", "fail")]


def test_apply_all_reports_every_rule():
    """By default every selecting rule is reported."""
    policy = _policy(_rule("first"), _rule("second", pattern={"metadata": {"name": "web"}}))

    statuses = _statuses(policy, AdmissionRequest(object=_pod()))

    assert statuses == [("first", "fail"), ("second", "pass")]


def test_apply_one_continues_past_skips():
    """A skipped first rule does not end an applyRules One policy."""
    never = {"all": [{"key": "{{ request.operation }}", "operator": "Equals", "value": "DELETE"}]}
    first = {**_rule("first"), "preconditions": never}
    policy = _policy(first, _rule("second"), applyRules="One")

    statuses = _statuses(policy, AdmissionRequest(object=_pod()))

    assert statuses == [("first", "skip"), ("second", "fail")]


def test_evaluate_all_concatenates_policies():
    """evaluate_all runs each policy in turn."""
    other = _policy(_rule("other", pattern={"metadata": {"name": "web"}}))

    results = engine.evaluate_all([_policy(), other], AdmissionRequest(object=_pod()))

    assert [(r.rule, r.status) for r in results] == [("needs-team", "fail"), ("other", "pass")]
