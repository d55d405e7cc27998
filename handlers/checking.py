"""Checking manifests and live objects against the policies, and explaining rules.

The `Judge` is what `/policy check`, `/policy explain`, the pasted-manifest
modal and the Re-check and Explain buttons run: it evaluates one manifest with
the Kyverno and CEL policies the bot is configured with, attaches each
failure's explanation and synthesised fix, and looks up the explanation of a
named rule or of every violation in a pasted rejection.

It returns plain values (`bot.slack.command_texts.Verdict`, `Explanation`)
and knows nothing of how they reach a person: `bot.slack.app` takes it as a
`Checker`, runs it in a worker thread and sends the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.intake import parsing
from bot.knowledge.catalog import Catalog
from bot.knowledge.explaining import Explained, Explainer
from bot.notify import notices
from bot.policy import celpolicies, engine
from bot.policy.celpolicies import CelPolicy
from bot.policy.contexts import ContextResolver
from bot.policy.fixes import diffs, synthesis
from bot.policy.policies import Policy
from bot.policy.requests import AdmissionRequest
from bot.policy.results import RuleResult
from bot.slack import command_texts as texts, messages

FINDING_STATUSES = ("fail", "warn", "error")


class Judge:
    """Evaluates manifests and explains rules, with the configured policies.

    Synchronous; the listeners run it in a worker thread. With a `resolver`,
    `configMap` and `apiCall` context entries read the cluster (blocking);
    without one they stay unset, as in the Kyverno CLI.
    """

    def __init__(
        self,
        *,
        policies: Sequence[Policy],
        cel_policies: Sequence[CelPolicy] = (),
        catalog: Catalog,
        resolver: ContextResolver | None = None,
    ) -> None:
        self.policies = list(policies)
        self.inputs = engine.Inputs(resolver=resolver) if resolver is not None else engine.NO_INPUTS
        self.cel_policies = list(cel_policies)
        self.catalog = catalog
        self.explainer = Explainer(catalog, {policy.name: policy for policy in self.policies})

    @property
    def policy_names(self) -> set[str]:
        return {p.name for p in self.policies} | {p.name for p in self.cel_policies}

    def check(self, manifest: Mapping[str, Any], *, subject: str) -> texts.Verdict:
        """Every rule the manifest fails, each with its explanation and fix."""
        request = AdmissionRequest(object=dict(manifest))
        kyverno = engine.evaluate_all(self.policies, request, self.inputs)
        cel = celpolicies.evaluate_all(self.cel_policies, request)
        findings = []
        for result in [*kyverno, *cel]:
            if result.status not in FINDING_STATUSES:
                continue
            fix = None
            if result in kyverno and result.status in ("fail", "warn"):
                fix = synthesis.synthesize(
                    result, request, self.policies, before=kyverno, inputs=self.inputs
                )
            findings.append(self._finding(result, fix, manifest))
        passed = sum(1 for r in [*kyverno, *cel] if r.status == "pass")
        return texts.Verdict(subject=subject, findings=tuple(findings), passed=passed)

    def explain_rule(self, policy: str, rule: str | None) -> texts.Explanation | None:
        """The explanation of a rule or policy we know; None for a stranger."""
        known = policy in self.policy_names or self.catalog.lookup(policy, rule) is not None
        if not known:
            return None
        return _explanation(self.explainer.explain(policy, rule), policy=policy, rule=rule)

    def explain_text(self, text: str) -> list[texts.Explanation]:
        """The explanations of every violation a pasted rejection names."""
        found = []
        for record in parsing.parse(text):
            for violation in record.violations:
                explained = notices.explain(violation, self.explainer)
                found.append(
                    _explanation(
                        explained,
                        policy=violation.policy or "",
                        rule=violation.rule,
                        message=violation.message,
                    )
                )
        return found

    def _finding(
        self, result: RuleResult, fix: synthesis.Fix | None, manifest: Mapping[str, Any]
    ) -> texts.Finding:
        explained = self.explainer.explain(result.policy, result.base_rule or None, result.message)
        view = messages.FixView("none")
        if fix is not None:
            diff = ""
            if fix.fixed is not None:
                diff = diffs.diff_objects(manifest, fix.fixed, name=_file_name(manifest))
            view = messages.FixView(
                fix.status,
                diff=diff,
                summary=fix.summary,
                note=fix.note,
                placeholders=notices.placeholders_in(fix.ops),
            )
        return texts.Finding(
            policy=result.policy,
            rule=result.rule,
            base_rule=result.base_rule,
            status=result.status,
            blocks=result.blocks or (result.status == "error" and result.action == "enforce"),
            message=result.message,
            path=result.path,
            title=explained.title,
            why=explained.why,
            how_to_fix=explained.how_to_fix,
            references=explained.references,
            fix=view,
        )


def _explanation(
    explained: Explained, *, policy: str, rule: str | None, message: str = ""
) -> texts.Explanation:
    terms = None
    if explained.exception_allowed is not None:
        terms = messages.ExceptionTerms(
            allowed=explained.exception_allowed,
            max_duration=explained.exception_max_duration,
            approvers=explained.exception_approvers,
        )
    return texts.Explanation(
        policy=policy,
        rule=rule,
        title=explained.title,
        why=explained.why,
        how_to_fix=explained.how_to_fix,
        snippet=explained.snippet,
        references=explained.references,
        exception=terms,
        message=message,
    )


def _file_name(manifest: Mapping[str, Any]) -> str:
    metadata = manifest.get("metadata") or {}
    kind = str(manifest.get("kind") or "object").lower()
    return f"{kind}-{metadata.get('name') or 'unnamed'}.yaml"
