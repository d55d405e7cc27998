"""Go's `time.Duration`: reading, printing and its int64 arithmetic.

Durations are whole nanoseconds in an int64. Reading follows
`time.ParseDuration` (shared with the condition operators through
`bot.policy.quantities`); printing follows `Duration.String`, which is where
Kyverno's `1h30m0s` style comes from. Go lets duration sums wrap around and
turns out-of-range floats into the minimum int64; both are kept, because the
goal is to print what Kyverno prints.
"""

from __future__ import annotations

import math

from bot.policy import quantities

MIN_INT64 = -(2**63)
MAX_INT64 = 2**63 - 1
SECOND = 1_000_000_000


def parse_duration(text: str) -> int | None:
    """Nanoseconds in a Go duration such as `1h30m`, or None if Go rejects it."""
    if not text:
        return None
    return quantities.parse_duration_ns(text)


def invalid_duration(text: str) -> str:
    """Go's error text for a duration it cannot read."""
    return f'time: invalid duration "{text}"'


def wrap(nanoseconds: int) -> int:
    """Two's-complement wrap-around, as Go's int64 arithmetic does."""
    return (nanoseconds - MIN_INT64) % 2**64 + MIN_INT64


def saturate(nanoseconds: int) -> int:
    """Clamp to the int64 range, as Go's `Time.Sub` does."""
    return max(MIN_INT64, min(MAX_INT64, nanoseconds))


def from_float(nanoseconds: float) -> int:
    """Go's `time.Duration(f)` conversion: truncation toward zero.

    NB: Go leaves out-of-range conversions undefined; on amd64, where Kyverno
    runs, they give the minimum int64, and so does this.
    """
    if not math.isfinite(nanoseconds) or not MIN_INT64 <= nanoseconds < 2**63:
        return MIN_INT64
    return int(nanoseconds)


def to_seconds(nanoseconds: int) -> float:
    """Go's `Duration.Seconds`: whole seconds plus the rest, each as a float."""
    whole = abs(nanoseconds) // SECOND
    if nanoseconds < 0:
        whole = -whole
    rest = nanoseconds - whole * SECOND
    return float(whole) + float(rest) / 1e9


def format_duration(nanoseconds: int) -> str:
    """Go's `Duration.String`: `1h30m0s`, `1.5s`, `250ms`, `0s`."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    magnitude = abs(nanoseconds)

    # Below one second Go switches to the largest unit that keeps digits whole.
    if magnitude < SECOND:
        if magnitude < 1_000:
            return f"{sign}{magnitude}ns"
        if magnitude < 1_000_000:
            return f"{sign}{_with_fraction(magnitude, 3)}\u00b5s"
        return f"{sign}{_with_fraction(magnitude, 6)}ms"

    # From one second up: seconds always, minutes and hours once they exist.
    seconds_text = _with_fraction(magnitude % (60 * SECOND), 9)
    minutes = magnitude // (60 * SECOND)
    if not minutes:
        return f"{sign}{seconds_text}s"
    hours, minutes = divmod(minutes, 60)
    hours_text = f"{hours}h" if hours else ""
    return f"{sign}{hours_text}{minutes}m{seconds_text}s"


def _with_fraction(value: int, digits: int) -> str:
    """`value / 10**digits` with trailing fraction zeros (and point) dropped."""
    whole, fraction = divmod(value, 10**digits)
    fraction_text = f"{fraction:0{digits}d}".rstrip("0")
    return f"{whole}.{fraction_text}" if fraction_text else str(whole)
