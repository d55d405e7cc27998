"""Kyverno's condition operators, for `preconditions` and `deny.conditions`.

A condition is `{key, operator, value}`; once variables are substituted the
key and value are plain JSON-like values and `evaluate_operator` tells
whether the condition holds, answering exactly as Kyverno's engine does,
quirks included. Walking `any`/`all` lists and substituting variables is
the caller's job.

Kyverno never raises for a key or value of the wrong type: the condition is
simply false (for the NotIn family as well). The one error is an operator
name it does not know, which fails the rule.

The families live in their own modules: `operators_equality`,
`operators_membership` and `operators_ordering`, with the Go view of values
they share in `operators_go`; its docstring explains how to hand over numbers
so that int64 and float64 come out as they do in Kyverno.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.policy import (
    operators_equality as equality,
    operators_membership as membership,
    operators_ordering as ordering,
)

OPERATORS = (
    "Equals",
    "NotEquals",
    "In",
    "AnyIn",
    "AllIn",
    "NotIn",
    "AnyNotIn",
    "AllNotIn",
    "GreaterThanOrEquals",
    "GreaterThan",
    "LessThanOrEquals",
    "LessThan",
    "DurationGreaterThanOrEquals",
    "DurationGreaterThan",
    "DurationLessThanOrEquals",
    "DurationLessThan",
    "Equal",
    "NotEqual",
)
"""Every operator name Kyverno knows, spelled as its policy validation wants.

`In` and `NotIn` are deprecated in favour of the Any/All forms, `Equal` and
`NotEqual` are old spellings of `Equals` and `NotEquals`, and the Duration*
operators are deprecated now that the plain ordering operators read
durations too.
"""

_Handler = Callable[[str, Any, Any], bool]


def _ignoring_name(evaluate: Callable[[Any, Any], bool]) -> _Handler:
    return lambda _name, key, value: evaluate(key, value)


# Kyverno looks the handler up by the lower-cased name.
_HANDLERS: dict[str, _Handler] = {
    "equal": _ignoring_name(equality.evaluate_equals),
    "equals": _ignoring_name(equality.evaluate_equals),
    "notequal": _ignoring_name(equality.evaluate_not_equals),
    "notequals": _ignoring_name(equality.evaluate_not_equals),
    "in": _ignoring_name(membership.evaluate_in),
    "notin": _ignoring_name(membership.evaluate_not_in),
    "anyin": _ignoring_name(membership.evaluate_any_in),
    "allin": _ignoring_name(membership.evaluate_all_in),
    "anynotin": _ignoring_name(membership.evaluate_any_not_in),
    "allnotin": _ignoring_name(membership.evaluate_all_not_in),
    "greaterthan": ordering.evaluate_numeric,
    "greaterthanorequals": ordering.evaluate_numeric,
    "lessthan": ordering.evaluate_numeric,
    "lessthanorequals": ordering.evaluate_numeric,
    "durationgreaterthan": ordering.evaluate_duration,
    "durationgreaterthanorequals": ordering.evaluate_duration,
    "durationlessthan": ordering.evaluate_duration,
    "durationlessthanorequals": ordering.evaluate_duration,
}


class UnknownOperatorError(ValueError):
    """A condition names an operator that Kyverno has no handler for."""

    def __init__(self, operator: str) -> None:
        self.operator = operator
        super().__init__(
            f"unknown condition operator {operator!r}; use one of: {', '.join(OPERATORS)}"
        )


def evaluate_operator(operator: str, key: Any, value: Any) -> bool:
    """Decide one condition as Kyverno does, after variable substitution.

    Args:
        operator: The condition's operator. Like Kyverno's engine this
            accepts any letter case, but the ordering operators are only
            ever true when spelled exactly as in `OPERATORS`.
        key: The substituted key: str, int, float, bool, None, list or dict.
            An int is taken as Go's int64 and a float as float64; see
            `operators_go` for which one Kyverno would have.
        value: The substituted value, of the same kinds.

    Raises:
        UnknownOperatorError: For a name that is not in `OPERATORS` in any
            letter case.
    """
    handler = _HANDLERS.get(operator.lower())
    if handler is None:
        raise UnknownOperatorError(operator)
    return handler(operator, key, value)
