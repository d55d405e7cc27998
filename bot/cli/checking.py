"""`policybot check`: are these manifests compliant, and if not, where not?

Built for CI: deterministic output, JSON on request, and an exit code that
says it all (0 compliant, 1 something failed, 2 the input was unusable).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources as package_resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import InputError
from bot.policy import celpolicies, documents, engine, manifests, policies
from bot.policy.requests import AdmissionRequest
from bot.policy.results import RuleResult

if TYPE_CHECKING:
    from bot.policy.fixes.platform_defaults import PlatformDefaults

EXIT_COMPLIANT = 0
EXIT_VIOLATIONS = 1


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "check",
        help="check manifests against policies",
        description="Evaluate manifests against Kyverno policies, ValidatingPolicies and "
        "ValidatingAdmissionPolicies (default: the bundled baseline).",
    )
    add_input_arguments(parser)
    parser.add_argument("--output", choices=["text", "json"], default="text")
    parser.add_argument(
        "--operation",
        default="CREATE",
        choices=["CREATE", "UPDATE"],
        help="the admission operation to simulate (default: CREATE)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="list every passing rule, not only a count"
    )
    parser.set_defaults(run=run)


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """The manifests to read and the policies to judge them by, as check and fix take them."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help="file, directory, or - for stdin")
    parser.add_argument(
        "--policies",
        nargs="+",
        action="extend",
        metavar="PATH",
        help="policy files or directories (default: the bundled baseline)",
    )


def add_platform_defaults_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the values a rule only wants set come from, as fix and explain take them."""
    defaults = parser.add_mutually_exclusive_group()
    defaults.add_argument(
        "--platform-defaults",
        nargs="+",
        action="extend",
        metavar="PATH",
        help="LimitRange and StorageClass manifests whose defaults fill fields a rule only "
        "wants set (default: the bundled knowledge/platform)",
    )
    defaults.add_argument(
        "--no-platform-defaults",
        action="store_true",
        help="derive values from the manifest alone; fields a rule only wants set stay "
        "placeholders",
    )


def load_platform_defaults(args: argparse.Namespace) -> PlatformDefaults:
    """The platform's decided values: the given files, the bundled ones, or none."""
    # NB: imported here so that `policybot check` does not load the knowledge schema.
    from bot.knowledge import catalog
    from bot.policy.fixes import platform_defaults

    if args.no_platform_defaults:
        return platform_defaults.NO_DEFAULTS
    paths = args.platform_defaults or catalog.bundled_platform_paths()
    return platform_defaults.load(paths)


def bundled_policy_dir() -> Path:
    return Path(str(package_resources.files("knowledge").joinpath("policies")))


@dataclass(frozen=True)
class PolicySet:
    kyverno: tuple[policies.Policy, ...]
    cel: tuple[celpolicies.CelPolicy, ...] = ()


def load_policy_set(paths: Sequence[str | Path] | None, *, required: bool = True) -> PolicySet:
    """Kyverno policies, ValidatingPolicies and VAPs below the paths (default: bundled)."""
    chosen = list(paths or [bundled_policy_dir()])
    docs = list(documents.load_documents(chosen))
    found = PolicySet(
        kyverno=tuple(
            policies.from_document(d) for d in docs if policies.is_kyverno_policy(d.content)
        ),
        cel=tuple(celpolicies.from_documents(docs)),
    )
    if required and not found.kyverno and not found.cel:
        raise InputError(
            "no Kyverno ClusterPolicy, Policy, ValidatingPolicy or ValidatingAdmissionPolicy found",
            source=", ".join(map(str, chosen)),
        )
    return found


def run(args: argparse.Namespace) -> int:
    loaded = load_policy_set(args.policies)
    objects = manifests.load_manifests(args.paths)
    results = check(
        loaded.kyverno, [m.content for m in objects], operation=args.operation, cel=loaded.cel
    )
    if args.output == "json":
        print(json.dumps(to_json(results, resource_count=len(objects)), indent=2))
    else:
        print(render_text(results, resource_count=len(objects), verbose=args.verbose))
    failed = any(result.status in ("fail", "error") for result in results)
    return EXIT_VIOLATIONS if failed else EXIT_COMPLIANT


def check(
    loaded: Sequence[policies.Policy],
    objects: Sequence[dict[str, Any]],
    *,
    operation: str = "CREATE",
    cel: Sequence[celpolicies.CelPolicy] = (),
) -> list[RuleResult]:
    results: list[RuleResult] = []
    for obj in objects:
        old = obj if operation == "UPDATE" else None
        request = AdmissionRequest(object=obj, operation=operation, old_object=old)
        results.extend(engine.evaluate_all(loaded, request))
        if cel:
            results.extend(celpolicies.evaluate_all(cel, request))
    return results


def to_json(results: Sequence[RuleResult], *, resource_count: int) -> dict[str, Any]:
    counts: Counter[str] = Counter(result.status for result in results)
    return {
        "resources": resource_count,
        "summary": {status: counts.get(status, 0) for status in STATUS_ORDER},
        "results": [
            {
                "resource": {
                    "apiVersion": result.resource.api_version,
                    "kind": result.resource.kind,
                    "namespace": result.resource.namespace,
                    "name": result.resource.name,
                },
                "policy": result.policy,
                "rule": result.rule,
                "status": result.status,
                "action": result.action,
                "message": result.message,
                "path": result.path,
            }
            for result in results
        ],
    }


STATUS_ORDER = ("fail", "error", "warn", "skip", "pass")
STATUS_LABEL = {"fail": "FAIL", "error": "ERROR", "warn": "WARN", "skip": "skip", "pass": "pass"}


def render_text(
    results: Sequence[RuleResult], *, resource_count: int, verbose: bool = False
) -> str:
    """A per-resource report: failures first and spelled out, passes in one line."""
    lines: list[str] = []
    by_resource: dict[str, list[RuleResult]] = {}
    for result in results:
        by_resource.setdefault(str(result.resource), []).append(result)

    for resource, own in by_resource.items():
        worst = min(own, key=lambda r: STATUS_ORDER.index(r.status)).status
        lines.append(f"{resource}: {STATUS_LABEL[worst]}")
        quiet: Counter[str] = Counter()
        for result in sorted(own, key=lambda r: (STATUS_ORDER.index(r.status), r.policy, r.rule)):
            label = STATUS_LABEL[result.status]
            where = f"{result.policy}/{result.rule}"
            if result.status in ("fail", "warn", "error"):
                effect = "blocks admission" if result.blocks else "audit only"
                lines.append(f"  {label:5} {where} ({effect})")
                lines.append(f"        {result.message}")
            elif verbose:
                lines.append(f"  {label:5} {where}")
            else:
                quiet[result.status] += 1
        if quiet:
            counted = ", ".join(
                f"{quiet[s]} {'passed' if s == 'pass' else 'skipped'}"
                for s in ("pass", "skip")
                if quiet[s]
            )
            lines.append(f"  {counted} (--verbose lists them)")
        lines.append("")

    counts: Counter[str] = Counter(result.status for result in results)
    unmatched = resource_count - len(by_resource)
    summary = ", ".join(f"{counts[s]} {s}" for s in STATUS_ORDER if counts.get(s))
    lines.append(
        f"{resource_count} resources checked, {len(results)} rule results"
        + (f" ({summary})" if summary else "")
        + (f"; {unmatched} resources matched no rule" if unmatched else "")
    )
    return "\n".join(lines)
