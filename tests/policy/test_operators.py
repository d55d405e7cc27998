from typing import Any

import pytest

from bot.policy import operators, operators_go
from bot.policy.operators import UnknownOperatorError, evaluate_operator

_SECOND = 1_000_000_000
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE


def _check(operator: str, key: Any, value: Any, expected: bool) -> None:
    verdict = evaluate_operator(operator, key, value)

    assert verdict is expected, f"{key!r} {operator} {value!r}"


@pytest.mark.parametrize(
    "operator",
    ["Equals", "Equal", "equals", "EQUALS", "eQuAlS", "equal"],
)
def test_equality_names_ignore_letter_case(operator: str) -> None:
    _check(operator, "a", "a", True)


@pytest.mark.parametrize(
    ("operator", "key", "value"),
    [
        ("NotEqual", "a", "b"),
        ("notequals", "a", "b"),
        ("in", "a", ["a"]),
        ("NOTIN", "a", ["b"]),
        ("anyin", "a", ["a"]),
        ("ALLIN", "a", ["a"]),
        ("anyNotIn", "a", ["b"]),
        ("allnotin", "a", ["b"]),
    ],
)
def test_set_names_ignore_letter_case(operator: str, key: Any, value: Any) -> None:
    _check(operator, key, value, True)


@pytest.mark.parametrize(
    ("operator", "key", "value"),
    [
        ("greaterthan", 10, 5),
        ("GREATERTHAN", 10, 5),
        ("lessThanOrEquals", 1, 5),
        ("durationgreaterthan", "2h", "1h"),
        ("DurationLessThan", "3h", "1h"),
    ],
)
def test_ordering_needs_the_exact_spelling(operator: str, key: Any, value: Any) -> None:
    _check(operator, key, value, False)


@pytest.mark.parametrize("operator", operators.OPERATORS)
def test_every_listed_operator_is_known(operator: str) -> None:
    evaluate_operator(operator, None, None)


@pytest.mark.parametrize("operator", ["InvalidOp", "", "Contains", "GreaterThen", "Equals "])
def test_unknown_operator_names_the_valid_ones(operator: str) -> None:
    with pytest.raises(UnknownOperatorError) as caught:
        evaluate_operator(operator, "a", "a")

    message = str(caught.value)
    assert repr(operator) in message
    assert "AnyNotIn" in message
    assert "DurationLessThanOrEquals" in message
    assert caught.value.operator == operator
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        # Bools want bools.
        (True, True, True),
        (False, False, True),
        (True, False, False),
        (True, "true", False),
        (True, 1, False),
        # int64 keys: numbers, or strings read with ParseInt.
        (42, 42, True),
        (42, 43, False),
        (42, 42.0, True),
        (42, 42.5, False),
        (42, "42", True),
        (42, "+42", True),
        (42, "42.0", False),
        (42, "invalid", False),
        (10, True, False),
        (1, True, False),
        (42, None, False),
        # float64 keys: numbers, or strings read with ParseFloat.
        (3.14, 3.14, True),
        (3.14, 2.71, False),
        (42.0, 42, True),
        (100.0, 100, True),
        (10.5, 10, False),
        (3.14, "3.14", True),
        (3.0, "3", True),
        (3.0, "3.0", True),
        (300.0, "3e2", True),
        (3.14, "invalid", False),
        (3.14, True, False),
        (float("nan"), float("nan"), False),
        # Strings: plain text, with wildcards in the value only.
        ("hello", "hello", True),
        ("hello", "world", False),
        ("hello-world", "hello-*", True),
        ("goodbye-world", "hello-*", False),
        ("abc", "a?c", True),
        ("a?c", "abc", False),
        ("", "", True),
        ("", "*", True),
        ("hello", 123, False),
        ("hello", None, False),
        # Strings that read as quantities compare by amount, never as text.
        ("100Mi", "100Mi", True),
        ("1Gi", "1024Mi", True),
        ("100Mi", "200Mi", False),
        ("1", "1.0", True),
        ("500m", "0.5", True),
        ("100", "1*", False),
        ("100Mi", "", False),
        ("1", 1, False),
        # Strings that read as durations, where a number counts seconds.
        ("1h", "60m", True),
        ("1h", "30m", False),
        ("5m", "300s", True),
        ("2m", 120, True),
        ("2m", 120.9, True),
        # NB: only a string key is read as a duration.
        (120, "2m", False),
        ("0", 0, False),
        ("0s", 0, True),
        ("1h", None, False),
        # Objects and arrays compare deeply, with Go's strict types.
        ({"foo": "bar"}, {"foo": "bar"}, True),
        ({"foo": "bar"}, {"foo": "baz"}, False),
        ({"foo": "bar"}, "not a map", False),
        ({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}, True),
        ({"a": 1}, {"a": True}, False),
        (["a", "b", "c"], ["a", "b", "c"], True),
        (["a", "b", "c"], ["a", "b", "d"], False),
        (["a", "b", "c"], ["a", "b"], False),
        (["a", "b", "c"], "not a slice", False),
        (["a*"], ["abc"], False),
        ([1], [1.0], False),
        ([1.0], [1.0], True),
        # Other keys are never equal to anything.
        (None, None, False),
        (None, "", False),
    ],
)
def test_equals_follows_the_key_type(key: Any, value: Any, expected: bool) -> None:
    _check("Equals", key, value, expected)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (True, False, True),
        (True, "true", True),
        (42, 43, True),
        (42, 42, False),
        (5, 5.5, True),
        (3, "3.0", True),
        (3.14, 2.71, True),
        (10.5, 10, True),
        ("hello", "world", True),
        ("hello", 5, True),
        ("a", "a*", False),
        ("100Mi", "not-a-quantity", True),
        ("100Mi", "", True),
        ("1Gi", "1024Mi", False),
        ("1h", "30m", True),
        ("1h", "60m", False),
        ({"foo": "bar"}, {"foo": "baz"}, True),
        ({"foo": "bar"}, ["foo"], True),
        (["a", "b"], ["a", "c"], True),
        (["a", "b"], ["a", "b"], False),
        # Unlike every other key type, null is not unequal to anything.
        (None, "x", False),
        (None, None, False),
    ],
)
def test_not_equals_negates_equals(key: Any, value: Any, expected: bool) -> None:
    _check("NotEquals", key, value, expected)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        # A single key against a list, a wildcard string or a JSON array.
        ("apple", ["apple", "banana", "cherry"], True),
        ("grape", ["apple", "banana", "cherry"], False),
        ("apple", [], False),
        ("hello-world", ["hello-*", "goodbye"], True),
        ("hello-*", ["hello-world", "goodbye"], True),
        ("hello", "hello", True),
        ("hello-world", "hello-*", True),
        ("goodbye-world", "hello-*", False),
        ("apple", '["apple", "banana", "cherry"]', True),
        ("grape", '["apple", "banana", "cherry"]', False),
        ("a", "not-valid-json", False),
        ("x", "null", False),
        ("", '["a", null]', True),
        ("apple", 12345, False),
        # Number and bool keys are printed first.
        (42, ["42", "43", "44"], True),
        (99, ["42", "43", "44"], False),
        (100, ["100", "200"], True),
        (3.14, ["3.14", "2.71"], True),
        (True, ["true", "false"], True),
        (2, [1, 2], True),
        # A list key must be a subset, by exact text.
        (["apple", "banana"], ["apple", "banana", "cherry"], True),
        (["apple", "grape"], ["apple", "banana", "cherry"], False),
        (["apple", "banana"], '["apple", "banana", "cherry"]', True),
        (["a*"], ["abc"], False),
        (["test"], "test", True),
        (["other"], "test", False),
        (["a"], "not-json", False),
        (["a"], ["a", 123], False),
        (["a"], 12345, False),
        ([], ["a"], True),
        ([1, 2], ["1", "2"], False),
        ({"foo": "bar"}, ["a", "b"], False),
        (None, ["a"], False),
    ],
)
def test_in_checks_membership_the_old_way(key: Any, value: Any, expected: bool) -> None:
    _check("In", key, value, expected)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("grape", ["apple"], True),
        ("apple", ["apple"], False),
        ("kube-system", "kube-*", False),
        ("kube-system", '["default"]', True),
        # An unusable value makes NotIn false as well.
        ("a", "not-json", False),
        ("x", 5, False),
        (["a", "d"], ["a", "b", "c"], True),
        (["a", "b"], ["a", "b", "c"], False),
        (["a"], ["a", 1], False),
        ([], ["a"], False),
        # Kyverno's shortcut for a one-item key ignores the negation.
        (["a"], "a", True),
        (None, ["a"], False),
    ],
)
def test_not_in_negates_in_for_usable_values(key: Any, value: Any, expected: bool) -> None:
    _check("NotIn", key, value, expected)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("kyverno", "kyverno", True),
        ("kube-system", ["default", "kube-*"], True),
        ("kyverno", "default", False),
        ("a*", ["abc"], True),
        ("", ["default", "kyverno"], False),
        (64, "64", True),
        (1, [1, 2, 3], True),
        (3.14, "3.14", True),
        (2.2, [1.1, 2.2, 3.3], True),
        ("b", '["a", "b"]', True),
        ("c", '["a", "b"]', False),
        ("b", '["a", 1]', False),
        ("123", "123", True),
        ("b", "123", False),
        ("b", '"b"', False),
        ("2", 2, False),
        (True, True, False),
        ("x", None, False),
        (None, ["a"], False),
        ({"a": 1}, ["a"], False),
        # A list key needs one element in the value.
        (["kube-system", "kube-public"], "kube-*", True),
        (["kube-system", "default"], "kube-system", True),
        (["default", "kyverno"], "kube-*", False),
        (["default", "kyverno"], ["kube-*", "ky*"], True),
        (["a", "b"], '["b", "c"]', True),
        ([1, 2, 3], 2, True),
        ([1, 2, 3], 4, False),
        ([True], True, True),
        ([], ["a"], False),
        # Numeric ranges `a-b`, with quantities allowed at the ends.
        ("5", "1-10", True),
        ("15", "1-10", False),
        (5, "1-10", True),
        ("1500Mi", "1Gi-2Gi", True),
        (["15", "5"], "1-10", True),
        (["15", "25"], "1-10", False),
        ("5", "1!-10", False),
        ("1!-10", "1!-10", True),
        # Go prints the float64 1000000.0 as 1e+06.
        (1000000, [1000000.0], False),
        (1000000.0, ["1e+06"], True),
        (1000000, ["1000000"], True),
    ],
)
def test_any_in_wants_one_match(key: Any, value: Any, expected: bool) -> None:
    _check("AnyIn", key, value, expected)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("kyverno", "kyverno", True),
        ("kube-system", ["default", "kube-*"], True),
        ("kyverno", "default", False),
        ("5", "1-10", True),
        (["kube-system", "kube-public"], "kube-*", True),
        (["kube-system", "default"], "kube-*", False),
        (["a", "b"], ["a", "b", "c"], True),
        (["a", "d"], ["a", "b", "c"], False),
        (["1", "2"], '["1", "2", "3"]', True),
        (["kyverno"], "kyverno", True),
        (["5", "7"], "1-10", True),
        (["5", "17"], "1-10", False),
        ([], "1-10", True),
        ([], ["a"], True),
        # Unlike AnyIn, a single number or bool is no usable value.
        ([1, 2], 2, False),
        ([2], 2, False),
        (None, ["a"], False),
    ],
)
def test_all_in_wants_every_key_matched(key: Any, value: Any, expected: bool) -> None:
    _check("AllIn", key, value, expected)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("kyverno", "kyverno", False),
        ("kube-system", ["default", "kube-*"], False),
        ("kyverno", "default", True),
        (64, "64", False),
        (1, [1, 2, 3], False),
        (64, "default", True),
        (3.14, "3.14", False),
        (2.2, [1.1, 2.2, 3.3], False),
        (3.14, "default", True),
        (True, True, False),
        ("", ["default", "kyverno"], True),
        ("x", 5, False),
        ("5", "1-10", False),
        ("15", "1-10", True),
        (["kube-system", "kube-public"], "kube-*", False),
        (["kube-system", "default"], "kube-system", True),
        (["default", "kyverno"], "kube-*", True),
        (["kyverno"], "kyverno", False),
        ([1, 2, 3], 2, True),
        ([1, 2, 3], 4, True),
        ([1.1, 2.2, 3.3], 1.1, True),
        ([1.1, 2.2, 3.3], 4.4, True),
        ([True, False], True, True),
        ([True], False, True),
        ([2], 2, False),
        (["default", "kyverno"], ["kube-*", "kube-system"], True),
        (["default", "kyverno"], ["kube-*", "ky*"], True),
        ([], ["default", "kyverno"], False),
        (["5", "15"], "1-10", True),
        (["5", "6"], "1-10", False),
    ],
)
def test_any_not_in_wants_one_key_missing(key: Any, value: Any, expected: bool) -> None:
    _check("AnyNotIn", key, value, expected)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("kyverno", "kyverno", False),
        ("kube-system", ["default", "kube-*"], False),
        ("kyverno", "default", True),
        (64, "64", False),
        (64, "default", True),
        (["kube-system", "kube-public"], "kube-*", False),
        (["kube-system", "default"], "kube-system", False),
        (["default", "kyverno"], "kube-*", True),
        (["default", "kyverno"], ["kube-*", "kube-system"], True),
        (["default", "kyverno"], ["kube-*", "ky*"], False),
        (["15", "20"], "1-10", True),
        (["5", "20"], "1-10", False),
        ([1, 2], 3, False),
        ([], ["a"], True),
        (None, ["a"], False),
    ],
)
def test_all_not_in_wants_no_key_matched(key: Any, value: Any, expected: bool) -> None:
    _check("AllNotIn", key, value, expected)


@pytest.mark.parametrize(
    ("operator", "key", "value", "expected"),
    [
        ("GreaterThan", 10, 5, True),
        ("GreaterThan", 5, 10, False),
        ("GreaterThan", 5, 5, False),
        ("GreaterThanOrEquals", 10, 10, True),
        ("LessThan", 5, 10, True),
        ("LessThanOrEquals", 5, 5, True),
        ("GreaterThan", 10.5, 10.4, True),
        ("LessThan", 10.4, 10.5, True),
        ("GreaterThan", 5, "1e0", True),
        ("GreaterThan", 5, "abc", False),
        ("GreaterThan", 5, True, False),
        ("GreaterThan", 5, None, False),
        # Numeric strings, and quantities, compare by amount.
        ("GreaterThan", "100", 50, True),
        ("LessThan", "50", "100", True),
        ("GreaterThan", "10", "9", True),
        ("LessThan", "1.5", "2", True),
        ("GreaterThan", "200Mi", "100Mi", True),
        ("LessThan", "1Gi", "2Gi", True),
        ("GreaterThanOrEquals", "500m", "0.5", True),
        ("LessThan", "2", "1Gi", True),
        ("GreaterThanOrEquals", "0", 0, True),
        ("GreaterThan", "0", 0, False),
        # A quantity with a unit cannot meet a bare number.
        ("GreaterThan", "1Gi", 1, False),
        # Durations, where a number counts seconds.
        ("GreaterThan", "2m", 60, True),
        ("GreaterThan", 120, "1m", True),
        ("LessThan", "1h", "61m", True),
        ("GreaterThanOrEquals", 60.5, "1m", True),
        # Strict semantic versions, against version strings only.
        ("GreaterThan", "1.2.3", "1.2.2", True),
        ("LessThan", "1.1.0", "1.2.0", True),
        ("GreaterThanOrEquals", "1.2.0", "1.2.0", True),
        ("LessThan", "1.2.3-alpha", "1.2.3", True),
        ("LessThan", "1.2.3-alpha.2", "1.2.3-alpha.10", True),
        ("GreaterThan", "1.2.3+build", "1.2.3", False),
        ("GreaterThan", "v1.2.3", "1.0.0", False),
        ("GreaterThan", "1.2.3", "v1.0.0", False),
        ("GreaterThan", "1.2.3", 1, False),
        ("GreaterThan", "18446744073709551616.0.0", "1.0.0", False),
        # Everything else is false.
        ("GreaterThan", True, 5, False),
        ("GreaterThan", "not-a-number", 5, False),
        ("GreaterThan", None, 5, False),
        ("GreaterThan", [1], 0, False),
        ("LessThan", float("nan"), 1, False),
    ],
)
def test_ordering_reads_numbers_quantities_durations_versions(
    operator: str, key: Any, value: Any, expected: bool
) -> None:
    _check(operator, key, value, expected)


@pytest.mark.parametrize(
    ("operator", "key", "value", "expected"),
    [
        ("DurationGreaterThan", "2h", "1h", True),
        ("DurationGreaterThan", "1h", "2h", False),
        ("DurationGreaterThan", "1h", "1h", False),
        ("DurationGreaterThan", "60m", "1h", False),
        ("DurationGreaterThan", "61m", "1h", True),
        ("DurationGreaterThan", 120, 60, True),
        ("DurationGreaterThan", 60, 120, False),
        ("DurationGreaterThan", 3600, 1800, True),
        ("DurationGreaterThan", 120, "1m", True),
        ("DurationGreaterThan", 120, 60.0, True),
        ("DurationGreaterThan", 120.5, 60.5, True),
        ("DurationGreaterThan", 120.5, 60, True),
        ("DurationGreaterThan", 120.0, "1m", True),
        ("DurationGreaterThan", "2m", 60, True),
        ("DurationGreaterThan", "2m", 60.0, True),
        ("DurationGreaterThan", True, False, False),
        ("DurationGreaterThan", 120, "invalid", False),
        ("DurationGreaterThan", 120, True, False),
        ("DurationGreaterThan", 120.0, "invalid", False),
        ("DurationGreaterThan", "invalid", 60, False),
        ("DurationGreaterThan", "1h", "invalid", False),
        ("DurationGreaterThan", "1h", True, False),
        ("DurationGreaterThan", "1h", None, False),
        ("DurationGreaterThanOrEquals", "2h", "1h", True),
        ("DurationGreaterThanOrEquals", "1h", "60m", True),
        ("DurationGreaterThanOrEquals", "30m", "1h", False),
        ("DurationGreaterThanOrEquals", 60, 60, True),
        ("DurationLessThan", "30m", "1h", True),
        ("DurationLessThan", "2h", "1h", False),
        ("DurationLessThan", "1h", "60m", False),
        ("DurationLessThan", 30, 60, True),
        ("DurationLessThan", "0", "1s", True),
        ("DurationLessThanOrEquals", "30m", "1h", True),
        ("DurationLessThanOrEquals", "1h", "60m", True),
        ("DurationLessThanOrEquals", "2h", "1h", False),
        ("DurationLessThanOrEquals", 60, 60, True),
        # Fractions of a second are dropped before comparing.
        ("DurationGreaterThan", 1.9, 1, False),
        ("DurationGreaterThan", 60.5, "60s", False),
    ],
)
def test_duration_operators_count_numbers_as_seconds(
    operator: str, key: Any, value: Any, expected: bool
) -> None:
    _check(operator, key, value, expected)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "<nil>"),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (-7, "-7"),
        (3.0, "3"),
        (3.14, "3.14"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-0.0, "-0"),
        (2**63, "9.223372036854776e+18"),
        ("text", "text"),
        ([1, "a", None], "[1 a <nil>]"),
        ({"b": 1, "a": [True]}, "map[a:[true] b:1]"),
    ],
)
def test_sprint_prints_like_go(value: Any, text: str) -> None:
    assert operators_go.sprint(value) == text


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ([1], [1], True),
        ([1], [1.0], False),
        ((1, 2), [1, 2], True),
        ({"a": True}, {"a": 1}, False),
        ({"a": None}, {"a": None}, True),
        ({"a": None}, {}, False),
        ([], [], True),
        ([float("nan")], [float("nan")], False),
    ],
)
def test_deep_equal_keeps_go_types_apart(left: Any, right: Any, expected: bool) -> None:
    assert operators_go.deep_equal(left, right) is expected


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("2h", "1h", (2 * _HOUR, _HOUR)),
        ("90m", "1h30m", (90 * _MINUTE, 90 * _MINUTE)),
        ("30s", "45s", (30 * _SECOND, 45 * _SECOND)),
        ("0s", "1h", (0, _HOUR)),
        ("2m", 60, (2 * _MINUTE, 60 * _SECOND)),
        ("1h", 120, (_HOUR, 120 * _SECOND)),
        ("30s", 10.0, (30 * _SECOND, 10 * _SECOND)),
        (120, "2m", (120 * _SECOND, 2 * _MINUTE)),
        (3600, "30m", (_HOUR, 30 * _MINUTE)),
        (60.0, "1m", (_MINUTE, _MINUTE)),
        ("hello", "world", None),
        (100, 200, None),
        ("0", "0", None),
        ("1h", True, None),
        (True, "1h", None),
        ("1h", {}, None),
    ],
)
def test_duration_pair_needs_one_duration_string(
    key: Any, value: Any, expected: tuple[int, int] | None
) -> None:
    assert operators_go.duration_pair(key, value) == expected


def test_huge_ints_become_float64() -> None:
    assert operators_go.normalize(2**64) == float(2**64)
    assert operators_go.normalize(-(10**400)) == float("-inf")
    assert operators_go.normalize(2**63 - 1) == 2**63 - 1
