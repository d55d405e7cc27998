"""Keeping a fix true to what Kubernetes does with the patched manifest.

A policy sees only its own pattern; Kubernetes sees the whole object. Some
changes that satisfy a rule leave a manifest the API server refuses, or a
workload that starts but silently behaves differently. This module completes
such patches:

- removing an environment variable's literal `value` (as a rule against
  secrets in manifests asks) would leave the variable empty at run time, so a
  `valueFrom.secretKeyRef` with placeholders takes its place and the fix turns
  `guided`: the team must say where the value now comes from;
- a volume whose source is removed (a forbidden hostPath) becomes what
  Kubernetes makes of a volume with no source, an empty directory, written
  out so the change is visible and the volume mounts stay valid;
- a Service that stops being a NodePort or LoadBalancer loses the fields the
  API server only accepts on those types (`nodePort`, `externalTrafficPolicy`...);
- a container that gets `allowPrivilegeEscalation: false` cannot keep
  `privileged: true` or the SYS_ADMIN capability, which the API server refuses
  in combination with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.policy.fixes.patches import (
    PatchError,
    PatchOp,
    apply_patch,
    pointer,
    value_at_pointer,
)

_ENV_VALUE = re.compile(r"^(?P<var>.*/env/\d+)/value$")
_VOLUME_SOURCE = re.compile(r"^(?P<volume>.*/volumes/\d+)/[A-Za-z]+$")
_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
_SHIFTING_REMOVAL = re.compile(
    r"/(env|volumes|ports|containers|initContainers|ephemeralContainers)/\d+$"
)
_EXTERNAL_SERVICE_TYPES = frozenset({"NodePort", "LoadBalancer"})
_EXTERNAL_ONLY_FIELDS = ("externalTrafficPolicy", "healthCheckNodePort")
"""Service fields the API server accepts only on NodePort and LoadBalancer services."""
_LOAD_BALANCER_ONLY_FIELDS = (
    "allocateLoadBalancerNodePorts",
    "loadBalancerClass",
    "loadBalancerSourceRanges",
)
_SYS_ADMIN = frozenset({"SYS_ADMIN", "CAP_SYS_ADMIN"})


@dataclass
class _Completion:
    ops: list[PatchOp] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)


def complete(
    manifest: Mapping[str, Any], ops: Sequence[PatchOp]
) -> tuple[tuple[PatchOp, ...], tuple[str, ...], tuple[str, ...]]:
    """The ops with completions added, the placeholders they hold, and their summary."""
    # Completions go after every op and address list elements by index, so a
    # patch that removes elements of the lists they address is left as it is.
    if any(op.op == "remove" and _SHIFTING_REMOVAL.search(op.path) for op in ops):
        return tuple(ops), (), ()
    try:
        after = apply_patch(dict(manifest), list(ops))
    except PatchError:
        return tuple(ops), (), ()
    done = _Completion()
    _complete_env_values(manifest, ops, done)
    _complete_volume_sources(after, ops, done)
    _complete_service_type(manifest, after, done)
    _complete_privilege_escalation(manifest, after, done)
    return (*ops, *done.ops), tuple(done.placeholders), tuple(done.summary)


def _complete_env_values(
    manifest: Mapping[str, Any], ops: Sequence[PatchOp], done: _Completion
) -> None:
    for op in ops:
        match = _ENV_VALUE.match(op.path) if op.op == "remove" else None
        if match is None:
            continue
        variable = value_at_pointer(manifest, match.group("var"))
        if not isinstance(variable, Mapping) or "valueFrom" in variable:
            continue
        name = str(variable.get("name") or "value")
        where = match.group("var") + "/valueFrom"
        reference = {
            "secretKeyRef": {
                "name": "<name of the Secret that holds it>",
                "key": f"<key of {name} in that Secret>",
            }
        }
        done.ops.append(PatchOp("add", where, reference))
        done.placeholders.append(where)
        done.summary.append(f"read {name} from a Secret (valueFrom.secretKeyRef) instead")


def _complete_volume_sources(after: Any, ops: Sequence[PatchOp], done: _Completion) -> None:
    for op in ops:
        match = _VOLUME_SOURCE.match(op.path) if op.op == "remove" else None
        if match is None:
            continue
        volume = value_at_pointer(after, match.group("volume"))
        if not isinstance(volume, Mapping) or set(volume) != {"name"}:
            continue
        done.ops.append(PatchOp("add", match.group("volume") + "/emptyDir", {}))
        done.summary.append(
            f"volume {volume['name']} becomes an empty directory, which is what Kubernetes "
            "makes of a volume with no source; drop it and its volumeMounts if nothing needs it"
        )


def _complete_service_type(manifest: Mapping[str, Any], after: Any, done: _Completion) -> None:
    if manifest.get("kind") != "Service" or not isinstance(after, Mapping):
        return
    before_spec, spec = manifest.get("spec"), after.get("spec")
    if not isinstance(before_spec, Mapping) or not isinstance(spec, Mapping):
        return
    was, now = before_spec.get("type") or "ClusterIP", spec.get("type") or "ClusterIP"
    if was == now or now == "LoadBalancer":
        return
    dropped: list[str] = []
    if now not in _EXTERNAL_SERVICE_TYPES:
        ports = spec.get("ports")
        for index, port in enumerate(ports if isinstance(ports, list) else []):
            if isinstance(port, Mapping) and "nodePort" in port:
                done.ops.append(PatchOp("remove", pointer("spec", "ports", index, "nodePort")))
                dropped.append(f"ports[{index}].nodePort")
        dropped += _drop_fields(spec, _EXTERNAL_ONLY_FIELDS, done)
    dropped += _drop_fields(spec, _LOAD_BALANCER_ONLY_FIELDS, done)
    if dropped:
        accepted = "LoadBalancer" if now in _EXTERNAL_SERVICE_TYPES else "NodePort or LoadBalancer"
        done.summary.append(
            f"remove {', '.join(dropped)}: the API server accepts them only on {accepted} services"
        )


def _drop_fields(spec: Mapping[str, Any], names: Sequence[str], done: _Completion) -> list[str]:
    present = [name for name in names if name in spec]
    done.ops.extend(PatchOp("remove", pointer("spec", name)) for name in present)
    return present


def _complete_privilege_escalation(
    manifest: Mapping[str, Any], after: Any, done: _Completion
) -> None:
    for where, container in _containers(after):
        context = container.get("securityContext")
        if not isinstance(context, Mapping) or context.get("allowPrivilegeEscalation") is not False:
            continue
        before = value_at_pointer(
            manifest, pointer(*where, "securityContext", "allowPrivilegeEscalation")
        )
        if before is False:
            continue  # the conflict, if any, was there before the fix
        name = container.get("name", "the container")
        if context.get("privileged") is True:
            done.ops.append(
                PatchOp("replace", pointer(*where, "securityContext", "privileged"), False)
            )
            done.summary.append(
                f"set privileged to false in {name}: the API server refuses it together with "
                "allowPrivilegeEscalation: false"
            )
        capabilities = context.get("capabilities")
        added = capabilities.get("add") if isinstance(capabilities, Mapping) else None
        if isinstance(added, list) and any(str(c).upper() in _SYS_ADMIN for c in added):
            kept = [c for c in added if str(c).upper() not in _SYS_ADMIN]
            done.ops.append(
                PatchOp("replace", pointer(*where, "securityContext", "capabilities", "add"), kept)
            )
            done.summary.append(
                f"stop adding SYS_ADMIN to {name}: the API server refuses it together with "
                "allowPrivilegeEscalation: false"
            )


def _containers(
    document: Any, at: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Mapping[str, Any]]]:
    """Every container of every pod spec in the document, with its path."""
    if not isinstance(document, Mapping):
        return
    for key, value in document.items():
        if key in _CONTAINER_LISTS and isinstance(value, list):
            for index, container in enumerate(value):
                if isinstance(container, Mapping):
                    yield (*at, key, index), container
        elif isinstance(value, Mapping) and key in ("spec", "template", "jobTemplate"):
            yield from _containers(value, (*at, key))
