"""Arithmetic on numbers, quantities and durations, with Kyverno's type rules.

The tables follow arithmetic.go: quantity and duration results are strings
in Kubernetes' and Go's canonical spelling, scalar results are numbers.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy.jmespath import JMESPathError, search


def _same(result: Any, expected: Any) -> bool:
    if isinstance(expected, str):
        return isinstance(result, str) and result == expected
    return not isinstance(result, bool | str) and result == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("add(`12`, `13`)", 25),
        ("add(`0.1`, `0.2`)", 0.30000000000000004),
        ("add('12Ki', '13Ki')", "25Ki"),
        ("add('12Ki', '13')", "12301"),
        ("add('13', '12Ki')", "12301"),
        ("add('0', '1Gi')", "1Gi"),
        ("add('1', '999')", "1k"),
        ("add('250m', '750m')", "1"),
        ("add('1.5', '0')", "1500m"),
        ("add('1e3', '1e3')", "2e3"),
        ("add('12s', '13s')", "25s"),
        ("add('1h', '30m0s')", "1h30m0s"),
        ("add('1m', '1m')", "2m"),
        ("subtract(`12`, `13`)", -1),
        ("subtract('12Ki', '13Ki')", "-1Ki"),
        ("subtract('12Ki', '13')", "12275"),
        ("subtract('0', '1Mi')", "-1Mi"),
        ("subtract('12s', '13s')", "-1s"),
        ("subtract('1h', '1ms')", "59m59.999s"),
        ("multiply('12Ki', `2`)", "24Ki"),
        ("multiply('12s', `2`)", "24s"),
        ("multiply(`2.5`, `2.5`)", 6.25),
        ("multiply(`2.5`, '12Ki')", "30Ki"),
        ("multiply(`2.5`, '12')", "30"),
        ("multiply(`2.5`, '40s')", "1m40s"),
        ("multiply('1Ki', `0.3`)", "307200m"),
        ("multiply('500m', `3`)", "1500m"),
        ("multiply('1Mi', `1000000`)", "1000000Mi"),
        ("divide('256M', '256M')", 1),
        ("divide('512M', '256M')", 2),
        ("divide('8', '3')", 8 / 3),
        ("divide('128M', '256M')", 0.5),
        ("divide('12Ki', `3`)", "4Ki"),
        ("divide('12Ki', '2Ki')", 6),
        ("divide('12Ki', '200')", 61.44),
        ("divide('10Mi', '5Ki')", 2048),
        ("divide('1', `3`)", "0"),
        ("divide('1.0', `3`)", "300m"),
        ("divide('2Gi', `4`)", "512Mi"),
        ("divide('12s', `3`)", "4s"),
        ("divide('12s', '5s')", 2.4),
        ("divide(`14`, `3`)", 4.666666666666667),
        ("modulo('12Ki', '5Ki')", "2Ki"),
        ("modulo('13s', '2s')", "1s"),
        ("modulo('-13s', '2s')", "-1s"),
        ("modulo(`13`, `5`)", 3),
        ("modulo(`-7`, `2`)", -1),
        ("round(`9.414675`, `2`)", 9.41),
        ("round(`14.123`, `6`)", 14.123),
        ("round(`2.5`, `0`)", 3),
        ("round(`-2.5`, `0`)", -3),
    ],
)
def test_arithmetic_matches_kyverno(expression: str, expected: Any) -> None:
    result = search(expression, {})

    assert _same(result, expected), result


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([12], 12),
        ([12, 13, 1, 4], 30),
        (["12Ki"], "12Ki"),
        (["12Ki", "13Ki", "1Ki", "4Ki"], "30Ki"),
        (["12Ki", "13"], "12301"),
        (["12s", "13s", "1s", "4s"], "30s"),
        # A single item is returned as it is, even when it is no operand.
        ([True], True),
        (["1000m"], "1000m"),
    ],
)
def test_sum_adds_every_item(items: list[Any], expected: Any) -> None:
    result = search("sum(@)", items)

    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("add('12', '13s')", "Types mismatch"),
        ("add(`12`, '13Ki')", "Types mismatch"),
        ("add(`12`, '13')", "Types mismatch"),
        ("add('12Ki', '13s')", "Types mismatch"),
        ("add('12s', `13`)", "Types mismatch"),
        ("add(`true`, `1`)", "JMESPath function 'add': invalid operand"),
        ("add('1K', '1')", "invalid operand"),
        ("add('ten', '1')", "invalid operand"),
        ("sum(`[]`)", "at least one element in the array is required"),
        ("sum(['12s', '13Ki'])", "JMESPath function 'sum': Types mismatch"),
        ("sum([`12`, '13'])", "Types mismatch"),
        ("subtract('12s', '13')", "Types mismatch"),
        ("multiply('12Ki', '12Ki')", "Types mismatch"),
        ("multiply('12s', '12s')", "Types mismatch"),
        ("multiply('12Ki', '12s')", "Types mismatch"),
        ("divide('12Ki', '2s')", "Types mismatch"),
        ("divide('12s', '4')", "Types mismatch"),
        ("divide(`14`, '5Ki')", "Types mismatch"),
        ("divide(`14`, `0`)", "JMESPath function 'divide': Zero divisor passed"),
        ("divide('4Ki', `0`)", "Zero divisor passed"),
        ("divide('4Ki', '0Ki')", "Zero divisor passed"),
        ("divide('4', '0')", "Zero divisor passed"),
        ("divide('4s', `0`)", "Zero divisor passed"),
        ("divide('4s', '0s')", "Zero divisor passed"),
        ("modulo('12Ki', `13`)", "Types mismatch"),
        ("modulo('13s', '12')", "Types mismatch"),
        ("modulo(`13`, '5s')", "Types mismatch"),
        ("modulo(`14`, `0`)", "Zero divisor passed"),
        ("modulo('4Ki', '0Ki')", "Zero divisor passed"),
        ("modulo('4s', '0s')", "Zero divisor passed"),
        ("modulo('4', '1.5')", "Non-integer argument(s) passed for modulo"),
        ("modulo('4.5', '1')", "Non-integer argument(s) passed for modulo"),
        ("modulo(`14`, `1.5`)", "Non-integer argument(s) passed for modulo"),
        ("modulo(`14.5`, `2`)", "Non-integer argument(s) passed for modulo"),
        ("round(`23`, '12Ki')", "invalid type"),
        ("round(`14`, `1.5`)", "Non-integer argument(s) passed for round off"),
        ("round(`14`, `-2`)", "out of bounds"),
    ],
)
def test_arithmetic_refuses_what_kyverno_refuses(expression: str, message: str) -> None:
    with pytest.raises(JMESPathError) as caught:
        search(expression, {})

    assert message in str(caught.value)


def test_duration_overflow_wraps_like_go() -> None:
    result = search("add('2562047h', '2562047h')", {})

    assert result.startswith("-")
