"""The records every rejection turns into, whatever engine wrote it.

A `Record` is one rejection or one report entry: who judged (the engine),
what happened to the request (the action), which object was judged and who
asked. Its `Violation`s say which policy and rule failed, and where. The
parsers fill in only what the text actually prints: a field the text does not
name stays None, so later layers can tell "absent" from "empty".

This module also knows how kubectl and the API server name objects: as API
resources (`pods "x"`, `deployments.apps "x"`, `pod/x created`) rather than
Kinds, so `kind_for_resource` turns the one into the other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Engine = Literal[
    "kyverno",
    "gatekeeper",
    "psa",
    "vap",
    "webhook",
]
Action = Literal[
    "deny",
    "audit",
    "warn",
    "unknown",
]

ENGINES: tuple[Engine, ...] = ("kyverno", "gatekeeper", "psa", "vap", "webhook")
ENGINE_NAMES: dict[str, str] = {
    "kyverno": "Kyverno",
    "gatekeeper": "Gatekeeper",
    "psa": "Pod Security Admission",
    "vap": "a ValidatingAdmissionPolicy",
    "webhook": "an admission webhook",
}
"""How people name each engine, in the terminal and in Slack alike."""


@dataclass(frozen=True)
class ResourceRef:
    """The object a policy judged; any part the text leaves out is None."""

    kind: str | None = None
    namespace: str | None = None
    name: str | None = None

    def __str__(self) -> str:
        kind = self.kind or "object"
        if self.name is None:
            return f"{kind} in {self.namespace}" if self.namespace else kind
        return f"{kind} {self.namespace}/{self.name}" if self.namespace else f"{kind} {self.name}"

    @property
    def empty(self) -> bool:
        return self.kind is None and self.namespace is None and self.name is None

    def fill(self, other: ResourceRef) -> ResourceRef:
        """This reference, with the parts it lacks taken from `other`."""
        if self.empty:
            return other
        return ResourceRef(
            self.kind if self.kind is not None else other.kind,
            self.namespace if self.namespace is not None else other.namespace,
            self.name if self.name is not None else other.name,
        )


NO_RESOURCE = ResourceRef()


@dataclass(frozen=True, kw_only=True)
class Violation:
    """One failed policy rule, Gatekeeper constraint, PSA check or webhook verdict."""

    engine: Engine
    policy: str | None
    """Kyverno policy, Gatekeeper constraint, PSA `level:version`, VAP policy or webhook."""
    rule: str | None
    """Kyverno rule, Gatekeeper constraint kind, PSA check reason or VAP binding."""
    message: str
    path: str | None = None
    """A field path, only where the text prints one (never guessed from prose)."""
    containers: tuple[str, ...] = ()
    """Container names, where the text prints them (PSA and Kyverno podSecurity)."""
    action: Action = "unknown"
    resource: ResourceRef = NO_RESOURCE
    requester: str | None = None

    @property
    def key(self) -> tuple[str | None, str | None, str | None]:
        return (self.policy, self.rule, self.path)


@dataclass(frozen=True, kw_only=True)
class Record:
    """One rejection or report entry, holding the violations it names."""

    engine: Engine | None
    action: Action
    resource: ResourceRef = NO_RESOURCE
    requester: str | None = None
    violations: tuple[Violation, ...] = ()
    request_object: Mapping[str, Any] | None = None
    """The full requested manifest; only audit events carry it."""
    detail: str = ""
    """What the text says when no violation carries it, e.g. why a webhook call failed."""

    def with_context(
        self,
        *,
        resource: ResourceRef = NO_RESOURCE,
        requester: str | None = None,
        action: Action | None = None,
    ) -> Record:
        """Fill in what the surrounding text knows and this record does not.

        The record's own resource wins part by part; the action, when given,
        replaces `unknown` only. Violations follow the record.
        """
        new_resource = self.resource.fill(resource)
        new_requester = self.requester if self.requester is not None else requester
        new_action = action if (action is not None and self.action == "unknown") else self.action
        return build(
            engine=self.engine,
            action=new_action,
            resource=new_resource,
            requester=new_requester,
            violations=self.violations,
            request_object=self.request_object,
            detail=self.detail,
        )


def build(
    *,
    engine: Engine | None,
    action: Action,
    resource: ResourceRef = NO_RESOURCE,
    requester: str | None = None,
    violations: Iterable[Violation] = (),
    request_object: Mapping[str, Any] | None = None,
    detail: str = "",
) -> Record:
    """A record whose violations agree with it on action, resource and requester.

    Violations repeating one key (policy, rule, path) are merged into the first,
    which keeps every container either of them printed.
    """
    merged = merge(violations)
    aligned = tuple(
        dataclasses.replace(v, action=action, resource=resource, requester=requester)
        for v in merged
    )
    return Record(
        engine=engine,
        action=action,
        resource=resource,
        requester=requester,
        violations=aligned,
        request_object=request_object,
        detail=detail,
    )


def merge(violations: Iterable[Violation]) -> list[Violation]:
    """Violations in first-seen order, one per (engine, policy, rule, path)."""
    by_key: dict[tuple[str, str | None, str | None, str | None], Violation] = {}
    for violation in violations:
        key = (violation.engine, *violation.key)
        first = by_key.get(key)
        if first is None:
            by_key[key] = violation
        elif violation.containers:
            containers = unique((*first.containers, *violation.containers))
            by_key[key] = dataclasses.replace(first, containers=containers)
    return list(by_key.values())


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """Distinct items in first-seen order."""
    return tuple(dict.fromkeys(items))


def resource_from_triplet(text: str) -> ResourceRef:
    """Kyverno's `Kind/namespace/name` (namespace empty for cluster-scoped objects)."""
    parts = text.split("/")
    if len(parts) == 3:
        kind, namespace, name = parts
        return ResourceRef(kind or None, namespace or None, name or None)
    if len(parts) == 2:
        kind, name = parts
        return ResourceRef(kind or None, None, name or None)
    return ResourceRef(None, None, text or None)


# API resources as the API server and kubectl print them, by Kind. Plurals are
# listed where dropping an "s" would not give the Kind back (or would lose the
# camel case).
_KINDS = [
    "Pod",
    "Service",
    "Namespace",
    "Node",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "Endpoints",
    "Event",
    "LimitRange",
    "ResourceQuota",
    "ReplicationController",
    "PodTemplate",
    "Binding",
    "ComponentStatus",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ControllerRevision",
    "Job",
    "CronJob",
    "Ingress",
    "IngressClass",
    "NetworkPolicy",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "PodDisruptionBudget",
    "PodSecurityPolicy",
    "HorizontalPodAutoscaler",
    "StorageClass",
    "CSINode",
    "CSIDriver",
    "CSIStorageCapacity",
    "VolumeAttachment",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "CustomResourceDefinition",
    "APIService",
    "Lease",
    "EndpointSlice",
    "CertificateSigningRequest",
    "PriorityClass",
    "RuntimeClass",
    "TokenReview",
    "SubjectAccessReview",
    "ClusterPolicy",
    "Policy",
    "PolicyException",
    "CleanupPolicy",
    "ClusterCleanupPolicy",
    "PolicyReport",
    "ClusterPolicyReport",
    "ValidatingPolicy",
    "ImageValidatingPolicy",
    "MutatingPolicy",
    "GeneratingPolicy",
    "DeletingPolicy",
    "ConstraintTemplate",
    "Config",
    "Gateway",
    "HTTPRoute",
]
_BY_LOWER = {kind.lower(): kind for kind in _KINDS}
_PLURALS = {
    "endpoints": "Endpoints",
    "ingresses": "Ingress",
    "networkpolicies": "NetworkPolicy",
    "policies": "Policy",
    "clusterpolicies": "ClusterPolicy",
    "cleanuppolicies": "CleanupPolicy",
    "clustercleanuppolicies": "ClusterCleanupPolicy",
    "podsecuritypolicies": "PodSecurityPolicy",
    "validatingadmissionpolicies": "ValidatingAdmissionPolicy",
    "mutatingadmissionpolicies": "MutatingAdmissionPolicy",
    "validatingpolicies": "ValidatingPolicy",
    "imagevalidatingpolicies": "ImageValidatingPolicy",
    "mutatingpolicies": "MutatingPolicy",
    "generatingpolicies": "GeneratingPolicy",
    "deletingpolicies": "DeletingPolicy",
    "priorityclasses": "PriorityClass",
    "runtimeclasses": "RuntimeClass",
    "storageclasses": "StorageClass",
    "ingressclasses": "IngressClass",
    "componentstatuses": "ComponentStatus",
    "csistoragecapacities": "CSIStorageCapacity",
    "horizontalpodautoscalers": "HorizontalPodAutoscaler",
}
# kubectl's short names, as they appear in `kubectl get` object columns.
_SHORT_NAMES = {
    "po": "Pod",
    "svc": "Service",
    "ns": "Namespace",
    "no": "Node",
    "cm": "ConfigMap",
    "sa": "ServiceAccount",
    "pvc": "PersistentVolumeClaim",
    "pv": "PersistentVolume",
    "ep": "Endpoints",
    "deploy": "Deployment",
    "sts": "StatefulSet",
    "ds": "DaemonSet",
    "rs": "ReplicaSet",
    "cj": "CronJob",
    "ing": "Ingress",
    "netpol": "NetworkPolicy",
    "hpa": "HorizontalPodAutoscaler",
    "pdb": "PodDisruptionBudget",
    "cpol": "ClusterPolicy",
    "pol": "Policy",
    "polex": "PolicyException",
}


def kind_for_resource(resource: str) -> str:
    """The Kind behind an API resource name, singular or plural, with or without group.

    `pods` and `pod` give `Pod`, `deployments.apps` gives `Deployment`, a name
    that is already a Kind (`Pod`) is kept. An unknown plural loses its plural
    ending and gains a capital, which is right for most custom resources.
    """
    if resource[:1].isupper():
        return resource
    base = resource.split(".", 1)[0].lower()
    known = _BY_LOWER.get(base) or _PLURALS.get(base) or _SHORT_NAMES.get(base)
    if known is not None:
        return known
    singular = _singular(base)
    return _BY_LOWER.get(singular) or (singular[:1].upper() + singular[1:])


def _singular(plural: str) -> str:
    if plural.endswith("ies") and len(plural) > 3:
        return plural[:-3] + "y"
    if plural.endswith(("sses", "ches", "shes", "xes")):
        return plural[:-2]
    if plural.endswith("s") and not plural.endswith("ss"):
        return plural[:-1]
    return plural
