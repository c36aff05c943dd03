"""Options several commands share, defined once."""
from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, Callable, Optional

import click

from policy.errors import InputError, UsageError, clip

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
        raise UsageError(f"bad --query {clip(query)}: {err}") from err
    except RecursionError as err:  # jmespath parses recursively: 600 "!" or 2,000 "("
        raise UsageError(f"bad --query {clip(query)}: nested too deeply") from err
    return json.dumps(found, indent=2) + "\n"


def read_stdin(limit: int, what: str) -> bytes:
    """At most ``limit`` bytes of stdin; more is an :class:`InputError` (exit 2), found after
    reading ``limit + 1`` bytes, never the whole stream."""
    stream = getattr(sys.stdin, "buffer", sys.stdin)
    try:
        data = stream.read(limit + 1)
    except OSError as err:
        raise InputError(f"cannot read stdin: {err.strerror or err}") from err
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > limit:
        raise InputError(f"<stdin>: larger than {limit} bytes; not {what}")
    return data


def read_ndctl(value: str) -> Any:
    """The listing named by ``--ndctl`` for evaluate/matrix (``-`` reads stdin, bounded)."""
    from policy.ndctl.jsontext import MAX_LISTING_BYTES
    from policy.ndctl.listing import parse_listing, read_listing

    if value == "-":
        return parse_listing(read_stdin(MAX_LISTING_BYTES, "an ndctl listing"), "<stdin>")
    return read_listing(value)
