"""Entry point of the `policybot` command.

Every subcommand returns its exit code; this module turns our own errors
into one line on stderr and exit code 2, so that no input a user can give
ends in a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot import __version__
from bot.cli import checking, explaining, fixing, testing
from bot.errors import PolicybotError

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
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
    checking.register(commands)
    explaining.register(commands)
    fixing.register(commands)
    testing.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
