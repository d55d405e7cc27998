"""`policybot explain`: explanations, fix diffs, JSON output and bad input."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from bot.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
PRIVILEGED = ROOT / "examples/manifests/root-privileged-deployment.yaml"

KYVERNO_DENIAL = (
    'Error from server: error when creating "d.yaml": admission webhook '
    '"validate.kyverno.svc-fail" denied the request: \n\n'
    "resource Deployment/billing/legacy-billing was blocked due to the following policies \n\n"
    "disallow-privileged-containers:\n"
    "  autogen-privileged-containers: 'validation error: Privileged containers are not allowed.\n"
    "    rule autogen-privileged-containers failed at path\n"
    "    /spec/template/spec/containers/0/securityContext/privileged/'\n"
)

PSA_DENIAL = (
    'Error from server (Forbidden): pods "legacy-billing-1" is forbidden: violates PodSecurity '
    '"baseline:latest": privileged (container "billing" must not set '
    "securityContext.privileged=true)"
)


def run_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["explain", *args, "--output", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_kyverno_denial_gets_the_written_explanation(capsys):
    """The bundled knowledge entry explains a bundled policy's autogen rule."""
    code, report = run_json(capsys, KYVERNO_DENIAL)

    assert code == 0
    [violation] = report["violations"]
    assert (violation["engine"], violation["policy"], violation["rule"]) == (
        "kyverno",
        "disallow-privileged-containers",
        "autogen-privileged-containers",
    )
    assert violation["resource"] == {
        "kind": "Deployment",
        "namespace": "billing",
        "name": "legacy-billing",
    }
    assert violation["explanation"]["source"] == "knowledge"


def test_psa_check_is_explained_by_its_check_entry(capsys):
    _, report = run_json(capsys, PSA_DENIAL)

    [violation] = report["violations"]
    assert violation["containers"] == ["billing"]
    assert violation["explanation"]["source"] == "knowledge"
    assert "privileged" in violation["explanation"]["title"].lower()


def test_manifest_gives_the_kyverno_fix_of_the_violated_rule_only(capsys):
    """The manifest fails four rules; only the one in the denial is fixed."""
    code, report = run_json(capsys, KYVERNO_DENIAL, "--manifest", str(PRIVILEGED))

    assert code == 0
    assert [(f["policy"], f["rule"], f["status"]) for f in report["fixes"]] == [
        ("disallow-privileged-containers", "autogen-privileged-containers", "exact")
    ]
    assert "+            privileged: false" in report["fixes"][0]["diff"]


def test_manifest_gives_the_psa_fix_for_the_enforced_level(capsys):
    _, report = run_json(capsys, PSA_DENIAL, "--manifest", str(PRIVILEGED))

    [fix] = report["fixes"]
    assert (fix["engine"], fix["policy"], fix["status"]) == ("psa", "baseline:latest", "exact")
    assert {
        "op": "replace",
        "path": "/spec/template/spec/containers/0/securityContext/privileged",
        "value": False,
    } in fix["patch"]


def test_policy_missing_from_the_loaded_set_is_said(capsys):
    denial = KYVERNO_DENIAL.replace("disallow-privileged-containers:", "house-rules:")

    _, report = run_json(capsys, denial, "--manifest", str(PRIVILEGED))

    assert report["fixes"][0]["status"] == "none"
    assert "--policies" in report["fixes"][0]["note"]


def test_text_output_reads_as_an_explanation(capsys):
    code = main(["explain", KYVERNO_DENIAL, "--manifest", str(PRIVILEGED)])
    out = capsys.readouterr().out

    assert code == 0
    assert out.startswith("Kyverno denied Deployment billing/legacy-billing:")
    assert "Why: " in out
    assert "How to fix: " in out
    assert "--- a/" in out


def test_text_is_read_from_stdin(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(PSA_DENIAL))

    code, report = run_json(capsys, "-")

    assert code == 0
    assert report["violations"][0]["rule"] == "privileged"


def test_unknown_text_is_explained_generically(capsys):
    code, report = run_json(capsys, "computer says no")

    assert code == 0
    assert report["violations"][0]["message"] == "computer says no"
    assert report["violations"][0]["explanation"]["source"] == "rejection"


def test_unreachable_webhook_becomes_a_note(capsys):
    _, report = run_json(
        capsys, 'Internal error occurred: failed calling webhook "x.example.com": timeout'
    )

    assert report["violations"] == []
    assert report["notes"][0]["detail"].startswith('webhook "x.example.com" could not be called')


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["   "], None, "the rejection text is empty"),
        ([], "", "the rejection text is empty"),
        (["x", "--manifest", "/no/such/file.yaml"], None, "no such file"),
        (["x", "--policies", str(ROOT / "docs")], None, "no Kyverno ClusterPolicy, Policy"),
    ],
)
def test_bad_input_is_one_line_and_exit_two(capsys, monkeypatch, args, stdin, message):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))

    code = main(["explain", *args])
    err = capsys.readouterr().err

    assert code == 2
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_missing_text_on_a_terminal_says_how_to_give_it(capsys, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())

    code = main(["explain"])

    assert code == 2
    assert "pipe it on standard input" in capsys.readouterr().err


def test_manifest_without_objects_is_bad_input(capsys, tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing here\n")

    code = main(["explain", PSA_DENIAL, "--manifest", str(empty)])

    assert code == 2
    assert "holds no Kubernetes object" in capsys.readouterr().err


RESOURCES_DENIAL = KYVERNO_DENIAL.replace(
    "disallow-privileged-containers:", "require-resource-requests:"
).replace("autogen-privileged-containers", "autogen-container-resources")


@pytest.mark.parametrize(
    ("flags", "status"),
    [([], "exact"), (["--no-platform-defaults"], "guided")],
)
def test_manifest_fix_takes_the_platform_defaults(capsys, tmp_path, flags, status):
    """Missing requests take knowledge/platform's values unless told otherwise."""
    manifest = tmp_path / "billing.yaml"
    manifest.write_text(
        "apiVersion: apps/v1\nkind: Deployment\n"
        "metadata: {name: legacy-billing, namespace: billing}\n"
        "spec:\n  selector: {matchLabels: {app: billing}}\n  template:\n"
        "    metadata: {labels: {app: billing}}\n"
        "    spec:\n      containers:\n      - name: billing\n        image: billing:1.4\n"
    )

    _, report = run_json(capsys, RESOURCES_DENIAL, "--manifest", str(manifest), *flags)

    [fix] = report["fixes"]
    assert (fix["rule"], fix["status"]) == ("autogen-container-resources", status)
    assert ("+              cpu: 100m" in fix["diff"]) is (status == "exact")
