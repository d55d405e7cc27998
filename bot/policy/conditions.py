"""`preconditions` and `deny.conditions`: any/all blocks of key-operator-value.

Each condition's key and value go through variable substitution first; the
operator then compares plain values (bot.policy.operators). A variable that
cannot be resolved makes the whole block an error, as in Kyverno, which
reports the rule as `error` rather than guessing a verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.policy.contexts import ContextError, EvaluationContext
from bot.policy.variables import SubstitutionError

# NB: the operators, and the JMESPath package they load, are imported where
# a condition is evaluated: a check against policies without conditions then
# never pays for loading them.


class ConditionError(Exception):
    """A condition could not be evaluated; the message says which part failed."""


def evaluate(conditions: Any, context: EvaluationContext) -> tuple[bool, str]:
    """Whether the block holds, and the messages of the conditions that decided it.

    Accepts the `{any: [...], all: [...]}` form and the legacy bare list of
    conditions.
    """
    if conditions is None:
        return True, ""
    if isinstance(conditions, Mapping):
        return _evaluate_any_all(conditions, context)
    if isinstance(conditions, list):
        # NB: Kyverno reads any list as legacy conditions (api/kyverno/v1/wrappers.go);
        # a list of any/all blocks then fails for want of an operator, as there.
        return _evaluate_all(conditions, context, separator=";")
    raise ConditionError(f"conditions must be a mapping or a list, got {type(conditions).__name__}")


def _evaluate_any_all(block: Mapping[str, Any], context: EvaluationContext) -> tuple[bool, str]:
    true_messages: list[str] = []
    false_messages: list[str] = []
    any_holds = True
    any_conditions = block.get("any")
    if any_conditions is not None:
        any_holds = False
        for condition in _as_list(any_conditions, "any"):
            holds, message = _evaluate_one(condition, context)
            if holds:
                any_holds = True
                true_messages.append(message)
                break
            false_messages.append(message)
    all_holds = True
    for condition in _as_list(block.get("all") or [], "all"):
        holds, message = _evaluate_one(condition, context)
        if not holds:
            all_holds = False
            false_messages.append(message)
            break
        true_messages.append(message)
    if any_holds and all_holds:
        return True, "; ".join(m for m in true_messages if m)
    return False, "; ".join(m for m in false_messages if m)


def _evaluate_all(
    conditions: Sequence[Any], context: EvaluationContext, *, separator: str
) -> tuple[bool, str]:
    messages: list[str] = []
    for condition in conditions:
        holds, message = _evaluate_one(condition, context)
        if not holds:
            return False, message
        messages.append(message)
    return True, separator.join(m for m in messages if m)


def _evaluate_one(condition: Any, context: EvaluationContext) -> tuple[bool, str]:
    from bot.policy import operators
    from bot.policy.jmespath import JMESPathError

    if not isinstance(condition, Mapping):
        raise ConditionError(f"a condition must be a mapping, got {type(condition).__name__}")
    try:
        key = context.substitute(condition.get("key"))
    except (SubstitutionError, ContextError, JMESPathError) as error:
        raise ConditionError(f"failed to substitute variables in condition key: {error}") from error
    try:
        value = context.substitute(condition.get("value"))
    except (SubstitutionError, ContextError, JMESPathError) as error:
        raise ConditionError(
            f"failed to substitute variables in condition value: {error}"
        ) from error
    operator = str(condition.get("operator") or "")
    try:
        holds = operators.evaluate_operator(operator, key, value)
    except operators.UnknownOperatorError as error:
        raise ConditionError(str(error)) from error
    return holds, str(condition.get("message") or "")


def _as_list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConditionError(f"{name} must be a list of conditions")
    return value
