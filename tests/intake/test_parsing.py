"""The dispatcher: what is pasted, how it is read, and what comes back."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings, strategies as st

from bot.intake import documents, parse, parsing
from bot.intake.violations import ResourceRef
from tests.intake.conftest import keys, only


def test_kubectl_transcript_gives_one_record_per_request(fixture_text):
    """Warnings name the created Deployment; each error line starts a new message."""
    records = parse(fixture_text("kubectl-apply.txt"))

    assert [(r.engine, r.action, r.resource) for r in records] == [
        ("psa", "warn", ResourceRef("Deployment", None, "web")),
        ("kyverno", "warn", ResourceRef("Deployment", None, "web")),
        ("kyverno", "deny", ResourceRef("Job", "shop", "nightly-export")),
        ("gatekeeper", "deny", ResourceRef()),
    ]
    assert keys(records[2]) == {
        (
            "require-requests-limits",
            "validate-resources",
            "/spec/template/spec/containers/0/resources/limits/",
        )
    }


@pytest.mark.parametrize("payload", ["", "   \n\t", "```\n```"])
def test_empty_input_yields_nothing(payload):
    assert parse(payload) == []


def test_unknown_text_yields_one_generic_record():
    """The user still gets an answer, marked as unrecognised."""
    record = only(parse("the cluster said no"))

    assert (record.engine, record.action, record.detail) == (
        "webhook",
        "unknown",
        parsing.GENERIC_DETAIL,
    )
    assert record.violations[0].message == "the cluster said no"


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ('Error from server (NotFound): pods "x" not found', "deny"),
        ("Warning: something odd happened", "warn"),
    ],
)
def test_generic_record_keeps_what_the_prefix_says(text, action):
    assert only(parse(text)).action == action


def test_engine_hint_names_the_engine_of_unknown_text():
    """A Kyverno deny rule's own message names no engine; the caller knows it."""
    record = only(parse("The animal cow is not allowed.", engine_hint="kyverno"))

    assert (record.engine, record.action, keys(record)) == (
        "kyverno",
        "unknown",
        {(None, None, None)},
    )


def test_engine_hint_never_overrides_a_known_format():
    record = only(parse('admission webhook "x" denied the request: no', engine_hint="kyverno"))

    assert record.engine == "webhook"


def test_unknown_mapping_yields_a_generic_record():
    record = only(parse({"kind": "ConfigMap", "data": {}}))

    assert record.violations[0].message == "an object of kind ConfigMap"


def test_code_fences_around_a_paste_are_ignored():
    record = only(parse('```\nadmission webhook "x" denied the request: no\n```'))

    assert keys(record) == {("x", None, None)}


def test_api_status_object_names_the_object_from_its_details():
    record = only(
        parse(
            {
                "kind": "Status",
                "message": 'admission webhook "x" denied the request: no',
                "details": {"kind": "deployments", "name": "web", "group": "apps"},
            }
        )
    )

    assert (record.action, record.resource) == ("deny", ResourceRef("Deployment", None, "web"))


def test_controller_conditions_carry_the_denial():
    deployment = {
        "kind": "Deployment",
        "status": {
            "conditions": [
                {"type": "Available", "status": "False", "message": "no minimum availability"},
                {
                    "type": "ReplicaFailure",
                    "status": "True",
                    "reason": "FailedCreate",
                    "message": 'admission webhook "x" denied the request: no',
                },
            ]
        },
    }

    assert keys(only(parse(deployment))) == {("x", None, None)}


def test_records_without_violations_drop_beside_others():
    """An event stream is read for what it rejected."""
    stream = [
        {"kind": "Event", "reason": "PolicyApplied", "source": {"component": "kyverno-admission"}},
        {
            "kind": "Event",
            "reason": "FailedCreate",
            "message": 'Error creating: admission webhook "x" denied the request: no',
            "source": {},
        },
    ]

    assert [r.engine for r in parse({"kind": "List", "items": stream})] == ["webhook"]


def test_parser_failure_falls_back_to_a_generic_record(monkeypatch, caplog):
    """A bug of ours costs the user nothing but precision, and is logged."""

    def broken(_text):
        raise RuntimeError("boom")

    monkeypatch.setattr(parsing.documents, "load", broken)
    with caplog.at_level(logging.ERROR):
        record = only(parse("something"))

    assert record.engine == "webhook"
    assert "could not be parsed" in caplog.text


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Warning: ",
                "Error from server (Forbidden): ",
                'admission webhook "x" denied the request: ',
                'pods "p" is forbidden: ',
                'violates PodSecurity "restricted:latest": ',
                "resource Pod/a/b was blocked due to the following policies\n",
                "policy: \n  rule: '",
                "[c] ",
                "{",
                "}",
                "[",
                '"a": ',
                "- ",
                "\n",
                "(",
                ")",
                ", ",
                '"',
                "'",
                "\\\n",
                "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: ",
                "  Warning  FailedCreate  1s  rc  ",
                'existing pods in namespace "n" violate the new PodSecurity enforce level "b"',
            ]
        )
        | st.text(max_size=20),
        max_size=12,
    ).map(lambda parts: "".join(parts)),
)
def test_no_input_makes_the_parser_fail(text):
    """Whatever is pasted, parsing returns records and logs no error."""
    logger = logging.getLogger("bot.intake")
    handler = _Collector()
    logger.addHandler(handler)
    try:
        records = parse(text)
    finally:
        logger.removeHandler(handler)

    assert isinstance(records, list)
    assert handler.errors == []


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.errors.append(record.getMessage())


@pytest.mark.parametrize(
    ("text", "loaded"),
    [
        ('{"a": 1}', [{"a": 1}]),
        ('{"a": 1}}', [{"a": 1}]),
        ('{"a": 1}\n{"b": 2}', [{"a": 1}, {"b": 2}]),
        ('{\n  "a": "x"\n  "b": 2\n}', [{"a": "x", "b": 2}]),
        ('# note\n{\n  "a": 1,\n  # more\n  ...\n}', [{"a": 1}]),
        ("a: 1\n---\nb: 2", [{"a": 1}, {"b": 2}]),
        ("- a: 1\nsummary:\n  x: 1", [[{"a": 1}], {"summary": {"x": 1}}]),
        ("Warning: a: b", None),
        ("plain words", None),
    ],
)
def test_documents_repair_common_paste_damage(text, loaded):
    """Stray braces, missing commas, comments, JSON lines and mixed YAML tops."""
    assert documents.load(text) == loaded


def test_structured_log_line_is_read_for_its_message():
    """A client's JSON log of an API warning carries the warning in `msg`."""
    line = (
        '{"level":"info","logger":"KubeAPIWarningLogger","msg":"would violate PodSecurity '
        '\\"restricted:latest\\": privileged (containers \\"a\\", \\"b\\" must not set '
        'securityContext.privileged=true)"}'
    )

    record = only(parse("operator starting\n" + line))

    assert (record.engine, record.action) == ("psa", "warn")
    assert record.violations[0].containers == ("a", "b")
