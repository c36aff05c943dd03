"""What a build and a device type decide of the candidates before any device fact is read.

Per mode of the catalog: whether the device type can host it in this kernel, whether the build
has it, which maps and aligns it offers and which aligns the build rules out, with the impossible
candidates (and their messages and chains) for all of those. None of it reads the device's size,
start, pin or budgets, so every device of one type under one build shares one plan: a matrix or a
fleet builds it once per build and device type (kept on the
:class:`~policy.decide.cache.CachedBuild`), and :func:`policy.decide.runtime.candidates_for` lays
out only what the plan leaves possible.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from policy.decide.cache import CachedBuild
from policy.decide.catalog import Catalog, DeviceTypeRule, ModeRule
from policy.decide.layouts import kernel_of, scaled_align
from policy.decide.records import Candidate, CandidateResult, impossible
from policy.kconfig import versions
from policy.units import ndctl_size


@dataclass(frozen=True)
class ModePlan:
    """One mode of the catalog for one device type under one build.

    ``ruled_out``: the impossible candidates of the mode, in the order the decision lists them
    (before the mode's possible ones); ``maps`` × ``aligns``: the candidates left to lay out
    (none when the device type or the build rules the whole mode out)."""

    mode: ModeRule
    ruled_out: tuple[CandidateResult, ...]
    maps: tuple[Optional[str], ...] = ()
    aligns: tuple[int, ...] = ()


@dataclass(frozen=True)
class Plan:
    """Every mode's :class:`ModePlan`, in catalog order, and whether the region's pagemap is
    effective (the device type has ND_REGION_PAGEMAP and the build has ZONE_DEVICE)."""

    modes: tuple[ModePlan, ...]
    pagemap: bool


def plan_for(cat: Catalog, b: CachedBuild, dt: DeviceTypeRule) -> Plan:
    """The :class:`Plan` of ``dt`` under ``b`` with ``cat``'s rules, made once per build, device
    type and catalog (the build keeps those of the catalog it was last asked with)."""
    got = b.plans.get(dt.name)
    if got is None or got[0] is not cat:
        got = b.plans[dt.name] = (cat, _plan(cat, b, dt))
    plan = got[1]
    assert isinstance(plan, Plan)
    return plan


def _plan(cat: Catalog, b: CachedBuild, dt: DeviceTypeRule) -> Plan:
    page = b.build.page_size
    kernel = kernel_of(b)
    out: list[ModePlan] = []
    for mode in cat.modes:
        default = Candidate(mode=mode.name, map=None, align=page)
        if mode.name in dt.modes and not dt.exists_in(kernel.name):
            out.append(ModePlan(mode, (impossible(
                default, f"a {dt.name} device exists only on {dt.span()}, not on Linux "
                f"{kernel.name} ({dt.reason})", (), mode.proposal,
            ),)))
            continue
        if mode.name not in dt.modes:
            out.append(ModePlan(mode, (impossible(
                default, f"a {dt.name} device cannot host {mode.name} ({dt.reason})", (),
                mode.proposal,
            ),)))
            continue
        expr = dt.build_for(mode.name, mode)
        if not b.holds(expr):
            chain = b.chain(expr)
            root = f": {chain[-1].render()}" if chain else ""
            out.append(ModePlan(mode, (impossible(
                default, f"{mode.name} needs {expr}{root}", chain, mode.proposal),)))
            continue
        maps: tuple[Optional[str], ...] = (
            ("mem",) if dt.whole_device and mode.maps else (mode.maps or (None,))
        )
        ruled_out: list[CandidateResult] = []
        aligns: list[int] = []
        if mode.aligns:
            for rule in cat.aligns:
                if not versions.holds_in(kernel.name, rule.since, rule.until):
                    continue
                nbytes = scaled_align(rule.bytes, page, kernel)
                if dt.fixed_align and nbytes != scaled_align(dt.fixed_align, page, kernel):
                    continue  # the region has one align (dax/cxl.c: 2 MiB)
                if b.holds(rule.build):
                    aligns.append(nbytes)
                    continue
                chain = b.chain(rule.build)
                ruled_out.extend(impossible(
                    Candidate(mode=mode.name, map=m, align=nbytes),
                    f"align {ndctl_size(nbytes)} needs {rule.build} ({rule.reason})",
                    chain, mode.proposal,
                ) for m in maps)
        else:
            aligns = [page]
        out.append(ModePlan(mode, tuple(ruled_out), maps, tuple(aligns)))
    return Plan(tuple(out), dt.pagemap and b.holds("ZONE_DEVICE"))
