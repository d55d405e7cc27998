"""The wrapping kubectl, controllers and the API server put around denials."""

from __future__ import annotations

import pytest

from bot.intake import parse, webhook_messages
from bot.intake.violations import ResourceRef
from tests.intake.conftest import keys, only

ANSWER = 'admission webhook "images.example.com" denied the request: registry not allowed'


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "Error from server: ",
        "Error from server (Forbidden): ",
        'Error from server (Forbidden): error when creating "d.yaml": ',
        'Error from server (Forbidden): error when applying patch: "d.yaml": ',
        "error: failed to create deployment: ",
        "Error creating: ",
        "  Warning  FailedCreate  3s (x4 over 9s)  replicaset-controller  Error creating: ",
    ],
)
def test_every_prefix_leaves_the_same_denial(prefix):
    """However it is wrapped, a generic webhook denial is one violation named after it."""
    record = only(parse(prefix + ANSWER))

    assert (record.engine, record.action) == ("webhook", "deny")
    assert keys(record) == {("images.example.com", None, None)}
    assert record.violations[0].message == "registry not allowed"


def test_denial_without_explanation_still_names_the_webhook():
    record = only(parse('admission webhook "x.example.com" denied the request without explanation'))

    assert keys(record) == {("x.example.com", None, None)}


def test_field_error_answer_keeps_its_path():
    record = only(
        parse(
            'admission webhook "x.example.com" denied the request: '
            "spec.replicas: Invalid value: 12: must be at most 5"
        )
    )

    assert keys(record) == {("x.example.com", None, "spec.replicas")}


def test_unreachable_webhook_denies_without_violations():
    record = only(
        parse(
            'Error from server (InternalError): error when creating "p.yaml": Internal error '
            'occurred: failed calling webhook "x.example.com": failed to call webhook: Post '
            '"https://x.svc:443/validate": context deadline exceeded'
        )
    )

    assert (record.engine, record.action, record.violations) == ("webhook", "deny", ())
    assert "context deadline exceeded" in record.detail


def test_unreachable_kyverno_webhook_is_kyverno():
    envelope = webhook_messages.unwrap('failed calling webhook "validate.kyverno.svc-fail": eof')

    assert webhook_messages.call_failure(envelope).engine == "kyverno"


def test_failed_match_condition_denies_without_violations():
    record = only(
        parse(
            'Error from server (Forbidden): pods "p" is forbidden: expression '
            "'object.metadata.labels.team == \"a\"' resulted in error: no such key: team"
        )
    )

    assert (record.engine, record.action, record.resource, record.violations) == (
        "webhook",
        "deny",
        ResourceRef("Pod", None, "p"),
        (),
    )


def test_statefulset_event_names_the_pod():
    envelope = webhook_messages.unwrap(
        'create Pod web-0 in StatefulSet web failed error: pods "web-0" is forbidden: x'
    )

    assert envelope.resource == ResourceRef("Pod", None, "web-0")


def test_invalid_object_keeps_the_printed_field():
    record = only(parse('The Pod "p" is invalid: spec.containers[0].image: Required value'))

    assert (record.resource, keys(record)) == (
        ResourceRef("Pod", None, "p"),
        {(None, None, "spec.containers[0].image")},
    )


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        (
            '[spec.a[0].b: Invalid value: "x": must be y, metadata.labels[app]: Required value]',
            [
                ("spec.a[0].b", 'spec.a[0].b: Invalid value: "x": must be y'),
                ("metadata.labels[app]", "metadata.labels[app]: Required value"),
            ],
        ),
        (
            "* spec.x: Forbidden: no\n* spec.y: Too long: 5",
            [("spec.x", "spec.x: Forbidden: no"), ("spec.y", "spec.y: Too long: 5")],
        ),
        ("my.registry/nginx: image is not allowed", []),
    ],
)
def test_field_errors_need_a_kubernetes_error_type(text, errors):
    """Only a real error type makes the text before the colon a field path."""
    assert webhook_messages.field_errors(text) == errors


def test_long_answers_are_clipped():
    record = only(parse('admission webhook "x" denied the request: ' + "a" * 10_000))

    assert len(record.violations[0].message) == webhook_messages.MESSAGE_LIMIT


@pytest.mark.parametrize(
    ("body", "rbac"),
    [
        ('User "bob" cannot create resource "pods" in API group ""', True),
        ("exceeded quota: compute, requested: cpu=2", False),
    ],
)
def test_authorization_refusals_are_told_apart(body, rbac):
    assert webhook_messages.is_rbac_denial(body) is rbac
