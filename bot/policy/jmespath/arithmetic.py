"""Kyverno's arithmetic on numbers, quantities and durations (arithmetic.go).

An operand is a JSON number (a *scalar*), or a string that reads as a
Kubernetes quantity (tried first, so `1m` is a milli-quantity, never a
minute) or else as a Go duration. The result type follows Kyverno's table:

    quantity +/- quantity -> quantity     duration +/- duration -> duration
    quantity * scalar     -> quantity     duration * scalar     -> duration
    quantity / quantity   -> scalar       duration / duration   -> scalar
    quantity / scalar     -> quantity     duration / scalar     -> duration
    quantity % quantity   -> quantity     duration % duration   -> duration
    scalar (op) scalar    -> scalar       any other pairing     -> "Types mismatch"

Quantities print in the format of the left operand (of the quantity, for
scalar * quantity) and durations print as Go does (`1h30m0s`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from bot.policy.jmespath import durations, kube_quantities, values
from bot.policy.jmespath.errors import FunctionError
from bot.policy.jmespath.kube_quantities import Quantity


@dataclass(frozen=True)
class Duration:
    nanoseconds: int


Operand = int | float | Quantity | Duration


def parse_operand(value: Any, function: str) -> Operand:
    """Classify an argument as scalar, quantity or duration (in that order)."""
    if values.is_number(value):
        number: int | float = value
        return number
    if isinstance(value, str):
        quantity = kube_quantities.parse_quantity(value)
        if quantity is not None:
            return quantity
        nanoseconds = durations.parse_duration(value)
        if nanoseconds is not None:
            return Duration(nanoseconds)
    raise FunctionError(function, "invalid operand")


def _mismatch(function: str) -> FunctionError:
    return FunctionError(function, "Types mismatch")


def _zero_divisor(function: str) -> FunctionError:
    return FunctionError(function, "Zero divisor passed")


def add(left: Operand, right: Operand, function: str) -> Any:
    return _add_or_subtract(left, right, function, sign=1)


def subtract(left: Operand, right: Operand, function: str) -> Any:
    return _add_or_subtract(left, right, function, sign=-1)


def _add_or_subtract(left: Operand, right: Operand, function: str, *, sign: int) -> Any:
    if isinstance(left, Quantity) and isinstance(right, Quantity):
        exponent = min(left.exponent, right.exponent)
        unscaled = left.unscaled * 10 ** (left.exponent - exponent) + sign * (
            right.unscaled * 10 ** (right.exponent - exponent)
        )
        # NB: a zero left operand hands its format over to the right one.
        fmt = right.format if left.is_zero() else left.format
        return kube_quantities.format_quantity(unscaled, exponent, fmt)
    if isinstance(left, Duration) and isinstance(right, Duration):
        total = durations.wrap(left.nanoseconds + sign * right.nanoseconds)
        return durations.format_duration(total)
    if isinstance(left, int | float) and isinstance(right, int | float):
        return values.normalize_number(left + sign * right)
    raise _mismatch(function)


def multiply(left: Operand, right: Operand, function: str) -> Any:
    # Scalar * x is computed as x * scalar, so the format is the quantity's.
    if isinstance(left, int | float) and not isinstance(right, int | float):
        left, right = right, left
    if not isinstance(right, int | float):
        raise _mismatch(function)
    factor = right
    if isinstance(left, Quantity):
        scalar = _scalar_as_quantity(factor, function)
        return kube_quantities.format_quantity(
            left.unscaled * scalar.unscaled, left.exponent + scalar.exponent, left.format
        )
    if isinstance(left, Duration):
        seconds = durations.to_seconds(left.nanoseconds) * float(factor)
        return durations.format_duration(durations.from_float(seconds * durations.SECOND))
    return values.normalize_number(left * factor)


def divide(left: Operand, right: Operand, function: str) -> Any:
    if isinstance(left, Quantity) and isinstance(right, Quantity):
        divisor = right.approximate_float()
        if divisor == 0:
            raise _zero_divisor(function)
        return values.normalize_number(left.approximate_float() / divisor)
    if isinstance(left, Duration) and isinstance(right, Duration):
        divisor = durations.to_seconds(right.nanoseconds)
        if divisor == 0:
            raise _zero_divisor(function)
        return values.normalize_number(durations.to_seconds(left.nanoseconds) / divisor)
    if not isinstance(right, int | float):
        raise _mismatch(function)
    number = right
    if number == 0:
        raise _zero_divisor(function)
    if isinstance(left, Quantity):
        return _divide_quantity(left, number, function)
    if isinstance(left, Duration):
        seconds = durations.to_seconds(left.nanoseconds) / float(number)
        return durations.format_duration(durations.from_float(seconds * durations.SECOND))
    return values.normalize_number(left / number)


def _divide_quantity(left: Quantity, number: float, function: str) -> str:
    """Quantity / scalar, truncated at the finer of the two decimal scales."""
    divisor = _scalar_as_quantity(number, function)
    scale = max(left.dec_scale, divisor.dec_scale)
    quotient = (
        Fraction(left.unscaled)
        * Fraction(10) ** left.exponent
        / (Fraction(divisor.unscaled) * Fraction(10) ** divisor.exponent)
        * Fraction(10) ** scale
    )
    return kube_quantities.format_quantity(int(quotient), -scale, left.format)


def modulo(left: Operand, right: Operand, function: str) -> Any:
    if isinstance(left, Quantity) and isinstance(right, Quantity):
        dividend = _whole(left.approximate_float(), function)
        divisor = _whole(right.approximate_float(), function)
        if divisor == 0:
            raise _zero_divisor(function)
        return kube_quantities.format_quantity(_go_remainder(dividend, divisor), 0, left.format)
    if isinstance(left, Duration) and isinstance(right, Duration):
        if right.nanoseconds == 0:
            raise _zero_divisor(function)
        remainder = _go_remainder(left.nanoseconds, right.nanoseconds)
        return durations.format_duration(remainder)
    if isinstance(left, int | float) and isinstance(right, int | float):
        dividend = _whole(left, function)
        divisor = _whole(right, function)
        if divisor == 0:
            raise _zero_divisor(function)
        return _go_remainder(dividend, divisor)
    raise _mismatch(function)


def _whole(number: float, function: str) -> int:
    """Go's `int64(f)` round trip check used by modulo."""
    if isinstance(number, int) and -(2**63) <= number < 2**63:
        return number
    if not math.isfinite(number) or not number.is_integer() or abs(number) >= 2**63:
        raise FunctionError(function, "Non-integer argument(s) passed for modulo")
    return int(number)


def _go_remainder(dividend: int, divisor: int) -> int:
    """Go's `%`: the remainder takes the sign of the dividend."""
    remainder = abs(dividend) % abs(divisor)
    return -remainder if dividend < 0 else remainder


def _scalar_as_quantity(number: float, function: str) -> Quantity:
    # Kyverno prints the number with %v and parses that text as a quantity.
    quantity = kube_quantities.parse_quantity(values.go_format_g(number))
    if quantity is None:
        raise FunctionError(function, f"cannot read {values.go_format_g(number)} as a quantity")
    return quantity
