"""`policybot check`: reports, JSON entries and exit codes."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from bot.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SUITE_POLICY = ROOT / "tests/fixtures/suite/policy.yaml"

COMPLIANT_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: ok, namespace: shop, labels: {owner: shop}}
spec:
  containers:
  - {name: app, image: registry.internal/app:1}
"""

UNLABELLED_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: anon, namespace: shop}
spec:
  containers:
  - {name: app, image: nginx:1.27}
"""


def run_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["check", *args, "--output", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_compliant_manifest_exits_zero(tmp_path, capsys):
    """A manifest every rule passes gives exit code 0."""
    path = tmp_path / "pod.yaml"
    path.write_text(COMPLIANT_POD)

    code, report = run_json(capsys, str(path), "--policies", str(SUITE_POLICY))

    assert code == 0
    assert report["summary"]["fail"] == 0
    assert {r["status"] for r in report["results"]} == {"pass", "skip"}


def test_violation_gives_entry_with_path_and_exit_one(tmp_path, capsys):
    """Each (resource, policy, rule) is one JSON entry; a failure exits 1."""
    path = tmp_path / "pod.yaml"
    path.write_text(UNLABELLED_POD)

    code, report = run_json(capsys, str(path), "--policies", str(SUITE_POLICY))

    assert code == 1
    [failure] = [r for r in report["results"] if r["rule"] == "owner-label"]
    assert failure["resource"] == {
        "apiVersion": "v1",
        "kind": "Pod",
        "namespace": "shop",
        "name": "anon",
    }
    assert (failure["policy"], failure["rule"]) == ("pods-need-owner", "owner-label")
    assert failure["path"] == "/metadata/labels/"
    assert failure["action"] == "enforce"
    assert failure["message"].startswith("validation error: Pods need an owner label.")


def test_stdin_is_read_for_dash(capsys, monkeypatch):
    """`-` reads manifests from standard input, for pipelines."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(UNLABELLED_POD.encode())))

    code, report = run_json(capsys, "-", "--policies", str(SUITE_POLICY))

    assert code == 1
    assert report["resources"] == 1


def test_bundled_baseline_is_the_default(capsys):
    """Without --policies the bundled baseline judges the shipped examples."""
    code, report = run_json(capsys, str(ROOT / "examples/manifests"))

    failing = {
        (r["resource"]["name"], r["policy"]) for r in report["results"] if r["status"] == "fail"
    }
    assert code == 1
    assert ("legacy-billing", "disallow-privileged-containers") in failing
    assert ("report-runner", "disallow-secrets-in-env") in failing
    assert not any(name == "orders-api" for name, _ in failing)


def test_text_report_names_failures(tmp_path, capsys):
    """The readable report spells out each failure and whether it blocks."""
    path = tmp_path / "pod.yaml"
    path.write_text(UNLABELLED_POD)

    code = main(["check", str(path), "--policies", str(SUITE_POLICY)])

    out = capsys.readouterr().out
    assert code == 1
    assert "Pod/shop/anon: FAIL" in out
    assert "pods-need-owner/owner-label (blocks admission)" in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("apiVersion: v1\nkind: [Pod\n", "invalid YAML at line 3, column 1"),
        ("apiVersion: v1\nkind: Pod\n", "metadata.name: is missing"),
        ("- a\n- b\n", "must be a Kubernetes object"),
    ],
)
def test_unusable_manifest_exits_two(tmp_path, capsys, text, expected):
    """Malformed manifests give one clear line and exit code 2."""
    path = tmp_path / "bad.yaml"
    path.write_text(text)

    code = main(["check", str(path), "--policies", str(SUITE_POLICY)])

    err = capsys.readouterr().err
    assert code == 2
    assert expected in err
    assert str(path) in err


def test_directory_without_policies_exits_two(tmp_path, capsys):
    """Pointing --policies at something holding no policy is an input error."""
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(COMPLIANT_POD)

    code = main(["check", str(manifest), "--policies", str(manifest)])

    assert code == 2
    assert "no Kyverno ClusterPolicy, Policy, ValidatingPolicy" in capsys.readouterr().err


def test_validating_policy_is_checked_too(tmp_path, capsys):
    """CEL ValidatingPolicies given with --policies judge manifests like Kyverno policies."""
    path = tmp_path / "pod.yaml"
    path.write_text(COMPLIANT_POD.replace("spec:\n", "spec:\n  hostNetwork: true\n", 1))

    code, report = run_json(
        capsys, str(path), "--policies", str(ROOT / "tests/fixtures/no-host-network-vpol.yaml")
    )

    [result] = report["results"]
    assert code == 1
    assert (result["policy"], result["status"], result["action"]) == (
        "no-host-network",
        "fail",
        "enforce",
    )
    assert "node's network" in result["message"]


def test_fix_derives_validating_policy_change(tmp_path, capsys):
    """`policybot fix` proves and shows a fix for a failing ValidatingPolicy."""
    path = tmp_path / "pod.yaml"
    path.write_text(COMPLIANT_POD.replace("spec:\n", "spec:\n  hostNetwork: true\n", 1))
    policy = str(ROOT / "tests/fixtures/no-host-network-vpol.yaml")

    code = main(["fix", str(path), "--policies", policy, "--output", "json"])

    [entry] = json.loads(capsys.readouterr().out)["fixes"]
    assert code == 1
    assert (entry["policy"], entry["status"]) == ("no-host-network", "exact")
    assert entry["patch"] == [{"op": "replace", "path": "/spec/hostNetwork", "value": False}]
    assert "+  hostNetwork: false" in entry["diff"]
