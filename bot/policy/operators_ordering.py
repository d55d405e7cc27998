"""Kyverno's ordering operators: GreaterThan and friends, and the Duration* set.

GreaterThan, GreaterThanOrEquals, LessThan and LessThanOrEquals accept
numbers, numeric strings, quantities, durations and semantic versions. A
string key is tried as each in that order: a duration (where the other side
may be a number of seconds), then a quantity when the value is a string too,
then a Go float, and last a strict semver `MAJOR.MINOR.PATCH` version, which
only compares with another version string. Anything else, bools and null
included, makes the condition false.

The deprecated DurationGreaterThan family reads both sides as Go durations,
a number meaning whole seconds; a fraction of a second is dropped before the
comparison, so 1.9 counts as 1s.

NB: Kyverno picks the handler by the operator's lower-cased name but then
decides the comparison by its exact spelling, so `greaterThan` is accepted
and is always false.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from bot.policy import operators_go as go, quantities, values
from bot.policy.jmespath import semver

_Verdict = Callable[[Any, Any], bool]

_NUMERIC_VERDICTS: dict[str, _Verdict] = {
    "GreaterThan": operator.gt,
    "GreaterThanOrEquals": operator.ge,
    "LessThan": operator.lt,
    "LessThanOrEquals": operator.le,
}
_DURATION_VERDICTS: dict[str, _Verdict] = {
    "DurationGreaterThan": operator.gt,
    "DurationGreaterThanOrEquals": operator.ge,
    "DurationLessThan": operator.lt,
    "DurationLessThanOrEquals": operator.le,
}

_MAX_UINT64 = 2**64 - 1


def evaluate_numeric(name: str, key: Any, value: Any) -> bool:
    """Evaluate GreaterThan, LessThan or their OrEquals forms."""
    verdict = _NUMERIC_VERDICTS.get(name)
    if verdict is None:
        return False
    key, value = go.normalize(key), go.normalize(value)
    if isinstance(key, bool):
        return False
    if isinstance(key, int | float):
        return _number_against(key, value, verdict)
    if isinstance(key, str):
        return _text_against(key, value, verdict)
    return False


def evaluate_duration(name: str, key: Any, value: Any) -> bool:
    """Evaluate one of the deprecated Duration* operators."""
    verdict = _DURATION_VERDICTS.get(name)
    if verdict is None:
        return False
    key_ns = _as_duration(go.normalize(key))
    value_ns = _as_duration(go.normalize(value))
    if key_ns is None or value_ns is None:
        return False
    return verdict(key_ns, value_ns)


def _as_duration(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        # Unlike the other operators these take "0" as a duration as well.
        return quantities.parse_duration_ns(value)
    return go.seconds_as_duration(value)


def _number_against(key: int | float, value: Any, verdict: _Verdict) -> bool:
    """Kyverno's int and float branches, which differ only in the key's type.

    Both compare in float64, like Go's float64(key).
    """
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return verdict(float(key), float(value))
    if not isinstance(value, str):
        return False

    # A duration string turns the number into a count of seconds.
    pair = go.duration_pair(key, value)
    if pair is not None:
        return verdict(go.to_seconds(pair[0]), go.to_seconds(pair[1]))
    # Kyverno then tries ParseInt, which accepts nothing ParseFloat refuses.
    parsed = values.parse_go_float(value)
    return parsed is not None and verdict(float(key), parsed)


def _text_against(key: str, value: Any, verdict: _Verdict) -> bool:
    pair = go.duration_pair(key, value)
    if pair is not None:
        return verdict(go.to_seconds(pair[0]), go.to_seconds(pair[1]))

    # Quantities come before plain numbers, since "1.5" is both.
    if isinstance(value, str):
        key_quantity = quantities.parse_quantity(key)
        value_quantity = quantities.parse_quantity(value)
        if key_quantity is not None and value_quantity is not None:
            order = (key_quantity > value_quantity) - (key_quantity < value_quantity)
            return verdict(order, 0)

    number = values.parse_go_float(key)
    if number is not None:
        return _number_against(number, value, verdict)

    version = _parse_version(key)
    if version is None or not isinstance(value, str):
        return False
    other = _parse_version(value)
    return other is not None and verdict(version.compare(other), 0)


def _parse_version(text: str) -> semver.Version | None:
    """blang/semver's strict Parse, with its uint64 limit on every number."""
    try:
        version = semver.parse_version(text)
    except semver.SemverError:
        return None
    numbers = [version.major, version.minor, version.patch]
    numbers += [part for part in version.prerelease if isinstance(part, int)]
    if any(number > _MAX_UINT64 for number in numbers):
        return None
    return version
