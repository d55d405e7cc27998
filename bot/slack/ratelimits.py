"""Pacing calls to Slack so that it rarely has to say "slow down".

Slack limits each Web API method per workspace, in tiers of roughly 1, 20,
50 and 100 calls a minute, and limits posting to about one message a second
in each channel, with short bursts tolerated. Past a limit it answers 429
with a `Retry-After` header; calling again before then only extends the ban.

`RateLimits` keeps both kinds of budget and every `Retry-After` it was told,
and answers one question: how long until this call may go? It never sleeps,
so the outbox can skip a waiting channel and serve another. Time comes from
an injected clock, so tests move it by hand.

See https://docs.slack.dev/apis/web-api/rate-limits for the tiers.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable

__all__ = ["METHOD_TIERS", "TIER_CALLS_PER_MINUTE", "RateLimits"]

logger = logging.getLogger(__name__)

TIER_CALLS_PER_MINUTE: dict[int, int] = {1: 1, 2: 20, 3: 50, 4: 100}

# The methods the bot calls, by tier. Unknown methods get tier 2, the safe side.
METHOD_TIERS: dict[str, int] = {
    "auth.test": 4,
    "chat.postEphemeral": 4,
    "chat.update": 3,
    "conversations.history": 3,
    "conversations.info": 3,
    "conversations.join": 3,
    "conversations.list": 2,
    "conversations.replies": 3,
    "files.completeUploadExternal": 4,
    "files.getUploadURLExternal": 4,
    "usergroups.users.list": 2,
    "users.info": 4,
    "views.open": 4,
    "views.update": 4,
}
DEFAULT_TIER = 2

# chat.postMessage has its own limit: about one message a second per channel.
POST_METHOD = "chat.postMessage"
POST_INTERVAL_SECONDS = 1.0

WINDOW_SECONDS = 60.0


class RateLimits:
    """Per-method and per-channel budgets, plus Slack's own `Retry-After`s."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._recent: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self._last_post: dict[str, float] = {}
        self._banned_until: dict[tuple[str, str | None], float] = {}

    def wait_time(self, method: str, channel: str | None = None) -> float:
        """Seconds until `method` may be called (in `channel`); 0 means now."""
        now = self._clock()
        waits = [0.0]

        # Slack's own word first: a Retry-After for the method or the channel.
        for scope in ((method, None), (method, channel)):
            until = self._banned_until.get(scope)
            if until is not None:
                waits.append(until - now)

        # One message a second in each channel.
        if method == POST_METHOD and channel is not None:
            last = self._last_post.get(channel)
            if last is not None:
                waits.append(last + POST_INTERVAL_SECONDS - now)

        # The tier's calls per minute, over a sliding window.
        if method != POST_METHOD:
            recent = self._trimmed(method, now)
            if len(recent) >= self._allowance(method):
                waits.append(recent[0] + WINDOW_SECONDS - now)
        return max(waits)

    def note_call(self, method: str, channel: str | None = None) -> None:
        """Count a call that was made, whatever its outcome."""
        now = self._clock()
        if method == POST_METHOD and channel is not None:
            self._last_post[channel] = now
        elif method != POST_METHOD:
            self._recent[method].append(now)

    def note_retry_after(self, method: str, channel: str | None, seconds: float) -> None:
        """Honour a 429: no call to `method` (in `channel`) for `seconds`."""
        until = self._clock() + max(seconds, 0.0)
        scope = (method, channel)
        self._banned_until[scope] = max(until, self._banned_until.get(scope, until))
        logger.info(
            "Slack asked us to wait %.0fs before calling %s%s again.",
            seconds,
            method,
            f" in {channel}" if channel else "",
        )

    def _allowance(self, method: str) -> int:
        return TIER_CALLS_PER_MINUTE[METHOD_TIERS.get(method, DEFAULT_TIER)]

    def _trimmed(self, method: str, now: float) -> collections.deque[float]:
        recent = self._recent[method]
        # NB: the same expression as the wait above; `now - WINDOW` rounds
        # differently and could keep a call the wait already counts as expired.
        while recent and recent[0] + WINDOW_SECONDS <= now:
            recent.popleft()
        return recent
