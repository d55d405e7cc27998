"""The admission facts CEL policies see: `request`, `object`, `namespaceObject`.

Kubernetes hands CEL a request naming the resource in its plural, lowercase
form (`deployments`), while a manifest only names its kind. Offline we have
no API discovery, so a table covers the built-in kinds whose plural does not
follow the usual English rule, and the rule Kubernetes itself uses for
guessing covers the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.policy import resources
from bot.policy.requests import AdmissionRequest

# Kinds whose resource name the plural guess below would get wrong.
_IRREGULAR_RESOURCES = {
    "Endpoints": "endpoints",
    "EndpointSlice": "endpointslices",
    "PodMetrics": "pods",
    "NodeMetrics": "nodes",
}

# Built-in kinds without a namespace; matching by `scope` needs to know them
# even when a test manifest leaves `metadata.namespace` out.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "FlowSchema",
        "IngressClass",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PodSecurityPolicy",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
        "ClusterPolicy",
        "ValidatingPolicy",
        "MutatingPolicy",
        "ImageValidatingPolicy",
        "GeneratingPolicy",
        "DeletingPolicy",
    }
)


@dataclass(frozen=True)
class Target:
    """What a request addresses, in the terms of admission rules."""

    group: str
    version: str
    kind: str
    resource: str
    subresource: str
    namespace: str
    name: str
    operation: str

    @property
    def cluster_scoped(self) -> bool:
        return self.kind in CLUSTER_SCOPED_KINDS


def resource_for_kind(kind: str) -> str:
    """The plural resource name for a kind, as the API server would name it."""
    if kind in _IRREGULAR_RESOURCES:
        return _IRREGULAR_RESOURCES[kind]
    lower = kind.lower()
    # NB: apimachinery's guess (UnsafeGuessKindToResource), except that a
    # vowel before the "y" keeps it, so Gateway gives gateways as in the API.
    if lower.endswith("s"):
        return lower + "es"
    if lower.endswith("y") and len(lower) > 1 and lower[-2] not in "aeiou":
        return lower[:-1] + "ies"
    return lower + "s" if lower else ""


def target_of(request: AdmissionRequest) -> Target:
    manifest = request.object if request.object else (request.old_object or {})
    group, version = resources.group_version_of(manifest)
    kind = resources.kind_of(manifest)
    return Target(
        group=group,
        version=version,
        kind=kind,
        resource=resource_for_kind(kind),
        subresource=request.subresource,
        namespace="" if kind == "Namespace" else resources.namespace_of(manifest),
        name=resources.name_of(manifest),
        operation=request.operation.upper(),
    )


def objects_of(request: AdmissionRequest) -> tuple[Any, Any]:
    """(object, oldObject): a DELETE carries only the old object."""
    if request.operation.upper() == "DELETE":
        return None, request.old_object if request.old_object is not None else request.object
    return request.object, request.old_object


def request_payload(request: AdmissionRequest) -> dict[str, Any]:
    """The `request` variable, shaped like an AdmissionRequest."""
    target = target_of(request)
    kind = {"group": target.group, "version": target.version, "kind": target.kind}
    resource = {"group": target.group, "version": target.version, "resource": target.resource}
    user = request.user_info
    user_info: dict[str, Any] = {"username": "", "uid": "", "groups": []}
    if user is not None:
        user_info = {"username": user.username, "uid": user.uid, "groups": list(user.groups)}
    return {
        "uid": "",
        "kind": kind,
        "resource": resource,
        "subResource": target.subresource,
        "requestKind": kind,
        "requestResource": resource,
        "requestSubResource": target.subresource,
        "name": target.name,
        "namespace": target.namespace,
        "operation": target.operation,
        "userInfo": user_info,
        "dryRun": False,
    }


def namespace_labels(
    request: AdmissionRequest, namespace: Mapping[str, Any] | None
) -> dict[str, str]:
    """Labels to match a namespaceSelector against.

    The API server labels every namespace with its own name, so a selector on
    `kubernetes.io/metadata.name` works even when we know nothing else.
    """
    target = target_of(request)
    if target.kind == "Namespace":
        labels = dict(resources.labels_of(request.object or request.old_object or {}))
        name = target.name
    else:
        labels = dict(request.namespace_labels)
        if namespace is not None:
            labels.update(resources.labels_of(namespace))
        name = target.namespace
    labels.setdefault("kubernetes.io/metadata.name", name)
    return labels


def minimal_namespace(name: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """A Namespace object holding only what the request told us."""
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}
