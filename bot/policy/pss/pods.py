"""Reading pod specs held as plain dictionaries, the way PSA's Go types see them.

PSA works on typed structs, where a missing pointer is `nil` and a missing
string is `""`. Manifests here are parsed YAML, so these helpers turn absent
keys, explicit nulls and values of the wrong type into those same zero values.
That keeps every check free of `isinstance` noise.

This module also knows which kinds carry a pod template and where it sits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Where PSA finds the pod template in each kind it checks, as a key path.
_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "PodTemplate": ("template",),
    "ReplicationController": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Deployment": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}

# The three container lists, in the order PSA visits them.
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")

_EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True)
class Container:
    """One container of a pod, with the path PSA reports for it."""

    name: str
    path: str
    """E.g. `spec.initContainers[0]`."""
    body: Mapping[str, Any]

    @property
    def security_context(self) -> Mapping[str, Any] | None:
        return mapping(self.body.get("securityContext"))


def mapping(value: Any) -> Mapping[str, Any] | None:
    """The value if it is a mapping; None stands for Go's nil pointer."""
    return value if isinstance(value, Mapping) else None


def child(parent: Mapping[str, Any] | None, key: str) -> Mapping[str, Any] | None:
    if parent is None:
        return None
    return mapping(parent.get(key))


def text(parent: Mapping[str, Any] | None, key: str) -> str:
    """A string field, or `""` when absent, as a Go string would read."""
    if parent is None:
        return ""
    value = parent.get(key)
    return value if isinstance(value, str) else ""


def items(parent: Mapping[str, Any] | None, key: str) -> list[Any]:
    if parent is None:
        return []
    value = parent.get(key)
    return list(value) if isinstance(value, list) else []


def is_true(parent: Mapping[str, Any] | None, key: str) -> bool:
    return parent is not None and parent.get(key) is True


def is_false(parent: Mapping[str, Any] | None, key: str) -> bool:
    return parent is not None and parent.get(key) is False


def integer(parent: Mapping[str, Any] | None, key: str) -> int | None:
    """An integer field, or None when unset. YAML booleans are not integers."""
    if parent is None:
        return None
    value = parent.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def containers(spec: Mapping[str, Any]) -> list[Container]:
    """Init, regular, then ephemeral containers: PSA's visiting order."""
    found = []
    for list_name in CONTAINER_LISTS:
        for index, body in enumerate(items(spec, list_name)):
            body = mapping(body) or _EMPTY
            found.append(Container(text(body, "name"), f"spec.{list_name}[{index}]", body))
    return found


def is_windows(spec: Mapping[str, Any]) -> bool:
    return text(child(spec, "os"), "name") == "windows"


def uses_user_namespace(spec: Mapping[str, Any]) -> bool:
    """True for `hostUsers: false`, which lets some checks relax (from v1.35)."""
    return is_false(spec, "hostUsers")


def annotations_of(metadata: Mapping[str, Any]) -> dict[str, str]:
    found = mapping(metadata.get("annotations")) or _EMPTY
    return {str(key): value for key, value in found.items() if isinstance(value, str)}


def pod_parts(
    resource: Mapping[str, Any],
) -> tuple[Mapping[str, Any], Mapping[str, Any], str] | None:
    """The pod metadata, pod spec and path prefix PSA evaluates for a resource.

    The prefix turns a check's pod-relative path into one in the resource:
    `"spec.template."` + `"spec.containers[0]"` for a Deployment. Kinds PSA
    does not check give None, and so does a ReplicationController without a
    template, which PSA lets through unchecked.
    """
    kind = resource.get("kind")
    if kind == "Pod":
        return (
            mapping(resource.get("metadata")) or _EMPTY,
            mapping(resource.get("spec")) or _EMPTY,
            "",
        )
    if not isinstance(kind, str) or kind not in _TEMPLATE_PATHS:
        return None

    # NB: only ReplicationController holds its template through a pointer; the
    # other kinds embed it, so PSA checks an empty pod when it is missing.
    template: Mapping[str, Any] | None = resource
    for key in _TEMPLATE_PATHS[kind]:
        template = child(template, key)
    if template is None:
        if kind == "ReplicationController":
            return None
        template = _EMPTY
    metadata = mapping(template.get("metadata")) or _EMPTY
    spec = mapping(template.get("spec")) or _EMPTY
    return metadata, spec, "".join(f"{key}." for key in _TEMPLATE_PATHS[kind])
