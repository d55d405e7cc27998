"""Kubernetes quantities and Go durations, read the way Kyverno reads them.

Kyverno compares `100Mi`, `500m` or `1h30m` by handing the text to the
Kubernetes quantity parser and to Go's `time.ParseDuration`. Both accept a
few surprising inputs (a bare `-` or `Mi` is the quantity zero, `.5` is a
quantity but `1.5` without a unit is no duration), and a verdict turns on
them, so this module follows those two parsers character by character
instead of using a friendlier grammar. Comparing the parsed values is left to
`values`, which knows the operators.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

_MAX_INT64 = 2**63 - 1
_NANO_EXPONENT = -9
_DIGITS = frozenset("0123456789")

# NB: the scanner accepts any run of these letters; whether the run is a real
# suffix is decided afterwards, exactly as the Kubernetes parser does it.
_SUFFIX_LETTERS = frozenset("eEinumkKMGTP")
_DECIMAL_SUFFIXES = {
    "": 0,
    "n": -9,
    "u": -6,
    "m": -3,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}

_NANOSECONDS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek small letter mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}


@dataclass(frozen=True)
class ScannedQuantity:
    negative: bool
    written: str
    """Sign, digits and point as written; the slow path re-reads this text."""
    whole: str
    fraction: str
    suffix: str


def parse_quantity(text: str) -> Decimal | None:
    """Read a Kubernetes quantity such as `250m`, `1.5Gi` or `2e3`.

    Returns the exact value that the Kubernetes parser keeps, including its
    rounding of anything finer than a nano-unit away from zero and its cap of
    binary quantities at the int64 maximum, or None where that parser fails.
    """
    if not text:
        return None
    if text == "0":
        return Decimal(0)
    scanned = scan_quantity(text)
    if scanned is None:
        return None
    suffix = interpret_suffix(scanned.suffix)
    if suffix is None:
        return None
    base, exponent = suffix

    # The parser tries an int64 fast path and otherwise re-reads the written
    # number as a decimal; only the second can fail, on text with no digits.
    fast = _takes_fast_path(scanned, base=base, exponent=exponent)
    if not fast and not any(char in _DIGITS for char in scanned.written):
        return None

    # NB: Decimals are built from text and never through arithmetic, which
    # would round them to the context's 28 digits.
    digits = int(scanned.whole + scanned.fraction)
    if base == 2:
        magnitude = Decimal(f"{digits << exponent}E-{len(scanned.fraction)}")
    else:
        magnitude = Decimal(f"{digits}E{exponent - len(scanned.fraction)}")
    magnitude = _round_up_to_nano(magnitude)
    if base == 2 and magnitude > _MAX_INT64:
        magnitude = Decimal(_MAX_INT64)
    return magnitude.copy_negate() if scanned.negative else magnitude


def scan_quantity(text: str) -> ScannedQuantity | None:
    """Split a non-empty quantity into sign, digits and suffix as Kubernetes does.

    None when characters follow the suffix; the suffix itself is checked by
    `interpret_suffix`.
    """
    end = len(text)
    pos = 0
    negative = False
    if text[0] in "+-":
        negative = text[0] == "-"
        pos = 1

    # Leading zeros are dropped; nothing but zeros (or nothing at all after a
    # sign) reads as the number zero.
    while pos < end and text[pos] == "0":
        pos += 1
    if pos >= end:
        return ScannedQuantity(negative, "0", "0", "", "")

    start = pos
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    whole = text[start:pos] or "0"
    if pos >= end:
        return ScannedQuantity(negative, text, whole, "", "")

    fraction = ""
    if text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos] in _DIGITS:
            pos += 1
        fraction = text[start:pos]
        if pos >= end:
            return ScannedQuantity(negative, text, whole, fraction, "")
    written = text[:pos]

    # The suffix is a run of suffix letters, then an optional signed integer.
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_LETTERS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        return None
    return ScannedQuantity(negative, written, whole, fraction, text[suffix_start:])


def interpret_suffix(suffix: str) -> tuple[int, int] | None:
    """Map a suffix to (base, exponent): `Mi` is (2, 20), `e3` is (10, 3)."""
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix]
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix]
    if len(suffix) > 1 and suffix[0] in "eE":
        exponent = parse_go_int(suffix[1:])
        if exponent is None:
            return None
        # NB: Kubernetes stores the exponent in an int32 and lets it wrap.
        return 10, (exponent + 2**31) % 2**32 - 2**31
    return None


def _takes_fast_path(scanned: ScannedQuantity, *, base: int, exponent: int) -> bool:
    digits = len(scanned.whole) + len(scanned.fraction)
    if base == 10:
        return digits <= 18 and exponent - len(scanned.fraction) >= _NANO_EXPONENT
    if scanned.fraction:
        return False
    # Mirrors the parser's own precision estimate for binary suffixes.
    precision = 15 - len(scanned.whole) - int(exponent * 3 / 10) - 1
    return precision >= 0 and (int(scanned.whole) << exponent) <= _MAX_INT64


def _round_up_to_nano(magnitude: Decimal) -> Decimal:
    """Round a non-negative value up to whole nano-units, as Kubernetes does."""
    _, digit_tuple, exponent = magnitude.as_tuple()
    if not isinstance(exponent, int) or exponent >= _NANO_EXPONENT:
        return magnitude
    digits = int("".join(map(str, digit_tuple)))
    dropped = _NANO_EXPONENT - exponent
    if dropped > len(digit_tuple):
        kept, rest = 0, digits
    else:
        kept, rest = divmod(digits, 10**dropped)
    if rest:
        kept += 1
    return Decimal(f"{kept}E{_NANO_EXPONENT}")


def parse_go_int(text: str) -> int | None:
    """Read a base-10 int64 the way Go's strconv.ParseInt(text, 10, 64) does."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or any(char not in _DIGITS for char in body):
        return None
    value = int(text)
    if not -(2**63) <= value <= _MAX_INT64:
        return None
    return value


def parse_duration(text: str) -> float | None:
    """Read a Go duration such as `90s`, `1h30m` or `-1.5h`, in seconds."""
    nanoseconds = parse_duration_ns(text)
    if nanoseconds is None:
        return None
    return nanoseconds / 1e9


def parse_duration_ns(text: str) -> int | None:
    """Read a Go duration in whole nanoseconds, or None where Go rejects it.

    Comparisons use this exact integer, never the float seconds.
    """
    rest = text
    negative = False
    if rest[:1] in ("+", "-"):
        negative = rest[0] == "-"
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        return None

    total = 0
    while rest:
        parsed = _parse_duration_term(rest)
        if parsed is None:
            return None
        amount, rest = parsed
        total += amount
        if total > 2**63:
            return None
    if negative:
        return -total
    return total if total <= _MAX_INT64 else None


def _parse_duration_term(text: str) -> tuple[int, str] | None:
    """Read one `<number><unit>` term; return its nanoseconds and the rest."""
    if not (text[0] == "." or text[0] in _DIGITS):
        return None

    # Integer part; Go gives up as soon as it would pass 2**63.
    pos = 0
    whole = 0
    while pos < len(text) and text[pos] in _DIGITS:
        if whole > 2**63 // 10:
            return None
        whole = whole * 10 + int(text[pos])
        if whole > 2**63:
            return None
        pos += 1
    has_whole = pos > 0

    # Fraction part; digits beyond int64 precision are read and ignored.
    fraction, scale, has_fraction = 0, 1.0, False
    if pos < len(text) and text[pos] == ".":
        pos += 1
        start, overflowed = pos, False
        while pos < len(text) and text[pos] in _DIGITS:
            if not overflowed:
                bigger = fraction * 10 + int(text[pos])
                if fraction > _MAX_INT64 // 10 or bigger > 2**63:
                    overflowed = True
                else:
                    fraction, scale = bigger, scale * 10
            pos += 1
        has_fraction = pos > start
    if not (has_whole or has_fraction):
        return None

    # The unit is everything up to the next digit or point.
    start = pos
    while pos < len(text) and not (text[pos] == "." or text[pos] in _DIGITS):
        pos += 1
    unit = _NANOSECONDS.get(text[start:pos])
    if unit is None or whole > 2**63 // unit:
        return None
    amount = whole * unit
    if fraction:
        # Go does this step in float64, so it is done in a float here as well.
        amount += int(float(fraction) * (float(unit) / scale))
        if amount > 2**63:
            return None
    return amount, text[pos:]
