"""``compare``: one set of devices decided under two configurations, side by side."""
from __future__ import annotations

import io
import json
from typing import Optional

import click

from policy.cli.eval_cmds import _load_builds, _load_devices, kernel_option
from policy.cli.options import apply_query, format_option, profiles_argument, query_option
from policy.errors import ExitCode, UsageError


@click.command()
@click.argument("old")
@click.argument("new")
@kernel_option
@format_option(["table", "json"], "Output format: 80-column text or JSON (schema_version 1).")
@query_option()
@profiles_argument()
def compare(old: str, new: str, kernel: Optional[str], fmt: str, query: Optional[str],
            profiles: tuple[str, ...]) -> int:
    """What changes per device from configuration OLD to NEW: decision, features, DRAM, capacity.

    OLD and NEW are shipped defconfig names (debian_amd64, debian_amd64@6.12), pmempolicy
    .configs or distro configs; e.g. 'compare debian_amd64 debian_amd64@6.12'. PROFILE... are
    profile files or directories (default: the shipped profiles).
    """
    from policy.api import compare_builds
    from policy.report.compare import render_comparison

    old_build, new_build = _load_builds([old, new], kernel)
    devices, _diags = _load_devices(profiles)
    if not devices:
        raise UsageError("no valid device profiles to compare")
    result = compare_builds(old_build, new_build, devices)
    if query is not None:
        click.echo(apply_query(query, result.to_dict()), nl=False)
    elif fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        buf = io.StringIO()
        render_comparison(result, buf)
        click.echo(buf.getvalue(), nl=False)
    return int(ExitCode.OK)
