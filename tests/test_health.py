"""The health and metrics server, over real HTTP."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot import health
from bot.health import Metrics, ProbeResult, Readiness


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def probe_returning(result: ProbeResult, calls: list[str], name: str) -> health.Probe:
    async def probe() -> ProbeResult:
        calls.append(name)
        return result

    return probe


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Metrics, Readiness], Any]]:
    runners: list[web.AppRunner] = []

    async def start(metrics: Metrics, readiness: Readiness) -> str:
        app = health.make_app(metrics=metrics, readiness=readiness)
        runner = await health.start(app, host="127.0.0.1", port=0)
        runners.append(runner)
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def fetch(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


class TestEndpoints:
    async def test_healthz_answers_while_running(self, serve: Any) -> None:
        """Liveness needs nothing but the process."""
        base = await serve(Metrics(), Readiness({}))

        status, _, body = await fetch(f"{base}/healthz")

        assert status == 200
        assert body == '{"status": "ok"}'

    async def test_readyz_ok_when_every_probe_is(self, serve: Any) -> None:
        """All dependencies answering makes the bot ready."""
        calls: list[str] = []
        readiness = Readiness(
            {
                "store": probe_returning(ProbeResult(True, "open"), calls, "store"),
                "slack": probe_returning(ProbeResult(True, "team T"), calls, "slack"),
            }
        )
        base = await serve(Metrics(), readiness)

        status, _, body = await fetch(f"{base}/readyz")

        assert status == 200
        assert '"status": "ready"' in body
        assert sorted(calls) == ["slack", "store"]

    async def test_readyz_degraded_names_the_failing_dependency(self, serve: Any) -> None:
        """A failing probe gives 503 and its detail in JSON."""
        calls: list[str] = []

        async def broken() -> ProbeResult:
            raise ConnectionRefusedError("connection refused")

        readiness = Readiness(
            {
                "slack": probe_returning(ProbeResult(False, "invalid_auth"), calls, "slack"),
                "cluster": broken,
                "store": probe_returning(ProbeResult(True), calls, "store"),
            }
        )
        base = await serve(Metrics(), readiness)

        async with aiohttp.ClientSession() as session, session.get(f"{base}/readyz") as response:
            status, body = response.status, await response.json()

        assert status == 503
        assert body == {
            "status": "degraded",
            "checks": {
                "slack": {"ok": False, "detail": "invalid_auth"},
                "cluster": {"ok": False, "detail": "ConnectionRefusedError: connection refused"},
                "store": {"ok": True, "detail": ""},
            },
        }

    async def test_metrics_in_prometheus_text_format(self, serve: Any) -> None:
        """/metrics serves the text exposition format with its content type."""
        metrics = Metrics()
        metrics.rejections_seen.inc(source="events")
        metrics.commands_handled.inc(command="check", outcome="ok")
        base = await serve(metrics, Readiness({}))

        status, content_type, body = await fetch(f"{base}/metrics")

        assert status == 200
        assert content_type.startswith("text/plain; version=0.0.4")
        assert 'policybot_rejections_seen_total{source="events"} 1' in body.splitlines()
        assert (
            'policybot_commands_handled_total{command="check",outcome="ok"} 1' in body.splitlines()
        )
        assert "# TYPE policybot_latency_seconds histogram" in body


class TestReadiness:
    async def test_results_are_cached_briefly(self) -> None:
        """Probing every second does not call Slack every second."""
        calls: list[str] = []
        clock = FakeClock()
        readiness = Readiness(
            {"slack": probe_returning(ProbeResult(True), calls, "slack")},
            cache_for=10.0,
            clock=clock,
        )

        await readiness.check()
        clock.now += 5
        await readiness.check()
        clock.now += 6
        await readiness.check()

        assert calls == ["slack", "slack"]

    async def test_slow_probe_times_out(self) -> None:
        """A probe that hangs counts as failed after the timeout."""

        async def hangs() -> ProbeResult:
            await asyncio.Event().wait()
            return ProbeResult(True)

        readiness = Readiness({"cluster": hangs}, timeout=0.05)

        checked = await readiness.check()

        assert checked == {"cluster": ProbeResult(False, "no answer within 0.05s")}


class TestMetrics:
    def test_histogram_buckets_are_cumulative(self) -> None:
        """Each bucket counts every observation at or below its bound."""
        histogram = health.Histogram("x_seconds", "X.", ["kind"], buckets=[0.1, 1.0])
        for value in (0.05, 0.5, 0.5, 3.0):
            histogram.observe(value, kind="command")

        lines = list(histogram.samples())

        assert lines == [
            'x_seconds_bucket{kind="command",le="0.1"} 1',
            'x_seconds_bucket{kind="command",le="1"} 3',
            'x_seconds_bucket{kind="command",le="+Inf"} 4',
            'x_seconds_sum{kind="command"} 4.05',
            'x_seconds_count{kind="command"} 4',
        ]

    def test_callback_counter_reads_when_scraped(self) -> None:
        """Counts kept elsewhere (the outbox's) are read at scrape time."""
        sent = [3]
        metrics = Metrics()
        metrics.outbox_sent.read_from(lambda: sent[0])
        sent[0] = 5

        assert "policybot_outbox_sent_total 5" in metrics.render().splitlines()

    def test_broken_callback_reports_nan(self) -> None:
        """A failing source gives NaN, not a broken page."""
        metrics = Metrics()
        metrics.outbox_pending.read_from(lambda: 1 / 0)

        assert math.isnan(metrics.outbox_pending.value())
        assert "policybot_outbox_pending NaN" in metrics.render().splitlines()

    @pytest.mark.parametrize(
        ("labels", "problem"),
        [({}, r"takes the labels \['source'\], got \[\]"), ({"src": "x"}, "got \\['src'\\]")],
    )
    def test_wrong_labels_are_refused(self, labels: dict[str, str], problem: str) -> None:
        """A counter refuses labels it was not declared with."""
        metrics = Metrics()

        with pytest.raises(ValueError, match=problem):
            metrics.rejections_seen.inc(**labels)

    def test_label_values_are_escaped(self) -> None:
        """Quotes, backslashes and newlines cannot break the format."""
        counter = health.Counter("c_total", "C.", ["v"])
        counter.inc(v='a"b\\c\nd')

        assert list(counter.samples()) == ['c_total{v="a\\"b\\\\c\\nd"} 1']
