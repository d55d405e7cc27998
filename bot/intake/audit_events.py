"""Audit events (`audit.k8s.io/v1` Event): the API server's record of a request.

An audit event is the one place that holds who asked (`user.username`), the
object as requested (`requestObject`, at level Request and above) and the
answer (`responseStatus`). A denied write has a 4xx status whose message is
the same denial kubectl would have printed, so it goes through the same
message parsers. Admitted requests may still carry verdicts in annotations:
PSA's audit mode (`pod-security.kubernetes.io/audit-violations`) and a
ValidatingAdmissionPolicy's Audit action
(`validation.policy.admission.k8s.io/validation_failure`).

An audit event with neither yields one record without engine or violation,
so that a stream reader can count it; a `403` on a write that no engine
claims (quota, LimitRanger, another built-in plugin) is kept as a generic
webhook denial, while authorization failures and other errors (404, 409) are
not admission decisions at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict, cast

from bot.intake import (
    messages,
    psa_messages,
    vap_messages,
    violations,
    webhook_messages as webhooks,
)
from bot.intake.violations import Record, ResourceRef

AUDIT_GROUP = "audit.k8s.io/"
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


class ObjectRef(TypedDict, total=False):
    resource: str
    namespace: str
    name: str
    apiGroup: str
    apiVersion: str
    subresource: str


class ResponseStatus(TypedDict, total=False):
    code: int
    status: str
    reason: str
    message: str


class AuditEvent(TypedDict, total=False):
    kind: str
    apiVersion: str
    verb: str
    user: Mapping[str, Any]
    objectRef: ObjectRef
    responseStatus: ResponseStatus
    requestObject: Mapping[str, Any]
    annotations: Mapping[str, str]


def is_audit_event(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Event" and str(obj.get("apiVersion", "")).startswith(AUDIT_GROUP)


def is_audit_list(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "EventList" and str(obj.get("apiVersion", "")).startswith(AUDIT_GROUP)


def from_event(obj: Mapping[str, Any]) -> list[Record]:
    """The verdicts one audit event records; see the module docstring."""
    event = cast(AuditEvent, obj)
    user = event.get("user")
    requester = _text(user.get("username")) if isinstance(user, Mapping) else None
    request_object = event.get("requestObject")
    if not isinstance(request_object, Mapping):
        request_object = None
    resource = _resource(event, request_object)

    # The answer to the request, then what admitted requests were annotated with.
    found = _from_response(event)
    annotations = event.get("annotations")
    if isinstance(annotations, Mapping):
        found.extend(from_annotations(annotations))
    if not found:
        found = [violations.build(engine=None, action="unknown")]

    return [
        _attach(record.with_context(resource=resource, requester=requester), request_object)
        for record in found
    ]


def from_annotations(annotations: Mapping[str, Any]) -> list[Record]:
    """The verdicts PSA and VAPs leave in the annotations of an admitted request."""
    found: list[Record] = []
    for key, value in annotations.items():
        if not isinstance(value, str):
            continue
        if key == vap_messages.ANNOTATION_FAILURE:
            found.extend(vap_messages.from_annotation(value))
            continue
        record = psa_messages.from_annotation(key, value)
        if record is not None:
            found.append(record)
    return found


def is_annotations(obj: Mapping[str, Any]) -> bool:
    """A bare annotations object holding an admission verdict."""
    return any(
        key in (vap_messages.ANNOTATION_FAILURE, psa_messages.ANNOTATION_VIOLATIONS)
        or key == psa_messages.ANNOTATION_BETA
        for key in obj
    )


def _from_response(event: AuditEvent) -> list[Record]:
    status = event.get("responseStatus")
    if not isinstance(status, Mapping):
        return []
    code = status.get("code")
    if not isinstance(code, int) or code < 400:
        return []
    message = str(status.get("message") or "")
    found = messages.parse_message(message)
    if found:
        return [record.with_context(action="deny") for record in found]

    # A write refused by an admission plugin no parser knows.
    envelope = webhooks.unwrap(message)
    forbidden = code == 403 and str(event.get("verb", "")) in WRITE_VERBS
    if forbidden and not webhooks.is_rbac_denial(envelope.body):
        return [webhooks.generic_denial(envelope)]
    return []


def _resource(event: AuditEvent, request_object: Mapping[str, Any] | None) -> ResourceRef:
    ref = event.get("objectRef")
    if not isinstance(ref, Mapping):
        return violations.NO_RESOURCE
    kind = violations.kind_for_resource(ref["resource"]) if ref.get("resource") else None
    name = _text(ref.get("name"))
    if name is None and request_object is not None:
        metadata = request_object.get("metadata")
        if isinstance(metadata, Mapping):
            name = _text(metadata.get("name"))
    return ResourceRef(kind, _text(ref.get("namespace")), name)


def _attach(record: Record, request_object: Mapping[str, Any] | None) -> Record:
    if request_object is None:
        return record
    return violations.build(
        engine=record.engine,
        action=record.action,
        resource=record.resource,
        requester=record.requester,
        violations=record.violations,
        request_object=request_object,
        detail=record.detail,
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None
