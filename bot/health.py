"""Health probes and Prometheus metrics, served over HTTP for the platform.

Three endpoints on one small aiohttp server:

- `/healthz`: the process is up and its event loop answers; a liveness probe.
  It checks nothing else on purpose: restarting the pod cures neither a
  Slack outage nor a lost API server.
- `/readyz`: every dependency answers (the store, Slack's `auth.test`, the
  API server). Each is a `Probe` injected by the wiring, so this module
  imports neither Slack nor Kubernetes. The answer is 200 or 503 with the
  details in JSON, for on-call to read with curl.
- `/metrics`: counters, gauges and histograms in the Prometheus text format
  (version 0.0.4), written here rather than with a client library: the bot
  has a dozen series, and the format is a few lines of text.

Probe results are cached for a few seconds, so a kubelet probing every
second does not turn into one `auth.test` per second.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from aiohttp import web

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


# -- readiness -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    """One dependency's state; `detail` says what on-call should look at."""

    ok: bool
    detail: str = ""


Probe = Callable[[], Awaitable[ProbeResult]]
"""Checks one dependency; may raise, which counts as not ready."""


class Readiness:
    """Runs the probes concurrently, each with a deadline, and caches the answer.

    Args:
        probes: by name, e.g. "store", "slack", "cluster".
        timeout: seconds one probe may take before it counts as failed.
        cache_for: seconds a result is reused.
        clock: monotonic seconds; tests pass a fake one.
    """

    def __init__(
        self,
        probes: Mapping[str, Probe],
        *,
        timeout: float = 3.0,
        cache_for: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probes = dict(probes)
        self._timeout = timeout
        self._cache_for = cache_for
        self._clock = clock
        self._cached: tuple[float, dict[str, ProbeResult]] | None = None
        self._lock = asyncio.Lock()

    async def check(self) -> dict[str, ProbeResult]:
        async with self._lock:
            now = self._clock()
            if self._cached is not None and now - self._cached[0] < self._cache_for:
                return self._cached[1]
            names = list(self._probes)
            results = await asyncio.gather(*(self._run(name) for name in names))
            checked = dict(zip(names, results, strict=True))
            self._cached = (now, checked)
        for name, result in checked.items():
            if not result.ok:
                logger.warning("Not ready: %s: %s", name, result.detail)
        return checked

    async def _run(self, name: str) -> ProbeResult:
        try:
            async with asyncio.timeout(self._timeout):
                return await self._probes[name]()
        except TimeoutError:
            return ProbeResult(False, f"no answer within {self._timeout:g}s")
        except Exception as error:
            logger.debug("The %s probe raised.", name, exc_info=True)
            return ProbeResult(False, f"{type(error).__name__}: {error}"[:300])


# -- metrics -------------------------------------------------------------------

LabelValues = tuple[str, ...]


class _Metric:
    kind = ""

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.labels = tuple(labels)

    def _key(self, values: Mapping[str, str]) -> LabelValues:
        if set(values) != set(self.labels):
            raise ValueError(
                f"{self.name} takes the labels {list(self.labels)}, got {sorted(values)}"
            )
        return tuple(str(values[label]) for label in self.labels)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {_escape_help(self.help)}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> Iterable[str]:
        raise NotImplementedError


class Counter(_Metric):
    """A count that only goes up.

    An unlabelled counter may instead be read from a callback when scraped,
    for counts another component keeps (the outbox's, kept in the store).
    """

    kind = "counter"

    def __init__(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str] = (),
        *,
        read: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[LabelValues, float] = {} if labels else {(): 0.0}
        self._read = read

    def read_from(self, read: Callable[[], float]) -> None:
        if self.labels:
            raise ValueError(f"{self.name} has labels; only unlabelled counters read callbacks")
        self._read = read

    def inc(self, amount: float = 1.0, /, **labels: str) -> None:
        if amount < 0:
            raise ValueError(f"{self.name} only goes up, got an increment of {amount}")
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        if self._read is not None:
            return _read_safely(self.name, self._read)
        return self._values.get(self._key(labels), 0.0)

    def samples(self) -> Iterable[str]:
        if self._read is not None:
            yield f"{self.name} {_number(self.value())}"
            return
        for key, value in sorted(self._values.items()):
            yield f"{self.name}{_labels(self.labels, key)} {_number(value)}"


class Gauge(_Metric):
    """A value read when scraped, from a callback (e.g. the outbox's backlog)."""

    kind = "gauge"

    def __init__(
        self,
        name: str,
        help_text: str,
        *,
        read: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(name, help_text)
        self._read = read
        self._value = 0.0

    def set(self, value: float) -> None:
        self._value = value

    def read_from(self, read: Callable[[], float]) -> None:
        self._read = read

    def value(self) -> float:
        if self._read is None:
            return self._value
        return _read_safely(self.name, self._read)

    def samples(self) -> Iterable[str]:
        yield f"{self.name} {_number(self.value())}"


class Histogram(_Metric):
    """Observed durations in cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str] = (),
        *,
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> None:
        super().__init__(name, help_text, labels)
        self.buckets = tuple(sorted(buckets))
        self._counts: dict[LabelValues, list[int]] = {}
        self._sums: dict[LabelValues, float] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        counts = self._counts.setdefault(key, [0] * (len(self.buckets) + 1))
        for index, bound in enumerate(self.buckets):
            if value <= bound:
                counts[index] += 1
        counts[-1] += 1  # +Inf
        self._sums[key] = self._sums.get(key, 0.0) + value

    def count(self, **labels: str) -> int:
        counts = self._counts.get(self._key(labels))
        return counts[-1] if counts else 0

    def samples(self) -> Iterable[str]:
        for key, counts in sorted(self._counts.items()):
            bounds = [*(_number(b) for b in self.buckets), "+Inf"]
            for bound, count in zip(bounds, counts, strict=True):
                names = (*self.labels, "le")
                yield f"{self.name}_bucket{_labels(names, (*key, bound))} {count}"
            yield f"{self.name}_sum{_labels(self.labels, key)} {_number(self._sums[key])}"
            yield f"{self.name}_count{_labels(self.labels, key)} {counts[-1]}"


class Metrics:
    """Every series the bot exports; one instance, shared by the layers."""

    def __init__(self) -> None:
        self.rejections_seen = Counter(
            "policybot_rejections_seen_total",
            "Admission rejections received, by source (events, audit).",
            ["source"],
        )
        self.rejections_notified = Counter(
            "policybot_rejections_notified_total",
            "Rejections that became a new or updated Slack message.",
            ["outcome"],
        )
        self.outbox_pending = Gauge(
            "policybot_outbox_pending", "Slack calls waiting in the outbox."
        )
        self.outbox_sent = Counter(
            "policybot_outbox_sent_total", "Slack calls the outbox delivered."
        )
        self.outbox_failed = Counter(
            "policybot_outbox_failed_total", "Slack calls the outbox gave up on."
        )
        self.commands_handled = Counter(
            "policybot_commands_handled_total",
            "Slash commands, buttons and modal submissions answered, by name and outcome.",
            ["command", "outcome"],
        )
        self.latency = Histogram(
            "policybot_latency_seconds",
            "Seconds from receiving a rejection or command to handing on the answer.",
            ["kind"],
        )

    def all(self) -> list[_Metric]:
        return [
            self.rejections_seen,
            self.rejections_notified,
            self.outbox_pending,
            self.outbox_sent,
            self.outbox_failed,
            self.commands_handled,
            self.latency,
        ]

    def render(self) -> str:
        lines: list[str] = []
        for metric in self.all():
            lines.extend(metric.header())
            lines.extend(metric.samples())
        return "\n".join(lines) + "\n"


def _read_safely(name: str, read: Callable[[], float]) -> float:
    """A callback's value; NaN (and a log line) if it fails, so one broken
    source does not take the whole page down."""
    try:
        return float(read())
    except Exception:
        logger.exception("Reading the metric %s failed; reporting NaN.", name)
        return math.nan


def _labels(names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return ""
    pairs = ",".join(f'{n}="{_escape_label(v)}"' for n, v in zip(names, values, strict=True))
    return "{" + pairs + "}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value == int(value) else repr(value)


# -- the server ----------------------------------------------------------------


def make_app(*, metrics: Metrics, readiness: Readiness) -> web.Application:
    """The aiohttp application serving the three endpoints."""
    app = web.Application()

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        checked = await readiness.check()
        ready = all(result.ok for result in checked.values())
        body: dict[str, Any] = {
            "status": "ready" if ready else "degraded",
            "checks": {
                name: {"ok": result.ok, "detail": result.detail} for name, result in checked.items()
            },
        }
        return web.json_response(body, status=200 if ready else 503)

    async def metrics_page(request: web.Request) -> web.Response:
        return web.Response(body=metrics.render().encode(), headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    return app


async def start(app: web.Application, *, host: str, port: int) -> web.AppRunner:
    """Serve `app`; port 0 picks a free port (see `runner.addresses`).
    `await runner.cleanup()` stops it."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    logger.info("Health and metrics listening on %s.", runner.addresses)
    return runner
