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

from policy.cli.options import apply_query, format_option, profiles_argument, query_option
from policy.errors import ExitCode, UsageError
from policy.report.matrix import EVALUATE_REPORTERS, REPORTERS, to_document

FORMAT_HELP = "Output format: an 80-column table, JSON (schema_version 1) or CSV."


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


def _default_configs() -> tuple[str, ...]:
    env = os.environ.get("KCONFIG_CONFIG")
    if env:
        return (env,)
    if Path(".config").is_file():
        return (".config",)
    return ()


def _load_builds(names: Sequence[str]) -> list[Any]:
    from policy.kconfig.sources import (
        load_builds,  # shipped defconfigs, pmempolicy .configs and distro configs
    )

    return load_builds(names)


def _load_devices(paths: Sequence[str]) -> tuple[list[Any], tuple[Any, ...]]:
    from policy import resources
    from policy.profiles import profile as profiles

    loaded = profiles.load_profiles(list(paths) or [resources.profiles_dir()])
    return list(loaded.devices), tuple(loaded.diagnostics)


def run(settings: EvalSettings, out: Any) -> int:
    """Build the pieces, evaluate, report; the exit code says whether everything was met."""
    from policy.evaluate import evaluate as run_eval

    builds = _load_builds(settings.configs)
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
    if settings.query is not None:
        out.write(apply_query(settings.query, to_document(result)))
    else:
        registry = EVALUATE_REPORTERS if settings.verbose_table else REPORTERS
        buf = io.StringIO()
        registry[settings.fmt]().report(result, buf)
        out.write(buf.getvalue())
    if result.ok or not settings.fail_on_findings:
        return int(ExitCode.OK)
    return int(ExitCode.FINDINGS)


class _Echo:
    def write(self, text: str) -> None:
        click.echo(text, nl=False)


def _options(fn: Any) -> Any:
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
                   "(default: $KCONFIG_CONFIG, else ./.config, else every shipped defconfig).")
@_options
@_ndctl_option
@profiles_argument()
def evaluate(config: Optional[str], fmt: str, query: Optional[str], ndctl: Optional[str],
             profiles: tuple[str, ...]) -> int:
    """Decide per device how it gets struct pages: decision, reasons, features, costs.

    PROFILE... are profile files or directories (default: the shipped profiles). Exit 1 if any
    requirement or budget is unmet.
    """
    configs = (config,) if config else _default_configs()
    return run(EvalSettings(configs, profiles, fmt, query, True, ndctl=ndctl), _Echo())


@click.command()
@click.option("--config", "configs", metavar="PATH", multiple=True,
              help="A .config or shipped defconfig name; repeat for several "
                   "(default: every shipped configs/*_defconfig).")
@click.option(
    "--fail-on-findings",
    is_flag=True,
    help="Exit 1 when any cell has a finding (by default the matrix is a report: exit 0).",
)
@_options
@_ndctl_option
@profiles_argument()
def matrix(configs: tuple[str, ...], fail_on_findings: bool, fmt: str, query: Optional[str],
           ndctl: Optional[str], profiles: tuple[str, ...]) -> int:
    """Configurations × devices × features × costs.

    With no arguments: every shipped defconfig against every shipped profile. Cells with
    findings are part of the report (exit 0); --fail-on-findings makes them exit 1, and
    'pmempolicy evaluate' is the gate for one configuration.
    """
    return run(EvalSettings(configs, profiles, fmt, query, False, fail_on_findings, ndctl), _Echo())


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
@format_option(["table", "json"], "Output format: text or JSON.")
@profiles_argument()
def explain(
    feature: str, device: str, config: Optional[str], fmt: str, profiles: tuple[str, ...]
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
    builds = _load_builds(configs)
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
            click.echo(r.render())
    return int(ExitCode.OK)
