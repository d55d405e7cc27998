"""Running Kyverno CLI suites: expectations found, compared and reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.kyvernotest import running, suites

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_every_expectation_of_the_suite_matches():
    """Autogen names, namespace/name, skips and namespace labels all line up."""
    report = running.run_suite(FIXTURES / "suite/.kyverno-test/kyverno-test.yaml")

    misses = [(r.expectation, r.actual, r.message) for r in report.results if not r.matched]
    assert report.error == ""
    assert misses == []
    assert len(report.results) == 7


def test_wrong_expectation_is_reported_with_actual():
    """A suite that expects the wrong verdict shows what we computed instead."""
    report = running.run_suite(FIXTURES / "suite-miss/.kyverno-test/kyverno-test.yaml")

    [miss] = [r for r in report.results if not r.matched]
    assert (miss.expectation.resource, miss.expectation.expected) == ("labelled", "fail")
    assert miss.actual == "pass"


def test_missing_files_make_a_suite_error(tmp_path):
    """A suite whose files are missing reports why instead of crashing."""
    path = tmp_path / "kyverno-test.yaml"
    path.write_text(
        "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\n"
        "policies: [absent.yaml]\nresources: [absent.yaml]\n"
        "results:\n- {policy: p, rule: r, kind: Pod, resources: [x], result: pass}\n"
    )

    report = running.run_suite(path)

    assert "no such file" in report.error
    assert [r.actual for r in report.results] == ["error"]


def test_invalid_expected_result_is_an_input_error(tmp_path):
    """An unknown result word is named with its position in the suite."""
    path = tmp_path / "kyverno-test.yaml"
    path.write_text(
        "kind: Test\nresults:\n- {policy: p, rule: r, kind: Pod, resources: [x], result: ok}\n"
    )

    report = running.run_suite(path)

    assert "results[0].result" in report.error


def test_discover_finds_nested_suites():
    """Suites are found below hidden test directories."""
    found = list(suites.discover([FIXTURES]))

    assert FIXTURES / "suite/.kyverno-test/kyverno-test.yaml" in found


def test_cli_json_output_counts(capsys):
    """`policybot test --output json` prints the documented counts and exits 1 on a miss."""
    code = main(["test", str(FIXTURES / "suite"), str(FIXTURES / "suite-miss"), "--output", "json"])

    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert (report["tests"], report["expectations"], report["matched"]) == (2, 14, 13)
    first = report["results"][0]
    assert set(first) >= {"test", "policy", "rule", "resource", "kind", "expected", "actual"}


def test_cli_exits_zero_when_all_match(capsys):
    """Exit code 0 only when every expectation matched."""
    code = main(["test", str(FIXTURES / "suite")])

    assert code == 0
    assert "7 expectations, 7 matched" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["test", "/nonexistent/dir"], ["check", "/nonexistent.yaml"]])
def test_cli_missing_path_exits_two(capsys, args):
    """Unusable input is one line on stderr and exit code 2, never a traceback."""
    code = main(args)

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("policybot: error: ")
    assert "Traceback" not in err
