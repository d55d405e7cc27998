"""`policybot explain`: a pasted rejection, explained, and fixed when we can.

The text (an argument, or standard input) goes through `bot.intake.parse`,
so it may be kubectl's output, an Event, a policy report or an audit event.
Each violation gets the knowledge base's explanation: the entry for a Kyverno
policy and rule, the entry for a Pod Security check (keyed by the check's
ID under the policy `pod-security-standards`), or one assembled from what
the rejection itself says when nobody wrote an entry.

With `--manifest`, the rejected manifest is fixed too: Kyverno violations by
evaluating it against the named policies (from `--policies`, else the
bundled baseline) and keeping the fixes of the violated rules; PSA
violations by fixing the manifest for the level and version PSA enforced.
Gatekeeper constraints, VAPs and other webhooks run code we do not have, so
they get an explanation only.

Exit codes: 0 once something was explained (text in no known format is
explained generically), 2 when the input is unusable.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bot import intake
from bot.cli import checking
from bot.errors import InputError
from bot.intake import psa_messages
from bot.intake.violations import ENGINE_NAMES, Record, Violation
from bot.knowledge import violations
from bot.knowledge.catalog import load_catalog
from bot.knowledge.explaining import Explained, Explainer
from bot.policy import manifests, policies
from bot.policy.fixes import diffs, pss_fixes, synthesis
from bot.policy.fixes.patches import PatchError, apply_patch
from bot.policy.fixes.platform_defaults import NO_DEFAULTS, PlatformDefaults

logger = logging.getLogger(__name__)

EXIT_EXPLAINED = 0
ACTION_VERBS = {
    "deny": "denied",
    "warn": "warned about",
    "audit": "reported",
    "unknown": "flagged",
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "explain",
        help="explain a pasted admission rejection",
        description=(
            "Explain an admission rejection (kubectl output, an Event, a policy report, "
            "an audit event) and, given the manifest, show the fix."
        ),
    )
    parser.add_argument(
        "text",
        nargs="?",
        metavar="TEXT",
        help="the rejection; read from standard input when left out or -",
    )
    parser.add_argument(
        "--manifest", type=Path, metavar="FILE", help="the rejected manifest, to compute fixes"
    )
    parser.add_argument(
        "--policies",
        nargs="+",
        action="extend",
        metavar="PATH",
        help="Kyverno policy files or directories (default: the bundled baseline)",
    )
    parser.add_argument(
        "--engine",
        choices=["kyverno", "gatekeeper", "psa", "vap", "webhook"],
        help="who produced the text, for messages that do not name their engine",
    )
    checking.add_platform_defaults_arguments(parser)
    parser.add_argument("--output", choices=["text", "json"], default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    text = read_text(args.text)
    records = intake.parse(text, engine_hint=args.engine)
    logger.info("Explaining %d rejection records.", len(records))

    loaded = list(checking.load_policy_set(args.policies, required=bool(args.policies)).kyverno)
    explainer = Explainer(load_catalog(), {policy.name: policy for policy in loaded})
    explained = [
        (record, violation, explain(violation, explainer))
        for record in records
        for violation in record.violations
    ]
    fixes = []
    if args.manifest:
        defaults = checking.load_platform_defaults(args)
        fixes = compute_fixes(args.manifest, records, loaded, defaults=defaults)

    if args.output == "json":
        print(json.dumps(to_json(records, explained, fixes), indent=2))
    else:
        print(render_text(records, explained, fixes, with_manifest=args.manifest is not None))
    return EXIT_EXPLAINED


def read_text(argument: str | None) -> str:
    """The rejection text: the argument, or standard input for none or `-`."""
    if argument is not None and argument != "-":
        text = argument
    elif sys.stdin is None or sys.stdin.isatty():
        raise InputError(
            "no rejection given: pass the text as an argument or pipe it on standard input"
        )
    else:
        text = sys.stdin.read()
    if not text.strip():
        raise InputError("the rejection text is empty; paste the whole error or event")
    return text


def explain(violation: Violation, explainer: Explainer) -> Explained:
    """The knowledge base's explanation of one violation, or one built from its text."""
    return violations.known_explanation(violation, explainer) or fallback(violation)


def fallback(violation: Violation) -> Explained:
    """What we can say from the rejection alone, when no entry covers it."""
    engine = ENGINE_NAMES[violation.engine]
    name = " / ".join(part for part in (violation.policy, violation.rule) if part)
    title = f"{engine}: {name}" if name else f"Rejected by {engine}"
    if violation.engine == "psa":
        why = (
            f"The namespace enforces the Pod Security Standards "
            f"({violation.policy or 'level not given'}), and this check failed."
        )
    else:
        why = (
            "No explanation has been written for this rule yet; the message below is "
            "what the policy says. Ask the platform team that owns it for the reason."
        )
    return Explained(title=title, why=why, how_to_fix=violation.message, source="rejection")


def compute_fixes(
    manifest_path: Path,
    records: Sequence[Record],
    loaded: Sequence[policies.Policy],
    *,
    defaults: PlatformDefaults = NO_DEFAULTS,
) -> list[dict[str, Any]]:
    """Fix diffs for the violated Kyverno rules and PSA levels of these records."""
    objects = manifests.load_manifests([manifest_path])
    if not objects:
        raise InputError("holds no Kubernetes object", source=str(manifest_path))
    fixes: list[dict[str, Any]] = []
    for record in records:
        manifest = _manifest_for(record, objects)
        kyverno = [v for v in record.violations if v.engine == "kyverno"]
        if kyverno:
            fixes.extend(_kyverno_fixes(manifest, kyverno, loaded, defaults))
        levels = dict.fromkeys(v.policy for v in record.violations if v.engine == "psa")
        for level in levels:
            fixes.append(_psa_fix(manifest, level))
    return fixes


def _manifest_for(record: Record, objects: Sequence[manifests.Manifest]) -> manifests.Manifest:
    """The document the record is about; the first one when the record does not say."""
    wanted = record.resource
    for candidate in objects:
        metadata = candidate.content.get("metadata") or {}
        if (wanted.kind in (None, candidate.content.get("kind"))) and (
            wanted.name in (None, metadata.get("name"))
        ):
            return candidate
    return objects[0]


def _kyverno_fixes(
    manifest: manifests.Manifest,
    violated: Iterable[Violation],
    loaded: Sequence[policies.Policy],
    defaults: PlatformDefaults,
) -> list[dict[str, Any]]:
    wanted = list(violated)
    known = {policy.name for policy in loaded}
    missing = sorted({v.policy for v in wanted if v.policy and v.policy not in known})
    entries = [
        _entry(
            engine="kyverno",
            policy=name,
            rule=None,
            status="none",
            note=f"policy {name} is not among the loaded policies; pass it with --policies",
        )
        for name in missing
    ]
    for fix in synthesis.fix_failures(manifest.content, loaded, defaults=defaults):
        if not any(_same_rule(fix, v) for v in wanted):
            continue
        diff = ""
        if fix.fixed is not None:
            diff = diffs.diff_objects(manifest.content, fix.fixed, name=_name(manifest))
        entries.append(
            _entry(
                engine="kyverno",
                policy=fix.failure.policy,
                rule=fix.failure.rule,
                status=fix.status,
                summary=fix.summary,
                note=fix.note,
                patch=[op.to_json() for op in fix.ops],
                diff=diff,
            )
        )
    return entries


def _same_rule(fix: synthesis.Fix, violation: Violation) -> bool:
    failure = fix.failure
    if violation.policy is not None and violation.policy != failure.policy:
        return False
    return violation.rule is None or violation.rule in (failure.rule, failure.base_rule)


def _psa_fix(manifest: manifests.Manifest, policy: str | None) -> dict[str, Any]:
    level, version = psa_messages.split_level(policy)
    try:
        proposal = pss_fixes.fix_psa(manifest.content, level=level, version=version)
    except ValueError as error:
        return _entry(engine="psa", policy=policy, rule=None, status="none", note=str(error))
    if proposal is None or not proposal.ops:
        note = "the manifest holds no pod this level could be fixed in"
        return _entry(engine="psa", policy=policy, rule=None, status="none", note=note)
    try:
        fixed = apply_patch(manifest.content, proposal.ops)
    except PatchError as error:
        logger.warning("A Pod Security fix does not apply: %s", error)
        note = f"the derived patch does not apply: {error}"
        return _entry(engine="psa", policy=policy, rule=None, status="none", note=note)
    placeholders = ", ".join(proposal.placeholders)
    return _entry(
        engine="psa",
        policy=policy,
        rule=None,
        status="guided" if proposal.placeholders else "exact",
        summary=proposal.summary,
        note=f"fill in the placeholder values at {placeholders}" if placeholders else "",
        patch=[op.to_json() for op in proposal.ops],
        diff=diffs.diff_objects(manifest.content, fixed, name=_name(manifest)),
    )


def _entry(
    *,
    engine: str,
    policy: str | None,
    rule: str | None,
    status: str,
    summary: Sequence[str] = (),
    note: str = "",
    patch: Sequence[Mapping[str, Any]] = (),
    diff: str = "",
) -> dict[str, Any]:
    return {
        "engine": engine,
        "policy": policy,
        "rule": rule,
        "status": status,
        "summary": list(summary),
        "note": note,
        "patch": list(patch),
        "diff": diff,
    }


def _name(manifest: manifests.Manifest) -> str:
    if manifest.source != "<stdin>":
        return manifest.source
    kind = str(manifest.content.get("kind", "object")).lower()
    return f"{kind}.yaml"


Explanation = tuple[Record, Violation, Explained]


def to_json(
    records: Sequence[Record], explained: Sequence[Explanation], fixes: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    return {
        "violations": [
            {
                "engine": violation.engine,
                "policy": violation.policy,
                "rule": violation.rule,
                "resource": {
                    "kind": violation.resource.kind,
                    "namespace": violation.resource.namespace,
                    "name": violation.resource.name,
                },
                "message": violation.message,
                "path": violation.path,
                "action": violation.action,
                "containers": list(violation.containers),
                "requester": violation.requester,
                "explanation": explanation.to_json(),
            }
            for _, violation, explanation in explained
        ],
        "notes": [
            {"engine": record.engine, "action": record.action, "detail": record.detail}
            for record in records
            if not record.violations and record.detail
        ],
        "fixes": list(fixes),
    }


def render_text(
    records: Sequence[Record],
    explained: Sequence[Explanation],
    fixes: Sequence[Mapping[str, Any]],
    *,
    with_manifest: bool,
) -> str:
    lines: list[str] = []
    for record in records:
        engine = ENGINE_NAMES.get(record.engine or "", "No admission engine")
        verb = ACTION_VERBS[record.action]
        target = "" if record.resource.empty else f" {record.resource}"
        who = f" (requested by {record.requester})" if record.requester else ""
        lines.append(f"{engine} {verb}{target}{who}:")
        if record.detail:
            lines.append(f"  {record.detail}")
        if not record.violations and not record.detail:
            lines.append("  nothing was violated")
        for owner, violation, explanation in explained:
            if owner is record:
                lines.extend(_render_violation(violation, explanation))
        lines.append("")

    if fixes:
        lines.append("Fixes:")
        for fix in fixes:
            lines.extend(_render_fix(fix))
    elif with_manifest:
        lines.append("No fix could be derived for these violations from the manifest.")
    return "\n".join(lines).rstrip()


def _render_violation(violation: Violation, explanation: Explained) -> list[str]:
    name = " / ".join(part for part in (violation.policy, violation.rule) if part) or "(unnamed)"
    where = f" at {violation.path}" if violation.path else ""
    containers = f" (containers: {', '.join(violation.containers)})" if violation.containers else ""
    lines = [f"  - {name}{where}{containers}"]
    if violation.message:
        lines.append(f"    Message: {violation.message}")
    lines.append(f"    {explanation.title}")
    lines.append(f"    Why: {explanation.why}")
    lines.append(f"    How to fix: {explanation.how_to_fix}")
    if explanation.snippet:
        lines.append("    For example:")
        lines.extend(f"      {line}" for line in explanation.snippet.rstrip().splitlines())
    if explanation.exception_allowed is not None:
        lines.append(f"    Exceptions: {_exception_text(explanation)}")
    return lines


def _exception_text(explanation: Explained) -> str:
    if not explanation.exception_allowed:
        return "not granted for this rule"
    return (
        f"possible for up to {explanation.exception_max_duration}, "
        f"approved by {explanation.exception_approvers}"
    )


def _render_fix(fix: Mapping[str, Any]) -> list[str]:
    name = " / ".join(part for part in (fix["policy"], fix["rule"]) if part)
    lines = [f"  {str(fix['status']).upper():6} {fix['engine']}: {name}"]
    lines.extend(f"         - {change}" for change in fix["summary"])
    if fix["note"]:
        lines.append(f"         {fix['note']}")
    if fix["diff"]:
        lines.append(str(fix["diff"]).rstrip())
    return lines
