"""Signs that a workload got through admission after being rejected.

A rejection message is resolved when the workload is later admitted. Two
things in the stream say so:

- a controller's `SuccessfulCreate` Event: the ReplicaSet, Job, StatefulSet
  or DaemonSet created a Pod, so its Pod template now passes admission; the
  workload is found through the controller's owner chain;
- an audit event of an allowed create, update or patch (response code 2xx),
  which carries the admitted object itself.

Only the shape of these two is read here; resolving the workload and closing
its groups is the handler's and `grouping`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.intake import violations

CREATED_REASONS = frozenset({"SuccessfulCreate"})
WRITE_VERBS = frozenset({"create", "update", "patch"})


@dataclass(frozen=True)
class Admission:
    """An object that passed admission: the object itself, or what names it."""

    request: Mapping[str, Any] | None = None
    """The admitted object, when the source carries it (audit events)."""
    involved: Mapping[str, Any] | None = None
    """apiVersion, kind, namespace and name of an object in the owner chain."""


def find_admission(payload: Any) -> Admission | None:
    """The admission a decoded Event or audit event reports, or None."""
    if not isinstance(payload, Mapping):
        return None
    if str(payload.get("apiVersion", "")).startswith("audit.k8s.io/"):
        return _from_audit(payload)
    if payload.get("kind") == "Event" and payload.get("reason") in CREATED_REASONS:
        involved = payload.get("involvedObject") or payload.get("regarding")
        if isinstance(involved, Mapping) and involved.get("kind") and involved.get("name"):
            return Admission(involved=involved)
    return None


def _from_audit(event: Mapping[str, Any]) -> Admission | None:
    status = event.get("responseStatus") or {}
    code = status.get("code") if isinstance(status, Mapping) else None
    if event.get("verb") not in WRITE_VERBS or not isinstance(code, int):
        return None
    if not 200 <= code < 300:
        return None
    request = event.get("requestObject")
    if isinstance(request, Mapping) and request.get("kind"):
        return Admission(request=request)
    ref = event.get("objectRef")
    if not isinstance(ref, Mapping) or not ref.get("resource") or not ref.get("name"):
        return None
    group = ref.get("apiGroup")
    version = ref.get("apiVersion") or "v1"
    return Admission(
        involved={
            "apiVersion": f"{group}/{version}" if group else version,
            "kind": violations.kind_for_resource(str(ref["resource"])),
            "namespace": ref.get("namespace") or "",
            "name": ref["name"],
        }
    )
