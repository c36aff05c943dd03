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


COLOR_HELP = ("Colour the text output: auto (only on a terminal, and never when NO_COLOR is "
              "set), always or never.")
OUTPUT_HELP = ("Write the --format output to FILE (atomically; '-' for stdout). With a FILE and "
               "a machine format, the text report still goes to stdout, so one CI run keeps its "
               "log and writes a SARIF/JUnit/JSON file.")

# a role of policy.report.style -> the colour click gives it
COLORS = {"ok": "green", "finding": "yellow", "impossible": "red", "proposal": "cyan"}


def color_option() -> Decorator:
    """``--color auto|always|never``."""
    return click.option("--color", "color", type=click.Choice(["auto", "always", "never"]),
                        default="auto", show_default=True, help=COLOR_HELP)


def output_option() -> Decorator:
    """``--output/-o FILE``: where the report goes ('-' for stdout)."""
    return click.option("--output", "-o", "output", metavar="FILE", default=None,
                        help=OUTPUT_HELP)


def to_stdout(output: Optional[str]) -> bool:
    return output is None or output == "-"


def text_style(color: str = "auto", output: Optional[str] = None) -> Any:
    """The :class:`policy.report.style.TextStyle` for stdout: the terminal's width and colours
    when stdout is a terminal (colours also with ``always``, never with ``NO_COLOR``), else 80
    columns and plain text. A FILE output is plain and 80 columns."""
    import os
    import shutil
    import sys

    from policy.report.style import WIDTH, Role, TextStyle

    tty = to_stdout(output) and sys.stdout.isatty()
    width = WIDTH
    if tty:
        width = max(40, shutil.get_terminal_size((WIDTH, 24)).columns)
    on = color == "always" or (color == "auto" and tty and not os.environ.get("NO_COLOR"))
    if not on:
        return TextStyle(width=width)

    def painter(text: str, role: Role) -> str:
        if role == "heading":
            return click.style(text, bold=True)
        return click.style(text, fg=COLORS[role])

    return TextStyle(width=width, painter=painter)


def emit(text: str, output: Optional[str]) -> None:
    """``text`` to stdout (no FILE or '-') or atomically to FILE."""
    if to_stdout(output):
        click.echo(text, nl=False, color=True)
        return
    from pathlib import Path

    from policy.atomic import write_atomic

    assert output is not None
    write_atomic(Path(output), text)


def fit_text(text: str) -> str:
    """``text`` wrapped to 80 columns (see :func:`policy.report.style.fit_lines`)."""
    from policy.report.style import fit_lines

    return fit_lines(text)


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
