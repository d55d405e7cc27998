"""`policybot demo`: the whole pipeline on a recorded stream, in the terminal.

The bundled stream holds a morning of rejections across four teams; each is
parsed, traced to its workload, explained, fixed where a fix can be proven,
grouped with its repeats, and rendered as the Slack message its team would
get. `--stream`, `--cluster` and `--teams` replay files of your own in the
same formats (see `bot/demo/data/`).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import re
from pathlib import Path

from bot import demo
from bot.notify import GroupSettings

EXIT_OK = 0
_DURATION = re.compile(r"(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "demo",
        help="replay recorded rejections and show the Slack messages each team gets",
        description=(
            "Replay a recorded stream of admission rejections through the real pipeline "
            "(parsing, owner resolution, policy engine, fixes, grouping) and print, team by "
            "team, the Slack messages they would receive. Needs no Slack and no cluster."
        ),
    )
    parser.add_argument("--team", metavar="NAME", help="show only this team's channel")
    parser.add_argument(
        "--blocks", action="store_true", help="print the Block Kit JSON instead of text"
    )
    parser.add_argument(
        "--window",
        type=_duration,
        default=GroupSettings().window,
        metavar="DURATION",
        help="repeats within this time of the last one update the same message (default: 10m)",
    )
    parser.add_argument(
        "--update-interval",
        type=_duration,
        default=GroupSettings().update_interval,
        metavar="DURATION",
        help="update one message at most this often (default: 30s)",
    )
    bundled = demo.DemoFiles.bundled()
    parser.add_argument("--stream", type=Path, default=bundled.stream, metavar="FILE")
    parser.add_argument("--cluster", type=Path, default=bundled.cluster, metavar="FILE")
    parser.add_argument("--teams", type=Path, default=bundled.teams, metavar="FILE")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = GroupSettings(
        window=args.window,
        max_age=max(args.window, GroupSettings().max_age),
        update_interval=args.update_interval,
    )
    files = demo.DemoFiles(stream=args.stream, cluster=args.cluster, teams=args.teams)
    result = asyncio.run(demo.run(files, settings=settings))
    if args.blocks:
        team = result.registry.get(args.team) if args.team else None
        payload = {
            channel: [{"text": s.message.text, "blocks": s.message.blocks} for s in shown]
            for channel, shown in result.sink.by_channel().items()
            if team is None or team.channel == channel
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        print(demo.render(result, team=args.team), end="")
    return EXIT_OK


def _duration(text: str) -> datetime.timedelta:
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise argparse.ArgumentTypeError(
            f'must be a duration such as "90s", "10m" or "1h", got {text!r}'
        )
    return datetime.timedelta(
        hours=int(match["h"] or 0), minutes=int(match["m"] or 0), seconds=int(match["s"] or 0)
    )
