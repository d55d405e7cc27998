"""Conformance of the engine with the Kyverno CLI on Kyverno's policy library.

Runs every kyverno-test.yaml below the corpus and reports the share of
expectations matched: overall, per feature set (pattern-only policies, the
classic and the CEL sets), and per top-level directory.

    python benchmarks/conformance.py [CORPUS_DIR] [--misses]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

from bot.kyvernotest import features as suite_features, running, suites

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared/corpus/kyverno-policies"


def share(results: list[running.ExpectationResult]) -> str:
    if not results:
        return "n/a"
    matched = sum(r.matched for r in results)
    return f"{matched}/{len(results)} = {100 * matched / len(results):.2f}%"


def main() -> int:
    try:
        return run()
    except BrokenPipeError:
        return 0


def run() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--misses", action="store_true", help="list every missed expectation")
    parser.add_argument(
        "--strict", action="store_true", help="count unselected resources as misses"
    )
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"corpus not found at {args.corpus}", file=sys.stderr)
        return 2

    started = time.perf_counter()
    groups: dict[str, list[running.ExpectationResult]] = defaultdict(list)
    by_dir: dict[str, list[running.ExpectationResult]] = defaultdict(list)
    everything: list[running.ExpectationResult] = []
    paths = list(suites.discover([args.corpus]))
    for path in paths:
        report = running.run_suite(path, strict=args.strict)
        features = suite_features.features_of(suites.load_suite(path))
        top = path.relative_to(args.corpus).parts[0]
        everything.extend(report.results)
        by_dir[top].extend(report.results)
        # The corpus README's two sets: ClusterPolicy tests (some use validate.cel)
        # and ValidatingPolicy tests.
        is_vpol = "ValidatingPolicy" in features
        groups["CEL set (ValidatingPolicy)" if is_vpol else "classic set (ClusterPolicy)"].extend(
            report.results
        )
        if "cel" in features:
            groups["  of the classic set: validate.cel"].extend(report.results)
        if suite_features.is_pattern_only(features):
            groups["pattern-only (match/exclude + pattern/anyPattern)"].extend(report.results)
        if args.misses:
            for result in report.results:
                if not result.matched:
                    exp = result.expectation
                    print(
                        f"MISS {path.relative_to(args.corpus)} {exp.policy}/{exp.rule} "
                        f"{exp.kind}/{exp.resource}: expected {exp.expected}, got {result.actual}"
                        f" -- {result.message[:200]}"
                    )
    elapsed = time.perf_counter() - started

    print(f"{len(paths)} tests, {len(everything)} expectations, {elapsed:.1f}s")
    print(f"overall: {share(everything)}")
    for name, results in sorted(groups.items()):
        print(f"{name}: {share(results)}")
    print("per directory:")
    for name, results in sorted(by_dir.items()):
        print(f"  {name}: {share(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
