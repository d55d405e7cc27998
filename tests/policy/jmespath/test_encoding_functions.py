"""base64, hashes, parse_json and parse_yaml."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy.jmespath import JMESPathError, search


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("base64_decode('SGVsbG8sIHdvcmxkIQ==')", "Hello, world!"),
        ("base64_decode('SGVsbG8s\nIHdvcmxkIQ==')", "Hello, world!"),
        ("base64_decode('')", ""),
        ("base64_decode('/w==')", "\ufffd"),
        ("base64_encode('Hello, world!')", "SGVsbG8sIHdvcmxkIQ=="),
        ("base64_encode('héllo')", "aMOpbGxv"),
        (
            "sha256('alertmanager-kube-prometheus-stack-alertmanager')",
            "75c07bb807f2d80a85d34880b8af0c5f29f7c27577076ed5d0e4b427dee7dbcc",
        ),
        ("sha1('Alice & Bob')", "e3ec484930685a61b0f824cd684a68699d2b98c1"),
        ("md5('Alice & Bob')", "def42e1abd2462df1f9f0a4b3d488221"),
    ],
)
def test_encoding_function_matches_kyverno(expression: str, expected: str) -> None:
    assert search(expression, {}) == expected


@pytest.mark.parametrize(
    "text",
    ['{"a":"b"}', "true", '[1,2,3,{"a":"b"}]', "null", "[]", "{}", "0", "1.2"],
)
def test_parse_json_round_trips_through_to_string(text: str) -> None:
    assert search("to_string(parse_json(@))", text) == text


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('parse_json(\'{"a": "b"}\').a', "b"),
        ("parse_json('{\"a\": [1, 2, 3, 4]}').a[0]", 1),
        ('parse_json(\'[1, 2, {"a": {"b": {"c": [1, 2]}}}]\')[2].a.b.c[1]', 2),
        ('parse_json(\'["1001","1002"]\')[*].to_number(@)', [1001, 1002]),
    ],
)
def test_parse_json_result_can_be_queried(expression: str, expected: Any) -> None:
    assert search(expression, {}) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: b", {"a": "b"}),
        ("\n- 1\n- 2\n- a: b", [1, 2, {"a": "b"}]),
        ("spec:\n  test: 1\n  test2:\n    - 2\n    - 3\n", {"spec": {"test": 1, "test2": [2, 3]}}),
        (
            "bar: >\n  this is not a normal string it\n  spans more than\n  one line\n  see?",
            {"bar": "this is not a normal string it spans more than one line see?"},
        ),
        ("---\nfoo: ~\nbar: null\n", {"foo": None, "bar": None}),
        ("first: 1\n---\nsecond: 2\n", {"first": 1}),
        ("", None),
        ("a: yes\nb: off\nc: y\nd: N", {"a": True, "b": False, "c": True, "d": False}),
        (
            "when: 2021-01-02\nport: 8080:80\nratio: 1e3",
            {"when": "2021-01-02", "port": "8080:80", "ratio": 1000.0},
        ),
        ("1: one\ntrue: yes\n1.5: x", {"1": "one", "true": True, "1.5": "x"}),
    ],
)
def test_parse_yaml_reads_like_go_yaml(text: str, expected: Any) -> None:
    assert search("parse_yaml(@)", text) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("base64_decode('SGVsbG8')", "illegal base64 data"),
        ("base64_decode('SGVs*G8=')", "illegal base64 data"),
        ("base64_decode('SG==VsbG8=')", "illegal base64 data"),
        ("base64_decode(`1`)", "invalid type"),
        ("parse_json('{')", "JMESPath function 'parse_json'"),
        ("parse_json('NaN')", "invalid character 'N'"),
        ("parse_json('[1] x')", "Extra data"),
        ("parse_yaml('a: [')", "JMESPath function 'parse_yaml'"),
        ("parse_yaml('~: x')", "Unsupported map key"),
        ("parse_yaml('x: .nan')", "unsupported value: NaN"),
        ("sha256(`1`)", "invalid type"),
    ],
)
def test_encoding_function_reports_bad_input(expression: str, message: str) -> None:
    with pytest.raises(JMESPathError) as caught:
        search(expression, {})

    assert message in str(caught.value)
