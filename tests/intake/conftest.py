"""Shared helpers for the intake tests: fixture files and terse record views."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.intake.violations import Record

FIXTURES = Path(__file__).parent / "fixtures"


def keys(record: Record) -> set[tuple[str | None, str | None, str | None]]:
    """The violations of a record as the corpus compares them."""
    return {violation.key for violation in record.violations}


def only(records: list[Record]) -> Record:
    """The single record a payload gave; fails the test otherwise."""
    assert len(records) == 1, records
    return records[0]


@pytest.fixture
def fixture_text():
    def read(name: str) -> str:
        return (FIXTURES / name).read_text(encoding="utf-8")

    return read
