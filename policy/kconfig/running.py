"""The running kernel's config: ``/proc/config.gz``, else ``/boot/config-$(uname -r)``.

``/proc/config.gz`` exists when the kernel was built with ``CONFIG_IKCONFIG_PROC``
(kernel/Kconfig's IKCONFIG and IKCONFIG_PROC, kernel/configs.c); distributions install the
build's config as ``/boot/config-<release>`` instead (Debian's linux-image packages do). The
locator takes every path as a parameter, so it reads nothing but what it is given; the command
line passes the host's paths.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

PROC_CONFIG = Path("/proc/config.gz")
BOOT_DIR = Path("/boot")


@dataclass(frozen=True)
class RunningConfig:
    """Where the running kernel's config was found, or why there is none."""

    path: Optional[Path]
    looked: tuple[Path, ...]  # every place tried, in order

    def describe(self) -> str:
        """One line for stderr: which file, or where it was looked for."""
        if self.path is not None:
            return f"using the running kernel's config {self.path}"
        return "no running kernel config (looked for " + ", ".join(map(str, self.looked)) + ")"


def locate(
    release: Optional[str],
    proc_config: Path = PROC_CONFIG,
    boot_dir: Path = BOOT_DIR,
) -> RunningConfig:
    """The running kernel's config: ``proc_config`` when it is a regular file, else
    ``boot_dir/config-<release>``. ``release`` is ``uname -r`` (None: not a Linux host, where
    only ``proc_config`` is looked at)."""
    looked = [proc_config]
    if proc_config.is_file():
        return RunningConfig(proc_config, tuple(looked))
    if release:
        boot = boot_dir / f"config-{release}"
        looked.append(boot)
        if boot.is_file():
            return RunningConfig(boot, tuple(looked))
    return RunningConfig(None, tuple(looked))
