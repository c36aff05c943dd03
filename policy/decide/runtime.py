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
   (2 MiB, 1 GiB, 4 KiB), then the system-ram memmap (DRAM before ``memmap=device``).

system-ram candidates come in pairs where the catalog's ``hotplug.memmap_on_memory`` holds for the
build's kernel: the DRAM memmap, and ``memmap=device`` (memmap_on_memory) when the build, the
profile's boot and the memory-block arithmetic allow it (else impossible, with why). A pin asking
for ``memmap: device`` that nothing can meet falls back, as the kernel silently does, to the DRAM
candidates with a warning.

Candidates failing 3 or 4 are still ranked: when none meets them, the best of them is reported
with a finding (exit 1) naming the chain to the root cause.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Optional

from policy.decide import costs, hotplug
from policy.decide.cache import CachedBuild, DecisionCache, build_holds, cache_for, cached
from policy.decide.catalog import (
    Catalog,
    ModeRule,
    Verdict,
    candidate_verdicts,
    catalog,
    verdict_page,
)
from policy.decide.layouts import facts_of, kernel_of, layout, with_range
from policy.decide.plan import plan_for
from policy.decide.reasons import conflict, feature_chain, lost_reason, win_reason
from policy.decide.records import (  # noqa: F401 - re-exported: the engine's records
    ALIGN_ORDER,
    DRAM_TIE_BYTES,
    MAP_ORDER,
    Build,
    Candidate,
    CandidateResult,
    Decision,
    Finding,
    Outcome,
    dram_blocks,
    impossible,
)
from policy.units import format_size, ndctl_size

__all__ = [
    "ALIGN_ORDER", "Build", "CachedBuild", "Candidate", "CandidateResult", "DRAM_TIE_BYTES",
    "Decision", "Finding", "MAP_ORDER", "Outcome", "build_holds", "candidates_for", "decide",
    "dram_blocks", "feature_chain", "pin_matches",
]


def _feature_signature(cat: Catalog, b: CachedBuild, cache: DecisionCache) -> tuple[bool, ...]:
    """Whether each build expression :func:`feature_verdict` may read holds under ``b``."""
    exprs = cache.feature_exprs
    if exprs is None:
        exprs = cache.feature_exprs = tuple(dict.fromkeys(
            e for f in cat.features for e in (f.build, *(c.build for c in f.runtime))
        ))
    return tuple(b.holds(e) for e in exprs)


def _verdicts(cat: Catalog, cache: DecisionCache, b: CachedBuild, dt: Any, mode: str,
              map_: Optional[str], align: int, pagemap: bool,
              sig: tuple[bool, ...], kernel: str, page: int) -> tuple[Verdict, ...]:
    """Every feature's verdict for one candidate: they depend on the build only through ``sig``
    (and on the kernel version and page size, which select and scale the conditions: ``page``
    is the build's :func:`~policy.decide.catalog.verdict_page`)."""
    key = (dt.name, mode, map_, align, pagemap, sig, kernel, page)
    got = cache.verdicts.get(key)
    if got is None:
        got = cache.verdicts[key] = candidate_verdicts(cat, b, dt, mode, map_, align, pagemap,
                                                       cache, kernel, page)
    return got


def _boot(device: Any) -> Any:
    return getattr(device, "boot", None)


def onlining(cat: Catalog, b: CachedBuild, device: Any) -> Optional[hotplug.Onlining]:
    """Who onlines ``device``'s hot-added memory (system-ram) and into which zone: the build's
    default online type (its kernel record names the symbols) and the boot's movable_node."""
    kernel = kernel_of(b)
    boot = _boot(device)
    stated = getattr(boot, "memhp_default_state", None)
    online_type = stated or next((t for sym, t in kernel.online_types if b.holds(sym)),
                                 "offline")
    rule = cat.hotplug.zone(online_type, bool(boot is not None and boot.movable_node))
    if rule is None:
        return None
    source = ("memhp_default_state= (mm/memory_hotplug.c setup_memhp_default_state)" if stated
              else kernel.online_types_source)
    return hotplug.Onlining(online_type=online_type, zone=rule.zone, by=rule.by,
                            reason=rule.reason, source=f"{rule.source}; {source}")


def _memmap_on_memory(cat: Catalog, b: CachedBuild,
                      device: Any) -> tuple[int, str, tuple[Any, ...]]:
    """(bytes of each memory block holding its memmap, "", ()) when dax/kmem can put the memmap
    on the hot-added memory under ``b`` and the device's boot; else (0, why, chain)."""
    rules = cat.hotplug
    if not b.holds(rules.mom_build):
        chain = b.chain(rules.mom_build)
        root = f": {chain[-1].render()}" if chain else ""
        return 0, f"memmap_on_memory needs {rules.mom_build}{root}", chain
    boot = _boot(device)
    mode = boot.memmap_on_memory if boot is not None else "off"
    if mode == "off":
        return 0, ("the boot switch memory_hotplug.memmap_on_memory is off (the kernel default; "
                   "spec.boot.memmap_on_memory: true puts it on the command line); writing 1 to "
                   "daxX.Y/memmap_on_memory then fails with EOPNOTSUPP (drivers/dax/bus.c)"), ()
    got = hotplug.block_memmap(costs.MEMORY_BLOCK_SIZE, b.build.page_size, force=mode == "force")
    if got.refused:
        return 0, f"{got.refused} (mhp_supports_memmap_on_memory)", ()
    return got.per_block, "", ()


def _kmem_candidates(cat: Catalog, b: CachedBuild, device: Any, dt: Any, mode: ModeRule,
                     base: CandidateResult) -> list[CandidateResult]:
    """The DRAM-memmap system-ram candidate ``base`` (with who onlines it), and beside it the
    memmap_on_memory one (where the catalog says the kernel has it): possible, or why not."""
    kernel = kernel_of(b).name
    base_lay = base.layout
    if not cat.hotplug.memmap_on_memory_in(kernel) or base_lay is None:
        return [base]
    cand = dataclasses.replace(base.candidate, memmap="device")
    per_block, why, chain = _memmap_on_memory(cat, b, device)
    if not per_block:
        if dt.kmem_memmap_on_memory:
            # the device asks for it by default: the DRAM memmap is the kernel's silent fallback
            note = hotplug.fallback_note(why, dt.kmem_memmap_on_memory_source)
            lay = dataclasses.replace(base_lay, warnings=base_lay.warnings + (note,))
            base = _replaced(base, layout=lay)
        return [base, impossible(cand, f"memmap on the device: {why}", chain, mode.proposal)]
    lay = hotplug.on_memory_layout(base_lay, costs.MEMORY_BLOCK_SIZE, per_block)
    return [base, _replaced(base, candidate=cand, layout=lay,
                            over_budget=_over_budget(device, lay))]


def _over_budget(device: Any, lay: Any) -> tuple[str, ...]:
    over: list[str] = []
    if device.budget_dram is not None and lay.dram_memmap > device.budget_dram:
        over.append(f"DRAM {format_size(lay.dram_memmap)} > budget "
                    f"{format_size(device.budget_dram)}")
    if device.budget_capacity is not None and lay.capacity_lost > device.budget_capacity:
        over.append(f"capacity lost {format_size(lay.capacity_lost)} > budget "
                    f"{format_size(device.budget_capacity)}")
    return tuple(over)


def candidates_for(
    device: Any, build: Build, cat: Optional[Catalog] = None, ranged: bool = True,
    features: bool = True,
) -> list[CandidateResult]:
    """Every candidate for ``device`` under ``build``, possible or not, before ranking (with
    ``ranged``, each layout with its start range: :func:`policy.decide.layouts.layout`).

    Without ``features``, the candidates without their feature verdicts (no features, none
    missing): for a caller that reads what each gives elsewhere, the symbolic evaluation
    (:mod:`policy.space.symbolic_eval`), which reads the rest."""
    cat = cat or catalog()
    cache = cache_for(cat)
    b = cached(build)
    dt = cat.device_type(str(device.type))
    plan = plan_for(cat, b, dt)
    pagemap = plan.pagemap
    out: list[CandidateResult] = []
    kernel = kernel_of(b)
    vpage = verdict_page(kernel.name, b.build.page_size)  # the page size the verdicts read
    sig: Optional[tuple[bool, ...]] = None  # the feature conditions under ``b`` (first needed)
    online: Optional[hotplug.Onlining] = None  # who onlines system-ram (first needed)
    facts = facts_of(device, dt)  # what every candidate's layout reads of the device
    for step in plan.modes:
        mode, maps, aligns = step.mode, step.maps, step.aligns
        out.extend(step.ruled_out)
        for m in maps:
            for align in aligns:
                cand = Candidate(mode=mode.name, map=m, align=align)
                lay = layout(device, dt, mode, cand, b, pagemap, cache, ranged, facts)
                if lay.refused is not None:
                    out.append(impossible(cand, lay.refused.render(), (), mode.proposal,
                                          lay.refused))
                    continue
                verdicts: tuple[Verdict, ...] = ()
                required: tuple[str, ...] = ()
                wanted: tuple[str, ...] = ()
                if features:
                    if sig is None:
                        sig = _feature_signature(cat, b, cache)
                    verdicts = _verdicts(cat, cache, b, dt, mode.name, m, align, pagemap, sig,
                                         kernel.name, vpage)
                    on = {v.feature for v in verdicts if v.enabled}
                    required = tuple(f for f in device.requires if f not in on)
                    wanted = tuple(f for f in device.wants if f not in on)
                kmem = mode.layout == "kmem"
                if kmem and online is None:
                    online = onlining(cat, b, device)
                got = CandidateResult(
                    candidate=cand, possible=True, why_impossible="", chain=(), layout=lay,
                    features=verdicts, missing_required=required, missing_wanted=wanted,
                    over_budget=_over_budget(device, lay), proposal=mode.proposal,
                    onlining=online if kmem else None,
                )
                if kmem:
                    out.extend(_kmem_candidates(cat, b, device, dt, mode, got))
                else:
                    out.append(got)
    return out


def pin_matches(pin: Any, cand: Candidate) -> bool:
    """Whether ``cand`` is what the profile's pin allows (mode, and map, align and the system-ram
    memmap placement if given: ``memmap: dram`` is the candidate without memmap_on_memory)."""
    memmap = getattr(pin, "memmap", None)
    return (cand.mode == pin.mode and (pin.map is None or cand.map == pin.map)
            and (pin.align is None or cand.align == pin.align)
            and (memmap is None or cand.memmap == (None if memmap == "dram" else memmap)))


def _fallback(device: Any, b: CachedBuild, cat: Catalog,
              results: Sequence[CandidateResult]) -> tuple[list[CandidateResult], str]:
    """A pin asking for ``memmap: device`` that no candidate can meet: the kernel silently
    hot-adds with a DRAM memmap instead, so the pin's DRAM candidates, and the warning why."""
    pin = device.pin
    if getattr(pin, "memmap", None) != "device":
        return [], ""
    relaxed = dataclasses.replace(pin, memmap="dram")
    pool = [r for r in results if r.possible and pin_matches(relaxed, r.candidate)]
    if not pool:
        return [], ""
    kernel = kernel_of(b).name
    refused = [r for r in results if r.candidate.memmap == "device"
               and pin_matches(pin, r.candidate)]
    if refused:
        why = refused[0].why_impossible.removeprefix("memmap on the device: ")
    else:
        why = (f"Linux {kernel} dax/kmem never puts the memmap on the hot-added memory "
               f"(memmap_on_memory came in 6.8; modelled from {cat.hotplug.mom_since})")
    return pool, hotplug.fallback_note(why, cat.hotplug.mom_source)


def _no_pool(device: Any, b: CachedBuild, cat: Catalog,
             results: Sequence[CandidateResult]) -> Decision:
    """The decision when no candidate is possible (or none matches the pin)."""
    pin = device.pin
    findings: list[Finding] = []
    if pin is not None:
        matching = [r for r in results if pin_matches(pin, r.candidate)
                    or (r.candidate.mode == pin.mode and not r.possible)]
        why = matching[0].why_impossible if matching else f"no candidate matches the pin {pin}"
        aligns = sorted({r.candidate.align for r in results if r.candidate.mode == pin.mode})
        built = any(r.possible for r in results if r.candidate.mode == pin.mode)
        if pin.align is not None and built and pin.align not in aligns:
            # e.g. 2M with 16 KiB pages, where the choices are 16K and 32M (and 64G)
            why = (f"align {ndctl_size(pin.align)} is not a choice with "
                   f"{format_size(b.build.page_size)} pages: "
                   + ", ".join(ndctl_size(a) for a in aligns))
        chain = matching[0].chain if matching else ()
        findings.append(Finding(code="impossible-pin",
                                message=f"pin {pin.mode} is impossible: {why}", chain=chain))
    else:
        dt = cat.device_type(str(device.type))
        kernel = kernel_of(b).name
        message = "no mode is possible for this device under this build"
        if not dt.exists_in(kernel):
            message += f": a {dt.name} device exists only on {dt.span()} ({dt.reason})"
        findings.append(Finding(code="no-candidate", message=message))
    findings[:0] = _conflicts(device, cat)
    for feature in device.requires:
        msg, chain = feature_chain(feature, device, results, b, cat)
        findings.append(Finding(code="unmet-requirement", message=msg, feature=feature,
                                chain=chain))
    return Decision(
        build=b.build.name, device=str(device.name), device_type=str(device.type),
        size=int(device.size), ok=False, outcome="finding", chosen=None,
        reason=findings[0].message,
        candidates=tuple(_with_lost(r, r.why_impossible) for r in results),
        findings=tuple(findings),
    )


def decide(device: Any, build: Build, cat: Optional[Catalog] = None) -> Decision:
    """Decide how ``device`` gets its struct pages under ``build`` (see the module docstring)."""
    cat = cat or catalog()
    b = cached(build)
    results = candidates_for(device, b, cat, ranged=False)
    pin = device.pin
    pool = [r for r in results if r.possible and (pin is None or pin_matches(pin, r.candidate))]
    fell_back = ""
    if not pool:
        pool, fell_back = _fallback(device, b, cat, results)
    if not pool:
        return _no_pool(device, b, cat, results)
    findings: list[Finding] = []
    ranked = sorted(pool, key=lambda r: r.rank(cat))
    best = ranked[0]
    winner = _with_start_range(device, b, cat, best)
    if winner.missing_required:
        findings.extend(_conflicts(device, cat))
    for feature in winner.missing_required:
        msg, chain = feature_chain(feature, device, results, b, cat)
        if findings and msg.endswith("is not given by any candidate"):
            msg = (f"{feature} is not given by {winner.candidate.label()}, the best mode for "
                   "the other requirements: they conflict (see conflicting-requirements)")
        findings.append(Finding(code="unmet-requirement", message=msg, feature=feature,
                                chain=chain))
    if not winner.missing_required and winner.over_budget:
        findings.append(Finding(
            code="over-budget",
            message=f"cheapest candidate giving every required feature, "
                    f"{winner.candidate.label()}, is over budget: "
                    + "; ".join(winner.over_budget),
        ))
    final: list[CandidateResult] = []
    runner_up: Optional[CandidateResult] = None
    runner_up_rank: tuple[int, ...] = ()
    for r in results:
        if r is best:
            continue
        if not r.possible:
            final.append(r)
        elif pin is not None and not pin_matches(pin, r.candidate):
            final.append(_with_lost(r, f"the profile pins {pin.mode}"))
        else:
            lost = _with_lost(r, lost_reason(r, winner))
            rank = r.rank(cat)
            if runner_up is None or rank < runner_up_rank:
                runner_up, runner_up_rank = lost, rank
            final.append(lost)
    reason = findings[0].message if findings else win_reason(
        winner, device, runner_up, pin is not None
    )
    lay = winner.layout
    if winner.onlining is not None and not findings:
        reason += _hotplug_words(winner, dt_name=str(device.type))
    warnings = (lay.warnings if lay else ()) + ((fell_back,) if fell_back else ())
    return Decision(
        build=b.build.name, device=str(device.name), device_type=str(device.type),
        size=int(device.size), ok=not findings, outcome="finding" if findings else "ok",
        chosen=winner, reason=reason, candidates=(winner,) + tuple(final),
        findings=tuple(findings), warnings=warnings,
    )


def _with_start_range(device: Any, b: CachedBuild, cat: Catalog,
                      r: CandidateResult) -> CandidateResult:
    """The winner ``r`` (laid out without start ranges) with its layout's start range, as
    ``candidates_for(ranged=True)`` gives it: of the candidate's layout, or for system-ram's
    memmap_on_memory one (and fallback note) of the DRAM-memmap layout it derives from."""
    if r.layout is None:
        return r
    dt = cat.device_type(str(device.type))
    pagemap = dt.pagemap and b.holds("ZONE_DEVICE")
    args = (device, dt, cat.mode(r.candidate.mode),
            dataclasses.replace(r.candidate, memmap=None), b, pagemap, cache_for(cat))
    base, ranged = layout(*args, ranged=False), layout(*args, ranged=True)
    rng = getattr(ranged, "start_range", None)
    if rng is None:
        return r
    note = ranged.warnings[len(base.warnings)]
    lay = with_range(r.layout, rng, note, len(base.warnings))
    return dataclasses.replace(r, layout=lay)


def _hotplug_words(w: CandidateResult, dt_name: str) -> str:
    """``; memmap on the device: 2 MiB of every 128 MiB memory block; onlined into ZONE_NORMAL
    by the kernel``: where a system-ram winner's struct pages live and which zone it lands in."""
    lay, online = w.layout, w.onlining
    assert lay is not None and online is not None
    blocks = (lay.usable + lay.memmap_on_device) // costs.MEMORY_BLOCK_SIZE
    per_block = lay.memmap_on_device // blocks if blocks else 0
    text = "; " + hotplug.describe(per_block, costs.MEMORY_BLOCK_SIZE)
    if per_block and dt_name != "cxl-ram":
        text += " (write 1 to /sys/bus/dax/devices/daxX.Y/memmap_on_memory before kmem binds)"
    return text + f"; onlined into {online.zone} by {online.by}: {online.reason}"


def _conflicts(device: Any, cat: Catalog) -> list[Finding]:
    """A ``conflicting-requirements`` finding when no single mode gives every required feature."""
    msg = conflict(device.requires, str(device.type), cat)
    return [Finding(code="conflicting-requirements", message=msg)] if msg else []


def _with_lost(r: CandidateResult, why: str) -> CandidateResult:
    return _replaced(r, lost=why)


def _replaced(r: CandidateResult, **changes: Any) -> CandidateResult:
    """``dataclasses.replace(r, **changes)`` without re-running ``__init__`` over every field
    (nor copy.copy's generic protocol): a decision copies thousands of candidates."""
    out = object.__new__(CandidateResult)
    out.__dict__.update(r.__dict__, **changes)
    return out
