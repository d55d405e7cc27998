"""Fixtures for the cluster layer: an emulated API server and a real client.

The client is built by `bot.kube.clients.connect` from a kubeconfig that
points at the emulator, so these tests cross the same code a deployment does.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient

from bot.kube import clients, watching
from bot.store.sqlite import SQLiteStore
from tests.kube.apiserver import FakeApiServer


@dataclass(frozen=True)
class Denial:
    """The stand-in classifier's record: enough to tell rejections apart."""

    reason: str
    message: str


def classify(event: Mapping[str, Any]) -> list[Denial]:
    """A stand-in for the intake parsers: FailedCreate or PolicyViolation
    events whose message says "denied" are rejections."""
    reason = str(event.get("reason", ""))
    message = str(event.get("message", ""))
    if reason in ("FailedCreate", "PolicyViolation") and "denied" in message:
        return [Denial(reason, message)]
    return []


def rejection_event(number: int, *, namespace: str = "default", **fields: Any) -> dict[str, Any]:
    """An Event like the ReplicaSet controller writes when a webhook says no."""
    event: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"web-{number:05d}.17a", "namespace": namespace},
        "reason": "FailedCreate",
        "type": "Warning",
        "count": 1,
        "message": (
            f'Error creating: admission webhook "validate.kyverno.svc" denied the request '
            f"(pod web-{number:05d})"
        ),
        "involvedObject": {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": f"web-{number:05d}",
            "namespace": namespace,
        },
    }
    event.update(fields)
    return event


def noise_event(number: int, *, namespace: str = "default") -> dict[str, Any]:
    return {
        "metadata": {"name": f"noise-{number:05d}.17b", "namespace": namespace},
        "reason": "Scheduled",
        "type": "Normal",
        "message": f"Successfully assigned {namespace}/web-{number} to node-1",
        "involvedObject": {"kind": "Pod", "name": f"web-{number}", "namespace": namespace},
    }


@pytest.fixture
async def apiserver() -> AsyncIterator[FakeApiServer]:
    server = FakeApiServer()
    await server.start()
    yield server
    await server.stop()


def write_kubeconfig(path: Path, server: str) -> Path:
    path.write_text(
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        f"- name: emulator\n  cluster:\n    server: {server}\n"
        "users:\n"
        "- name: tester\n  user:\n    token: not-a-secret\n"
        "contexts:\n"
        "- name: emulator\n  context:\n    cluster: emulator\n    user: tester\n"
        "current-context: emulator\n"
    )
    return path


@pytest.fixture
def api(apiserver: FakeApiServer, tmp_path: Path) -> Iterator[ApiClient]:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", apiserver.url)
    client = clients.connect(kubeconfig=str(kubeconfig))
    yield client
    clients.close(client)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "policybot.db"


@pytest.fixture
def store(store_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(store_path) as opened:
        yield opened


FAST = watching.WatchSettings(
    watch_timeout=30.0,
    connect_timeout=2.0,
    read_slack=5.0,
    backoff_base=0.01,
    backoff_cap=0.05,
)


def make_watcher(
    api: ApiClient, store: SQLiteStore, settings: watching.WatchSettings = FAST
) -> watching.EventWatcher[Denial]:
    return watching.EventWatcher(
        api, classify=classify, store=store, settings=settings, rng=random.Random(7)
    )


# Long enough for a slow CI machine, short enough to fail a hung test fast.
PATIENCE = 10.0


async def take(
    watcher: watching.EventWatcher[Denial], count: int
) -> list[watching.Rejection[Denial]]:
    """The next `count` rejections, each acknowledged before the next is read."""
    taken: list[watching.Rejection[Denial]] = []
    async with asyncio.timeout(PATIENCE):
        stream = watcher.rejections()
        try:
            async for rejection in stream:
                taken.append(rejection)
                if len(taken) == count:
                    watcher.acknowledge(rejection)
                    break
        finally:
            await stream.aclose()
    return taken


async def expect_quiet(watcher: watching.EventWatcher[Denial], *, seconds: float = 0.3) -> None:
    """Fail if the watcher yields anything within `seconds`."""
    stream = watcher.rejections()
    try:
        async with asyncio.timeout(seconds):
            async for rejection in stream:
                pytest.fail(f"unexpected rejection {rejection.describe()}")
    except TimeoutError:
        pass
    finally:
        await stream.aclose()


class Collector:
    """Runs `watcher.run` in the background and keeps what it handed on."""

    def __init__(self, watcher: watching.EventWatcher[Denial]) -> None:
        self.watcher = watcher
        self.items: list[watching.Rejection[Denial]] = []
        self._task: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()

    async def __aenter__(self) -> Collector:
        self._task = asyncio.create_task(self.watcher.run(self._handle))
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _handle(self, rejection: watching.Rejection[Denial]) -> None:
        self.items.append(rejection)
        self._arrived.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(PATIENCE):
            while len(self.items) < count:
                if self._task is not None and self._task.done():
                    self._task.result()  # raises what stopped the watcher
                    pytest.fail("the watcher stopped")
                self._arrived.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.05):
                        await self._arrived.wait()

    async def settle(self, seconds: float = 0.3) -> None:
        """Give the watcher time to hand on anything it wrongly would."""
        await asyncio.sleep(seconds)

    @property
    def names(self) -> list[str]:
        return [str(r.event["metadata"]["name"]) for r in self.items]


async def wait_until(condition: Callable[[], bool]) -> None:
    """Poll `condition`: the emulator's and watcher's counters signal nothing."""
    async with asyncio.timeout(PATIENCE):
        while not condition():  # noqa: ASYNC110 (nothing to wait on but the counters)
            await asyncio.sleep(0.01)
