"""Reading a value against a Go time layout, element by element.

`next_element` finds the next layout element the way Go's `nextStdChunk`
does (so `Jan` is a month but `Janet` is text, and `.000` is a fraction only
where digits end), and `parse_fields` walks the value with it. The result is
the raw fields; `timestamps` turns them into a moment. Go's quirks are kept on
purpose: spaces in the layout match any run of spaces, two-digit years below
69 mean 20xx, and a value may carry fractional seconds that the layout does
not mention.
"""

from __future__ import annotations

from dataclasses import dataclass

_SHORT_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LONG_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_SHORT_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_LONG_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")

# Numeric zone elements, in Go's matching order, and the shape of a value
# for each: length, positions of ':', has minutes, has seconds.
_ZONE_SHAPES = {
    "Z070000": (7, (), True, True),
    "Z07:00:00": (9, (3, 6), True, True),
    "Z0700": (5, (), True, False),
    "Z07:00": (6, (3,), True, False),
    "Z07": (3, (), False, False),
    "-070000": (7, (), True, True),
    "-07:00:00": (9, (3, 6), True, True),
    "-0700": (5, (), True, False),
    "-07:00": (6, (3,), True, False),
    "-07": (3, (), False, False),
}
# One- and two-digit elements: the field they set, whether two digits are
# required, and the valid range. Days are checked later against the month.
_NUMERIC_ELEMENTS = {
    "1": ("month", False, 1, 12),
    "01": ("month", True, 1, 12),
    "2": ("day", False, 0, 99),
    "_2": ("day", False, 0, 99),
    "02": ("day", True, 0, 99),
    "15": ("hour", False, 0, 23),
    "3": ("hour", False, 0, 12),
    "03": ("hour", True, 0, 12),
    "4": ("minute", False, 0, 59),
    "04": ("minute", True, 0, 59),
}


@dataclass
class Fields:
    """What a value said about each part of a moment; -1 means unsaid."""

    year: int = 0
    month: int = -1
    day: int = -1
    year_day: int = -1
    hour: int = 0
    minute: int = 0
    second: int = 0
    nanosecond: int = 0
    am: bool = False
    pm: bool = False
    utc: bool = False
    offset: int | None = None
    zone_name_offset: int = 0
    message: str = ""
    """Go's error suffix (": extra text: ...") when the value did not fit."""


def next_element(layout: str) -> tuple[str, str, str]:
    """Split a layout into literal prefix, first element, and the rest.

    The element is returned as written in the layout (`Jan`, `02`, `.000`);
    an empty element means the layout holds no more elements.
    """
    for i, char in enumerate(layout):
        element = _element_at(layout, i, char)
        if element:
            return layout[:i], element, layout[i + len(element) :]
    return layout, "", ""


def _element_at(layout: str, i: int, char: str) -> str:
    rest = layout[i:]
    if char == "J" and rest.startswith("Jan"):
        if rest.startswith("January"):
            return "January"
        return "" if _starts_lower(rest[3:]) else "Jan"
    if char == "M":
        if rest.startswith("Mon"):
            if rest.startswith("Monday"):
                return "Monday"
            if not _starts_lower(rest[3:]):
                return "Mon"
        return "MST" if rest.startswith("MST") else ""
    if char == "0":
        if rest[1:2] in ("1", "2", "3", "4", "5", "6"):
            return rest[:2]
        return "002" if rest.startswith("002") else ""
    if char == "1":
        return "15" if rest.startswith("15") else "1"
    if char == "2":
        return "2006" if rest.startswith("2006") else "2"
    if char == "_":
        if rest.startswith("_2"):
            # NB: `_2006` is a literal underscore and then the year.
            return "" if rest.startswith("_2006") else "_2"
        return "__2" if rest.startswith("__2") else ""
    if char in "345":
        return char
    if char == "P" and rest.startswith("PM"):
        return "PM"
    if char == "p" and rest.startswith("pm"):
        return "pm"
    if char in "-Z":
        for name in _ZONE_SHAPES:
            if rest.startswith(name):
                return name
        return ""
    if char in ".," and rest[1:2] in ("0", "9"):
        end = 1
        while end < len(rest) and rest[end] == rest[1]:
            end += 1
        # Only a fraction if the run of digits stops here.
        if not _digits(rest[end : end + 1]):
            return rest[:end]
    return ""


def parse_fields(layout: str, value: str) -> Fields:
    """Match `value` against `layout`; any failure is reported in `message`."""
    fields = Fields()
    original_layout = layout
    while True:
        prefix, element, layout = next_element(layout)
        matched = _skip(value, prefix)
        if matched is None:
            fields.message = _cannot_parse(original_layout, value, prefix)
            return fields
        value = matched
        if not element:
            if value:
                fields.message = f': extra text: "{value}"'
            return fields

        # Each element consumes the front of the value.
        held = value
        outcome = _read_element(fields, element, value, layout)
        if outcome is None:
            fields.message = _cannot_parse(original_layout, held, element)
            return fields
        value, range_error = outcome
        if range_error:
            fields.message = f": {range_error} out of range"
            return fields


def _cannot_parse(layout: str, value: str, element: str) -> str:
    return f' as "{layout}": cannot parse "{value}" as "{element}"'


def _skip(value: str, prefix: str) -> str | None:
    """Drop a literal prefix; a run of spaces in it matches any run of spaces."""
    while prefix:
        if prefix[0] == " ":
            if value and value[0] != " ":
                return None
            prefix, value = prefix.lstrip(" "), value.lstrip(" ")
            continue
        if not value or value[0] != prefix[0]:
            return None
        prefix, value = prefix[1:], value[1:]
    return value


def _read_element(fields: Fields, element: str, value: str, layout: str) -> tuple[str, str] | None:
    """Read one element; returns (rest of value, range error) or None."""
    if element == "06":
        year = _atoi(value[:2]) if len(value) >= 2 else None
        if year is None:
            return None
        fields.year = year + (1900 if year >= 69 else 2000)
        return value[2:], ""
    if element == "2006":
        if len(value) < 4 or not _digits(value[0]):
            return None
        year = _atoi(value[:4])
        if year is None:
            return None
        fields.year = year
        return value[4:], ""
    if element in ("Jan", "January", "Mon", "Monday"):
        table = {
            "Jan": _SHORT_MONTHS,
            "January": _LONG_MONTHS,
            "Mon": _SHORT_DAYS,
            "Monday": _LONG_DAYS,
        }[element]
        found = _lookup(table, value)
        if found is None:
            return None
        index, rest = found
        if element in ("Jan", "January"):
            fields.month = index + 1
        return rest, ""
    numeric = _NUMERIC_ELEMENTS.get(element)
    if numeric is not None:
        name, fixed, lowest, highest = numeric
        if element == "_2" and value[:1] == " ":
            value = value[1:]
        number = _getnum(value, fixed=fixed)
        if number is None:
            return None
        parsed, rest = number
        setattr(fields, name, parsed)
        return rest, "" if lowest <= parsed <= highest else name
    if element in ("__2", "002"):
        if element == "__2":
            for _ in range(2):
                if value[:1] == " ":
                    value = value[1:]
        count = 0
        while count < 3 and _digits(value[count : count + 1]):
            count += 1
        if count == 0 or (element == "002" and count != 3):
            return None
        fields.year_day = int(value[:count])
        return value[count:], ""
    if element in ("5", "05"):
        return _read_second(fields, element, value, layout)
    if element in ("PM", "pm"):
        marker = value[:2]
        if marker == element:
            fields.pm = True
        elif marker == ("AM" if element == "PM" else "am"):
            fields.am = True
        else:
            return None
        return value[2:], ""
    if element in _ZONE_SHAPES:
        return _read_offset(fields, element, value)
    if element == "MST":
        return _read_zone_name(fields, value)
    return _read_fraction(fields, element, value)


def _read_second(fields: Fields, element: str, value: str, layout: str) -> tuple[str, str] | None:
    number = _getnum(value, fixed=element == "05")
    if number is None:
        return None
    fields.second, value = number
    if not 0 <= fields.second < 60:
        return value, "second"

    # NB: Go accepts a fraction here even when the layout has none, unless
    # the layout's very next element is the fraction.
    if len(value) >= 2 and value[0] in ".," and _digits(value[1]):
        _, upcoming, _ = next_element(layout)
        if upcoming[:1] in (".", ",") and upcoming[1:2] in ("0", "9"):
            return value, ""
        end = 2
        while end < len(value) and _digits(value[end]):
            end += 1
        nanos = _nanoseconds(value, end)
        if nanos is None:
            return None
        fields.nanosecond = nanos
        value = value[end:]
    return value, ""


def _read_fraction(fields: Fields, element: str, value: str) -> tuple[str, str] | None:
    if element[1] == "0":
        # Exactly as many digits as the layout shows.
        if len(value) < len(element):
            return None
        nanos = _nanoseconds(value, len(element))
        if nanos is None:
            return None
        fields.nanosecond = nanos
        return value[len(element) :], ""
    if len(value) < 2 or value[0] not in ".," or not _digits(value[1]):
        return value, ""
    end = 1
    while end < len(value) and _digits(value[end]):
        end += 1
    nanos = _nanoseconds(value, end)
    if nanos is None:
        return None
    fields.nanosecond = nanos
    return value[end:], ""


def _read_offset(fields: Fields, element: str, value: str) -> tuple[str, str] | None:
    if element[0] == "Z" and value[:1] == "Z":
        fields.utc = True
        return value[1:], ""
    size, colons, has_minutes, has_seconds = _ZONE_SHAPES[element]
    if len(value) < size or any(value[i] != ":" for i in colons):
        return None
    digits = "".join(char for i, char in enumerate(value[1:size], start=1) if i not in colons)
    if len(digits) < 2 or not _digits(digits):
        return None
    hours = int(digits[0:2])
    minutes = int(digits[2:4]) if has_minutes else 0
    seconds = int(digits[4:6]) if has_seconds else 0
    if value[0] not in "+-":
        return None
    range_error = ""
    if hours > 24:
        range_error = "time zone offset hour"
    if minutes > 60:
        range_error = "time zone offset minute"
    if seconds > 60:
        range_error = "time zone offset second"
    offset = (hours * 60 + minutes) * 60 + seconds
    fields.offset = -offset if value[0] == "-" else offset
    return value[size:], range_error


def _read_zone_name(fields: Fields, value: str) -> tuple[str, str] | None:
    if value.startswith("UTC"):
        fields.utc = True
        return value[3:], ""
    length = _zone_name_length(value)
    if length == 0:
        return None
    name = value[:length]
    if name.startswith("GMT") and len(name) > 3:
        fields.zone_name_offset = int(name[3:]) * 3600
    return value[length:], ""


def _zone_name_length(value: str) -> int:
    """How much of `value` Go's `parseTimeZone` takes as a zone name."""
    if len(value) < 3:
        return 0
    if value[:4] in ("ChST", "MeST"):
        return 4
    if value.startswith("GMT"):
        return 3 + _signed_offset_length(value[3:]) if len(value) > 3 else 3
    if value[0] in "+-":
        return _signed_offset_length(value)
    upper = 0
    while upper < min(len(value), 6) and "A" <= value[upper] <= "Z":
        upper += 1
    if upper == 3:
        return 3
    if upper == 4 and (value[3] == "T" or value[:4] == "WITA"):
        return 4
    if upper == 5 and value[4] == "T":
        return 5
    return 0


def _signed_offset_length(value: str) -> int:
    if not value or value[0] not in "+-":
        return 0
    end = 1
    while end < len(value) and _digits(value[end]):
        end += 1
    if end == 1 or int(value[1:end]) > 12:
        return 0
    return end


def _getnum(value: str, *, fixed: bool) -> tuple[int, str] | None:
    """One or two digits (exactly two when `fixed`)."""
    if not _digits(value[:1]):
        return None
    if not _digits(value[1:2]):
        return None if fixed else (int(value[0]), value[1:])
    return int(value[:2]), value[2:]


def _atoi(text: str) -> int | None:
    body = text[1:] if text[:1] in ("+", "-") else text
    if not _digits(body):
        return None
    return int(text)


def _lookup(table: tuple[str, ...], value: str) -> tuple[int, str] | None:
    """Case-insensitive (ASCII) match of a name at the front of `value`."""
    for index, name in enumerate(table):
        if value[: len(name)].lower() == name.lower() and len(value) >= len(name):
            return index, value[len(name) :]
    return None


def _nanoseconds(value: str, size: int) -> int | None:
    """Go's `parseNanoseconds`: separator plus digits, at most nine kept."""
    if value[0] not in ".,":
        return None
    size = min(size, 10)
    digits = value[1:size]
    if not _digits(digits):
        return None
    return int(digits) * int(10 ** (10 - size))


def _digits(text: str) -> bool:
    """Go's `isDigit` run: ASCII digits only, and at least one."""
    return bool(text) and all("0" <= char <= "9" for char in text)


def _starts_lower(text: str) -> bool:
    return bool(text) and "a" <= text[0] <= "z"
