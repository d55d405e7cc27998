"""The Kubernetes quantity library: `quantity("1Gi").isGreaterThan(quantity("512Mi"))`.

A quantity travels through CEL as its own text: `quantity(x)` validates it
with the same parser the pattern engine uses (`bot.policy.quantities`), and
each function parses its receiver again. Arithmetic results are written back
as plain decimal text, which reads as the same quantity.

The comparison functions are shared with the semver library, as in
Kubernetes; they compare versions when both sides read as versions.
"""

from __future__ import annotations

from decimal import Decimal

from bot.policy import quantities
from bot.policy.cel import extensions_semver
from bot.policy.cel.signatures import Function, FunctionError, Overload, function, member

_INT64 = (-(2**63), 2**63 - 1)


def quantity(text: str) -> str:
    _require(text)
    return text


def is_quantity(text: str) -> bool:
    return quantities.parse_quantity(text) is not None


def sign(text: str) -> int:
    value = _require(text)
    return (value > 0) - (value < 0)


def is_integer(text: str) -> bool:
    value = _require(text)
    return value == value.to_integral_value() and _INT64[0] <= value <= _INT64[1]


def as_integer(text: str) -> int:
    if not is_integer(text):
        raise FunctionError(f"cannot convert quantity {text!r} to an integer without loss")
    return int(_require(text))


def as_approximate_float(text: str) -> float:
    return float(_require(text))


def add(text: str, other: str | int) -> str:
    return _written(_require(text) + _operand(other))


def sub(text: str, other: str | int) -> str:
    return _written(_require(text) - _operand(other))


def compare_to(left: str, right: str) -> int:
    if _both_versions(left, right):
        return extensions_semver.compare(left, right)
    a, b = _require(left), _require(right)
    return (a > b) - (a < b)


def functions() -> list[Function]:
    arithmetic = [
        Function(
            name,
            (
                Overload(("string", "string"), "string", impl, member=True),
                Overload(("string", "int"), "string", impl, member=True),
            ),
        )
        for name, impl in (("add", add), ("sub", sub))
    ]
    return [
        function("quantity", ("string",), "string", quantity),
        function("isQuantity", ("string",), "bool", is_quantity),
        member("sign", ("string",), "int", sign),
        member("isInteger", ("string",), "bool", is_integer),
        member("asInteger", ("string",), "int", as_integer),
        member("asApproximateFloat", ("string",), "double", as_approximate_float),
        *arithmetic,
        member("compareTo", ("string", "string"), "int", compare_to),
        member("isGreaterThan", ("string", "string"), "bool", lambda a, b: compare_to(a, b) > 0),
        member("isLessThan", ("string", "string"), "bool", lambda a, b: compare_to(a, b) < 0),
    ]


def _require(text: str) -> Decimal:
    value = quantities.parse_quantity(text)
    if value is None:
        raise FunctionError(f"{text!r} is not a quantity like 500m, 1.5 or 2Gi")
    return value


def _operand(other: str | int) -> Decimal:
    return Decimal(other) if isinstance(other, int) else _require(other)


def _written(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if text not in ("-0", "") else "0"


def _both_versions(left: str, right: str) -> bool:
    return extensions_semver.is_semver(left) and extensions_semver.is_semver(right)
