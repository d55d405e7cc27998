"""Notify: from an understood rejection to the message its team receives.

`notices` composes what to say about one violation (the explanation and the
fix), `grouping` decides whether a rejection is news or a repeat of one
already posted, `delivery` turns that decision into outbox calls, and
`admissions` recognises a workload getting through, which resolves its
messages. Rendering the words and blocks is `bot.slack.messages`'s job;
sending them is the outbox's.
"""

from bot.notify.admissions import Admission, find_admission
from bot.notify.delivery import Notifier, Outcome, Sink
from bot.notify.grouping import Grouper, GroupKey, GroupSettings
from bot.notify.notices import Knowledge

__all__ = [
    "Admission",
    "GroupKey",
    "GroupSettings",
    "Grouper",
    "Knowledge",
    "Notifier",
    "Outcome",
    "Sink",
    "find_admission",
]
