"""The verdict of one rule on one resource, as the rest of Policybot sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.policy.resources import ResourceRef

Status = Literal["pass", "fail", "warn", "skip", "error"]
Action = Literal["enforce", "audit"]


@dataclass(frozen=True)
class RuleResult:
    """What Kyverno would put in a policy report for one rule and resource."""

    policy: str
    rule: str
    """The rule evaluated: `autogen-...` for rules generated for controllers."""
    base_rule: str
    """The rule as written in the policy."""
    resource: ResourceRef
    status: Status
    message: str
    path: str = ""
    """Where the resource failed, in Kyverno's form: `/spec/containers/0/image/`."""
    action: Action = "audit"
    """Whether a failure blocks admission (enforce) or is only reported (audit)."""
    policy_namespace: str = ""

    @property
    def blocks(self) -> bool:
        return self.status == "fail" and self.action == "enforce"
