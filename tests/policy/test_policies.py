"""Loading Kyverno policies: the model, and errors that point at the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import InputError
from bot.policy import policies

GOOD = """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-team
  annotations:
    policies.kyverno.io/title: Require team
spec:
  validationFailureAction: enforce
  rules:
  - name: team-label
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      message: a team label is required
      pattern:
        metadata:
          labels:
            team: "?*"
"""


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_cluster_policy_loads_with_its_fields(tmp_path):
    """A well-formed ClusterPolicy keeps its name, action and annotations."""
    path = write(tmp_path, GOOD)

    [policy] = policies.load_policies([path])

    assert policy.name == "require-team"
    assert policy.kind == "ClusterPolicy"
    assert policy.failure_action == "Enforce"
    assert policy.annotations["policies.kyverno.io/title"] == "Require team"
    assert policy.source == str(path)


def test_directory_loading_skips_other_kinds(tmp_path):
    """Tests and resources beside policies are not mistaken for policies."""
    write(tmp_path, GOOD)
    write(tmp_path, "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n", "pod.yaml")

    loaded = policies.load_policies([tmp_path])

    assert [p.name for p in loaded] == ["require-team"]


def test_namespaced_policy_keeps_namespace(tmp_path):
    """A Policy only governs its own namespace, so its namespace is kept."""
    text = GOOD.replace("kind: ClusterPolicy", "kind: Policy").replace(
        "name: require-team", "name: require-team\n  namespace: shop"
    )

    [policy] = policies.load_policies([write(tmp_path, text)])

    assert policy.namespace == "shop"


def test_multi_document_error_names_document(tmp_path):
    """The second document of a file is reported as document 2."""
    broken = GOOD.replace("    match:\n", "    match: [oops]\n    unused:\n")
    path = write(tmp_path, GOOD + "---\n" + broken)

    with pytest.raises(InputError) as caught:
        policies.load_policies([path])

    assert str(caught.value) == (
        f"{path}: document 2: spec.rules[0].match: must be a mapping, got a list"
    )


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (("name: require-team", "name: ''"), "metadata.name", "must be a non-empty string"),
        (("  rules:\n", "  rules: []\n  x:\n"), "spec.rules", "must be a non-empty list"),
        (("enforce", "Block"), "spec.validationFailureAction", "must be Enforce or Audit"),
        (("kinds: [Pod]", "kinds: Pod"), "spec.rules[0].match.any[0].resources.kinds", "kind"),
        (("- name: team-label", "- nom: team-label"), "spec.rules[0].name", "non-empty"),
        (("      pattern:", "      patern:"), "spec.rules[0].validate", "needs one of"),
    ],
)
def test_malformed_policy_names_the_field(tmp_path, change, field, problem):
    """Each shape error names the file, the document and the field."""
    path = write(tmp_path, GOOD.replace(*change))

    with pytest.raises(InputError) as caught:
        policies.load_policies([path])

    assert caught.value.field == field
    assert caught.value.document == 1
    assert problem in caught.value.problem


def test_invalid_yaml_reports_line(tmp_path):
    """A YAML syntax error gives the line and column, not a parser traceback."""
    path = write(tmp_path, "apiVersion: kyverno.io/v1\nkind: [ClusterPolicy\n")

    with pytest.raises(InputError) as caught:
        policies.load_policies([path])

    assert "invalid YAML at line" in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_path_is_an_input_error(tmp_path):
    """A path that does not exist is reported, not silently ignored."""
    with pytest.raises(InputError, match="no such file"):
        policies.load_policies([tmp_path / "absent.yaml"])


def test_unscored_policy_is_not_scored(tmp_path):
    """The scored annotation set to false turns failures into warnings."""
    text = GOOD.replace("annotations:\n", "annotations:\n    policies.kyverno.io/scored: 'false'\n")

    [policy] = policies.load_policies([write(tmp_path, text)])

    assert policy.scored is False
