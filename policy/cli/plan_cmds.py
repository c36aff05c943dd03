"""``plan``: ndctl/daxctl commands from the current namespaces to the decided policy (never run)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import click

from policy.cli.options import apply_query, format_option, profiles_argument, query_option
from policy.errors import ExitCode, UsageError


@dataclass(frozen=True)
class PlanSettings:
    """Everything ``plan`` was asked for."""

    config: str | None
    ndctl: str | None
    profiles: tuple[str, ...]
    fmt: str
    query: str | None = None
    allow_destroy: bool = False
    host: str | None = None


def _config_name(given: str | None) -> str:
    if given:
        return given
    env = os.environ.get("KCONFIG_CONFIG")
    if env:
        return env
    if Path(".config").is_file():
        return ".config"
    from policy.cli.running import running_config

    running = running_config("plan")
    if running is not None:
        return running
    raise UsageError("plan needs one kernel config: --config PATH (a .config, /boot/config-*, "
                     "/proc/config.gz) or a shipped defconfig name such as debian_amd64")


def run(settings: PlanSettings) -> int:
    """Build the pieces, plan, print; exit 1 when some profile cannot be planned."""
    from policy.kconfig.sources import load_config
    from policy.ndctl.plan import make_plan, render_text, state_from_listing
    from policy.profiles import profile as profiles

    source = load_config(_config_name(settings.config))
    from policy.cli.options import read_ndctl

    listing = read_ndctl(settings.ndctl) if settings.ndctl else None
    # only the profiles given: the shipped examples are never implied
    loaded = profiles.load_profiles(list(settings.profiles))
    profiles.refuse_unreadable(loaded)
    for diag in loaded.diagnostics:
        click.echo(diag.render(), err=True)
    plan = make_plan(
        list(loaded.devices), source.build, state_from_listing(listing), listing=listing,
        allow_destroy=settings.allow_destroy, host=settings.host,
    )
    if source.imported:
        click.echo(f"note: {source.summary()}", err=True)
    if not settings.profiles:
        click.echo("note: no PROFILE given: nothing to change (the shipped example profiles are "
                   "never implied)", err=True)
    if settings.query is not None:
        doc = plan.to_dict()
        doc["config_source"] = source.summary()
        click.echo(apply_query(settings.query, doc), nl=False)
    elif settings.fmt == "json":
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
    "/proc/config.gz, .xz) or a shipped defconfig name (default: $KCONFIG_CONFIG, else ./.config, "
    "else the running kernel's: /proc/config.gz, else /boot/config-$(uname -r), said on stderr).",
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
@query_option()
@click.option(
    "--allow-destroy",
    "allow_destroy",
    is_flag=True,
    help="Print steps that destroy data or disturb a device in use (destroy-namespace, "
    "reconfiguring an existing namespace, daxctl reconfigure-device). Without it the plan stops "
    "before such a step with a finding saying what would be lost.",
)
@click.option(
    "--host",
    "host",
    metavar="NAME",
    help="The host the listing comes from: profiles whose device.match.host names another "
    "host are skipped.",
)
@profiles_argument()
def plan(config: str | None, ndctl: str | None, fmt: str, query: str | None,
         allow_destroy: bool, host: str | None, profiles: tuple[str, ...]) -> int:
    """Turn the decided policy into ndctl/daxctl commands; never runs them.

    Only the PROFILE... given (files or directories) are planned; with none there is nothing
    to change. A profile applies to an existing namespace only through its device.match
    selectors (host, region, namespace, uuid, name); no match or several is a finding.
    Commands that destroy data are printed only with --allow-destroy. Every create is checked
    against the region's free space and alignment. Exit 1 on any finding.
    """
    return run(PlanSettings(config, ndctl, profiles, fmt, query, allow_destroy, host))
