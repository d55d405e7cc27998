"""Gatekeeper's verdicts: denials, warnings, events, constraint status, audit logs.

The webhook answers with one line per violated constraint, `[name] message`
(`[denied by name] message` before v3.4), joined by newlines. Before v3.8 it
also put that text in the status reason, so kubectl printed it twice; we
read only the webhook's answer, which makes the repeat disappear. The
constraint's Kind is not in a denial, only in events, status and logs.

Events say `Resource Namespace: ns, Constraint: name, Message: text` after a
lead that tells the verdict, and carry the rest in annotations. Audit results
live in each constraint's `status.violations`, in the audit pod's JSON log
lines and in export messages; all of them are findings on existing objects,
so their action is `audit` whatever the constraint enforces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypedDict, cast

from bot.intake import violations, webhook_messages
from bot.intake.violations import Action, Record, ResourceRef, Violation

_CONSTRAINT_LINE = re.compile(r"^\s*\[(?:denied by )?(?P<name>[^\]\s]+)\]\s?(?P<message>.*)$", re.M)
_LEGACY_ID = re.compile(r'"id"\s*:\s*"(?P<name>[^"]+)"')
_EVENT_MESSAGE = re.compile(
    r"(?:Resource Namespace: (?P<namespace>[^,]*), )?Constraint: (?P<constraint>[^,]+), "
    r"Message: (?P<message>.*)",
    re.S,
)
_EVENT_ACTIONS: dict[str, Action] = {
    "denied request": "deny",
    "raised a warning": "warn",
    "Dryrun violation": "audit",
    "Timestamp:": "audit",
}
CONSTRAINTS_GROUP = "constraints.gatekeeper.sh/"


class StatusViolation(TypedDict, total=False):
    """One entry of a constraint's `status.violations`."""

    enforcementAction: str
    group: str
    version: str
    kind: str
    namespace: str
    name: str
    message: str


def parse_denial(body: str) -> Record:
    """The webhook's answer: one violation per `[constraint] message` line."""
    found = [
        Violation(engine="gatekeeper", policy=match["name"], rule=None, message=match["message"])
        for match in _CONSTRAINT_LINE.finditer(body)
    ]
    if not found:
        # Gatekeeper v1/v2 answered with a JSON list of {id, message}.
        found = [
            Violation(engine="gatekeeper", policy=match["name"], rule=None, message=body)
            for match in _LEGACY_ID.finditer(body)
        ]
    if not found:
        clipped = webhook_messages.clip(body)
        found = [Violation(engine="gatekeeper", policy=None, rule=None, message=clipped)]
    return violations.build(engine="gatekeeper", action="deny", violations=found)


def parse_warning(text: str) -> Record | None:
    """`[constraint] message`: a constraint with enforcementAction warn."""
    found = _CONSTRAINT_LINE.match(text)
    if found is None:
        return None
    violation = Violation(
        engine="gatekeeper", policy=found["name"], rule=None, message=found["message"]
    )
    return violations.build(engine="gatekeeper", action="warn", violations=[violation])


def parse_event_message(text: str) -> tuple[Action, ResourceRef, Violation] | None:
    """The message of a Gatekeeper event: action, namespace and the violation."""
    found = _EVENT_MESSAGE.search(text)
    if found is None:
        return None
    lead = text[: found.start()]
    action: Action = next(
        (action for marker, action in _EVENT_ACTIONS.items() if marker in lead), "unknown"
    )
    namespace = (found["namespace"] or "").strip() or None
    violation = Violation(
        engine="gatekeeper",
        policy=found["constraint"].strip(),
        rule=None,
        message=found["message"].strip(),
    )
    return action, ResourceRef(None, namespace, None), violation


def is_constraint(obj: Mapping[str, Any]) -> bool:
    """A constraint with a status; without one it is only a manifest."""
    api_version = str(obj.get("apiVersion", ""))
    return api_version.startswith(CONSTRAINTS_GROUP) and isinstance(obj.get("status"), Mapping)


def from_constraint(obj: Mapping[str, Any]) -> list[Record]:
    """A constraint's audit results: one record per object in `status.violations`."""
    name = _text(_mapping(obj.get("metadata")).get("name"))
    kind = _text(obj.get("kind"))
    status = _mapping(obj.get("status"))
    entries = status.get("violations")
    if not isinstance(entries, list) or not entries:
        return [violations.build(engine="gatekeeper", action="audit")]
    records = []
    for raw in entries:
        if not isinstance(raw, Mapping):
            continue
        entry = cast(StatusViolation, raw)
        violation = Violation(
            engine="gatekeeper", policy=name, rule=kind, message=str(entry.get("message", ""))
        )
        resource = ResourceRef(
            _text(entry.get("kind")), _text(entry.get("namespace")), _text(entry.get("name"))
        )
        records.append(
            violations.build(
                engine="gatekeeper", action="audit", resource=resource, violations=[violation]
            )
        )
    return records


def is_log(obj: Mapping[str, Any]) -> bool:
    """A JSON line of Gatekeeper's audit or webhook log, or an export message."""
    if "constraint_name" in obj and ("process" in obj or "event_type" in obj):
        return True
    return "eventType" in obj and "resourceKind" in obj and "name" in obj


_ENFORCEMENT_ACTIONS: dict[str, Action] = {"deny": "deny", "warn": "warn", "dryrun": "audit"}
# Field names in log lines, and in export messages when they differ.
_LOG_FIELDS = {
    "event_type": "eventType",
    "constraint_action": "enforcementAction",
    "constraint_name": "name",
    "constraint_kind": "kind",
    "msg": "message",
    "resource_kind": "resourceKind",
    "resource_namespace": "resourceNamespace",
    "resource_name": "resourceName",
}


def from_log(obj: Mapping[str, Any]) -> Record:
    """A log line or export message: one violation of one constraint on one object."""
    names = {key: key for key in _LOG_FIELDS}
    if "eventType" in obj:
        names = dict(_LOG_FIELDS)
    fields = {key: _text(obj.get(name)) for key, name in names.items()}

    # Audit results are findings on existing objects, whatever the constraint enforces.
    event_type = fields["event_type"] or ""
    action: Action
    if event_type.endswith("audited") or obj.get("process") == "audit":
        action = "audit"
    else:
        action = _ENFORCEMENT_ACTIONS.get(fields["constraint_action"] or "", "unknown")

    violation = Violation(
        engine="gatekeeper",
        policy=fields["constraint_name"],
        rule=fields["constraint_kind"],
        message=fields["msg"] or "",
    )
    resource = ResourceRef(
        fields["resource_kind"], fields["resource_namespace"], fields["resource_name"]
    )
    return violations.build(
        engine="gatekeeper",
        action=action,
        resource=resource,
        requester=_text(obj.get("request_username")),
        violations=[violation],
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    """A non-empty string field, or None (Gatekeeper writes "" for "not set")."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None
