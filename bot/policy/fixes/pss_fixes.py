"""Fixes for failed Pod Security Standards checks, proven by running them again.

Three entry points, one per way a team meets the standards:

- `fix_psa` for a namespace's Pod Security Admission level and version;
- `fix_pod_security` for a Kyverno `validate.podSecurity` rule, where the
  rule's `exclude` entries decide which violations are left to fix;
- `fix_checks` for check results the caller already has.

The fixers themselves live in one module per check family (privileges, host
access, security profiles) and edit only the fields a violation names. The
first two entry points evaluate again after each round of edits: a fix can
reveal a failure the checks did not report before (Kyverno hides unset
seccomp profiles while a forbidden one is present), and the last evaluation
proves the result. A fix that still fails without a placeholder is a bug of
ours; it is logged, and `synthesis` will not call it exact.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.policy.fixes import pss_host_fixes, pss_privilege_fixes, pss_profile_fixes
from bot.policy.fixes.proposals import ProposedFix
from bot.policy.fixes.pss_edits import Location, PodEdit
from bot.policy.pss import catalogue, levels
from bot.policy.pss.kyverno import evaluate_pod_security
from bot.policy.pss.results import CheckResult, FieldViolation

logger = logging.getLogger(__name__)

FIXERS = {
    **pss_privilege_fixes.FIXERS,
    **pss_host_fixes.FIXERS,
    **pss_profile_fixes.FIXERS,
}

# Privileges and capabilities go first: whether allowPrivilegeEscalation=false
# is acceptable to the API server depends on what is left of them.
_FIRST = ("privileged", "capabilities_baseline", "capabilities_restricted")
_LAST = ("allowPrivilegeEscalation",)

MAX_ROUNDS = 3
"""Two rounds suffice for every known case; the third is a safety margin."""


def fix_checks(
    resource: Mapping[str, Any],
    checks: Sequence[CheckResult],
    *,
    version: str = "latest",
) -> ProposedFix | None:
    """Patch a Pod or pod controller so that the failed checks given pass.

    Args:
        resource: The manifest the checks were run on.
        checks: Results of `evaluate_pod` on the pod of `resource`, with
            pod-relative paths; allowed ones are ignored.
        version: The policy version the checks were run at, to verify with.
    """
    location = Location.for_psa(resource)
    failed = [check for check in checks if not check.allowed]
    if location is None or not failed:
        return None
    edit = PodEdit(resource, location)
    _apply_fixers(edit, failed)

    level = "restricted" if any(c.level == levels.RESTRICTED for c in failed) else "baseline"
    wanted = {check.check_id for check in failed}
    left = [c for c in _psa_failures(edit, level, version) if c.check_id in wanted]
    _report_unproven(edit, left)
    return edit.proposal()


def fix_psa(
    resource: Mapping[str, Any], *, level: str, version: str = "latest"
) -> ProposedFix | None:
    """Patch a Pod or pod controller so that it meets a Pod Security Admission level.

    Raises:
        ValueError: for an unknown level or a malformed version.
    """
    location = Location.for_psa(resource)
    if location is None:
        levels.parse_level(level)
        levels.parse_version(version)
        return None
    edit = PodEdit(resource, location)
    for _ in range(MAX_ROUNDS):
        failed = _psa_failures(edit, level, version)
        if not failed or not _apply_fixers(edit, failed):
            break
    _report_unproven(edit, _psa_failures(edit, level, version))
    return edit.proposal()


def fix_pod_security(
    resource: Mapping[str, Any], pod_security: Mapping[str, Any], *, rule_name: str = ""
) -> ProposedFix | None:
    """Patch a resource so that a Kyverno `validate.podSecurity` block passes.

    Only the violations left after the block's `exclude` entries are fixed,
    so excluded containers and fields keep their settings.
    """
    location = Location.for_kyverno(resource)
    if location is None:
        return None
    edit = PodEdit(resource, location)
    left: list[CheckResult] = []
    for _ in range(MAX_ROUNDS + 1):
        outcome = evaluate_pod_security(pod_security, edit.document, rule_name=rule_name)
        left = [_pod_relative(check, location) for check in outcome.checks]
        if outcome.status != "fail" or not _apply_fixers(edit, left):
            break
    _report_unproven(edit, left)
    return edit.proposal()


def _psa_failures(edit: PodEdit, level: str, version: str) -> list[CheckResult]:
    metadata, spec = edit.pod()
    results = catalogue.evaluate_pod(metadata, spec, level=level, version=version)
    return [result for result in results if not result.allowed]


def _apply_fixers(edit: PodEdit, checks: Iterable[CheckResult]) -> bool:
    """Run the fixer of every failed check, in a safe order; True if anything changed."""
    before = len(edit.ops)
    for check in sorted(checks, key=_order):
        fixer = FIXERS.get(check.check_id)
        if fixer is None:
            logger.warning("No fix is known for the Pod Security check %s.", check.check_id)
            continue
        fixer(edit, check)
    return len(edit.ops) > before


def _order(check: CheckResult) -> int:
    if check.check_id in _FIRST:
        return 0
    return 2 if check.check_id in _LAST else 1


def _pod_relative(check: CheckResult, location: Location) -> CheckResult:
    """A Kyverno result, whose paths are in the resource, as the fixers expect it."""
    moved = tuple(
        FieldViolation(v.container, location.pod_path(v.path), v.value, v.allowed, v.missing)
        for v in check.violations
    )
    return CheckResult(
        check.check_id, check.level, check.allowed, check.reason, check.detail, moved
    )


def _report_unproven(edit: PodEdit, left: Sequence[CheckResult]) -> None:
    if left and not edit.placeholders and edit.ops:
        names = ", ".join(check.check_id for check in left)
        logger.warning("A Pod Security fix leaves checks failing: %s.", names)
