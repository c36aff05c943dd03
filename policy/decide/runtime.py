"""The decision engine: per device, the candidates, why each is impossible or loses, and the winner.

Precedence (docs/policy.md; tested as tables in tests/test_runtime.py):

1. **pin** — a profile's ``pin`` restricts the candidates to those it names; an impossible pin is
   a finding and nothing is chosen;
2. **possible** — the build must have the mode (and align), the device type must host it and
   ndctl/the kernel must accept the layout;
3. **requirements** — every ``requires`` feature;
4. **budgets** — DRAM memmap and capacity lost within the profile's budgets;
5. **fewest missing wants**;
6. **least DRAM** spent on struct pages;
7. **least capacity lost** on the device;
8. **fixed order** — mode order of the catalog (raw, sector, fsdax, devdax, system-ram, ondemand,
   pfn, extent), then map in ndctl's default order (dev, mem), then align in ndctl's default order
   (2 MiB, 1 GiB, 4 KiB).

Candidates failing 3 or 4 are still ranked: when none meets them, the best of them is reported
with a finding (exit 1) naming the chain to the root cause.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Optional, Protocol

from policy.decide import costs
from policy.decide.catalog import (
    Catalog,
    DeviceTypeRule,
    ModeRule,
    Verdict,
    build_holds,
    catalog,
    feature_verdict,
)
from policy.kconfig.chain import ChainStep, render_chain

MAP_ORDER = ("dev", "mem", None)  # ndctl's default --map is dev
ALIGN_ORDER = (2 * costs.MiB, costs.GiB, 4096)  # ndctl's default --align is 2M

# DRAM is compared in whole 2 MiB vmemmap blocks (one PMD of memmap, the unit
# arch/x86/mm/init_64.c:vmemmap_populate allocates): map=dev's "≈0 or about 2 MiB" for a
# partial first section is an estimate at that granularity, so smaller differences are ties
# and capacity lost decides (e.g. fsdax align=2M over align=1G, which loses ~768 MiB more).
DRAM_TIE_BYTES = 2 * costs.MiB


def dram_blocks(dram: int) -> int:
    """DRAM in whole :data:`DRAM_TIE_BYTES` blocks, rounded up (0 stays 0)."""
    return -(-dram // DRAM_TIE_BYTES)

Outcome = Literal["ok", "finding"]


class Build(Protocol):
    """The part of :class:`policy.kconfig.BuildConfig` the engine uses (read-only, as there)."""

    @property
    def name(self) -> str: ...
    @property
    def arch(self) -> str: ...
    @property
    def page_size(self) -> int: ...

    def eval(self, expr: str) -> str: ...
    def enabled(self, sym: str) -> bool: ...
    def why_expr_off(self, expr: str) -> tuple[ChainStep, ...]: ...


class _CachedBuild:
    """Memoises Kconfig expression results for one build during one evaluation.

    It is itself a :class:`Build`, so callers may pass it wherever a build is expected.
    """

    def __init__(self, build: Build) -> None:
        self.build = build
        self._cache: dict[str, str] = {}

    @property
    def name(self) -> str:
        return self.build.name

    @property
    def arch(self) -> str:
        return self.build.arch

    @property
    def page_size(self) -> int:
        return self.build.page_size

    def enabled(self, sym: str) -> bool:
        return self.build.enabled(sym)

    def why_expr_off(self, expr: str) -> tuple[ChainStep, ...]:
        return self.build.why_expr_off(expr)

    def eval(self, expr: str) -> str:
        got = self._cache.get(expr)
        if got is None:
            got = self._cache[expr] = self.build.eval(expr)
        return got

    def holds(self, expr: str) -> bool:
        return build_holds(self, expr)

    def chain(self, expr: str) -> tuple[ChainStep, ...]:
        return tuple(self.build.why_expr_off(expr))


@dataclass(frozen=True)
class Candidate:
    """One runtime choice: mode, map (``None`` where it does not apply) and align in bytes."""

    mode: str
    map: Optional[str]
    align: int

    def label(self) -> str:
        text = self.mode
        if self.map:
            text += f" map={self.map}"
        return text + f" align={_size(self.align)}"


@dataclass(frozen=True)
class CandidateResult:
    """One candidate evaluated for one device: possible or not, its features and costs."""

    candidate: Candidate
    possible: bool
    why_impossible: str
    chain: tuple[ChainStep, ...]
    layout: Optional[costs.Layout]
    features: tuple[Verdict, ...]
    missing_required: tuple[str, ...]
    missing_wanted: tuple[str, ...]
    over_budget: tuple[str, ...]
    proposal: bool
    lost: str = ""  # why it did not win ("" for the winner)
    refused: Optional[costs.Refusal] = None  # set when ndctl or the kernel refuses the layout

    def feature(self, name: str) -> Verdict:
        return next(v for v in self.features if v.feature == name)

    def rank(self, cat: Catalog) -> tuple[int, ...]:
        lay = self.layout
        assert lay is not None
        return (
            len(self.missing_required) > 0, len(self.missing_required),
            len(self.over_budget) > 0,
            len(self.missing_wanted),
            dram_blocks(lay.dram_memmap),
            lay.capacity_lost,
            cat.mode_order(self.candidate.mode),
            MAP_ORDER.index(self.candidate.map),
            ALIGN_ORDER.index(self.candidate.align) if self.candidate.align in ALIGN_ORDER else 9,
        )


@dataclass(frozen=True)
class Finding:
    """A requirement, budget or pin that cannot be met, with the chain to its root cause."""

    code: str  # "unmet-requirement" | "over-budget" | "impossible-pin" | "no-candidate"
    message: str
    feature: Optional[str] = None
    chain: tuple[ChainStep, ...] = ()


@dataclass(frozen=True)
class Decision:
    """The decision for one device under one build."""

    build: str
    device: str
    device_type: str
    size: int
    ok: bool
    outcome: Outcome
    chosen: Optional[CandidateResult]
    reason: str
    candidates: tuple[CandidateResult, ...]
    findings: tuple[Finding, ...]
    warnings: tuple[str, ...] = ()


def _size(n: int) -> str:
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


def _impossible(
    cand: Candidate, why: str, chain: tuple[ChainStep, ...], proposal: bool,
    refused: Optional[costs.Refusal] = None,
) -> CandidateResult:
    return CandidateResult(cand, False, why, chain, None, (), (), (), (), proposal, why, refused)


def _layout(device: Any, dt: DeviceTypeRule, mode: ModeRule, cand: Candidate, b: _CachedBuild,
            pagemap: bool) -> costs.Layout:
    page = b.build.page_size
    start = int(device.start_align or 0)
    compat = (
        costs.PPC64_HASH_COMPAT_ALIGN
        if b.holds("ARCH_HAS_MEMREMAP_COMPAT_ALIGN")
        else costs.SUBSECTION_SIZE
    )
    dedup_arch = b.holds("ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP")
    size = int(device.size)
    # everything the layout reads: computed once per distinct key (layouts are frozen)
    key = (size, start, dt.region_align, dt.whole_device, mode.layout, cand.mode, cand.map,
           cand.align, page, compat, dedup_arch, pagemap)
    got = _LAYOUTS.get(key)
    if got is None:
        got = _LAYOUTS[key] = _compute_layout(
            size, start, dt, mode, cand, page, compat, dedup_arch, pagemap
        )
    return got


_LAYOUTS: dict[tuple[Any, ...], costs.Layout] = {}


def _compute_layout(size: int, start: int, dt: DeviceTypeRule, mode: ModeRule, cand: Candidate,
                    page: int, compat: int, dedup_arch: bool, pagemap: bool) -> costs.Layout:
    if dt.region_align:
        # label-backed regions: ndctl sizes every namespace in region-align units, any mode
        refusal = costs.region_align_refusal(size, dt.region_align)
        if refusal is not None:
            map_ = cand.map if mode.layout in ("pfn", "kmem") else None
            return costs.refused_layout(cand.mode, map_, cand.align, size, refusal, page)
    if mode.layout == "raw":
        return costs.raw_layout(size, pagemap=pagemap, page_size=page)
    if mode.layout == "btt":
        return costs.btt_layout(size)
    if dt.whole_device:
        # dax_hmem: no namespace, no info block, memmap in DRAM (deduplicated for device-dax)
        memmap = costs.memmap_bytes(size, page)
        dedup = mode.layout == "pfn" and costs.can_dedup(
            "devdax", "mem", cand.align, dedup_arch, page
        )
        dram, pte = costs.dedup_memmap(size, cand.align, page) if dedup else (memmap, 0)
        return costs.Layout(
            cand.mode, "mem", cand.align, size, 0, 0, size, 0, memmap, dram + pte, pte, dedup
        )
    map_ = _pfn_map(cand)
    if mode.layout == "kmem":
        return costs.system_ram_layout(
            size, map_, cand.align, start=start, page_size=page, compat=compat
        )
    return costs.pfn_layout(size, map_, cand.align, mode=cand.mode, start=start, page_size=page,
                            compat=compat, arch_optimize_vmemmap=dedup_arch)


def _pfn_map(cand: Candidate) -> costs.PfnMap:
    """The candidate's map for the layouts that have one (the catalog gives those modes maps)."""
    if cand.map == "mem":
        return "mem"
    if cand.map == "dev":
        return "dev"
    raise ValueError(f"{cand.label()}: a pfn/kmem layout needs map=mem or map=dev")


# a candidate's verdicts depend on the build only through the catalog's feature conditions:
# (id(cat), id(dt), mode, map, align, pagemap, their values) -> (cat, dt, verdicts)
_VERDICTS: dict[tuple[Any, ...], tuple[Catalog, DeviceTypeRule, tuple[Verdict, ...]]] = {}
_FEATURE_EXPRS: dict[int, tuple[Catalog, tuple[str, ...]]] = {}


def _feature_signature(cat: Catalog, b: _CachedBuild) -> tuple[bool, ...]:
    """Whether each build expression :func:`feature_verdict` may read holds under ``b``."""
    got = _FEATURE_EXPRS.get(id(cat))
    if got is None or got[0] is not cat:
        exprs = tuple(dict.fromkeys(
            e for f in cat.features for e in (f.build, *(c.build for c in f.runtime))
        ))
        got = _FEATURE_EXPRS[id(cat)] = (cat, exprs)
    return tuple(b.holds(e) for e in got[1])


def candidates_for(
    device: Any, build: Build, cat: Optional[Catalog] = None
) -> list[CandidateResult]:
    """Every candidate for ``device`` under ``build``, possible or not, before ranking."""
    cat = cat or catalog()
    b = build if isinstance(build, _CachedBuild) else _CachedBuild(build)
    dt = cat.device_type(str(device.type))
    pagemap = dt.pagemap and b.holds("ZONE_DEVICE")
    out: list[CandidateResult] = []
    page = b.build.page_size
    sig: Optional[tuple[bool, ...]] = None  # the feature conditions under ``b`` (first needed)
    for mode in cat.modes:
        default = Candidate(mode.name, None, page)
        if mode.name not in dt.modes:
            out.append(
                _impossible(
                    default,
                    f"a {dt.name} device cannot host {mode.name} ({dt.reason})",
                    (),
                    mode.proposal,
                )
            )
            continue
        expr = dt.build_for(mode.name, mode)
        if not b.holds(expr):
            chain = b.chain(expr)
            root = f": {chain[-1].render()}" if chain else ""
            out.append(
                _impossible(default, f"{mode.name} needs {expr}{root}", chain, mode.proposal)
            )
            continue
        maps: tuple[Optional[str], ...] = (
            ("mem",) if dt.whole_device and mode.maps else (mode.maps or (None,))
        )
        aligns: list[int] = []
        if mode.aligns:
            for rule in cat.aligns:
                if b.holds(rule.build):
                    aligns.append(rule.bytes)
                else:
                    chain = b.chain(rule.build)
                    for m in maps:
                        out.append(
                            _impossible(
                                Candidate(mode.name, m, rule.bytes),
                                f"align {_size(rule.bytes)} needs {rule.build} ({rule.reason})",
                                chain,
                                mode.proposal,
                            )
                        )
        else:
            aligns = [page]
        for m in maps:
            for align in aligns:
                cand = Candidate(mode.name, m, align)
                layout = _layout(device, dt, mode, cand, b, pagemap)
                if layout.refused is not None:
                    out.append(_impossible(cand, layout.refused.render(), (), mode.proposal,
                                           layout.refused))
                    continue
                if sig is None:
                    sig = _feature_signature(cat, b)
                vkey = (id(cat), id(dt), mode.name, m, align, pagemap, sig)
                got = _VERDICTS.get(vkey)
                if got is None or got[0] is not cat or got[1] is not dt:
                    got = _VERDICTS[vkey] = (cat, dt, tuple(
                        feature_verdict(f, b, dt, mode.name, m, align, pagemap)
                        for f in cat.features
                    ))
                verdicts = got[2]
                on = {v.feature for v in verdicts if v.enabled}
                over: list[str] = []
                if device.budget_dram is not None and layout.dram_memmap > device.budget_dram:
                    over.append(f"DRAM {layout.dram_memmap} > budget {device.budget_dram}")
                if (
                    device.budget_capacity is not None
                    and layout.capacity_lost > device.budget_capacity
                ):
                    over.append(
                        f"capacity lost {layout.capacity_lost} > budget {device.budget_capacity}"
                    )
                out.append(CandidateResult(
                    cand, True, "", (), layout, verdicts,
                    tuple(f for f in device.requires if f not in on),
                    tuple(f for f in device.wants if f not in on),
                    tuple(over), mode.proposal))
    return out


def pin_matches(pin: Any, cand: Candidate) -> bool:
    """Whether ``cand`` is what the profile's pin allows (mode, and map and align if given)."""
    return (cand.mode == pin.mode and (pin.map is None or cand.map == pin.map)
            and (pin.align is None or cand.align == pin.align))


def _lost_reason(loser: CandidateResult, winner: CandidateResult) -> str:
    if loser.missing_required:
        return "lacks required " + ", ".join(loser.missing_required)
    if loser.over_budget:
        return "over budget: " + "; ".join(loser.over_budget)
    if len(loser.missing_wanted) > len(winner.missing_wanted):
        return f"misses more wanted features ({', '.join(loser.missing_wanted)})"
    lw, ll = winner.layout, loser.layout
    assert lw is not None and ll is not None
    if ll.dram_memmap > lw.dram_memmap:
        return f"more DRAM ({ll.dram_memmap} > {lw.dram_memmap} bytes)"
    if ll.capacity_lost > lw.capacity_lost:
        return f"more capacity lost ({ll.capacity_lost} > {lw.capacity_lost} bytes)"
    return "same cost; later in the fixed order (mode, map dev>mem, align 2M>1G>4K)"


def _win_reason(
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
    parts.append(f"cheapest: {lay.dram_memmap} B DRAM, {lay.capacity_lost} B capacity lost")
    if runner_up is not None and runner_up.layout is not None:
        parts.append(f"runner-up {runner_up.candidate.label()} {runner_up.lost or ''}".rstrip())
    return "; ".join(parts)


def _feature_chain(feature: str, device: Any, results: Sequence[CandidateResult], b: _CachedBuild,
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


def decide(device: Any, build: Build, cat: Optional[Catalog] = None) -> Decision:
    """Decide how ``device`` gets its struct pages under ``build`` (see the module docstring)."""
    cat = cat or catalog()
    b = build if isinstance(build, _CachedBuild) else _CachedBuild(build)
    results = candidates_for(device, b, cat)
    pin = device.pin
    pool = [r for r in results if r.possible and (pin is None or pin_matches(pin, r.candidate))]
    findings: list[Finding] = []
    name = str(device.name)
    if not pool:
        if pin is not None:
            matching = [r for r in results if pin_matches(pin, r.candidate)
                        or (r.candidate.mode == pin.mode and not r.possible)]
            why = matching[0].why_impossible if matching else f"no candidate matches the pin {pin}"
            chain = matching[0].chain if matching else ()
            findings.append(
                Finding("impossible-pin", f"pin {pin.mode} is impossible: {why}", None, chain)
            )
        else:
            findings.append(
                Finding("no-candidate", "no mode is possible for this device under this build")
            )
        for feature in device.requires:
            msg, chain = _feature_chain(feature, device, results, b, cat)
            findings.append(Finding("unmet-requirement", msg, feature, chain))
        all_lost = tuple(_with_lost(r, r.why_impossible) for r in results)
        return Decision(
            b.build.name,
            name,
            str(device.type),
            int(device.size),
            False,
            "finding",
            None,
            findings[0].message,
            all_lost,
            tuple(findings),
        )
    ranked = sorted(pool, key=lambda r: r.rank(cat))
    winner = ranked[0]
    for feature in winner.missing_required:
        msg, chain = _feature_chain(feature, device, results, b, cat)
        findings.append(Finding("unmet-requirement", msg, feature, chain))
    if not winner.missing_required and winner.over_budget:
        findings.append(
            Finding(
                "over-budget",
                f"cheapest candidate giving every required feature, "
                f"{winner.candidate.label()}, is over budget: " + "; ".join(winner.over_budget),
            )
        )
    final: list[CandidateResult] = []
    runner_up: Optional[CandidateResult] = None
    for r in results:
        if r is winner:
            continue
        if not r.possible:
            final.append(r)
        elif pin is not None and not pin_matches(pin, r.candidate):
            final.append(_with_lost(r, f"the profile pins {pin.mode}"))
        else:
            lost = _with_lost(r, _lost_reason(r, winner))
            if runner_up is None or r.rank(cat) < runner_up.rank(cat):
                runner_up = lost
            final.append(lost)
    reason = _win_reason(winner, device, runner_up, pin is not None)
    if findings:
        reason = findings[0].message
    ordered = (winner,) + tuple(final)
    lay = winner.layout
    return Decision(b.build.name, name, str(device.type), int(device.size), not findings,
                    "finding" if findings else "ok", winner, reason, ordered, tuple(findings),
                    lay.warnings if lay else ())


def _with_lost(r: CandidateResult, why: str) -> CandidateResult:
    # dataclasses.replace(r, lost=why), without re-running __init__ over every field
    out = copy.copy(r)
    object.__setattr__(out, "lost", why)
    return out
