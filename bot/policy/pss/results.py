"""What a Pod Security Standards check says about one pod.

PSA itself only keeps a reason and a detail per failed check; that text is
what users see in a denial, so we reproduce it to the character. Next to it
we keep one `FieldViolation` per offending field, which is what the bot needs
to point at a line of YAML and propose a fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.policy.pss import levels


@dataclass(frozen=True)
class FieldViolation:
    """One field of the pod that a check rejects.

    `allowed` lists the values the field may take. `None` in it means the
    field may be left unset; a string ending in `*` is a prefix (as in
    `localhost/*`); `">0"` stands for any positive integer. For list fields
    (`capabilities.add`/`drop`) `value` holds the offending entries only.
    """

    container: str | None
    """The container's name, or None for a pod-level field or annotation."""
    path: str
    """Where the field sits in the pod, e.g. `spec.containers[0].securityContext.privileged`."""
    value: Any
    """The offending value; None when the field is required but unset."""
    allowed: tuple[Any, ...]
    missing: bool = False
    """True when the check wants the field set and it is not."""


@dataclass(frozen=True)
class Finding:
    """What a check function reports when it forbids a pod."""

    reason: str
    detail: str
    violations: tuple[FieldViolation, ...]


@dataclass(frozen=True)
class CheckResult:
    check_id: str
    """The PSA check ID, e.g. `allowPrivilegeEscalation` or `capabilities_restricted`."""
    level: str
    """The level the check belongs to: `baseline` or `restricted`."""
    allowed: bool
    reason: str = ""
    """PSA's forbidden reason, e.g. `allowPrivilegeEscalation != false`."""
    detail: str = ""
    """PSA's forbidden detail, e.g. `container "app" must set ...=false`."""
    violations: tuple[FieldViolation, ...] = field(default=())


def make_result(check_id: str, level: str, finding: Finding | None) -> CheckResult:
    if finding is None:
        return CheckResult(check_id=check_id, level=level, allowed=True)
    return CheckResult(
        check_id=check_id,
        level=level,
        allowed=False,
        reason=finding.reason,
        detail=finding.detail,
        violations=finding.violations,
    )


def format_forbidden_detail(results: list[CheckResult]) -> str:
    """Join failed checks as PSA does: `reason (detail), reason, ...`."""
    parts = []
    for result in results:
        if result.allowed:
            continue
        # PSA substitutes a placeholder rather than print an empty reason.
        reason = result.reason or "unknown forbidden reason"
        parts.append(f"{reason} ({result.detail})" if result.detail else reason)
    return ", ".join(parts)


def format_psa_message(results: list[CheckResult], *, level: str, version: str) -> str:
    """The text PSA puts in an enforce denial, after `pods "x" is forbidden: `.

    Audit annotations and warnings carry the same text with `would violate`
    in place of `violates`.
    """
    pair = levels.format_level_version(level, version)
    return f'violates PodSecurity "{pair}": {format_forbidden_detail(results)}'
