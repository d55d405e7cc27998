"""Checks on the kernel security profiles: AppArmor, SELinux and seccomp.

Each profile can be set for the whole pod, per container, and (for the old
AppArmor and seccomp forms) in annotations. PSA names every place that sets
a bad value: `pod and containers "a", "b" must not set ...`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.policy.pss import phrases, pods
from bot.policy.pss.results import FieldViolation, Finding

Spec = Mapping[str, Any]
CheckFn = Callable[[Spec, Spec], Finding | None]

APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
PROFILE_TYPES = ("RuntimeDefault", "Localhost")

SELINUX_TYPES_1_0 = ("", "container_t", "container_init_t", "container_kvm_t")
SELINUX_TYPES_1_31 = (*SELINUX_TYPES_1_0, "container_engine_t")


def _contexts(spec: Spec) -> list[tuple[str | None, str, Mapping[str, Any] | None]]:
    """The pod's security context, then each container's, with their paths."""
    found: list[tuple[str | None, str, Mapping[str, Any] | None]] = [
        (None, "spec.securityContext", pods.child(spec, "securityContext"))
    ]
    for container in pods.containers(spec):
        found.append(
            (container.name, f"{container.path}.securityContext", container.security_context)
        )
    return found


def _setters(pod_is_bad: bool, containers: list[str]) -> list[str]:
    setters = ["pod"] if pod_is_bad else []
    if containers:
        setters.append(phrases.containers_phrase(containers))
    return setters


def _annotation_path(key: str) -> str:
    return f"metadata.annotations[{key}]"


def check_apparmor_profile(metadata: Spec, spec: Spec) -> Finding | None:
    pod_is_bad = False
    bad: list[str] = []
    types: set[str] = set()
    violations = []
    for container, path, context in _contexts(spec):
        profile = pods.child(context, "appArmorProfile")
        if profile is None or pods.text(profile, "type") in PROFILE_TYPES:
            continue
        kind = pods.text(profile, "type")
        types.add(kind)
        if container is None:
            pod_is_bad = True
        else:
            bad.append(container)
        field = f"{path}.appArmorProfile.type"
        violations.append(FieldViolation(container, field, kind, (None, *PROFILE_TYPES)))
    setters = _setters(pod_is_bad, bad)
    values = sorted(types)

    # The deprecated annotations allow "", runtime/default and localhost/<name>.
    forbidden = []
    for key, value in sorted(pods.annotations_of(metadata).items()):
        if not key.startswith(APPARMOR_ANNOTATION_PREFIX):
            continue
        if value in ("", "runtime/default") or value.startswith("localhost/"):
            continue
        forbidden.append(f"{key}={phrases.go_quote(value)}")
        allowed = (None, "", "runtime/default", "localhost/*")
        violations.append(FieldViolation(None, _annotation_path(key), value, allowed))
    if forbidden:
        values += sorted(forbidden)
        setters.append(phrases.pluralize("annotation", "annotations", len(forbidden)))

    if not setters:
        return None
    reason = phrases.pluralize(
        "forbidden AppArmor profile", "forbidden AppArmor profiles", len(values)
    )
    detail = (
        f"{' and '.join(setters)} must not set AppArmor profile type to "
        f"{phrases.join_quote(values)}"
    )
    return Finding(reason, detail, tuple(violations))


def selinux_check(allowed_types: tuple[str, ...]) -> CheckFn:
    """The SELinux check for one revision's list of allowed types."""

    def check_selinux_options(metadata: Spec, spec: Spec) -> Finding | None:
        pod_is_bad = False
        bad: list[str] = []
        types: set[str] = set()
        user_set = role_set = False
        violations = []
        for container, path, context in _contexts(spec):
            options = pods.child(context, "seLinuxOptions")
            if options is None:
                continue
            found = []
            kind = pods.text(options, "type")
            if kind not in allowed_types:
                types.add(kind)
                found.append(
                    FieldViolation(container, f"{path}.seLinuxOptions.type", kind, allowed_types)
                )
            # A custom user or role is never allowed; only the type may vary.
            for field in ("user", "role"):
                value = pods.text(options, field)
                if value:
                    user_set = user_set or field == "user"
                    role_set = role_set or field == "role"
                    found.append(
                        FieldViolation(container, f"{path}.seLinuxOptions.{field}", value, ("",))
                    )
            if not found:
                continue
            violations += found
            if container is None:
                pod_is_bad = True
            else:
                bad.append(container)

        setters = _setters(pod_is_bad, bad)
        if not setters:
            return None
        data = []
        if types:
            noun = phrases.pluralize("type", "types", len(types))
            data.append(f"{noun} {phrases.join_quote(sorted(types))}")
        if user_set:
            data.append("user may not be set")
        if role_set:
            data.append("role may not be set")
        detail = (
            f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: "
            f"{'; '.join(data)}"
        )
        return Finding("seLinuxOptions", detail, tuple(violations))

    return check_selinux_options


def check_seccomp_annotations(metadata: Spec, spec: Spec) -> Finding | None:
    """Baseline before v1.19, when seccomp was still set through annotations."""
    annotations = pods.annotations_of(metadata)
    keys = [SECCOMP_POD_ANNOTATION]
    keys += [SECCOMP_CONTAINER_ANNOTATION_PREFIX + c.name for c in pods.containers(spec)]
    forbidden: set[str] = set()
    violations = []
    for key in dict.fromkeys(keys):
        value = annotations.get(key)
        if value is None or _valid_seccomp_annotation(value):
            continue
        forbidden.add(f"{key}={phrases.go_quote(value)}")
        allowed = ("runtime/default", "docker/default", "localhost/*", None)
        violations.append(FieldViolation(None, _annotation_path(key), value, allowed))
    if not forbidden:
        return None
    noun = phrases.pluralize("annotation", "annotations", len(forbidden))
    detail = f"forbidden {noun} {', '.join(sorted(forbidden))}"
    return Finding("seccompProfile", detail, tuple(violations))


def _valid_seccomp_annotation(value: str) -> bool:
    return value in ("runtime/default", "docker/default") or value.startswith("localhost/")


def check_seccomp_baseline(metadata: Spec, spec: Spec) -> Finding | None:
    """Baseline from v1.19: a seccomp profile may be unset, but not unconfined."""
    return _check_seccomp(spec, require=False)


def check_seccomp_restricted(metadata: Spec, spec: Spec) -> Finding | None:
    return _check_seccomp(spec, require=True)


def check_seccomp_restricted_1_25(metadata: Spec, spec: Spec) -> Finding | None:
    # Windows pods cannot use seccomp, so from v1.25 they need not set it.
    if pods.is_windows(spec):
        return None
    return _check_seccomp(spec, require=True)


def _check_seccomp(spec: Spec, *, require: bool) -> Finding | None:
    pod_is_bad = pod_is_set = False
    bad: list[str] = []
    unset: list[str] = []
    values: set[str] = set()
    violations = []
    unset_violations = []
    for container, path, context in _contexts(spec):
        profile = pods.child(context, "seccompProfile")
        field = f"{path}.seccompProfile.type"
        if profile is None:
            # Restricted wants a profile on every container the pod's own misses.
            if container is not None and require and not pod_is_set:
                unset.append(container)
                allowed: tuple[Any, ...] = PROFILE_TYPES
                unset_violations.append(FieldViolation(container, field, None, allowed, True))
            continue
        kind = pods.text(profile, "type")
        if kind in PROFILE_TYPES:
            pod_is_set = pod_is_set or container is None
            continue
        values.add(kind)
        if container is None:
            pod_is_bad = True
        else:
            bad.append(container)
        allowed = PROFILE_TYPES if require else (None, *PROFILE_TYPES)
        violations.append(FieldViolation(container, field, kind, allowed))

    setters = _setters(pod_is_bad, bad)
    all_violations = tuple(violations + unset_violations)
    if setters:
        detail = (
            f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
            f"{phrases.join_quote(sorted(values))}"
        )
        return Finding("seccompProfile", detail, all_violations)
    if unset:
        detail = (
            f"pod or {phrases.containers_phrase(unset)} must set "
            'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"'
        )
        return Finding("seccompProfile", detail, all_violations)
    return None
