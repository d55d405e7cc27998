"""`policybot test`: run Kyverno CLI test suites and report each expectation."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.kyvernotest import running, suites


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "test",
        help="run kyverno-test.yaml suites",
        description="Run every kyverno-test.yaml below the given directories, "
        "Kyverno CLI style, and report each expectation.",
    )
    parser.add_argument("dirs", nargs="+", metavar="DIR", type=Path)
    parser.add_argument("--output", choices=["text", "json"], default="text")
    parser.add_argument(
        "--verbose", action="store_true", help="list matched expectations too, not only misses"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="count a resource the rule did not select as a miss; the Kyverno CLI "
        "counts it as passed whatever the suite expects",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    reports = [
        running.run_suite(path, strict=args.strict) for path in suites.discover(list(args.dirs))
    ]
    if args.output == "json":
        print(json.dumps(to_json(reports), indent=2))
    else:
        print(render_text(reports, verbose=args.verbose))
    all_matched = all(
        not report.error and all(result.matched for result in report.results) for report in reports
    )
    return 0 if all_matched and reports else 1


def to_json(reports: Sequence[running.SuiteReport]) -> dict[str, Any]:
    results = [result for report in reports for result in report.results]
    return {
        "tests": len(reports),
        "expectations": len(results),
        "matched": sum(result.matched for result in results),
        "errors": [{"test": str(r.path), "error": r.error} for r in reports if r.error],
        "results": [
            {
                "test": str(result.suite),
                "policy": result.expectation.policy,
                "rule": result.expectation.rule,
                "resource": result.expectation.resource,
                "kind": result.expectation.kind,
                "expected": result.expectation.expected,
                "actual": result.actual,
                "message": result.message,
            }
            for result in results
        ],
    }


def render_text(reports: Sequence[running.SuiteReport], *, verbose: bool = False) -> str:
    lines: list[str] = []
    for report in reports:
        matched = sum(result.matched for result in report.results)
        total = len(report.results)
        ok = not report.error and matched == total
        lines.append(f"{'PASS' if ok else 'FAIL'} {report.path} ({matched}/{total})")
        if report.error:
            lines.append(f"    error: {report.error}")
        for result in report.results:
            if result.matched and not verbose:
                continue
            exp = result.expectation
            rule = f"/{exp.rule}" if exp.rule and not exp.rule_less else ""
            lines.append(
                f"    {'ok  ' if result.matched else 'MISS'} {exp.policy}{rule} "
                f"{exp.kind}/{exp.resource}: expected {exp.expected}, got {result.actual}"
            )
            if not result.matched and result.message:
                lines.append(f"         {result.message}")
    results = [result for report in reports for result in report.results]
    matched = sum(result.matched for result in results)
    share = f" ({100 * matched / len(results):.1f}%)" if results else ""
    excluded = sum(r.matched and r.actual == running.EXCLUDED for r in results)
    note = (
        f"; {excluded} of them only because the rule did not select the resource,"
        " which the Kyverno CLI counts as passed (--strict counts them as misses)"
        if excluded
        else ""
    )
    lines.append(
        f"{len(reports)} tests, {len(results)} expectations, {matched} matched{share}{note}"
    )
    return "\n".join(lines)
