"""Soak the event watcher: many events, cut connections, one count per rejection.

Streams Events through the emulated API server in tests/kube/apiserver.py to
`bot.kube.watching.EventWatcher`, over loopback HTTP with the official client.
The server cuts every watch connection after `--drop-every` events (half a
line first), and by default forgets its history once midway, so the watcher
also relists and must skip what it already handed on. The run fails (exit 1)
if any rejection is missing or handed on twice.

    .venv/bin/python benchmarks/soak_watch.py [--events 10000] [--drop-every 1000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
from pathlib import Path

# The emulator lives with the tests; run from anywhere, import from the repo.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.kube.soak import SoakResult, run_soak


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000, help="events to stream")
    parser.add_argument("--drop-every", type=int, default=1_000, help="events per connection")
    parser.add_argument(
        "--noise-every", type=int, default=5, help="every Nth event is no rejection (0: none)"
    )
    parser.add_argument("--no-relist", action="store_true", help="skip the forced 410 midway")
    parser.add_argument("--runs", type=int, default=3, help="runs; the median time counts")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser.parse_args(argv)


async def soak(args: argparse.Namespace) -> list[SoakResult]:
    results = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="policybot-soak-") as workdir:
            async with asyncio.timeout(600):
                result = await run_soak(
                    Path(workdir),
                    events=args.events,
                    drop_every=args.drop_every,
                    noise_every=args.noise_every,
                    relist_midway=not args.no_relist,
                )
            results.append(result)
    return results


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    # Each cut connection logs a warning by design; the figures say enough.
    logging.basicConfig(level=logging.ERROR)
    results = asyncio.run(soak(args))
    median = statistics.median(r.seconds for r in results)
    typical = min(results, key=lambda r: abs(r.seconds - median))
    correct = all(r.duplicates == 0 and r.missing == 0 for r in results)

    if args.json:
        print(json.dumps({"runs": [r.as_dict() for r in results], "correct": correct}, indent=2))
    else:
        noise = f"every {args.noise_every}th is noise" if args.noise_every else "no noise"
        print(f"events streamed       {typical.events:>8}  ({noise})")
        print(f"rejections expected   {typical.rejections:>8}")
        print(f"handed on             {typical.handed_on:>8}")
        print(f"duplicates / missing  {typical.duplicates:>3} / {typical.missing:<3}")
        print(f"lines via watches     {typical.streamed:>8}")
        print(f"connections cut       {typical.drops:>8}  (every {args.drop_every} events)")
        print(f"reconnects / relists  {typical.reconnects:>3} / {typical.relists:<3}")
        print(f"lists / watches       {typical.lists:>3} / {typical.watches:<3}")
        print(f"wall time (median)    {median:>8.2f} s  over {len(results)} runs")
        print(f"throughput            {typical.events / median:>8.0f} events/s")
        print("result                " + ("exactly once" if correct else "WRONG"))
    return 0 if correct else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
