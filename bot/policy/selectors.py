"""Kubernetes label selectors, with the wildcards Kyverno adds to them.

Kyverno evaluates `selector` and `namespaceSelector` with the Kubernetes
selector library, after one twist of its own: keys and values in
`matchLabels` may hold `*` and `?`. Such an entry is rewritten into the first
real label it matches, or, when no label matches, into a literal that no label
carries. So a wildcard entry holds when some label matches both its key and
its value, and `"*": "*"` never holds for an object without labels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.policy import wildcards

# Kubernetes' own limits for label keys and values (apimachinery validation).
_NAME_PART = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_MAX_NAME = 63
_MAX_PREFIX = 253

_SET_OPERATORS = frozenset({"In", "NotIn"})
_PRESENCE_OPERATORS = frozenset({"Exists", "DoesNotExist"})


class SelectorError(ValueError):
    """A selector Kubernetes refuses to build; Kyverno then reports no match."""


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """Whether a LabelSelector (already known to be present) selects `labels`.

    An empty selector selects everything, as in Kubernetes.

    Raises:
        SelectorError: the selector is malformed: an unknown operator, values
            where none are allowed (or none where some are needed), or keys
            and values Kubernetes would not accept as labels.
    """
    actual = {str(key): str(value) for key, value in labels.items()}
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not isinstance(match_labels, Mapping):
        raise SelectorError(f"matchLabels must be a map, got {type(match_labels).__name__}")
    if not isinstance(expressions, list):
        raise SelectorError(f"matchExpressions must be a list, got {type(expressions).__name__}")

    # Build every requirement before evaluating any: Kubernetes refuses the
    # whole selector when one part is malformed, whatever the labels are.
    checks: list[bool] = []
    for key, value in match_labels.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise SelectorError(f"matchLabels must map strings to strings, got {key!r}: {value!r}")
        key, value = _expand_wildcards(key, value, actual)
        _check_key(key)
        _check_value(value)
        checks.append(actual.get(key) == value)
    for expression in expressions:
        checks.append(_evaluate_expression(expression, actual))
    return all(checks)


def _expand_wildcards(key: str, value: str, labels: Mapping[str, str]) -> tuple[str, str]:
    """Kyverno's rewrite of a wildcard matchLabels entry into a literal one."""
    if not (wildcards.has_wildcard(key) or wildcards.has_wildcard(value)):
        return key, value
    for label_key, label_value in labels.items():
        key_fits = wildcards.wildcard_match(key, label_key)
        if key_fits and wildcards.wildcard_match(value, label_value):
            return label_key, label_value
    # NB: Kyverno swaps the wildcard characters for "0" so the literal stays a
    # valid label; it can then only match a label the wildcard matched too.
    return _zeroed(key), _zeroed(value)


def _zeroed(text: str) -> str:
    return text.replace("*", "0").replace("?", "0")


def _evaluate_expression(expression: Any, labels: Mapping[str, str]) -> bool:
    if not isinstance(expression, Mapping):
        raise SelectorError(f"a matchExpressions entry must be a map, got {expression!r}")
    key = expression.get("key")
    operator = expression.get("operator")
    values = expression.get("values") or []
    if not isinstance(key, str):
        raise SelectorError(f"matchExpressions key must be a string, got {key!r}")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise SelectorError(f"matchExpressions values must be a list of strings, got {values!r}")
    _check_key(key)

    # The operator decides how many values the requirement may carry.
    if operator in _SET_OPERATORS:
        if not values:
            raise SelectorError(f"operator {operator} needs at least one value for key {key!r}")
    elif operator in _PRESENCE_OPERATORS:
        if values:
            raise SelectorError(f"operator {operator} takes no values for key {key!r}")
    else:
        raise SelectorError(f"{operator!r} is not a valid label selector operator")
    for value in values:
        _check_value(value)

    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    return not present


def _check_key(key: str) -> None:
    prefix, slash, name = key.rpartition("/")
    if slash and (
        not prefix
        or "/" in prefix
        or len(prefix) > _MAX_PREFIX
        or not _DNS_SUBDOMAIN.fullmatch(prefix)
    ):
        raise SelectorError(f"invalid label key {key!r}: the prefix must be a DNS subdomain")
    if not name or len(name) > _MAX_NAME or not _NAME_PART.fullmatch(name):
        raise SelectorError(f"invalid label key {key!r}")


def _check_value(value: str) -> None:
    if value and (len(value) > _MAX_NAME or not _NAME_PART.fullmatch(value)):
        raise SelectorError(f"invalid label value {value!r}")
