"""JSON values as Kyverno's Go code sees them.

Go decodes every JSON number into a float64, compares values with
`reflect.DeepEqual`, and prints numbers with `strconv`. Python keeps ints and
floats apart, treats `True == 1`, and prints `2.0`. The helpers here bridge
that gap so that results, comparisons and rendered text match Kyverno's:

- numbers that Go would print without a fraction come back as `int`;
- `strict_equal` never confuses booleans with numbers;
- `go_json` renders a value as Go's `encoding/json` would (sorted keys,
  HTML-safe escapes, Go's float layout), which `to_string` relies on.
"""

from __future__ import annotations

import json
import math
import struct
from decimal import Decimal
from typing import Any

_EXACT_FLOAT_LIMIT = 2**53


def is_number(value: object) -> bool:
    """True for JSON numbers; Python's bools are ints but never numbers here."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def normalize_number(value: float) -> int | float:
    """Return whole floats as ints, so they print and compare like Go's."""
    if isinstance(value, int):
        return value
    if value.is_integer() and abs(value) < _EXACT_FLOAT_LIMIT:
        return int(value)
    return value


def int_number(value: float) -> int:
    """Kyverno's check that a JSON number is a whole number (utils.go)."""
    if isinstance(value, int):
        return value
    if not math.isfinite(value) or not value.is_integer():
        raise ValueError(f"expected an integer number but got: {go_format_g(value)}")
    if abs(value) >= 2**63:
        raise ValueError(f"number is outside the range of integer numbers: {go_format_g(value)}")
    return int(value)


def strict_equal(left: object, right: object) -> bool:
    """Deep equality with Go's rules: `1 == 1.0`, but `true != 1`."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if is_number(left) and is_number(right):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(
            strict_equal(a, b) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(
            strict_equal(value, right[key]) for key, value in left.items()
        )
    return type(left) is type(right) and left == right


def _shortest_digits(value: float) -> tuple[str, int]:
    """Shortest round-trip digits of a positive float, and its decimal point.

    `(digits, point)` means 0.<digits> x 10**point, e.g. 1.5 -> ("15", 1).
    Python's repr and Go's strconv both pick the shortest round-trip digits.
    """
    _, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    point = len(digit_tuple) + exponent
    return digits, point


def go_format_g(value: float) -> str:
    """Go's `%v` / `%g` for a float64: shortest digits, and an exponent once
    it is below -4 or at least 6 (so 1e6 prints as `1e+06`)."""
    if isinstance(value, int):
        value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    digits, point = _shortest_digits(abs(value))
    exponent = point - 1
    if exponent < -4 or exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    return sign + _fixed(digits, point)


def _fixed(digits: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def go_float32_text(value: float) -> str:
    """Go's `strconv.FormatFloat(f, 'f', -1, 32)`, used by Kyverno to turn
    numeric arguments into strings (so 123456789 prints as 123456790)."""
    if isinstance(value, int):
        value = float(value)
    if math.isnan(value):
        return "NaN"
    try:
        single = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        single = math.copysign(math.inf, value)
    if math.isinf(single):
        return "+Inf" if single > 0 else "-Inf"
    if single == 0:
        return "-0" if math.copysign(1, single) < 0 else "0"

    # Shortest text that reads back as the same float32.
    text = repr(single)
    for precision in range(1, 10):
        text = f"{single:.{precision}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            break
    return format(Decimal(text), "f")


def go_json(value: Any) -> str:
    """Serialise like Go's `json.Marshal`, which go-jmespath's to_string uses."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_json_float(value)
    if isinstance(value, str):
        return _go_json_string(value)
    if isinstance(value, list):
        return "[" + ",".join(go_json(item) for item in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{_go_json_string(k)}:{go_json(v)}" for k, v in items) + "}"
    return _go_json_string(str(value))


def _go_json_float(value: float) -> str:
    if not math.isfinite(value):
        # Go refuses to encode these; go-jmespath then yields an error, but a
        # readable token serves an explanation better than a failure.
        return go_format_g(value)
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    digits, point = _shortest_digits(abs(value))
    sign = "-" if value < 0 else ""
    exponent = point - 1
    if abs(value) < 1e-6 or abs(value) >= 1e21:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent)}"
    return sign + _fixed(digits, point)


def _go_json_string(text: str) -> str:
    encoded = json.dumps(text, ensure_ascii=False)
    # NB: Go escapes HTML-significant characters and the two Unicode line
    # separators; they can only occur inside string literals here.
    return (
        encoded.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
