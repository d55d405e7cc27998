"""Which explanation fits a violation parsed from a rejection.

`policybot explain` and the bot's messages both start from a `Violation` and
both want the knowledge base's entry when there is one: a Pod Security check
is found by its check id, a Kyverno rule by its policy (or, for a bare rule
message, by the policy that has such a rule), and a Kyverno policy without an
entry still speaks through its own annotations. Only what to say when none of
that applies differs between a terminal and Slack, so that stays with them.
"""

from __future__ import annotations

from bot.intake import psa_messages
from bot.intake.violations import Violation
from bot.knowledge.explaining import Explained, Explainer, from_entry

PSS_POLICY = "pod-security-standards"
"""The knowledge base keys Pod Security checks under this policy name."""


def known_explanation(violation: Violation, explainer: Explainer) -> Explained | None:
    """The explanation the knowledge base or the policy gives; None when neither says anything."""
    if violation.engine == "psa":
        return _pss_check(violation, explainer)
    if violation.policy is not None:
        explained = explainer.explain(violation.policy, violation.rule, violation.message)
        # A Kyverno policy we hold explains itself through its annotations.
        if explained.source == "knowledge" or violation.engine == "kyverno":
            return explained
        return None
    if violation.engine == "kyverno" and violation.rule is not None:
        owner = _policy_with_rule(explainer, violation.rule)
        if owner is not None:
            return explainer.explain(owner, violation.rule, violation.message)
    return None


def _pss_check(violation: Violation, explainer: Explainer) -> Explained | None:
    if violation.rule is None:
        return None
    for check_id in psa_messages.check_ids(violation.rule, violation.policy):
        entry = explainer.catalog.lookup(PSS_POLICY, check_id)
        if entry is not None:
            return from_entry(entry)
    return None


def _policy_with_rule(explainer: Explainer, rule: str) -> str | None:
    """A bare Kyverno message names only its rule: the policy that has it."""
    for policy in explainer.policies.values():
        if any(r.name == rule or r.base_name == rule for r in policy.rules):
            return policy.name
    return None
