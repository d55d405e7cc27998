"""`fix --write` changes the lines a fix needs and nothing else."""

from __future__ import annotations

import pytest

from bot.errors import InputError
from bot.policy.fixes import rewriting
from bot.policy.fixes.patches import PatchOp

FILE = """\
# Owned by team-a; see the runbook.
apiVersion: v1
kind: Pod
metadata:
  name: first   # keep this comment
spec:
  containers:
  - name: app
    image: "nginx:1.25"
---
# The second one indents lists differently.
apiVersion: v1
kind: Pod
metadata: {name: second}
spec:
  containers:
    - name: app
      image: nginx:1.25
"""

ESCALATION = PatchOp(
    "add", "/spec/containers/0/securityContext", {"allowPrivilegeEscalation": False}
)


def test_only_the_patched_document_changes() -> None:
    """Document 2 keeps its bytes while document 1 is rewritten, comments and quotes kept."""
    rewritten = rewriting.rewrite(FILE, {1: [ESCALATION]})

    first, second = rewritten.split("---\n")
    assert second == FILE.split("---\n")[1]
    assert "# Owned by team-a; see the runbook." in first
    assert "name: first   # keep this comment" in first
    assert 'image: "nginx:1.25"' in first
    assert "    securityContext:\n      allowPrivilegeEscalation: false\n" in first


def test_each_document_keeps_its_own_list_indentation() -> None:
    """A document whose lists are indented under their key stays that way."""
    rewritten = rewriting.rewrite(FILE, {2: [ESCALATION]})

    second = rewritten.split("---\n")[1]
    assert "  containers:\n    - name: app\n      image: nginx:1.25\n" in second
    assert "      securityContext:\n        allowPrivilegeEscalation: false\n" in second
    assert rewritten.split("---\n")[0] == FILE.split("---\n")[0]


def test_end_of_file_without_newline_is_kept() -> None:
    """A file that ends without a newline still does after the rewrite."""
    text = "kind: Pod\nmetadata:\n  name: a\nspec:\n  hostNetwork: true"

    rewritten = rewriting.rewrite(text, {1: [PatchOp("remove", "/spec/hostNetwork")]})

    assert rewritten == "kind: Pod\nmetadata:\n  name: a\nspec: {}"


def test_leading_separator_and_explicit_end_are_kept() -> None:
    """`---` before the first document and `...` after it stay where they were."""
    text = "---\nkind: Pod\nspec:\n  a: 1\n...\n---\nkind: Service\n"

    rewritten = rewriting.rewrite(text, {1: [PatchOp("replace", "/spec/a", 2)]})

    assert rewritten == "---\nkind: Pod\nspec:\n  a: 2\n...\n---\nkind: Service\n"


def test_no_patch_returns_the_text_unchanged() -> None:
    """Nothing to apply means not even a round trip."""
    assert rewriting.rewrite("a:   1  # odd spacing\n", {}) == "a:   1  # odd spacing\n"


def test_missing_document_is_a_clear_error() -> None:
    """Patching document 3 of a two-document file names the file and the number."""
    with pytest.raises(InputError, match="no document 3"):
        rewriting.rewrite(FILE, {3: [ESCALATION]}, source="pods.yaml")


def test_invalid_yaml_is_a_clear_error() -> None:
    """A file that changed into invalid YAML since it was read is refused, not mangled."""
    with pytest.raises(InputError, match="cannot rewrite"):
        rewriting.rewrite("a: [1\n", {1: [PatchOp("add", "/b", 1)]}, source="bad.yaml")


def test_lines_the_patch_leaves_alone_keep_their_spacing() -> None:
    """Inside the patched document, untouched lines are not respaced by the round trip."""
    text = (
        "kind: StatefulSet\n"
        "spec:\n"
        "  volumeClaimTemplates:\n"
        "  - spec:\n"
        '      accessModes: [ "ReadWriteOnce" ]\n'
        "      hostNetwork: true    # odd spacing\n"
        "      resources:\n"
        "        requests:\n"
        "          storage: 1Gi\n"
    )
    op = PatchOp("add", "/spec/volumeClaimTemplates/0/spec/storageClassName", "standard")

    rewritten = rewriting.rewrite(text, {1: [op]})

    assert rewritten == text + "      storageClassName: standard\n"
