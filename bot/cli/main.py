"""Entry point of the `policybot` command.

Every subcommand returns its exit code; this module turns our own errors
into one line on stderr and exit code 2, so that no input a user can give
ends in a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from bot import __version__
from bot.errors import PolicybotError

EXIT_USAGE = 2

COMMANDS = {
    "check": "bot.cli.checking",
    "fix": "bot.cli.fixing",
    "explain": "bot.cli.explaining",
    "test": "bot.cli.testing",
    "run": "bot.cli.running",
    "demo": "bot.cli.demo",
}
"""Subcommand -> module. NB: only the module of the command being run is
imported, because `check` in a CI loop must not pay for Slack and aiohttp."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policybot",
        description="Explain Kubernetes admission policies and rejections, and fix manifests.",
    )
    parser.add_argument("--version", action="version", version=f"policybot {__version__}")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="how much to log on stderr (default: WARNING)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        if only is None or only == name:
            importlib.import_module(module).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in arguments if a in COMMANDS), None)
    parser = build_parser(only=command)
    args = parser.parse_args(arguments)
    logging.basicConfig(
        level=getattr(logging, args.log_level), format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        code: int = args.run(args)
    except PolicybotError as error:
        print(f"policybot: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; that is not our failure.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
