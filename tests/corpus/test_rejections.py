"""Every rejection sample of the shared corpus, parsed as its README prescribes.

A sample with `expected:` must give exactly those records: in order, the same
engine, action, resource and requester, and the same violations compared as a
set of (policy, rule, path) with their containers. A sample without one must
still parse without an error. The payload is the sample's text, else its
decoded object, else (format strings) its literals joined by newlines; the
sample's engine directory is passed as `engine_hint`, which `parse` consults
only for text that names no engine.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import yaml

from bot.cli.main import main
from bot.intake import ENGINES, Record, parse
from tests.corpus.conftest import SHARED

CORPUS = SHARED / "corpus" / "rejections"
ABSENT = (
    f"the shared corpus is not at {CORPUS}; clone the project beside ../shared "
    "or set POLICYBOT_SHARED to run the conformance tests"
)

Comparable = tuple[Any, ...]


def _samples() -> list[dict[str, Any]]:
    if not CORPUS.is_dir():
        return []
    samples = []
    for path in sorted(CORPUS.glob("*/*.yaml")):
        samples.extend(yaml.safe_load(path.read_text(encoding="utf-8"))["samples"])
    return samples


SAMPLES = _samples()
WITH_EXPECTED = [s for s in SAMPLES if "expected" in s]
WITHOUT_EXPECTED = [s for s in SAMPLES if "expected" not in s]


def _params(samples: list[dict[str, Any]]) -> list[Any]:
    if not CORPUS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=ABSENT), id="corpus-absent")]
    return [pytest.param(sample, id=sample["id"]) for sample in samples]


def _payload(sample: dict[str, Any]) -> str | dict[str, Any]:
    if sample.get("text") is not None:
        return str(sample["text"])
    if sample.get("object") is not None:
        return dict(sample["object"])
    return "\n".join(str(literal) for literal in sample.get("literals") or [])


def _parse(sample: dict[str, Any]) -> list[Record]:
    hint = sample["engine"] if sample["engine"] in ENGINES else None
    return parse(_payload(sample), engine_hint=hint)


def _expected(expected: Any) -> list[Comparable]:
    mappings = expected if isinstance(expected, list) else [expected]
    return [
        (
            m["engine"],
            m["action"],
            (m["resource"]["kind"], m["resource"]["namespace"], m["resource"]["name"]),
            m["requester"],
            {
                (v["policy"], v["rule"], v["path"], tuple(sorted(v.get("containers") or ())))
                for v in m["violations"]
            },
        )
        for m in mappings
    ]


def _actual(records: list[Record]) -> list[Comparable]:
    return [
        (
            r.engine,
            r.action,
            (r.resource.kind, r.resource.namespace, r.resource.name),
            r.requester,
            {(v.policy, v.rule, v.path, tuple(sorted(v.containers))) for v in r.violations},
        )
        for r in records
    ]


@pytest.mark.parametrize("sample", _params(WITH_EXPECTED))
def test_sample_parses_as_expected(sample):
    """The records match the sample's hand-read ground truth."""
    records = _parse(sample)

    assert _actual(records) == _expected(sample["expected"])


@pytest.mark.parametrize("sample", _params(WITHOUT_EXPECTED))
def test_sample_parses_without_error(sample, caplog):
    """Samples without ground truth (policies, format strings) never break the parser."""
    with caplog.at_level(logging.ERROR, logger="bot.intake"):
        records = _parse(sample)

    assert isinstance(records, list)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_corpus_holds_the_documented_samples():
    """The corpus README promises 183 samples, 111 with ground truth."""
    if not CORPUS.is_dir():
        pytest.skip(ABSENT)

    assert len(SAMPLES) == 183
    assert len(WITH_EXPECTED) == 111


def _through_cli(sample: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    payload = _payload(sample)
    text = payload if isinstance(payload, str) else json.dumps(payload)
    args = ["explain", text, "--output", "json"]
    if sample["engine"] in ENGINES:
        args += ["--engine", sample["engine"]]

    code = main(args)

    assert code == 0
    return dict(json.loads(capsys.readouterr().out))


@pytest.mark.parametrize("sample", _params(WITH_EXPECTED))
def test_explain_command_reports_expected_violations(sample, capsys):
    """`policybot explain --output json` reports each expected violation as the corpus says."""
    report = _through_cli(sample, capsys)

    expected = {
        (
            m["engine"],
            m["action"],
            m["resource"]["kind"],
            m["resource"]["namespace"],
            m["resource"]["name"],
            v["policy"],
            v["rule"],
            v["path"],
        )
        for m in (
            sample["expected"] if isinstance(sample["expected"], list) else [sample["expected"]]
        )
        for v in m["violations"]
    }
    actual = {
        (
            v["engine"],
            v["action"],
            v["resource"]["kind"],
            v["resource"]["namespace"],
            v["resource"]["name"],
            v["policy"],
            v["rule"],
            v["path"],
        )
        for v in report["violations"]
    }
    assert actual == expected
