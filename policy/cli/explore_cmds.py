"""``explore`` and ``solve``: the whole configuration space of the Kconfig tree at once."""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import click

from policy.cli.options import apply_query, format_option, profiles_argument, query_option
from policy.errors import ExitCode, UsageError

SPACE_HELP = (
    "Only these user-settable symbols (comma list); the others keep their defaults. "
    "Default: the whole tree; the pmem sub-tree for explore --list (docs/explore.md)."
)
ALL_HELP = "Every user-settable symbol: the whole tree (explore's default without --list)."
LIST_HELP = (
    "List every configuration (explicit enumeration, each with its fewest-options witness; "
    "stops at --limit; default space: the pmem sub-tree). Without it the space is counted and "
    "evaluated over BDDs and only the frontier is listed, one witness per point."
)
LIMIT_HELP = "Stop with an error when more partial configurations than this are held at once."


@dataclass(frozen=True)
class ExploreSettings:
    space: Optional[tuple[str, ...]]
    profiles: tuple[str, ...]
    fmt: str
    limit: int
    listing: bool = False
    query: Optional[str] = None


class _Progress:
    """A progress bar on stderr, only on a terminal and only once the run has taken a second."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.bar: Any = None
        self.phase = ""

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.tty:
            return
        if self.bar is None or phase != self.phase:
            if time.monotonic() - self.start < 1.0:
                return
            self.close()
            self.phase = phase
            self.bar = click.progressbar(length=total, label=phase, file=sys.stderr)
            self.bar.__enter__()
            self.done = 0
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _space(
    config_space: Optional[str], all_: bool, whole_by_default: bool = False
) -> Optional[tuple[str, ...]]:
    if config_space and all_:
        raise UsageError("--config-space and --all are mutually exclusive")
    if all_ or (whole_by_default and not config_space):
        return None
    if not config_space:
        from policy.space.explore import default_space

        return default_space()
    names = tuple(
        dict.fromkeys(
            s.strip().upper().removeprefix("CONFIG_") for s in config_space.split(",") if s.strip()
        )
    )
    if not names:
        raise UsageError("--config-space needs at least one symbol")
    return names


def _devices(paths: Sequence[str]) -> tuple[list[Any], tuple[Any, ...]]:
    from policy import resources
    from policy.profiles import profile as profiles

    loaded = profiles.load_profiles(list(paths) or [resources.profiles_dir()])
    return list(loaded.devices), tuple(loaded.diagnostics)


def _out(text: str) -> None:
    click.echo(text, nl=False)


def run_explore(settings: ExploreSettings) -> int:
    from policy.report.explore import EXPLORE_REPORTERS
    from policy.space.explore import explore as run

    devices, diags = _devices(settings.profiles)
    progress = _Progress()
    try:
        result = run(
            devices,
            settings.space,
            progress=progress,
            limit=settings.limit,
            diagnostics=diags,
            listing=settings.listing,
        )
    finally:
        progress.close()
    if settings.query is not None:
        from policy.report.explore import explore_document

        _out(apply_query(settings.query, explore_document(result)))
    else:
        buf = io.StringIO()
        EXPLORE_REPORTERS[settings.fmt]().report(result, buf)
        _out(buf.getvalue())
    bad = any(getattr(d, "severity", "error") == "error" for d in diags)
    return int(ExitCode.FINDINGS if bad else ExitCode.OK)


@click.command()
@click.option("--config-space", "config_space", metavar="SYMBOLS", help=SPACE_HELP)
@click.option("--all", "all_", is_flag=True, help=ALL_HELP)
@click.option("--list", "listing", is_flag=True, help=LIST_HELP)
@click.option(
    "--from", "from_", metavar="CONFIG", is_flag=False, flag_value="", default=None,
    help="Explore around this config (a .config, a distro config, a shipped defconfig name; "
    "without a value: the running kernel's): every change of one option the decisions read "
    "(with what it needs), architecture and page size held; lists only the changes that move "
    "some decision or cost, and their frontier.",
)
@format_option(
    ["table",
    "json", "csv"], "Output format: a summary table, JSON (schema_version 1) or CSV.",
)
@query_option()
@click.option(
    "--limit", type=click.IntRange(min=1), default=1_000_000, show_default=True, help=LIMIT_HELP
)
@profiles_argument()
def explore(
    config_space: Optional[str],
    all_: bool,
    listing: bool,
    from_: Optional[str],
    fmt: str,
    query: Optional[str],
    limit: int,
    profiles: tuple[str, ...],
) -> int:
    """Every distinct valid configuration of the tree, evaluated against the profiles.

    Reports the number of configurations (projected onto the symbols that change a feature or a
    cost), dead and always-on options, features no configuration can give a device, and the Pareto
    frontier (features gained vs DRAM and capacity spent). PROFILE... default: the shipped ones.
    With --from CONFIG: the changes of one option to that config that move a decision or a cost.
    """
    if from_ is not None:
        if config_space or all_ or listing or fmt == "csv":
            raise UsageError("--from explores around one config: --config-space, --all, --list "
                             "and --format csv do not apply")
        from policy.cli.solve_from import run_around

        devices, diags = _devices(profiles)
        code = run_around(from_, devices, fmt, query)
        for d in diags:
            click.echo(d.render(), err=True)
        return code
    return run_explore(
        ExploreSettings(
            _space(config_space, all_, whole_by_default=not listing),
            profiles,
            fmt,
            limit,
            listing,
            query,
        )
    )


FROM_HELP = (
    "Start from this config (a .config, a distro config such as /boot/config-*, .gz/.xz, or a "
    "shipped defconfig name; given without a value: the running kernel's, /proc/config.gz else "
    "/boot/config-$(uname -r)) and print the smallest change that meets the requirements, "
    "holding its architecture, page size and every option no decision reads."
)


@click.command()
@click.option(
    "--require",
    "require",
    multiple=True,
    metavar="FEATURE[,...]",
    help="Features every device must get (repeatable, comma lists allowed).",
)
@click.option(
    "--minimize",
    type=click.Choice(["dram", "capacity", "options"]),
    default="dram",
    show_default=True,
    help="What to minimise: total DRAM memmap, total capacity lost, or the number of enabled "
    "user options (the others break ties). With --from: the number of changed options, then "
    "DRAM, then capacity.",
)
@click.option("--config-space", "config_space", metavar="SYMBOLS", help=SPACE_HELP)
@click.option("--all", "all_", is_flag=True, help=ALL_HELP)
@click.option(
    "--from", "from_", metavar="CONFIG", is_flag=False, flag_value="", default=None,
    help=FROM_HELP,
)
@click.option(
    "--max-changes", "max_changes", type=click.IntRange(min=1), default=6, show_default=True,
    help="With --from: the most options a change may set.",
)
@click.option(
    "--output",
    "-o",
    "output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the solution's .config to FILE (atomically; the previous file is kept as "
    "FILE.old). With --from: that config with the change applied as scripts/config does. "
    "Without -o nothing is written.",
)
@format_option(["table", "json"], "Output format: text or JSON (schema_version 1).")
@query_option()
@click.option(
    "--limit", type=click.IntRange(min=1), default=1_000_000, show_default=True, help=LIMIT_HELP
)
@profiles_argument()
def solve(
    require: tuple[str, ...],
    minimize: str,
    config_space: Optional[str],
    all_: bool,
    from_: Optional[str],
    max_changes: int,
    output: Optional[str],
    fmt: str,
    query: Optional[str],
    limit: int,
    profiles: tuple[str, ...],
) -> int:
    """The cheapest configuration and per-device run-time pins that meet every requirement.

    Prints each device's decision; writes the .config only with -o FILE. With --from CONFIG: the
    fewest scripts/config changes to that config instead (nothing when it already meets every
    requirement). Exit 1 with a minimal set of conflicting requirements (with --from: what stays
    unmet), each with its reasons, when there is no solution.
    """
    from policy import kconfig
    from policy.atomic import locked, write_atomic
    from policy.report.explore import SOLVE_REPORTERS
    from policy.space.explore import solve as run

    features = tuple(f.strip() for item in require for f in item.split(",") if f.strip())
    devices, diags = _devices(profiles)
    if not devices:
        raise UsageError("no valid device profiles to solve for")
    if from_ is not None:
        if config_space or all_:
            raise UsageError("--from changes the given config: --config-space and --all do "
                             "not apply")
        from policy.cli.solve_from import run_from

        code = run_from(from_, devices, features, max_changes, output, fmt, query)
        for d in diags:
            click.echo(d.render(), err=True)
        return code
    progress = _Progress()
    try:
        result = run(
            devices,
            features,
            minimize,  # type: ignore[arg-type]  # click.Choice keeps it to the Literal's values
            _space(config_space, all_, whole_by_default=True),
            progress=progress,
            limit=limit,
            symbolic=True,
        )
    finally:
        progress.close()
    buf = io.StringIO()
    if query is not None:
        from policy.report.explore import solve_document

        buf.write(apply_query(query, solve_document(result)))
    else:
        SOLVE_REPORTERS[fmt]().report(result, buf)
    if result.ok and result.build is not None and output:
        target = Path(output)
        with locked(target):  # the .config lock every writer of a .config holds
            write_atomic(target, kconfig.render_config(result.build), backup=True)
        if fmt == "table" and query is None:
            buf.write(f"wrote {target}\n")
    _out(buf.getvalue())
    for d in diags:
        click.echo(d.render(), err=True)
    return int(ExitCode.OK if result.ok else ExitCode.FINDINGS)
