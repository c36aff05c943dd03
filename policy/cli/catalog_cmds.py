"""``pmempolicy features``: the feature catalog (what profiles may require), discoverable."""
from __future__ import annotations

import sys

import click

from policy.cli.options import apply_query, format_option, query_option
from policy.errors import ExitCode
from policy.report.features import FORMATS, REPORTERS, document


@click.command()
@format_option(FORMATS, "Output format: an 80-column table, JSON (schema_version 1), or the "
               "Markdown table of docs/features.md.")
@query_option()
def features(fmt: str, query: str | None) -> int:
    """List every feature of the catalog: its meaning, which modes/maps/aligns give it, the
    build condition and the kernel source. These are the names profiles put in requires and
    wants."""
    from policy.decide.catalog import catalog

    doc = document(catalog())
    if query is not None:
        click.echo(apply_query(query, doc), nl=False)
    else:
        REPORTERS[fmt](doc, sys.stdout)
    return int(ExitCode.OK)
