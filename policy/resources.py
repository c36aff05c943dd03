"""One resolver for the data pmempolicy ships: the Kconfig tree, defconfigs, profiles, schemas.

In a checkout the files at the repository root are the source of truth; a built wheel carries a
copy of them in ``policy/_data`` (see ``setup.py``). Package-internal data (schemas, catalogs)
lives in ``policy/data``.
"""
from __future__ import annotations

import functools
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def tree_root() -> Path:
    """Directory holding the root ``Kconfig``, ``kconfig/``, ``configs/`` and ``profiles/``."""
    installed = _PACKAGE / "_data"
    if (installed / "Kconfig").is_file():
        return installed
    checkout = _PACKAGE.parent
    if (checkout / "Kconfig").is_file():
        return checkout
    raise RuntimeError(f"pmempolicy data not found in {installed} or {checkout}")


def kconfig_file() -> Path:
    """The root ``Kconfig`` of the shipped tree."""
    return tree_root() / "Kconfig"


def configs_dir() -> Path:
    """The shipped defconfigs (``configs/*_defconfig``)."""
    return tree_root() / "configs"


def profiles_dir() -> Path:
    """The shipped device profiles."""
    return tree_root() / "profiles"


def data_file(name: str) -> Path:
    """A file of package-internal data (``policy/data/NAME``)."""
    return _PACKAGE / "data" / name
