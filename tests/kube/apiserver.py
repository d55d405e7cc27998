"""A small Kubernetes API server for core/v1 Events, over real HTTP.

kmock (used for the owner lookups) serves objects well, but its watch replays
every object on each request and ignores resourceVersion; the watcher's
contract is all about resourceVersion, so this emulator keeps a real history:

- every change gets the next resourceVersion; a list returns the current
  objects (paginated with `limit`/`continue`) and the current version;
- a watch replays the history after the requested version, then streams
  changes live, until its `timeoutSeconds` pass;
- `compact()` forgets the history: older versions get a 410 ERROR event, as a
  real API server's watch cache does; `expire_continue_tokens()` does the same
  for paginated lists (HTTP 410);
- `bookmark()` sends a BOOKMARK with the current version to watches that
  asked for bookmarks;
- `drop_watches()`, `drop_every` and `cut_lines` cut connections mid-stream,
  `fail_next()` answers the next requests with an error Status, and
  `stop()`/`start()` restart the server on the same port.

Objects of any other resource (LimitRanges, StorageClasses, ...) can be put
with `put_listed()`; they are served by plain list requests, namespaced or
cluster-wide, with no history and no watch. A collection nobody put anything
in lists as empty, as a resource the server knows but has no objects of.

It runs in the test's event loop; the official client, called from worker
threads, talks to it over loopback.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import copy
import itertools
import json
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Change:
    resource_version: int
    type: str
    object: dict[str, Any]


@dataclass
class Logged:
    """One request, as the emulator saw it."""

    path: str
    query: dict[str, str]

    @property
    def is_watch(self) -> bool:
        return self.query.get("watch") in ("true", "1")


@dataclass
class FakeApiServer:
    host: str = "127.0.0.1"
    port: int = 0
    drop_every: int | None = None
    """Cut each watch connection after it sent this many events."""

    cut_lines: bool = False
    """When cutting, send half of the next line first."""

    expire_continues: int = 0
    """Answer this many paginated list requests with 410 Expired."""

    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    listed: dict[str, dict[tuple[str, str], dict[str, Any]]] = field(default_factory=dict)
    """Other resources: by collection path (`/api/v1/limitranges`), then (namespace, name)."""

    history: list[Change] = field(default_factory=list)
    requests: list[Logged] = field(default_factory=list)
    resource_version: int = 1000
    compacted: int = 0
    sent: int = 0
    drops: int = 0

    def __post_init__(self) -> None:
        self._changed = asyncio.Condition()
        self._bookmarks = 0
        self._failures: deque[tuple[int, str]] = deque()
        self._tokens_epoch = 0
        self._transports: set[asyncio.BaseTransport] = set()
        self._runner: web.AppRunner | None = None
        self._names = itertools.count()
        self._wakers: set[asyncio.Task[None]] = set()

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v1/events", self._serve)
        app.router.add_get("/api/v1/namespaces/{namespace}/events", self._serve)
        for prefix in ("/api/{version}", "/apis/{group}/{version}"):
            app.router.add_get(f"{prefix}/{{plural}}", self._serve_listed)
            app.router.add_get(f"{prefix}/namespaces/{{namespace}}/{{plural}}", self._serve_listed)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        if not self.port:
            server = site._server
            assert isinstance(server, asyncio.base_events.Server)
            self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Go away like a restarting API server: open connections break."""
        self.drop_watches()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- changing the state ----------------------------------------------------

    def add(self, event: dict[str, Any]) -> dict[str, Any]:
        """Create an Event; uid and name are made up when missing."""
        event = copy.deepcopy(event)
        metadata = event.setdefault("metadata", {})
        metadata.setdefault("namespace", "default")
        metadata.setdefault("name", f"event-{next(self._names):06d}")
        metadata.setdefault("uid", str(uuid.uuid4()))
        return self._record("ADDED", event)

    def modify(self, namespace: str, name: str, **fields: Any) -> dict[str, Any]:
        event = copy.deepcopy(self.objects[namespace, name])
        event.update(fields)
        return self._record("MODIFIED", event)

    def delete(self, namespace: str, name: str) -> None:
        event = copy.deepcopy(self.objects[namespace, name])
        self._record("DELETED", event)

    def put_listed(self, obj: dict[str, Any], *, plural: str | None = None) -> None:
        """Store an object of another resource, where list requests find it.

        The collection comes from its apiVersion and kind (`plural` when the
        kind's plural is irregular); a namespaced object needs its namespace.
        """
        obj = copy.deepcopy(obj)
        metadata = obj.setdefault("metadata", {})
        self.resource_version += 1
        metadata["resourceVersion"] = str(self.resource_version)
        metadata.setdefault("uid", str(uuid.uuid4()))
        collection = collection_path(obj["apiVersion"], plural or plural_of(obj["kind"]))
        key = (metadata.get("namespace", ""), metadata["name"])
        self.listed.setdefault(collection, {})[key] = obj

    def bookmark(self) -> None:
        self._bookmarks += 1
        self._notify()

    def compact(self) -> None:
        """Forget the history: watches from older versions get 410 Gone."""
        self.compacted = self.resource_version

    def expire_continue_tokens(self) -> None:
        self._tokens_epoch += 1

    def fail_next(self, status: int, *, times: int = 1, reason: str = "Failure") -> None:
        self._failures.extend([(status, reason)] * times)

    def drop_watches(self) -> None:
        for transport in list(self._transports):
            transport.close()
        self._transports.clear()

    def watches(self) -> list[Logged]:
        return [r for r in self.requests if r.is_watch]

    def _record(self, kind: str, event: dict[str, Any]) -> dict[str, Any]:
        self.resource_version += 1
        metadata = event["metadata"]
        metadata["resourceVersion"] = str(self.resource_version)
        key = (metadata["namespace"], metadata["name"])
        if kind == "DELETED":
            self.objects.pop(key, None)
        else:
            self.objects[key] = event
        self.history.append(Change(self.resource_version, kind, copy.deepcopy(event)))
        self._notify()
        return event

    def _notify(self) -> None:
        async def wake() -> None:
            async with self._changed:
                self._changed.notify_all()

        task = asyncio.get_running_loop().create_task(wake())
        self._wakers.add(task)
        task.add_done_callback(self._wakers.discard)

    # -- serving ---------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        self.requests.append(Logged(request.path, query))
        namespace = request.match_info.get("namespace", "")
        if self._failures:
            status, reason = self._failures.popleft()
            return self._status(status, reason, f"injected failure {status}")
        if query.get("watch") in ("true", "1"):
            return await self._watch(request, namespace, query)
        return self._list(namespace, query)

    def _list(self, namespace: str, query: dict[str, str]) -> web.Response:
        items = sorted(
            (obj for (ns, _), obj in self.objects.items() if not namespace or ns == namespace),
            key=lambda obj: (obj["metadata"]["namespace"], obj["metadata"]["name"]),
        )
        limit = int(query.get("limit") or 0) or len(items) or 1
        start, version = 0, self.resource_version
        if token := query.get("continue"):
            epoch, start, version = (int(part) for part in token.split(":"))
            if self.expire_continues:
                self.expire_continues -= 1
                self.expire_continue_tokens()
            if epoch != self._tokens_epoch:
                return self._status(410, "Expired", "The provided continue parameter is too old")
        page = items[start : start + limit]
        metadata: dict[str, Any] = {"resourceVersion": str(version)}
        if start + limit < len(items):
            metadata["continue"] = f"{self._tokens_epoch}:{start + limit}:{version}"
        # NB: like the real server, items of a list carry no apiVersion/kind.
        body = {
            "apiVersion": "v1",
            "kind": "EventList",
            "metadata": metadata,
            "items": [
                {k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in page
            ],
        }
        return web.json_response(body)

    async def _serve_listed(self, request: web.Request) -> web.Response:
        self.requests.append(Logged(request.path, dict(request.query)))
        if self._failures:
            status, reason = self._failures.popleft()
            return self._status(status, reason, f"injected failure {status}")
        info = request.match_info
        group = info.get("group")
        api_version = f"{group}/{info['version']}" if group else info["version"]
        namespace = info.get("namespace", "")
        stored = self.listed.get(collection_path(api_version, info["plural"]), {})
        items = [obj for (ns, _), obj in sorted(stored.items()) if not namespace or ns == namespace]
        body = {
            "apiVersion": api_version,
            "kind": f"{items[0]['kind']}List" if items else "List",
            "metadata": {"resourceVersion": str(self.resource_version)},
            "items": [
                {k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in items
            ],
        }
        return web.json_response(body)

    async def _watch(
        self, request: web.Request, namespace: str, query: dict[str, str]
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        transport = request.transport
        assert transport is not None
        self._transports.add(transport)
        try:
            await self._stream(response, transport, namespace, query)
        except (ConnectionResetError, RuntimeError):
            pass  # the client or a test cut the connection
        finally:
            self._transports.discard(transport)
        return response

    async def _stream(
        self,
        response: web.StreamResponse,
        transport: asyncio.BaseTransport,
        namespace: str,
        query: dict[str, str],
    ) -> None:
        since = int(query.get("resourceVersion") or 0) or self.resource_version
        if since < self.compacted:
            error = {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "code": 410,
                "reason": "Expired",
                "message": f"too old resource version: {since} ({self.compacted})",
            }
            await response.write(json.dumps({"type": "ERROR", "object": error}).encode() + b"\n")
            await response.write_eof()
            return

        allow_bookmarks = query.get("allowWatchBookmarks") == "true"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(query.get("timeoutSeconds") or 1800)
        position = bisect.bisect_right([c.resource_version for c in self.history], since)
        bookmarks = self._bookmarks
        sent_here = 0
        while True:
            # Send what happened since our position, as one chunk.
            changes = [
                c
                for c in self.history[position:]
                if not namespace or c.object["metadata"]["namespace"] == namespace
            ]
            position = len(self.history)
            lines = [json.dumps({"type": c.type, "object": c.object}).encode() for c in changes]
            if allow_bookmarks and bookmarks != self._bookmarks:
                bookmarks = self._bookmarks
                mark = {
                    "kind": "Event",
                    "apiVersion": "v1",
                    "metadata": {"resourceVersion": str(self.resource_version)},
                }
                lines.append(json.dumps({"type": "BOOKMARK", "object": mark}).encode())

            # Cut the connection once enough has gone through it.
            if self.drop_every is not None and sent_here + len(lines) >= self.drop_every:
                keep = self.drop_every - sent_here
                half = lines[keep][: len(lines[keep]) // 2] if keep < len(lines) else b""
                tail = half if self.cut_lines else b""
                await response.write(b"".join(line + b"\n" for line in lines[:keep]) + tail)
                self.sent += keep
                self.drops += 1
                transport.close()
                return
            if lines:
                await response.write(b"".join(line + b"\n" for line in lines))
                self.sent += len(lines)
                sent_here += len(lines)

            # Wait for more, or end the watch as the server-side timeout says.
            remaining = deadline - loop.time()
            if remaining <= 0:
                await response.write_eof()
                return
            async with self._changed:
                if position == len(self.history) and bookmarks == self._bookmarks:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), remaining)

    @staticmethod
    def _status(code: int, reason: str, message: str) -> web.Response:
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code,
        }
        # NB: no Retry-After on 429: urllib3 would retry on its own, unseen.
        return web.json_response(body, status=code)


def collection_path(api_version: str, plural: str) -> str:
    """Where the API server lists a resource across namespaces."""
    prefix = "/api" if "/" not in api_version else "/apis"
    return f"{prefix}/{api_version}/{plural}"


def plural_of(kind: str) -> str:
    """The resource name of a kind, for the regular English plurals."""
    lower = kind.lower()
    if lower.endswith("s"):
        return f"{lower}es"
    if lower.endswith("y"):
        return f"{lower[:-1]}ies"
    return f"{lower}s"
