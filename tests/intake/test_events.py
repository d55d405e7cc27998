"""Events that report rejections: as objects, lists and table rows."""

from __future__ import annotations

import yaml

from bot.intake import events, parse
from bot.intake.violations import ResourceRef
from tests.intake.conftest import keys, only


def _event(**fields):
    return {"apiVersion": "v1", "kind": "Event", "type": "Warning", **fields}


def test_failed_create_events_name_the_pod_not_the_controller(fixture_text):
    """The list's PSA and Gatekeeper FailedCreates count; the SuccessfulCreate does not."""
    records = parse(fixture_text("replicaset-events.yaml"))

    assert [(r.engine, r.action, r.resource) for r in records] == [
        ("psa", "deny", ResourceRef("Pod", None, "web-5d9c7-x2k4p")),
        ("gatekeeper", "deny", ResourceRef()),
    ]
    assert [(v.rule, v.containers) for v in records[0].violations] == [
        ("host namespaces", ()),
        ("privileged", ("web", "metrics")),
    ]


def test_failed_create_of_an_unknown_kind_is_a_generic_denial():
    """Quota and other built-in plugins name no engine: a generic webhook denial."""
    record = only(
        parse(
            _event(
                reason="FailedCreate",
                involvedObject={"kind": "ReplicaSet", "name": "web-1"},
                message='Error creating: pods "web-1-x" is forbidden: exceeded quota: compute',
            )
        )
    )

    assert (record.engine, record.action, record.resource) == (
        "webhook",
        "deny",
        ResourceRef("Pod", None, "web-1-x"),
    )


def test_failed_create_wrapping_kyverno_keeps_the_policy_header():
    message = (
        'Error creating: admission webhook "validate.kyverno.svc-fail" denied the request: \n\n'
        "resource Pod/shop/web-x was blocked due to the following policies \n\n"
        "require-labels:\n  autogen-check-labels: 'validation error: x. rule "
        "autogen-check-labels failed at path /metadata/labels/'"
    )

    record = only(parse(_event(reason="FailedCreate", message=message, source={})))

    assert (record.engine, record.resource) == ("kyverno", ResourceRef("Pod", "shop", "web-x"))
    assert keys(record) == {("require-labels", "autogen-check-labels", "/metadata/labels/")}


def test_kyverno_event_on_the_policy_reads_resource_and_rule():
    record = only(
        parse(
            _event(
                reason="PolicyViolation",
                reportingComponent="kyverno-admission",
                involvedObject={
                    "apiVersion": "kyverno.io/v1",
                    "kind": "ClusterPolicy",
                    "name": "p",
                },
                message="Deployment shop/web: [autogen-r] fail (blocked); validation error: x",
            )
        )
    )

    assert (record.action, record.resource, keys(record)) == (
        "deny",
        ResourceRef("Deployment", "shop", "web"),
        {("p", "autogen-r", None)},
    )


def test_kyverno_warn_status_is_a_warning():
    record = only(
        parse(
            _event(
                reason="PolicyViolation",
                involvedObject={"kind": "ClusterPolicy", "name": "p"},
                message="Pod shop/web: [r] warn; careful",
            )
        )
    )

    assert record.action == "warn"


def test_kyverno_background_scan_is_an_audit_finding():
    record = only(
        parse(
            _event(
                reason="PolicyViolation",
                source={"component": "kyverno-scan"},
                involvedObject={"kind": "Pod", "namespace": "shop", "name": "web"},
                message="policy p/r fail: validation error: x. rule r failed at path /spec/a/",
            )
        )
    )

    assert (record.action, record.resource, keys(record)) == (
        "audit",
        ResourceRef("Pod", "shop", "web"),
        {("p", "r", "/spec/a/")},
    )


def test_kyverno_legacy_policy_event_lists_its_rules():
    """Kyverno 1.6 named failed rules in quotes, comma-separated."""
    record = only(
        parse(
            _event(
                reason="PolicyViolation",
                source={"component": "admission-controller"},
                involvedObject={"kind": "ClusterPolicy", "name": "p"},
                message="Rule(s) 'r1,r2' failed to apply on resource Pod/shop/web",
            )
        )
    )

    assert (record.resource, keys(record)) == (
        ResourceRef("Pod", "shop", "web"),
        {("p", "r1", None), ("p", "r2", None)},
    )


def test_kyverno_policy_applied_violates_nothing():
    record = only(
        parse(_event(reason="PolicyApplied", involvedObject={"kind": "ClusterPolicy", "name": "p"}))
    )

    assert (record.engine, record.violations) == ("kyverno", ())


def test_gatekeeper_annotations_win_over_the_involved_object():
    """The involved object may sit in Gatekeeper's namespace; annotations know better."""
    record = only(
        parse(
            _event(
                reason="FailedAdmission",
                involvedObject={"kind": "Pod", "name": "p", "namespace": "gatekeeper-system"},
                message=(
                    'Admission webhook "validation.gatekeeper.sh" denied request, Resource '
                    "Namespace: shop, Constraint: c, Message: m"
                ),
                metadata={
                    "annotations": {
                        "constraint_name": "c",
                        "constraint_kind": "K8sAllowedRepos",
                        "request_username": "alice",
                    }
                },
            )
        )
    )

    assert (record.action, record.resource, record.requester, keys(record)) == (
        "deny",
        ResourceRef("Pod", "shop", "p"),
        "alice",
        {("c", "K8sAllowedRepos", None)},
    )


def test_events_api_events_are_read_too():
    """events.k8s.io/v1 says note, regarding and reportingController."""
    record = only(
        parse(
            {
                "apiVersion": "events.k8s.io/v1",
                "kind": "Event",
                "reason": "PolicyViolation",
                "reportingController": "kyverno-scan",
                "regarding": {"kind": "Pod", "namespace": "shop", "name": "web"},
                "note": "policy p/r fail: bad",
            }
        )
    )

    assert (record.action, record.resource, keys(record)) == (
        "audit",
        ResourceRef("Pod", "shop", "web"),
        {("p", "r", None)},
    )


def test_unrelated_event_yields_an_empty_record():
    record = only(parse(_event(reason="BackOff", involvedObject={"kind": "Pod"}, message="x")))

    assert (record.engine, record.violations) == (None, ())


def test_describe_rows_keep_reason_source_and_message():
    row = events.parse_row(
        "  Warning  FailedCreate  3m (x17 over 8m)  replicaset-controller  Error creating: x"
    )

    assert row is not None
    assert (row.reason, row.source, row.message) == (
        "FailedCreate",
        "replicaset-controller",
        "Error creating: x",
    )


def test_get_events_rows_keep_the_object():
    row = events.parse_row(
        "shop   2m   Warning   FailedAdmission   pod/web   (combined from similar events): m"
    )

    assert row is not None
    assert (row.involved, row.message) == (ResourceRef("Pod", "shop", "web"), "m")


def test_rows_of_unrelated_events_are_skipped():
    text = (
        "Events:\n  Type    Reason     Age   From               Message\n"
        "  ----    ------     ----  ----               -------\n"
        "  Normal  Scheduled  10s   default-scheduler  Successfully assigned shop/web to n1\n"
        '  Warning  FailedCreate  9s  job-controller  Error creating: pods "j-1" is forbidden: '
        'violates PodSecurity "baseline:latest": privileged (container "j" must not set '
        "securityContext.privileged=true)\n"
    )

    record = only(parse(text))

    assert (record.engine, record.resource) == ("psa", ResourceRef("Pod", None, "j-1"))


def test_event_list_yaml_round_trips(fixture_text):
    """The same list as an already decoded object gives the same records."""
    decoded = yaml.safe_load(fixture_text("replicaset-events.yaml"))

    assert parse(decoded) == parse(fixture_text("replicaset-events.yaml"))
