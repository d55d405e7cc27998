"""Kyverno's `validate.podSecurity` rule: one PSS level for a pod or its template.

This reproduces Kyverno's handler (pkg/engine/handlers/validation/validate_pss.go)
for a resource already matched by the rule: which kinds it reads a pod from,
how `version` is parsed, how `exclude` entries and PolicyException entries
remove failures (see `exclusions`), and the message it prints. Checks come
from this package's PSA implementation, run the way Kyverno runs them.

Kyverno quirks kept on purpose, since reports and denials show them:
- the message quotes `level:version` exactly as written in the rule, so an
  unset version prints as `"baseline:"`;
- field paths in the message are rewritten by plain text replacement (`spec`
  becomes `spec.template.spec` for a Deployment, `metadata` always becomes
  `spec.template.metadata`, even for a Pod);
- for a CronJob, the pod metadata is read from `spec.jobTemplate.metadata`.

Limitation: with exclusions Kyverno lists the remaining checks in Go map order,
which varies run to run; we keep them in check order instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.policy.pss import exclusions, fielderrors, levels, pods
from bot.policy.pss.exclusions import CONTROL_CHECKS, Exclusion, FailedCheck
from bot.policy.pss.results import CheckResult, FieldViolation

TEMPLATE_KINDS = (
    # The kinds whose pod template Kyverno reads at `spec.template`.
    "DaemonSet",
    "Deployment",
    "Job",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
)

# Controls whose exclusions must name images, and those that must not.
CONTAINER_LEVEL_CONTROLS = (
    "Capabilities",
    "Privileged Containers",
    "Host Ports",
    "/proc Mount Type",
    "Privilege Escalation",
)
POD_LEVEL_CONTROLS = ("Host Namespaces", "HostPath Volumes", "Sysctls", "Volume Types")
RESTRICTED_CONTROLS = (
    "Volume Types",
    "Privilege Escalation",
    "Running as Non-root",
    "Running as Non-root user",
    "Seccomp",
    "Capabilities",
)
SUPPORTED_VERSIONS = (*(f"v1.{minor}" for minor in range(19, 33)), "latest")


@dataclass(frozen=True)
class PodSecurityException:
    """The `podSecurity` part of a PolicyException already matched to the rule."""

    key: str
    """`namespace/name`, as Kyverno names the exception in messages."""
    exclude: tuple[Mapping[str, Any], ...] = ()
    """Empty when the exception has no `podSecurity`: it then skips the whole rule."""


@dataclass(frozen=True)
class PodSecurityOutcome:
    status: Literal["pass", "fail", "skip", "error"]
    message: str
    """Kyverno's rule message, word for word."""
    checks: tuple[CheckResult, ...] = ()
    """The failed checks left after exclusions, with only their remaining
    violations; violation paths are relative to the resource."""


def evaluate_pod_security(
    pod_security: Mapping[str, Any],
    resource: Mapping[str, Any],
    *,
    rule_name: str = "",
    exceptions: Sequence[PodSecurityException] = (),
) -> PodSecurityOutcome:
    """Evaluate a rule's `validate.podSecurity` against one resource.

    Args:
        pod_security: The rule's `validate.podSecurity` mapping.
        resource: A Pod, or a Deployment, DaemonSet, Job, StatefulSet,
            ReplicaSet, ReplicationController or CronJob.
        rule_name: Quoted in the message as Kyverno quotes it.
        exceptions: PolicyExceptions that match this rule and resource.
    """
    # An exception without podSecurity entries skips the rule outright.
    for exception in exceptions:
        if not exception.exclude:
            message = f"rule is skipped due to policy exception {exception.key}"
            return PodSecurityOutcome("skip", message)

    parts = _kyverno_pod_parts(resource)
    if parts is None:
        message = "Error while getting new resource: could not find correct resource type"
        return PodSecurityOutcome("error", message)
    metadata, spec = parts
    level = str(pod_security.get("level") or "")
    version_text = str(pod_security.get("version") or "")
    try:
        version = levels.parse_version(version_text or "latest")
    except ValueError as error:
        message = f"failed to parse pod security api version: {error}"
        return PodSecurityOutcome("error", message)

    # The rule's own exclusions first, then those of matching exceptions.
    failed = exclusions.evaluate(level, version, metadata, spec)
    rule_exclusions = parse_exclusions(pod_security.get("exclude"))
    if rule_exclusions:
        failed = exclusions.apply_exclusions(
            failed, rule_exclusions, level=level, version=version, metadata=metadata, spec=spec
        )
    if not failed:
        return PodSecurityOutcome("pass", f"Validation rule '{rule_name}' passed.")
    if exceptions:
        excluded = [e for exception in exceptions for e in parse_exclusions(exception.exclude)]
        failed = exclusions.apply_exclusions(
            failed, excluded, level=level, version=version, metadata=metadata, spec=spec
        )
        if not failed:
            keys = ", ".join(exception.key for exception in exceptions)
            return PodSecurityOutcome("skip", f"rule is skipped due to policy exceptions {keys}")

    kind = str(resource.get("kind") or "")
    listed = [(c.result, _rewrite_errors(c.errors, kind)) for c in failed]
    message = (
        f"Validation rule '{rule_name}' failed. It violates PodSecurity "
        f'"{level}:{version_text}": {fielderrors.format_checks(listed)}'
    )
    checks = tuple(_remaining(check, kind) for check in failed)
    return PodSecurityOutcome("fail", message, checks)


def parse_exclusions(entries: Any) -> list[Exclusion]:
    """Read `exclude` entries, ignoring anything that is not a mapping."""
    parsed = []
    for entry in entries if isinstance(entries, list | tuple) else ():
        if not isinstance(entry, Mapping):
            continue
        parsed.append(
            Exclusion(
                control_name=str(entry.get("controlName") or ""),
                images=_strings(entry.get("images")),
                restricted_field=str(entry.get("restrictedField") or ""),
                values=_strings(entry.get("values")),
            )
        )
    return parsed


def validate_pod_security(pod_security: Mapping[str, Any]) -> list[str]:
    """The errors Kyverno raises when a policy with this rule is created.

    Kyverno refuses such a policy at admission, so it never evaluates it;
    `evaluate_pod_security` does not call this and evaluates what it is given.
    Paths are relative to the rule.
    """
    errors = []
    level = pod_security.get("level")
    if level is not None and level not in levels.LEVELS:
        errors.append(_unsupported("validate.podSecurity.level", level, levels.LEVELS))
    version = pod_security.get("version")
    if version is not None and version not in SUPPORTED_VERSIONS:
        errors.append(_unsupported("validate.podSecurity.version", version, SUPPORTED_VERSIONS))

    for index, exclusion in enumerate(parse_exclusions(pod_security.get("exclude"))):
        path = f"podSecurity.exclude[{index}]"
        name = exclusion.control_name
        if name not in CONTROL_CHECKS:
            errors.append(_unsupported(f"validate.{path}.controlName", name, tuple(CONTROL_CHECKS)))
        if name in CONTAINER_LEVEL_CONTROLS and not exclusion.images:
            reason = "exclude.images must be specified for the container level control"
            errors.append(f'{path}.controlName: Invalid value: "{name}": {reason}')
        elif name in POD_LEVEL_CONTROLS and exclusion.images:
            reason = "exclude.images must not be specified for the pod level control"
            errors.append(f'{path}.controlName: Invalid value: "{name}": {reason}')
        if exclusion.restricted_field and not exclusion.values:
            errors.append(f"{path}.values: Forbidden: values is required")
        if not exclusion.restricted_field and exclusion.values:
            errors.append(f"{path}.restrictedField: Forbidden: restrictedField is required")

        # Seccomp and Capabilities have a baseline half, so baseline may name them.
        both_levels = name in ("Seccomp", "Capabilities")
        if level == levels.BASELINE and name in RESTRICTED_CONTROLS and not both_levels:
            reason = "Invalid control name defined at the given level"
            errors.append(f'{path}.controlName: Invalid value: "{name}": {reason}')
    return errors


def _unsupported(path: str, value: Any, supported: Sequence[str]) -> str:
    listed = ", ".join(f'"{item}"' for item in supported)
    return f'{path}: Unsupported value: "{value}": supported values: {listed}'


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(item) for item in value)


def _kyverno_pod_parts(
    resource: Mapping[str, Any],
) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    """Where Kyverno reads the pod from; unlike PSA, it ignores PodTemplate."""
    kind = resource.get("kind")
    if kind == "Pod":
        parts = pods.pod_parts(resource)
        return (parts[0], parts[1]) if parts else None
    if kind in TEMPLATE_KINDS:
        template = pods.child(pods.child(resource, "spec"), "template")
        return _meta_and_spec(template)
    if kind == "CronJob":
        job = pods.child(pods.child(resource, "spec"), "jobTemplate")
        template = pods.child(pods.child(job, "spec"), "template")
        # NB: Kyverno takes the job template's metadata, not the pod template's.
        return pods.child(job, "metadata") or {}, pods.child(template, "spec") or {}
    return None


def _meta_and_spec(
    template: Mapping[str, Any] | None,
) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    return pods.child(template, "metadata") or {}, pods.child(template, "spec") or {}


def _kyverno_field(field: str, kind: str) -> str:
    """Kyverno's textual rewrite of a pod path into the resource's path."""
    if kind in TEMPLATE_KINDS:
        field = field.replace("spec", "spec.template.spec")
    elif kind == "CronJob":
        field = field.replace("spec", "spec.jobTemplate.spec.template.spec")
    return field.replace("metadata", "spec.template.metadata")


def _rewrite_errors(
    errors: list[fielderrors.FieldError] | None, kind: str
) -> list[fielderrors.FieldError] | None:
    if errors is None:
        return None
    return [
        fielderrors.FieldError(_kyverno_field(e.field, kind), e.required, e.bad_value, e.violation)
        for e in errors
    ]


def _resource_path(path: str, kind: str) -> str:
    """A pod-relative path placed where the field really is in the resource."""
    if kind in TEMPLATE_KINDS:
        return f"spec.template.{path}"
    if kind == "CronJob":
        prefix = (
            "spec.jobTemplate."
            if path.startswith("metadata")
            else "spec.jobTemplate.spec.template."
        )
        return prefix + path
    return path


def _remaining(check: FailedCheck, kind: str) -> CheckResult:
    """The check as left by exclusions, with resource-relative violation paths."""
    result = check.result
    kept: tuple[FieldViolation, ...] = result.violations
    if check.errors is not None:
        kept = tuple(e.violation for e in check.errors if e.violation is not None)
    moved = tuple(
        FieldViolation(v.container, _resource_path(v.path, kind), v.value, v.allowed, v.missing)
        for v in kept
    )
    return CheckResult(result.check_id, result.level, False, result.reason, result.detail, moved)
