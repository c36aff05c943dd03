"""The running kernel's config as a default (``plan``, ``evaluate --ndctl``, ``solve --from``).

Only the command line reads the host: ``uname -r`` and the environment.
``PMEMPOLICY_RUNNING_CONFIG`` overrides the search: a path stands for the running kernel's config,
an empty value means there is none (tests, and containers whose /proc belongs to another kernel).
"""
from __future__ import annotations

import os
import sys
from typing import Optional

import click

from policy.report.style import fit_lines

ENV = "PMEMPOLICY_RUNNING_CONFIG"


def running_config(command: str) -> Optional[str]:
    """The running kernel's config path, said on stderr; None (also said) when there is none."""
    from policy.kconfig.running import locate

    override = os.environ.get(ENV)
    if override is not None:
        if not override:
            click.echo(f"note: {command}: no running kernel config ({ENV} is empty)", err=True)
            return None
        click.echo(f"note: {command}: using the running kernel's config {override} (from {ENV})",
                   err=True)
        return override
    release = os.uname().release if sys.platform.startswith("linux") else None
    found = locate(release)
    click.echo(fit_lines(f"note: {command}: {found.describe()}"), err=True)
    return None if found.path is None else str(found.path)
