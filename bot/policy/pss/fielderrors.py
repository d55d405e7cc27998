"""The field errors Kyverno attaches to each failed PSS check, and how it prints them.

Kyverno runs PSA's checks from its own fork of the library, which adds a
list of Kubernetes field errors to every result. Exclusions match against
those errors, and the failure message prints them, so their exact shape
matters: whether an error is `Required` or `Forbidden`, and which "bad value"
it carries. The fork is not uniform here, and we keep its quirks:

- an unset `allowPrivilegeEscalation` is `Required` when the container has
  no securityContext at all, but `Forbidden` with the text value `"nil"`
  when it has one;
- restricted volume types carry no bad value, so `values` never filters them;
- `hostProbesAndHostLifecycle` carries no field errors at all, so no
  exclusion can remove it;
- `seccompProfile_restricted` drops the errors for unset profiles whenever
  some profile is set to a bad value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.policy.pss import pods
from bot.policy.pss.results import CheckResult, FieldViolation

BadValue = str | bool | int | tuple[str, ...]


@dataclass(frozen=True)
class FieldError:
    """One entry of a check's error list in Kyverno's PSA fork."""

    field: str
    required: bool
    """`Required value` rather than `Forbidden`."""
    bad_value: BadValue = ""
    """`""` stands for no bad value, which is how the fork leaves most `Required` errors."""
    violation: FieldViolation | None = None
    """The violation this error stands for."""


def field_errors(result: CheckResult, spec: Mapping[str, Any]) -> list[FieldError] | None:
    """The fork's error list for a failed check; None where the fork keeps none."""
    if result.check_id == "hostProbesAndHostLifecycle":
        return None
    violations: Sequence[FieldViolation] = result.violations
    if result.check_id == "seccompProfile_restricted":
        explicit = [v for v in violations if not v.missing]
        violations = explicit or violations
    return [_field_error(result.check_id, violation, spec) for violation in violations]


def _field_error(check_id: str, violation: FieldViolation, spec: Mapping[str, Any]) -> FieldError:
    if check_id == "restrictedVolumes":
        return FieldError(violation.path, False, "", violation)
    if check_id == "allowPrivilegeEscalation" and violation.missing:
        if _container_has_security_context(spec, violation.path):
            return FieldError(violation.path, False, "nil", violation)
        return FieldError(violation.path, True, "", violation)
    if violation.missing or violation.value is None:
        return FieldError(violation.path, True, "", violation)
    return FieldError(violation.path, False, _bad_value(violation.value), violation)


def _bad_value(value: Any) -> BadValue:
    if isinstance(value, str | bool | int):
        return value
    if isinstance(value, tuple):
        return tuple(str(item) for item in value)
    return str(value)


def _container_has_security_context(spec: Mapping[str, Any], path: str) -> bool:
    # The path starts `spec.<list>[<index>]`, which is enough to find the container.
    head = path.split(".")[1]
    list_name, _, index = head.partition("[")
    containers = pods.items(spec, list_name)
    position = int(index.rstrip("]"))
    if position >= len(containers):
        return False
    return pods.child(pods.mapping(containers[position]), "securityContext") is not None


def bad_value_texts(error: FieldError) -> list[str]:
    """The bad values as `values` patterns are matched against them."""
    value = error.bad_value
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, int):
        return [str(value)]
    if isinstance(value, tuple):
        return list(value)
    return [value] if value else []


def format_go_value(value: BadValue) -> str:
    """Go's `%+v` for the value types the fork uses."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + " ".join(value) + "]"
    return str(value)


def describe(error: FieldError) -> str:
    if not error.required and error.bad_value != "":
        found = format_go_value(error.bad_value)
        return f"{error.field} is forbidden, forbidden values found: {found}"
    return f"{error.field}: {'Required value' if error.required else 'Forbidden'}"


def format_checks(checks: Sequence[tuple[CheckResult, Sequence[FieldError] | None]]) -> str:
    """Kyverno's summary of failed checks: `(Forbidden reason: ..., field error list: [...])`.

    The groups follow one another without a separator, as Kyverno prints them.
    """
    parts = []
    for result, errors in checks:
        listed = ", ".join(describe(error) for error in errors or ())
        parts.append(f"(Forbidden reason: {result.reason}, field error list: [{listed}])")
    return "".join(parts)
