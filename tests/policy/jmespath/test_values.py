"""Go's number formatting and equality, as the functions rely on them."""

from __future__ import annotations

import math
import re

import pytest

from bot.policy.jmespath import values


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (2.5, "2.5"),
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (123456789.0, "1.23456789e+08"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-0.5, "-0.5"),
        (3, "3"),
        (math.inf, "+Inf"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
    ],
)
def test_go_format_g_matches_percent_v(number: float, expected: str) -> None:
    assert values.go_format_g(number) == expected


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (1, "1"),
        (12.0, "12"),
        (0.1, "0.1"),
        (1.5, "1.5"),
        (123456789, "123456790"),
        (1e21, "1000000000000000000000"),
        (-2.25, "-2.25"),
        (1e-7, "0.0000001"),
    ],
)
def test_go_float32_text_rounds_through_float32(number: float, expected: str) -> None:
    assert values.go_float32_text(number) == expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (1, 1.0, True),
        (True, 1, False),
        (0, False, False),
        ([1, {"a": True}], [1.0, {"a": True}], True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        (None, None, True),
        ("1", 1, False),
    ],
)
def test_strict_equal_keeps_booleans_apart(left: object, right: object, expected: bool) -> None:
    assert values.strict_equal(left, right) is expected


@pytest.mark.parametrize(
    ("number", "expected"),
    [(2.0, 2), (2.5, 2.5), (2.0**60, 2.0**60), (-0.0, 0)],
)
def test_normalize_number_turns_whole_floats_into_ints(number: float, expected: float) -> None:
    result = values.normalize_number(number)

    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("number", "message"),
    [
        (1.5, "expected an integer number but got: 1.5"),
        (math.nan, "expected an integer number but got: NaN"),
        (math.inf, "expected an integer number but got: +Inf"),
        (1.7976931348623157e308, "outside the range of integer numbers: 1.7976931348623157e+308"),
    ],
)
def test_int_number_explains_rejections(number: float, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        values.int_number(number)
