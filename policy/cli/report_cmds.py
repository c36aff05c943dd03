"""``report`` and ``plot``: the matrix, cost curves and frontier as an HTML page or charts."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import click

from policy.cli.options import profiles_argument
from policy.errors import ExitCode, InputError, UsageError

CONFIG_HELP = ("A .config or shipped defconfig name; repeat for several (default: every "
               "shipped configs/*_defconfig).")


@dataclass(frozen=True)
class ReportSettings:
    configs: tuple[str, ...]
    profiles: tuple[str, ...]
    output: str
    frontier: bool = True


def _matrix(configs: tuple[str, ...], profiles: tuple[str, ...]) -> tuple[Any, list[Any],
                                                                          list[Any]]:
    from policy import resources
    from policy.evaluate import evaluate
    from policy.kconfig.sources import load_builds
    from policy.profiles import profile as loader

    builds = load_builds(configs)
    loaded = loader.load_profiles(list(profiles) or [resources.profiles_dir()])
    result = evaluate(builds, list(loaded.devices), diagnostics=tuple(loaded.diagnostics))
    return result, list(builds), list(loaded.devices)


def _explore_doc(profiles: tuple[str, ...]) -> dict[str, Any]:
    """explore over the whole tree, counted over BDDs (about a second)."""
    from policy import resources
    from policy.profiles import profile as loader
    from policy.report.explore import explore_document
    from policy.space.explore import explore

    loaded = loader.load_profiles(list(profiles) or [resources.profiles_dir()])
    return explore_document(explore(list(loaded.devices), None, listing=False))


def _inputs(builds: list[Any], devices: list[Any]) -> tuple[Any, ...]:
    from policy.report.html import InputRecord
    from policy.units import format_size

    out = [InputRecord("configuration", b.name, str(b.path or "(built in)"),
                       f"{b.arch}, {format_size(b.page_size)} pages") for b in builds]
    out += [InputRecord("profile", str(d.name), f"{d.source}:{d.line}",
                        f"{d.type}, {format_size(d.size)}"
                        + (f", requires {' '.join(d.requires)}" if d.requires else ""))
            for d in devices]
    return tuple(out)


def _write(output: str, data: str | bytes) -> None:
    from policy.atomic import write_atomic

    if output == "-":
        if isinstance(data, bytes):
            raise UsageError("a PNG cannot go to stdout; give -o FILE.png")
        click.echo(data, nl=False)
        return
    if isinstance(data, bytes):
        import os
        import tempfile

        path = Path(output)
        try:  # a PNG: the same temp file + rename as policy.atomic, for bytes
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError as err:
            raise InputError(f"{path}: cannot write: {err.strerror}") from err
        return
    write_atomic(Path(output), data)


def run_report(settings: ReportSettings) -> int:
    from importlib.metadata import version

    from policy.report import plots
    from policy.report.curves import frontier_points
    from policy.report.html import ReportPage, frontier_note, render_html

    result, builds, devices = _matrix(settings.configs, settings.profiles)
    doc = _explore_doc(settings.profiles) if settings.frontier else None
    page = ReportPage(
        matrix=result,
        inputs=_inputs(builds, devices),
        costs_svg=plots.svg_text(plots.costs_figure(), "costs-"),
        frontier_svg=plots.svg_text(plots.frontier_figure(frontier_points(doc)), "front-")
        if doc else "",
        frontier_note=frontier_note(doc),
        version=f"pmempolicy {version('pmempolicy')}",
    )
    _write(settings.output, render_html(page))
    return int(ExitCode.OK)


@click.command()
@click.option("--config", "configs", metavar="PATH", multiple=True, help=CONFIG_HELP)
@click.option("--output", "-o", "output", metavar="FILE", default="report.html",
              show_default=True, help="The HTML file to write (atomically; '-' for stdout).")
@click.option("--no-frontier", "no_frontier", is_flag=True,
              help="Leave out explore's Pareto frontier (saves about a second).")
@profiles_argument()
def report(configs: tuple[str, ...], output: str, no_frontier: bool,
           profiles: tuple[str, ...]) -> int:
    """One self-contained HTML page: the matrix as heatmaps, cost curves, the frontier.

    Also every finding with its chain (hover or click a cell) and the inputs with where they
    came from. No network: styles and charts (SVG) are inline. PROFILE... default: the
    shipped profiles.
    """
    return run_report(ReportSettings(configs, profiles, output, not no_frontier))


@click.command()
@click.argument("chart", type=click.Choice(["costs", "matrix", "frontier"]))
@click.option("--config", "configs", metavar="PATH", multiple=True, help=CONFIG_HELP)
@click.option("--output", "-o", "output", metavar="FILE", required=True,
              help="FILE.svg or FILE.png ('-': SVG to stdout).")
@profiles_argument()
def plot(chart: str, configs: tuple[str, ...], output: str, profiles: tuple[str, ...]) -> int:
    """Write one chart as SVG or PNG: cost curves, the matrix heatmap, or the frontier.

    costs: DRAM memmap and capacity lost against device size per mode/map/align; matrix:
    configurations × devices; frontier: explore's Pareto frontier.
    """
    from policy.report import plots
    from policy.report.curves import frontier_points

    suffix = Path(output).suffix.lower() if output != "-" else ".svg"
    if suffix not in (".svg", ".png"):
        raise UsageError(f"--output must end in .svg or .png, not {output!r}")
    fig: Optional[Any] = None
    if chart == "costs":
        fig = plots.costs_figure()
    elif chart == "matrix":
        fig = plots.matrix_figure(_matrix(configs, profiles)[0])
    else:
        fig = plots.frontier_figure(frontier_points(_explore_doc(profiles)))
    _write(output, plots.png_bytes(fig) if suffix == ".png" else plots.svg_text(fig))
    return int(ExitCode.OK)
