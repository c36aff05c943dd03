"""The ``pmempolicy`` console script.

The click application, its lazy command registry and the exit-code boundary are in
:mod:`policy.cli.app`; this module answers ``pmempolicy --version`` before importing any of it
(click alone costs about as much as the interpreter's own start-up), and runs everything else.
"""
from __future__ import annotations

import sys

from policy import __version__

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing (~2.5 ms)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, Optional

    # the names of policy.cli.app, resolved on first use (see __getattr__)
    from policy.cli.app import COMMANDS, LazyGroup, cli

__all__ = ["COMMANDS", "LazyGroup", "cli", "main"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: run one command and map its outcome to an :class:`~policy.errors.ExitCode`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:  # what click's version option prints, without click
        sys.stdout.write(f"pmempolicy, version {__version__}\n")
        code = 0
    else:
        from policy.cli.app import run

        code = run(args)
    if argv is None:
        sys.exit(code)
    return code


def __getattr__(name: str) -> Any:
    if name in ("COMMANDS", "LazyGroup", "cli"):
        from policy.cli import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
