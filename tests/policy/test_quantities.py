from decimal import Decimal

import pytest

from bot.policy import quantities


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", Decimal(0)),
        ("100Mi", Decimal(100 * 2**20)),
        ("1Gi", Decimal(2**30)),
        ("1.5Gi", Decimal(3 * 2**29)),
        ("0.5Ki", Decimal(512)),
        ("500m", Decimal("0.5")),
        ("250u", Decimal("0.00025")),
        ("3n", Decimal("3E-9")),
        ("1k", Decimal(1000)),
        ("2M", Decimal(2_000_000)),
        ("1G", Decimal(10**9)),
        ("1T", Decimal(10**12)),
        ("1P", Decimal(10**15)),
        ("1E", Decimal(10**18)),
        ("1Ti", Decimal(2**40)),
        ("1Pi", Decimal(2**50)),
        ("1Ei", Decimal(2**60)),
        ("2e3", Decimal(2000)),
        ("2E3", Decimal(2000)),
        ("5e-3", Decimal("0.005")),
        ("1e+2", Decimal(100)),
        ("1.5", Decimal("1.5")),
        ("+7", Decimal(7)),
        ("-7", Decimal(-7)),
        ("007", Decimal(7)),
        (".5", Decimal("0.5")),
        ("1.", Decimal(1)),
        ("1.G", Decimal(10**9)),
        ("12345678901234567890123456789012", Decimal("12345678901234567890123456789012")),
    ],
)
def test_quantities_parse_to_exact_values(text, expected):
    parsed = quantities.parse_quantity(text)

    assert parsed == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.1n", Decimal("1E-9")),
        ("1.5n", Decimal("2E-9")),
        ("-1.5n", Decimal("-2E-9")),
        ("1e-10", Decimal("1E-9")),
        ("1e-12", Decimal("1E-9")),
    ],
)
def test_values_below_nano_round_away_from_zero(text, expected):
    parsed = quantities.parse_quantity(text)

    assert parsed == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9999999999Ei", Decimal(2**63 - 1)),
        ("-9999999999Ei", Decimal(-(2**63 - 1))),
        ("99999999999999999999999", Decimal("99999999999999999999999")),
    ],
)
def test_only_binary_quantities_are_capped_at_int64(text, expected):
    parsed = quantities.parse_quantity(text)

    assert parsed == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-", Decimal(0)),
        ("+", Decimal(0)),
        (".", Decimal(0)),
        ("Mi", Decimal(0)),
        ("k", Decimal(0)),
        ("1e4294967297", Decimal(10)),
    ],
)
def test_odd_inputs_read_as_kubernetes_reads_them(text, expected):
    parsed = quantities.parse_quantity(text)

    assert parsed == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "1e",
        "1ki",
        "1Ki5",
        "1m5",
        " 1",
        "1 ",
        "1.5.5",
        "0x10",
        "1e3.5",
        ".e-10",
        "-e-10",
        "1h",
    ],
)
def test_malformed_quantities_are_rejected(text):
    parsed = quantities.parse_quantity(text)

    assert parsed is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("+0", 0.0),
        ("-0", 0.0),
        ("90s", 90.0),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        ("-1.5h", -5400.0),
        (".5s", 0.5),
        ("5.s", 5.0),
        ("300ms", 0.3),
        ("2m3s", 123.0),
        ("1h1h", 7200.0),
        ("1us", 1e-6),
        ("1\u00b5s", 1e-6),
        ("1\u03bcs", 1e-6),
        ("10ns", 1e-8),
    ],
)
def test_durations_parse_to_seconds(text, seconds):
    parsed = quantities.parse_duration(text)

    assert parsed == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    ["", "1", "00", "+", ".s", "s", "1d", "1h m", "1 h", "1H", "2562048h", "9223372036854775808ns"],
)
def test_malformed_durations_are_rejected(text):
    parsed = quantities.parse_duration(text)

    assert parsed is None


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        ("1.0000000001s", 1_000_000_000),
        ("1.9ns", 1),
        ("9223372036854775807ns", 2**63 - 1),
        ("-9223372036854775808ns", -(2**63)),
        ("2562047h", 2562047 * 3600 * 10**9),
    ],
)
def test_durations_keep_whole_nanoseconds(text, nanoseconds):
    parsed = quantities.parse_duration_ns(text)

    assert parsed == nanoseconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", 5),
        ("+5", 5),
        ("-5", -5),
        ("007", 7),
        ("9223372036854775807", 2**63 - 1),
        ("", None),
        ("+", None),
        ("1_000", None),
        (" 1", None),
        ("1.0", None),
        ("9223372036854775808", None),
    ],
)
def test_go_integers_parse_strictly(text, expected):
    parsed = quantities.parse_go_int(text)

    assert parsed == expected
