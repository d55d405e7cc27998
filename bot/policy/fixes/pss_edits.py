"""Editing the pod inside a manifest, one JSON patch operation at a time.

The PSS fixers know which pod field is wrong (`spec.containers[0]...`, as the
checks report it); this module knows where the pod sits in the manifest and
how to turn "set this field" into an RFC 6902 operation. Every operation is
applied to a working copy as soon as it is made, so the next one is computed
against the manifest as it then stands: two fixes that both need a missing
`securityContext` produce one `add` and one nested `add`, never two `add`s
where the second would wipe out the first.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.policy.fixes import patches
from bot.policy.fixes.patches import PatchOp
from bot.policy.fixes.proposals import ProposedFix
from bot.policy.pss import kyverno, pods
from bot.policy.pss.results import FieldViolation

Segment = str | int
Segments = tuple[Segment, ...]

# A dotted path with bracketed indices or keys: `spec.volumes[2].hostPath` or
# `metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]`.
_TOKEN = re.compile(r"\[([^\]]*)\]|([^.\[\]]+)")
_NEEDS_BRACKETS = re.compile(r"[./\[]")

_MISSING = object()


def parse_path(path: str) -> Segments:
    """Segments of a dotted path; a bracket holding digits is a list index."""
    segments: list[Segment] = []
    for match in _TOKEN.finditer(path):
        bracketed, plain = match.groups()
        if plain is not None:
            segments.append(plain)
        elif bracketed.isdigit():
            segments.append(int(bracketed))
        else:
            segments.append(bracketed)
    return tuple(segments)


def format_path(segments: Sequence[Segment]) -> str:
    """The dotted form people read: `spec.containers[0].securityContext`."""
    text = ""
    for segment in segments:
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif _NEEDS_BRACKETS.search(segment):
            # Annotation keys hold dots and slashes, so they keep their brackets.
            text += f"[{segment}]"
        else:
            text += f".{segment}" if text else segment
    return text


@dataclass(frozen=True)
class Location:
    """Where a manifest keeps the pod metadata and spec its checks read."""

    metadata: Segments
    spec: Segments

    @classmethod
    def for_psa(cls, resource: Mapping[str, Any]) -> Location | None:
        """The pod PSA evaluates, or None for a kind it does not check."""
        parts = pods.pod_parts(resource)
        if parts is None:
            return None
        prefix = parse_path(parts[2])
        return cls((*prefix, "metadata"), (*prefix, "spec"))

    @classmethod
    def for_kyverno(cls, resource: Mapping[str, Any]) -> Location | None:
        """The pod a `podSecurity` rule evaluates, or None for other kinds."""
        kind = resource.get("kind")
        if kind == "Pod":
            return cls(("metadata",), ("spec",))
        if kind in kyverno.TEMPLATE_KINDS:
            return cls(("spec", "template", "metadata"), ("spec", "template", "spec"))
        if kind == "CronJob":
            # NB: Kyverno reads the job template's metadata, not the pod template's.
            template = ("spec", "jobTemplate", "spec", "template")
            return cls(("spec", "jobTemplate", "metadata"), (*template, "spec"))
        return None

    def resolve(self, pod_path: str) -> Segments:
        """Segments in the manifest of a pod-relative path such as `spec.hostPID`."""
        head, *rest = parse_path(pod_path)
        return (*(self.metadata if head == "metadata" else self.spec), *rest)

    def pod_path(self, resource_path: str) -> str:
        """The pod-relative form of a path already placed in the manifest."""
        segments = parse_path(resource_path)
        for base, head in ((self.spec, "spec"), (self.metadata, "metadata")):
            if segments[: len(base)] == base:
                return format_path((head, *segments[len(base) :]))
        return resource_path


class PodEdit:
    """A growing patch against one manifest, with the working copy it produces.

    Fixers call `set`, `remove`, `remove_items` and `append` with pod-relative
    paths, and `note` or `placeholder` to explain what they did. Asking for a
    change the manifest already has makes no operation.
    """

    def __init__(self, resource: Mapping[str, Any], location: Location) -> None:
        self.document: dict[str, Any] = _plain(resource)
        self.location = location
        self.ops: list[PatchOp] = []
        self.summary: list[str] = []
        self.placeholders: list[str] = []

    def pod(self) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
        """The pod metadata and spec as they stand after the edits so far."""
        metadata = pods.mapping(self.get("metadata"))
        spec = pods.mapping(self.get("spec"))
        return metadata or {}, spec or {}

    def get(self, pod_path: str) -> Any:
        """The field's current value, or None when any step of the way is missing."""
        return self._get(self.location.resolve(pod_path))

    def set(self, pod_path: str, value: Any) -> bool:
        """Give a field a value, creating the mappings on the way; True if it changed."""
        segments = self.location.resolve(pod_path)
        node: Any = self.document
        for depth, segment in enumerate(segments[:-1]):
            child = _step(node, segment)
            if isinstance(segments[depth + 1], str) and not isinstance(child, dict):
                # A missing or non-mapping step: graft the rest of the path here.
                nested = value
                for key in reversed(segments[depth + 1 :]):
                    nested = {key: nested}
                return self._emit(segments[: depth + 1], nested, exists=child is not _MISSING)
            if child is _MISSING:
                raise patches.PatchError(f"{format_path(segments)}: no such element")
            node = child
        current = _step(node, segments[-1])
        if current is not _MISSING and current == value and type(current) is type(value):
            return False
        return self._emit(segments, value, exists=current is not _MISSING)

    def remove(self, pod_path: str) -> bool:
        segments = self.location.resolve(pod_path)
        if _step(self._get(segments[:-1]), segments[-1]) is _MISSING:
            return False
        self._apply(PatchOp("remove", patches.pointer(*segments)))
        return True

    def remove_items(self, pod_path: str, indexes: Sequence[int]) -> None:
        """Drop list entries; the whole field goes when none would be left."""
        segments = self.location.resolve(pod_path)
        current = self._get(segments)
        if not isinstance(current, list):
            return
        doomed = sorted({i for i in indexes if 0 <= i < len(current)}, reverse=True)
        if len(doomed) == len(current):
            self.remove(pod_path)
            return
        # Highest index first, so the earlier removals do not shift the later ones.
        for index in doomed:
            self._apply(PatchOp("remove", patches.pointer(*segments, index)))

    def append(self, pod_path: str, value: Any) -> None:
        """Add an entry at the end of a list, creating the list when it is missing."""
        segments = self.location.resolve(pod_path)
        if isinstance(self._get(segments), list):
            self._apply(PatchOp("add", patches.pointer(*segments, "-"), value))
        else:
            self.set(pod_path, [value])

    def note(self, line: str) -> None:
        self.summary.append(line)

    def placeholder(self, pod_path: str) -> None:
        """Mark a value in the patched manifest that a person must confirm."""
        where = patches.pointer(*self.location.resolve(pod_path))
        if where not in self.placeholders:
            self.placeholders.append(where)

    def proposal(self) -> ProposedFix | None:
        if not self.ops:
            return None
        return ProposedFix(tuple(self.ops), tuple(self.placeholders), tuple(self.summary))

    def _get(self, segments: Segments) -> Any:
        node: Any = self.document
        for segment in segments:
            node = _step(node, segment)
            if node is _MISSING:
                return None
        return node

    def _emit(self, segments: Segments, value: Any, *, exists: bool) -> bool:
        self._apply(PatchOp("replace" if exists else "add", patches.pointer(*segments), value))
        return True

    def _apply(self, op: PatchOp) -> None:
        self.document = patches.apply_patch(self.document, [op])
        self.ops.append(op)


def container_path(pod_path: str) -> str:
    """`spec.containers[0]` for any path inside that container."""
    return format_path(parse_path(pod_path)[:3])


def parent_path(pod_path: str) -> str:
    return format_path(parse_path(pod_path)[:-1])


def field_name(pod_path: str, *, in_container: bool) -> str:
    """The path as a person reads it next to the container's name, or the pod's."""
    segments = parse_path(pod_path)
    return format_path(segments[3:] if in_container else segments[1:])


def subject(violation: FieldViolation) -> str:
    """Who a summary line is about: `container "app"` or `pod`."""
    if violation.container is None:
        return "pod"
    return f'container "{violation.container}"'


def field_of(violation: FieldViolation) -> str:
    return field_name(violation.path, in_container=violation.container is not None)


def _step(node: Any, segment: Segment) -> Any:
    if isinstance(segment, int):
        if isinstance(node, list) and segment < len(node):
            return node[segment]
        return _MISSING
    if isinstance(node, dict) and segment in node:
        return node[segment]
    return _MISSING


def _plain(value: Any) -> Any:
    """A deep copy made of dicts and lists only, which patches can edit."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return copy.deepcopy(value)
