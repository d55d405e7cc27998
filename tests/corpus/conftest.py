"""Locating the shared corpus; tests that need it skip with the reason when absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("POLICYBOT_SHARED", REPO.parent / "shared"))


def corpus_dir(name: str) -> Path:
    path = SHARED / "corpus" / name
    if not path.is_dir():
        pytest.skip(
            f"the shared corpus is not at {path}; clone the project beside ../shared "
            "or set POLICYBOT_SHARED to run the conformance tests"
        )
    return path


@pytest.fixture(scope="session")
def kyverno_library() -> Path:
    return corpus_dir("kyverno-policies")
