"""The bounded cache of API answers."""

from __future__ import annotations

from bot.kube import answers
from bot.kube.answers import Answers


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_answer_is_reused_until_it_expires() -> None:
    """Fresh for `ttl` seconds, then gone; None is an answer like any other."""
    clock = Clock()
    cache: Answers[str, object] = Answers(10, clock)
    cache.put("a", None)

    clock.now = 9.9
    assert cache.get("a") == (True, None)
    clock.now = 10
    assert cache.get("a") == (False, None)


def test_zero_ttl_keeps_nothing() -> None:
    cache: Answers[str, int] = Answers(0, Clock())
    cache.put("a", 1)

    assert cache.get("a") == (False, None)


def test_oldest_goes_first_beyond_the_bound() -> None:
    """The cache never holds more than MAX_ENTRIES answers."""
    cache: Answers[int, int] = Answers(60, Clock())
    for key in range(answers.MAX_ENTRIES + 1):
        cache.put(key, key)

    assert cache.get(0) == (False, None)
    assert cache.get(1) == (True, 1)
    assert cache.get(answers.MAX_ENTRIES) == (True, answers.MAX_ENTRIES)
