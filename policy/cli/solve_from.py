"""``solve --from CONFIG``: build the pieces, search, print the change, write it only with -o."""
from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import click

from policy.cli.options import apply_query
from policy.errors import ExitCode, UsageError


def _source(given: str, command: str = "solve --from") -> str:
    if given:
        return given
    from policy.cli.running import running_config

    found = running_config(command)
    if found is None:
        raise UsageError(f"{command} without a CONFIG needs the running kernel's config "
                         "(/proc/config.gz or /boot/config-$(uname -r)); none found: pass "
                         "--from PATH or a shipped defconfig name")
    return found


def _load(name: str) -> Any:
    """The config read as --config reads it; what a reader must know, on stderr."""
    from policy.kconfig.sources import load_config
    from policy.report.style import fit_lines

    source = load_config(name)
    for note in source.build.notes:
        click.echo(fit_lines(f"warning: {note}"), err=True)
    if source.imported:
        click.echo(fit_lines(f"note: {source.summary()}"), err=True)
    return source


def run_around(given: str, devices: Sequence[Any], fmt: str, query: Optional[str]) -> int:
    """``explore --from``: the one-option changes around the config that move a decision."""
    from policy.report.around import AROUND_REPORTERS, around_document
    from policy.space.around import explore_from

    if not devices:
        raise UsageError("no valid device profiles to explore for")
    source = _load(_source(given, "explore --from"))
    result = explore_from(devices, source.build)
    if query is not None:
        click.echo(apply_query(query, around_document(result, source.path)), nl=False)
    else:
        buf = io.StringIO()
        AROUND_REPORTERS[fmt](source.path).report(result, buf)
        click.echo(buf.getvalue(), nl=False)
    return int(ExitCode.OK)


def run_from(
    given: str,
    devices: Sequence[Any],
    features: Sequence[str],
    max_changes: int,
    output: Optional[str],
    fmt: str,
    query: Optional[str],
) -> int:
    from policy.atomic import locked, write_atomic
    from policy.kconfig import read_config_text
    from policy.report.fromconfig import FROM_REPORTERS, from_document
    from policy.space.fromconfig import apply_to_text, solve_from

    source = _load(_source(given))
    result = solve_from(devices, source.build, features, max_changes=max_changes)
    buf = io.StringIO()
    if query is not None:
        buf.write(apply_query(query, from_document(result, source.path)))
    else:
        FROM_REPORTERS[fmt](source.path).report(result, buf)
    if result.ok and output:
        target = Path(output)
        with locked(target):  # --from .config -o .config is a read-modify-write like set
            text = read_config_text(Path(source.path), allow_compressed=True)
            write_atomic(target, apply_to_text(text, result.assignments), backup=True)
        if fmt == "table" and query is None:
            from policy.report.style import fit_lines

            buf.write(fit_lines(f"wrote {target} ({source.path} with the change applied)") + "\n")
    click.echo(buf.getvalue(), nl=False)
    return int(ExitCode.OK if result.ok else ExitCode.FINDINGS)
