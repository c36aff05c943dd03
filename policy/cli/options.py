"""Options several commands share, defined once."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable

import click

Decorator = Callable[[Any], Any]


def format_option(choices: Sequence[str], help: str, default: str = "table") -> Decorator:
    """``--format`` over a reporter registry's names (or a fixed list)."""
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=default,
                        show_default=True, help=help)


def profiles_argument() -> Decorator:
    """``PROFILE...``: profile files or directories (default: the shipped profiles)."""
    return click.argument("profiles", nargs=-1, type=click.Path())
