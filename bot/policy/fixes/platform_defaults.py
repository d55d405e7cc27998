"""Values the platform has already chosen, for fields a team left out.

A rule such as "every container sets a CPU limit" accepts any value, so the
manifest alone cannot say which one to write and a fix derived from it has to
leave a placeholder. The platform usually has the answer already, written as
Kubernetes objects: a LimitRange's defaults are what the API server puts into
a container that omits them, and the StorageClass marked as the default is
what a claim without a class gets. This module reads those objects (shipped
in the knowledge base, or read from the cluster) and answers "what would the
platform put here?" for one field of one manifest.

A value found here is a real decision of the platform team, not a guess, so a
fix that uses it can be exact; its summary names the object it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.errors import InputError
from bot.policy import documents, quantities
from bot.policy.fixes import values_synthesis
from bot.policy.fixes.patches import value_at
from bot.policy.fixes.values_synthesis import Derived

DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)
_CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})


@dataclass(frozen=True)
class ContainerDefaults:
    """The Container entry of one LimitRange, after the API server's own defaulting."""

    source: str
    """How people find it: `LimitRange team-a/defaults`."""
    namespace: str | None
    """Where it applies; None for a knowledge-base entry meant for every namespace."""
    limits: Mapping[str, str]
    requests: Mapping[str, str]


@dataclass(frozen=True)
class PlatformDefaults:
    containers: tuple[ContainerDefaults, ...] = ()
    storage_class: str | None = None
    storage_class_source: str = ""
    sources: tuple[str, ...] = field(default=())
    """Every object the defaults were read from, for logs and `--help` texts."""

    def value_for(self, manifest: Mapping[str, Any], at: Sequence[str | int]) -> Derived | None:
        """The platform's value for the field at `at` of the manifest, if it has one.

        Container requests and limits come from the LimitRanges that apply to
        the manifest's namespace, first one first (as the LimitRanger admission
        plugin applies them); a limit below the container's own request, or a
        request above its own limit, is not offered, since the API server
        would refuse the pair. `storageClassName` of a claim (or of a
        StatefulSet's claim template) comes from the default StorageClass.
        """
        if not at or not isinstance(at[-1], str):
            return None
        if _is_container_resource(at):
            return self._container_value(manifest, at)
        if at[-1] == "storageClassName" and self.storage_class and _is_claim_spec(manifest, at):
            note = f"the default class, {self.storage_class_source}"
            return Derived(self.storage_class, note)
        return None

    def _container_value(
        self, manifest: Mapping[str, Any], at: Sequence[str | int]
    ) -> Derived | None:
        kind, resource = str(at[-2]), str(at[-1])
        namespace = namespace_of(manifest)
        for entry in self.containers:
            if entry.namespace is not None and entry.namespace != namespace:
                continue
            value = (entry.limits if kind == "limits" else entry.requests).get(resource)
            if value is None:
                continue
            other = "requests" if kind == "limits" else "limits"
            own = value_at(manifest, (*at[:-2], other, resource))
            if not _consistent(kind, value, own):
                return None
            return Derived(value, f"the platform default in {entry.source}")
        return None


NO_DEFAULTS = PlatformDefaults()


def from_objects(objects: Iterable[Mapping[str, Any]]) -> PlatformDefaults:
    """Defaults from LimitRange and StorageClass objects; other kinds are ignored."""
    containers: list[ContainerDefaults] = []
    classes: list[tuple[str, str]] = []
    sources: list[str] = []
    for obj in objects:
        kind = obj.get("kind")
        raw_metadata = obj.get("metadata")
        metadata: Mapping[str, Any] = raw_metadata if isinstance(raw_metadata, Mapping) else {}
        name = str(metadata.get("name") or "")
        if kind == "LimitRange":
            namespace = metadata.get("namespace")
            shown = f"LimitRange {namespace}/{name}" if namespace else f"LimitRange {name}"
            containers.extend(_container_entries(obj, shown, namespace))
            sources.append(shown)
        elif kind == "StorageClass" and _is_default_class(metadata):
            classes.append((_timestamp(metadata.get("creationTimestamp")), name))
            sources.append(f"StorageClass {name}")
    chosen = _newest(classes)
    return PlatformDefaults(
        containers=tuple(containers),
        storage_class=chosen,
        storage_class_source=f"StorageClass {chosen}" if chosen else "",
        sources=tuple(sources),
    )


def load(paths: Sequence[str | Path]) -> PlatformDefaults:
    """Defaults from YAML files or directories holding LimitRanges and StorageClasses."""
    objects: list[Mapping[str, Any]] = []
    for document in documents.load_documents(paths):
        content = document.content
        if content is None:
            continue
        if not isinstance(content, Mapping):
            raise InputError(
                "a platform defaults document must be a Kubernetes object",
                source=document.source,
            )
        if content.get("kind") == "List" and isinstance(content.get("items"), list):
            objects.extend(item for item in content["items"] if isinstance(item, Mapping))
        else:
            objects.append(content)
    return from_objects(objects)


def _container_entries(
    limit_range: Mapping[str, Any], source: str, namespace: Any
) -> list[ContainerDefaults]:
    spec = limit_range.get("spec")
    items = spec.get("limits") if isinstance(spec, Mapping) else None
    found: list[ContainerDefaults] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping) or item.get("type") != "Container":
            continue
        limits = dict(_quantities(item.get("default")))
        requests = dict(_quantities(item.get("defaultRequest")))
        # The API server's defaulting of a LimitRangeItem, in its order: the
        # max stands in for a missing default limit, the default limit for a
        # missing default request, and the min after that.
        for key, value in _quantities(item.get("max")):
            limits.setdefault(key, value)
        for key, value in limits.items():
            requests.setdefault(key, value)
        for key, value in _quantities(item.get("min")):
            requests.setdefault(key, value)
        if limits or requests:
            found.append(
                ContainerDefaults(
                    source,
                    str(namespace) if namespace else None,
                    limits,
                    requests,
                )
            )
    return found


def _quantities(values: Any) -> list[tuple[str, str]]:
    if not isinstance(values, Mapping):
        return []
    return [
        (str(key), str(value))
        for key, value in values.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    ]


def _is_default_class(metadata: Mapping[str, Any]) -> bool:
    annotations = metadata.get("annotations")
    if not isinstance(annotations, Mapping):
        return False
    # Kubernetes compares the text exactly: "True" does not make a default.
    return any(annotations.get(key) == "true" for key in DEFAULT_CLASS_ANNOTATIONS)


def _newest(classes: list[tuple[str, str]]) -> str | None:
    """With several defaults, Kubernetes gives new claims the newest one.

    Equal times (to the second, or both unknown) go to the name that sorts
    first, as in the API server's GetDefaultClass:
    https://github.com/kubernetes/kubernetes/blob/master/pkg/volume/util/storageclass.go
    """
    if not classes:
        return None
    # RFC 3339 timestamps in UTC sort as text; unknown times sort first.
    # NB: max keeps the first of equal keys, so sorting by name breaks the ties.
    return max(sorted(classes, key=lambda c: c[1]), key=lambda c: c[0])[1]


def _timestamp(value: Any) -> str:
    """A creationTimestamp as RFC 3339 text in UTC, or "" when unknown.

    NB: the same instant arrives in several spellings: YAML reads an unquoted
    timestamp as a datetime, `kubectl get -o yaml` writes `...Z`, and the
    Python client's serialization `...+00:00`. They must compare as times.
    """
    moment: datetime | None = value if isinstance(value, datetime) else None
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    if moment is None:
        return str(value or "")
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_container_resource(at: Sequence[str | int]) -> bool:
    return (
        len(at) >= 5
        and at[-2] in ("limits", "requests")
        and at[-3] == "resources"
        and isinstance(at[-4], int)
        and at[-5] in _CONTAINER_LISTS
    )


def _is_claim_spec(manifest: Mapping[str, Any], at: Sequence[str | int]) -> bool:
    if len(at) >= 4 and at[-2] == "spec" and at[-4] == "volumeClaimTemplates":
        return True
    return manifest.get("kind") == "PersistentVolumeClaim" and tuple(at) == (
        "spec",
        "storageClassName",
    )


def namespace_of(manifest: Mapping[str, Any]) -> str:
    """The namespace whose defaults apply: the manifest's, or where kubectl would put it."""
    metadata = manifest.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, Mapping) else None
    return str(namespace or "default")


def _consistent(kind: str, value: str, own: Any) -> bool:
    """Whether a default and the container's own counterpart make a valid pair."""
    if own is None or values_synthesis.has_placeholder(own):
        # Nothing decided yet on the other side: the pair is the platform's own.
        return True
    proposed, existing = _amount(value), _amount(own)
    if proposed is None or existing is None:
        return False
    return proposed >= existing if kind == "limits" else proposed <= existing


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    return quantities.parse_quantity(str(value)) if isinstance(value, str) else None
