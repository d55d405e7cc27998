"""The rules of Kyverno's go-jmespath fork, and the Go built-ins it runs."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy.jmespath import JMESPathError, KeyNotFoundError, search

POD = {
    "metadata": {"name": "web", "labels": {"app": "web"}, "annotations": None},
    "spec": {"containers": [{"name": "a", "image": "nginx"}, {"name": "b"}]},
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("metadata.labels.app", "web"),
        ("metadata.labels.tier || 'none'", "none"),
        ("metadata.missing.deeper || `[]`", []),
        ("length(metadata.labels.tier || '')", 0),
        ("metadata.labels.tier == null", True),
        ("!(metadata.labels.tier)", True),
        ("!metadata.labels.tier", None),
        ("metadata.labels.tier && 'x'", None),
        ("metadata.missing | length(@ || '')", 0),
        ("spec.containers[].image", ["nginx"]),
        ("spec.containers[?image == 'nginx'].name", ["a"]),
        ("spec.missing[]", None),
        ("spec.missing[?x]", None),
        ("missing.*", None),
        ("{tier: metadata.labels.tier, app: metadata.labels.app}", {"tier": None, "app": "web"}),
        ("[metadata.labels.tier, metadata.name]", [None, "web"]),
        ("metadata.annotations.owner", None),
        ("contains(keys(metadata), 'labels')", True),
    ],
)
def test_missing_keys_are_forgiven_where_kyverno_forgives(expression: str, expected: Any) -> None:
    assert search(expression, POD, missing_key_errors=True) == expected


@pytest.mark.parametrize(
    ("expression", "key"),
    [
        ("metadata.labels.tier", "tier"),
        ("metadata.missing.deeper", "missing"),
        ("status", "status"),
        ("spec.missing[0]", "missing"),
        ("metadata.name && metadata.labels.tier", "tier"),
    ],
)
def test_missing_keys_fail_the_path_in_strict_mode(expression: str, key: str) -> None:
    with pytest.raises(KeyNotFoundError) as caught:
        search(expression, POD, missing_key_errors=True)

    assert caught.value.key == key
    assert f'Unknown key "{key}" in path' in str(caught.value)
    assert caught.value.expression == expression


def test_missing_keys_are_null_by_default() -> None:
    assert search("metadata.labels.tier", POD) is None


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("`1` < `2`", True),
        ("`2.5` >= `2.5`", True),
        ("'a' < 'b'", None),
        ("`true` > `false`", None),
        ("`1` == `1.0`", True),
        ("`[1]` == `[true]`", False),
        ('`{"a": 1}` == `{"a": 1.0}`', True),
        ("`0` == `false`", False),
        ("`1` != `true`", True),
        ("!`0`", False),
        ('!`""`', True),
        ('`[0, false, ""]`[?@]', [0]),
    ],
)
def test_comparisons_follow_go(expression: str, expected: Any) -> None:
    assert search(expression, {}) == expected


def test_filter_swallows_errors_in_its_input() -> None:
    assert search("divide(`1`, `0`)[?@]", {}) is None


def test_flatten_swallows_errors_in_its_input() -> None:
    assert search("divide(`1`, `0`)[]", {}) is None


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("to_string(@)", '{"a":1,"b":[true,null,"x"]}'),
        ("to_string(`1.0`)", "1"),
        ("to_string(`0.00001`)", "0.00001"),
        ("to_string(`1e21`)", "1e+21"),
        ("to_string(`1e-7`)", "1e-7"),
        ("to_string('<a & b>')", "<a & b>"),
        ('to_string(`["<a & b>"]`)', '["\\u003ca \\u0026 b\\u003e"]'),
        ("to_number('12')", 12),
        ("to_number('1.5')", 1.5),
        ("to_number('1e3')", 1000),
        ("to_number(' 12')", None),
        ("to_number('1_000')", None),
        ("to_number('0x1p-2')", 0.25),
        ("to_number('1e400')", None),
        ("to_number('abc')", None),
        ("to_number(`true`)", None),
        ("to_number(`[1]`)", None),
        ("contains('abc', 'b')", True),
        ("contains('abc', `1`)", False),
        ("contains(`[1, 2]`, `true`)", False),
        ("contains(`[1, true]`, `true`)", True),
        ('contains(`[{"a": 1}]`, `{"a": 1}`)', True),
    ],
)
def test_builtins_behave_like_go(expression: str, expected: Any) -> None:
    result = search(expression, {"b": [True, None, "x"], "a": 1})

    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("metadata.", "unexpected end of expression"),
        ("metadata[", "incomplete expression"),
        ("a ~ b", "Unknown token ~"),
        ("foo(`bar`)", "not valid JSON"),
        ("'unterminated", "Unclosed ' delimiter"),
        ("a.b.c)", "unexpected token"),
    ],
)
def test_invalid_expressions_raise_jmespath_error(expression: str, fragment: str) -> None:
    with pytest.raises(JMESPathError) as caught:
        search(expression, {})

    assert fragment in caught.value.reason
    assert str(caught.value).startswith(f"invalid JMESPath expression {expression!r}")


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("no_such_function(@)", "Unknown function: no_such_function()"),
        ("length(`1`)", "invalid type"),
        ("divide(`1`, `0`)", "Zero divisor passed"),
        ("to_upper('a', 'b')", "Expected 1 argument"),
    ],
)
def test_runtime_failures_name_the_expression(expression: str, fragment: str) -> None:
    with pytest.raises(JMESPathError) as caught:
        search(expression, {})

    assert fragment in str(caught.value)
    assert str(caught.value).startswith(f"JMESPath expression {expression!r} failed")
