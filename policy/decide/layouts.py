"""Which piece of the kernel's arithmetic (:mod:`policy.decide.costs`) lays out a candidate.

The device type's rules (region align, whole device), the mode's layout kind (raw, btt, pfn,
kmem) and the build's arch facts pick the ``costs`` function; results are kept in the
:class:`~policy.decide.cache.DecisionCache` by everything they read.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional

from policy.decide import costs
from policy.decide.cache import CachedBuild, DecisionCache
from policy.decide.catalog import DeviceTypeRule, ModeRule, scaled_align as catalog_scaled_align
from policy.decide.records import Candidate
from policy.kconfig import versions
from policy.profiles.records import effective_region_align
from policy.units import format_size


def kernel_of(b: CachedBuild) -> versions.KernelVersion:
    """The modelled kernel record of a build (the default kernel for builds that name none)."""
    return versions.get(str(getattr(b.build, "kernel", versions.DEFAULT)))


def scaled_align(nominal: int, page: int, kernel: versions.KernelVersion) -> int:
    """An ``--align`` choice of the catalog (given for 4 KiB pages: PAGE_SIZE, HPAGE_PMD_SIZE,
    HPAGE_PUD_SIZE) for a build's page size: with 16 KiB pages 16K, 32M and 64G
    (drivers/nvdimm/pfn_devs.c nd_pfn_supported_alignments; 6.1 model: the 4 KiB values)."""
    return catalog_scaled_align(nominal, page, kernel.page_relative_aligns)


@dataclasses.dataclass(frozen=True)
class StartRange:
    """What a start-dependent layout comes to over every start the input allows.

    ``usable`` and ``dram`` are (lowest, highest) over the starts; ``starts`` how many starts
    were laid out (see :func:`_sample`); ``refused`` how many of those the kernel refuses.
    """

    usable: tuple[int, int]
    dram: tuple[int, int]
    starts: int
    refused: int
    granule: int  # the starts are multiples of this (their known alignment)


@dataclasses.dataclass(frozen=True)
class RangedLayout(costs.Layout):
    """A layout at one start, with what it comes to over every start the input allows."""

    start_range: StartRange | None = None


@dataclasses.dataclass(frozen=True)
class Facts:
    """The device facts a layout reads, resolved: start, region align, ways, who creates it
    (whether the start is known only decides whether a layout is also laid out over every start
    the facts allow: :func:`layout`)."""

    size: int
    start: int  # the start laid out: the known start, else ``start_align`` (or 0)
    start_align: int  # the start's known alignment (0: nothing known)
    region_align: int  # ndctl sizes namespaces in multiples of this (0: no sizing)
    ways: int
    ndctl: bool  # ndctl's checks apply (a new namespace created by ndctl)
    sector_size: int


def facts_of(device: Any, dt: DeviceTypeRule) -> Facts:
    """Read the layout's inputs off a device (profile or listing record)."""
    start = getattr(device, "start", None)
    start_align = int(device.start_align or 0)
    fact_align = getattr(device, "region_align", None)
    ways = getattr(device, "interleave_ways", None)
    pin = getattr(device, "pin", None)
    exists = bool(getattr(device, "exists", False))
    return Facts(
        size=int(device.size),
        start=int(start) if start is not None else start_align,
        start_align=start_align,
        region_align=effective_region_align(dt.region_align, fact_align, ways),
        ways=int(ways or 1),
        ndctl=not exists and getattr(device, "created_by", "ndctl") != "sysfs",
        sector_size=int(getattr(pin, "sector_size", None) or 4096),  # ndctl's default
    )


def layout(device: Any, dt: DeviceTypeRule, mode: ModeRule, cand: Candidate, b: CachedBuild,
           pagemap: bool, cache: DecisionCache, ranged: bool = True,
           facts: Optional[Facts] = None) -> costs.Layout:
    """The layout of ``cand`` for ``device`` under ``b`` (memoised in ``cache``); with
    ``ranged``, also what it comes to over every start the input allows (:func:`start_range`:
    up to 64 more layouts, so :func:`policy.decide.runtime.decide` asks it of its winner only).
    ``facts``: ``facts_of(device, dt)``, when the caller lays out many candidates of one
    device."""
    page = b.build.page_size
    kernel = kernel_of(b)
    # what only some layout kinds read is given to the others as one fixed value, so that
    # builds differing in it share their layouts: the compat align and the zero-size refusal
    # are of the layouts placed at a start, the memmap dedup of pfn's (and dax_hmem's), the
    # region's pagemap of raw's
    placed = mode.layout in ("pfn", "kmem")
    compat = (
        costs.PPC64_HASH_COMPAT_ALIGN
        if placed and b.holds("ARCH_HAS_MEMREMAP_COMPAT_ALIGN")
        else costs.SUBSECTION_SIZE
    )
    # the gate's name is per kernel version
    dedup_arch = mode.layout == "pfn" and b.holds(kernel.dedup_gate)
    pagemap = pagemap and mode.layout == "raw"
    # the start range: of the layouts placed at a start, and only where the start is not known
    ranged = ranged and placed and getattr(device, "start", None) is None
    facts = facts or facts_of(device, dt)
    exists = bool(getattr(device, "exists", False))
    key = (facts, dt.region_align, dt.whole_device, mode.layout, cand.mode, cand.map,
           cand.align, page, compat, dedup_arch, pagemap, exists,
           placed and kernel.zero_size_refused, ranged)
    got = cache.layouts.get(key)
    if got is None:
        got = _compute(facts, dt, mode, cand, page, compat, dedup_arch, pagemap, exists, kernel,
                       ranged)
        cache.layouts[key] = got
    assert isinstance(got, costs.Layout)
    return got


def _compute(facts: Facts, dt: DeviceTypeRule, mode: ModeRule, cand: Candidate, page: int,
             compat: int, dedup_arch: bool, pagemap: bool, exists: bool,
             kernel: versions.KernelVersion, ranged: bool) -> costs.Layout:
    def at(start: int) -> costs.Layout:
        moved = facts if start == facts.start else dataclasses.replace(facts, start=start)
        got = compute_layout(
            facts=moved, dt=dt, mode=mode, cand=cand,
            page=page, compat=compat, dedup_arch=dedup_arch, pagemap=pagemap, exists=exists,
        )
        if (kernel.zero_size_refused and got.refused is None and got.usable == 0
                and mode.layout in ("pfn", "kmem")):
            # 6.12 refuses offset >= size - end_trunc, where 6.1 gave a zero-size device
            got = costs.refused_layout(cand.mode, got.map, cand.align, facts.size, costs.Refusal(
                "zero-size", "kernel", "unable to satisfy requested alignment (no usable "
                "capacity after end truncation)", kernel.zero_size_source), page)
        return got

    lay = at(facts.start)
    if not ranged or (lay.refused is not None and lay.refused.by == "ndctl"):
        return lay  # ndctl's checks do not depend on the start
    rng = start_range(facts, mode, cand, compat, at)
    if rng is None:
        return lay
    return with_range(lay, rng, _range_note(facts, rng, lay), len(lay.warnings))


def with_range(lay: costs.Layout, rng: StartRange, note: str, index: int) -> RangedLayout:
    """``lay`` with its start range ``rng``, and the range's ``note`` as warning ``index`` (after
    the warnings of the layout the range is of, before those added to a layout derived from it:
    system-ram's memmap_on_memory fallback note)."""
    fields = {f.name: getattr(lay, f.name) for f in dataclasses.fields(costs.Layout)}
    fields["warnings"] = lay.warnings[:index] + (note,) + lay.warnings[index:]
    return RangedLayout(**fields, start_range=rng)


def start_range(facts: Facts, mode: ModeRule, cand: Candidate, compat: int,
                at: Any) -> StartRange | None:
    """The layout over every start the facts allow (the start is not known), when it depends
    on the start; else None.

    A pfn layout depends on ``start mod A`` (``A = max(align, memremap_compat_align())``: data
    offset and end truncation, drivers/nvdimm/pfn_devs.c nd_pfn_init) and, for map=dev and
    dax/kmem, on ``start mod 128 MiB`` (memory sections, mm/sparse.c; partial sections take
    their memmap from DRAM, arch/x86/mm/init_64.c vmemmap_populate). Without a known start the
    starts are the multiples of what is known (start_align, else the region align, at least
    the 2 MiB the kernel needs) below ``L = max(A, 128 MiB)``.
    """
    if mode.layout not in ("pfn", "kmem") or cand.map is None:
        return None
    a = max(cand.align, compat)
    span = max(a, costs.SECTION_SIZE) if (cand.map == "dev" or mode.layout == "kmem") else a
    if facts.start_align:
        granule = facts.start_align
        starts = range(granule, span, 2 * granule)  # the start's lowest set bit is granule
    else:
        known = facts.region_align
        granule = known if known and not known & (known - 1) else 0
        granule = max(granule, compat)
        starts = range(0, span, granule)
    if granule >= span or len(starts) < 2:
        return None
    lays = [at(s) for s in _sample(starts, facts.size, a, span)]
    ok = [x for x in lays if x.refused is None]
    if not ok:
        return None
    usable = (min(x.usable for x in ok), max(x.usable for x in ok))
    dram = (min(x.dram_memmap for x in ok), max(x.dram_memmap for x in ok))
    refused = len(lays) - len(ok)
    if usable[0] == usable[1] and dram[0] == dram[1] and not refused:
        return None
    return StartRange(usable=usable, dram=dram, starts=len(lays), refused=refused,
                      granule=granule)


ALL_STARTS = 64  # up to this many starts every one is laid out; past it, the breakpoints


def _sample(starts: range, size: int, a: int, span: int) -> list[int]:
    """The starts to lay out: all of them when few, else those on either side of every
    breakpoint. Between breakpoints the usable size is constant and the partial-section DRAM
    linear in the start (each term of nd_pfn_init is ``ALIGN(start + X, A)`` or
    ``(start + size) mod A``, each section term ``ALIGN(start, 128 MiB)``), so the extremes
    lie at the breakpoints: where ``start + 8 KiB``, ``start + 8 KiB + 64 * npfns`` or
    ``start + size`` crosses a multiple of ``A``, or ``start`` or ``start + size`` one of 128
    MiB."""
    if len(starts) <= ALL_STARTS:
        return list(starts)
    npfns = (size - costs.PFN_INFO_RESERVE) // costs.PAGE_SIZE
    marks = {0}
    for x in (costs.PFN_INFO_RESERVE, costs.PFN_INFO_RESERVE + costs.MAX_STRUCT_PAGE_SIZE * npfns,
              size):
        marks.update((-x) % a + k * a for k in range(span // a))
    marks.update((-size) % costs.SECTION_SIZE + k * costs.SECTION_SIZE
                 for k in range(span // costs.SECTION_SIZE))
    marks.update(k * costs.SECTION_SIZE for k in range(span // costs.SECTION_SIZE))
    first, step = starts.start, starts.step
    picked: set[int] = set()
    for mark in marks:
        k = (mark - first) // step
        picked.update(starts[i] for i in (k - 1, k, k + 1, k + 2) if 0 <= i < len(starts))
    return sorted(picked)


def _range_note(facts: Facts, rng: StartRange, lay: costs.Layout) -> str:
    def span(pair: tuple[int, int]) -> str:
        lo, hi = pair
        return format_size(lo) if lo == hi else f"{format_size(lo)} … {format_size(hi)}"

    at = (f"a start aligned to exactly {format_size(facts.start_align)}" if facts.start_align
          else f"a start on any {format_size(rng.granule)} boundary")
    text = (f"the namespace start is not known (a listing does not carry it: merge sysfs "
            f"resource into it, or give a profile's device.start): at {at}, usable "
            f"{span(rng.usable)}, DRAM {span(rng.dram)}; the figures shown are for a start at "
            f"{facts.start:#x}")
    if rng.refused:
        text += "; at some of those starts the kernel refuses it"
    return text


def compute_layout(*, facts: Facts, dt: DeviceTypeRule, mode: ModeRule, cand: Candidate,
                   page: int, compat: int, dedup_arch: bool, pagemap: bool,
                   exists: bool = False) -> costs.Layout:
    """The layout itself (no memo) at ``facts.start``: the kernel's arithmetic for this device
    type and mode, behind ndctl's checks when ``facts.ndctl``.

    For a namespace that ``exists`` only the kernel's rules apply: ndctl's refusals (size a
    multiple of the region align or of the align, at least 16 MiB) say what today's ndctl would
    refuse to create, as a warning on a layout the kernel runs (label-less regions, namespaces
    made through sysfs or by an older ndctl). A namespace ``created_by: sysfs`` is judged by the
    kernel's rules alone, among them the region align the kernel checks when the size is
    written (which, unlike ndctl's checks, a profile can lower by stating ``region.align``).
    """
    kw: dict[str, Any] = dict(dt=dt, mode=mode, cand=cand, page=page, compat=compat,
                              dedup_arch=dedup_arch, pagemap=pagemap)
    sysfs = not facts.ndctl and not exists
    if sysfs and facts.region_align and facts.size % facts.region_align:
        # the kernel checks the region align itself when a size is written (since 5.7)
        map_ = cand.map if mode.layout in ("pfn", "kmem") else None
        return costs.refused_layout(cand.mode, map_, cand.align, facts.size, costs.Refusal(
            "size-not-multiple-of-region-align", "kernel",
            f"{facts.size} is not {facts.region_align // 1024}K aligned (the region's align: "
            "lower regionX/align first, to a power of two times the interleave ways, and state "
            "it as region.align)",
            "drivers/nvdimm/namespace_devs.c __size_store; drivers/nvdimm/region_devs.c "
            "align_store"), page)
    lay = _layout_for(facts=facts, **kw)  # the kernel's layout: it never reads facts.ndctl
    if lay.refused is not None and not facts.ndctl:
        return lay
    refusal = None if dt.whole_device else ndctl_refusal(facts, mode, cand, page)
    if refusal is not None and facts.ndctl:
        map_ = cand.map if mode.layout in ("pfn", "kmem") else None
        return costs.refused_layout(cand.mode, map_, cand.align, facts.size, refusal, page)
    if lay.refused is not None:
        return lay
    if cand.mode == "fsdax" and cand.align >= costs.GiB:
        lay = dataclasses.replace(lay, warnings=lay.warnings + (_fsdax_1g_note(facts, lay, kw),))
    if refusal is not None and exists:
        note = (f"exists and works, but today's ndctl would refuse to create it: "
                f"{refusal.message} ({refusal.source})")
        return dataclasses.replace(lay, warnings=lay.warnings + (note,))
    return lay


def ndctl_refusal(facts: Facts, mode: ModeRule, cand: Candidate, page: int
                  ) -> costs.Refusal | None:
    """ndctl's own checks of a new namespace, in its order (ndctl 76.1, ndctl/namespace.c
    validate_namespace_options): a size in region-align units, then in align x interleave-ways
    units, then at least 16 MiB for every mode but raw."""
    size = facts.size
    if facts.region_align:
        refusal = costs.region_align_refusal(size, facts.region_align)
        if refusal is not None:
            return refusal
    pfn = mode.layout in ("pfn", "kmem")
    align = cand.align if pfn else page
    if (pfn or facts.ways > 1) and size % (align * facts.ways):
        return costs.Refusal(
            "size-not-multiple-of-align", "ndctl",
            f"'--size=' must align to interleave-width: {facts.ways} and alignment: {align} "
            f"(size {size:#x})", "ndctl/namespace.c validate_namespace_options")
    if pfn and size < costs.NDCTL_MIN_DAX_SIZE:
        return costs.Refusal(
            "too-small", "ndctl", f"'--size=' must be >= 16MiB for '{cand.mode}' mode "
            f"(size {size:#x})", "ndctl/namespace.c validate_namespace_options")
    return None


def _fsdax_1g_note(facts: Facts, lay: costs.Layout, kw: dict[str, Any]) -> str:
    two_m = _layout_for(facts=dataclasses.replace(facts, ndctl=False),
                        **{**kw, "cand": dataclasses.replace(kw["cand"], align=2 * costs.MiB)})
    other = ("" if two_m.refused is not None
             else f"; align 2M would lose {format_size(two_m.capacity_lost)}")
    return (f"fsdax align=1G: the kernel accepts it, but fsdax faults stay at 2 MiB (PMD) or "
            f"below whatever the align (fs/dax.c handles PTE and PMD faults only), while the data "
            f"start and end are padded to 1 GiB: {format_size(lay.capacity_lost)} of "
            f"{format_size(facts.size)} lost{other}; use align=2M, or devdax for 1 GiB faults")


def _layout_for(*, facts: Facts, dt: DeviceTypeRule, mode: ModeRule, cand: Candidate,
                page: int, compat: int, dedup_arch: bool, pagemap: bool) -> costs.Layout:
    """The kernel's layout at ``facts.start`` (ndctl's checks are :func:`ndctl_refusal`)."""
    size, start = facts.size, facts.start
    if mode.layout == "raw":
        return costs.raw_layout(size, pagemap=pagemap, page_size=page)
    if mode.layout == "btt":
        return costs.btt_layout(size, facts.sector_size)
    if dt.whole_device:
        # dax_hmem: no namespace, no info block, memmap in DRAM (deduplicated for device-dax)
        memmap = costs.memmap_bytes(size, page)
        dedup = mode.layout == "pfn" and costs.can_dedup(
            "devdax", "mem", cand.align, dedup_arch, page
        )
        dram, pte = costs.dedup_memmap(size, cand.align, page) if dedup else (memmap, 0)
        return costs.Layout(
            mode=cand.mode, map="mem", align=cand.align, size=size, dataoff=0, end_trunc=0,
            usable=size, capacity_lost=0, memmap=memmap, dram_memmap=dram + pte, dram_pte=pte,
            dedup=dedup,
        )
    map_ = pfn_map(cand)
    if mode.layout == "kmem":
        return costs.system_ram_layout(
            size, map_, cand.align, start=start, page_size=page, compat=compat, ndctl=False
        )
    return costs.pfn_layout(size, map_, cand.align, mode=cand.mode, start=start, page_size=page,
                            compat=compat, arch_optimize_vmemmap=dedup_arch, ndctl=False)


def pfn_map(cand: Candidate) -> costs.PfnMap:
    """The candidate's map for the layouts that have one (the catalog gives those modes maps)."""
    if cand.map == "mem":
        return "mem"
    if cand.map == "dev":
        return "dev"
    raise ValueError(f"{cand.label()}: a pfn/kmem layout needs map=mem or map=dev")
