"""``explore --from CONFIG``: the configuration space around a given configuration.

The frontier: every configuration of the config's architecture and page size counted over BDDs
(the cone of the decisions, as ``explore`` walks it), its Pareto frontier (more features, less
DRAM, less capacity lost, summed over the devices) and, per point, the fewest changed lines of
the config that reach it (:func:`policy.space.fromconfig_bdd.frontier_lines`), applied by
kconfiglib and checked by deciding every device again. A point lists only the options it
changes, and every one of them is read by some decision.

The neighbourhood: each user-settable option some decision reads
(:func:`policy.space.fromconfig.relevant_symbols`) set to each value it does not have, with the
changes it needs to take (:func:`policy.kconfig.deps.dependencies`, as ``set --with-deps`` makes
them); only those that move some device's decision, feature or cost are kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

import kconfiglib

from policy.decide.cache import CachedBuild
from policy.decide.catalog import catalog
from policy.decide.records import Decision
from policy.decide.runtime import decide
from policy.errors import PolicyError
from policy.space.fromconfig import Assignment, relevant_symbols
from policy.units import format_size

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Point:
    """The configuration with one change (``change`` empty: the configuration as given)."""

    change: tuple[Assignment, ...]  # the option, then what it needs
    features: int  # enabled features of the chosen candidates, summed over the devices
    dram: int
    capacity: int
    ok: int  # devices whose decision has no finding
    moved: tuple[tuple[str, str, str], ...]  # (device, before, after) where the decision moved
    checked: bool = True  # the change was applied and decided to these totals
    needs: bool = False  # the first change is the option, the others what it needs to take

    def label(self) -> str:
        if not self.change:
            return "(as is)"
        if not self.needs:  # a choice's old entry turned off goes without saying here
            return " ".join(f"{a.symbol}={a.value}" for a in self.change if not a.follows)
        first, rest = self.change[0], self.change[1:]
        text = f"{first.symbol}={first.value}"
        if rest:
            text += " (with " + " ".join(f"{a.symbol}={a.value}" for a in rest) + ")"
        return text


@dataclass(frozen=True)
class AroundResult:
    base: Any  # policy.kconfig.BuildConfig
    devices: int
    relevant: tuple[str, ...]
    here: Point
    points: tuple[Point, ...]  # every one-option change that moves a decision, cost or feature
    frontier: tuple[Point, ...]  # the space's frontier, each point with its fewest changes
    tried: int


def _summary(d: Decision) -> str:
    if d.chosen is None:
        return "nothing possible"
    ch = d.chosen
    on = sum(v.enabled for v in ch.features)
    lay = ch.layout
    cost = (
        f", DRAM {format_size(lay.dram_memmap)}, lost {format_size(lay.capacity_lost)}"
        if lay
        else ""
    )
    return f"{ch.candidate.label()} ({on} features{cost}){'' if d.ok else ', finding'}"


def _point(change: tuple[Assignment, ...], decs: Sequence[Decision],
           before: Optional[Sequence[Decision]]) -> Point:
    feats = dram = cap = 0
    for d in decs:
        if d.chosen is not None:
            feats += sum(v.enabled for v in d.chosen.features)
            if d.chosen.layout is not None:
                dram += d.chosen.layout.dram_memmap
                cap += d.chosen.layout.capacity_lost
    moved: list[tuple[str, str, str]] = []
    if before is not None:
        for a, b in zip(before, decs):
            sa, sb = _summary(a), _summary(b)
            if sa != sb:
                moved.append((b.device, sa, sb))
    return Point(change, feats, dram, cap, sum(d.ok for d in decs), tuple(moved))


def explore_from(devices: Sequence[Any], base: Any) -> AroundResult:
    """Every one-option change to ``base`` (with what it needs) that moves some decision."""
    from policy.kconfig import tree as kconfig
    from policy.kconfig.deps import dependencies

    cat = catalog()
    kconf = kconfig.parse_tree(base.kernel)
    relevant = relevant_symbols(kconf, cat)
    here_decs = tuple(decide(d, CachedBuild(base), cat) for d in devices)
    here = _point((), here_decs, None)
    points: list[Point] = []
    seen: set[frozenset[tuple[str, str]]] = set()
    tried = 0
    for name in relevant:
        sym = kconf.syms[name]
        values = ("n", "y") if sym.orig_type is kconfiglib.BOOL else ("n", "m", "y")
        for value in values:
            if base.value(name) == value:
                continue
            try:
                deps = dependencies(base, [(name, value)])
            except PolicyError:
                continue
            tried += 1
            if not deps.ok:
                continue
            new = deps.result.build
            if (new.arch, new.page_size) != (base.arch, base.page_size):
                continue
            key = frozenset(((name, value),) + deps.needed)
            if key in seen:
                continue
            seen.add(key)
            decs = tuple(decide(d, CachedBuild(new), cat) for d in devices)
            change = tuple(Assignment(s, v, base.state(s)) for s, v in ((name, value),)
                           + deps.needed)
            p = dataclasses.replace(_point(change, decs, here_decs), needs=True)
            if p.moved:
                points.append(p)
    frontier = _frontier(devices, base, kconf, frozenset(relevant), here_decs)
    points.sort(key=lambda p: p.label())
    return AroundResult(base, len(devices), relevant, here, tuple(points), tuple(frontier),
                        tried)


def _frontier(devices: Sequence[Any], base: Any, kconf: Any, rel: frozenset[str],
              here: Sequence[Decision]) -> list[Point]:
    """The frontier of the held architecture and page size, each point reached from ``base``
    by its fewest changed lines, checked by deciding again."""
    from policy.space.fromconfig import as_assignments, held_builds, line_trials
    from policy.space.fromconfig_bdd import frontier_lines

    cat = catalog()
    out = []
    for totals, fewest, decisions in frontier_lines(devices, base):
        best: Optional[Point] = None
        trials = line_trials(kconf, base, rel, fewest, decisions)
        for trial, new in held_builds(base, trials):
            decs = tuple(decide(d, CachedBuild(new), cat) for d in devices)
            change = as_assignments(kconf, base, frozenset(trial))
            p = _point(change, decs, here)
            if (p.features, p.dram, p.capacity) == totals:
                best = p
                break
        if best is None:
            best = _reproduce(devices, base, kconf, rel, decisions, totals, here)
        if best is None:  # nothing reproduced it: listed with the witness's lines, unchecked
            plain = sorted((s, v) for s, v in decisions if base.state(s) != v)
            best = Point(tuple(Assignment(s, v, base.state(s)) for s, v in plain), totals[0],
                         totals[1], totals[2], -1, (), checked=False)
        out.append(best)
    return out



def _reproduce(devices: Sequence[Any], base: Any, kconf: Any, rel: frozenset[str],
               decisions: Sequence[tuple[str, str]], totals: tuple[int, int, int],
               here: Sequence[Decision]) -> Optional[Point]:
    """A checked change reaching ``totals`` (:func:`policy.space.fromconfig.reproduce`)."""
    from policy.space.fromconfig import as_assignments, reproduce

    cat = catalog()

    def reaches(build: Any) -> Optional[tuple[Decision, ...]]:
        decs = tuple(decide(d, CachedBuild(build), cat) for d in devices)
        p = _point((), decs, here)
        return decs if (p.features, p.dram, p.capacity) == totals else None

    got = reproduce(base, rel, decisions, reaches)
    if got is None:
        return None
    trial, _, decs = got
    return _point(as_assignments(kconf, base, frozenset(trial)), decs, here)
