"""`policybot fix`: the exact change each failing rule needs, as a diff.

Without `--write` it only prints; with it, files are rewritten in place with
every exact fix applied, keeping comments and layout. Guided fixes (those
with a placeholder a person must fill in) are shown but never written.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.cli import checking
from bot.errors import InputError
from bot.knowledge import catalog as knowledge_catalog
from bot.knowledge.explaining import Explainer
from bot.policy import celpolicies, documents, manifests, resources
from bot.policy.fixes import combining, diffs, platform_defaults, rewriting, synthesis
from bot.policy.fixes.patches import PatchOp
from bot.policy.requests import AdmissionRequest

EXIT_CLEAN = 0
EXIT_REMAINING = 1


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "fix",
        help="show (or write) the exact manifest changes that make failing rules pass",
        description="Derive, prove and print the smallest manifest change for each failing rule.",
    )
    checking.add_input_arguments(parser)
    parser.add_argument(
        "--explanations",
        nargs="+",
        action="extend",
        metavar="PATH",
        help="extra knowledge files or directories, on top of the bundled ones",
    )
    checking.add_platform_defaults_arguments(parser)
    parser.add_argument("--output", choices=["text", "json"], default="text")
    parser.add_argument(
        "--write", action="store_true", help="rewrite the files with every exact fix applied"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.write and "-" in args.paths:
        raise InputError("--write cannot rewrite standard input; pass file paths")
    policy_set = checking.load_policy_set(args.policies)
    loaded = list(policy_set.kyverno)
    explainer = Explainer(
        knowledge_catalog.load_catalog(
            knowledge_catalog.bundled_explanation_paths() + list(args.explanations or [])
        ),
        {policy.name: policy for policy in loaded},
    )
    defaults = checking.load_platform_defaults(args)
    objects = manifests.load_manifests(args.paths)

    entries: list[dict[str, Any]] = []
    combined: list[tuple[manifests.Manifest, combining.CombinedFix]] = []
    for manifest in objects:
        fixes = synthesis.fix_failures(manifest.content, loaded, defaults=defaults)
        fixes += _cel_policy_fixes(manifest.content, policy_set.cel, defaults)
        for fix in fixes:
            entries.append(_entry(fix, manifest, explainer))
        if fixes:
            combined.append(
                (
                    manifest,
                    combining.combine(
                        manifest.content, loaded, defaults=defaults, cel_policies=policy_set.cel
                    ),
                )
            )

    if args.write:
        _write(combined)
    if args.output == "json":
        print(json.dumps({"fixes": entries}, indent=2))
    else:
        print(render_text(entries, combined, wrote=args.write))
    remaining = _remaining_failures(entries, combined) if args.write else len(entries)
    return EXIT_REMAINING if remaining else EXIT_CLEAN


def _cel_policy_fixes(
    manifest: dict[str, Any],
    cel_policies: Sequence[celpolicies.CelPolicy],
    defaults: platform_defaults.PlatformDefaults,
) -> list[synthesis.Fix]:
    """Fixes for the ValidatingPolicies and VAPs that reject the manifest, one by one."""
    if not cel_policies:
        return []
    from bot.policy.fixes import cel_fixes

    request = AdmissionRequest(object=manifest)
    found = (
        cel_fixes.fix_cel_policy(p, request, policies=cel_policies, defaults=defaults)
        for p in cel_policies
    )
    return [fix for fix in found if fix is not None]


def _entry(
    fix: synthesis.Fix, manifest: manifests.Manifest, explainer: Explainer
) -> dict[str, Any]:
    ref = fix.failure.resource
    name = _display_name(manifest)
    diff = diffs.diff_objects(manifest.content, fix.fixed, name=name) if fix.fixed else ""
    return {
        "resource": {"kind": ref.kind, "namespace": ref.namespace, "name": ref.name},
        "source": {"file": manifest.source, "document": manifest.document},
        "policy": fix.failure.policy,
        "rule": fix.failure.rule,
        "action": fix.failure.action,
        "message": fix.failure.message,
        "status": fix.status,
        "summary": list(fix.summary),
        "note": fix.note,
        "patch": [op.to_json() for op in fix.ops],
        "diff": diff,
        "fixed": fix.fixed,
        "explanation": explainer.explain(
            fix.failure.policy, fix.failure.rule, fix.failure.message
        ).to_json(),
    }


def _display_name(manifest: manifests.Manifest) -> str:
    if manifest.source != "<stdin>":
        return manifest.source
    ref = resources.ref_of(manifest.content)
    return f"{ref.kind}-{ref.name}.yaml".lower()


def _write(combined: Sequence[tuple[manifests.Manifest, combining.CombinedFix]]) -> None:
    by_file: dict[str, dict[int, list[PatchOp]]] = defaultdict(dict)
    for manifest, fix in combined:
        if fix.ops:
            ops = _in_document(manifest, fix.ops)
            by_file[manifest.source].setdefault(manifest.document, []).extend(ops)
    for source, patches in by_file.items():
        text = documents.read_text(Path(source))
        Path(source).write_text(rewriting.rewrite(text, patches, source=source))


def _in_document(manifest: manifests.Manifest, ops: Sequence[PatchOp]) -> list[PatchOp]:
    """Ops against one object, moved to its place in its document (a List's item)."""
    prefix = manifest.pointer_prefix
    return [dataclasses.replace(op, path=prefix + op.path) for op in ops]


def _remaining_failures(
    entries: Sequence[dict[str, Any]],
    combined: Sequence[tuple[manifests.Manifest, combining.CombinedFix]],
) -> int:
    repaired = {(m.source, m.document, rule) for m, fix in combined for rule in fix.fixed_rules}
    return sum(
        (e["source"]["file"], e["source"]["document"], _fixed_name(e)) not in repaired
        for e in entries
    )


def _fixed_name(entry: dict[str, Any]) -> str:
    """How the combined fix names a repaired failure: `policy/rule`, or a CEL policy."""
    return f"{entry['policy']}/{entry['rule']}" if entry["rule"] else str(entry["policy"])


def render_text(
    entries: Sequence[dict[str, Any]],
    combined: Sequence[tuple[manifests.Manifest, combining.CombinedFix]],
    *,
    wrote: bool,
) -> str:
    lines: list[str] = []
    by_resource: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        by_resource[(entry["source"]["file"], entry["source"]["document"])].append(entry)

    for manifest, fix in combined:
        own = by_resource[(manifest.source, manifest.document)]
        ref = resources.ref_of(manifest.content)
        lines.append(f"{ref} ({manifest.source}, document {manifest.document})")
        for entry in own:
            where = f"{entry['policy']}/{entry['rule']}" if entry["rule"] else entry["policy"]
            lines.append(f"  {entry['status'].upper():6} {where}")
            explanation = entry["explanation"]
            lines.append(f"         {explanation['title']}: {explanation['why']}")
            for change in entry["summary"]:
                lines.append(f"         - {change}")
            if entry["status"] != "exact":
                lines.append(f"         {entry['note'] or 'no exact change could be derived'}")
                lines.append(f"         How to fix: {explanation['how_to_fix']}")
        if fix.ops:
            text = (
                documents.read_text(Path(manifest.source)) if manifest.source != "<stdin>" else ""
            )
            if wrote:
                lines.append(f"  wrote {len(fix.ops)} change(s) to {manifest.source}")
            elif text:
                patch = {manifest.document: _in_document(manifest, fix.ops)}
                rewritten = rewriting.rewrite(text, patch)
                lines.append(diffs.unified_diff(text, rewritten, name=manifest.source).rstrip())
            else:
                name = _display_name(manifest)
                lines.append(diffs.diff_objects(manifest.content, fix.fixed, name=name).rstrip())
        else:
            # Fixes outside the combined patch (CEL policies) show their own diff.
            lines.extend(e["diff"].rstrip() for e in own if e["status"] == "exact" and e["diff"])
        lines.append("")

    exact = sum(e["status"] == "exact" for e in entries)
    guided = sum(e["status"] == "guided" for e in entries)
    lines.append(
        f"{len(entries)} failing rules: {exact} exact fixes, {guided} guided, "
        f"{len(entries) - exact - guided} without a derivable change"
    )
    return "\n".join(lines)
