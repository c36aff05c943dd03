"""Every valid configuration of the Kconfig tree at once: ``explore`` and ``solve``.

The enumeration lives in :mod:`policy.space.enumerate`, the evaluation and the frontier in
:mod:`policy.space.listed`; this module puts them together and re-exports their names.
Semantics and the exactness argument: docs/explore.md.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any, Optional

from policy.errors import UsageError  # noqa: F401 - re-exported
from policy.space import encode
from policy.space.enumerate import (  # noqa: F401 - re-exported
    ARCH_SYMBOLS,
    DEFAULT_EXTRA,
    DEFAULT_LIMIT,
    RUNTIME_SYMBOLS,
    SCHEMA_VERSION,
    Configuration,
    Minimize,
    Progress,
    Space,
    SpaceTooLarge,
    catalog_expressions,
    default_space,
    enumerate_space,
    monotone_test,
    option_values,
    projection_symbols,
    replay,
)
from policy.space.listed import (  # noqa: F401 - re-exported
    CandidateInfo,
    DeviceOutcome,
    Evaluated,
    Evaluator,
    ExploreResult,
    ProjectedBuild,
    _outcome,
    pareto,
)
from policy.space.requirements import (  # noqa: F401 - re-exported
    Conflict,
    Requirement,
    SolveResult,
    minimal_conflicts,
    requirements,
)
from policy.space.solve import solve  # noqa: F401 - re-exported
from policy.space.witness import witness_configuration  # noqa: F401 - re-exported

__all__ = [
    "ARCH_SYMBOLS",
    "CandidateInfo",
    "Configuration",
    "Conflict",
    "DEFAULT_EXTRA",
    "DEFAULT_LIMIT",
    "DeviceOutcome",
    "Evaluated",
    "Evaluator",
    "ExploreResult",
    "Minimize",
    "Progress",
    "ProjectedBuild",
    "RUNTIME_SYMBOLS",
    "Requirement",
    "SCHEMA_VERSION",
    "SolveResult",
    "Space",
    "SpaceTooLarge",
    "_outcome",
    "catalog_expressions",
    "default_space",
    "enumerate_space",
    "explore",
    "explore_symbolic",
    "minimal_conflicts",
    "witness_configuration",
    "monotone_test",
    "option_values",
    "pareto",
    "projection_symbols",
    "requirements",
    "solve",
]


def explore(
    devices: Sequence[Any],
    space: Optional[Sequence[str]] = None,
    *,
    progress: Optional[Progress] = None,
    limit: int = DEFAULT_LIMIT,
    diagnostics: Sequence[Any] = (),
    workers: Optional[int] = None,
    listing: bool = True,
) -> ExploreResult:
    """Evaluate every configuration of ``space`` (None: the whole tree) against ``devices``.

    ``listing``: enumerate and list every configuration (each with its fewest-options witness);
    otherwise count and evaluate the space over BDDs and list one witness per frontier point
    (:func:`explore_symbolic`, far faster). Dead and always-on options always come from the
    whole tree, never from the enumerated space. ``workers``: processes deciding devices when
    listing (default: one per CPU; the result does not depend on it).
    """
    started = time.perf_counter()
    if not listing:
        return explore_symbolic(
            devices, space, progress=progress, diagnostics=diagnostics, started=started
        )
    values = option_values(progress=progress)
    # only the steps the projection depends on (2-3x faster): ``options`` then counts the
    # enabled user options of that cone
    try:
        sp = enumerate_space(space, progress=progress, limit=limit, whole_tree=False)
    except SpaceTooLarge as err:
        raise SpaceTooLarge(
            f"{err}; without --list the space is counted over BDDs, every configuration at once"
        ) from None
    ev = Evaluator(sp, devices)
    ev.prepare(sp.configurations, workers if workers is not None else os.cpu_count() or 1)
    out = []
    n = len(sp.configurations)
    for i, c in enumerate(sp.configurations):
        out.append(ev.evaluate(c))
        if progress is not None and (i % 64 == 0 or i + 1 == n):
            progress("evaluate", i + 1, n)
    names = tuple(str(d.name) for d in ev.devices)
    every = {f.name for f in ev.cat.features}
    reach: dict[str, set[str]] = {name: set() for name in names}
    for outs in {id(e.outcomes): e.outcomes for e in out}.values():
        for o in outs:
            reach[o.device].update(o.achievable)
    unreachable = {name: tuple(sorted(every - reach[name])) for name in names}
    return ExploreResult(
        sp,
        names,
        tuple(out),
        pareto(out),
        unreachable,
        time.perf_counter() - started,
        tuple(diagnostics),
        values,
    )


def explore_symbolic(
    devices: Sequence[Any],
    space: Optional[Sequence[str]] = None,
    *,
    progress: Optional[Progress] = None,
    diagnostics: Sequence[Any] = (),
    started: Optional[float] = None,
) -> ExploreResult:
    """``space`` (None: the whole tree) counted and evaluated over BDDs
    (:mod:`policy.space.symbolic`,
    :mod:`policy.space.symbolic_eval`). Lists only the frontier: one witness configuration per
    frontier
    point, decided again by ``runtime.decide`` (which must give the symbolic totals)."""
    from policy.kconfig import tree as kconfig
    from policy.space import symbolic
    from policy.space.symbolic_eval import SymbolicEvaluation, frontier

    started = time.perf_counter() if started is None else started
    kconf = kconfig.parse_tree()
    proj = projection_symbols([s.name for s in kconf.unique_defined_syms])
    # only the projection's cone (the same projected set): counts, evaluation, witnesses; over
    # the whole tree's space it also gives its options' values (dead and always-on options)
    walk = symbolic.walk(kconf, proj, space, whole_tree=False, values=space is None,
                         progress=progress)
    seen = symbolic.whole_tree_values(kconf, proj, walk if space is None else None)
    settable = encode.settable_symbols(kconf)
    values = {
        s: frozenset(("n", "m", "y")[x] for x in seen.get(s, frozenset({0}))) for s in settable
    }
    sym = SymbolicEvaluation(walk, devices, progress=progress)
    sets = [sym.device(d) for d in sym.devices]
    totals = sym.totals(sets)
    unreachable = {ds.device: sym.unreachable(ds) for ds in sets}
    configs: list[Configuration] = []
    expected: list[tuple[int, int, int]] = []
    front = frontier(totals)
    # the fewest enabled options per frontier point, as the listing's witnesses: option levels
    # of the states that still lead to a frontier point
    within = walk.bdd.false
    for t in front:
        within = within | totals[t]
    levels = walk.levels(within=within)
    for k, t in enumerate(front):
        configs.append(witness_configuration(walk, totals[t], k, levels))
        expected.append(t)
    sp = Space(
        proj,
        tuple(sorted(walk.model.space)),
        tuple(configs),
        values,
        settable,
        len(walk.layers),
        walk.peak_nodes,
        count=walk.count(),
    )
    ev = Evaluator(sp, devices)
    evaluated = tuple(ev.evaluate(c) for c in configs)
    for e, t in zip(evaluated, expected):
        if (e.features, e.dram, e.capacity) != t:
            raise RuntimeError(
                f"internal error: configuration {e.config.id} was counted at {t} over BDDs but "
                f"runtime.decide gives {(e.features, e.dram, e.capacity)}"
            )
    names = tuple(str(d.name) for d in ev.devices)
    return ExploreResult(
        sp,
        names,
        evaluated,
        tuple(c.id for c in configs),
        {n: unreachable[n] for n in names},
        time.perf_counter() - started,
        tuple(diagnostics),
        values,
    )
