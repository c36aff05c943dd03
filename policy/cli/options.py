"""Options several commands share, defined once."""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Callable, Optional

import click

from policy.errors import UsageError

Decorator = Callable[[Any], Any]


def format_option(choices: Sequence[str], help: str, default: str = "table") -> Decorator:
    """``--format`` over a reporter registry's names (or a fixed list)."""
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=default,
                        show_default=True, help=help)


def profiles_argument() -> Decorator:
    """``PROFILE...``: profile files or directories (default: the shipped profiles)."""
    return click.argument("profiles", nargs=-1, type=click.Path())


QUERY_HELP = "A JMESPath expression applied to the JSON document (as the AWS and Azure CLIs do)."


def query_option() -> Decorator:
    """``--query EXPR``: print what a JMESPath expression selects from the JSON document."""
    return click.option("--query", metavar="EXPR", help=QUERY_HELP)


def apply_query(query: str, document: Any) -> str:
    """The JSON text of what ``query`` selects from ``document``; a bad expression is a
    UsageError (exit 2) naming it."""
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        found: Optional[Any] = jmespath.search(query, document)
    except JMESPathError as err:
        raise UsageError(f"bad --query {query!r}: {err}") from err
    return json.dumps(found, indent=2) + "\n"
