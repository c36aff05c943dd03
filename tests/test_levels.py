"""The option levels (policy.space.walk.Levels) count the visible steps' options on the final
configurations instead of splitting those steps: the same fewest options and the same witnesses
as splitting every step, with shorter level lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from policy import kconfig, profiles, resources
from policy.space import explore, symbolic, walk as walk_mod
from policy.space.symbolic_eval import SymbolicEvaluation, frontier


@pytest.fixture(scope="module")
def frontier_sets() -> tuple[Any, list[Any]]:
    """The cone walk of the whole tree and the shipped profiles' frontier sets (explore --all)."""
    kconf = kconfig.parse_tree()
    proj = explore.projection_symbols([s.name for s in kconf.unique_defined_syms])
    w = symbolic.walk(kconf, proj, None)
    devices = profiles.load_profiles([resources.profiles_dir()]).devices
    sym = SymbolicEvaluation(w, devices)
    totals = sym.totals([sym.device(d) for d in sym.devices])
    return w, [totals[t] for t in frontier(totals)]


def _union(w: Any, sets: Sequence[Any]) -> Any:
    out = w.bdd.false
    for u in sets:
        out = out | u
    return out


def test_split_levels_equal_levels_of_every_step(
    frontier_sets: tuple[Any, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, targets = frontier_sets
    within = _union(w, targets)
    visible = w.visible()
    assert sum(visible) >= 20  # the projected symbols' own steps
    split = w.levels(within=within)
    fast = [(split.fewest(t), w.witness(t, fewest=True, levels=split)) for t in targets]

    monkeypatch.setattr(walk_mod.Walk, "visible", lambda self: (False,) * len(self.layers))
    every = w.levels(within=within)
    assert not any(every.visible)
    slow = [(every.fewest(t), w.witness(t, fewest=True, levels=every)) for t in targets]
    assert fast == slow
    # the same final sets by total options, fewer hidden levels to carry
    assert all(split.reach(b) == every.reach(b) for b in range(max(split.most, every.most) + 2))
    assert len(split.before[-1]) < len(every.before[-1])
    assert sum(map(len, split.before)) < sum(map(len, every.before))


def test_witness_spends_exactly_the_fewest_options(frontier_sets: tuple[Any, list[Any]]) -> None:
    """The witness read within the split levels enables exactly the fewest options."""
    w, targets = frontier_sets
    levels = w.levels(within=_union(w, targets))
    for t in targets:
        _, _, options = w.witness(t, fewest=True, levels=levels)
        assert options == levels.fewest(t)
