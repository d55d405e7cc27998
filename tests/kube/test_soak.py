"""10,000 events, a cut connection every 1,000: every rejection exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.kube.soak import run_soak


async def test_soak_hands_on_each_rejection_once(tmp_path: Path) -> None:
    async with asyncio.timeout(30):
        result = await run_soak(tmp_path, events=10_000, drop_every=1_000)

    assert result.rejections == 8_000
    assert result.handed_on == result.rejections
    assert result.duplicates == 0
    assert result.missing == 0
    assert result.streamed >= 9_000  # through watches, not relists
    assert result.drops >= result.streamed // 1_000 - 1
    assert result.relists == 1
