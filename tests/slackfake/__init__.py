"""A local fake of the Slack Web API for tests; see `tests.slackfake.server`."""

from __future__ import annotations

from tests.slackfake.server import BOT_USER, TOKEN, Call, Channel, Failure, FakeSlack, block_errors

__all__ = ["BOT_USER", "TOKEN", "Call", "Channel", "Failure", "FakeSlack", "block_errors"]
