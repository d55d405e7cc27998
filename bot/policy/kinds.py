"""Kyverno's kind specs (`Pod`, `apps/v1/Deployment`, `Pod/status`, `*`...).

A rule's `kinds` entries name a group, a version, a kind and a subresource in
a compact slash form where any part may be left out or be a wildcard. This
module parses that form exactly as Kyverno does and matches it against the
group/version/kind of an object under admission, plus the subresource the
request addresses ("" for the object itself).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.policy import wildcards

# A part that stands for a version: v1, v2beta1, v1alpha3, or a plain "*".
_VERSION = re.compile(r"(v\d+((alpha|beta)\d+)?|\*)")

# Kyverno matches Pod kinds on ephemeral container updates even when the rule
# does not name that subresource, so `kubectl debug` cannot slip past a policy.
_EPHEMERAL_CONTAINERS = "ephemeralcontainers"


@dataclass(frozen=True)
class KindSelector:
    """One parsed `kinds` entry; every part may hold wildcards."""

    group: str
    version: str
    kind: str
    subresource: str

    def matches(self, *, group: str, version: str, kind: str, subresource: str = "") -> bool:
        return (
            wildcards.wildcard_match(self.group, group)
            and wildcards.wildcard_match(self.version, version)
            and wildcards.wildcard_match(self.kind, kind)
            and wildcards.wildcard_match(self.subresource, subresource)
        )


# Cached because every rule's kinds are read again for every object; the
# result is a frozen value of the spec text alone, so sharing it is safe.
@functools.lru_cache(maxsize=1024)
def parse(spec: str) -> KindSelector:
    """Read a kind spec the way Kyverno does.

    A dot in the last segment also separates a subresource (`Pod.status` is
    `Pod/status`). A bare kind or `version/kind` addresses only the object, not
    its subresources; `Kind/*` and `*/*` address both. A spec of more than four
    parts can match nothing.
    """
    parts = spec.split("/")
    parts = parts[:-1] + parts[-1].split(".")
    if len(parts) == 1:
        return KindSelector("*", "*", parts[0], "")
    if len(parts) == 2:
        first, second = parts
        if first == "*" and second == "*":
            return KindSelector("*", "*", "*", "*")
        # NB: `*/status` (a lowercase word) means that subresource of any kind.
        if first == "*" and second.lower() == second:
            return KindSelector("*", "*", "*", second)
        if _VERSION.fullmatch(first):
            return KindSelector("*", first, second, "")
        return KindSelector("*", "*", first, second)
    if len(parts) == 3:
        if _VERSION.fullmatch(parts[0]):
            return KindSelector("*", parts[0], parts[1], parts[2])
        return KindSelector(parts[0], parts[1], parts[2], "")
    if len(parts) == 4:
        return KindSelector(*parts)
    return KindSelector("", "", "", "")


def matches_any(
    specs: Iterable[str],
    *,
    group: str,
    version: str,
    kind: str,
    subresource: str = "",
    allow_ephemeral_containers: bool = True,
) -> bool:
    """Whether any kind spec selects this group/version/kind/subresource.

    `allow_ephemeral_containers` is on for policy rules, as in Kyverno's engine;
    Kyverno turns it off only for exceptions and cleanup policies.
    """
    return any_selects(
        (parse(str(spec)) for spec in specs),
        group=group,
        version=version,
        kind=kind,
        subresource=subresource,
        allow_ephemeral_containers=allow_ephemeral_containers,
    )


def any_selects(
    parsed: Iterable[KindSelector],
    *,
    group: str,
    version: str,
    kind: str,
    subresource: str = "",
    allow_ephemeral_containers: bool = True,
) -> bool:
    """`matches_any` for specs already read with `parse`."""
    is_core_pod = (group, version, kind) == ("", "v1", "Pod")
    for selector in parsed:
        if not _matches_gvk(selector, group=group, version=version, kind=kind):
            continue
        if wildcards.wildcard_match(selector.subresource, subresource):
            return True
        if allow_ephemeral_containers and is_core_pod and subresource == _EPHEMERAL_CONTAINERS:
            return True
    return False


def _matches_gvk(selector: KindSelector, *, group: str, version: str, kind: str) -> bool:
    return (
        wildcards.wildcard_match(selector.group, group)
        and wildcards.wildcard_match(selector.version, version)
        and wildcards.wildcard_match(selector.kind, kind)
    )


def kind_name(spec: str) -> str:
    """The bare kind a spec names (`apps/v1/Deployment` -> `Deployment`).

    This is Kyverno's looser reading used by autogen to ask "does this rule
    name Pods?"; it ignores group and version and drops any subresource.
    """
    parts = spec.split("/")
    if len(parts) == 1:
        kind = spec.replace(".", "/", 1)
    elif len(parts) == 2:
        if parts[0] == "*" and parts[1] == "*":
            kind = "*/*"
        elif _VERSION.fullmatch(parts[0]):
            kind = parts[1].replace(".", "/", 1)
        else:
            kind = spec
    elif len(parts) == 3:
        if _VERSION.fullmatch(parts[0]):
            kind = f"{parts[1]}/{parts[2]}"
        else:
            kind = parts[2].replace(".", "/", 1)
    elif len(parts) == 4:
        kind = f"{parts[2]}/{parts[3]}"
    else:
        return ""
    base, slash, rest = kind.partition("/")
    return base if slash and "/" not in rest else kind


def names_kind(specs: Iterable[str], kind: str) -> bool:
    """Whether any spec names `kind` by its bare kind (Kyverno's ContainsKind)."""
    return any(kind_name(str(spec)) == kind for spec in specs)
