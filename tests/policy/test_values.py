import pytest

from bot.policy import values


def _check(value, pattern, expected):
    matched = values.value_matches(value, pattern)

    assert matched is expected, f"{value!r} against {pattern!r}"


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        (True, True, True),
        (False, False, True),
        (False, True, False),
        ("true", True, False),
        (1, True, False),
        (None, False, False),
    ],
)
def test_bool_patterns_want_the_same_bool(value, pattern, expected):
    _check(value, pattern, expected)


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        (8, 8, True),
        (7, 8, False),
        (8.0, 8, True),
        (8.5, 8, False),
        ("8", 8, True),
        ("+8", 8, True),
        ("08", 8, True),
        ("8.0", 8, False),
        ("1_0", 10, False),
        (" 8", 8, False),
        (True, 1, False),
        (None, 0, False),
        ([8], 8, False),
        (2**64, 2**64, True),
    ],
)
def test_int_patterns_accept_ints_whole_floats_and_int_strings(value, pattern, expected):
    _check(value, pattern, expected)


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        (8, 8.0, True),
        (8, 8.5, False),
        (8.5, 8.5, True),
        ("8.5", 8.5, True),
        ("8", 8.0, True),
        ("8.50", 8.5, True),
        ("1_0.5", 10.5, True),
        ("0x1p3", 8.0, True),
        ("0x10", 16.0, False),
        ("_1", 1.0, False),
        ("1e400", 1.0, False),
        (False, 0.0, False),
    ],
)
def test_float_patterns_accept_numbers_and_go_float_strings(value, pattern, expected):
    _check(value, pattern, expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, True),
        ("", True),
        (0, True),
        (0.0, True),
        (False, True),
        ("x", False),
        (1, False),
        (True, False),
        ({}, False),
        ([], False),
    ],
)
def test_null_pattern_wants_a_zero_value(value, expected):
    _check(value, None, expected)


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ({"a": 1}, {"b": 2}, True),
        ({}, {}, True),
        ("x", {}, False),
        ([1], [1], False),
        (None, [], False),
    ],
)
def test_maps_only_check_presence_and_lists_never_match(value, pattern, expected):
    _check(value, pattern, expected)


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("nginx:1.2", "*:*", True),
        ("nginx", "*:*", False),
        ("abc", "a?c", True),
        ("ac", "a?c", False),
        ("abbc", "a?c", False),
        ("x", "?*", True),
        ("", "?*", False),
        ("", "*", True),
        ("anything", "*", True),
        (None, "*", False),
        ({"a": 1}, "*", False),
        ([1], "*", False),
        (3, "*", True),
        (True, "*", True),
        ("null", "null", True),
        (None, "null", False),
        ("a.b", "a.b", True),
        ("axb", "a.b", False),
        ("line\nbreak", "line*", True),
    ],
)
def test_wildcards_match_whole_values(value, pattern, expected):
    _check(value, pattern, expected)


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        (True, "true", True),
        (False, "f*", True),
        (1.5, "1.5E*", True),
        (1.5, "1.5", True),
        (100, "1*", True),
        (1.5, "1.5E+0?", True),
        (2.0, "2E+00", True),
    ],
)
def test_non_strings_are_printed_as_kyverno_prints_them(value, pattern, expected):
    _check(value, pattern, expected)


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        (5, ">3", True),
        (3, ">3", False),
        (3, ">=3", True),
        ("2", "<3", True),
        (4, "<=3", False),
        (4, ">= 3", True),
        ("abd", "!abc", True),
        ("abc", "!abc", False),
        ("nginx:latest", "!*:latest", False),
        ("x", "!*", False),
        (None, "!x", False),
        ("abc", ">1", False),
        ("b", ">a", False),
        (None, "<1", True),
        (None, ">=0", True),
        (3, "!3", False),
        (3, "!4", True),
    ],
)
def test_operators_compare_numbers_and_negate_text(value, pattern, expected):
    _check(value, pattern, expected)


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("1Gi", ">1000Mi", True),
        ("1G", "<1Gi", True),
        ("500m", ">=0.5", True),
        ("1", ">=500m", True),
        ("0.2", "200m", True),
        ("1024Mi", "1Gi", True),
        (1024, "1Ki", True),
        (0.5, "500m", True),
        ("2Gi", "<=1Gi", False),
        ("500m", ">=0.6", False),
        ("gii", "1Gi", False),
        ("100", "1E+02", True),
    ],
)
def test_quantities_compare_by_amount(value, pattern, expected):
    _check(value, pattern, expected)


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("90s", ">1m", True),
        ("1h30m", "<2h", True),
        ("1h", "60m", True),
        ("12s", "!15s", True),
        ("15s", "<=12s", False),
        (0, "<1h", True),
        ("0", "0s", True),
        ("10", ">1s", False),
        (True, "<1h", False),
    ],
)
def test_durations_compare_by_length(value, pattern, expected):
    _check(value, pattern, expected)


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        (0, "0-2", True),
        (2, "0-2", True),
        (3, "0-2", False),
        (15, "10!-20", False),
        (25, "10!-20", True),
        (5, "10!-20", True),
        (2, "2-2", True),
        (2, "2!-2", False),
        (2.5, "2.4-2.6", True),
        ("256Mi", "128Mi-512Mi", True),
        ("1024Mi", "128Mi-512Mi", False),
        ("64Mi", "128Mi!-512Mi", True),
        (-9, "-10-8", True),
        (9, "-10--8", False),
        (0, "+0-+1", True),
        ("1h30m-2h", "1h30m-2h", True),
        ("90m", "1h30m-2h", False),
        (0.000001, "1E-06", False),
    ],
)
def test_ranges_include_their_ends(value, pattern, expected):
    _check(value, pattern, expected)


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("10.100.11.54", "192.168.88.1 | 10.100.11.*", True),
        ("IfNotPresent", "Always|IfNotPresent", True),
        ("Never", "Always | IfNotPresent", False),
        ("10", ">1 & <20", True),
        ("21", ">1 & <20", False),
        ("32", ">1 & <20 | >31 & <33", True),
        ("21", ">1 & <20 | >31 & <33", False),
        ("a|b", "a|b", True),
        ("nginx", "!*:* | *:latest", True),
        ("nginx:1.2", "!*:* | *:latest", False),
        ("x", "!a&!b", True),
        ("b", "!a&!b", False),
    ],
)
def test_bars_are_alternatives_and_ampersands_are_conjunctions(value, pattern, expected):
    _check(value, pattern, expected)


@pytest.mark.parametrize(
    ("condition", "operator"),
    [
        (">=5", ">="),
        ("<=5", "<="),
        (">5", ">"),
        ("<5", "<"),
        ("!5", "!"),
        ("1-5", "-"),
        ("1Mi-5Mi", "-"),
        ("1!-5", "!-"),
        ("!1-5", "!"),
        ("a-b", ""),
        ("f", ""),
        ("", ""),
    ],
)
def test_operators_are_detected_by_prefix_then_range(condition, operator):
    detected = values.operator_of(condition)

    assert detected == operator


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1.5, "1.5E+00"),
        (100.0, "1E+02"),
        (0.001, "1E-03"),
        (123456789.0, "1.23456789E+08"),
        (0.0, "0E+00"),
        (-2.5, "-2.5E+00"),
        (1e100, "1E+100"),
        (0.1, "1E-01"),
    ],
)
def test_floats_print_like_go_exponent_format(number, text):
    printed = values.format_go_float(number)

    assert printed == text


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("", "", True),
        ("", "a", False),
        ("*", "", True),
        ("a*", "a", True),
        ("*a*", "bab", True),
        ("a?", "a", False),
        ("??", "ab", True),
        ("[ab]", "a", False),
        ("[ab]", "[ab]", True),
        ("app.kubernetes.io/*", "app.kubernetes.io/name", True),
    ],
)
def test_wildcards_treat_other_characters_literally(pattern, text, expected):
    matched = values.match_wildcard(pattern, text)

    assert matched is expected
