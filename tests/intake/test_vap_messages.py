"""ValidatingAdmissionPolicy denials, warnings and audit annotations."""

from __future__ import annotations

import json

import pytest

from bot.intake import parse, vap_messages
from bot.intake.violations import ResourceRef
from tests.intake.conftest import keys, only


@pytest.mark.parametrize(
    ("text", "resource"),
    [
        (
            'error: failed to create deployment: deployments.apps "web" is forbidden: '
            "ValidatingAdmissionPolicy 'p.example.com' with binding 'b' denied request: no",
            ResourceRef("Deployment", None, "web"),
        ),
        (
            "The deployments \"web\" is invalid: : ValidatingAdmissionPolicy 'p.example.com' "
            "with binding 'b' denied request: no",
            ResourceRef("Deployment", None, "web"),
        ),
        (
            'Error from server (Invalid): error when creating "d.yaml": deployments.apps '
            "\"web\" is invalid: : ValidatingAdmissionPolicy 'p.example.com' with binding 'b' "
            "denied request: no",
            ResourceRef("Deployment", None, "web"),
        ),
    ],
)
def test_denial_names_policy_binding_and_object(text, resource):
    """Forbidden and Invalid statuses, with or without kubectl's prefixes."""
    record = only(parse(text))

    assert (record.engine, record.action, record.resource) == ("vap", "deny", resource)
    assert keys(record) == {("p.example.com", "b", None)}
    assert record.violations[0].message == "no"


def test_policy_without_binding_has_no_rule():
    record = vap_messages.parse("ValidatingAdmissionPolicy 'p' denied request: no")

    assert record is not None
    assert keys(record) == {("p", None, None)}


def test_warnings_of_one_binding_are_one_violation():
    text = "\n".join(
        f"Warning: Validation failed for ValidatingAdmissionPolicy 'p' with binding 'b': m{i}"
        for i in range(3)
    )

    record = only(parse(text + "\npod/x created"))

    assert (record.action, record.resource, keys(record)) == (
        "warn",
        ResourceRef("Pod", None, "x"),
        {("p", "b", None)},
    )


def test_annotation_records_group_by_action():
    """Deny wins over Warn and Audit; Audit alone was only recorded."""
    value = json.dumps(
        [
            {"message": "a", "policy": "p1", "binding": "b1", "validationActions": ["Audit"]},
            {"message": "b", "policy": "p2", "binding": "b2", "validationActions": ["Warn"]},
            {"message": "c", "policy": "p3", "binding": "b3", "validationActions": ["Deny"]},
        ]
    )

    records = vap_messages.from_annotation(value)

    assert [(r.action, keys(r)) for r in records] == [
        ("audit", {("p1", "b1", None)}),
        ("warn", {("p2", "b2", None)}),
        ("deny", {("p3", "b3", None)}),
    ]


def test_broken_annotation_is_read_field_by_field():
    """The docs' own example is not JSON; its fields are still clear."""
    records = vap_messages.from_annotation(
        '[{"message": "Invalid value", {"policy": "p", {"binding": "b", '
        '{"expressionIndex": "1", {"validationActions": ["Audit"]}]'
    )

    assert [(r.action, keys(r)) for r in records] == [("audit", {("p", "b", None)})]


def test_annotation_of_a_single_object_is_accepted():
    records = vap_messages.from_annotation(
        '{"policy": "p", "binding": "b", "message": "m", "validationActions": ["Warn"]}'
    )

    assert [(r.action, keys(r)) for r in records] == [("warn", {("p", "b", None)})]


def test_policy_audit_annotations_are_not_verdicts():
    """`<policy>/<key>` annotations are the policy's own notes, not failures."""
    record = only(
        parse(
            {
                "kind": "Event",
                "apiVersion": "audit.k8s.io/v1",
                "annotations": {"p.example.com/high-replicas": "replicas set to 128"},
            }
        )
    )

    assert (record.engine, record.violations) == (None, ())
