"""Policy reports and their fragments."""

from __future__ import annotations

from bot.intake import parse
from bot.intake.violations import ResourceRef
from tests.intake.conftest import keys, only

RESULT = {
    "policy": "require-labels",
    "rule": "check-labels",
    "result": "fail",
    "source": "kyverno",
    "message": "validation error: x. rule check-labels failed at path /metadata/labels/",
}


def test_failing_results_group_by_object():
    report = {
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": "PolicyReport",
        "metadata": {"namespace": "shop"},
        "results": [
            {**RESULT, "resources": [{"kind": "Pod", "namespace": "shop", "name": "a"}]},
            {
                **RESULT,
                "rule": "other",
                "resources": [{"kind": "Pod", "namespace": "shop", "name": "a"}],
            },
            {**RESULT, "result": "pass", "resources": [{"kind": "Pod", "name": "b"}]},
            {**RESULT, "result": "skip", "resources": [{"kind": "Pod", "name": "c"}]},
        ],
    }

    record = only(parse(report))

    assert (record.engine, record.action, record.resource) == (
        "kyverno",
        "audit",
        ResourceRef("Pod", "shop", "a"),
    )
    assert keys(record) == {
        ("require-labels", "check-labels", "/metadata/labels/"),
        ("require-labels", "other", "/metadata/labels/"),
    }


def test_scope_names_the_object_of_per_resource_reports():
    report = {
        "kind": "PolicyReport",
        "metadata": {"namespace": "shop"},
        "scope": {"kind": "Deployment", "name": "web"},
        "results": [RESULT],
    }

    assert only(parse(report)).resource == ResourceRef("Deployment", "shop", "web")


def test_owner_reference_names_the_object_when_scope_is_missing():
    report = {
        "kind": "ClusterPolicyReport",
        "metadata": {"ownerReferences": [{"kind": "Namespace", "name": "shop"}]},
        "results": [RESULT],
    }

    assert only(parse(report)).resource == ResourceRef("Namespace", None, "shop")


def test_sources_decide_the_engine():
    report = {
        "kind": "PolicyReport",
        "results": [
            {**RESULT, "source": "ValidatingAdmissionPolicy", "rule": None},
            {**RESULT, "source": "kube-bench", "policy": "cis-1.2"},
        ],
    }

    assert [r.engine for r in parse(report)] == ["vap", "webhook"]


def test_v1alpha1_status_field_counts_as_result():
    """The oldest reports said `status: fail` and had no source."""
    result = {key: value for key, value in RESULT.items() if key not in ("result", "source")}

    record = only(parse({"kind": "ClusterPolicyReport", "results": [{**result, "status": "fail"}]}))

    assert record.engine == "kyverno"


def test_report_of_passes_only_is_kept_empty():
    record = only(parse({"kind": "PolicyReport", "results": [{**RESULT, "result": "pass"}]}))

    assert record.violations == ()


def test_results_fragment_with_a_summary_is_salvaged():
    """A `results` list pasted with the report's summary is not valid YAML as a whole."""
    text = (
        "- policy: p\n  rule: r\n  result: fail\n  message: m\n"
        "  resources:\n  - kind: Pod\n    name: a\n"
        "summary:\n  fail: 1\n"
    )

    assert keys(only(parse(text))) == {("p", "r", None)}


def test_single_result_is_a_report_too():
    record = only(parse({**RESULT, "resources": [{"kind": "Pod", "name": "a"}]}))

    assert record.resource == ResourceRef("Pod", None, "a")


def test_admission_report_names_its_owner():
    report = {
        "apiVersion": "kyverno.io/v1alpha2",
        "kind": "AdmissionReport",
        "metadata": {"namespace": "shop"},
        "spec": {"owner": {"kind": "Pod", "name": "web"}, "results": [RESULT]},
    }

    assert only(parse(report)).resource == ResourceRef("Pod", "shop", "web")
