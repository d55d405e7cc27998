"""Fixes for the PSS checks on root and its powers: privileges, capabilities, users.

Each fixer takes the edit in progress and one failed check, and changes only
the fields the check's violations name, so that a container a Kyverno
`exclude` let off keeps its settings. The fields these checks guard all
default to the safe side once removed, except the ones the restricted level
wants set explicitly (`allowPrivilegeEscalation`, `runAsNonRoot`, the `ALL`
drop), which we set.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.policy.fixes.pss_edits import PodEdit, container_path, field_of, subject
from bot.policy.pss import phrases, pods
from bot.policy.pss.results import CheckResult, FieldViolation

Fixer = Callable[[PodEdit, CheckResult], None]


def fix_privileged(edit: PodEdit, check: CheckResult) -> None:
    for violation in check.violations:
        if edit.set(violation.path, False):
            edit.note(f"{subject(violation)}: set {field_of(violation)} to false")


def fix_proc_mount(edit: PodEdit, check: CheckResult) -> None:
    for violation in check.violations:
        if edit.set(violation.path, "Default"):
            edit.note(f'{subject(violation)}: set {field_of(violation)} to "Default"')


def fix_capabilities(edit: PodEdit, check: CheckResult) -> None:
    """Drop ALL where it is missing, and take out the adds the check names."""
    for violation in check.violations:
        if violation.path.endswith(".drop"):
            _drop_all(edit, violation)
        else:
            _remove_added(edit, violation)


def _drop_all(edit: PodEdit, violation: FieldViolation) -> None:
    # Appending keeps whatever the author already dropped by name.
    current = edit.get(violation.path)
    if isinstance(current, list):
        edit.append(violation.path, "ALL")
        edit.note(f'{subject(violation)}: add "ALL" to {field_of(violation)}')
    elif edit.set(violation.path, ["ALL"]):
        edit.note(f'{subject(violation)}: set {field_of(violation)} to ["ALL"]')


def _remove_added(edit: PodEdit, violation: FieldViolation) -> None:
    current = edit.get(violation.path)
    if not isinstance(current, list):
        return
    # The violation lists only the offending names; the rest of the list stays.
    offending = {str(name) for name in violation.value or ()}
    indexes = [index for index, name in enumerate(current) if str(name) in offending]
    if not indexes:
        return
    edit.remove_items(violation.path, indexes)
    names = phrases.join_quote(sorted({str(current[index]) for index in indexes}))
    edit.note(f"{subject(violation)}: remove {names} from {field_of(violation)}")


def fix_allow_privilege_escalation(edit: PodEdit, check: CheckResult) -> None:
    for violation in check.violations:
        if not edit.set(violation.path, False):
            continue
        edit.note(f"{subject(violation)}: set {field_of(violation)} to false")

        # NB: the API server refuses allowPrivilegeEscalation=false on a
        # container that stays privileged or adds `CAP_SYS_ADMIN` (spelled so;
        # it lets `SYS_ADMIN` through), which only an exclusion can leave.
        context = pods.mapping(edit.get(f"{container_path(violation.path)}.securityContext"))
        added = {str(c) for c in pods.items(pods.child(context, "capabilities"), "add")}
        if pods.is_true(context, "privileged") or "CAP_SYS_ADMIN" in added:
            edit.placeholder(violation.path)
            edit.note(
                f"{subject(violation)}: stays privileged or adds CAP_SYS_ADMIN, which the API "
                "server does not accept together with allowPrivilegeEscalation=false"
            )


def fix_run_as_non_root(edit: PodEdit, check: CheckResult) -> None:
    """Say `runAsNonRoot: true` once for the pod when that covers exactly the
    containers at fault, and per container otherwise."""
    pod_level = [v for v in check.violations if v.container is None]
    explicit = [v for v in check.violations if v.container is not None and not v.missing]
    implicit = [v for v in check.violations if v.missing]

    # The pod-level field is ours to set when the check names it, or when it
    # is unset and every container that would inherit it is at fault.
    _, spec = edit.pod()
    pod_context = pods.child(spec, "securityContext")
    inheriting = {
        c.path
        for c in pods.containers(spec)
        if not isinstance((c.security_context or {}).get("runAsNonRoot"), bool)
    }
    at_fault = {container_path(v.path) for v in implicit}
    pod_unset = not isinstance((pod_context or {}).get("runAsNonRoot"), bool)
    use_pod = bool(pod_level) or (bool(implicit) and pod_unset and inheriting <= at_fault)

    if use_pod:
        edit.set("spec.securityContext.runAsNonRoot", True)
        edit.note("pod: set securityContext.runAsNonRoot to true")
    per_container = explicit if use_pod else explicit + implicit
    for violation in per_container:
        if edit.set(violation.path, True):
            edit.note(f"{subject(violation)}: set {field_of(violation)} to true")


def fix_run_as_user(edit: PodEdit, check: CheckResult) -> None:
    # Removing the 0 lets the image's own user apply; restricted also requires
    # runAsNonRoot, so the kubelet will refuse to start a root image anyway.
    for violation in check.violations:
        if edit.remove(violation.path):
            edit.note(
                f"{subject(violation)}: remove {field_of(violation)}: 0; the user then "
                "comes from the pod or the image, which must not be root"
            )


FIXERS: dict[str, Fixer] = {
    "privileged": fix_privileged,
    "procMount": fix_proc_mount,
    "procMount_restricted": fix_proc_mount,
    "capabilities_baseline": fix_capabilities,
    "capabilities_restricted": fix_capabilities,
    "allowPrivilegeEscalation": fix_allow_privilege_escalation,
    "runAsNonRoot": fix_run_as_non_root,
    "runAsUser": fix_run_as_user,
}
