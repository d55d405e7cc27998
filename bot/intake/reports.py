"""Policy reports: PolicyReport, ClusterPolicyReport and Kyverno's own reports.

A report lists one result per policy rule and object. Only failing results
(fail, warn, error) are violations; passes and skips are dropped. Every
result is a finding recorded without blocking anything, so the action is
`audit`. The object comes from the result's `resources`, else the report's
`scope` (one report per object since Kyverno 1.12), its owner reference, or
for Kyverno's intermediate admission reports `spec.owner`.

Results keep the engine that produced them in `source`: a Kyverno report
about a native ValidatingAdmissionPolicy is a `vap` finding. Reports of
other tools are kept as generic `webhook` findings.

Fragments are read too: a bare `results` list, or a single result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, cast

from bot.intake import kyverno_messages, violations
from bot.intake.violations import Engine, Record, ResourceRef, Violation

FAILING = frozenset({"fail", "warn", "error"})
REPORT_KINDS = frozenset(
    {
        "PolicyReport",
        "ClusterPolicyReport",
        "AdmissionReport",
        "ClusterAdmissionReport",
        "BackgroundScanReport",
        "ClusterBackgroundScanReport",
        "EphemeralReport",
        "ClusterEphemeralReport",
        "Report",
        "ClusterReport",
    }
)


class Result(TypedDict, total=False):
    """One entry of a report's `results` (wgpolicyk8s.io and openreports.io)."""

    policy: str
    rule: str
    message: str
    result: str
    status: str
    """The v1alpha1 name of `result`."""
    source: str
    resources: list[Mapping[str, Any]]


def is_report(obj: Mapping[str, Any]) -> bool:
    kind = str(obj.get("kind", ""))
    if kind in REPORT_KINDS:
        return True
    return isinstance(obj.get("results"), list) and "summary" in obj


def is_result(obj: Mapping[str, Any]) -> bool:
    return "policy" in obj and ("result" in obj or "status" in obj)


def is_result_list(items: Sequence[Any]) -> bool:
    return bool(items) and all(isinstance(i, Mapping) and is_result(i) for i in items)


def from_report(obj: Mapping[str, Any]) -> list[Record]:
    """One record per object with failing results, in the order first met."""
    spec = obj.get("spec")
    holder = spec if isinstance(spec, Mapping) and "results" in spec else obj
    results = holder.get("results")
    return from_results(results if isinstance(results, list) else [], default=_report_resource(obj))


def from_results(
    results: Sequence[Any], *, default: ResourceRef = violations.NO_RESOURCE
) -> list[Record]:
    grouped: dict[tuple[Engine, ResourceRef], list[Violation]] = {}
    for raw in results:
        if not isinstance(raw, Mapping):
            continue
        result = cast(Result, raw)
        outcome = str(result.get("result") or result.get("status") or "").lower()
        if outcome not in FAILING:
            continue
        engine = _engine_of(result.get("source"))
        violation = kyverno_messages.rule_violation(
            _text(result.get("policy")), _text(result.get("rule")), str(result.get("message", ""))
        )
        if engine != "kyverno":
            violation = dataclasses.replace(violation, engine=engine)
        for resource in _resources_of(result) or [default]:
            grouped.setdefault((engine, resource), []).append(violation)
    if not grouped:
        # Nothing failed: one empty record says the report was read.
        first = next((r for r in results if isinstance(r, Mapping)), {})
        return [violations.build(engine=_engine_of(first.get("source")), action="audit")]
    return [
        violations.build(engine=engine, action="audit", resource=resource, violations=found)
        for (engine, resource), found in grouped.items()
    ]


def _resources_of(result: Result) -> list[ResourceRef]:
    resources: Any = result.get("resources")
    if not isinstance(resources, list):
        return []
    return [_ref(item) for item in resources if isinstance(item, Mapping)]


def _report_resource(obj: Mapping[str, Any]) -> ResourceRef:
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    namespace = _text(metadata.get("namespace"))
    for candidate in (obj.get("scope"), _first(metadata.get("ownerReferences"))):
        if isinstance(candidate, Mapping) and candidate.get("kind"):
            ref = _ref(candidate)
            return ref if ref.namespace else ResourceRef(ref.kind, namespace, ref.name)
    spec = obj.get("spec")
    owner = spec.get("owner") if isinstance(spec, Mapping) else None
    if isinstance(owner, Mapping):
        ref = _ref(owner)
        return ref if ref.namespace else ResourceRef(ref.kind, namespace, ref.name)
    return violations.NO_RESOURCE


def _engine_of(source: object) -> Engine:
    text = str(source or "kyverno").lower()
    if "kyverno" in text:
        return "kyverno"
    if "validatingadmissionpolicy" in text:
        return "vap"
    if "gatekeeper" in text:
        return "gatekeeper"
    if "podsecurity" in text or "pod-security" in text:
        return "psa"
    return "webhook"


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else None


def _ref(obj: Mapping[str, Any]) -> ResourceRef:
    return ResourceRef(_text(obj.get("kind")), _text(obj.get("namespace")), _text(obj.get("name")))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None
