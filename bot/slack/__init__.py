"""Everything Slack: the outbox, Block Kit layout and rate limits.

This package is the only one that imports `slack_sdk` or `slack_bolt`. Other
layers hand it values (`Post`, `Update`, `Ephemeral`, `Upload`) and get plain
values back, such as a message's (channel, ts).
"""

from __future__ import annotations

from bot.slack.outbox import Ephemeral, Outbox, Post, Update, Upload, new_web_client

__all__ = ["Ephemeral", "Outbox", "Post", "Update", "Upload", "new_web_client"]
