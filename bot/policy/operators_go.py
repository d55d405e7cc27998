"""The Go view of the plain values that reach a condition operator.

Kyverno's operators switch on Go types, so every family first has to see a
Python value the way Go would: a bool is Go's bool, an int within the int64
range is int64, a float (or a larger int) is float64, a str is a string, a
Mapping is a JSON object and a list or tuple is a JSON array. None, and
anything else, falls through every case.

Which of int64 and float64 a number becomes depends on where Kyverno got
it, which the caller knows and this module cannot: a whole number read from
the resource is int64, and so is one inside a list or object written in the
policy, but a bare number written as the key or value is float64, because
Kyverno round-trips scalars through encoding/json. To get Kyverno's verdict
for a literal `value: 5`, hand it over as `5.0`.

The helpers here are the conversions the operator families share: printing
with fmt.Sprint, reading a key and value as a pair of durations, Go's deep
equality and Go's float-to-int conversion.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from bot.policy import quantities
from bot.policy.jmespath import durations, values as go_values

_INT64_RANGE = range(-(2**63), 2**63)


def normalize(value: Any) -> Any:
    """Turn an int too large for an int64 into the float64 Go makes of it."""
    if is_int(value) and value not in _INT64_RANGE:
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    return value


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_array(value: Any) -> bool:
    return isinstance(value, list | tuple)


def is_scalar(value: Any) -> bool:
    """True for the key types the `In` family prints and then treats as text."""
    return isinstance(value, str | bool | int | float)


def is_whole(value: float) -> bool:
    """Go's `f == math.Trunc(f)`, which holds for the infinities but not NaN."""
    return math.isinf(value) or value.is_integer()


def float_to_int64(value: float) -> int:
    """Go's int64(f): truncation, and amd64's answer when f is out of range."""
    return durations.from_float(value)


def sprint(value: Any) -> str:
    """Print a value as Go's fmt.Sprint prints a decoded JSON value."""
    value = normalize(value)
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # NB: %v switches to an exponent at 1e6, so 1000000.0 prints `1e+06`.
        return go_values.go_format_g(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        # fmt sorts map keys; for string keys that is code point order.
        items = sorted(value.items(), key=lambda item: str(item[0]))
        return "map[" + " ".join(f"{key}:{sprint(item)}" for key, item in items) + "]"
    if is_array(value):
        return "[" + " ".join(sprint(item) for item in value) + "]"
    return str(value)


def deep_equal(left: Any, right: Any) -> bool:
    """Go's reflect.DeepEqual on decoded JSON values.

    Stricter than Python's `==`: the int64 1 and the float64 1.0 differ, and
    neither equals `true`.
    """
    left, right = normalize(left), normalize(right)
    if _go_type(left) != _go_type(right):
        return False
    if isinstance(left, Mapping):
        return left.keys() == right.keys() and all(
            deep_equal(item, right[key]) for key, item in left.items()
        )
    if is_array(left):
        return len(left) == len(right) and all(
            deep_equal(mine, theirs) for mine, theirs in zip(left, right, strict=True)
        )
    return bool(left == right)


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, Mapping):
        return "object"
    if is_array(value):
        return "array"
    return type(value).__name__


def seconds_as_duration(value: Any) -> int | None:
    """Nanoseconds in `time.Duration(n) * time.Second` for a number n.

    A float is truncated to whole seconds first, and the product wraps
    around in int64 arithmetic; both are Go's doing. None for a non-number.
    """
    if is_int(value):
        return durations.wrap(value * durations.SECOND)
    if isinstance(value, float):
        return durations.wrap(float_to_int64(value) * durations.SECOND)
    return None


def duration_pair(key: Any, value: Any) -> tuple[int, int] | None:
    """Kyverno's parseDuration: both sides as nanoseconds, or None.

    At least one side must be a Go duration string other than the bare `0`;
    the other may then be a duration string too or a number of seconds.
    """
    key, value = normalize(key), normalize(value)
    key_ns = _duration_text(key)
    value_ns = _duration_text(value)
    if key_ns is None and value_ns is None:
        return None
    if key_ns is None:
        key_ns = seconds_as_duration(key)
    if value_ns is None:
        value_ns = seconds_as_duration(value)
    if key_ns is None or value_ns is None:
        return None
    return key_ns, value_ns


def _duration_text(value: Any) -> int | None:
    # NB: "0" is a valid Go duration, but Kyverno refuses to treat it as one
    # here, so `0` keeps comparing as a number or a quantity.
    if not isinstance(value, str) or value == "0":
        return None
    return quantities.parse_duration_ns(value)


def to_seconds(nanoseconds: int) -> float:
    """Go's Duration.Seconds, which the comparisons are made on."""
    return durations.to_seconds(nanoseconds)
