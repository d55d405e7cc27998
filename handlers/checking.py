"""Checking manifests and live objects against the policies, and explaining rules.

The `Judge` is what `/policy check`, `/policy explain`, the pasted-manifest
modal and the Re-check and Explain buttons run: it evaluates one manifest with
the Kyverno and CEL policies the bot is configured with, attaches each
failure's explanation and synthesised fix, and looks up the explanation of a
named rule or of every violation in a pasted rejection.

A fix may copy a value the platform has decided (a LimitRange default, the
default StorageClass) where a rule only wants a field set. Those come from a
`DefaultsSource` asked for the manifest's namespace (`bot.kube.ClusterDefaults`
reads the cluster in front of the knowledge base), or from fixed
`PlatformDefaults`; by default there are none, and such fields stay
placeholders.

It returns plain values (`bot.slack.command_texts.Verdict`, `Explanation`)
and knows nothing of how they reach a person: `bot.slack.app` takes it as a
`Checker`, runs it in a worker thread and sends the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from bot.intake import parsing
from bot.knowledge.catalog import Catalog
from bot.knowledge.explaining import Explained, Explainer
from bot.notify import notices
from bot.policy import celpolicies, engine
from bot.policy.celpolicies import CelPolicy
from bot.policy.contexts import ContextResolver
from bot.policy.fixes import cel_fixes, diffs, platform_defaults, synthesis
from bot.policy.fixes.platform_defaults import NO_DEFAULTS, PlatformDefaults
from bot.policy.policies import Policy
from bot.policy.requests import AdmissionRequest
from bot.policy.results import RuleResult
from bot.slack import command_texts as texts, messages

FINDING_STATUSES = ("fail", "warn", "error")
FIXABLE_STATUSES = ("fail", "warn")


class DefaultsSource(Protocol):
    """The platform's decided values for the manifests of one namespace.

    Called from the Judge's worker thread, so it may block; it must not
    raise, since a check without the cluster's defaults still has an answer.
    """

    def for_namespace(self, namespace: str) -> PlatformDefaults: ...


class Judge:
    """Evaluates manifests and explains rules, with the configured policies.

    Synchronous; the listeners run it in a worker thread. With a `resolver`,
    `configMap` and `apiCall` context entries read the cluster (blocking);
    without one they stay unset, as in the Kyverno CLI. `defaults` are the
    platform's values a fix may copy, fixed or per namespace (see the module
    docstring); a source is asked only when a rule fails.
    """

    def __init__(
        self,
        *,
        policies: Sequence[Policy],
        cel_policies: Sequence[CelPolicy] = (),
        catalog: Catalog,
        resolver: ContextResolver | None = None,
        defaults: PlatformDefaults | DefaultsSource = NO_DEFAULTS,
    ) -> None:
        self.policies = list(policies)
        self.inputs = engine.Inputs(resolver=resolver) if resolver is not None else engine.NO_INPUTS
        self.cel_policies = list(cel_policies)
        self.catalog = catalog
        self.defaults = defaults
        self.explainer = Explainer(catalog, {policy.name: policy for policy in self.policies})

    @property
    def policy_names(self) -> set[str]:
        return {p.name for p in self.policies} | {p.name for p in self.cel_policies}

    def check(self, manifest: Mapping[str, Any], *, subject: str) -> texts.Verdict:
        """Every rule the manifest fails, each with its explanation and fix."""
        request = AdmissionRequest(object=dict(manifest))
        kyverno = engine.evaluate_all(self.policies, request, self.inputs)
        cel = celpolicies.evaluate_all(self.cel_policies, request)
        # Only a fix needs the defaults, and a source may read the cluster.
        to_fix = [r for r in kyverno if r.status in FIXABLE_STATUSES]
        to_fix += [r for r in cel if r.status in FINDING_STATUSES]
        defaults = self._defaults_for(manifest) if to_fix else NO_DEFAULTS

        findings = []
        for result in kyverno:
            if result.status not in FINDING_STATUSES:
                continue
            fix = None
            if result.status in FIXABLE_STATUSES:
                fix = synthesis.synthesize(
                    result,
                    request,
                    self.policies,
                    before=kyverno,
                    inputs=self.inputs,
                    defaults=defaults,
                )
            findings.append(self._finding(result, fix, manifest))
        cel_fixed = self._cel_fixes(cel, request, defaults)
        for result in cel:
            if result.status in FINDING_STATUSES:
                findings.append(self._finding(result, cel_fixed.get(result.policy), manifest))
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

    def _defaults_for(self, manifest: Mapping[str, Any]) -> PlatformDefaults:
        if isinstance(self.defaults, PlatformDefaults):
            return self.defaults
        return self.defaults.for_namespace(platform_defaults.namespace_of(manifest))

    def _cel_fixes(
        self, results: Sequence[RuleResult], request: AdmissionRequest, defaults: PlatformDefaults
    ) -> dict[str, synthesis.Fix]:
        """One fix per rejecting CEL policy: a policy gives one verdict, not one per rule.

        NB: unlike a Kyverno rule, an expression that errors rejects the
        request too (the default failurePolicy is Fail), so it gets a fix.
        """
        by_name = {policy.name: policy for policy in self.cel_policies}
        fixes: dict[str, synthesis.Fix] = {}
        for result in results:
            policy = by_name.get(result.policy)
            if policy is None or result.status not in FINDING_STATUSES or policy.name in fixes:
                continue
            fix = cel_fixes.fix_cel_policy(
                policy, request, policies=self.cel_policies, defaults=defaults
            )
            if fix is not None:
                fixes[policy.name] = fix
        return fixes

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
    return texts.Explanation(
        policy=policy,
        rule=rule,
        title=explained.title,
        why=explained.why,
        how_to_fix=explained.how_to_fix,
        snippet=explained.snippet,
        references=explained.references,
        exception=notices.exception_terms(explained),
        message=message,
    )


def _file_name(manifest: Mapping[str, Any]) -> str:
    metadata = manifest.get("metadata") or {}
    kind = str(manifest.get("kind") or "object").lower()
    return f"{kind}-{metadata.get('name') or 'unnamed'}.yaml"
