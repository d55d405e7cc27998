"""Kyverno's time functions, Go layouts and Go duration printing."""

from __future__ import annotations

import re

import pytest

from bot.policy.jmespath import JMESPathError, durations, search, timestamps


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (
            "time_since('', '2021-01-02T15:04:05-07:00', '2021-01-10T03:14:05-07:00')",
            "180h10m0s",
        ),
        (
            "time_since('Mon Jan _2 15:04:05 MST 2006', 'Mon Jan 02 15:04:05 MST 2021', "
            "'Mon Jan 10 03:14:16 MST 2021')",
            "180h10m11s",
        ),
        ("time_to_cron('2023-02-02T15:04:05Z')", "4 15 2 2 4"),
        ("time_to_cron(time_utc('2023-02-02T15:04:05-07:00'))", "4 22 2 2 4"),
        ("time_add('2021-01-02T15:04:05-07:00', '3h')", "2021-01-02T18:04:05-07:00"),
        (
            "time_add(time_parse('Mon Jan 02 15:04:05 -0700 2006', "
            "'Sat Jan 02 15:04:05 -0700 2021'), '5h30m40s')",
            "2021-01-02T20:34:45-07:00",
        ),
        ("time_add('2021-01-02T15:04:05Z', '-1.5h')", "2021-01-02T13:34:05Z"),
        (
            "time_parse('2006-01-02T15:04:05Z07:00', '2021-01-02T15:04:05-07:00')",
            "2021-01-02T15:04:05-07:00",
        ),
        ("time_parse('1702691171', '1702691171')", "2023-12-16T01:46:11Z"),
        ("time_parse('0', '-1')", "1969-12-31T23:59:59Z"),
        ("time_parse('2006-01-02', '2024-02-29')", "2024-02-29T00:00:00Z"),
        (
            "time_parse('Jan 2, 2006 at 3:04pm (MST)', 'Feb 3, 2013 at 7:54pm (PST)')",
            "2013-02-03T19:54:00Z",
        ),
        ("time_parse('15:04', '10:30')", "0000-01-01T10:30:00Z"),
        ("time_parse('02/01/06 15:04:05.000', '31/12/99 23:59:59.123')", "1999-12-31T23:59:59Z"),
        ("time_parse('2006-002', '2021-032')", "2021-02-01T00:00:00Z"),
        (
            "time_parse('2006-01-02 15:04:05 GMT-0700', '2021-01-02 15:04:05 GMT-0700')",
            "2021-01-02T15:04:05-07:00",
        ),
        (
            "time_parse('2006-01-02 15:04 MST', '2021-01-02 15:04 GMT+3')",
            "2021-01-02T18:04:00+03:00",
        ),
        ("time_utc('2023-02-02T15:04:05Z')", "2023-02-02T15:04:05Z"),
        ("time_utc('2023-02-02T15:04:05-07:00')", "2023-02-02T22:04:05Z"),
        ("time_utc('2023-02-02T15:04:05.999+01:00')", "2023-02-02T14:04:05Z"),
        ("time_diff('2021-01-02T15:04:05-07:00', '2021-01-10T03:14:05-07:00')", "180h10m0s"),
        ("time_diff('2021-01-02T15:04:05Z', '2021-01-02T15:04:05.5Z')", "500ms"),
        ("time_diff('2021-01-02T16:00:00Z', '2021-01-02T15:00:00Z')", "-1h0m0s"),
        ("time_before('2021-01-02T15:04:05-07:00', '2021-01-02T16:04:05-07:00')", True),
        ("time_before('2021-01-02T15:04:05-07:00', '2021-01-02T15:04:05-07:00')", False),
        ("time_before('2021-01-02T16:04:05-07:00', '2021-01-02T15:04:05-07:00')", False),
        ("time_after('2021-01-02T16:04:05-07:00', '2021-01-02T15:04:05-07:00')", True),
        ("time_after('2021-01-02T15:04:05-07:00', '2021-01-02T15:04:05-07:00')", False),
        (
            "time_between('2021-01-02T17:04:05-07:00', '2021-01-02T15:04:05-07:00', "
            "'2021-01-02T18:04:05-07:00')",
            True,
        ),
        (
            "time_between('2021-01-02T15:04:05-07:00', '2021-01-02T15:04:05-07:00', "
            "'2021-01-02T18:04:05-07:00')",
            False,
        ),
        ("time_truncate('2021-01-02T15:04:05Z', '1h')", "2021-01-02T15:00:00Z"),
        ("time_truncate('2021-01-02T15:04:05-07:00', '24h')", "2021-01-01T17:00:00-07:00"),
        ("time_truncate('2021-01-02T15:04:05Z', '0s')", "2021-01-02T15:04:05Z"),
    ],
)
def test_time_function_matches_kyverno(expression: str, expected: object) -> None:
    assert search(expression, {}) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("time_utc('2021-01-02 15:04:05')", 'cannot parse " 15:04:05" as "T"'),
        ("time_utc('2021-13-02T15:04:05Z')", "month out of range"),
        ("time_utc('2021-02-30T15:04:05Z')", "day out of range"),
        ("time_utc('2021-01-02T15:04:05Zjunk')", 'extra text: "junk"'),
        ("time_utc('')", 'cannot parse "" as "2006"'),
        ("time_add('2021-01-02T15:04:05Z', '3 hours')", 'time: invalid duration "3 hours"'),
        ("time_truncate('2021-01-02T15:04:05Z', '')", "invalid duration"),
        ("time_parse('1', 'soon')", 'parsing "soon": invalid syntax'),
        ("time_parse('2006-002', '2021-400')", "day-of-year out of range"),
        ("time_before(`1`, '2021-01-02T15:04:05Z')", "invalid type"),
        ("time_now('x')", "Expected 0 arguments"),
    ],
)
def test_time_function_reports_go_errors(expression: str, message: str) -> None:
    with pytest.raises(JMESPathError) as caught:
        search(expression, {})

    assert message in str(caught.value)


def test_time_now_is_rfc3339_with_offset() -> None:
    result = search("time_now()", {})

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", result)


def test_time_now_utc_ends_in_z() -> None:
    result = search("time_now_utc()", {})

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", result)


def test_time_since_without_end_uses_the_clock() -> None:
    result = search("time_since('', '2000-01-01T00:00:00Z', '')", {})

    assert re.fullmatch(r"\d+h\d+m[\d.]+s", result)


@pytest.mark.parametrize(
    ("nanoseconds", "expected"),
    [
        (0, "0s"),
        (1, "1ns"),
        (1_500, "1.5\u00b5s"),
        (1_500_000, "1.5ms"),
        (1_000_000_000, "1s"),
        (90 * 60 * 10**9, "1h30m0s"),
        (3605 * 10**9, "1h0m5s"),
        (-1_500, "-1.5\u00b5s"),
        (2**63 - 1, "2562047h47m16.854775807s"),
        (-(2**63), "-2562047h47m16.854775808s"),
    ],
)
def test_duration_prints_like_go(nanoseconds: int, expected: str) -> None:
    assert durations.format_duration(nanoseconds) == expected


@pytest.mark.parametrize(
    ("layout", "value", "expected"),
    [
        ("Jan _2 2006", "Feb  3 2013", "2013-02-03T00:00:00Z"),
        ("January 2, 2006", "march 4, 2010", "2010-03-04T00:00:00Z"),
        ("3:04PM", "12:30AM", "0000-01-01T00:30:00Z"),
        ("3:04PM", "1:30PM", "0000-01-01T13:30:00Z"),
        (
            "2006-01-02T15:04:05.999999999Z07:00",
            "2021-01-02T15:04:05+05:30",
            "2021-01-02T15:04:05+05:30",
        ),
        ("06-01-02", "68-01-02", "2068-01-02T00:00:00Z"),
        ("06-01-02", "69-01-02", "1969-01-02T00:00:00Z"),
    ],
)
def test_go_layouts_parse(layout: str, value: str, expected: str) -> None:
    assert timestamps.parse(layout, value).rfc3339() == expected
