"""A long-running watch of core/v1 Events that hands on admission rejections.

For each scope (all namespaces, or each configured namespace) we list the
Events, then watch from the list's resourceVersion with bookmarks, so that
quiet periods still move our resourceVersion forward. When the connection
drops or the server ends the watch, we watch again from the last
resourceVersion we processed: the server replays what we missed. When it
answers 410 Gone, that version is too old to replay, so we list again.
Failures back off exponentially with jitter, so a fleet of bots does not
stampede an API server that is coming back up.

A classifier (injected, see `Classifier`) decides which Events are admission
rejections. Every rejection is handed on once: an Event keeps its uid when
the same rejection repeats and its `count` grows, so "uid up to count" is
what we remember, in a `bot.store.SeenEvents` that outlives the process.
A relist after 410, a reconnect, or a new process with the same store file
therefore neither repeats nor drops one.

A rejection counts as handled once the consumer comes back for the next one
(or calls `acknowledge`). One that was handed on but not acknowledged when
the process stopped is handed on again by the next process, because the
consumer may not have finished with it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime
import json
import logging
import random
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeAlias, TypeVar

import kubernetes
from kubernetes.client import ApiClient

from bot.errors import TemporaryError
from bot.kube import clients
from bot.store import SeenEvents, Sighting

logger = logging.getLogger(__name__)

R = TypeVar("R")

Classifier: TypeAlias = Callable[[Mapping[str, Any]], Sequence[R]]
"""Given an Event object, the rejection records it carries; empty if none."""


@dataclass(frozen=True)
class WatchSettings:
    """How to watch; the defaults suit a real cluster."""

    namespaces: tuple[str, ...] = ()
    """Namespaces to watch, one list+watch each; empty means all namespaces."""

    page_size: int = 500
    """Events per page when listing."""

    watch_timeout: float = 300.0
    """The server ends each watch after 1 to 2 times this many seconds."""

    connect_timeout: float = 10.0
    """Seconds to wait for a TCP connection to the API server."""

    read_slack: float = 30.0
    """Seconds of silence beyond the watch timeout before we give up on a watch."""

    backoff_base: float = 0.5
    """The first retry waits up to this many seconds; each failure doubles it."""

    backoff_cap: float = 60.0
    """No retry waits longer than this."""

    retention: datetime.timedelta = datetime.timedelta(hours=24)
    """How long to remember a sighting. Must exceed the cluster's event TTL
    (the API server's --event-ttl, 1 hour by default), or a relist could hand
    on an old rejection again."""

    queue_size: int = 100
    """Rejections read ahead of the consumer."""


@dataclass(frozen=True)
class Rejection(Generic[R]):
    """An admission rejection found in one Event, as handed on."""

    uid: str
    count: int
    resource_version: str
    namespace: str
    event: Mapping[str, Any]
    """The Event object as the API server sent it; never log it whole."""

    records: tuple[R, ...]
    """What the classifier found in it."""

    @property
    def involved(self) -> Mapping[str, Any]:
        """The object the Event is about (core/v1 `involvedObject`)."""
        involved = self.event.get("involvedObject") or self.event.get("regarding") or {}
        return involved if isinstance(involved, Mapping) else {}

    def describe(self) -> str:
        involved = self.involved
        return f"{involved.get('kind', '?')} {self.namespace}/{involved.get('name', '?')}"


@dataclass
class WatchStats:
    """Counters for tests, benchmarks and a status command."""

    lists: int = 0
    watches: int = 0
    reconnects: int = 0
    relists: int = 0
    events: int = 0
    bookmarks: int = 0
    rejections: int = 0
    duplicates: int = 0


@dataclass
class _Scope:
    """One list+watch: a namespace, or the whole cluster (namespace "")."""

    namespace: str
    resource_version: str | None = None
    failures: int = 0
    label: str = field(init=False)

    def __post_init__(self) -> None:
        self.label = f"namespace {self.namespace}" if self.namespace else "all namespaces"


def log_for(rejection: Rejection[Any]) -> logging.LoggerAdapter[logging.Logger]:
    """A logger whose records carry the rejected object in `extra`."""
    involved = rejection.involved
    extra = {
        "namespace": rejection.namespace,
        "kind": involved.get("kind", ""),
        "object_name": involved.get("name", ""),  # NB: `name` is taken by LogRecord
        "event_uid": rejection.uid,
    }
    return logging.LoggerAdapter(logger, extra)


class EventWatcher(Generic[R]):
    """Watches Events and yields the admission rejections among them.

    Args:
        api: a client from `bot.kube.clients.connect`.
        classify: finds rejection records in an Event object.
        store: remembers what was handed on, across restarts.
        settings: scopes, timeouts and backoff.
        rng: the jitter's source; tests pass a seeded one.
    """

    def __init__(
        self,
        api: ApiClient,
        *,
        classify: Classifier[R],
        store: SeenEvents,
        settings: WatchSettings | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._core = kubernetes.client.CoreV1Api(api)
        self._classify = classify
        self._store = store
        self.settings = settings or WatchSettings()
        self._rng = rng or random.Random()
        self._in_flight: dict[str, int] = {}
        self.stats = WatchStats()

    def rejections(self) -> AsyncGenerator[Rejection[R]]:
        """Yield rejections until cancelled; each counts as handled once the
        consumer asks for the next one. See the module docstring."""
        return self._stream(acknowledging=True)

    def acknowledge(self, rejection: Rejection[R]) -> None:
        """Record `rejection` as handled; calling it twice does no harm."""
        self._store.record_sighting(
            Sighting(
                uid=rejection.uid,
                count=rejection.count,
                resource_version=rejection.resource_version,
                seen_at=datetime.datetime.now(tz=datetime.UTC),
            )
        )
        if self._in_flight.get(rejection.uid, 0) <= rejection.count:
            self._in_flight.pop(rejection.uid, None)

    async def run(self, handler: Callable[[Rejection[R]], Awaitable[None]]) -> None:
        """Call `handler` for each rejection, acknowledging it once it returns.

        A handler that raises is logged; its rejection stays unacknowledged,
        so the next process hands it on again.
        """
        async with contextlib.aclosing(self._stream(acknowledging=False)) as stream:
            async for rejection in stream:
                try:
                    await handler(rejection)
                except Exception:
                    log_for(rejection).exception(
                        "Handling the rejection in %s failed; it will be handed on again "
                        "after a restart.",
                        rejection.describe(),
                    )
                    self._in_flight.pop(rejection.uid, None)
                    continue
                self.acknowledge(rejection)

    async def _stream(self, *, acknowledging: bool) -> AsyncGenerator[Rejection[R]]:
        scopes = [_Scope(ns) for ns in self.settings.namespaces] or [_Scope("")]
        queue: asyncio.Queue[Rejection[R] | BaseException] = asyncio.Queue(self.settings.queue_size)

        # NB: a watch keeps a thread blocked on its socket for minutes, so the
        # watches get their own threads; asyncio.to_thread's shared pool stays
        # free for short calls.
        executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=len(scopes), thread_name_prefix="policybot-watch"
        )
        producers = [
            asyncio.create_task(self._produce(scope, queue, executor), name=f"watch {scope.label}")
            for scope in scopes
        ]
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if acknowledging:  # reached only when the consumer asks for more
                    self.acknowledge(item)
        finally:
            for task in producers:
                task.cancel()
            await asyncio.gather(*producers, return_exceptions=True)
            executor.shutdown(wait=False, cancel_futures=True)
            self._in_flight.clear()

    async def _produce(
        self,
        scope: _Scope,
        queue: asyncio.Queue[Rejection[R] | BaseException],
        executor: concurrent.futures.Executor,
    ) -> None:
        """Keep one scope's list+watch going; pass on what cannot be survived."""
        try:
            while True:
                await self._follow(scope, queue, executor)
        except asyncio.CancelledError:
            raise
        except BaseException as e:
            await queue.put(e)

    async def _follow(
        self,
        scope: _Scope,
        queue: asyncio.Queue[Rejection[R] | BaseException],
        executor: concurrent.futures.Executor,
    ) -> None:
        """One round: list if we must, watch until it ends, back off on failure."""
        try:
            if scope.resource_version is None:
                scope.resource_version = await self._list(scope, queue)
                self._forget_old_sightings()
            await self._watch(scope, queue, executor)
        except clients.GoneError:
            # The server compacted past our version: only a fresh list helps.
            logger.info(
                "The watch of events in %s expired at resourceVersion %s; listing again.",
                scope.label,
                scope.resource_version,
            )
            self.stats.relists += 1
            scope.resource_version = None
            if scope.failures:  # expired again without a single event: slow down
                await self._back_off(scope, None)
            else:
                scope.failures += 1
        except clients.AccessDeniedError as e:
            # Someone may fix the RBAC while we wait: keep trying, slowly.
            logger.warning("Retrying events in %s after an access error. %s", scope.label, e)
            await self._back_off(scope, None)
        except TemporaryError as e:
            logger.warning("Retrying events in %s after an error. %s", scope.label, e)
            self.stats.reconnects += 1
            await self._back_off(scope, e.retry_after)

    async def _list(self, scope: _Scope, queue: asyncio.Queue[Any]) -> str:
        """List every Event in the scope, page by page; return the list's version."""
        token: str | None = None
        listed = 0
        while True:
            page = await clients.read_json(
                self._list_function(scope),
                *self._scope_args(scope),
                limit=self.settings.page_size,
                _continue=token,
                _request_timeout=(self.settings.connect_timeout, self.settings.read_slack * 2),
                action=f"list events in {scope.label}",
            )
            for item in page.get("items") or []:
                # NB: items of a list carry no apiVersion and kind of their own.
                item.setdefault("apiVersion", "v1")
                item.setdefault("kind", "Event")
                await self._offer(item, queue)
            listed += len(page.get("items") or [])
            metadata = page.get("metadata") or {}
            token = metadata.get("continue") or None
            if token is None:
                self.stats.lists += 1
                logger.info(
                    "Listed %d events in %s at resourceVersion %s.",
                    listed,
                    scope.label,
                    metadata.get("resourceVersion"),
                )
                return str(metadata.get("resourceVersion") or "")

    async def _watch(
        self,
        scope: _Scope,
        queue: asyncio.Queue[Any],
        executor: concurrent.futures.Executor,
    ) -> None:
        """Follow one watch request until the server or the network ends it."""
        timeout = int(self.settings.watch_timeout * (1 + self._rng.random()))
        action = f"watch events in {scope.label}"
        response = await clients.call(
            self._list_function(scope),
            *self._scope_args(scope),
            watch=True,
            allow_watch_bookmarks=True,
            resource_version=scope.resource_version,
            timeout_seconds=max(1, timeout),
            _preload_content=False,
            _request_timeout=(self.settings.connect_timeout, timeout + self.settings.read_slack),
            action=action,
        )
        self.stats.watches += 1
        logger.debug(
            "Watching events in %s from resourceVersion %s.", scope.label, scope.resource_version
        )
        lines = _LineReader(response)
        loop = asyncio.get_running_loop()
        try:
            while True:
                with clients.translating(action):
                    batch = await loop.run_in_executor(executor, lines.read_batch)
                if batch is None:
                    logger.debug("The server ended the watch of events in %s.", scope.label)
                    return
                scope.failures = 0  # the connection works again
                for line in batch:
                    await self._dispatch(scope, line, queue, action=action)
        finally:
            lines.close()

    async def _dispatch(
        self, scope: _Scope, line: bytes, queue: asyncio.Queue[Any], *, action: str
    ) -> None:
        """Act on one line of a watch stream."""
        try:
            event = json.loads(line)
            kind, obj = event["type"], event["object"]
        except (ValueError, KeyError, TypeError) as e:
            raise TemporaryError(f"Could not {action}: a watch event is not valid JSON.") from e
        if kind == "ERROR":
            status = obj if isinstance(obj, Mapping) else {}
            message = clients.describe_status({**status, "kind": "Status"})
            raise clients.error_for_status(
                int(status.get("code") or 500),
                f"Could not {action}: {message or 'the server reported an error'}",
            )

        # Every other event moves our place in the stream forward.
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if kind == "BOOKMARK":
            self.stats.bookmarks += 1
        elif kind in ("ADDED", "MODIFIED"):
            obj.setdefault("apiVersion", "v1")
            obj.setdefault("kind", "Event")
            await self._offer(obj, queue)
        if version:
            scope.resource_version = str(version)

    async def _offer(self, event: Mapping[str, Any], queue: asyncio.Queue[Any]) -> None:
        """Queue the Event if it is a rejection nobody has handled yet."""
        self.stats.events += 1
        try:
            records = tuple(self._classify(event))
        except Exception:
            metadata = event.get("metadata") or {}
            logger.exception(
                "Could not classify event %s/%s (uid %s); skipping it.",
                metadata.get("namespace"),
                metadata.get("name"),
                metadata.get("uid"),
            )
            return
        if not records:
            return

        rejection = self._make_rejection(event, records)
        if not self._is_news(rejection):
            self.stats.duplicates += 1
            log_for(rejection).debug(
                "Skipping the rejection in %s: already handed on.", rejection.describe()
            )
            return
        self._in_flight[rejection.uid] = rejection.count
        self.stats.rejections += 1
        await queue.put(rejection)

    def _is_news(self, rejection: Rejection[R]) -> bool:
        if self._in_flight.get(rejection.uid, 0) >= rejection.count:
            return False
        sighting = self._store.get_sighting(rejection.uid)
        return sighting is None or sighting.count < rejection.count

    @staticmethod
    def _make_rejection(event: Mapping[str, Any], records: tuple[R, ...]) -> Rejection[R]:
        metadata = event.get("metadata") or {}
        series = event.get("series") or {}
        count = max(int(event.get("count") or 0), int(series.get("count") or 0), 1)
        return Rejection(
            uid=str(metadata.get("uid") or ""),
            count=count,
            resource_version=str(metadata.get("resourceVersion") or ""),
            namespace=str(metadata.get("namespace") or ""),
            event=event,
            records=records,
        )

    async def _back_off(self, scope: _Scope, retry_after: float | None) -> None:
        """Sleep before the next attempt: exponential, with "equal jitter"."""
        ceiling = min(self.settings.backoff_cap, self.settings.backoff_base * 2**scope.failures)
        delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        if retry_after is not None:
            delay = max(delay, retry_after)
        scope.failures += 1
        logger.debug("Retrying events in %s in %.2fs.", scope.label, delay)
        await asyncio.sleep(delay)

    def _forget_old_sightings(self) -> None:
        cutoff = datetime.datetime.now(tz=datetime.UTC) - self.settings.retention
        forgotten = self._store.forget_sightings(before=cutoff)
        if forgotten:
            logger.debug("Forgot %d sightings older than %s.", forgotten, cutoff.isoformat())

    def _list_function(self, scope: _Scope) -> Callable[..., Any]:
        if scope.namespace:
            return self._core.list_namespaced_event
        return self._core.list_event_for_all_namespaces

    @staticmethod
    def _scope_args(scope: _Scope) -> tuple[str, ...]:
        return (scope.namespace,) if scope.namespace else ()


class _LineReader:
    """Splits a chunked watch response into JSON lines, one read at a time.

    Each `read_batch` blocks on the socket (run it in a thread) and returns the
    complete lines of the next chunk, or None when the stream has ended. A line
    cut off by a dropped connection is discarded, never parsed.
    """

    def __init__(self, response: Any) -> None:
        self._response = response
        self._chunks: Iterator[bytes] = response.stream(amt=None, decode_content=True)
        self._tail = b""

    def read_batch(self) -> list[bytes] | None:
        while True:
            chunk = next(self._chunks, None)
            if chunk is None:
                return None
            data = self._tail + chunk
            *lines, self._tail = data.split(b"\n")
            complete = [line for line in lines if line.strip()]
            if complete:
                return complete

    def close(self) -> None:
        # NB: shutdown() unblocks a read still waiting in another thread
        # (urllib3 >= 2.3); a plain close() could wait for it.
        with contextlib.suppress(Exception):
            self._response.shutdown()
        with contextlib.suppress(Exception):
            self._response.close()
        with contextlib.suppress(Exception):
            self._response.release_conn()
