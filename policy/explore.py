"""Every valid configuration of the Kconfig tree at once: ``explore`` and ``solve``.

The enumeration lives in :mod:`policy.explore_space`, the evaluation and the frontier in
:mod:`policy.explore_eval`; this module puts them together and re-exports their names.
Semantics and the exactness argument: docs/explore.md.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Optional

from . import encode
from .errors import UsageError
from .explore_eval import (  # noqa: F401 - re-exported
    CandidateInfo,
    DeviceOutcome,
    Evaluated,
    Evaluator,
    ExploreResult,
    ProjectedBuild,
    _outcome,
    pareto,
)
from .explore_space import (  # noqa: F401 - re-exported
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
from .features import catalog
from .runtime import Decision, decide

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
    """``space`` (None: the whole tree) counted and evaluated over BDDs (:mod:`policy.symbolic`,
    :mod:`policy.explore_sym`). Lists only the frontier: one witness configuration per frontier
    point, decided again by ``runtime.decide`` (which must give the symbolic totals)."""
    from . import kconfig, symbolic
    from .explore_sym import SymbolicEvaluation, frontier

    started = time.perf_counter() if started is None else started
    kconf = kconfig.parse_tree()
    proj = projection_symbols([s.name for s in kconf.unique_defined_syms])
    # every step, for the values each option takes (dead and always-on options)
    whole = symbolic.walk(kconf, proj, None, whole_tree=True, values=True, progress=progress)
    settable = encode.settable_symbols(kconf)
    values = {
        s: frozenset(("n", "m", "y")[x] for x in whole.seen.get(s, frozenset({0})))
        for s in settable
    }
    # only the projection's cone (the same projected set): counts, evaluation, witnesses
    walk = symbolic.walk(kconf, proj, space, whole_tree=False)
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


def witness_configuration(
    walk: Any, target: Any, ident: int, levels: Optional[list[list[Any]]] = None
) -> Configuration:
    """A configuration of ``target`` (a set of ``walk``, a :class:`policy.symbolic.Walk`) with
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


# ----------------------------------------------------------------------------------------------
# Solve
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """One thing a solution must meet: a required feature, a budget or a pin of one device."""

    device: str
    kind: Literal["device", "require", "budget-dram", "budget-capacity", "pin"]
    feature: Optional[str] = None

    def label(self) -> str:
        if self.kind == "require":
            return f"{self.device} requires {self.feature}"
        if self.kind == "pin":
            return f"{self.device} pin"
        if self.kind == "device":
            return f"{self.device} needs some run-time mode"
        return f"{self.device} {self.kind.replace('-', ' ')}"


@dataclass(frozen=True)
class Conflict:
    requirement: Requirement
    reasons: tuple[str, ...]  # the findings (and their chains) under the closest configuration


@dataclass(frozen=True)
class SolveResult:
    ok: bool
    minimize: str
    config: Optional[Configuration]
    build: Any  # policy.kconfig.BuildConfig of the solution (full olddefconfig of the witness)
    decisions: tuple[Decision, ...]
    conflicts: tuple[Conflict, ...]
    candidates: int  # configurations that satisfy everything
    count: int  # configurations considered


def requirements(devices: Sequence[Any], extra: Sequence[str]) -> tuple[Requirement, ...]:
    out: list[Requirement] = []
    for d in sorted(devices, key=lambda d: str(d.name)):
        name = str(d.name)
        out.append(Requirement(name, "device"))
        for f in dict.fromkeys(tuple(d.requires) + tuple(extra)):
            out.append(Requirement(name, "require", f))
        if d.budget_dram is not None:
            out.append(Requirement(name, "budget-dram"))
        if d.budget_capacity is not None:
            out.append(Requirement(name, "budget-capacity"))
        if d.pin is not None:
            out.append(Requirement(name, "pin"))
    return tuple(out)


def _restrict(devices: Sequence[Any], reqs: Sequence[Requirement]) -> list[Any]:
    """The devices with only ``reqs`` kept (requires, budgets and pins outside it dropped; a device
    without its "device" requirement is left out altogether)."""
    out = []
    for d in devices:
        mine = [r for r in reqs if r.device == str(d.name)]
        if not any(r.kind == "device" for r in mine):
            continue
        out.append(
            dataclasses.replace(
                d,
                requires=tuple(r.feature for r in mine if r.kind == "require" and r.feature),
                budget_dram=d.budget_dram if any(r.kind == "budget-dram" for r in mine) else None,
                budget_capacity=d.budget_capacity
                if any(r.kind == "budget-capacity" for r in mine)
                else None,
                pin=d.pin if any(r.kind == "pin" for r in mine) else None,
            )
        )
    return out


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
    (:mod:`policy.solve_symbolic`), any space up to the whole tree; ties between configurations
    of the same cost are then broken by the witness, not by the configuration id.
    """
    from . import kconfig

    cat = catalog()
    for f in require:
        cat.feature(f)  # UsageError for an unknown name
    if minimize not in ("dram", "capacity", "options"):
        raise UsageError(f"--minimize must be dram, capacity or options, not {minimize!r}")
    if symbolic:
        from .solve_symbolic import solve_symbolic

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
        decisions = tuple(decide(d, build, cat) for d in _restrict(ev.devices, reqs))
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


def _implied(r: Requirement, among: Sequence[Requirement]) -> bool:
    # "gets some mode" goes with every other requirement of the same device
    return r.kind == "device" and any(x.device == r.device and x.kind != "device" for x in among)


def minimal_conflicts(
    reqs: Sequence[Requirement],
    devices: Sequence[Any],
    satisfiable: Callable[[Sequence[Requirement]], bool],
    nearest: Callable[[Sequence[Requirement]], Optional[Configuration]],
    cat: Any,
) -> tuple[Conflict, ...]:
    """A minimal set of conflicting requirements of the unsatisfiable ``reqs``: each is dropped in
    turn and stays dropped while the rest is still unsatisfiable (device-level items last: kept
    while the device has other requirements in the set). Each comes with the reasons it fails
    under ``nearest`` (the best configuration meeting the others), decided on its real build."""
    from . import kconfig

    core = list(reqs)
    for r in [x for x in reqs if x.kind != "device"] + [x for x in reqs if x.kind == "device"]:
        if _implied(r, core):
            continue
        trial = [x for x in core if x != r]
        if not satisfiable(trial):
            core = trial
    conflicts = []
    for r in core:
        if _implied(r, core):
            continue
        near = nearest([x for x in core if x != r])
        reasons: tuple[str, ...] = ()
        if near is not None:
            build = kconfig.load_text(near.config_text(), "<solve>", f"config-{near.id}")
            dev = next(
                d
                for d in _restrict(devices, core + [Requirement(r.device, "device")])
                if str(d.name) == r.device
            )
            reasons = _reasons(decide(dev, build, cat), r)
        conflicts.append(Conflict(r, reasons))
    return tuple(conflicts)


def _reasons(dec: Decision, r: Requirement) -> tuple[str, ...]:
    out: list[str] = []
    for f in dec.findings:
        if r.kind == "require" and f.feature != r.feature:
            continue
        if r.kind == "device" and f.code not in ("no-candidate", "impossible-pin"):
            continue
        if r.kind == "pin" and f.code != "impossible-pin":
            continue
        if r.kind.startswith("budget") and f.code != "over-budget":
            continue
        out.append(f"[{f.code}] {f.message}")
        for step in f.chain:
            text = step.render() if hasattr(step, "render") else str(step)
            if text not in f.message:  # the message may already end with the chain
                out.append(f"  → {text}")
    if not out:
        out.append(dec.reason)
    return tuple(out)
