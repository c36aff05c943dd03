"""``explore --from CONFIG``: the configurations one option away from a given one.

Each user-settable option some decision reads (:func:`policy.space.fromconfig.relevant_symbols`:
never the architecture or the page size) is set to each value it does not have, together with
the changes it needs to take (:func:`policy.kconfig.deps.dependencies`, as ``set --with-deps``
makes them); every device is decided again under the result. Only the changes that move some
device's decision, feature or cost are kept; their Pareto frontier (more features, less DRAM,
less capacity lost) is listed with the configuration itself.
"""

from __future__ import annotations

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

    def label(self) -> str:
        if not self.change:
            return "(as is)"
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
    points: tuple[Point, ...]  # every change that moves a decision, cost or feature
    frontier: tuple[Point, ...]
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


def _dominates(a: Point, b: Point) -> bool:
    ge = (a.ok >= b.ok and a.features >= b.features and a.dram <= b.dram
          and a.capacity <= b.capacity)
    return ge and (a.ok, a.features, -a.dram, -a.capacity) != (b.ok, b.features, -b.dram,
                                                                -b.capacity)


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
            p = _point(change, decs, here_decs)
            if p.moved:
                points.append(p)
    every = [here] + points
    frontier = [p for p in every if not any(_dominates(q, p) for q in every)]
    frontier.sort(key=lambda p: (-p.ok, -p.features, p.dram, p.capacity, len(p.change),
                                 p.label()))
    points.sort(key=lambda p: p.label())
    return AroundResult(base, len(devices), relevant, here, tuple(points), tuple(frontier),
                        tried)
