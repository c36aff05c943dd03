"""The words of a decision: why the winner won, why each other candidate lost, and why no
candidate gives a feature (the chain down to the root cause)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from policy.decide.cache import CachedBuild
from policy.decide.catalog import Catalog
from policy.decide.records import CandidateResult
from policy.kconfig.chain import ChainStep, render_chain
from policy.units import format_size


def lost_reason(loser: CandidateResult, winner: CandidateResult) -> str:
    if loser.missing_required:
        return "lacks required " + ", ".join(loser.missing_required)
    if loser.over_budget:
        return "over budget: " + "; ".join(loser.over_budget)
    if len(loser.missing_wanted) > len(winner.missing_wanted):
        return f"misses more wanted features ({', '.join(loser.missing_wanted)})"
    lw, ll = winner.layout, loser.layout
    assert lw is not None and ll is not None
    if ll.dram_memmap > lw.dram_memmap:
        return f"more DRAM ({format_size(ll.dram_memmap)} > {format_size(lw.dram_memmap)})"
    if ll.capacity_lost > lw.capacity_lost:
        return (f"more capacity lost ({format_size(ll.capacity_lost)} > "
                f"{format_size(lw.capacity_lost)})")
    return "same cost; later in the fixed order (mode, map dev>mem, align 2M>1G>4K)"


def win_reason(
    w: CandidateResult, device: Any, runner_up: Optional[CandidateResult], pinned: bool
) -> str:
    lay = w.layout
    assert lay is not None
    parts = []
    if pinned:
        parts.append(f"pinned to {w.candidate.label()}")
    if device.requires:
        parts.append("gives every required feature (" + ", ".join(device.requires) + ")")
    if device.budget_dram is not None or device.budget_capacity is not None:
        parts.append("within budget")
    if device.wants:
        got = [f for f in device.wants if f not in w.missing_wanted]
        parts.append(f"gives {len(got)}/{len(device.wants)} wanted")
    parts.append(f"cheapest: {format_size(lay.dram_memmap)} DRAM, "
                 f"{format_size(lay.capacity_lost)} capacity lost")
    if runner_up is not None and runner_up.layout is not None:
        parts.append(f"runner-up {runner_up.candidate.label()} {runner_up.lost or ''}".rstrip())
    return "; ".join(parts)


def feature_chain(feature: str, device: Any, results: Sequence[CandidateResult], b: CachedBuild,
                   cat: Catalog) -> tuple[str, tuple[ChainStep, ...]]:
    """Why no candidate gives ``feature``: the first real mode that could, and its chain."""
    feat = cat.feature(feature)
    dt = cat.device_type(str(device.type))
    modes = [m for c in feat.runtime for m in c.modes]
    hostable = [m for m in dict.fromkeys(modes) if m in dt.modes]
    if not hostable:
        return (f"{feature} is not available on a {dt.name} device ({feat.reason})", ())
    hostable.sort(key=lambda m: cat.mode(m).proposal)  # stable: catalog condition order
    for mode in hostable:
        mrule = cat.mode(mode)
        expr = dt.build_for(mode, mrule)
        if not b.holds(expr):
            chain = b.chain(expr)
            return (
                f"{feature} needs {mode} → " + (render_chain(chain) if chain else f"{expr} is off"),
                chain,
            )
        if not b.holds(feat.build):
            chain = b.chain(feat.build)
            return (f"{feature} needs {feat.build} → " + (render_chain(chain) or "off"), chain)
    for r in results:
        if r.possible and r.candidate.mode in hostable:
            v = r.feature(feature)
            if not v.enabled:
                chain = b.chain(v.blocker) if v.blocker else ()
                return (f"{feature} on {r.candidate.label()}: {v.why}"
                        + (" → " + render_chain(chain) if chain else ""), chain)
    refused = [r for r in results if not r.possible and r.candidate.mode in hostable]
    if refused:
        return (f"{feature} needs {refused[0].candidate.label()}, which is impossible: "
                f"{refused[0].why_impossible}", refused[0].chain)
    return (f"{feature} is not given by any candidate", ())


def modes_giving(feature: str, device_type: str, cat: Catalog) -> tuple[str, ...]:
    """The modes any run-time condition of ``feature`` names, on ``device_type``, catalog order.

    An over-approximation (a condition's build and pagemap parts are ignored), so two features
    whose sets are disjoint truly cannot share one namespace.
    """
    feat = cat.feature(feature)
    dt = cat.device_type(device_type)
    named = {m for c in feat.runtime
             if (not c.pagemap or dt.pagemap)
             and (c.device_types is None or device_type in c.device_types)
             for m in c.modes}
    return tuple(m.name for m in cat.modes if m.name in named and m.name in dt.modes)


def conflict(requires: Sequence[str], device_type: str, cat: Catalog) -> Optional[str]:
    """The message when no single mode gives every required feature, else ``None``.

    Names the first pair of features whose modes are disjoint (or the whole list when only
    three or more together conflict), the modes each needs, and the way out.
    """
    sets = {f: modes_giving(f, device_type, cat) for f in requires}
    if len(sets) < 2 or set.intersection(*(set(v) for v in sets.values())):
        return None

    def needs(f: str) -> str:
        real = [m for m in sets[f] if not cat.mode(m).proposal]
        shown = real or list(sets[f])
        text = " or ".join(shown) if shown else f"a mode a {device_type} device cannot host"
        return f"{f} needs {text}"

    names = list(sets)
    pair = next(((a, b) for i, a in enumerate(names) for b in names[i + 1:]
                 if not set(sets[a]) & set(sets[b])), None)
    group = list(pair) if pair else names
    real_modes = [next((m for m in sets[f] if not cat.mode(m).proposal and m != "raw"),
                       next((m for m in sets[f] if not cat.mode(m).proposal), None))
                  for f in group]
    way_out = ("two namespaces on the device, one per mode ("
               + ", ".join(f"{m} for {f}" for f, m in zip(group, real_modes) if m)
               + "), each with its own profile, or drop one of the requirements")
    return (f"conflict: no single mode gives {' and '.join(group)} "
            f"({'; '.join(needs(f) for f in group)}); way out: {way_out}")
