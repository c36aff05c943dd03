"""Where a build comes from: a shipped defconfig, a pmempolicy ``.config``, or a real distro config.

``--config`` accepts all three. A name of a shipped defconfig or a config of the pmempolicy tree is
read strictly (:func:`policy.kconfig.load_build`). A real distro config (``/boot/config-*``,
``/proc/config.gz``, plain, ``.gz`` or ``.xz``, any 6.x distribution) is recognised by being
compressed or by naming symbols outside the model, and is read through
:func:`policy.kconfig.import_config`: symbols outside the model are counted and ignored, modeled
ones are type- and range-checked exactly as ``import-config`` does.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

_GZIP_MAGIC = b"\x1f\x8b"
_XZ_MAGIC = b"\xfd7zXZ\x00"


@dataclass(frozen=True)
class ConfigSource:
    """One resolved ``--config``: the build and how it was read.

    ``imported`` is true for a distro config read through ``import_config``; ``assignments`` and
    ``outside_model`` then count its ``CONFIG_`` lines and those naming symbols the model does not
    have; ``differences`` are modeled symbols whose value did not survive (symbol, file says,
    model gives, line).
    """

    build: Any  # policy.kconfig.BuildConfig
    path: str
    imported: bool
    assignments: int = 0
    outside_model: int = 0
    differences: tuple[tuple[str, str, str, int], ...] = ()

    def summary(self) -> str:
        """One line for humans: where the build came from."""
        if not self.imported:
            return f"{self.build.name}: {self.path}"
        return (
            f"{self.build.name}: imported distro config {self.path} ({self.assignments} symbols, "
            f"{self.outside_model} outside the model ignored, {len(self.differences)} changed)"
        )


def _compressed(path: Path) -> bool:
    from policy.atomic import read_regular
    from policy.errors import InputError

    try:
        head = read_regular(path, 6, "a kernel config file")  # a FIFO or device never blocks
    except InputError:
        return False  # load_build reports the unreadable file with its own message
    return head.startswith((_GZIP_MAGIC, _XZ_MAGIC))


def load_config(name: str, kernel: Optional[str] = None) -> ConfigSource:
    """Resolve one ``--config`` value (a shipped defconfig name or a path) into a build.

    ``kernel`` (``--kernel``) overrides the version the config names in its header."""
    from policy.kconfig import tree as kconfig

    path = kconfig.find_defconfig(name)
    if _compressed(path):
        return _imported(path, kernel)
    try:
        return ConfigSource(kconfig.load_build(path, version=kernel), str(path), False)
    except kconfig.ConfigInputError as err:
        if not any(d.code == "unknown-symbol" for d in err.diagnostics):
            raise
    return _imported(path, kernel)


def _imported(path: Path, kernel: Optional[str] = None) -> ConfigSource:
    from policy.kconfig.importing import import_config

    rep = import_config(path, kernel)
    return ConfigSource(
        rep.build, str(path), True, rep.assignments, rep.outside_model, rep.differences
    )


def load_configs(names: Sequence[str], kernel: Optional[str] = None) -> list[ConfigSource]:
    """Every ``--config``; none means every shipped defconfig (of ``kernel``, or of all)."""
    from policy.kconfig import tree as kconfig

    if not names:
        return [ConfigSource(b, str(b.path), False) for b in kconfig.shipped_builds(kernel)]
    return [load_config(n, kernel) for n in names]


def load_builds(names: Sequence[str], kernel: Optional[str] = None) -> list[Any]:
    """The builds of :func:`load_configs` (what ``evaluate``/``matrix``/``plan`` run under)."""
    return [src.build for src in load_configs(names, kernel)]
