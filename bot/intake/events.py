"""Kubernetes Events that report a rejection, as objects or as table rows.

Three kinds of events matter:

- a controller's `FailedCreate` (ReplicaSet, DaemonSet, Job, StatefulSet)
  wraps the API server's answer for a Pod it could not create, whoever
  denied it: PSA, a VAP, Kyverno, Gatekeeper or any webhook. The event hangs
  on the controller, but the object judged is the Pod the message names.
- Kyverno's `PolicyViolation` (and `PolicyApplied`, `PolicySkipped`, which
  violate nothing). On the policy, the message reads `Kind ns/name: [rule]
  fail (blocked); message` and `related` points at the resource; on the
  resource itself it reads `policy p/r fail: message`. A background scan
  (`kyverno-scan`) finds violations on existing objects, so it audits.
- Gatekeeper's `FailedAdmission`, `WarningAdmission`, `DryrunViolation` and
  `AuditViolation`, whose annotations name the constraint, its Kind and the
  object; the message repeats the namespace, which the involved object may
  not hold.

Both `core/v1` events and `events.k8s.io/v1` events (`note`, `regarding`,
`reportingController`) are read, and so are the rows of `kubectl describe`
and `kubectl get events`, which keep only the type, reason, source and
message (and `get` the object).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.intake import (
    gatekeeper_messages,
    kyverno_messages,
    messages,
    violations,
    webhook_messages as webhooks,
)
from bot.intake.violations import Action, Engine, Record, ResourceRef, Violation

_DESCRIBE_ROW = re.compile(
    r"^\s*(?P<type>Normal|Warning)\s{2,}(?P<reason>[A-Za-z]\w*)\s{2,}(?P<age>\S.*?)\s{2,}"
    r"(?P<source>\S(?:.*?\S)?)\s{2,}(?P<message>\S.*)$"
)
_GET_ROW = re.compile(
    r"^\s*(?:(?P<namespace>[a-z0-9][\w.\-]*)\s{2,})?(?P<age>\S+)\s{2,}(?P<type>Normal|Warning)"
    r"\s{2,}(?P<reason>[A-Za-z]\w*)\s{2,}(?P<object>[\w.\-]+/\S+)\s{2,}(?P<message>\S.*)$"
)
_COMBINED = re.compile(r"^\(combined from similar events\):\s*")

_ON_POLICY = re.compile(
    r"^(?P<resource>\S+ \S+): \[(?P<rule>[^\]]+)\] (?P<status>\w+)(?P<blocked> \(blocked\))?"
    r"(?:; (?P<message>.*))?$",
    re.S,
)
_ON_RESOURCE = re.compile(
    r"^policy (?P<policy>[^\s/]+)/(?P<rule>\S+) (?P<status>\w+): (?P<message>.*)$", re.S
)
# Kyverno 1.6 and older.
_LEGACY_ON_RESOURCE = re.compile(
    r"^policy '(?P<policy>[^']+)' \(\w+\) rule '(?P<rule>[^']+)' failed\. ?(?P<message>.*)$", re.S
)
_LEGACY_RULES = re.compile(r"^[Rr]ule(?:\(s\)|s) '(?P<rules>[^']*)'")
_LEGACY_RESOURCE = re.compile(r"on resource '?(?P<resource>[^'\s]+/[^'\s]*)'?")

KYVERNO_POLICY_KINDS = frozenset(
    [
        "ClusterPolicy",
        "Policy",
        "ValidatingPolicy",
        "NamespacedValidatingPolicy",
        "ImageValidatingPolicy",
        "NamespacedImageValidatingPolicy",
        "MutatingPolicy",
        "GeneratingPolicy",
        "DeletingPolicy",
        "NamespacedDeletingPolicy",
        "ValidatingAdmissionPolicy",
        "PolicyException",
        "CleanupPolicy",
        "ClusterCleanupPolicy",
    ]
)
KYVERNO_REASONS = frozenset({"PolicyViolation", "PolicyApplied", "PolicySkipped", "PolicyError"})
KYVERNO_LEGACY_SOURCES = frozenset(
    {"admission-controller", "policy-controller", "generate-policy-controller"}
)
BACKGROUND_SOURCES = frozenset({"kyverno-scan", "policy-controller"})
GATEKEEPER_ACTIONS: dict[str, Action] = {
    "FailedAdmission": "deny",
    "WarningAdmission": "warn",
    "DryrunViolation": "audit",
    "AuditViolation": "audit",
}
EVENT_KEYS = ("involvedObject", "regarding", "source", "reportingComponent", "reportingController")
FAILED_CREATE = frozenset({"FailedCreate", "FailedCreatePodSandBox"})


@dataclass(frozen=True)
class EventView:
    """The parts of an event we read, whatever form it came in."""

    reason: str = ""
    message: str = ""
    source: str = ""
    """The component that reported it: source.component, reportingComponent or controller."""
    action: str = ""
    """The `action` field Kyverno fills: "Resource Blocked", "Resource Passed"."""
    involved: ResourceRef = violations.NO_RESOURCE
    involved_api_version: str = ""
    related: ResourceRef | None = None
    annotations: Mapping[str, Any] = field(default_factory=dict)


def is_event(obj: Mapping[str, Any]) -> bool:
    if obj.get("kind") == "Event" and not str(obj.get("apiVersion", "")).startswith("audit."):
        return True
    # Fragments lose their kind; an event keeps its reason and who reported it.
    return "reason" in obj and any(key in obj for key in EVENT_KEYS)


def from_object(obj: Mapping[str, Any]) -> list[Record]:
    """The records of one core/v1 or events.k8s.io/v1 Event."""
    involved = _mapping(obj.get("involvedObject") or obj.get("regarding"))
    source = _mapping(obj.get("source"))
    related = obj.get("related")
    view = EventView(
        reason=_text(obj.get("reason")),
        message=_text(obj.get("message") or obj.get("note")),
        source=_text(
            obj.get("reportingComponent")
            or obj.get("reportingController")
            or source.get("component")
        ),
        action=_text(obj.get("action")),
        involved=_ref(involved),
        involved_api_version=_text(involved.get("apiVersion")),
        related=_ref(related) if isinstance(related, Mapping) else None,
        annotations=_mapping(_mapping(obj.get("metadata")).get("annotations")),
    )
    return records_of(view)


def parse_row(line: str) -> EventView | None:
    """A row of `kubectl describe` Events or of `kubectl get events`, or None."""
    found = _GET_ROW.match(line)
    if found is not None:
        resource, _, name = found["object"].partition("/")
        involved = ResourceRef(
            violations.kind_for_resource(resource), found["namespace"], name or None
        )
        return EventView(
            reason=found["reason"],
            message=_COMBINED.sub("", found["message"]).strip(),
            involved=involved,
        )
    found = _DESCRIBE_ROW.match(line)
    if found is not None:
        message = _COMBINED.sub("", found["message"]).strip()
        return EventView(reason=found["reason"], message=message, source=found["source"])
    return None


def records_of(view: EventView) -> list[Record]:
    if _is_gatekeeper(view):
        return [_gatekeeper(view)]
    if _is_kyverno(view):
        return [_kyverno(view)]

    # Anything else: the message may wrap any engine's denial.
    parsed = messages.parse_message(view.message) if view.message else []
    if view.reason in FAILED_CREATE:
        if not parsed:
            envelope = webhooks.unwrap(view.message)
            parsed = [webhooks.generic_denial(envelope)]
        return [record.with_context(action="deny") for record in parsed]
    return parsed or [violations.build(engine=None, action="unknown")]


def _is_gatekeeper(view: EventView) -> bool:
    return (
        view.reason in GATEKEEPER_ACTIONS
        or view.source.startswith("gatekeeper")
        or "constraint_name" in view.annotations
    )


def _is_kyverno(view: EventView) -> bool:
    return (
        view.reason in KYVERNO_REASONS
        or view.source.startswith("kyverno")
        or view.source in KYVERNO_LEGACY_SOURCES
        or "kyverno.io" in view.involved_api_version
    )


def _gatekeeper(view: EventView) -> Record:
    annotations = view.annotations
    parsed = gatekeeper_messages.parse_event_message(view.message)
    action: Action = GATEKEEPER_ACTIONS.get(view.reason, "unknown")
    if action == "unknown" and parsed is not None:
        action = parsed[0]

    # The object: annotations first, then the message's namespace, then the
    # involved object (which may be the constraint, or sit in Gatekeeper's
    # own namespace).
    involved = view.involved
    if gatekeeper_messages.CONSTRAINTS_GROUP in view.involved_api_version:
        involved = violations.NO_RESOURCE
    namespace = involved.namespace
    if parsed is not None and "Resource Namespace:" in view.message:
        namespace = parsed[1].namespace
    if "resource_namespace" in annotations:
        namespace = _text(annotations.get("resource_namespace")) or None
    resource = ResourceRef(
        _text(annotations.get("resource_kind")) or involved.kind,
        namespace,
        _text(annotations.get("resource_name")) or involved.name,
    )

    # The constraint: annotations name it and its Kind, the message only its name.
    policy = _text(annotations.get("constraint_name")) or None
    message = view.message
    if parsed is not None:
        policy = policy or parsed[2].policy
        message = parsed[2].message
    violation = Violation(
        engine="gatekeeper",
        policy=policy,
        rule=_text(annotations.get("constraint_kind")) or None,
        message=message,
    )
    return violations.build(
        engine="gatekeeper",
        action=action,
        resource=resource,
        requester=_text(annotations.get("request_username")) or None,
        violations=[violation],
    )


def _kyverno(view: EventView) -> Record:
    on_policy = view.involved.kind in KYVERNO_POLICY_KINDS
    engine: Engine = "vap" if view.involved.kind == "ValidatingAdmissionPolicy" else "kyverno"
    resource = view.related or (violations.NO_RESOURCE if on_policy else view.involved)
    if view.reason not in ("PolicyViolation", "PolicyError"):
        # Applied, skipped or cleaned up: nothing was violated.
        return violations.build(engine=engine, action="unknown", resource=resource)

    policy = view.involved.name if on_policy else None
    status, blocked, found = _read_kyverno_message(view.message, policy=policy)
    if found and not found[0].resource.empty and view.related is None:
        resource = found[0].resource
    if not found:
        found = [Violation(engine=engine, policy=policy, rule=None, message=view.message)]
    found = [_as_engine(v, engine) for v in found]
    return violations.build(
        engine=engine,
        action=_kyverno_action(view, status=status, blocked=blocked),
        resource=resource,
        violations=found,
    )


def _read_kyverno_message(message: str, *, policy: str | None) -> tuple[str, bool, list[Violation]]:
    """(status, blocked, violations) of a Kyverno event message, newest format first."""
    found = _ON_POLICY.match(message)
    if found is not None:
        violation = kyverno_messages.rule_violation(policy, found["rule"], found["message"] or "")
        resource = kyverno_messages.resource_of_event(found["resource"])
        return found["status"], bool(found["blocked"]), [_with(violation, resource)]
    found = _ON_RESOURCE.match(message) or _LEGACY_ON_RESOURCE.match(message)
    if found is not None:
        violation = kyverno_messages.rule_violation(
            found["policy"], found["rule"], found["message"]
        )
        status = found.groupdict().get("status") or "fail"
        return status, False, [violation]
    found = _LEGACY_RULES.match(message)
    if found is not None:
        where = _LEGACY_RESOURCE.search(message)
        resource = (
            violations.resource_from_triplet(where["resource"])
            if where is not None
            else violations.NO_RESOURCE
        )
        rules = [rule.strip() for rule in found["rules"].split(",") if rule.strip()]
        return (
            "fail",
            False,
            [
                _with(kyverno_messages.rule_violation(policy, rule, message), resource)
                for rule in rules
            ],
        )
    return "", False, []


def _kyverno_action(view: EventView, *, status: str, blocked: bool) -> Action:
    if blocked or view.action == "Resource Blocked":
        return "deny"
    if view.source in BACKGROUND_SOURCES:
        return "audit"
    if status == "warn":
        return "warn"
    if status in ("fail", "error") or view.action == "Resource Passed":
        # Reported at admission yet not blocked: the rule is in Audit mode.
        return "audit"
    return "unknown"


def _with(violation: Violation, resource: ResourceRef) -> Violation:
    return dataclasses.replace(violation, resource=resource)


def _as_engine(violation: Violation, engine: Engine) -> Violation:
    return dataclasses.replace(violation, engine=engine)


def _ref(obj: Mapping[str, Any]) -> ResourceRef:
    return ResourceRef(
        _text(obj.get("kind")) or None,
        _text(obj.get("namespace")) or None,
        _text(obj.get("name")) or None,
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()
