"""The `emogan` command line: one parser, one module per command, user errors as one line and exit status 2."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

from emogan.errors import EmoganError, first_line

# Each module exposes register(subparsers); its parser sets func=run(args) -> exit status.
COMMANDS = ("emogan.commands.train", "emogan.commands.runs", "emogan.commands.sample", "emogan.commands.export",
            "emogan.commands.classifier", "emogan.commands.metrics", "emogan.commands.report", "emogan.commands.timeline",
            "emogan.commands.sweep", "emogan.commands.import_tensorboard")


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (with a pointer to --help) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        # argparse quotes the user's own words: a line break inside one (a shell $'a\nb') must not split the line.
        message = message.replace("\r", "\\r").replace("\n", "\\n")
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def build_parser() -> Parser:
    parser = Parser(prog="python -m emogan", description="Train small GANs on FER2013 faces and inspect the runs.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:            # a command still being built is simply absent
                continue
            raise
        module.register(sub)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # The default format adds the warning's source line: two lines of code listing for one message to the user.
    print(f"warning: {' '.join(str(message).split())}", file=sys.stderr if file is None else file)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # What run configs and manifests record: the command as a user re-types it, not this machine's path to
    # __main__.py (sys.argv[0]), and the argv given here when main() is called from Python.
    args.invocation = ["python", "-m", "emogan", *(sys.argv[1:] if argv is None else argv)]
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            status = int(args.func(args) or 0)
            sys.stdout.flush()      # here, so that a closed pipe is met inside this try
            return status
    except EmoganError as e:
        print(f"error: {first_line(e)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `... | head` closed our stdout: not an error of the input. Point stdout at /dev/null so that the
        # interpreter's final flush does not fail again, and exit as a killed writer would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as e:
        # A path the system refuses before our own checks could say why (name too long, permissions, a loop...).
        message = f"{e.filename}: {e.strerror or e}" if e.filename else str(e.strerror or e)
        print(f"error: {(message.splitlines() or [type(e).__name__])[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
