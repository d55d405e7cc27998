"""The explanation a team reads for one failed rule.

An entry written by the platform team wins. A rule nobody wrote an entry for
still gets an explanation, assembled from what the policy says about itself:
its title and description annotations, and the rule's own message. Either
way the reader learns what the rule wants, why, and how to comply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.knowledge.catalog import Catalog
from bot.knowledge.entries import Explanation
from bot.policy.policies import Policy

TITLE = "policies.kyverno.io/title"
DESCRIPTION = "policies.kyverno.io/description"


@dataclass(frozen=True)
class Explained:
    title: str
    why: str
    how_to_fix: str
    snippet: str = ""
    references: tuple[tuple[str, str], ...] = ()
    """(title, url) pairs, best first."""
    source: str = "knowledge"
    """"knowledge" for a written entry, "policy" when built from the policy itself."""
    exception_allowed: bool | None = None
    exception_max_duration: str | None = None
    exception_approvers: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "title": self.title,
            "why": self.why,
            "how_to_fix": self.how_to_fix,
            "snippet": self.snippet,
            "references": [{"title": t, "url": u} for t, u in self.references],
            "source": self.source,
            "exception": {
                "allowed": self.exception_allowed,
                "max_duration": self.exception_max_duration,
                "approvers": self.exception_approvers,
            },
        }


@dataclass
class Explainer:
    """Looks explanations up, falling back to the policies' own words."""

    catalog: Catalog
    policies: Mapping[str, Policy] = field(default_factory=dict)

    def explain(self, policy_name: str, rule_name: str | None, message: str = "") -> Explained:
        entry = self.catalog.lookup(policy_name, rule_name)
        if entry is not None:
            return from_entry(entry)
        return from_policy(self.policies.get(policy_name), policy_name, rule_name, message)


def from_entry(entry: Explanation) -> Explained:
    return Explained(
        title=entry.title,
        why=entry.why,
        how_to_fix=entry.fix.summary,
        snippet=entry.fix.snippet,
        references=tuple((ref.title, ref.url) for ref in entry.references),
        source="knowledge",
        exception_allowed=entry.exception.allowed,
        exception_max_duration=entry.exception.max_duration,
        exception_approvers=entry.exception.approvers,
    )


def from_policy(
    policy: Policy | None, policy_name: str, rule_name: str | None, message: str
) -> Explained:
    annotations = policy.annotations if policy is not None else {}
    rule_message = _rule_message(policy, rule_name)
    title = annotations.get(TITLE) or (f"{policy_name}/{rule_name}" if rule_name else policy_name)
    why = " ".join(str(annotations.get(DESCRIPTION, "")).split()) or (
        "The policy gives no description of why this rule exists; "
        "ask the platform team that owns it."
    )
    how = rule_message or message or "Change the manifest so that the rule's check passes."
    return Explained(title=title, why=why, how_to_fix=how, source="policy")


def _rule_message(policy: Policy | None, rule_name: str | None) -> str:
    if policy is None or rule_name is None:
        return ""
    for rule in policy.rules:
        if rule.name == rule_name or rule.base_name == rule_name:
            validate = rule.validate or {}
            return " ".join(str(validate.get("message") or "").split())
    return ""
