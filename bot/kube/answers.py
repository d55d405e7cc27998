"""A small, bounded, thread-safe cache of API answers that expire.

A burst of checks (a team pasting ten manifests, a rollout rejected a hundred
times) should not turn into a burst of identical reads against the API
server, and a stale answer must not live long: each answer is kept for a few
seconds, and the cache never holds more than a fixed number of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

MAX_ENTRIES = 512


class Answers(Generic[K, V]):
    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        """`ttl` seconds an answer is reused; 0 (or less) keeps nothing."""
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> tuple[bool, V | None]:
        """(True, the answer) while it is fresh; (False, None) otherwise."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[0] <= self._clock():
            return False, None
        return True, entry[1]

    def put(self, key: K, value: V) -> None:
        if self.ttl <= 0:
            return
        now = self._clock()
        with self._lock:
            # Drop what has expired, then the oldest, to stay within bounds.
            for stale in [k for k, (expires, _) in self._entries.items() if expires <= now]:
                del self._entries[stale]
            while len(self._entries) >= MAX_ENTRIES:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = (now + self.ttl, value)
