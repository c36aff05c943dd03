"""``plan``: ndctl/daxctl commands from the current namespaces to the decided policy (never run)."""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from policy.cli.options import format_option, profiles_argument
from policy.errors import ExitCode, UsageError


@dataclass(frozen=True)
class PlanSettings:
    """Everything ``plan`` was asked for."""

    config: str | None
    ndctl: str | None
    profiles: tuple[str, ...]
    fmt: str


def read_ndctl_option(value: str) -> Any:
    """The listing named by ``--ndctl`` (``-`` reads stdin). Shared with evaluate/matrix."""
    from policy.ndctl.listing import parse_listing, read_listing

    if value == "-":
        stream = getattr(sys.stdin, "buffer", sys.stdin)
        data = stream.read()
        return parse_listing(data if isinstance(data, bytes) else data.encode("utf-8"), "<stdin>")
    return read_listing(value)


def _config_name(given: str | None) -> str:
    if given:
        return given
    env = os.environ.get("KCONFIG_CONFIG")
    if env:
        return env
    if Path(".config").is_file():
        return ".config"
    raise UsageError("plan needs one kernel config: --config PATH (a .config, /boot/config-*, "
                     "/proc/config.gz) or a shipped defconfig name such as debian_amd64")


def run(settings: PlanSettings) -> int:
    """Build the pieces, plan, print; exit 1 when some profile cannot be planned."""
    from policy import resources
    from policy.kconfig.sources import load_config
    from policy.ndctl.plan import make_plan, render_text, state_from_listing
    from policy.profiles import profile as profiles

    source = load_config(_config_name(settings.config))
    listing = read_ndctl_option(settings.ndctl) if settings.ndctl else None
    loaded = profiles.load_profiles(list(settings.profiles) or [resources.profiles_dir()])
    for diag in loaded.diagnostics:
        click.echo(diag.render(), err=True)
    plan = make_plan(
        list(loaded.devices), source.build, state_from_listing(listing), listing=listing
    )
    if source.imported:
        click.echo(f"note: {source.summary()}", err=True)
    if settings.fmt == "json":
        doc = plan.to_dict()
        doc["config_source"] = source.summary()
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(render_text(plan), nl=False)
    if plan.destroys_data:
        n = sum(s.destroys_data for s in plan.steps)
        click.echo(f"WARNING: {n} planned command(s) DESTROY DATA; nothing was run.", err=True)
    failed = not plan.ok or not loaded.ok
    return int(ExitCode.FINDINGS if failed else ExitCode.OK)


@click.command()
@click.option(
    "--config",
    "config",
    metavar="PATH",
    help="The kernel config to plan for: a .config, a distro config (/boot/config-*, "
    "/proc/config.gz, .xz) or a shipped defconfig name (default: $KCONFIG_CONFIG, else ./.config).",
)
@click.option(
    "--ndctl",
    "ndctl",
    metavar="FILE",
    help="The current namespaces: `ndctl list` JSON (any of -N -R -B -u -i -X), '-' for stdin. "
    "Without it the plan starts from no namespaces.",
)
@format_option(
    ["table",
    "json"], "Output format: commented shell commands, or JSON (schema_version 1).",
)
@profiles_argument()
def plan(config: str | None, ndctl: str | None, fmt: str, profiles: tuple[str, ...]) -> int:
    """Turn the decided policy into ndctl/daxctl commands; never runs them.

    PROFILE... are profile files or directories (default: the shipped profiles). A profile
    describes the namespace whose dev, blockdev, chardev or ndctl name equals its name (or its
    ndctl.dev/ndctl.blockdev/ndctl.chardev/ndctl.name label). Commands that destroy data are
    marked. Exit 1 when a profile cannot be planned.
    """
    return run(PlanSettings(config, ndctl, profiles, fmt))
