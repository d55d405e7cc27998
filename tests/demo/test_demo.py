"""`policybot demo`: the bundled stream, its report, and files of one's own."""

from __future__ import annotations

import asyncio
import datetime
import json
from pathlib import Path

import pytest

from bot import demo
from bot.cli import main
from bot.demo import streams
from bot.errors import InputError
from bot.notify import Knowledge
from bot.slack import blocks


@pytest.fixture(scope="module")
def result() -> demo.DemoRun:
    return asyncio.run(demo.run(demo.DemoFiles.bundled(), knowledge=Knowledge.bundled()))


def test_every_team_gets_its_messages(result: demo.DemoRun) -> None:
    channels = result.sink.by_channel()

    assert set(channels) == {"#payments-alerts", "#search-dev", "#data-eng", "#platform-help"}
    assert sum(len(shown) for shown in channels.values()) == 10


def test_repeats_update_instead_of_posting(result: demo.DemoRun) -> None:
    assert result.handled.posted == len(result.sink.shown)
    assert result.handled.counted + result.handled.updated == 22
    assert all("Seen" in json.dumps(s.message.blocks) for s in result.sink.shown.values())


def test_fixed_rollout_resolves_its_messages(result: demo.DemoRun) -> None:
    resolved = [s for s in result.sink.shown.values() if s.resolved]

    assert len(resolved) == 2
    assert all("payments/checkout" in s.message.text for s in resolved)


def test_long_diff_goes_to_the_thread(result: demo.DemoRun) -> None:
    files = [f for s in result.sink.shown.values() for f in s.files]

    assert [f.filename for f in files] == [
        "nightly-export-autogen-cronjob-container-resources.diff"
    ]


def test_messages_fit_slack_as_they_are(result: demo.DemoRun) -> None:
    for shown in result.sink.shown.values():
        layout = blocks.lay_out(shown.message.text, shown.message.blocks)

        assert layout.messages[0].blocks == shown.message.blocks


def test_report_lists_channels_in_registry_order(result: demo.DemoRun) -> None:
    text = demo.render(result)

    order = [text.index(c) for c in ("#payments-alerts", "#search-dev", "#data-eng")]
    assert order == sorted(order)
    assert "Exact fix" in text
    assert "Suggested fix" in text
    assert "How to fix" in text
    assert "✅ Resolved: Deployment payments/checkout" in text
    assert "Until it was resolved, the message read:" in text


def test_report_for_one_team(result: demo.DemoRun) -> None:
    text = demo.render(result, team="data")

    assert "#data-eng" in text
    assert "#search-dev" not in text


def test_cli_prints_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    code = main.main(["demo", "--team", "search"])

    out = capsys.readouterr().out
    assert code == 0
    assert "═══ #search-dev · team search" in out
    assert "Pod Security Admission refused it at level `baseline:v1.30`" in out
    assert max(len(line) for line in out.splitlines() if "https://" not in line) <= 100


def test_cli_prints_block_kit(capsys: pytest.CaptureFixture[str]) -> None:
    code = main.main(["demo", "--blocks", "--team", "platform"])

    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    assert list(payload) == ["#platform-help"]
    assert payload["#platform-help"][0]["blocks"][0]["type"] == "header"


def test_short_window_posts_more(capsys: pytest.CaptureFixture[str]) -> None:
    """With a 20 s window, retries a minute apart are news: 13 posts, not 4."""
    main.main(["demo", "--window", "20s", "--team", "search"])

    out = capsys.readouterr().out
    assert "message 1 of 13" in out


def test_bad_stream_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stream = tmp_path / "stream.yaml"
    stream.write_text("date: 2026-03-02\nitems:\n  - at: '09:00'\n    source: pager\n")

    code = main.main(["demo", "--stream", str(stream)])

    assert code == 2
    assert "items.0.source" in capsys.readouterr().err


def test_bad_duration_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main.main(["demo", "--window", "soon"])

    assert "must be a duration" in capsys.readouterr().err


def test_repeats_expand_in_time_order(tmp_path: Path) -> None:
    stream = tmp_path / "stream.yaml"
    stream.write_text(
        "date: 2026-03-02\n"
        "items:\n"
        "  - {at: '09:00:00', source: kubectl, payload: a, repeat: 3, every: 1m30s}\n"
        "  - {at: '09:01:00', source: kubectl, payload: b}\n"
    )

    arrivals = streams.expand(streams.load_stream(stream))

    assert [(a.at.strftime("%H:%M:%S"), a.payload) for a in arrivals] == [
        ("09:00:00", "a"),
        ("09:01:00", "b"),
        ("09:01:30", "a"),
        ("09:03:00", "a"),
    ]
    assert arrivals[0].at.tzinfo == datetime.UTC


async def test_bundled_cluster_walks_owner_chains() -> None:
    cluster = streams.BundledCluster.load(streams.data_path("cluster.yaml"))

    top = await cluster.find_top_manifest(
        api_version="apps/v1", kind="ReplicaSet", namespace="payments", name="checkout-5b7d9c"
    )
    namespace = await cluster.read_namespace("search")

    assert (top["kind"], top["metadata"]["name"]) == ("Deployment", "checkout")
    assert namespace is not None
    assert namespace["metadata"]["labels"] == {"team": "search"}


def test_cluster_file_must_be_a_list(tmp_path: Path) -> None:
    bad = tmp_path / "cluster.yaml"
    bad.write_text("kind: Deployment\n")

    with pytest.raises(InputError, match="kind: List"):
        streams.BundledCluster.load(bad)
