"""Kyverno's string functions, checked against the results Kyverno gives."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy.jmespath import JMESPathError, search


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("compare('a', 'a')", 0),
        ("compare('a', 'b')", -1),
        ("compare('b', 'a')", 1),
        ("compare('B', 'a')", -1),
        ("equal_fold('Go', 'go')", True),
        ("equal_fold('a', 'b')", False),
        ("equal_fold('straße', 'STRASSE')", False),
        ("equal_fold('\u212a', 'k')", True),
        ("replace('one two two two', 'two', '2', `-1`)", "one 2 2 2"),
        ("replace('one two two two', 'two', '2', `1`)", "one 2 two two"),
        ("replace('one two two two', 'two', '2', `2.9`)", "one 2 2 two"),
        ("replace('abc', '', '-', `2`)", "-a-bc"),
        ("replace_all('one two two', 'two', '2')", "one 2 2"),
        ("to_upper('a#%&123Bc')", "A#%&123BC"),
        ("to_upper('straße')", "STRAßE"),
        ("to_lower('A#%&123Bc')", "a#%&123bc"),
        ("trim('¡¡¡Hello, Gophers!!!', '!¡')", "Hello, Gophers"),
        ("trim('  padded  ', '')", "  padded  "),
        ("trim_prefix('¡¡¡Hello, Gophers!!!', '¡¡¡Hello, ')", "Gophers!!!"),
        ("trim_prefix('¡¡¡Hello, Gophers!!!', '¡¡¡Hola, ')", "¡¡¡Hello, Gophers!!!"),
        ("split('Hello, Gophers', ', ')", ["Hello", "Gophers"]),
        ("split('abc', '')", ["a", "b", "c"]),
        ("split('', ',')", [""]),
        ("truncate('Lorem ipsum dolor', `5`)", "Lorem"),
        ("truncate('Lorem ipsum', `40`)", "Lorem ipsum"),
        ("truncate('Lorem ipsum', `2.6`)", "Lo"),
        ("truncate('Lorem ipsum', `-1`)", ""),
        ("truncate('ünïcödé', `3`)", "ünï"),
        ("to_boolean('TRue')", True),
        ("to_boolean('FaLse')", False),
    ],
)
def test_string_function_matches_kyverno(expression: str, expected: Any) -> None:
    result = search(expression, {})

    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("///", "/"),
        ("///var/run/containerd/containerd.sock", "/var/run/containerd/containerd.sock"),
        ("/var/run///containerd/containerd.sock", "/var/run/containerd/containerd.sock"),
        ("/var/run///containerd////", "/var/run/containerd"),
        ("/run/../etc", "/etc"),
        ("///etc*", "/etc*"),
        ("/../../", "/"),
        ("//double/leading", "/double/leading"),
        ("relative/./path/..", "relative"),
        ("a/../..", ".."),
        ("", ""),
    ],
)
def test_path_canonicalize_cleans_like_go(path: str, expected: str) -> None:
    result = search("path_canonicalize(@)", path)

    assert result == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("to_boolean('FaLsee')", "lowercase argument must be 'true' or 'false'"),
        ("to_boolean('')", "(provided: '')"),
        ("to_upper(`32`)", "invalid type"),
        ("compare(`1`, 'b')", "invalid type"),
        ("replace('a', 'b', 'c', `true`)", "invalid type"),
        ("trim_prefix('a', `1`)", "invalid type"),
        ("split('a')", "Expected 2 arguments"),
        ("truncate('abc', '2')", "invalid type"),
    ],
)
def test_string_function_rejects_bad_arguments(expression: str, message: str) -> None:
    with pytest.raises(JMESPathError) as caught:
        search(expression, {})

    assert message in str(caught.value)
    assert caught.value.expression == expression
