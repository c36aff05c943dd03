"""A configuration read back from the BDDs as a witness: replayed, shortened, made a record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from policy.space import encode
from policy.space.enumerate import Configuration, replay_path
from policy.space.walk import Levels


def witness_configuration(
    walk: Any, target: Any, ident: int, levels: Optional[Levels] = None
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
    gives the same projection); with the enabled user options of the result.

    A line only matters from the step that defines its symbol on, so each trial replays from
    there, starting from the kept assignment's own state at that step."""
    first: dict[str, int] = {}
    for i, cs in enumerate(model.steps):
        for name in cs.step.defines:
            first.setdefault(name, i)
    kept = list(decisions)
    path = replay_path(model, dict(kept), [((), 0)])
    if path is None:
        raise RuntimeError("internal error: a witness read from the BDD does not replay")
    for dec in reversed(list(decisions)):
        trial = [d for d in kept if d != dec]
        got = replay_path(model, dict(trial), path[: first.get(dec[0], 0) + 1])
        # the same configuration, and never more enabled options (a line may turn one off)
        if got is not None and got[-1][0] == path[-1][0] and got[-1][1] <= path[-1][1]:
            kept, path = trial, got
    return kept, path[-1][1]

