"""Go's time layouts, read and printed the way Kyverno's time_* functions do.

Go describes a format by writing one reference moment in it
(`Mon Jan 2 15:04:05 MST 2006`), not with strftime codes, and policies hand
such layouts to `time_parse` and `time_since`. This module splits a layout
into the same elements as Go's `nextStdChunk` and parses with the same
leniencies (one-digit hours, fractional seconds the layout never mentioned)
and the same error texts.

A moment is kept as nanoseconds since the Unix epoch plus the UTC offset it
is shown in. That covers year 0, which a layout without a year produces and
`datetime` cannot hold.

Assumption: Kyverno runs with its local zone set to UTC, as its container
images do. Zone abbreviations other than `UTC` and `GMT+h` therefore parse
with offset zero, exactly as Go does when the local zone does not know them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.policy.jmespath import layouts

NANOS_PER_SECOND = 1_000_000_000
_SECONDS_PER_DAY = 86_400
# Seconds from 0001-01-01 (Go's zero time) to the Unix epoch.
_ZERO_TO_UNIX = 62_135_596_800
RFC3339 = "2006-01-02T15:04:05Z07:00"


class TimeError(ValueError):
    """Go's text for a time it cannot parse."""


@dataclass(frozen=True)
class Instant:
    """A moment, and the UTC offset (seconds) it is displayed with."""

    unix_nanos: int
    offset: int = 0

    def add(self, nanoseconds: int) -> Instant:
        return Instant(self.unix_nanos + nanoseconds, self.offset)

    def in_utc(self) -> Instant:
        return Instant(self.unix_nanos, 0)

    def truncate(self, nanoseconds: int) -> Instant:
        """Go's `Time.Truncate`: round down since the zero time, not the day."""
        if nanoseconds <= 0:
            return self
        since_zero = self.unix_nanos + _ZERO_TO_UNIX * NANOS_PER_SECOND
        return Instant(self.unix_nanos - since_zero % nanoseconds, self.offset)

    def wall(self) -> tuple[int, int, int, int, int, int, int]:
        """Year, month, day, hour, minute, second, weekday (Sunday is 0)."""
        seconds = self.unix_nanos // NANOS_PER_SECOND + self.offset
        days, second_of_day = divmod(seconds, _SECONDS_PER_DAY)
        year, month, day = civil_from_days(days)
        hour, rest = divmod(second_of_day, 3600)
        minute, second = divmod(rest, 60)
        return year, month, day, hour, minute, second, (days + 4) % 7

    def rfc3339(self) -> str:
        """Go's `Format(time.RFC3339)`: whole seconds, `Z` for a zero offset."""
        year, month, day, hour, minute, second, _ = self.wall()
        year_text = f"-{-year:04d}" if year < 0 else f"{year:04d}"
        if self.offset == 0:
            zone = "Z"
        else:
            sign = "-" if self.offset < 0 else "+"
            zone_minutes = abs(self.offset) // 60
            zone = f"{sign}{zone_minutes // 60:02d}:{zone_minutes % 60:02d}"
        return f"{year_text}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{zone}"


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar."""
    year -= 1 if month <= 2 else 0
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """The inverse of `days_from_civil`."""
    days += 719_468
    era = days // 146_097
    day_of_era = days - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + (3 if shifted_month < 10 else -9)
    return year_of_era + era * 400 + (1 if month <= 2 else 0), month, day


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(month: int, year: int) -> int:
    if month == 2:
        return 29 if is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def parse_rfc3339(text: str) -> Instant:
    return parse(RFC3339, text)


def parse(layout: str, value: str) -> Instant:
    """Go's `time.Parse(layout, value)`."""
    fields = layouts.parse_fields(layout, value)
    if fields.message:
        raise TimeError(f'parsing time "{value}"{fields.message}')

    # Resolve the calendar date, then check the day against its month.
    year, month, day = fields.year, fields.month, fields.day
    if fields.year_day >= 0:
        month, day = _from_year_day(fields, value)
    else:
        month = 1 if month < 0 else month
        day = 1 if day < 0 else day
    if day < 1 or day > days_in_month(month, year):
        raise TimeError(f'parsing time "{value}": day out of range')

    hour = fields.hour
    if fields.pm and hour < 12:
        hour += 12
    elif fields.am and hour == 12:
        hour = 0
    wall = (days_from_civil(year, month, day) * _SECONDS_PER_DAY) + (
        hour * 3600 + fields.minute * 60 + fields.second
    )
    wall_nanos = wall * NANOS_PER_SECOND + fields.nanosecond

    # A numeric offset moves the instant; a zone name only labels it.
    if fields.utc:
        return Instant(wall_nanos, 0)
    if fields.offset is not None:
        return Instant(wall_nanos - fields.offset * NANOS_PER_SECOND, fields.offset)
    return Instant(wall_nanos, fields.zone_name_offset)


def _from_year_day(fields: layouts.Fields, value: str) -> tuple[int, int]:
    year_day, year = fields.year_day, fields.year
    month = day = 0
    if is_leap(year):
        if year_day == 31 + 29:
            month, day = 2, 29
        elif year_day > 31 + 29:
            year_day -= 1
    if year_day < 1 or year_day > 365:
        raise TimeError(f'parsing time "{value}": day-of-year out of range')
    if month == 0:
        month, day = 1, year_day
        while day > days_in_month(month, 2001):
            day -= days_in_month(month, 2001)
            month += 1
    if fields.month >= 0 and fields.month != month:
        raise TimeError(f'parsing time "{value}": day-of-year does not match month')
    if fields.day >= 0 and fields.day != day:
        raise TimeError(f'parsing time "{value}": day-of-year does not match day')
    return month, day


def format_cron(instant: Instant) -> str:
    """Minute, hour, day, month and weekday, as Kyverno's time_to_cron writes."""
    _, month, day, hour, minute, _, weekday = instant.wall()
    return f"{minute} {hour} {day} {month} {weekday}"
