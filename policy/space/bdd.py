"""CUDD through ``dd.cudd`` (the BDD package of :mod:`policy.space.symbolic`), imported once."""

from __future__ import annotations

import sys
from typing import Any


def _import_cudd() -> Any:
    # dd imports networkx only for its plotting helpers (optional there: ImportError is handled);
    # keeping it out saves ~120 ms of every ``explore`` start
    blocked = "networkx" not in sys.modules
    if blocked:
        sys.modules["networkx"] = None  # type: ignore[assignment]
    try:
        from dd import cudd as module
    finally:
        if blocked and sys.modules.get("networkx", 0) is None:
            del sys.modules["networkx"]
    return module


cudd = _import_cudd()
