"""Agreement with the Kyverno CLI on Kyverno's own policy library.

These are regression floors, not the measurement itself: the exact figures
come from `benchmarks/conformance.py` and are recorded in the README.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.kyvernotest import features, running, suites


@pytest.fixture(scope="module")
def pattern_only_results(kyverno_library: Path) -> list[running.ExpectationResult]:
    results: list[running.ExpectationResult] = []
    for path in suites.discover([kyverno_library]):
        if features.is_pattern_only(features.features_of(suites.load_suite(path))):
            results.extend(running.run_suite(path, strict=True).results)
    return results


def test_pattern_only_suites_agree_with_kyverno(pattern_only_results):
    """At least 99% of pattern/anyPattern expectations match, even counted strictly."""
    matched = sum(result.matched for result in pattern_only_results)

    assert len(pattern_only_results) > 500
    assert matched / len(pattern_only_results) >= 0.99


def test_every_suite_of_the_library_runs(kyverno_library):
    """No suite of the library makes the runner fail to load it."""
    errors = [
        (str(report.path), report.error)
        for report in map(running.run_suite, suites.discover([kyverno_library]))
        if report.error
    ]

    assert errors == []
