"""What CEL policies may look up beyond the request: cluster objects and images.

Kyverno's CEL libraries read live cluster state (`resource.Get`), registries
(`image.GetMetadata`) and its global context. Offline, the Kyverno CLI feeds
them from a test's Context file instead, and so do we: a `Lookups` value
holds that data, and evaluation makes it the current one for the duration of
one policy check, so the extension functions can reach it without it being
threaded through the CEL library.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.policy import resources
from bot.policy.cel import admission


@dataclass(frozen=True)
class Lookups:
    objects: tuple[Mapping[str, Any], ...] = ()
    """Objects `resource.Get` and `resource.List` can find."""
    images: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Image metadata by image reference, as `image.GetMetadata` returns it."""
    global_context: Mapping[str, Any] = field(default_factory=dict)
    namespaces: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Namespace objects by name, for `namespaceObject`."""
    now: datetime | None = None
    """A fixed clock for `time.now()`; the real one when None."""

    def with_namespaces(self, namespaces: Iterable[Mapping[str, Any]]) -> Lookups:
        known = dict(self.namespaces)
        for namespace in namespaces:
            known[resources.name_of(namespace)] = namespace
        return replace(self, namespaces=known)

    def find(self, api_version: str, resource: str, namespace: str) -> list[Mapping[str, Any]]:
        """Objects of one resource type in one namespace ("" for cluster scope)."""
        return [
            obj
            for obj in self.objects
            if str(obj.get("apiVersion") or "") == api_version
            and admission.resource_for_kind(resources.kind_of(obj)) == resource
            and resources.namespace_of(obj) == namespace
        ]


EMPTY = Lookups()
_CURRENT: ContextVar[Lookups] = ContextVar("policybot_cel_lookups", default=EMPTY)


def from_context_document(content: Mapping[str, Any]) -> Lookups:
    """Read a Kyverno CLI `Context` document (`spec.resources`, `spec.images`)."""
    spec = content.get("spec")
    spec = spec if isinstance(spec, Mapping) else {}
    objects = tuple(item for item in spec.get("resources") or () if isinstance(item, Mapping))
    images: dict[str, Mapping[str, Any]] = {}
    for entry in spec.get("images") or ():
        if isinstance(entry, Mapping) and entry.get("image"):
            images[str(entry["image"])] = _image_record(entry)
    return Lookups(objects=objects, images=images)


def current() -> Lookups:
    return _CURRENT.get()


@contextmanager
def active(lookups: Lookups | None) -> Iterator[None]:
    """Make `lookups` what CEL functions see while the block runs."""
    token = _CURRENT.set(lookups or EMPTY)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def _image_record(entry: Mapping[str, Any]) -> dict[str, Any]:
    # NB: Kyverno serialises its ImageData struct, where these fields are
    # always present, even when the Context file leaves them out.
    record: dict[str, Any] = {"image": "", "resolvedImage": "", "registry": "", "repository": ""}
    record.update(entry)
    return record
