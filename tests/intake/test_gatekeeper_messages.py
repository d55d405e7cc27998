"""Gatekeeper's denials, warnings, events, constraint status and logs."""

from __future__ import annotations

from bot.intake import gatekeeper_messages, parse
from bot.intake.violations import ResourceRef
from tests.intake.conftest import keys, only


def test_one_violation_per_constraint_line():
    """Several constraints are joined by newlines; brackets inside messages stay."""
    record = gatekeeper_messages.parse_denial(
        '[repo-allowed] container <a> has an invalid image repo <x>, allowed repos are ["y"]\n'
        "[denied by must-have-limits] container <a> has no resource limits"
    )

    assert keys(record) == {("repo-allowed", None, None), ("must-have-limits", None, None)}
    assert record.violations[0].message.endswith('allowed repos are ["y"]')


def test_message_printed_twice_is_one_violation():
    """Before v3.8 kubectl repeated the answer as the status reason."""
    text = (
        'Error from server ([ns-owner] you must provide labels: {"owner"}): admission webhook '
        '"validation.gatekeeper.sh" denied the request: [ns-owner] you must provide labels: '
        '{"owner"}'
    )

    record = only(parse(text))

    assert (record.engine, record.action, keys(record)) == (
        "gatekeeper",
        "deny",
        {("ns-owner", None, None)},
    )


def test_legacy_json_answer_names_the_violation_id():
    """Gatekeeper v2 answered with a JSON list of {id, message}, often cut off."""
    record = gatekeeper_messages.parse_denial('[\n  {\n    "id": "host-conflict",\n')

    assert keys(record) == {("host-conflict", None, None)}


def test_unknown_answer_is_still_one_violation():
    record = gatekeeper_messages.parse_denial("something unexpected")

    assert keys(record) == {(None, None, None)}


def test_warning_names_the_constraint():
    record = gatekeeper_messages.parse_warning("[prod-repos] container <a> uses <b>")

    assert record is not None
    assert (record.action, keys(record)) == ("warn", {("prod-repos", None, None)})


def test_event_message_gives_action_and_namespace():
    """The lead of an event message tells the verdict; an empty namespace is None."""
    found = gatekeeper_messages.parse_event_message(
        'Admission webhook "validation.gatekeeper.sh" raised a warning for this request, '
        "Resource Namespace: , Constraint: c1, Message: m"
    )

    assert found is not None
    action, resource, violation = found
    assert (action, resource.namespace, violation.policy, violation.message) == (
        "warn",
        None,
        "c1",
        "m",
    )


CONSTRAINT = {
    "apiVersion": "constraints.gatekeeper.sh/v1beta1",
    "kind": "K8sRequiredLabels",
    "metadata": {"name": "must-have-owner"},
    "spec": {"enforcementAction": "warn"},
    "status": {
        "violations": [
            {"kind": "Deployment", "namespace": "shop", "name": "web", "message": "m1"},
            {"kind": "Namespace", "name": "shop", "message": "m2"},
        ]
    },
}


def test_constraint_status_gives_one_audit_record_per_object():
    """Audit results are findings whatever the constraint enforces."""
    records = parse(CONSTRAINT)

    assert [(r.action, r.resource) for r in records] == [
        ("audit", ResourceRef("Deployment", "shop", "web")),
        ("audit", ResourceRef("Namespace", None, "shop")),
    ]
    assert keys(records[0]) == {("must-have-owner", "K8sRequiredLabels", None)}


def test_constraint_without_violations_reports_nothing_violated():
    record = only(parse({**CONSTRAINT, "status": {"totalViolations": 0}}))

    assert (record.engine, record.violations) == ("gatekeeper", ())


def test_constraint_manifest_without_status_is_not_a_report():
    """A constraint as written by its author holds no verdict at all."""
    manifest = {key: value for key, value in CONSTRAINT.items() if key != "status"}

    record = only(parse(manifest))

    assert record.engine == "webhook"


def test_webhook_log_line_takes_the_enforcement_action_and_user():
    """Admission log lines are verdicts on requests, with the requesting user."""
    record = only(
        parse(
            {
                "process": "admission",
                "event_type": "violation",
                "constraint_name": "c1",
                "constraint_kind": "K8sAllowedRepos",
                "constraint_action": "warn",
                "resource_kind": "Pod",
                "resource_namespace": "",
                "resource_name": "p",
                "request_username": "alice",
                "msg": "bad repo",
            }
        )
    )

    assert (record.action, record.requester, record.resource) == (
        "warn",
        "alice",
        ResourceRef("Pod", None, "p"),
    )


def test_export_message_is_an_audit_finding():
    record = only(
        parse(
            '{"eventType":"violation_audited","kind":"K8sRequiredLabels","name":"c2",'
            '"message":"m","enforcementAction":"deny","resourceKind":"Pod",'
            '"resourceNamespace":"ns","resourceName":"p"}'
        )
    )

    assert (record.action, keys(record)) == ("audit", {("c2", "K8sRequiredLabels", None)})
