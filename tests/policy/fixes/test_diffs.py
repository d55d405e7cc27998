"""Diffs show only the changed lines, and apply back exactly."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bot.policy.fixes import diffs


def test_only_changed_lines_with_context() -> None:
    """Three lines of context around a change, files labelled a/ and b/."""
    before = "".join(f"k{i}: {i}\n" for i in range(20))
    after = before.replace("k10: 10\n", "k10: 11\n")

    diff = diffs.unified_diff(before, after, name="/tmp/x.yaml")

    assert diff.splitlines()[:3] == ["--- a/tmp/x.yaml", "+++ b/tmp/x.yaml", "@@ -8,7 +8,7 @@"]
    assert "-k10: 10" in diff.splitlines()
    assert "+k10: 11" in diff.splitlines()
    assert "k3: 3" not in diff


def test_missing_final_newline_is_marked_not_shown_as_a_change() -> None:
    """A file ending without a newline keeps its last line as context when text is added."""
    diff = diffs.unified_diff("a: 1\nb: 2", "a: 1\nb: 2\nc: 3", name="x.yaml")

    assert diff.count("\\ No newline at end of file") == 2


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to apply the diff")
@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("a: 1\nb: 2", "a: 1\nb: 2\nc: 3"),
        ("a: 1\nb: 2\n", "a: 1\nb: 3\n"),
        ("a: 1\nb: 2", "a: 1\n"),
    ],
)
def test_diff_applies_back_exactly(tmp_path: Path, before: str, after: str) -> None:
    """`git apply` turns the old file into the new one, byte for byte."""
    (tmp_path / "x.yaml").write_text(before)
    (tmp_path / "fix.patch").write_text(diffs.unified_diff(before, after, name="x.yaml"))

    subprocess.run(["git", "apply", "fix.patch"], cwd=tmp_path, check=True, capture_output=True)

    assert (tmp_path / "x.yaml").read_text() == after
