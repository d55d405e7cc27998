"""Kyverno's run of the PSS checks, and how its `exclude` entries remove failures.

Kyverno does not use PSA's registry. It walks the checks in its own order,
skips restricted ones only at the baseline level (so `privileged` runs them
all), never lets a restricted check replace a baseline one (a hostPath
volume fails both `hostPathVolumes` and `restrictedVolumes`), and for a
version older than a check's first revision still runs that first revision.

An exclusion is matched by evaluating a second, altered pod and removing the
field errors it shares with the real one:

- without `images`, the altered pod is the real one with its containers
  replaced by a single bare container named `fake`; field paths are compared
  with every index replaced by `*`;
- with `images`, it holds only the containers whose image matches (and no
  pod-level fields at all); an error is removed only for the container of
  the same name;
- `restrictedField` must equal the `*`-normalised path, and every bad value
  must match one of `values`, for the error to count;
- each error of the altered pod removes at most one error of the real pod.

A check with no errors left passes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.policy import wildcards
from bot.policy.pss import catalogue, fielderrors, pods
from bot.policy.pss.catalogue import Check
from bot.policy.pss.fielderrors import FieldError
from bot.policy.pss.levels import BASELINE, Version, v1
from bot.policy.pss.results import CheckResult, make_result

# Kyverno builds against its own fork of PSA, cut from the Kubernetes 1.34
# branch: `latest` there means v1.34, so later revisions (the hostUsers
# relaxations, the v1.37 sysctls) do not apply. Raise this with the fork.
KYVERNO_NEWEST_REVISION = v1(34)

# The fork registers its checks in file-name order, and reports them so.
_KYVERNO_ORDER = (
    "allowPrivilegeEscalation",
    "appArmorProfile",
    "capabilities_baseline",
    "capabilities_restricted",
    "hostNamespaces",
    "hostPathVolumes",
    "hostPorts",
    "hostProbesAndHostLifecycle",
    "privileged",
    "procMount",
    "restrictedVolumes",
    "runAsNonRoot",
    "runAsUser",
    "seLinuxOptions",
    "seccompProfile_baseline",
    "seccompProfile_restricted",
    "sysctls",
    "windowsHostProcess",
)

# The PSS control names Kyverno accepts in `controlName`, and the checks each covers.
CONTROL_CHECKS: dict[str, tuple[str, ...]] = {
    "Capabilities": ("capabilities_baseline", "capabilities_restricted"),
    "Seccomp": ("seccompProfile_baseline", "seccompProfile_restricted"),
    "Privileged Containers": ("privileged",),
    "Host Ports": ("hostPorts",),
    "/proc Mount Type": ("procMount",),
    "HostProcess": ("windowsHostProcess",),
    "SELinux": ("seLinuxOptions",),
    "Host Namespaces": ("hostNamespaces",),
    "HostPath Volumes": ("hostPathVolumes",),
    "Sysctls": ("sysctls",),
    "AppArmor": ("appArmorProfile",),
    "Privilege Escalation": ("allowPrivilegeEscalation",),
    "Running as Non-root": ("runAsNonRoot",),
    "Running as Non-root user": ("runAsUser",),
    "Volume Types": ("restrictedVolumes",),
}

_INDEX = re.compile(r"[0-9]+")
_WORD = re.compile(r"[a-zA-Z]+")


def _kyverno_check(check: Check) -> Check:
    revisions = tuple(r for r in check.revisions if not KYVERNO_NEWEST_REVISION.is_older(r.since))
    return Check(check.check_id, check.level, revisions)


KYVERNO_CHECKS = tuple(_kyverno_check(catalogue.CHECKS_BY_ID[key]) for key in _KYVERNO_ORDER)


@dataclass(frozen=True)
class Exclusion:
    """One entry of `podSecurity.exclude` (or of a PolicyException's `podSecurity`)."""

    control_name: str
    images: tuple[str, ...] = ()
    restricted_field: str = ""
    values: tuple[str, ...] = ()


@dataclass
class FailedCheck:
    """A failed check with the fork's error list, which exclusions shrink in place."""

    result: CheckResult
    errors: list[FieldError] | None


def evaluate(
    level: str, version: Version, metadata: Mapping[str, Any], spec: Mapping[str, Any]
) -> list[FailedCheck]:
    """The checks that fail, in Kyverno's order, each with its error list."""
    failed = []
    for check in KYVERNO_CHECKS:
        if level == BASELINE and check.level != BASELINE:
            continue
        # NB: the first revision runs even for a version older than it.
        revision = check.revision_at(version) or check.revisions[0]
        result = make_result(check.check_id, check.level, revision.run(metadata, spec))
        if not result.allowed:
            failed.append(FailedCheck(result, fielderrors.field_errors(result, spec)))
    return failed


def apply_exclusions(
    failed: list[FailedCheck],
    exclusions: Sequence[Exclusion],
    *,
    level: str,
    version: Version,
    metadata: Mapping[str, Any],
    spec: Mapping[str, Any],
) -> list[FailedCheck]:
    """The failed checks left once every exclusion has been applied in turn."""
    for exclusion in exclusions:
        if exclusion.images:
            matching = _matching_containers(spec, exclusion.images)
            probe = evaluate(level, version, {}, matching)
            failed = _exempt(failed, probe, exclusion, spec=spec, matching=matching)
        else:
            probe = evaluate(level, version, metadata, _with_fake_container(spec))
            failed = _exempt(failed, probe, exclusion, spec=spec, matching=None)
    return failed


def _with_fake_container(spec: Mapping[str, Any]) -> dict[str, Any]:
    altered = {k: v for k, v in spec.items() if k not in pods.CONTAINER_LISTS}
    altered["containers"] = [{"name": "fake"}]
    return altered


def _matching_containers(spec: Mapping[str, Any], images: Sequence[str]) -> dict[str, Any]:
    matching: dict[str, Any] = {}
    for list_name in pods.CONTAINER_LISTS:
        chosen = [
            body
            for body in pods.items(spec, list_name)
            if _image_matches(images, pods.text(pods.mapping(body), "image"))
        ]
        if chosen:
            matching[list_name] = chosen
    return matching


def _image_matches(patterns: Sequence[str], image: str) -> bool:
    return any(wildcards.wildcard_match(pattern, image) for pattern in patterns)


def _exempt(
    failed: list[FailedCheck],
    probe: list[FailedCheck],
    exclusion: Exclusion,
    *,
    spec: Mapping[str, Any],
    matching: Mapping[str, Any] | None,
) -> list[FailedCheck]:
    remaining = {check.result.check_id: check for check in failed}
    check_ids = CONTROL_CHECKS.get(exclusion.control_name, ())
    for probed in probe:
        if probed.result.check_id not in check_ids or probed.errors is None:
            continue
        for error in probed.errors:
            field, container = _locate(error.field, matching)
            if exclusion.restricted_field and field != exclusion.restricted_field:
                continue
            if exclusion.values and not all(
                _image_matches(exclusion.values, value)
                for value in fielderrors.bad_value_texts(error)
            ):
                continue
            target = remaining.get(probed.result.check_id)
            if target is None or target.errors is None:
                continue
            _remove_first(
                target.errors, field, container, spec=spec, by_container=matching is not None
            )
            if not target.errors:
                del remaining[probed.result.check_id]
    return list(remaining.values())


def _remove_first(
    errors: list[FieldError],
    field: str,
    container: str | None,
    *,
    spec: Mapping[str, Any],
    by_container: bool,
) -> None:
    """Remove the first error on the same field (and container), as Kyverno does."""
    for index, error in enumerate(errors):
        other_field, other_container = _locate(error.field, spec if by_container else None)
        if other_container is not None:
            # NB: an exclusion error outside any container never matches one inside.
            if other_field != field or other_container != (container or ""):
                continue
        elif other_field != field:
            continue
        # Kyverno swaps the last error into the hole, which reorders the list.
        errors[index] = errors[-1]
        errors.pop()
        return


def _locate(field: str, spec: Mapping[str, Any] | None) -> tuple[str, str | None]:
    """The `*`-normalised field and, when `spec` is given, the container it is in."""
    normalised = _INDEX.sub("*", field)
    if spec is None:
        return normalised, None
    words = _WORD.findall(field)
    list_name = words[1] if len(words) > 1 else ""
    if list_name not in pods.CONTAINER_LISTS:
        return normalised, None
    index = int(_INDEX.findall(field)[0])
    containers = pods.items(spec, list_name)
    body = pods.mapping(containers[index]) if index < len(containers) else None
    return normalised, pods.text(body, "name")
