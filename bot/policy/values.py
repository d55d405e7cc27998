"""Matching one scalar from a resource against one value from a pattern.

This is the leaf of Kyverno's `validate.pattern` language: `"?*"`,
`">=100Mi"`, `"1-10"`, `"!*:latest | *:v1"` and plain `true` or `3` all end
up here. The walk over maps and lists, and the anchors, live in `patterns`.

Values are taken as a JSON decoder hands them over, which is also how
Kyverno sees them: a Python int is Go's int64, a float is float64, a
Mapping is an object and a list or tuple is an array. Kyverno converts
between these types in particular ways (the string `"1.0"` equals the
number `1`, a float is printed as `1.5E+00` before a wildcard test), and
this module repeats each conversion rather than tidying it up.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from bot.policy import quantities

# The characters Go's strings.TrimSpace removes; str.strip() also drops a few
# control characters that Go keeps.
_GO_WHITESPACE = (
    "\t\n\v\f\r \x85\xa0\u1680"
    + "".join(chr(code) for code in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)

_INT64_RANGE = range(-(2**63), 2**63)

# Operators as Kyverno spots them, longest first; "" means equality.
_PREFIX_OPERATORS = (">=", "<=", ">", "<", "!")
_RANGE_END = r"[-|+]?[0-9]+(?:\.[0-9]+)?[A-Za-z]*"
_IN_RANGE = re.compile(f"({_RANGE_END})-({_RANGE_END})")
_NOT_IN_RANGE = re.compile(f"({_RANGE_END})!-({_RANGE_END})")

_VERDICTS: dict[str, Callable[[int], bool]] = {
    "": lambda order: order == 0,
    "!": lambda order: order != 0,
    ">": lambda order: order > 0,
    "<": lambda order: order < 0,
    ">=": lambda order: order >= 0,
    "<=": lambda order: order <= 0,
}

# Go's ParseFloat: decimal digits may be split by single underscores, and hex
# mantissas need a binary exponent.
_DEC_DIGITS = r"[0-9](?:_?[0-9])*"
_HEX_DIGITS = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_GO_DECIMAL_FLOAT = re.compile(
    rf"[+-]?(?:{_DEC_DIGITS}(?:\.(?:{_DEC_DIGITS})?)?|\.{_DEC_DIGITS})"
    rf"(?:[eE][+-]?{_DEC_DIGITS})?"
)
_GO_HEX_FLOAT = re.compile(
    rf"[+-]?0[xX](?:_?{_HEX_DIGITS}(?:\.(?:{_HEX_DIGITS})?)?|\.{_HEX_DIGITS})"
    rf"[pP][+-]?{_DEC_DIGITS}"
)
_GO_SPECIAL_FLOAT = re.compile(r"[+-]?(?:inf|infinity)|nan", re.IGNORECASE)


def value_matches(value: Any, pattern: Any) -> bool:
    """Tell whether one resource value satisfies one pattern value.

    Follows Kyverno's pattern.Validate: a bool pattern wants that bool, a
    number wants an equal number (or a string that parses to one), None
    wants a zero value, a mapping wants any mapping, and a string pattern is
    the small language of wildcards, operators, ranges, `|` and `&`.
    """
    value = _as_json(value)
    pattern = _as_json(pattern)
    if isinstance(pattern, bool):
        return isinstance(value, bool) and value == pattern
    if isinstance(pattern, int):
        return _matches_int(value, pattern)
    if isinstance(pattern, float):
        return _matches_float(value, pattern)
    if pattern is None:
        return _is_zero(value)
    if isinstance(pattern, Mapping):
        # Kyverno only checks that an object is there, not what it holds.
        return isinstance(value, Mapping)
    if isinstance(pattern, str):
        return _matches_string_pattern(value, pattern)
    return False


def match_wildcard(pattern: str, text: str) -> bool:
    """Glob match where `*` is any run of characters and `?` exactly one."""
    if pattern == "*":
        return True
    return _wildcard_regex(pattern).fullmatch(text) is not None


def contains_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


def trim_space(text: str) -> str:
    return text.strip(_GO_WHITESPACE)


@lru_cache(maxsize=1024)
def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(_wildcard_source(pattern), re.DOTALL)


def _wildcard_source(pattern: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def _as_json(value: Any) -> Any:
    """Give a value the type a Go JSON decoder would have produced."""
    if isinstance(value, int) and not isinstance(value, bool) and value not in _INT64_RANGE:
        return float(value)
    return value


def _matches_int(value: Any, pattern: int) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value == pattern
    if isinstance(value, float):
        return math.isfinite(value) and value.is_integer() and int(value) == pattern
    if isinstance(value, str):
        return quantities.parse_go_int(value) == pattern
    return False


def _matches_float(value: Any, pattern: float) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return pattern.is_integer() and int(pattern) == value
    if isinstance(value, float):
        return value == pattern
    if isinstance(value, str):
        return parse_go_float(value) == pattern
    return False


def _is_zero(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, str):
        return value == ""
    return False


def _matches_string_pattern(value: Any, pattern: str) -> bool:
    if isinstance(value, str) and value == pattern:
        return True
    read = _read_string_pattern(pattern)
    if read.text_regex is not None and isinstance(value, str):
        return read.text_regex.fullmatch(value) is not None
    return any(all(_matches_condition(value, term) for term in option) for option in read.options)


@dataclass(frozen=True)
class _StringPattern:
    options: tuple[tuple[str, ...], ...]
    """The `|` alternatives, each split into its `&` terms."""
    text_regex: re.Pattern[str] | None
    """The whole pattern as one regex, where that gives the same answer for
    any string value; see `_text_regex`."""


# Cached because a rule's patterns meet every resource; the answer depends on
# the pattern text alone and is never changed, so sharing it is safe.
@lru_cache(maxsize=4096)
def _read_string_pattern(pattern: str) -> _StringPattern:
    # `|` binds looser than `&`: "a & b | c" is (a and b) or c.
    options = tuple(
        tuple(term.strip(" ") for term in option.strip(" ").split("&"))
        for option in pattern.split("|")
    )
    return _StringPattern(options, _text_regex(options))


def _text_regex(options: tuple[tuple[str, ...], ...]) -> re.Pattern[str] | None:
    """One regex for patterns like `*PASSWORD*|*secret*` against string values.

    A term with no operator whose operand reads as neither a duration nor a
    quantity is only ever a wildcard test on the text, so a pattern made of
    such terms alone, one per alternative, is their alternation. Only ASCII
    terms without digits are read here, as reading those cannot fail; any
    other term is left to the term-by-term path, which reads it only when
    the alternatives before it did not match, so that an error arises only
    where it always did.
    """
    sources: list[str] = []
    for option in options:
        term = option[0]
        if len(option) != 1 or not term.isascii() or any(char.isdigit() for char in term):
            return None
        condition = _read_condition(term)
        if condition.operator or condition.duration is not None or condition.quantity is not None:
            return None
        sources.append(_wildcard_source(condition.operand))
    return re.compile("|".join(f"(?:{source})" for source in sources), re.DOTALL)


def operator_of(condition: str) -> str:
    """Name the operator that opens a condition, as Kyverno detects it.

    One of ">=", "<=", ">", "<", "!" (not equal), "-" (within a range),
    "!-" (outside a range), or "" for plain equality.
    """
    if len(condition.encode()) < 2:
        return ""
    for operator in _PREFIX_OPERATORS:
        if condition.startswith(operator):
            return operator
    if _NOT_IN_RANGE.fullmatch(condition):
        return "!-"
    if _IN_RANGE.fullmatch(condition):
        return "-"
    return ""


def _matches_condition(value: Any, condition: str) -> bool:
    return _holds(value, _read_condition(condition))


@dataclass(frozen=True)
class _Condition:
    """One term of a string pattern, read once: `>= 100Mi`, `1-10`, `*:x`."""

    operator: str
    operand: str
    duration: int | None
    """The operand as a Go duration in nanoseconds, where it reads as one."""
    quantity: Decimal | None
    """The operand as a Kubernetes quantity, where it reads as one."""
    bounds: tuple[str, str] | None = None
    """For the range operators: the two one-sided conditions they stand for.

    Kept as text and read only when needed, as before: reading a bound can
    fail, and the second one must not be read when the first decides.
    """


# Cached for the same reason as `_read_string_pattern`; a _Condition is frozen.
@lru_cache(maxsize=4096)
def _read_condition(condition: str) -> _Condition:
    operator = operator_of(condition)
    if operator == "-":
        low, high = _range_ends(_IN_RANGE, condition)
        return _Condition(operator, "", None, None, (f">= {low}", f"<= {high}"))
    if operator == "!-":
        low, high = _range_ends(_NOT_IN_RANGE, condition)
        return _Condition(operator, "", None, None, (f"< {low}", f"> {high}"))
    operand = trim_space(condition[len(operator) :])
    return _Condition(
        operator, operand, quantities.parse_duration_ns(operand), quantities.parse_quantity(operand)
    )


def _holds(value: Any, condition: _Condition) -> bool:
    if condition.bounds is not None:
        low, high = condition.bounds
        if condition.operator == "-":
            return _matches_condition(value, low) and _matches_condition(value, high)
        return _matches_condition(value, low) or _matches_condition(value, high)

    # Kyverno tries a duration first, then a quantity, then plain text.
    order = None
    if condition.duration is not None:
        order = _compare_durations(value, condition.duration)
    if order is None and condition.quantity is not None:
        order = _compare_quantities(value, condition.quantity)
    if order is not None:
        return _VERDICTS[condition.operator](order)
    return _compare_text(value, condition.operand, condition.operator)


def _range_ends(regex: re.Pattern[str], condition: str) -> tuple[str, str]:
    found = regex.fullmatch(condition)
    if found is None:  # operator_of only names a range when this matches
        raise ValueError(f"not a range: {condition!r}")
    return found.group(1), found.group(2)


def _compare_durations(value: Any, wanted: int) -> int | None:
    text = _number_text(value)
    found = None if text is None else quantities.parse_duration_ns(text)
    if found is None:
        return None
    return (found > wanted) - (found < wanted)


def _compare_quantities(value: Any, wanted: Decimal) -> int | None:
    text = _number_text(value)
    found: Decimal | None = None if text is None else quantities.parse_quantity(text)
    if found is None:
        return None
    return (found > wanted) - (found < wanted)


def _number_text(value: Any) -> str | None:
    """Spell a value for the duration and quantity parsers, as Kyverno does."""
    if value is None:
        return "0"  # NB: a missing value counts as zero here
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:f}"  # Go's %f: six decimals
    if isinstance(value, int):
        return str(value)
    return None


def _compare_text(value: Any, operand: str, operator: str) -> bool:
    # Ordering operators mean nothing for text, so they never match.
    if operator not in ("", "!"):
        return False
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = format_go_float(value)
    else:
        return False
    matched = match_wildcard(operand, text)
    return not matched if operator == "!" else matched


def format_go_float(value: float) -> str:
    """Print a float as Go's strconv.FormatFloat(value, 'E', -1, 64)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    if not isinstance(exponent, int):  # only NaN and infinities, handled above
        return repr(value)
    power = exponent + len(digits) - 1
    mantissa = str(digits[0])
    if len(digits) > 1:
        mantissa += "." + "".join(map(str, digits[1:]))
    return f"{'-' if sign else ''}{mantissa}E{'-' if power < 0 else '+'}{abs(power):02d}"


def parse_go_float(text: str) -> float | None:
    """Read a float64 the way Go's strconv.ParseFloat does; None on error."""
    if _GO_SPECIAL_FLOAT.fullmatch(text):
        return float(text)
    try:
        if _GO_DECIMAL_FLOAT.fullmatch(text):
            parsed = float(text.replace("_", ""))
        elif _GO_HEX_FLOAT.fullmatch(text):
            parsed = float.fromhex(text.replace("_", ""))
        else:
            return None
    except OverflowError:
        return None
    # Go reports a range error where Python quietly returns infinity.
    return parsed if math.isfinite(parsed) else None
