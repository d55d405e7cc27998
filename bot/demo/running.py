"""Replaying a recorded stream through the real pipeline, into a terminal.

Everything between the payload and the outbox is the production code: the
handler parses, resolves owners (in the bundled cluster), finds the team,
explains, proves fixes and groups repeats in a SQLite store held in memory.
Only the two ends are stand-ins: the stream replaces the Event watch and the
audit webhook, and `TerminalSink` replaces the outbox. It keeps what Slack
would show at the end of the stream: each message in its last version, how
often it was updated, and the files in its thread.

Stream time drives grouping (a repeat 30 s later in the file *is* 30 s
later), while the latencies are measured on the wall clock.
"""

from __future__ import annotations

import datetime
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bot.demo import streams
from bot.demo.streams import Arrival, BundledCluster
from bot.intake.teams import Registry, Team
from bot.notify import Grouper, GroupSettings, Knowledge, Notifier
from bot.notify.grouping import DEFAULT_SETTINGS
from bot.slack import messages, outbox
from bot.store.sqlite_notifications import SQLiteNotificationGroups
from handlers.rejections import Handled, Latencies, RejectionHandler

RULE = "═"
WIDTH = 78


@dataclass
class Shown:
    """One Slack message as it stands after the stream."""

    channel: str
    key: str
    posted_at: datetime.datetime
    message: messages.Message
    updates: int = 0
    updated_at: datetime.datetime | None = None
    files: list[outbox.Upload] = field(default_factory=list)
    before_resolved: messages.Message | None = None
    """The last open version, once the message is resolved."""

    @property
    def resolved(self) -> bool:
        return self.message.text.startswith("Resolved")


@dataclass
class TerminalSink:
    """Takes what the outbox would take, and keeps the last version of each message."""

    now: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))
    shown: dict[str, Shown] = field(default_factory=dict)
    calls: int = 0

    async def enqueue(self, item: outbox.Item) -> int:
        self.calls += 1
        if isinstance(item, outbox.Post):
            key = item.key or f"post-{self.calls}"
            message = messages.Message(item.text, list(item.blocks or []))
            self.shown.setdefault(key, Shown(item.channel, key, self.now, message))
        elif isinstance(item, outbox.Update):
            found = self.shown.get(item.key)
            if found is not None:
                if item.text.startswith("Resolved") and not found.resolved:
                    found.before_resolved = found.message
                found.message = messages.Message(item.text, list(item.blocks or []))
                found.updates += 1
                found.updated_at = self.now
        elif isinstance(item, outbox.Upload) and item.thread_key in self.shown:
            self.shown[item.thread_key].files.append(item)
        return self.calls

    def by_channel(self) -> dict[str, list[Shown]]:
        found: dict[str, list[Shown]] = {}
        for shown in self.shown.values():
            found.setdefault(shown.channel, []).append(shown)
        return found


@dataclass
class DemoRun:
    """What happened, for the report."""

    arrivals: list[Arrival]
    registry: Registry
    sink: TerminalSink
    handled: Handled
    latencies: Latencies


@dataclass(frozen=True)
class DemoFiles:
    stream: Path
    cluster: Path
    teams: Path

    @classmethod
    def bundled(cls) -> DemoFiles:
        return cls(
            streams.data_path("stream.yaml"),
            streams.data_path("cluster.yaml"),
            streams.data_path("teams.yaml"),
        )


async def run(
    files: DemoFiles,
    *,
    settings: GroupSettings = DEFAULT_SETTINGS,
    knowledge: Knowledge | None = None,
) -> DemoRun:
    """Replay the stream; nothing leaves the process."""
    arrivals = streams.expand(streams.load_stream(files.stream))
    registry = Registry.load(files.teams)
    cluster = BundledCluster.load(files.cluster)
    sink = TerminalSink()
    store = SQLiteNotificationGroups(":memory:")
    clock = _StreamClock(arrivals[0].at)
    handler = RejectionHandler(
        registry=registry,
        knowledge=knowledge or Knowledge.bundled(),
        notifier=Notifier(Grouper(store, settings), sink),
        owners=cluster,
        namespaces=cluster,
        clock=clock,
    )

    # The app flushes lagging counts on a timer; here, before each arrival.
    totals = Handled()
    try:
        for arrival in arrivals:
            clock.now = sink.now = arrival.at
            await handler.flush()
            handled = await handler.handle(
                arrival.payload, involved=arrival.involved, at=arrival.at, source=arrival.source
            )
            _add(totals, handled)
        await handler.flush(force=True)
    finally:
        store.close()
    return DemoRun(arrivals, registry, sink, totals, handler.latencies)


def render(result: DemoRun, *, team: str | None = None) -> str:
    """The report: an overview, then each team's channel with its messages."""
    channels = result.sink.by_channel()
    teams = [t for t in result.registry if team is None or t.name == team]
    lines = list(_overview(result, channels))
    for each in teams:
        lines.extend(_channel(each, channels.get(each.channel, [])))
    return "\n".join(lines).rstrip() + "\n"


def _overview(result: DemoRun, channels: dict[str, list[Shown]]) -> Iterator[str]:
    arrivals = result.arrivals
    payloads = len({id(a.payload) for a in arrivals})
    handled = result.handled
    shown = [s for group in channels.values() for s in group]
    latencies = result.latencies
    paragraph = (
        f"{payloads} recorded payloads (Events, audit events, a policy report, kubectl "
        f"output) arrived {len(arrivals)} times between {arrivals[0].at:%H:%M:%S} and "
        f"{arrivals[-1].at:%H:%M:%S} UTC. Slack would get {_count(len(shown), 'message')} "
        f"in {_count(len(channels), 'channel')}. The other "
        f"{handled.counted + handled.updated} rejections were repeats: they updated those "
        f"messages in place instead of posting again. {handled.resolved} messages were "
        f"marked resolved when their workload got through, and "
        f"{_count(sum(len(s.files) for s in shown), 'long diff')} went into a thread as a "
        f"file. Event to outbox: p50 "
        f"{latencies.percentile(0.5) * 1000:.1f} ms, p99 "
        f"{latencies.percentile(0.99) * 1000:.1f} ms. No Slack, no cluster, no network."
    )
    yield "Policybot demo: a recorded morning, replayed through the real pipeline"
    yield ""
    yield from textwrap.wrap(paragraph, WIDTH)
    yield ""


def _channel(team: Team, shown: list[Shown]) -> Iterator[str]:
    title = f"{RULE * 3} {team.channel} · team {team.name} "
    yield title + RULE * max(3, WIDTH - len(title))
    if not shown:
        yield "(no messages)"
        yield ""
        return
    for number, item in enumerate(shown, start=1):
        yield f"┌─ message {number} of {len(shown)} · {_history(item)}"
        body = messages.to_terminal(item.message, width=WIDTH)
        for line in body.splitlines():
            yield f"│ {line}".rstrip()
        for upload in item.files:
            yield f"│ 📎 in the thread: {upload.filename} ({upload.title})"
            for line in upload.content.rstrip().splitlines():
                yield f"│   {line}".rstrip()
        if item.before_resolved is not None:
            yield "│"
            yield "│ Until it was resolved, the message read:"
            for line in messages.to_terminal(item.before_resolved, width=WIDTH - 2).splitlines():
                yield f"│ ┆ {line}".rstrip()
        yield "└" + "─" * (WIDTH - 1)
        yield ""


def _history(item: Shown) -> str:
    parts = [f"posted {item.posted_at:%H:%M:%S}"]
    if item.updates:
        times = "once" if item.updates == 1 else f"{item.updates} times"
        parts.append(f"updated {times}, last at {item.updated_at:%H:%M:%S}")
    if item.resolved:
        parts.append("resolved")
    return " · ".join(parts)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _add(totals: Handled, handled: Handled) -> None:
    for name in ("posted", "updated", "counted", "resolved", "skipped"):
        setattr(totals, name, getattr(totals, name) + getattr(handled, name))


@dataclass
class _StreamClock:
    """The stream's time, for the handler's timer-driven work."""

    now: datetime.datetime

    def __call__(self) -> datetime.datetime:
        return self.now
