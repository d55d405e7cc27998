"""The event watcher against an emulated API server, over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient

from bot.errors import PermanentError
from bot.intake import Record, events
from bot.kube import watching
from bot.store.sqlite import SQLiteStore
from tests.kube.apiserver import FakeApiServer
from tests.kube.conftest import (
    FAST,
    Collector,
    Denial,
    classify,
    make_watcher,
    noise_event,
    rejection_event,
    take,
    wait_until,
)


async def test_lists_then_watches_from_list_version(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore
) -> None:
    """Only rejections come out, from the list first and the watch after."""
    for number in range(3):
        apiserver.add(rejection_event(number))
        apiserver.add(noise_event(number))
    listed_at = apiserver.resource_version

    async with Collector(make_watcher(api, store)) as collector:
        await collector.wait_for(3)
        apiserver.add(rejection_event(3))
        apiserver.add(noise_event(3))
        await collector.wait_for(4)
        await collector.settle(0.1)

    assert collector.names == [f"web-{n:05d}.17a" for n in range(4)]
    assert [type(r) for r in collector.items[0].records] == [Denial]
    first, second = apiserver.requests[:2]
    assert not first.is_watch
    assert second.is_watch
    assert second.query["resourceVersion"] == str(listed_at)
    assert second.query["allowWatchBookmarks"] == "true"


async def test_dropped_connection_resumes_without_loss(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore
) -> None:
    """After a cut, the watch resumes from the last version it processed."""
    watcher = make_watcher(api, store)
    async with Collector(watcher) as collector:
        await wait_until(lambda: len(apiserver.watches()) == 1)
        apiserver.add(rejection_event(0))
        await collector.wait_for(1)
        last_seen = apiserver.resource_version

        apiserver.drop_watches()
        apiserver.add(rejection_event(1))
        apiserver.add(rejection_event(2))
        await collector.wait_for(3)
        await collector.settle(0.1)

    assert collector.names == [f"web-{n:05d}.17a" for n in range(3)]
    assert apiserver.watches()[1].query["resourceVersion"] == str(last_seen)
    assert watcher.stats.lists == 1
    assert watcher.stats.reconnects == 1


async def test_line_cut_mid_event_is_discarded(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore
) -> None:
    """Half an event before the cut is dropped, then delivered whole."""
    apiserver.drop_every = 2
    apiserver.cut_lines = True
    async with Collector(make_watcher(api, store)) as collector:
        await wait_until(lambda: len(apiserver.watches()) == 1)
        for number in range(7):
            apiserver.add(rejection_event(number))
        await collector.wait_for(7)
        await collector.settle(0.1)

    assert collector.names == [f"web-{n:05d}.17a" for n in range(7)]
    assert apiserver.drops >= 3


async def test_gone_relists_without_repeats(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore
) -> None:
    """A 410 ERROR event leads to a relist that hands on only the news."""
    for number in range(3):
        apiserver.add(rejection_event(number))
    watcher = make_watcher(api, store)
    async with Collector(watcher) as collector:
        await collector.wait_for(3)
        await wait_until(lambda: len(apiserver.watches()) == 1)

        apiserver.drop_watches()
        apiserver.add(rejection_event(3))
        apiserver.compact()
        apiserver.add(rejection_event(4))
        await collector.wait_for(5)
        await collector.settle()

    assert collector.names == [f"web-{n:05d}.17a" for n in range(5)]
    assert watcher.stats.relists == 1
    assert watcher.stats.lists == 2
    assert watcher.stats.duplicates == 3


async def test_http_gone_on_watch_relists(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore
) -> None:
    """A 410 status code, not only an ERROR event, also means: list again."""
    apiserver.add(rejection_event(0))
    watcher = make_watcher(api, store)
    async with Collector(watcher) as collector:
        await collector.wait_for(1)
        await wait_until(lambda: len(apiserver.watches()) == 1)
        apiserver.fail_next(410, reason="Expired")
        apiserver.drop_watches()
        apiserver.add(rejection_event(1))
        await collector.wait_for(2)
        await collector.settle(0.1)

    assert collector.names == ["web-00000.17a", "web-00001.17a"]
    assert watcher.stats.relists == 1


async def test_bookmark_keeps_the_watch_resumable(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore
) -> None:
    """Bookmarks move our version past other namespaces' changes, so no 410."""
    settings = dataclasses.replace(FAST, namespaces=("team-a",))
    watcher = make_watcher(api, store, settings)
    async with Collector(watcher) as collector:
        await wait_until(lambda: len(apiserver.watches()) == 1)
        for number in range(5):
            apiserver.add(rejection_event(number, namespace="team-b"))
        apiserver.bookmark()
        await wait_until(lambda: watcher.stats.bookmarks == 1)
        bookmarked = apiserver.resource_version

        apiserver.compact()
        apiserver.drop_watches()
        apiserver.add(rejection_event(9, namespace="team-a"))
        await collector.wait_for(1)

    assert collector.names == ["web-00009.17a"]
    assert apiserver.watches()[1].query["resourceVersion"] == str(bookmarked)
    assert apiserver.watches()[1].path == "/api/v1/namespaces/team-a/events"
    assert watcher.stats.relists == 0


async def test_watches_each_configured_namespace(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore
) -> None:
    """Two namespaces get two watches; a third namespace stays unseen."""
    for namespace in ("team-a", "team-b", "team-c"):
        apiserver.add(rejection_event(1, namespace=namespace))
    settings = dataclasses.replace(FAST, namespaces=("team-a", "team-b"))
    async with Collector(make_watcher(api, store, settings)) as collector:
        await collector.wait_for(2)
        apiserver.add(rejection_event(2, namespace="team-c"))
        apiserver.add(rejection_event(2, namespace="team-b"))
        await collector.wait_for(3)
        await collector.settle(0.1)

    assert sorted((r.namespace, r.event["metadata"]["name"]) for r in collector.items) == [
        ("team-a", "web-00001.17a"),
        ("team-b", "web-00001.17a"),
        ("team-b", "web-00002.17a"),
    ]
    assert {r.path for r in apiserver.requests} == {
        "/api/v1/namespaces/team-a/events",
        "/api/v1/namespaces/team-b/events",
    }


async def test_expired_continue_token_relists(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore
) -> None:
    """A paginated list whose token expires starts over, repeating nothing."""
    for number in range(5):
        apiserver.add(rejection_event(number))
    apiserver.expire_continues = 1
    watcher = make_watcher(api, store, dataclasses.replace(FAST, page_size=2))
    async with Collector(watcher) as collector:
        await collector.wait_for(5)
        await collector.settle()

    assert sorted(collector.names) == [f"web-{n:05d}.17a" for n in range(5)]
    assert watcher.stats.relists == 1


async def test_count_bump_is_handed_on_again(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore
) -> None:
    """The same rejection happening again is news; other updates are not."""
    event = apiserver.add(rejection_event(0))
    name = event["metadata"]["name"]
    async with Collector(make_watcher(api, store)) as collector:
        await collector.wait_for(1)
        apiserver.modify("default", name, lastTimestamp="2026-01-01T00:00:00Z")
        apiserver.modify("default", name, count=2)
        apiserver.delete("default", name)
        await collector.wait_for(2)
        await collector.settle()

    assert [r.count for r in collector.items] == [1, 2]
    assert collector.items[0].uid == collector.items[1].uid


async def test_series_count_counts_as_occurrences(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore
) -> None:
    """events.k8s.io-style series counts are read as well as `count`."""
    apiserver.add(rejection_event(0, count=None, series={"count": 4}))
    async with Collector(make_watcher(api, store)) as collector:
        await collector.wait_for(1)

    assert collector.items[0].count == 4


async def test_server_errors_back_off_then_recover(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    """503s and a 429 are retried with backoff, and logged as warnings."""
    apiserver.add(rejection_event(0))
    apiserver.fail_next(503, times=2)
    apiserver.fail_next(429)
    watcher = make_watcher(api, store)
    with caplog.at_level(logging.WARNING, logger="bot.kube.watching"):
        async with Collector(watcher) as collector:
            await collector.wait_for(1)
            await wait_until(lambda: watcher.stats.watches == 1)

    assert watcher.stats.reconnects == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert "HTTP 503" in warnings[0]
    assert "injected failure 503" in warnings[0]


async def test_access_denied_keeps_retrying(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    """Missing RBAC is a degraded state: warn, wait, and try again."""
    apiserver.add(rejection_event(0))
    apiserver.fail_next(403, times=2, reason="Forbidden")
    with caplog.at_level(logging.WARNING, logger="bot.kube.watching"):
        async with Collector(make_watcher(api, store)) as collector:
            await collector.wait_for(1)

    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 2
    assert "RBAC" in messages[0]


async def test_bad_request_stops_the_watcher(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore
) -> None:
    """A 400 will not go away by retrying: the consumer gets the error."""
    apiserver.fail_next(400, reason="BadRequest")
    watcher = make_watcher(api, store)

    with pytest.raises(PermanentError, match="HTTP 400"):
        await take(watcher, 1)


async def test_api_server_restart_is_survived(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore
) -> None:
    """While the server is down we back off; once back, we catch up."""
    apiserver.add(rejection_event(0))
    watcher = make_watcher(api, store)
    async with Collector(watcher) as collector:
        await collector.wait_for(1)
        await wait_until(lambda: len(apiserver.watches()) == 1)

        await apiserver.stop()
        await wait_until(lambda: watcher.stats.reconnects >= 3)
        apiserver.add(rejection_event(1))
        await apiserver.start()
        await collector.wait_for(2)
        await collector.settle(0.1)

    assert collector.names == ["web-00000.17a", "web-00001.17a"]
    assert watcher.stats.lists == 1


async def test_api_server_restart_with_lost_history_relists(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore
) -> None:
    """A server that comes back without our version answers 410; we relist."""
    apiserver.add(rejection_event(0))
    watcher = make_watcher(api, store)
    async with Collector(watcher) as collector:
        await collector.wait_for(1)
        await wait_until(lambda: len(apiserver.watches()) == 1)

        await apiserver.stop()
        apiserver.add(rejection_event(1))
        apiserver.compact()
        await apiserver.start()
        await collector.wait_for(2)
        await collector.settle()

    assert collector.names == ["web-00000.17a", "web-00001.17a"]
    assert watcher.stats.relists == 1


async def test_server_side_timeout_rewatches_without_listing(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore
) -> None:
    """A watch the server ends normally is renewed from our version."""
    watcher = make_watcher(api, store, dataclasses.replace(FAST, watch_timeout=0.5))
    async with Collector(watcher) as collector:
        await wait_until(lambda: len(apiserver.watches()) >= 2)
        apiserver.add(rejection_event(0))
        await collector.wait_for(1)

    assert watcher.stats.lists == 1
    assert watcher.stats.reconnects == 0


async def test_restart_with_same_store_neither_drops_nor_repeats(
    apiserver: FakeApiServer, api: ApiClient, store_path: Path
) -> None:
    """A new process on the same SQLite file picks up exactly where we were."""
    for number in range(5):
        apiserver.add(rejection_event(number))

    # The first process handles three, then stops.
    with SQLiteStore(store_path) as first_store:
        first = await take(make_watcher(api, first_store), 3)
    apiserver.add(rejection_event(5))
    apiserver.add(rejection_event(6))

    # The second one gets the rest, and nothing the first one handled.
    with SQLiteStore(store_path) as second_store:
        watcher = make_watcher(api, second_store)
        async with Collector(watcher) as collector:
            await collector.wait_for(4)
            await collector.settle()

    handled = [r.event["metadata"]["name"] for r in first] + collector.names
    assert sorted(handled) == [f"web-{n:05d}.17a" for n in range(7)]
    assert watcher.stats.duplicates == 3


async def test_unacknowledged_rejection_is_handed_on_again(
    apiserver: FakeApiServer, api: ApiClient, store_path: Path
) -> None:
    """One the consumer never finished is offered to the next process."""
    apiserver.add(rejection_event(0))
    apiserver.add(rejection_event(1))

    with SQLiteStore(store_path) as first_store:
        watcher = make_watcher(api, first_store)
        stream = watcher.rejections()
        first = await anext(stream)  # handled: the consumer comes back for more
        second = await anext(stream)  # never finished: the process stops here
        await stream.aclose()

    with SQLiteStore(store_path) as second_store:
        again = await take(make_watcher(api, second_store), 1)

    assert first.event["metadata"]["name"] == "web-00000.17a"
    assert [r.uid for r in again] == [second.uid]


async def test_failing_handler_leaves_rejection_unacknowledged(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    """run() logs a handler's failure and does not record the rejection."""
    apiserver.add(rejection_event(0))
    apiserver.add(rejection_event(1))
    handled: list[str] = []

    async def handler(rejection: watching.Rejection[Denial]) -> None:
        if rejection.event["metadata"]["name"] == "web-00000.17a":
            raise RuntimeError("Slack is down")
        handled.append(rejection.uid)

    watcher = make_watcher(api, store)
    task = asyncio.create_task(watcher.run(handler))
    await wait_until(lambda: len(handled) == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    failed = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert failed.getMessage().startswith("Handling the rejection in ReplicaSet default/web-00000")
    assert failed.__dict__["object_name"] == "web-00000"  # the structured `extra`
    assert store.get_sighting(handled[0]) is not None
    assert len([uid for uid in handled if store.get_sighting(uid)]) == 1


async def test_classifier_failure_skips_only_that_event(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A parser bug on one event is logged; the others still come through."""

    def fragile(event: Mapping[str, Any]) -> list[Denial]:
        if "00000" in event["metadata"]["name"]:
            raise ValueError("cannot parse")
        return classify(event)

    apiserver.add(rejection_event(0))
    apiserver.add(rejection_event(1))
    watcher = watching.EventWatcher(api, classify=fragile, store=store, settings=FAST)
    async with Collector(watcher) as collector:
        await collector.wait_for(1)

    assert collector.names == ["web-00001.17a"]
    assert any(
        "Could not classify event default/web-00000" in r.getMessage() for r in caplog.records
    )


async def test_old_sightings_are_forgotten_on_list(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore
) -> None:
    """Each list prunes sightings older than the retention."""
    apiserver.add(rejection_event(0))
    first = await take(make_watcher(api, store), 1)

    no_retention = dataclasses.replace(FAST, retention=datetime.timedelta(0))
    await take_nothing(make_watcher(api, store, no_retention))

    assert store.get_sighting(first[0].uid) is None


async def take_nothing(watcher: watching.EventWatcher[Denial]) -> None:
    stream = watcher.rejections()
    try:
        async with asyncio.timeout(0.3):
            await anext(stream)
    except TimeoutError:
        pass
    finally:
        await stream.aclose()


async def test_intake_classifier_finds_the_rejections(
    apiserver: FakeApiServer, api: ApiClient, store: SQLiteStore
) -> None:
    """Wired to the real Event parser, only denials come through."""
    psa = (
        'Error creating: pods "web-7d9-x" is forbidden: violates PodSecurity '
        '"restricted:latest": privileged (container "app" must not set '
        "securityContext.privileged=true)"
    )
    apiserver.add(rejection_event(0, message=psa))
    apiserver.add(noise_event(1))
    apiserver.add(rejection_event(2))

    def admission_records(event: Mapping[str, Any]) -> list[Record]:
        # NB: the parser gives every Event a record; one naming no engine is
        # no rejection.
        return [record for record in events.from_object(event) if record.engine is not None]

    watcher = watching.EventWatcher(api, classify=admission_records, store=store, settings=FAST)

    async with contextlib.aclosing(watcher.rejections()) as stream:
        async with asyncio.timeout(10):
            first = await anext(stream)
            second = await anext(stream)

    assert [record.engine for record in first.records] == ["psa"]
    assert first.records[0].violations[0].policy == "restricted:latest"
    assert [record.engine for record in second.records] == ["webhook"]
