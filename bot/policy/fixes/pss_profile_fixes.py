"""Fixes for the PSS checks on kernel security profiles: seccomp, AppArmor, SELinux.

A forbidden seccomp or AppArmor profile is replaced by the runtime's default
profile rather than removed: for seccomp an unset profile would still fail
the restricted level, and `RuntimeDefault` says what was meant. The whole
profile object is replaced, because a `localhostProfile` left next to
`RuntimeDefault` is refused by the API server. SELinux is the other way
round: the forbidden keys are removed, and the runtime picks its own label.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from bot.policy.fixes.pss_edits import PodEdit, container_path, field_of, parent_path, subject
from bot.policy.pss import phrases, pods, profiles
from bot.policy.pss.results import CheckResult, FieldViolation

Fixer = Callable[[PodEdit, CheckResult], None]

RUNTIME_DEFAULT = {"type": "RuntimeDefault"}
RUNTIME_DEFAULT_ANNOTATION = "runtime/default"


def fix_seccomp(edit: PodEdit, check: CheckResult) -> None:
    """Forbidden profiles become RuntimeDefault; missing ones are then added."""
    missing = [v for v in check.violations if v.missing]
    for violation in check.violations:
        if violation.path.startswith("metadata."):
            _fix_annotation(edit, violation)
        elif not violation.missing:
            _set_runtime_default(edit, violation)
    if missing:
        _add_missing_seccomp(edit, missing)


def _add_missing_seccomp(edit: PodEdit, missing: list[FieldViolation]) -> None:
    # Fixing a forbidden pod-level profile may already cover every container.
    _, spec = edit.pod()
    pod_profile = pods.child(pods.child(spec, "securityContext"), "seccompProfile")
    if pods.text(pod_profile, "type") in profiles.PROFILE_TYPES:
        return

    # Set it once for the pod when exactly the containers at fault inherit it.
    inheriting = {
        c.path
        for c in pods.containers(spec)
        if pods.child(c.security_context, "seccompProfile") is None
    }
    at_fault = {container_path(v.path) for v in missing}
    if pod_profile is None and inheriting <= at_fault:
        edit.set("spec.securityContext.seccompProfile", dict(RUNTIME_DEFAULT))
        edit.note('pod: set securityContext.seccompProfile.type to "RuntimeDefault"')
        return
    for violation in missing:
        _set_runtime_default(edit, violation)


def fix_apparmor(edit: PodEdit, check: CheckResult) -> None:
    for violation in check.violations:
        if violation.path.startswith("metadata."):
            _fix_annotation(edit, violation)
        else:
            _set_runtime_default(edit, violation)


def _set_runtime_default(edit: PodEdit, violation: FieldViolation) -> None:
    """Replace the profile object holding `violation`'s `type` field."""
    if edit.set(parent_path(violation.path), dict(RUNTIME_DEFAULT)):
        edit.note(f'{subject(violation)}: set {field_of(violation)} to "RuntimeDefault"')


def _fix_annotation(edit: PodEdit, violation: FieldViolation) -> None:
    # The annotation form predates the fields; its spelling of the default differs.
    if edit.set(violation.path, RUNTIME_DEFAULT_ANNOTATION):
        key = violation.path.removeprefix("metadata.annotations[").removesuffix("]")
        edit.note(f'pod: set the annotation {key} to "{RUNTIME_DEFAULT_ANNOTATION}"')


def fix_selinux(edit: PodEdit, check: CheckResult) -> None:
    """Remove the forbidden keys, or the whole options when nothing else is left."""
    by_options: dict[str, list[FieldViolation]] = defaultdict(list)
    for violation in check.violations:
        by_options[parent_path(violation.path)].append(violation)

    for options_path, found in by_options.items():
        options = pods.mapping(edit.get(options_path)) or {}
        keys = {_key(v.path) for v in found}
        first = found[0]
        listed = ", ".join(
            f"{_key(v.path)} {phrases.go_quote(str(v.value))}"
            for v in sorted(found, key=lambda v: v.path)
        )
        if set(options) <= keys:
            removed = edit.remove(options_path)
        else:
            removed = False
            for violation in found:
                removed = edit.remove(violation.path) or removed
        if removed:
            where = field_of(first).rsplit(".", 1)[0]
            edit.note(f"{subject(first)}: remove {listed} from {where}")


def _key(path: str) -> str:
    return path.rsplit(".", 1)[-1]


FIXERS: dict[str, Fixer] = {
    "seccompProfile_baseline": fix_seccomp,
    "seccompProfile_restricted": fix_seccomp,
    "appArmorProfile": fix_apparmor,
    "seLinuxOptions": fix_selinux,
}
