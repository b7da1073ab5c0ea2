"""Assemble the ``framing`` argument parser from the command modules and dispatch to them."""

from __future__ import annotations

import argparse
import sys
from types import ModuleType
from typing import Sequence

from framing import __version__
from framing.cli import compare, cues, evaluate, sample, score, train
from framing.errors import FramingError

__all__ = ["COMMANDS", "build_parser", "main"]

#: Command name -> module with ``add_parser(subparsers)`` and ``run(args) -> int``,
#: in the order ``framing --help`` lists them.
COMMANDS: dict[str, ModuleType] = {
    "score": score,
    "cues": cues,
    "eval": evaluate,
    "train": train,
    "compare": compare,
    "sample": sample,
}


def build_parser() -> argparse.ArgumentParser:
    """The parser for ``framing`` and all its commands."""
    parser = argparse.ArgumentParser(
        prog="framing",
        description="Tone and framing-cue analysis of news, offline by default.")
    parser.add_argument("--version", action="version", version=f"framing {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS.values():
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for a usage or input error)."""
    args = build_parser().parse_args(argv)
    name = args.command
    try:
        return COMMANDS[name].run(args)
    except (FramingError, FileNotFoundError, TypeError, ValueError) as exc:
        print(f"framing {name}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"framing {name}: interrupted", file=sys.stderr)
        return 130
