"""Fix synthesis on Kyverno's policy library: how often, how right, how fast.

For every resource the corpus expects to fail a rule (and our engine agrees),
synthesize the fix and count it `exact`, `guided` or `none`, grouped by the
kind of rule: pattern / anyPattern / podSecurity (foreach patterns included),
deny, and CEL, where Kyverno rules with `validate.cel` and ValidatingPolicies
are counted apart. Every exact fix is checked again independently: applied,
then all of the suite's policies evaluated, to count fixes that break another
rule.

    python benchmarks/fix_rate.py [CORPUS_DIR] [--list guided|none]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.knowledge import catalog
from bot.kyvernotest import running, suites
from bot.policy import celpolicies, engine, resources
from bot.policy.fixes import cel_fixes, platform_defaults, synthesis
from bot.policy.policies import Rule

VPOL_GROUP = "CEL (ValidatingPolicy)"
DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared/corpus/kyverno-policies"


def rule_group(rule: Rule | None) -> str:
    validate = (rule.validate if rule else None) or {}
    if "cel" in validate:
        return "CEL (validate.cel)"
    if "deny" in validate or _foreach_has(validate.get("foreach"), "deny"):
        return "deny"
    if "foreach" in validate:
        return "foreach pattern"
    return "pattern / anyPattern / podSecurity"


def _foreach_has(loops: Any, key: str) -> bool:
    if not isinstance(loops, list):
        return False
    return any(
        isinstance(loop, Mapping) and (key in loop or _foreach_has(loop.get("foreach"), key))
        for loop in loops
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--list", choices=["guided", "none"], help="print those fixes")
    parser.add_argument(
        "--no-platform-defaults",
        action="store_true",
        help="derive values from the manifests alone, without knowledge/platform",
    )
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"corpus not found at {args.corpus}", file=sys.stderr)
        return 2

    defaults = (
        platform_defaults.NO_DEFAULTS
        if args.no_platform_defaults
        else platform_defaults.load(catalog.bundled_platform_paths())
    )
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    broken = 0
    seconds = 0.0
    synthesized = 0
    for path in suites.discover([args.corpus]):
        suite = suites.load_suite(path)
        prepared = running.prepare(suite)
        wanted = {
            (e.policy, e.rule, e.resource_name, e.kind)
            for e in suite.expectations
            if e.expected == "fail" and not e.rule_less
        }
        wanted_rule_less = {
            (e.policy, e.resource_name, e.kind)
            for e in suite.expectations
            if e.expected == "fail" and e.rule_less
        }
        for policy in prepared.kyverno:
            for obj in prepared.objects:
                ref = resources.ref_of(obj)
                request = prepared.request_for(policy, obj)
                inputs = prepared.inputs_for(policy, obj)
                before = engine.evaluate_all(prepared.kyverno, request, inputs)
                for result in before:
                    if result.policy != policy.name or result.status != "fail":
                        continue
                    names = {result.rule, result.base_rule}
                    if not any((policy.name, n, ref.name, ref.kind) in wanted for n in names):
                        continue
                    rule = next((r for r in policy.rules if r.name == result.rule), None)
                    group = rule_group(rule)
                    started = time.perf_counter()
                    fix = synthesis.synthesize(
                        result,
                        request,
                        prepared.kyverno,
                        before=before,
                        inputs=inputs,
                        defaults=defaults,
                    )
                    seconds += time.perf_counter() - started
                    synthesized += 1
                    counts[group][fix.status] += 1
                    if fix.status == "exact" and fix.fixed is not None:
                        broken += _breaks_something(prepared, request, fix, before, inputs)
                    if args.list and fix.status == args.list:
                        print(
                            f"{args.list.upper()} [{group}] {path.parent.parent.name} "
                            f"{policy.name}/{result.rule} {ref}: {fix.note}"
                        )
        for cel_policy in prepared.cel_policies:
            if cel_policy.kind not in celpolicies.VPOL_KINDS:
                continue
            for obj in prepared.objects:
                ref = resources.ref_of(obj)
                if (cel_policy.name, ref.name, ref.kind) not in wanted_rule_less:
                    continue
                request = prepared.request_for(cel_policy, obj)
                found = celpolicies.evaluate(cel_policy, request, lookups=prepared.lookups)
                if not any(r.status == "fail" for r in found):
                    continue
                started = time.perf_counter()
                fixed = cel_fixes.fix_cel_policy(
                    cel_policy,
                    request,
                    lookups=prepared.lookups,
                    policies=prepared.cel_policies,
                    defaults=defaults,
                )
                seconds += time.perf_counter() - started
                if fixed is None:
                    continue
                synthesized += 1
                counts[VPOL_GROUP][fixed.status] += 1
                if fixed.status == "exact" and fixed.fixed is not None:
                    broken += _breaks_a_cel_policy(prepared, cel_policy, request, fixed)
                if args.list and fixed.status == args.list:
                    print(
                        f"{args.list.upper()} [{VPOL_GROUP}] {path.parent.parent.name} "
                        f"{cel_policy.name} {ref}: {fixed.note}"
                    )

    print(
        f"{synthesized} failing (resource, rule) pairs, synthesis {seconds:.2f}s "
        f"({synthesized / seconds if seconds else 0:.0f} fixes/s, "
        f"{1000 * seconds / max(synthesized, 1):.1f} ms each, proof included)"
    )
    for group, counter in sorted(counts.items()):
        total = sum(counter.values())
        exact = counter["exact"]
        print(
            f"{group}: {exact}/{total} exact = {100 * exact / total:.1f}% "
            f"(guided {counter['guided']}, none {counter['none']})"
        )
    print(f"exact fixes that break another rule: {broken}")
    return 0


def _breaks_a_cel_policy(
    prepared: running.PreparedSuite,
    policy: celpolicies.CelPolicy,
    request: Any,
    fix: synthesis.Fix,
) -> int:
    """The same re-check for a ValidatingPolicy fix, over the suite's CEL policies."""
    import dataclasses

    patched = dataclasses.replace(request, object=dict(fix.fixed or {}))
    for other in prepared.cel_policies:
        before = celpolicies.evaluate(other, request, lookups=prepared.lookups)
        after = celpolicies.evaluate(other, patched, lookups=prepared.lookups)
        if other.name == policy.name and any(r.status != "pass" for r in after):
            return 1
        failing_before = any(r.status in ("fail", "error") for r in before)
        if not failing_before and any(r.status in ("fail", "error") for r in after):
            return 1
    return 0


def _breaks_something(
    prepared: running.PreparedSuite,
    request: Any,
    fix: synthesis.Fix,
    before: list[Any],
    inputs: engine.Inputs,
) -> int:
    """An independent re-check: 1 if any rule fails after the fix that passed before."""
    import dataclasses

    after = engine.evaluate_all(
        prepared.kyverno, dataclasses.replace(request, object=dict(fix.fixed or {})), inputs
    )
    failing_before = {(r.policy, r.rule) for r in before if r.status in ("fail", "error")}
    target = (fix.failure.policy, fix.failure.rule)
    for result in after:
        key = (result.policy, result.rule)
        if key == target and result.status != "pass":
            return 1
        if result.status in ("fail", "error") and key not in failing_before:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
