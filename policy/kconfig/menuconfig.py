"""kconfiglib's own menuconfig on the shipped tree, writing through the atomic writer."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

import kconfiglib

from policy import resources
from policy.kconfig.configfile import (  # re-exported: part of this module's API
    ConfigInputError as ConfigInputError,
    ConfigLine as ConfigLine,
    check_assignment as check_assignment,
    parse_config_text as parse_config_text,
    read_config_text as read_config_text,
)
from policy.kconfig.tree import _kconfig_environ


class _AtomicKconfig(kconfiglib.Kconfig):  # type: ignore[misc]
    """A Kconfig whose ``write_config`` goes through :func:`policy.atomic.write_atomic`."""

    def write_config(self, filename: Optional[str] = None, header: Optional[str] = None,
                     save_old: bool = True, verbose: Optional[bool] = None) -> str:
        from policy.atomic import write_atomic

        target = Path(filename or kconfiglib.standard_config_filename())
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            super().write_config(str(out), header=header, save_old=False)
            text = out.read_text(encoding="utf-8")
        if write_atomic(target, text, backup=save_old):
            return f"Configuration saved to '{target}'"
        return f"No change to configuration in '{target}'"


def run_menuconfig(config: Path) -> None:
    """kconfiglib's own menuconfig on the shipped tree, saving atomically with ``.old``.

    A private parse of the tree is used, so the UI's edits never leak into other snapshots.
    menuconfig takes its file name from ``KCONFIG_CONFIG``; its saves go through
    :func:`policy.atomic.write_atomic` instead of kconfiglib's rename-then-write.
    """
    import menuconfig as kconfiglib_menuconfig  # curses: only for this command

    with _kconfig_environ(KCONFIG_CONFIG=str(config.absolute()),
                          srctree=str(resources.tree_root()), KCONFIG_CONFIG_HEADER=None):
        kconf = _AtomicKconfig("Kconfig", warn_to_stderr=False)
        kconfiglib_menuconfig.menuconfig(kconf)
