"""JMESPath functions add, sum, subtract, multiply, divide, modulo and round.

The type rules live in `arithmetic`; this module checks arity and types the
way Kyverno's function table declares them and reports errors with Kyverno's
wording ("JMESPath function 'divide': Zero divisor passed").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from bot.policy.jmespath import arithmetic, values
from bot.policy.jmespath.errors import FunctionError
from bot.policy.jmespath.signatures import ANY, ARRAY, NUMBER, signature

_Operation = Callable[[arithmetic.Operand, arithmetic.Operand, str], Any]


def _apply(operation: _Operation, left: Any, right: Any, function: str) -> Any:
    return operation(
        arithmetic.parse_operand(left, function),
        arithmetic.parse_operand(right, function),
        function,
    )


class ArithmeticFunctions:
    """Mixin for `KyvernoFunctions`; the `_func_` prefix registers each one."""

    @signature(ANY, ANY)
    def _func_add(self, left: Any, right: Any) -> Any:
        return _apply(arithmetic.add, left, right, "add")

    @signature(ARRAY)
    def _func_sum(self, items: list[Any]) -> Any:
        if not items:
            raise FunctionError("sum", "at least one element in the array is required")
        # NB: a single item comes back untouched, whatever its type, as in
        # Kyverno; only the additions look at the operands.
        result = items[0]
        for item in items[1:]:
            result = _apply(arithmetic.add, result, item, "sum")
        return result

    @signature(ANY, ANY)
    def _func_subtract(self, left: Any, right: Any) -> Any:
        return _apply(arithmetic.subtract, left, right, "subtract")

    @signature(ANY, ANY)
    def _func_multiply(self, left: Any, right: Any) -> Any:
        return _apply(arithmetic.multiply, left, right, "multiply")

    @signature(ANY, ANY)
    def _func_divide(self, left: Any, right: Any) -> Any:
        return _apply(arithmetic.divide, left, right, "divide")

    @signature(ANY, ANY)
    def _func_modulo(self, left: Any, right: Any) -> Any:
        return _apply(arithmetic.modulo, left, right, "modulo")

    @signature(NUMBER, NUMBER)
    def _func_round(self, value: float, places: float) -> int | float:
        try:
            digits = values.int_number(places)
        except ValueError:
            raise FunctionError("round", "Non-integer argument(s) passed for round off") from None
        if digits < 0:
            raise FunctionError("round", "argument #2 is out of bounds")
        shift = 10.0**digits
        return values.normalize_number(_round_half_away(value * shift) / shift)


def _round_half_away(number: float) -> float:
    """Go's `math.Round`; Python's `round` would round half to even."""
    if not math.isfinite(number):
        return number
    whole = math.trunc(number)
    if abs(number - whole) >= 0.5:
        whole += 1 if number > 0 else -1
    return float(whole)
