"""Checks on what a container may do as root: privileges, capabilities, users.

Each function takes the pod metadata and spec and returns a `Finding` when
the pod is forbidden, or None. Reasons and details are PSA's own words
(k8s.io/pod-security-admission/policy, check_privileged.go and siblings);
which revision applies at which version is decided in `catalogue`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.policy.pss import phrases, pods
from bot.policy.pss.results import FieldViolation, Finding

Spec = Mapping[str, Any]

# The container runtime's default set; adding any of these changes nothing.
DEFAULT_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)


def check_privileged(metadata: Spec, spec: Spec) -> Finding | None:
    bad: list[str] = []
    violations = []
    for container in pods.containers(spec):
        if pods.is_true(container.security_context, "privileged"):
            bad.append(container.name)
            path = f"{container.path}.securityContext.privileged"
            violations.append(FieldViolation(container.name, path, True, (False, None)))
    if not bad:
        return None
    detail = f"{phrases.containers_phrase(bad)} must not set securityContext.privileged=true"
    return Finding("privileged", detail, tuple(violations))


def check_allow_privilege_escalation(metadata: Spec, spec: Spec) -> Finding | None:
    bad: list[str] = []
    violations = []
    for container in pods.containers(spec):
        context = container.security_context
        if pods.is_false(context, "allowPrivilegeEscalation"):
            continue
        # Unset counts as true: the runtime's default lets setuid binaries escalate.
        value = True if pods.is_true(context, "allowPrivilegeEscalation") else None
        bad.append(container.name)
        path = f"{container.path}.securityContext.allowPrivilegeEscalation"
        violations.append(FieldViolation(container.name, path, value, (False,), value is None))
    if not bad:
        return None
    detail = (
        f"{phrases.containers_phrase(bad)} must set securityContext.allowPrivilegeEscalation=false"
    )
    return Finding("allowPrivilegeEscalation != false", detail, tuple(violations))


def check_allow_privilege_escalation_1_25(metadata: Spec, spec: Spec) -> Finding | None:
    # Windows pods cannot set the field at all, so from v1.25 they are exempt.
    if pods.is_windows(spec):
        return None
    return check_allow_privilege_escalation(metadata, spec)


def check_capabilities_baseline(metadata: Spec, spec: Spec) -> Finding | None:
    bad: list[str] = []
    added: set[str] = set()
    violations = []
    for container in pods.containers(spec):
        capabilities = pods.child(container.security_context, "capabilities")
        if capabilities is None:
            continue
        extra = [c for c in pods.items(capabilities, "add") if str(c) not in DEFAULT_CAPABILITIES]
        if not extra:
            continue
        bad.append(container.name)
        added.update(str(c) for c in extra)
        path = f"{container.path}.securityContext.capabilities.add"
        allowed = (None, *sorted(DEFAULT_CAPABILITIES))
        value = tuple(phrases.sorted_unique(str(c) for c in extra))
        violations.append(FieldViolation(container.name, path, value, allowed))
    if not bad:
        return None
    detail = (
        f"{phrases.containers_phrase(bad)} must not include "
        f"{phrases.join_quote(sorted(added))} in securityContext.capabilities.add"
    )
    return Finding("non-default capabilities", detail, tuple(violations))


def check_capabilities_restricted(metadata: Spec, spec: Spec) -> Finding | None:
    missing_drop: list[str] = []
    adding: list[str] = []
    added: set[str] = set()
    drop_violations = []
    add_violations = []
    for container in pods.containers(spec):
        capabilities = pods.child(container.security_context, "capabilities")
        drop = [str(c) for c in pods.items(capabilities, "drop")]
        path = f"{container.path}.securityContext.capabilities"

        # Dropping ALL is required; an empty or partial drop list is not enough.
        if "ALL" not in drop:
            missing_drop.append(container.name)
            value = tuple(phrases.sorted_unique(drop)) or None
            drop_violations.append(
                FieldViolation(container.name, f"{path}.drop", value, ("ALL",), value is None)
            )

        # Only NET_BIND_SERVICE may come back after the drop.
        extra = [str(c) for c in pods.items(capabilities, "add") if c != "NET_BIND_SERVICE"]
        if extra:
            adding.append(container.name)
            added.update(extra)
            value = tuple(phrases.sorted_unique(extra))
            add_violations.append(
                FieldViolation(container.name, f"{path}.add", value, (None, "NET_BIND_SERVICE"))
            )

    details = []
    if missing_drop:
        details.append(
            f"{phrases.containers_phrase(missing_drop)} must set "
            'securityContext.capabilities.drop=["ALL"]'
        )
    if adding:
        details.append(
            f"{phrases.containers_phrase(adding)} must not include "
            f"{phrases.join_quote(sorted(added))} in securityContext.capabilities.add"
        )
    if not details:
        return None
    violations = tuple(drop_violations + add_violations)
    return Finding("unrestricted capabilities", "; ".join(details), violations)


def check_capabilities_restricted_1_25(metadata: Spec, spec: Spec) -> Finding | None:
    if pods.is_windows(spec):
        return None
    return check_capabilities_restricted(metadata, spec)


def check_proc_mount(metadata: Spec, spec: Spec) -> Finding | None:
    bad: list[str] = []
    types: set[str] = set()
    violations = []
    for container in pods.containers(spec):
        context = container.security_context
        if context is None or context.get("procMount") is None:
            continue
        proc_mount = pods.text(context, "procMount")
        if proc_mount == "Default":
            continue
        bad.append(container.name)
        types.add(proc_mount)
        path = f"{container.path}.securityContext.procMount"
        violations.append(FieldViolation(container.name, path, proc_mount, (None, "Default")))
    if not bad:
        return None
    detail = (
        f"{phrases.containers_phrase(bad)} must not set securityContext.procMount to "
        f"{phrases.join_quote(sorted(types))}"
    )
    return Finding("procMount", detail, tuple(violations))


def check_proc_mount_1_35(metadata: Spec, spec: Spec) -> Finding | None:
    # In a user namespace an unmasked /proc exposes nothing of the host.
    if pods.uses_user_namespace(spec):
        return None
    return check_proc_mount(metadata, spec)


def check_run_as_non_root(metadata: Spec, spec: Spec) -> Finding | None:
    pod_context = pods.child(spec, "securityContext")
    setters: list[str] = []
    pod_violations = []
    if pods.is_false(pod_context, "runAsNonRoot"):
        setters.append("pod")
        path = "spec.securityContext.runAsNonRoot"
        pod_violations.append(FieldViolation(None, path, False, (True,)))
    pod_sets_true = pods.is_true(pod_context, "runAsNonRoot")

    # A container either says false outright, or inherits nothing useful.
    explicit: list[str] = []
    implicit: list[str] = []
    explicit_violations = []
    implicit_violations = []
    for container in pods.containers(spec):
        context = container.security_context
        path = f"{container.path}.securityContext.runAsNonRoot"
        if pods.is_false(context, "runAsNonRoot"):
            explicit.append(container.name)
            explicit_violations.append(FieldViolation(container.name, path, False, (True,)))
        elif not pods.is_true(context, "runAsNonRoot") and not pod_sets_true:
            implicit.append(container.name)
            implicit_violations.append(FieldViolation(container.name, path, None, (True,), True))

    violations = tuple(pod_violations + explicit_violations + implicit_violations)
    if explicit:
        setters.append(phrases.containers_phrase(explicit))
    if setters:
        detail = f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false"
        return Finding("runAsNonRoot != true", detail, violations)
    if implicit:
        who = phrases.containers_phrase(implicit)
        detail = f"pod or {who} must set securityContext.runAsNonRoot=true"
        return Finding("runAsNonRoot != true", detail, violations)
    return None


def check_run_as_non_root_1_35(metadata: Spec, spec: Spec) -> Finding | None:
    # UID 0 inside a user namespace maps to an unprivileged UID on the node.
    if pods.uses_user_namespace(spec):
        return None
    return check_run_as_non_root(metadata, spec)


def check_run_as_user(metadata: Spec, spec: Spec) -> Finding | None:
    setters: list[str] = []
    violations = []
    if pods.integer(pods.child(spec, "securityContext"), "runAsUser") == 0:
        setters.append("pod")
        violations.append(FieldViolation(None, "spec.securityContext.runAsUser", 0, (None, ">0")))
    bad: list[str] = []
    for container in pods.containers(spec):
        if pods.integer(container.security_context, "runAsUser") == 0:
            bad.append(container.name)
            path = f"{container.path}.securityContext.runAsUser"
            violations.append(FieldViolation(container.name, path, 0, (None, ">0")))
    if bad:
        setters.append(phrases.containers_phrase(bad))
    if not setters:
        return None
    detail = f"{' and '.join(setters)} must not set runAsUser=0"
    return Finding("runAsUser=0", detail, tuple(violations))


def check_run_as_user_1_35(metadata: Spec, spec: Spec) -> Finding | None:
    if pods.uses_user_namespace(spec):
        return None
    return check_run_as_user(metadata, spec)
