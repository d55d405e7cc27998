"""Manifests to check: Kubernetes objects read from files, directories or stdin.

A manifest must at least say what it is (apiVersion, kind, metadata.name);
anything less is reported with its file and document, because silently
skipping it would let a broken manifest pass a CI check.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import InputError
from bot.policy import documents


@dataclass(frozen=True)
class Manifest:
    content: dict[str, Any]
    source: str
    document: int
    item: int | None = None
    """Its position in the document's `items` when the document is a List."""

    @property
    def pointer_prefix(self) -> str:
        """Where the object sits in its document, as a JSON pointer prefix."""
        return "" if self.item is None else f"/items/{self.item}"


def load_manifests(paths: Iterable[str | Path]) -> list[Manifest]:
    found: list[Manifest] = []
    for document in documents.load_documents(paths):
        found.extend(_objects_in(document))
    return found


def _objects_in(document: documents.Document) -> Iterator[Manifest]:
    content = document.content
    source, index = document.source, document.index
    if not isinstance(content, Mapping):
        raise InputError("must be a Kubernetes object (a mapping)", source=source, document=index)
    # `kubectl get -o yaml` wraps several objects in a List.
    if content.get("kind") == "List" or str(content.get("kind", "")).endswith("List"):
        items = content.get("items")
        if isinstance(items, list):
            for position, item in enumerate(items):
                if not isinstance(item, Mapping):
                    raise InputError(
                        "must be a mapping",
                        field=f"items[{position}]",
                        source=source,
                        document=index,
                    )
                _check_object(item, prefix=f"items[{position}].", source=source, document=index)
                yield Manifest(dict(item), document.source, document.index, position)
            return
    _check_object(content, prefix="", source=source, document=index)
    yield Manifest(dict(content), document.source, document.index)


def _check_object(content: Mapping[str, Any], *, prefix: str, source: str, document: int) -> None:
    for key in ("apiVersion", "kind"):
        if not isinstance(content.get(key), str) or not content.get(key):
            raise InputError(
                "is missing: every manifest needs apiVersion, kind and metadata.name",
                source=source,
                document=document,
                field=prefix + key,
            )
    metadata = content.get("metadata")
    if not isinstance(metadata, Mapping) or not (
        metadata.get("name") or metadata.get("generateName")
    ):
        raise InputError(
            "is missing: every manifest needs apiVersion, kind and metadata.name",
            source=source,
            document=document,
            field=prefix + "metadata.name",
        )
