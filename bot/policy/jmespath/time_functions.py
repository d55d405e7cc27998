"""Kyverno's time functions (time.go): RFC 3339 times and Go durations.

Every time argument is RFC 3339 (`2021-01-02T15:04:05-07:00`) except where a
function takes a Go layout (time_parse, time_since). Results are RFC 3339
without fractional seconds, in the offset of the input, and durations print
as Go does (`180h10m0s`).

`time_now` and `time_since` read the clock, so their results depend on the
moment of evaluation, exactly as they do in the cluster.
"""

from __future__ import annotations

import time

from bot.policy import quantities
from bot.policy.jmespath import durations, timestamps
from bot.policy.jmespath.errors import FunctionError
from bot.policy.jmespath.signatures import STRING, signature
from bot.policy.jmespath.timestamps import Instant


def _time(text: str, function: str) -> Instant:
    try:
        return timestamps.parse_rfc3339(text)
    except timestamps.TimeError as error:
        raise FunctionError(function, str(error)) from None


def _with_layout(layout: str, text: str, function: str) -> Instant:
    try:
        return timestamps.parse(layout or timestamps.RFC3339, text)
    except timestamps.TimeError as error:
        raise FunctionError(function, str(error)) from None


def _duration(text: str, function: str) -> int:
    nanoseconds = durations.parse_duration(text)
    if nanoseconds is None:
        raise FunctionError(function, durations.invalid_duration(text))
    return nanoseconds


def _now() -> Instant:
    """The current moment, shown in this process's local offset."""
    nanoseconds = time.time_ns()
    return Instant(nanoseconds, time.localtime(nanoseconds // 10**9).tm_gmtoff)


def _difference(start: Instant, end: Instant) -> str:
    return durations.format_duration(durations.saturate(end.unix_nanos - start.unix_nanos))


class TimeFunctions:
    """Mixin for `KyvernoFunctions`; the `_func_` prefix registers each one."""

    @signature(STRING, STRING, STRING)
    def _func_time_since(self, layout: str, start: str, end: str) -> str:
        first = _with_layout(layout, start, "time_since")
        second = _with_layout(layout, end, "time_since") if end else _now()
        return _difference(first, second)

    @signature()
    def _func_time_now(self) -> str:
        return _now().rfc3339()

    @signature()
    def _func_time_now_utc(self) -> str:
        return _now().in_utc().rfc3339()

    @signature(STRING)
    def _func_time_to_cron(self, text: str) -> str:
        return timestamps.format_cron(_time(text, "time_to_cron"))

    @signature(STRING, STRING)
    def _func_time_add(self, text: str, duration: str) -> str:
        moment = _time(text, "time_add")
        return moment.add(_duration(duration, "time_add")).rfc3339()

    @signature(STRING, STRING)
    def _func_time_parse(self, layout: str, text: str) -> str:
        # A layout that is itself an integer means "seconds since the epoch".
        if quantities.parse_go_int(layout) is not None:
            seconds = quantities.parse_go_int(text)
            if seconds is None:
                raise FunctionError(
                    "time_parse", f'strconv.ParseInt: parsing "{text}": invalid syntax'
                )
            return Instant(seconds * timestamps.NANOS_PER_SECOND).rfc3339()
        return _with_layout(layout, text, "time_parse").rfc3339()

    @signature(STRING)
    def _func_time_utc(self, text: str) -> str:
        return _time(text, "time_utc").in_utc().rfc3339()

    @signature(STRING, STRING)
    def _func_time_diff(self, start: str, end: str) -> str:
        return _difference(_time(start, "time_diff"), _time(end, "time_diff"))

    @signature(STRING, STRING)
    def _func_time_before(self, first: str, second: str) -> bool:
        return _time(first, "time_before").unix_nanos < _time(second, "time_before").unix_nanos

    @signature(STRING, STRING)
    def _func_time_after(self, first: str, second: str) -> bool:
        return _time(first, "time_after").unix_nanos > _time(second, "time_after").unix_nanos

    @signature(STRING, STRING, STRING)
    def _func_time_between(self, text: str, start: str, end: str) -> bool:
        moment = _time(text, "time_between").unix_nanos
        after = _time(start, "time_between").unix_nanos
        before = _time(end, "time_between").unix_nanos
        return after < moment < before

    @signature(STRING, STRING)
    def _func_time_truncate(self, text: str, duration: str) -> str:
        moment = _time(text, "time_truncate")
        return moment.truncate(_duration(duration, "time_truncate")).rfc3339()
