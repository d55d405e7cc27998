"""A soak of the event watcher: many events, many cut connections, one count.

Shared by tests/kube/test_soak.py (bounded, a few seconds) and
benchmarks/soak_watch.py (the same run, with its figures printed). Events go
into the emulated API server in batches, a little ahead of the watcher, which
consumes them through the official client; the server cuts every watch connection after
`drop_every` events, and, if asked, forgets its history once midway so that
the watcher must relist and skip everything it already handed on.
"""

from __future__ import annotations

import asyncio
import collections
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.kube import clients, watching
from bot.store.sqlite import SQLiteStore
from tests.kube.apiserver import FakeApiServer
from tests.kube.conftest import Denial, classify, noise_event, rejection_event, write_kubeconfig

SETTINGS = watching.WatchSettings(
    watch_timeout=60.0,
    connect_timeout=2.0,
    read_slack=10.0,
    backoff_base=0.005,
    backoff_cap=0.05,
    queue_size=1000,
)


@dataclass(frozen=True)
class SoakResult:
    events: int
    rejections: int
    handed_on: int
    duplicates: int
    missing: int
    streamed: int
    """Events the server wrote to watch connections (resent ones included)."""
    drops: int
    reconnects: int
    relists: int
    lists: int
    watches: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "events_per_second": round(self.events_per_second)}


async def run_soak(
    workdir: Path,
    *,
    events: int = 10_000,
    drop_every: int = 1_000,
    noise_every: int = 5,
    relist_midway: bool = True,
    batch: int = 200,
    window: int = 300,
) -> SoakResult:
    """Stream `events` Events (every `noise_every`-th one not a rejection)."""
    server = FakeApiServer(drop_every=drop_every, cut_lines=True)
    await server.start()
    api = clients.connect(kubeconfig=str(write_kubeconfig(workdir / "kubeconfig", server.url)))
    store = SQLiteStore(workdir / "soak.db")
    watcher = watching.EventWatcher(
        api, classify=classify, store=store, settings=SETTINGS, rng=random.Random(1)
    )
    counts: collections.Counter[str] = collections.Counter()
    expected: set[str] = set()
    progress = asyncio.Condition()

    async def handle(rejection: watching.Rejection[Denial]) -> None:
        counts[rejection.uid] += 1
        async with progress:
            progress.notify_all()

    async def handled(at_least: int) -> None:
        async with progress:
            await progress.wait_for(lambda: len(counts) >= at_least)

    consumer = asyncio.create_task(watcher.run(handle))
    started = time.perf_counter()
    try:
        while not server.watches():  # noqa: ASYNC110 (the server signals nothing)
            await asyncio.sleep(0.001)

        # Feed the server in batches, as a busy cluster would, but never
        # more than `window` events ahead of the watcher: they must come
        # through the watch, not through a relist.
        for start in range(0, events, batch):
            await handled(len(expected) - window)
            for number in range(start, min(start + batch, events)):
                if noise_every and number % noise_every == noise_every - 1:
                    server.add(noise_event(number))
                else:
                    expected.add(server.add(rejection_event(number))["metadata"]["uid"])
            if relist_midway and start < events // 2 <= start + batch:
                server.compact()
                server.drop_watches()
            await asyncio.sleep(0)

        # Wait for the last one, then a little more for any duplicate.
        await handled(len(expected))
        seconds = time.perf_counter() - started
        await asyncio.sleep(0.2)
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        await server.stop()
        clients.close(api)
        store.close()

    return SoakResult(
        events=events,
        rejections=len(expected),
        handed_on=sum(counts.values()),
        duplicates=sum(n - 1 for n in counts.values() if n > 1),
        missing=len(expected - set(counts)),
        streamed=server.sent,
        drops=server.drops,
        reconnects=watcher.stats.reconnects,
        relists=watcher.stats.relists,
        lists=watcher.stats.lists,
        watches=watcher.stats.watches,
        seconds=seconds,
    )
