"""Standard JMESPath functions whose Go behaviour differs from Python's.

Kyverno runs the Go implementation of the built-ins, and three of them give
visibly different answers in the Python library:

- `to_string` prints JSON as Go's encoder does: sorted keys, `1` rather than
  `1.0`, and `<`, `>`, `&` escaped;
- `to_number` reads strings with Go's `strconv.ParseFloat`, which refuses
  surrounding spaces and underscores, and overflows to null;
- `contains` never counts `true` as `1`, and `contains('abc', `1`)` is
  false instead of a Python TypeError.
"""

from __future__ import annotations

import math
import re
from typing import Any

from bot.policy.jmespath import values
from bot.policy.jmespath.signatures import ANY, signature

_DECIMAL_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX_FLOAT = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+")
_SPECIAL_FLOAT = re.compile(r"[+-]?(?:inf|infinity|nan)", re.IGNORECASE)


def go_parse_float(text: str) -> float | None:
    """Go's `strconv.ParseFloat(text, 64)`, or None where it errs."""
    if _SPECIAL_FLOAT.fullmatch(text):
        return float(text)
    if _HEX_FLOAT.fullmatch(text):
        number = float.fromhex(text)
    elif _DECIMAL_FLOAT.fullmatch(text):
        number = float(text)
    else:
        return None
    # Out-of-range values are an error in Go, not an infinity.
    return number if math.isfinite(number) else None


class StandardFunctions:
    """Mixin for `KyvernoFunctions`; the `_func_` prefix registers each one."""

    @signature(ANY)
    def _func_to_string(self, value: Any) -> str:
        return value if isinstance(value, str) else values.go_json(value)

    @signature(ANY)
    def _func_to_number(self, value: Any) -> int | float | None:
        if values.is_number(value):
            number: int | float = value
            return number
        if isinstance(value, str):
            parsed = go_parse_float(value)
            return None if parsed is None else values.normalize_number(parsed)
        return None

    @signature({"types": ["array", "string"]}, ANY)
    def _func_contains(self, subject: list[Any] | str, search: Any) -> bool:
        if isinstance(subject, str):
            return isinstance(search, str) and search in subject
        return any(values.strict_equal(item, search) for item in subject)
