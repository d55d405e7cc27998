"""What to tell a team about one violation: the explanation and the fix.

This is where the understanding layers meet: the knowledge base explains the
rule, the policy engine proves a fix for Kyverno rules, the Pod Security
fixers handle PSA checks. The result is a `bot.slack.messages.Notice`, plain
values the message module renders and the store keeps.

Engines whose logic we do not hold (Gatekeeper's Rego, VAP's CEL, other
webhooks) get an explanation and no diff. Fixes are computed per manifest
once (`FixCache`), because one rejection often names several rules of one
workload.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.intake import psa_messages
from bot.intake.teams import Ownership
from bot.intake.violations import Violation
from bot.knowledge import violations
from bot.knowledge.catalog import (
    Catalog,
    bundled_platform_paths,
    bundled_policy_paths,
    load_catalog,
)
from bot.knowledge.explaining import Explained, Explainer
from bot.policy import policies as policy_files
from bot.policy.fixes import diffs, platform_defaults, pss_fixes, synthesis, values_synthesis
from bot.policy.fixes.patches import PatchError, PatchOp, apply_patch, parse_pointer
from bot.policy.fixes.platform_defaults import NO_DEFAULTS, PlatformDefaults
from bot.policy.policies import Policy
from bot.policy.pss import catalogue, pods
from bot.slack import messages
from bot.slack.messages import ExceptionTerms, FixView, Notice, Placeholder, Workload

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Knowledge:
    """The policies and explanations the bot reasons with."""

    policies: tuple[Policy, ...]
    explainer: Explainer
    defaults: PlatformDefaults = NO_DEFAULTS
    """The platform's values for fields a rule only wants set (knowledge/platform)."""

    @classmethod
    def load(
        cls,
        policies: Sequence[Policy],
        catalog: Catalog,
        *,
        defaults: PlatformDefaults = NO_DEFAULTS,
    ) -> Knowledge:
        by_name = {policy.name: policy for policy in policies}
        return cls(tuple(policies), Explainer(catalog, by_name), defaults)

    @classmethod
    def bundled(cls) -> Knowledge:
        """The baseline policies, explanations and platform defaults shipped with Policybot."""
        return cls.load(
            policy_files.load_policies(bundled_policy_paths()),
            load_catalog(),
            defaults=platform_defaults.load(bundled_platform_paths()),
        )


@dataclass
class FixCache:
    """Kyverno fixes of one manifest and its YAML, computed on first need."""

    manifest: Mapping[str, Any]
    _fixes: list[synthesis.Fix] | None = field(default=None, init=False)
    _yaml: str | None = field(default=None, init=False)

    def kyverno(
        self, policies: Sequence[Policy], defaults: PlatformDefaults = NO_DEFAULTS
    ) -> list[synthesis.Fix]:
        if self._fixes is None:
            self._fixes = synthesis.fix_failures(self.manifest, policies, defaults=defaults)
        return self._fixes

    def diff(self, fixed: Mapping[str, Any]) -> str:
        """The unified diff from the manifest to `fixed`."""
        # NB: rendering YAML costs more than the fix itself; the manifest's own
        # rendering is shared by all the fixes of one rejection.
        if self._yaml is None:
            self._yaml = diffs.render_yaml(self.manifest)
        return diffs.unified_diff(
            self._yaml, diffs.render_yaml(fixed), name=_filename(self.manifest)
        )


def workload_of(manifest: Mapping[str, Any] | None, *, fallback: Workload) -> Workload:
    """The workload a manifest describes; `fallback` fills what it leaves out."""
    if manifest is None:
        return fallback
    metadata = manifest.get("metadata") or {}
    return Workload(
        kind=str(manifest.get("kind") or fallback.kind),
        namespace=str(metadata.get("namespace") or fallback.namespace or "") or None,
        name=str(metadata.get("name") or fallback.name),
    )


def build(
    violation: Violation,
    *,
    key: str,
    workload: Workload,
    ownership: Ownership,
    knowledge: Knowledge,
    fixes: FixCache | None,
    with_fix: bool = True,
) -> Notice:
    """The notice for one violation of a workload.

    Args:
        fixes: the manifest's fixes; None when there is no manifest.
        with_fix: False to leave the fix for later (it says so), under load.
    """
    explained = explain(violation, knowledge.explainer)
    exception = exception_terms(explained)
    return Notice(
        key=key,
        workload=workload,
        team=ownership.team.name,
        owner_reason=ownership.reason,
        oncall=ownership.team.oncall,
        engine=violation.engine,
        policy=violation.policy,
        rule=violation.rule,
        action=violation.action,
        message=violation.message,
        path=violation.path,
        containers=violation.containers,
        requester=violation.requester,
        title=explained.title,
        why=explained.why,
        how_to_fix=explained.how_to_fix,
        references=explained.references,
        fix=(
            fix_for(violation, fixes, knowledge.policies, knowledge.defaults)
            if with_fix
            else FixView("none", note=messages.no_fix_note("pending"))
        ),
        exception=exception,
    )


def exception_terms(explained: Explained) -> ExceptionTerms | None:
    """What the knowledge base says about exceptions to the rule; None when it is silent."""
    if explained.exception_allowed is None:
        return None
    return ExceptionTerms(
        allowed=explained.exception_allowed,
        max_duration=explained.exception_max_duration,
        approvers=explained.exception_approvers,
    )


def explain(violation: Violation, explainer: Explainer) -> Explained:
    """The knowledge base's entry for the violation, or what its own text says."""
    found = violations.known_explanation(violation, explainer)
    if found is not None:
        return found
    title, why, how = messages.fallback_explanation(
        engine=violation.engine,
        policy=violation.policy,
        rule=violation.rule,
    )
    return Explained(title=title, why=why, how_to_fix=how, source="rejection")


def fix_for(
    violation: Violation,
    fixes: FixCache | None,
    policies: Sequence[Policy],
    defaults: PlatformDefaults = NO_DEFAULTS,
) -> FixView:
    """The fix of one violation, or why there is none."""
    if violation.engine in ("gatekeeper", "vap", "webhook"):
        return FixView("none", note=messages.no_fix_note(violation.engine))
    if fixes is None:
        return FixView("none", note=messages.no_fix_note("no-manifest"))
    try:
        if violation.engine == "psa":
            return _psa_fix(violation, fixes)
        return _kyverno_fix(violation, fixes, policies, defaults)
    except Exception:
        # NB: a bug in fix synthesis must not cost the team its message.
        logger.exception(
            "Deriving a fix for %s/%s failed; the message goes without one.",
            violation.policy,
            violation.rule,
        )
        return FixView("none", note=messages.no_fix_note("failed"))


def _kyverno_fix(
    violation: Violation, fixes: FixCache, policies: Sequence[Policy], defaults: PlatformDefaults
) -> FixView:
    if violation.policy is not None and all(p.name != violation.policy for p in policies):
        return FixView("none", note=messages.no_fix_note("unknown-policy", policy=violation.policy))
    for fix in fixes.kyverno(policies, defaults):
        failure = fix.failure
        if violation.policy not in (None, failure.policy):
            continue
        if violation.rule not in (None, failure.rule, failure.base_rule):
            continue
        if fix.fixed is None:
            return FixView("none", summary=fix.summary, note=fix.note)
        return FixView(
            fix.status,
            diff=fixes.diff(fix.fixed),
            summary=fix.summary,
            note=fix.note,
            placeholders=placeholders_in(fix.ops),
        )
    return FixView("none", note=messages.no_fix_note("passes-now"))


def _psa_fix(violation: Violation, fixes: FixCache) -> FixView:
    """A fix for the one PSA check the violation names, at the enforced level."""
    manifest = fixes.manifest
    level, version = psa_messages.split_level(violation.policy)
    wanted = set(psa_messages.check_ids(violation.rule or "", violation.policy))
    parts = pods.pod_parts(manifest)
    if parts is None:
        return FixView("none", note=messages.no_fix_note("no-pod"))
    try:
        checks = catalogue.evaluate_pod(parts[0], parts[1], level=level, version=version)
    except ValueError as error:
        return FixView("none", note=str(error))
    failed = [c for c in checks if not c.allowed and (not wanted or c.check_id in wanted)]
    if not failed:
        return FixView("none", note=messages.no_fix_note("passes-now"))
    proposal = pss_fixes.fix_checks(manifest, failed, version=version)
    if proposal is None:
        return FixView("none", note=messages.no_fix_note("no-pod"))
    try:
        fixed = apply_patch(manifest, proposal.ops)
    except PatchError as error:
        logger.warning("A Pod Security fix does not apply: %s", error)
        return FixView("none", note=str(error))
    return FixView(
        "guided" if proposal.placeholders else "exact",
        diff=fixes.diff(fixed),
        summary=proposal.summary,
        placeholders=placeholders_in(proposal.ops),
    )


def placeholders_in(ops: Sequence[PatchOp]) -> tuple[Placeholder, ...]:
    """Every value a person must fill in, with the field it goes to."""
    found: list[Placeholder] = []
    for op in ops:
        if op.op != "remove":
            _collect(op.value, parse_pointer(op.path), found)
    return tuple(found)


def _collect(value: Any, path: list[str], found: list[Placeholder]) -> None:
    if isinstance(value, str) and values_synthesis.PLACEHOLDER.search(value):
        found.append(Placeholder(field=dotted(path), value=value))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _collect(item, [*path, str(key)], found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _collect(item, [*path, str(index)], found)


def dotted(path: Sequence[str]) -> str:
    """Pointer segments as people write field paths: `metadata.labels["a/b"]`."""
    text = ""
    for segment in path:
        if segment.isdigit():
            text += f"[{segment}]"
        elif segment.replace("_", "").replace("-", "").isalnum():
            text += f".{segment}" if text else segment
        else:
            text += f'["{segment}"]'
    return text


def _filename(manifest: Mapping[str, Any]) -> str:
    kind = str(manifest.get("kind") or "object").lower()
    name = str((manifest.get("metadata") or {}).get("name") or "manifest")
    return f"{kind}-{name}.yaml"
