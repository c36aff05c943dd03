"""CUDD through ``dd.cudd`` (the BDD package of :mod:`policy.space.symbolic`), imported once."""

from __future__ import annotations

import sys
from collections.abc import Sequence
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


def exactly(bdd: Any, items: Sequence[Any]) -> list[Any]:
    """``out[k]``: where exactly k of the sets ``items`` hold (k = 0 .. len(items))."""
    count = [bdd.true]
    for u in items:
        nxt = [bdd.false] * (len(count) + 1)
        for k, c in enumerate(count):
            nxt[k] = nxt[k] | (c & ~u)
            nxt[k + 1] = nxt[k + 1] | (c & u)
        count = nxt
    return count
