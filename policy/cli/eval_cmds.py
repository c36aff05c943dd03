"""``evaluate``, ``matrix`` and ``explain``: decide devices under builds and report or explain."""
from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import click

from policy.cli.options import (
    apply_query,
    color_option,
    emit,
    fit_text,
    format_option,
    output_option,
    profiles_argument,
    query_option,
    text_style,
    to_stdout,
)
from policy.errors import ExitCode, UsageError
from policy.report.matrix import DETAILS_REPORTERS, EVALUATE_REPORTERS, REPORTERS, to_document

FORMAT_HELP = ("Output format: text (matrix: a grid of configurations × devices that fits the "
               "terminal, else 80 columns), JSON (schema_version 1) or CSV.")
DETAILS_HELP = "The text per device: decision, sizes, DRAM, features and findings."


@dataclass(frozen=True)
class EvalSettings:
    """Everything ``evaluate``/``matrix`` were asked for."""

    configs: tuple[str, ...]
    profiles: tuple[str, ...]
    fmt: str
    query: Optional[str]
    verbose_table: bool
    fail_on_findings: bool = True
    ndctl: Optional[str] = None  # `ndctl list` JSON of the current namespaces ("-" for stdin)
    kernel: Optional[str] = None  # --kernel: the modelled kernel version the configs are read as
    details: bool = False  # matrix --details: the per-device text instead of the grid
    output: Optional[str] = None  # --output FILE ("-" or None: stdout)
    color: str = "auto"  # --color auto|always|never


def _default_configs() -> tuple[str, ...]:
    env = os.environ.get("KCONFIG_CONFIG")
    if env:
        return (env,)
    if Path(".config").is_file():
        return (".config",)
    return ()


def _load_builds(names: Sequence[str], kernel: Optional[str] = None) -> list[Any]:
    from policy.kconfig.sources import (
        load_builds,  # shipped defconfigs, pmempolicy .configs and distro configs
    )

    builds = load_builds(names, kernel)
    for build in builds:
        for note in build.notes:  # e.g. a kernel version that is not modelled: never silent
            click.echo(f"warning: {note}", err=True)
    return builds


def kernel_option(fn: Any) -> Any:
    """``--kernel 6.1|6.12``: read every config as this modelled kernel (default: its header)."""
    from policy.kconfig.versions import names

    return click.option(
        "--kernel", "kernel", type=click.Choice(list(names())), default=None,
        help="Read the configs as this modelled kernel version (default: the version their "
             "header names; shipped defconfigs: where they ship).",
    )(fn)


def _load_devices(paths: Sequence[str]) -> tuple[list[Any], tuple[Any, ...]]:
    from policy import resources
    from policy.profiles import profile as profiles

    loaded = profiles.load_profiles(list(paths) or [resources.profiles_dir()])
    profiles.refuse_unreadable(loaded)
    return list(loaded.devices), tuple(loaded.diagnostics)


def run(settings: EvalSettings, out: Any) -> int:
    """Build the pieces, evaluate, report; the exit code says whether everything was met."""
    from policy.evaluate import evaluate as run_eval

    builds = _load_builds(settings.configs, settings.kernel)
    devices: list[Any] = []
    diags: tuple[Any, ...] = ()
    if settings.profiles or not settings.ndctl:
        devices, diags = _load_devices(settings.profiles)
    if settings.ndctl:
        from policy.cli.options import read_ndctl
        from policy.ndctl.devices import to_devices

        listing = read_ndctl(settings.ndctl)
        devices = to_devices(listing) + devices
        diags = tuple(listing.diagnostics) + diags
    result = run_eval(builds, devices, diagnostics=diags)
    registry = (EVALUATE_REPORTERS if settings.verbose_table
                else DETAILS_REPORTERS if settings.details else REPORTERS)
    if settings.query is not None:
        text = apply_query(settings.query, to_document(result))
    else:
        style = text_style(settings.color, settings.output)
        if to_stdout(settings.output) and settings.fmt != "table":
            # streamed: a big listing is never one string
            registry[settings.fmt](style).report(result, out)
            return _exit_code(settings.fail_on_findings, result.ok)
        buf = io.StringIO()
        registry[settings.fmt](style).report(result, buf)
        text = buf.getvalue()
    emit(text, settings.output)
    if not to_stdout(settings.output) and (settings.fmt != "table" or settings.query):
        # the file holds the machine format; the text report stays the run's log
        buf = io.StringIO()
        registry["table"](text_style(settings.color)).report(result, buf)
        out.write(buf.getvalue())
    return _exit_code(settings.fail_on_findings, result.ok)


def _exit_code(fail_on_findings: bool, ok: bool) -> int:
    return int(ExitCode.OK) if ok or not fail_on_findings else int(ExitCode.FINDINGS)


class _Echo:
    def write(self, text: str) -> None:
        click.echo(text, nl=False, color=True)

    def writelines(self, lines: Any) -> None:
        for text in lines:
            self.write(text)


def _options(fn: Any) -> Any:
    fn = color_option()(fn)
    fn = output_option()(fn)
    fn = query_option()(fn)
    fn = click.option("--format", "fmt", type=click.Choice(sorted(REPORTERS)), default="table",
                      show_default=True, help=FORMAT_HELP)(fn)
    return fn


def _ndctl_option(fn: Any) -> Any:
    return click.option(
        "--ndctl",
        "ndctl",
        metavar="FILE",
        help="Evaluate the current namespaces of an `ndctl list` JSON file ('-' for stdin) "
        "as they are set up now (with PROFILE... also those profiles).",
    )(fn)


@click.command()
@click.option("--config", "config", metavar="PATH",
              help="The .config or shipped defconfig name to evaluate under "
                   "(default: $KCONFIG_CONFIG, else ./.config; with --ndctl, else the running "
                   "kernel's config, /proc/config.gz or /boot/config-$(uname -r); else every "
                   "shipped defconfig).")
@kernel_option
@_options
@_ndctl_option
@profiles_argument()
def evaluate(config: Optional[str], kernel: Optional[str], fmt: str, query: Optional[str],
             output: Optional[str], color: str, ndctl: Optional[str],
             profiles: tuple[str, ...]) -> int:
    """Decide per device how it gets struct pages: decision, reasons, features, costs.

    PROFILE... are profile files or directories (default: the shipped profiles). Exit 1 if any
    requirement or budget is unmet.
    """
    configs = (config,) if config else _default_configs()
    if not configs and ndctl is not None:
        # the namespaces of a host: judged under that host's kernel where it can be found
        from policy.cli.running import running_config

        running = running_config("evaluate --ndctl")
        if running is not None:
            configs = (running,)
        else:
            click.echo("note: evaluate --ndctl: evaluating under every shipped defconfig",
                       err=True)
    return run(EvalSettings(configs, profiles, fmt, query, True, ndctl=ndctl, kernel=kernel,
                            output=output, color=color), _Echo())


@click.command()
@click.option("--config", "configs", metavar="PATH", multiple=True,
              help="A .config or shipped defconfig name; repeat for several "
                   "(default: every shipped configs/*_defconfig).")
@click.option(
    "--fail-on-findings",
    is_flag=True,
    help="Exit 1 when any cell has a finding (by default the matrix is a report: exit 0).",
)
@kernel_option
@click.option("--details", "-v", "details", is_flag=True, help=DETAILS_HELP)
@_options
@_ndctl_option
@profiles_argument()
def matrix(configs: tuple[str, ...], fail_on_findings: bool, kernel: Optional[str],
           details: bool, fmt: str, query: Optional[str], output: Optional[str], color: str,
           ndctl: Optional[str], profiles: tuple[str, ...]) -> int:
    """Configurations × devices × features × costs.

    With no arguments: every shipped defconfig (6.1 ones by name, 6.12 ones as NAME@6.12)
    against every shipped profile, as a grid (each cell the decision: mode, map, align, and a
    mark). Cells with findings are part of the report (exit 0); --fail-on-findings makes them
    exit 1, and 'pmempolicy evaluate' is the gate for one configuration.
    """
    return run(EvalSettings(configs, profiles, fmt, query, False, fail_on_findings, ndctl,
                            kernel=kernel, details=details, output=output, color=color),
               _Echo())


@click.command()
@click.argument("feature")
@click.option(
    "--device", "device", required=True, metavar="NAME", help="The device (profile name)."
)
@click.option(
    "--config",
    "config",
    metavar="PATH",
    help="The .config or shipped defconfig name (default: $KCONFIG_CONFIG, else ./.config, "
    "else every shipped defconfig).",
)
@kernel_option
@format_option(["table", "json"], "Output format: text or JSON.")
@profiles_argument()
def explain(
    feature: str, device: str, config: Optional[str], kernel: Optional[str], fmt: str,
    profiles: tuple[str, ...],
) -> int:
    """Why FEATURE is on or off for a device, and the smallest change that turns it on.

    The change (a runtime pin or one Kconfig symbol) is checked by re-evaluating.
    """
    from policy.api import explain_feature
    from policy.decide.catalog import feature_names

    if feature not in feature_names():
        raise UsageError(
            f"unknown feature {feature!r}; known: {', '.join(sorted(feature_names()))}"
        )
    configs = (config,) if config else _default_configs()
    builds = _load_builds(configs, kernel)
    devices, _diags = _load_devices(profiles)
    match = [d for d in devices if d.name == device]
    if not match:
        known = ", ".join(sorted(d.name for d in devices))
        raise UsageError(f"no device named {device!r}; known: {known}")
    reports = [explain_feature(feature, match[0], b) for b in builds]
    if fmt == "json":
        click.echo(
            json.dumps(
                {"schema_version": 1, "explanations": [r.to_dict() for r in reports]}, indent=2
            )
        )
    else:
        for r in reports:
            click.echo(fit_text(r.render()))
    return int(ExitCode.OK)
