"""Kyverno's `Equals` and `NotEquals` condition operators.

Equality in Kyverno is decided by the key's Go type, and each type has its
own idea of what the value may be:

- a bool wants a bool;
- a number wants a number of either kind, or a string that Go reads as a
  number of the key's kind (`ParseInt` for int64, `ParseFloat` for float64);
- a string is tried as a duration (`1h` equals `60m`, and `2m` equals the
  number 120), then as a quantity (`1Gi` equals `1024Mi`), and only then as
  text, where the value may use `*` and `?` wildcards;
- an object or an array wants a deeply equal one of the same Go types.

`NotEquals` is the negation of all that, except for a key of any other type
(such as null), where both operators answer false.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.policy import operators_go as go, quantities, values, wildcards


def evaluate_equals(key: Any, value: Any) -> bool:
    key, value = go.normalize(key), go.normalize(value)
    if isinstance(key, bool):
        return isinstance(value, bool) and key == value
    if isinstance(key, int):
        return _int_equals(key, value)
    if isinstance(key, float):
        return _float_equals(key, value)
    if isinstance(key, str):
        return _string_equals(key, value)
    if isinstance(key, Mapping):
        return isinstance(value, Mapping) and go.deep_equal(key, value)
    if go.is_array(key):
        return go.is_array(value) and go.deep_equal(key, value)
    return False


def evaluate_not_equals(key: Any, value: Any) -> bool:
    # NB: Kyverno's NotEquals handler gives up with false on an unsupported
    # key type, just like Equals, instead of negating it.
    if not _is_supported_key(go.normalize(key)):
        return False
    return not evaluate_equals(key, value)


def _is_supported_key(key: Any) -> bool:
    return isinstance(key, bool | int | float | str | Mapping) or go.is_array(key)


def _int_equals(key: int, value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return key == value
    if isinstance(value, float):
        return go.is_whole(value) and go.float_to_int64(value) == key
    if isinstance(value, str):
        # NB: ParseInt, so the string "3.0" does not equal the int64 3.
        return quantities.parse_go_int(value) == key
    return False


def _float_equals(key: float, value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return go.is_whole(key) and go.float_to_int64(key) == value
    if isinstance(value, float):
        return key == value
    if isinstance(value, str):
        parsed = values.parse_go_float(value)
        return parsed is not None and parsed == key
    return False


def _string_equals(key: str, value: Any) -> bool:
    # Durations come first, being the only strings that can equal a value
    # of another Go type: "2m" equals the number 120.
    pair = go.duration_pair(key, value)
    if pair is not None:
        return go.to_seconds(pair[0]) == go.to_seconds(pair[1])

    # A key that reads as a quantity never falls back to text when the value
    # is a string: "100" does not equal "1*", and "1" equals "1.0".
    key_quantity = quantities.parse_quantity(key)
    if key_quantity is not None and isinstance(value, str):
        value_quantity = quantities.parse_quantity(value)
        return value_quantity is not None and key_quantity == value_quantity

    return isinstance(value, str) and wildcards.wildcard_match(value, key)
