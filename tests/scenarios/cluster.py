"""The Events emulator of `tests.kube.apiserver`, serving workloads too.

The bot reads more than Events: the owner chain of a refused Pod (ReplicaSet,
Deployment) and the Namespace whose labels name the owning team. This
emulator adds plain GETs of such objects to the same server, so the official
client, configured by a kubeconfig, reaches all of it at one address.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.kube.apiserver import FakeApiServer

# (group/version prefix, plural) of the kinds the scenarios store.
PLURALS = {
    "Namespace": ("/api/v1", "namespaces"),
    "Pod": ("/api/v1", "pods"),
    "ReplicaSet": ("/apis/apps/v1", "replicasets"),
    "Deployment": ("/apis/apps/v1", "deployments"),
}


@dataclass
class ClusterServer(FakeApiServer):
    """Events with history and watches, plus objects to GET by path."""

    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)

    def put(self, obj: dict[str, Any]) -> None:
        """Store an object where the API server would serve it."""
        self.stored[path_of(obj)] = copy.deepcopy(obj)

    async def start(self) -> None:
        # NB: the parent builds its app in start(); we build the same one
        # with one more route, and reuse its handlers for the Events.
        app = web.Application()
        app.router.add_get("/api/v1/events", self._serve)
        app.router.add_get("/api/v1/namespaces/{namespace}/events", self._serve)
        app.router.add_get("/{path:.*}", self._serve_object)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        if not self.port:
            self.port = self._runner.addresses[0][1]

    async def _serve_object(self, request: web.Request) -> web.Response:
        self.reads.append(request.path)
        found = self.stored.get(request.path)
        if found is None:
            body = {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": "NotFound",
                "message": f"{request.path} not found",
                "code": 404,
            }
            return web.json_response(body, status=404)
        return web.json_response(found)


def path_of(obj: dict[str, Any]) -> str:
    prefix, plural = PLURALS[obj["kind"]]
    metadata = obj["metadata"]
    if obj["kind"] == "Namespace":
        return f"{prefix}/namespaces/{metadata['name']}"
    return f"{prefix}/namespaces/{metadata['namespace']}/{plural}/{metadata['name']}"
