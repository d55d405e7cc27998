"""Finding the workload a team actually wrote, by walking ownerReferences.

A rejection names the object the API server refused or the controller that
failed: a ReplicaSet that could not create its Pods, a Job, a StatefulSet.
Nobody edits a ReplicaSet, though; the fix belongs in its Deployment. So we
follow each object's controller reference upwards (Pod -> ReplicaSet ->
Deployment, Pod -> Job -> CronJob, Pod -> StatefulSet or DaemonSet) until an
object has no controller, and return that one.

The walk stops early, and says why, when an owner is of a kind we do not
read (an Argo Rollout, an operator's custom resource), has been deleted, or
is hidden from us by RBAC: the last object we could read is still the best
manifest we have. Objects come back as the API server's raw JSON, so field
names read as people wrote them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import kubernetes
from kubernetes.client import ApiClient

from bot.kube import clients

logger = logging.getLogger(__name__)

# (apiVersion, kind) -> (API class, read method, namespaced?)
READERS: dict[tuple[str, str], tuple[str, str, bool]] = {
    ("v1", "Namespace"): ("CoreV1Api", "read_namespace", False),
    ("v1", "Pod"): ("CoreV1Api", "read_namespaced_pod", True),
    ("v1", "ReplicationController"): ("CoreV1Api", "read_namespaced_replication_controller", True),
    ("apps/v1", "ReplicaSet"): ("AppsV1Api", "read_namespaced_replica_set", True),
    ("apps/v1", "Deployment"): ("AppsV1Api", "read_namespaced_deployment", True),
    ("apps/v1", "StatefulSet"): ("AppsV1Api", "read_namespaced_stateful_set", True),
    ("apps/v1", "DaemonSet"): ("AppsV1Api", "read_namespaced_daemon_set", True),
    ("batch/v1", "Job"): ("BatchV1Api", "read_namespaced_job", True),
    ("batch/v1", "CronJob"): ("BatchV1Api", "read_namespaced_cron_job", True),
}

# Deeper than any built-in chain (Pod -> Job -> CronJob is the longest);
# the limit only guards against a loop of references.
MAX_DEPTH = 8


@dataclass(frozen=True)
class ObjectRef:
    """Enough to GET one object."""

    api_version: str
    kind: str
    name: str
    namespace: str = ""

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> ObjectRef:
        metadata = manifest.get("metadata") or {}
        return cls(
            api_version=str(manifest.get("apiVersion", "")),
            kind=str(manifest.get("kind", "")),
            name=str(metadata.get("name", "")),
            namespace=str(metadata.get("namespace") or ""),
        )

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass(frozen=True)
class Workload:
    """The top of an owner chain, as far as we could walk it."""

    manifest: dict[str, Any]
    """The raw object, as the API server returned it."""

    chain: tuple[ObjectRef, ...]
    """Every object read, from the starting one to `manifest`'s."""

    stopped: str = ""
    """Why the walk ended below the real top; empty when it reached it."""


class OwnerResolver:
    """Reads objects and walks their ownerReferences to the top workload."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    async def read(self, ref: ObjectRef) -> dict[str, Any]:
        """GET one object of a kind in `READERS`, as raw JSON."""
        reader = READERS.get((ref.api_version, ref.kind))
        if reader is None:
            raise clients.NotFoundError(
                f"Cannot read {ref}: policybot reads only "
                f"{', '.join(sorted({kind for _, kind in READERS}))}."
            )
        api_class, method_name, namespaced = reader
        method = getattr(getattr(kubernetes.client, api_class)(self._api), method_name)
        args = (ref.name, ref.namespace) if namespaced else (ref.name,)
        manifest: dict[str, Any] = await clients.read_json(method, *args, action=f"read {ref}")

        # NB: a single GET returns apiVersion and kind, but be sure of them:
        # the fix and the diff are rendered from this object.
        manifest.setdefault("apiVersion", ref.api_version)
        manifest.setdefault("kind", ref.kind)
        return manifest

    async def find_top_workload(self, ref: ObjectRef) -> Workload:
        """Read `ref`, then its controllers upwards; see the module docstring.

        Raises:
            NotFoundError: the starting object itself is gone.
            AccessDeniedError: we may not read the starting object.
        """
        manifest = await self.read(ref)
        chain = [ref]
        seen_uids: set[str] = set()

        while len(chain) < MAX_DEPTH:
            # Remember where we are, so a reference loop cannot spin.
            uid = str((manifest.get("metadata") or {}).get("uid", ""))
            if uid:
                seen_uids.add(uid)
            owner = find_controller(manifest)
            if owner is None:
                return Workload(manifest=manifest, chain=tuple(chain))
            owner_ref = ObjectRef(
                api_version=str(owner.get("apiVersion", "")),
                kind=str(owner.get("kind", "")),
                name=str(owner.get("name", "")),
                namespace=chain[-1].namespace,
            )
            if owner.get("uid") and owner.get("uid") in seen_uids:
                return self._stop(manifest, chain, f"{owner_ref} loops back to an object seen")

            # Go up one level; any failure leaves us with the best so far.
            if (owner_ref.api_version, owner_ref.kind) not in READERS:
                return self._stop(manifest, chain, f"owned by {owner_ref}, a kind we do not read")
            try:
                manifest = await self.read(owner_ref)
            except clients.NotFoundError:
                return self._stop(manifest, chain, f"its owner {owner_ref} no longer exists")
            except clients.AccessDeniedError:
                logger.warning(
                    "Cannot read %s, the owner of %s: access denied. Grant the bot `get` on "
                    "that kind to fix manifests at their source.",
                    owner_ref,
                    chain[-1],
                )
                return self._stop(manifest, chain, f"RBAC hides its owner {owner_ref}")
            chain.append(owner_ref)

        return self._stop(manifest, chain, f"the owner chain is deeper than {MAX_DEPTH}")

    async def find_top_manifest(
        self, *, api_version: str, kind: str, namespace: str, name: str
    ) -> dict[str, Any]:
        """Just the top manifest: the shape `bot.intake.resolving` asks for."""
        ref = ObjectRef(api_version=api_version, kind=kind, name=name, namespace=namespace)
        return (await self.find_top_workload(ref)).manifest

    @staticmethod
    def _stop(manifest: dict[str, Any], chain: list[ObjectRef], why: str) -> Workload:
        logger.debug("Stopped the owner walk at %s: %s.", chain[-1], why)
        return Workload(manifest=manifest, chain=tuple(chain), stopped=why)


def find_controller(manifest: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ownerReference marked `controller: true`, if any.

    Other owners (garbage-collection parents, say) do not manage the object's
    spec, so fixing them would not fix it.
    """
    references = (manifest.get("metadata") or {}).get("ownerReferences") or []
    for reference in references:
        if isinstance(reference, Mapping) and reference.get("controller") is True:
            return reference
    return None
