"""``solve`` over BDDs: the same answer as :func:`policy.space.explore.solve`'s enumeration
(tested), on
any space up to the whole tree, in about a second (``--minimize options``: a few seconds).

A device's decision meets a set of requirements exactly when ``runtime.decide`` of the device
restricted to them (``requirements.restrict``) has no finding;
:mod:`policy.space.symbolic_eval` gives that as
sets of configurations by the chosen candidate's costs (``DeviceSets.ok``). Their conjunction over
the devices, split by total cost, is every satisfying configuration; the cheapest total's set
gets a witness (:meth:`policy.space.symbolic.Walk.witness`, shortened), whose real build is decided
again. ``options`` walks every step and keeps, per step, the states reachable with at most c
enabled options (:meth:`policy.space.symbolic.Walk.levels`): the fewest options among the solutions
first, then the cheapest DRAM and capacity among those. Without a solution the conflicting set
is found as in the enumeration (drop each requirement in turn, keep it dropped while the rest is
still unsatisfiable), each device's sets computed once per subset of its requirements.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from policy.decide.catalog import catalog_for
from policy.decide.runtime import decide
from policy.kconfig import tree as kconfig
from policy.space import symbolic
from policy.space.enumerate import Configuration, Progress, projection_symbols
from policy.space.requirements import (
    Requirement,
    SolveResult,
    minimal_conflicts,
    requirements as all_requirements,
    restrict,
)
from policy.space.symbolic_eval import DeviceSets, SymbolicEvaluation
from policy.space.witness import witness_configuration


def solve_symbolic(
    devices: Sequence[Any],
    require: Sequence[str] = (),
    minimize: str = "dram",
    space: Optional[Sequence[str]] = None,
    *,
    progress: Optional[Progress] = None,
) -> Any:
    """The cheapest configuration by total DRAM (``dram``), capacity lost (``capacity``) or
    enabled user options of the whole tree (``options``), the others breaking ties, in which
    every device meets every requirement; an ``explore.SolveResult``."""
    if minimize not in ("dram", "capacity", "options"):
        raise ValueError(f"unknown objective {minimize!r}")
    cat = catalog_for()
    kconf = kconfig.parse_tree()
    proj = projection_symbols([s.name for s in kconf.unique_defined_syms])
    # the fewest options counts every enabled user option of the tree: every step then
    whole = minimize == "options"
    walk = symbolic.walk(kconf, proj, space, whole_tree=whole, progress=progress)
    sym = SymbolicEvaluation(walk, devices, cat)  # no bar per device: solve re-decides subsets
    reqs = all_requirements(devices, require)
    memo: dict[tuple[str, tuple[Requirement, ...]], Optional[DeviceSets]] = {}

    def device_sets(subset: Sequence[Requirement]) -> list[DeviceSets]:
        out = []
        for d in sym.devices:
            mine = tuple(r for r in subset if r.device == str(d.name))
            key = (str(d.name), mine)
            if key not in memo:
                restricted = restrict([d], mine)
                memo[key] = sym.device(restricted[0]) if restricted else None
            got = memo[key]
            if got is not None:
                out.append(got)
        return out

    def best(subset: Sequence[Requirement]) -> Optional[tuple[tuple[int, int], Any, Any, Any]]:
        """The cheapest (DRAM, capacity) meeting ``subset``, its set, every solution, and (for
        ``options``) the option levels of the solutions, the cheapest taken among those with
        the fewest enabled options (else None)."""
        totals = sym.ok_totals(device_sets(subset))
        if not totals:
            return None
        every = walk.bdd.false
        for u in totals.values():
            every = every | u
        levels = None
        if minimize == "options":
            levels = walk.levels(within=every)
            reach = levels.reach(levels.fewest(every))
            totals = {t: u & reach for t, u in totals.items() if u & reach != walk.bdd.false}
        order = (lambda t: (t[1], t[0])) if minimize == "capacity" else (lambda t: t)
        cheapest = min(totals, key=order)
        return cheapest, totals[cheapest], every, levels

    count = walk.count()
    found = best(reqs)
    if found is not None:
        cost, where, every, levels = found
        config = witness_configuration(walk, where, 0, levels)
        build = kconfig.load_text(config.config_text(), "<solve>", "solution")
        decisions = tuple(decide(d, build, cat) for d in restrict(sym.devices, reqs))
        spent = (
            sum(d.chosen.layout.dram_memmap for d in decisions if d.chosen and d.chosen.layout),
            sum(d.chosen.layout.capacity_lost for d in decisions if d.chosen and d.chosen.layout),
        )
        if not all(d.ok for d in decisions) or spent != cost:
            raise RuntimeError(
                f"internal error: the solution was found at {cost} over BDDs, but runtime.decide "
                f"gives {spent} and ok={[d.ok for d in decisions]}"
            )
        return SolveResult(
            True, minimize, config, build, decisions, (), walk.count(every), count
        )

    def nearest(subset: Sequence[Requirement]) -> Optional[Configuration]:
        got = best(subset)
        return None if got is None else witness_configuration(walk, got[1], 0, got[3])

    conflicts = minimal_conflicts(
        reqs, sym.devices, lambda subset: best(subset) is not None, nearest, cat
    )
    return SolveResult(False, minimize, None, None, (), conflicts, 0, count)
