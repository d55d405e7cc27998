"""Kubernetes quantities as Kyverno's arithmetic functions hold and print them.

`bot.policy.quantities.parse_quantity` gives the exact value of a quantity,
which is all a comparison needs. Arithmetic needs more: Kyverno prints each
result in the *format* of its first operand (`12Ki` + `13` prints in binary
units, `1k` + `1` in decimal ones), and two of its operations work on Go's
internal form of the number: division by a number rounds to the larger of
the operands' decimal scales, and quantity/quantity division goes through
`AsApproximateFloat64`. So this module keeps what Kubernetes keeps: an
unscaled integer, a power-of-ten exponent and a format, built along the same
fast and slow paths as `resource.ParseQuantity`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.policy import quantities

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

_MAX_INT64 = 2**63 - 1
_NANO = -9
_DIGITS = frozenset("0123456789")
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_BY_EXPONENT = {exponent: suffix for suffix, exponent in _DECIMAL.items()}
_BINARY_BY_EXPONENT = {exponent: suffix for suffix, exponent in _BINARY.items()}


@dataclass(frozen=True)
class Quantity:
    """`unscaled * 10**exponent`, in the given Kubernetes format."""

    unscaled: int
    exponent: int
    format: str

    @property
    def dec_scale(self) -> int:
        """The scale of Go's `inf.Dec` view of this number (`AsDec().Scale()`)."""
        return -self.exponent

    def is_zero(self) -> bool:
        return self.unscaled == 0

    def approximate_float(self) -> float:
        """Go's `Quantity.AsApproximateFloat64`, rounding step for step."""
        base = float(self.unscaled)
        if self.exponent == 0:
            return base
        return base * _go_pow10(self.exponent)

    def __str__(self) -> str:
        return format_quantity(self.unscaled, self.exponent, self.format)


def parse_quantity(text: str) -> Quantity | None:
    """Parse like `resource.ParseQuantity`; None where it returns an error."""
    if not text:
        return None
    if text == "0":
        return Quantity(0, 0, DECIMAL_SI)
    scanned = quantities.scan_quantity(text)
    if scanned is None:
        return None
    interpreted = _interpret_suffix(scanned.suffix)
    if interpreted is None:
        return None
    base, exponent, fmt = interpreted

    # Fast path: the number fits an int64 at a scale no finer than nano.
    fast = _fast_path(scanned, base=base, exponent=exponent, fmt=fmt)
    if fast is not None:
        return fast
    return _slow_path(scanned, base=base, exponent=exponent, fmt=fmt)


def _interpret_suffix(suffix: str) -> tuple[int, int, str] | None:
    """(base, exponent, format) of a suffix, the format as Kubernetes infers it."""
    found = quantities.interpret_suffix(suffix)
    if found is None:
        return None
    base, exponent = found
    if base == 2:
        return base, exponent, BINARY_SI
    return base, exponent, DECIMAL_SI if suffix in _DECIMAL else DECIMAL_EXPONENT


def _fast_path(
    scanned: quantities.ScannedQuantity, *, base: int, exponent: int, fmt: str
) -> Quantity | None:
    mantissa, scale = 1, exponent
    if base == 10:
        precision = 18 - (len(scanned.whole) + len(scanned.fraction))
    elif exponent >= 0 and not scanned.fraction:
        scale, mantissa = 0, 1 << exponent
        precision = 15 - len(scanned.whole) - int(exponent * 3 / 10) - 1
    else:
        return None
    if precision < 0:
        return None
    scale -= len(scanned.fraction)
    if scale < _NANO:
        return None
    value = int(scanned.whole + scanned.fraction) * mantissa
    if value > _MAX_INT64:
        return None
    return Quantity(-value if scanned.negative else value, scale, fmt)


def _slow_path(
    scanned: quantities.ScannedQuantity, *, base: int, exponent: int, fmt: str
) -> Quantity | None:
    # The written number is re-read as an arbitrary-precision decimal.
    body = scanned.written.lstrip("+-")
    whole, _, fraction = body.partition(".")
    if not (whole + fraction) or not set(whole + fraction) <= _DIGITS:
        return None
    magnitude, scale = int(whole + fraction), len(fraction)
    if base == 10:
        scale -= exponent
    else:
        magnitude <<= exponent

    # Non-zero values are rounded away from zero to whole nano-units, which
    # also leaves Go's decimal at scale 9.
    if magnitude:
        if scale > -_NANO:
            kept, dropped = divmod(magnitude, 10 ** (scale + _NANO))
            magnitude = kept + (1 if dropped else 0)
        else:
            magnitude *= 10 ** (-_NANO - scale)
        scale = -_NANO
    if fmt == BINARY_SI and magnitude > _MAX_INT64 * 10**scale:
        magnitude, scale = _MAX_INT64, 0
    if fmt == BINARY_SI and 0 < magnitude < 10**scale:
        fmt = DECIMAL_SI
    return Quantity(-magnitude if scanned.negative else magnitude, -scale, fmt)


def format_quantity(unscaled: int, exponent: int, fmt: str) -> str:
    """Kubernetes' canonical text for `unscaled * 10**exponent` in a format.

    NB: where the exponent has no SI suffix (finer than nano, beyond exa, or
    beyond Ei in binary) Kubernetes prints the digits with no suffix at all.
    That misprint is kept so that results match what Kyverno reports.
    """
    if unscaled == 0:
        return "0"
    sign = "-" if unscaled < 0 else ""
    magnitude = abs(unscaled)

    # Binary output needs a whole number of at least 1024.
    if fmt == BINARY_SI:
        whole = _whole_value(magnitude, exponent)
        if whole is not None and whole >= 1024:
            times = 0
            while whole % 1024 == 0:
                whole //= 1024
                times += 1
            return f"{sign}{whole}{_BINARY_BY_EXPONENT.get(times * 10, '')}"
        fmt = DECIMAL_SI

    # Decimal output: strip factors of ten, then step down to a multiple of 3.
    while magnitude % 10 == 0:
        magnitude //= 10
        exponent += 1
    while exponent % 3:
        magnitude *= 10
        exponent -= 1
    if fmt == DECIMAL_EXPONENT:
        suffix = f"e{exponent}" if exponent else ""
    else:
        suffix = _DECIMAL_BY_EXPONENT.get(exponent, "")
    return f"{sign}{magnitude}{suffix}"


def _whole_value(magnitude: int, exponent: int) -> int | None:
    if exponent >= 0:
        return magnitude * int(10**exponent)
    whole, rest = divmod(magnitude, int(10**-exponent))
    return None if rest else whole


def _go_pow10(exponent: int) -> float:
    """Go's `math.Pow10`, whose table lookups round differently from `10.0**n`."""
    if 0 <= exponent <= 308:
        return float(f"1e{exponent // 32 * 32}") * float(f"1e{exponent % 32}")
    if -323 <= exponent < 0:
        return float(f"1e-{-exponent // 32 * 32}") / float(f"1e{-exponent % 32}")
    return float("inf") if exponent > 0 else 0.0
