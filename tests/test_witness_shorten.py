"""Shortening a witness (policy.space.witness._shorten) judges each trial as it goes; the same
lines are kept as when every trial is replayed from the start to the end and compared there."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from test_levels import frontier_sets  # noqa: F401 - the fixture

from policy.space.enumerate import replay_path
from policy.space.witness import _shorten


def _shorten_by_full_replays(
    model: Any, decisions: Sequence[tuple[str, str]]
) -> tuple[list[tuple[str, str]], int]:
    kept = list(decisions)
    path = replay_path(model, dict(kept), [((), 0)])
    assert path is not None
    for dec in reversed(list(decisions)):
        trial = [d for d in kept if d != dec]
        got = replay_path(model, dict(trial), [((), 0)])
        if got is not None and got[-1][0] == path[-1][0] and got[-1][1] <= path[-1][1]:
            kept, path = trial, got
    return kept, path[-1][1]


def _lines(
    model: Any, rng: random.Random, base: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """``base`` with a few more lines of the model's user symbols, in step order."""
    order: dict[str, int] = {}
    for i, cs in enumerate(model.steps):
        for name in cs.step.user:
            order.setdefault(name, i)
    extra = rng.sample(sorted(order), k=min(6, len(order)))
    lines = dict(base)
    for name in extra:
        lines.setdefault(name, rng.choice(("n", "m", "y")))
    return sorted(lines.items(), key=lambda d: order.get(d[0], -1))


def test_frontier_witnesses_shorten_as_by_full_replays(
    frontier_sets: tuple[Any, list[Any]],  # noqa: F811
) -> None:
    w, targets = frontier_sets
    levels = w.levels(within=_union(w, targets))
    for t in targets:
        for fewest in (True, False):
            _, decisions, _ = w.witness(t, fewest=fewest, levels=levels if fewest else None)
            assert _shorten(w.model, decisions) == _shorten_by_full_replays(w.model, decisions)


def test_padded_lines_shorten_as_by_full_replays(
    frontier_sets: tuple[Any, list[Any]],  # noqa: F811
) -> None:
    """Witnesses with extra lines: some change nothing (dropped), some change the configuration
    or add options (kept)."""
    w, targets = frontier_sets
    dropped = kept = 0
    for seed in range(24):
        rng = random.Random(seed)
        _, decisions, _ = w.witness(targets[seed % len(targets)])
        lines = _lines(w.model, rng, decisions)
        assert replay_path(w.model, dict(lines), [((), 0)]) is not None  # every line replays
        got = _shorten(w.model, lines)
        assert got == _shorten_by_full_replays(w.model, lines)
        dropped += len(lines) - len(got[0])
        kept += len(set(got[0]) - set(decisions))  # extra lines that stay
    assert dropped > 0 and kept > 0


def _union(w: Any, sets: Sequence[Any]) -> Any:
    out = w.bdd.false
    for u in sets:
        out = out | u
    return out
