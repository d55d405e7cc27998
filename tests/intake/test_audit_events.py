"""Audit events: denials, annotations, requesters and the requested object."""

from __future__ import annotations

from bot.intake import parse
from bot.intake.violations import ResourceRef
from tests.intake.conftest import keys, only


def _audit(**fields):
    return {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "verb": "create", **fields}


def test_audit_log_lines_give_denials_and_findings(fixture_text):
    """The denied create and the VAP audit count; the plain get does not."""
    records = parse(fixture_text("audit-log.jsonl"))

    assert [(r.engine, r.action, r.resource, r.requester) for r in records] == [
        ("kyverno", "deny", ResourceRef("Deployment", "shop", "web"), "dev@example.com"),
        ("vap", "audit", ResourceRef("Pod", "shop", "debug"), "ci-bot"),
    ]
    assert keys(records[0]) == {
        (
            "disallow-latest-tag",
            "autogen-validate-image-tag",
            "/spec/template/spec/containers/0/image/",
        )
    }


def test_denied_request_carries_the_requested_object():
    request = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
    record = only(
        parse(
            _audit(
                objectRef={"resource": "pods", "namespace": "shop"},
                user={"username": "alice"},
                responseStatus={
                    "code": 403,
                    "message": 'admission webhook "x.example.com" denied the request: no',
                },
                requestObject=request,
            )
        )
    )

    assert record.request_object == request
    assert record.resource == ResourceRef("Pod", "shop", "p")
    assert record.violations[0].requester == "alice"


def test_write_refused_by_a_builtin_plugin_is_a_generic_denial():
    record = only(
        parse(
            _audit(
                objectRef={"resource": "pods", "namespace": "shop", "name": "p"},
                responseStatus={"code": 403, "message": 'pods "p" is forbidden: exceeded quota'},
            )
        )
    )

    assert (record.engine, record.action) == ("webhook", "deny")


def test_authorization_refusal_is_not_an_admission_decision():
    record = only(
        parse(
            _audit(
                objectRef={"resource": "pods", "namespace": "shop"},
                responseStatus={
                    "code": 403,
                    "message": 'pods is forbidden: User "bob" cannot create resource "pods"',
                },
            )
        )
    )

    assert (record.engine, record.action, record.violations) == (None, "unknown", ())


def test_admitted_request_with_psa_annotation_is_audited():
    record = only(
        parse(
            _audit(
                objectRef={"resource": "deployments", "apiGroup": "apps", "namespace": "shop"},
                requestObject={"metadata": {"name": "web"}},
                responseStatus={"code": 201},
                annotations={
                    "pod-security.kubernetes.io/audit-violations": (
                        'would violate PodSecurity "restricted:latest": seccompProfile (pod or '
                        'container "web" must set securityContext.seccompProfile.type)'
                    ),
                    "pod-security.kubernetes.io/enforce-policy": "privileged:latest",
                },
            )
        )
    )

    assert (record.engine, record.action, record.resource) == (
        "psa",
        "audit",
        ResourceRef("Deployment", "shop", "web"),
    )


def test_audit_event_list_is_read_item_by_item():
    items = [
        _audit(
            objectRef={"resource": "pods", "name": name},
            responseStatus={
                "code": 403,
                "message": f'admission webhook "w" denied the request: {name}',
            },
        )
        for name in ("a", "b")
    ]

    records = parse({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": items})

    assert [r.resource.name for r in records] == ["a", "b"]
