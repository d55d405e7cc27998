"""Running one rule's `validate` block and phrasing the outcome as Kyverno does.

Kyverno's webhook messages are what teams paste into chat, so we keep them
word for word (`validation error: <message> rule <name> failed at path
<path>`): the same text then means the same thing whether it came from the
cluster or from `policybot check`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.policy import patterns
from bot.policy.policies import Rule
from bot.policy.requests import AdmissionRequest
from bot.policy.results import Status

UNSUPPORTED = ("deny", "foreach", "podSecurity", "cel", "manifests")


@dataclass(frozen=True)
class RuleOutcome:
    status: Status
    message: str
    path: str = ""


def validate_rule(rule: Rule, request: AdmissionRequest) -> RuleOutcome | None:
    """The outcome of the rule's validation, or None where Kyverno reports nothing."""
    validate = rule.validate or {}
    if "pattern" in validate or "anyPattern" in validate:
        if request.operation == "DELETE" and request.old_object is None:
            return None
        resource = request.subject
        if "pattern" in validate:
            return _validate_pattern(rule, validate, resource)
        return _validate_any_pattern(rule, validate, resource)
    kind = next((key for key in UNSUPPORTED if key in validate), "unknown")
    return RuleOutcome(
        status="error",
        message=f"rule {rule.name} uses validate.{kind}, which this engine does not evaluate yet",
    )


def _validate_pattern(
    rule: Rule, validate: Mapping[str, Any], resource: Mapping[str, Any]
) -> RuleOutcome:
    outcome = patterns.validate_pattern(resource, validate["pattern"])
    if outcome.status == "pass":
        return RuleOutcome("pass", f"validation rule '{rule.name}' passed.")
    if outcome.status == "skip":
        return RuleOutcome("skip", outcome.reason or "conditional anchor mismatch", outcome.path)
    if not outcome.path:
        return RuleOutcome("error", _error_message(rule, validate, outcome.reason))
    return RuleOutcome("fail", _failure_message(rule, validate, outcome.path), outcome.path)


def _validate_any_pattern(
    rule: Rule, validate: Mapping[str, Any], resource: Mapping[str, Any]
) -> RuleOutcome:
    failures: list[str] = []
    skips: list[str] = []
    first_path = ""
    for index, pattern in enumerate(validate["anyPattern"]):
        outcome = patterns.validate_pattern(resource, pattern)
        if outcome.status == "pass":
            return RuleOutcome("pass", f"validation rule '{rule.name}' anyPattern[{index}] passed.")
        if outcome.status == "skip":
            skips.append(f"rule {rule.name}[{index}] skipped: {outcome.reason}")
        elif outcome.path:
            failures.append(f"rule {rule.name}[{index}] failed at path {outcome.path}")
            first_path = first_path or outcome.path
        else:
            failures.append(f"rule {rule.name}[{index}] failed: {outcome.reason}")
    # NB: only when every alternative skipped is the whole rule a skip.
    if skips and not failures:
        return RuleOutcome("skip", " ".join(skips))
    details = " ".join(failures)
    message = str(validate.get("message") or "")
    if not message:
        return RuleOutcome("fail", f"validation error: {details}", first_path)
    separator = " " if message.endswith(".") else ". "
    return RuleOutcome("fail", f"validation error: {message}{separator}{details}", first_path)


def _failure_message(rule: Rule, validate: Mapping[str, Any], path: str) -> str:
    message = str(validate.get("message") or "")
    if not message:
        return f"validation error: rule {rule.name} failed at path {path}"
    if not message.endswith("."):
        message += "."
    return f"validation error: {message} rule {rule.name} failed at path {path}"


def _error_message(rule: Rule, validate: Mapping[str, Any], reason: str) -> str:
    message = str(validate.get("message") or "")
    if not message:
        return f"validation error: rule {rule.name} execution error: {reason}"
    if not message.endswith("."):
        message += "."
    return f"validation error: {message} rule {rule.name} execution error: {reason}"
