"""Accessors for Kubernetes objects held as plain dictionaries.

The engine works on manifests exactly as parsed from YAML or JSON, so that a
verdict never depends on a schema we might get wrong. This module is the one
place that knows where kind, names and labels live inside such a dictionary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Manifest = dict[str, Any]


@dataclass(frozen=True, order=True)
class ResourceRef:
    """Identifies one object the way people and reports name it."""

    kind: str
    namespace: str
    name: str
    api_version: str = ""

    def __str__(self) -> str:
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"


def metadata_of(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = manifest.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def name_of(manifest: Mapping[str, Any]) -> str:
    meta = metadata_of(manifest)
    name = meta.get("name") or meta.get("generateName") or ""
    return str(name)


def namespace_of(manifest: Mapping[str, Any]) -> str:
    return str(metadata_of(manifest).get("namespace") or "")


def kind_of(manifest: Mapping[str, Any]) -> str:
    return str(manifest.get("kind") or "")


def labels_of(manifest: Mapping[str, Any]) -> Mapping[str, str]:
    labels = metadata_of(manifest).get("labels")
    return labels if isinstance(labels, Mapping) else {}


def annotations_of(manifest: Mapping[str, Any]) -> Mapping[str, str]:
    annotations = metadata_of(manifest).get("annotations")
    return annotations if isinstance(annotations, Mapping) else {}


def group_version_of(manifest: Mapping[str, Any]) -> tuple[str, str]:
    """Split apiVersion into (group, version); the core group is ""."""
    api_version = str(manifest.get("apiVersion") or "")
    if "/" in api_version:
        group, _, version = api_version.partition("/")
        return group, version
    return "", api_version


def ref_of(manifest: Mapping[str, Any]) -> ResourceRef:
    return ResourceRef(
        kind=kind_of(manifest),
        namespace=namespace_of(manifest),
        name=name_of(manifest),
        api_version=str(manifest.get("apiVersion") or ""),
    )
