"""Kyverno's denials across releases, its rule messages, warnings and own webhooks."""

from __future__ import annotations

import pytest

from bot.intake import kyverno_messages, parse
from bot.intake.violations import ResourceRef
from tests.intake.conftest import keys, only

BODY = """
require-labels:
  check-for-labels: 'validation error: label app is required. rule check-for-labels
    failed at path /metadata/labels/app/'
  check-team: 'validation error: label team is required. rule check-team failed at path
    /metadata/labels/team/'
disallow-latest-tag:
  validate-image-tag: 'validation error: no latest. rule validate-image-tag failed at path
    /spec/containers/0/image/'
"""


@pytest.mark.parametrize(
    "header",
    [
        "resource Pod/shop/web was blocked due to the following policies",
        "resource Pod/shop/web was blocked due to the following policies ",
        "policy Pod/shop/web for resource violation: ",
        "policy Pod/shop/web for resource error: ",
        "policy Pod/shop/web for resource violations: ",
    ],
)
def test_every_release_header_names_the_resource(header):
    """1.4-1.7, 1.8-1.9 (violation or error) and 1.10+ headers read alike."""
    record = kyverno_messages.parse_blocked(f"\n\n{header}\n\n{BODY}")

    assert record is not None
    assert record.resource == ResourceRef("Pod", "shop", "web")
    assert keys(record) == {
        ("require-labels", "check-for-labels", "/metadata/labels/app/"),
        ("require-labels", "check-team", "/metadata/labels/team/"),
        ("disallow-latest-tag", "validate-image-tag", "/spec/containers/0/image/"),
    }


def test_folded_messages_are_joined_into_one_line():
    """YAML folding inside a rule message does not leave line breaks behind."""
    record = kyverno_messages.parse_blocked(
        "resource Pod/shop/web was blocked due to the following policies\n" + BODY
    )

    assert record is not None
    assert "\n" not in record.violations[0].message


def test_any_pattern_alternatives_are_one_violation():
    """rule[0] and rule[1] are the alternatives of one rule; the first path is kept."""
    record = parse(
        "validation error: Requests are required. rule require[0] failed at path "
        "/spec/containers/0/resources/requests/ rule require[1] failed at path "
        "/spec/containers/0/resources/limits/"
    )

    assert keys(only(record)) == {(None, "require", "/spec/containers/0/resources/requests/")}


def test_mangled_yaml_is_read_line_by_line():
    """An unbalanced quote (a hand-edited paste) still yields each policy and rule."""
    body = (
        "resource Deployment/shop/web was blocked due to the following policies\n\n"
        "pol-a:\n  rule-a: 'it's broken. rule rule-a failed at path /spec/a/'\n"
        "pol-b:\n  autogen-rule-b: 'validation error: rule autogen-rule-b failed'\n"
    )

    record = kyverno_messages.parse_blocked(body)

    assert record is not None
    assert keys(record) == {("pol-a", "rule-a", "/spec/a/"), ("pol-b", "autogen-rule-b", None)}


def test_podsecurity_rule_names_containers_without_a_path():
    """Kyverno 1.8's Go struct format prints container names but no field."""
    message = (
        "Validation rule 'baseline' failed. It violates PodSecurity \"baseline:latest\": "
        '({Allowed:false ForbiddenReason:privileged ForbiddenDetail:containers "a", "b" '
        "must not set securityContext.privileged=true})"
    )

    violation = kyverno_messages.rule_violation("psa", "baseline", message)

    assert (violation.path, violation.containers) == (None, ("a", "b"))


def test_podsecurity_rule_points_at_the_first_field_error():
    """Kyverno 1.12's field error list gives the path of the first error."""
    message = (
        "Validation rule 'restricted' failed. It violates PodSecurity \"restricted:latest\": "
        "(Forbidden reason: allowPrivilegeEscalation != false, field error list: "
        "[spec.containers[1].securityContext.allowPrivilegeEscalation: Required value])"
    )

    violation = kyverno_messages.rule_violation("psa", "restricted", message)

    assert violation.path == "spec.containers[1].securityContext.allowPrivilegeEscalation"


def test_validating_policies_are_named_one_by_one():
    """The one-line ValidatingPolicy answer names each policy, never a rule."""
    record = kyverno_messages.parse_webhook_answer(
        "Policy check-labels failed: labels missing Policy check-image failed: bad image"
    )

    assert keys(record) == {("check-labels", None, None), ("check-image", None, None)}
    assert record.violations[1].message == "bad image"


def test_own_validation_gives_one_violation_per_field():
    """A rejected policy object lists field errors, no policy rule."""
    record = kyverno_messages.parse_webhook_answer(
        "spec.rules[0].match: Required value: a match is required, "
        'spec.rules[1].validate.pattern: Invalid value: "x": must be an object'
    )

    assert keys(record) == {
        (None, None, "spec.rules[0].match"),
        (None, None, "spec.rules[1].validate.pattern"),
    }


def test_own_validation_in_prose_is_one_violation():
    """Without field errors the whole answer is a single nameless violation."""
    record = kyverno_messages.parse_webhook_answer("cleanup controller has no permission")

    assert keys(record) == {(None, None, None)}
    assert record.violations[0].message == "cleanup controller has no permission"


def test_audit_rule_warning_names_policy_and_rule():
    """`policy p.r: message` is a warning of an Audit rule with emitWarning."""
    record = kyverno_messages.parse_warning(
        "policy require-labels.check-for-labels: validation error: label app is required. "
        "rule check-for-labels failed at path /metadata/labels/app/"
    )

    assert record is not None
    assert record.action == "warn"
    assert keys(record) == {("require-labels", "check-for-labels", "/metadata/labels/app/")}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("validation error: x. Rule a failed at path /spec/a/", {(None, "a", "/spec/a/")}),
        ("validation error: rule autogen-cronjob-a failed", {(None, "autogen-cronjob-a", None)}),
        ("validation failure: nothing to see", None),
    ],
)
def test_bare_rule_messages_name_the_rule_only(text, expected):
    """A rule message found on its own has no policy and no resource."""
    record = kyverno_messages.parse_rule_messages(text)

    assert (keys(record) if record else None) == expected


def test_event_resource_reads_both_scopes():
    """`Kind ns/name` and `Kind name` (cluster-scoped) as Kyverno events print them."""
    assert kyverno_messages.resource_of_event("Pod shop/web") == ResourceRef("Pod", "shop", "web")
    assert kyverno_messages.resource_of_event("Namespace prod") == ResourceRef(
        "Namespace", None, "prod"
    )
