"""Kyverno's set operators: AnyIn, AllIn, AnyNotIn, AllNotIn, In and NotIn.

All six work on text. A number or bool key is printed with Go's fmt.Sprint
first (so the float64 3.0 is `3` and 1e6 is `1e+06`), and so is every element
of a list key or list value. The value may be a list, a single string, a
string holding a JSON array of strings, or (for AnyIn and AnyNotIn with a
list key only) a single number or bool.

The four current operators match elements with `*` and `?` wildcards in
either direction, and accept a numeric range such as `1-10` as the value.
Only the `a-b` form is a range here; `1!-10` is plain text. For a single key
AnyIn and AllIn mean the same, as do AnyNotIn and AllNotIn.

The deprecated In and NotIn compare a list key by exact text only, and a
value string must either match a single key as a wildcard pattern or hold a
JSON array. Whenever Kyverno finds the value unusable, every operator here
answers false, the NotIn ones included.
"""

from __future__ import annotations

import json
from typing import Any

from bot.policy import operators_go as go, values, wildcards

# One operator's answer, or None where Kyverno calls the value's type invalid.
_Found = bool | None


def evaluate_any_in(key: Any, value: Any) -> bool:
    key = go.normalize(key)
    if go.is_scalar(key):
        return _key_in(_key_text(key), value) is True
    if go.is_array(key):
        return _any_in_set(_key_texts(key), value, negate=False) is True
    return False


def evaluate_all_in(key: Any, value: Any) -> bool:
    key = go.normalize(key)
    if go.is_scalar(key):
        return _key_in(_key_text(key), value) is True
    if go.is_array(key):
        return _all_in_set(_key_texts(key), value, negate=False) is True
    return False


def evaluate_any_not_in(key: Any, value: Any) -> bool:
    key = go.normalize(key)
    if go.is_scalar(key):
        return _key_in(_key_text(key), value) is False
    if go.is_array(key):
        return _any_in_set(_key_texts(key), value, negate=True) is True
    return False


def evaluate_all_not_in(key: Any, value: Any) -> bool:
    key = go.normalize(key)
    if go.is_scalar(key):
        return _key_in(_key_text(key), value) is False
    if go.is_array(key):
        return _all_in_set(_key_texts(key), value, negate=True) is True
    return False


def evaluate_in(key: Any, value: Any) -> bool:
    key = go.normalize(key)
    if go.is_scalar(key):
        return _legacy_key_in(_key_text(key), value) is True
    # Limitation: Kyverno panics on a list key holding a non-string, which
    # fails the whole request; this answers false instead.
    if go.is_array(key) and all(isinstance(item, str) for item in key):
        return _legacy_set_in(list(key), value, negate=False) is True
    return False


def evaluate_not_in(key: Any, value: Any) -> bool:
    key = go.normalize(key)
    if go.is_scalar(key):
        return _legacy_key_in(_key_text(key), value) is False
    # Limitation: as for In, false where Kyverno panics.
    if go.is_array(key) and all(isinstance(item, str) for item in key):
        return _legacy_set_in(list(key), value, negate=True) is True
    return False


def _key_text(key: Any) -> str:
    return key if isinstance(key, str) else go.sprint(key)


def _key_texts(keys: Any) -> list[str]:
    return [go.sprint(key) for key in keys]


def _matches_either_way(left: str, right: str) -> bool:
    return wildcards.wildcard_match(left, right) or wildcards.wildcard_match(right, left)


def _is_range(text: str) -> bool:
    return values.operator_of(text) == "-"


def _key_in(key: str, value: Any) -> _Found:
    """Kyverno's anyKeyExistsInArray (allKeyExistsInArray is identical)."""
    if go.is_array(value):
        return any(_matches_either_way(go.sprint(item), key) for item in value)
    if not isinstance(value, str):
        return None
    if wildcards.wildcard_match(value, key):
        return True
    if _is_range(value):
        # Kyverno hands ranges to its pattern matcher, which reads the
        # bounds as numbers, quantities or durations.
        return values.value_matches(key, value)
    items = _string_list_or_single(value)
    if items is None:
        return None
    return key in items


def _any_in_set(keys: list[str], value: Any, *, negate: bool) -> _Found:
    """Kyverno's anySetExistsInArray, for AnyIn and (negated) AnyNotIn."""
    if go.is_array(value):
        items = [go.sprint(item) for item in value]
    elif isinstance(value, str):
        if len(keys) == 1 and keys[0] == value:
            return not negate
        if _is_range(value):
            # NB: AnyNotIn asks whether some key lies outside the range, by
            # rewriting the first "-" of `a-b` into the `a!-b` pattern.
            pattern = value.replace("-", "!-", 1) if negate else value
            return any(values.value_matches(key, pattern) for key in keys)
        found = _string_list_or_single(value)
        if found is None:
            return None
        items = found
    elif go.is_scalar(go.normalize(value)):
        items = [go.sprint(value)]
    else:
        return None

    if negate:
        return any(not _matches_any(key, items) for key in keys)
    return any(_matches_any(key, items) for key in keys)


def _all_in_set(keys: list[str], value: Any, *, negate: bool) -> _Found:
    """Kyverno's allSetExistsInArray, for AllIn and (negated) AllNotIn.

    Unlike its AnyIn twin it has no case for a number or bool value.
    """
    if go.is_array(value):
        items = [go.sprint(item) for item in value]
    elif isinstance(value, str):
        if len(keys) == 1 and keys[0] == value:
            return not negate
        if _is_range(value):
            inside = [values.value_matches(key, value) for key in keys]
            return not any(inside) if negate else all(inside)
        found = _string_list_or_single(value)
        if found is None:
            return None
        items = found
    else:
        return None

    if negate:
        return not any(_matches_any(key, items) for key in keys)
    return all(_matches_any(key, items) for key in keys)


def _matches_any(key: str, items: list[str]) -> bool:
    return any(_matches_either_way(key, item) for item in items)


def _legacy_key_in(key: str, value: Any) -> _Found:
    """Kyverno's keyExistsInArray, behind the deprecated In and NotIn."""
    if go.is_array(value):
        return any(_matches_either_way(go.sprint(item), key) for item in value)
    if not isinstance(value, str):
        return None
    if wildcards.wildcard_match(value, key):
        return True
    items = _string_list(value)
    if items is None:
        return None
    return key in items


def _legacy_set_in(keys: list[str], value: Any, *, negate: bool) -> _Found:
    """Kyverno's setExistsInArray: exact text, no wildcards, no printing."""
    if go.is_array(value):
        if not all(isinstance(item, str) for item in value):
            return None
        items: list[str] = list(value)
    elif isinstance(value, str):
        # NB: this shortcut ignores `negate`, so NotIn(["a"], "a") is true.
        if len(keys) == 1 and keys[0] == value:
            return True
        found = _string_list(value)
        if found is None:
            return None
        items = found
    else:
        return None

    present = set(items)
    missing = any(key not in present for key in keys)
    return missing if negate else not missing


def _string_list_or_single(text: str) -> list[str] | None:
    """Valid JSON must be an array of strings; anything else is one item."""
    if not _is_json(text):
        return [text]
    return _string_list(text)


def _string_list(text: str) -> list[str] | None:
    """Go's json.Unmarshal into a []string, or None where it fails.

    `null` gives an empty list and a null element gives "", because Go
    leaves the zero value in place for a JSON null.
    """
    try:
        decoded = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return None
    if decoded is None:
        return []
    if not isinstance(decoded, list):
        return None
    items = []
    for item in decoded:
        if item is None:
            items.append("")
        elif isinstance(item, str):
            items.append(item)
        else:
            return None
    return items


def _is_json(text: str) -> bool:
    """Go's json.Valid."""
    try:
        json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return False
    return True


def _refuse_constant(name: str) -> Any:
    # Python reads NaN and Infinity, which are not JSON and Go rejects.
    raise ValueError(f"not JSON: {name}")
