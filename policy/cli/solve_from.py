"""``solve --from CONFIG``: build the pieces, search, print the change, write it only with -o."""
from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import click

from policy.cli.options import apply_query
from policy.errors import ExitCode, UsageError


def _source(given: str) -> str:
    if given:
        return given
    from policy.cli.running import running_config

    found = running_config("solve --from")
    if found is None:
        raise UsageError("solve --from without a CONFIG needs the running kernel's config "
                         "(/proc/config.gz or /boot/config-$(uname -r)); none found: pass "
                         "--from PATH or a shipped defconfig name")
    return found


def run_from(
    given: str,
    devices: Sequence[Any],
    features: Sequence[str],
    max_changes: int,
    output: Optional[str],
    fmt: str,
    query: Optional[str],
) -> int:
    from policy.atomic import write_atomic
    from policy.kconfig import read_config_text
    from policy.kconfig.sources import load_config
    from policy.report.fromconfig import FROM_REPORTERS, from_document
    from policy.space.fromconfig import apply_to_text, solve_from

    name = _source(given)
    source = load_config(name)
    from policy.report.style import fit_lines

    for note in source.build.notes:
        click.echo(fit_lines(f"warning: {note}"), err=True)
    if source.imported:
        click.echo(fit_lines(f"note: {source.summary()}"), err=True)
    result = solve_from(devices, source.build, features, max_changes=max_changes)
    buf = io.StringIO()
    if query is not None:
        buf.write(apply_query(query, from_document(result, source.path)))
    else:
        FROM_REPORTERS[fmt](source.path).report(result, buf)
    if result.ok and output:
        text = read_config_text(Path(source.path), allow_compressed=True)
        target = Path(output)
        write_atomic(target, apply_to_text(text, result.assignments), backup=True)
        if fmt == "table" and query is None:
            buf.write(fit_lines(f"wrote {target} ({source.path} with the change applied)") + "\n")
    click.echo(buf.getvalue(), nl=False)
    return int(ExitCode.OK if result.ok else ExitCode.FINDINGS)
