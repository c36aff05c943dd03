"""A configuration read back from the BDDs as a witness: replayed, shortened, made a record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from policy.space import encode
from policy.space.enumerate import Configuration, replay


def witness_configuration(
    walk: Any, target: Any, ident: int, levels: Optional[list[list[Any]]] = None
) -> Configuration:
    """A configuration of ``target`` (a set of ``walk``, a :class:`policy.space.symbolic.Walk`) with
    its witness: the fewest enabled options when ``levels`` (:meth:`Walk.levels` holding the
    target) are given, read back from the BDDs, replayed and shortened."""
    on, decisions, _ = walk.witness(target, fewest=levels is not None, levels=levels)
    kept, options = _shorten(walk.model, decisions)
    bits = sum(1 << i for i, name in enumerate(walk.projection) if on[name])
    chain: Any = None
    for dec in kept:
        chain = (dec, chain)
    return Configuration(ident, bits, options, walk.projection, chain)


def _shorten(
    model: encode.Model, decisions: Sequence[tuple[str, str]]
) -> tuple[list[tuple[str, str]], int]:
    """``decisions`` less every line that can go without changing the configuration or adding
    enabled options (each is dropped in turn, last first, and stays dropped when the replay
    gives the same projection); with the enabled user options of the result."""
    full = replay(model, decisions)
    if full is None:
        raise RuntimeError("internal error: a witness read from the BDD does not replay")
    kept = list(decisions)
    options = full[1]
    for dec in reversed(list(decisions)):
        trial = [d for d in kept if d != dec]
        got = replay(model, trial)
        # the same configuration, and never more enabled options (a line may turn one off)
        if got is not None and got[0] == full[0] and got[1] <= options:
            kept, options = trial, got[1]
    return kept, options
