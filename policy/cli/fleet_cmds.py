"""``fleet``: every host of an inventory decided at once, streamed as JSON Lines or CSV."""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import click

from policy.cli.options import apply_query, query_option
from policy.errors import ExitCode, UsageError


@dataclass(frozen=True)
class FleetSettings:
    """Everything ``fleet`` was asked for."""

    inventory: str
    fmt: str
    summary: str
    summary_output: Optional[str]
    query: Optional[str]
    jobs: int


def run(settings: FleetSettings) -> int:
    """Index the inventory, decide every host on every core, stream rows, then the summary."""
    from policy.fleet.engine import run_fleet
    from policy.fleet.inventory import read_inventory, spool_dir
    from policy.report.fleet import make_rows, summary_text

    out = sys.stdout  # the CLI writes; rows are streamed, never held
    out.flush()
    with spool_dir() as spool:
        inventory = read_inventory(settings.inventory, spool)
        summary = run_fleet(inventory, make_rows(settings.fmt), out.buffer, settings.jobs, spool)
    out.buffer.flush()
    if settings.query is not None:
        text = apply_query(settings.query, summary.to_document())
    elif settings.summary == "json":
        text = json.dumps(summary.to_document(), indent=2) + "\n"
    else:
        text = summary_text(summary)
    if settings.summary_output:
        from policy.atomic import write_atomic

        write_atomic(Path(settings.summary_output), text)
    else:
        click.echo(text, nl=False, err=True)
    return int(ExitCode.OK if summary.ok else ExitCode.FINDINGS)


@click.command()
@click.argument("inventory", metavar="INVENTORY")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True,
              help="Rows: one JSON object per line (host + evaluate's results[] fields) or CSV.")
@click.option("--summary", "summary", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="The summary's form (written to stderr).")
@click.option("--summary-output", metavar="FILE",
              help="Write the summary to FILE instead of stderr.")
@query_option()
@click.option("--jobs", "-j", type=int, default=None, metavar="N",
              help="Worker processes (default: every core).")
def fleet(inventory: str, fmt: str, summary: str, summary_output: Optional[str],
          query: Optional[str], jobs: Optional[int]) -> int:
    """Decide every namespace of every host: a fleet's configs and ndctl listings at once.

    INVENTORY is a directory with one folder per host (config[.gz|.xz] and ndctl.json) or a
    JSON Lines file (one host per line; '-' for stdin). Rows stream to stdout sorted by host;
    the summary (and --query, over the JSON summary) goes to stderr or --summary-output. Exit 1
    when any host has findings or cannot be read, 2 when the inventory itself cannot be read.
    """
    n = jobs if jobs is not None else (os.cpu_count() or 1)
    if n < 1:
        raise UsageError("--jobs must be at least 1")
    return run(FleetSettings(inventory, fmt, summary, summary_output, query, n))
