"""pmempolicy: how Linux gives persistent memory its struct pages, modelled and checked."""
from __future__ import annotations

__all__ = ["__version__"]

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("pmempolicy")
except PackageNotFoundError:  # a checkout that was not installed
    __version__ = "0.0.0+checkout"
