"""pmempolicy: how Linux gives persistent memory its struct pages, modelled and checked."""
from __future__ import annotations

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    # Resolved on first use: importlib.metadata costs ~25 ms at every start-up otherwise.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("pmempolicy")
        except PackageNotFoundError:  # a checkout that was not installed
            return "0.0.0+checkout"
    raise AttributeError(f"module 'policy' has no attribute {name!r}")
