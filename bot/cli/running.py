"""`policybot run`: the bot itself, until SIGTERM or Ctrl-C.

The configuration file and the environment are checked in full before
anything connects, so a broken deployment fails at once with every problem
listed (exit code 2) instead of half-starting. The wiring is `bot.app`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from bot import app, config

logger = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "run",
        help="run the Slack bot",
        description=(
            "Watch the cluster for admission rejections, tell the owning teams in Slack, "
            "and answer /policy. Configuration: docs/configuration.md. Use "
            "`policybot --log-level INFO run ...` for one log line per rejection and command."
        ),
    )
    parser.add_argument(
        "--config",
        required=True,
        type=Path,
        metavar="FILE",
        help="the YAML configuration file (see docs/examples/policybot.yaml)",
    )
    parser.add_argument(
        "--kubeconfig",
        metavar="FILE",
        help="a kubeconfig instead of the pod's service account, $KUBECONFIG or ~/.kube/config",
    )
    parser.add_argument("--context", metavar="NAME", help="a context of the kubeconfig")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = config.load(args.config)
    secrets = config.read_secrets(settings)
    return asyncio.run(app.run(settings, secrets, kubeconfig=args.kubeconfig, context=args.context))
