"""``solve`` by enumeration: the cheapest configuration meeting every requirement, or the
minimal conflicting set (over BDDs: :mod:`policy.space.solve_bdd`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Optional

from policy.decide.catalog import catalog_for
from policy.decide.runtime import decide
from policy.errors import UsageError
from policy.space.enumerate import (
    DEFAULT_LIMIT,
    Configuration,
    Minimize,
    Progress,
    enumerate_space,
)
from policy.space.listed import Evaluator
from policy.space.requirements import (
    Requirement,
    SolveResult,
    minimal_conflicts,
    requirements,
    restrict,
)


def _best(
    ev: Evaluator, reqs: Sequence[Requirement], minimize: str
) -> tuple[Optional[tuple[Configuration, int, int]], int]:
    """The best configuration meeting ``reqs`` (with its total DRAM and capacity), and how many do.

    Each device's outcome under a configuration is decided once (runtime.decide); which candidate
    it would choose under a subset of its requirements follows from the candidates' features,
    costs, pin match and rank, without deciding again.
    """
    wanted: dict[str, tuple[set[str], set[str]]] = {}
    for r in reqs:
        kinds, feats = wanted.setdefault(r.device, (set(), set()))
        kinds.add(r.kind)
        if r.kind == "require" and r.feature:
            feats.add(r.feature)
    active = [
        (k, d)
        for k, d in enumerate(ev.devices)
        if "device" in wanted.get(str(d.name), ({""}, set()))[0]
    ]
    best: Optional[tuple[tuple[int, ...], Configuration, int, int]] = None
    n = 0
    for c in ev.space.configurations:
        e = ev.evaluate(c)
        dram = cap = 0
        for k, d in active:
            kinds, feats = wanted[str(d.name)]
            pick = e.outcomes[k].pick(d, kinds, feats)
            if pick is None:
                break
            dram += pick.dram
            cap += pick.capacity
        else:
            n += 1
            key = (
                (dram, cap, c.options, c.id)
                if minimize == "dram"
                else (cap, dram, c.options, c.id)
                if minimize == "capacity"
                else (c.options, dram, cap, c.id)
            )
            if best is None or key < best[0]:
                best = (key, c, dram, cap)
    return (None if best is None else best[1:]), n


def solve(
    devices: Sequence[Any],
    require: Sequence[str] = (),
    minimize: Minimize = "dram",
    space: Optional[Sequence[str]] = None,
    *,
    progress: Optional[Progress] = None,
    limit: int = DEFAULT_LIMIT,
    symbolic: bool = False,
) -> SolveResult:
    """The cheapest configuration (by ``minimize``) where every device meets every requirement.

    Without one, a minimal set of conflicting requirements (deletion-based: each is dropped in turn
    and kept out while the rest stays unsatisfiable), each with the reasons it fails under the
    best configuration that meets the others. ``symbolic``: over BDDs
    (:mod:`policy.space.solve_bdd`), any space up to the whole tree; ties between configurations
    of the same cost are then broken by the witness, not by the configuration id.
    """
    from policy.kconfig import tree as kconfig

    cat = catalog_for()
    for f in require:
        cat.feature(f)  # UsageError for an unknown name
    if minimize not in ("dram", "capacity", "options"):
        raise UsageError(f"--minimize must be dram, capacity or options, not {minimize!r}")
    if symbolic:
        from policy.space.solve_bdd import solve_symbolic

        res: SolveResult = solve_symbolic(devices, require, minimize, space, progress=progress)
        return res
    # --minimize options counts every enabled user option of the tree: every step then
    whole = minimize == "options"
    sp = enumerate_space(space, progress=progress, limit=limit, whole_tree=whole)
    ev = Evaluator(sp, devices)
    ev.prepare(sp.configurations, os.cpu_count() or 1)
    reqs = requirements(devices, require)
    best, n = _best(ev, reqs, minimize)
    count = len(sp.configurations)
    if best is not None:
        config = best[0]
        build = kconfig.load_text(config.config_text(), "<solve>", "solution")
        decisions = tuple(decide(d, build, cat) for d in restrict(ev.devices, reqs))
        return SolveResult(
            all(d.ok for d in decisions), minimize, config, build, decisions, (), n, count
        )

    def nearest(subset: Sequence[Requirement]) -> Optional[Configuration]:
        got = _best(ev, subset, minimize)[0]
        return None if got is None else got[0]

    conflicts = minimal_conflicts(
        reqs, ev.devices, lambda subset: nearest(subset) is not None, nearest, cat
    )
    return SolveResult(False, minimize, None, None, (), conflicts, 0, count)
