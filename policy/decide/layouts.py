"""Which piece of the kernel's arithmetic (:mod:`policy.decide.costs`) lays out a candidate.

The device type's rules (region align, whole device), the mode's layout kind (raw, btt, pfn,
kmem) and the build's arch facts pick the ``costs`` function; results are kept in the
:class:`~policy.decide.cache.DecisionCache` by everything they read.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from policy.decide import costs
from policy.decide.cache import CachedBuild, DecisionCache
from policy.decide.catalog import DeviceTypeRule, ModeRule, scaled_align as catalog_scaled_align
from policy.decide.records import Candidate
from policy.kconfig import versions


def kernel_of(b: CachedBuild) -> versions.KernelVersion:
    """The modelled kernel record of a build (the default kernel for builds that name none)."""
    return versions.get(str(getattr(b.build, "kernel", versions.DEFAULT)))


def scaled_align(nominal: int, page: int, kernel: versions.KernelVersion) -> int:
    """An ``--align`` choice of the catalog (given for 4 KiB pages: PAGE_SIZE, HPAGE_PMD_SIZE,
    HPAGE_PUD_SIZE) for a build's page size: with 16 KiB pages 16K, 32M and 64G
    (drivers/nvdimm/pfn_devs.c nd_pfn_supported_alignments; 6.1 model: the 4 KiB values)."""
    return catalog_scaled_align(nominal, page, kernel.page_relative_aligns)


def layout(device: Any, dt: DeviceTypeRule, mode: ModeRule, cand: Candidate, b: CachedBuild,
           pagemap: bool, cache: DecisionCache) -> costs.Layout:
    """The layout of ``cand`` for ``device`` under ``b`` (memoised in ``cache``)."""
    page = b.build.page_size
    start = int(device.start_align or 0)
    compat = (
        costs.PPC64_HASH_COMPAT_ALIGN
        if b.holds("ARCH_HAS_MEMREMAP_COMPAT_ALIGN")
        else costs.SUBSECTION_SIZE
    )
    kernel = kernel_of(b)
    dedup_arch = b.holds(kernel.dedup_gate)  # the gate's name is per kernel version
    size = int(device.size)
    exists = bool(getattr(device, "exists", False))
    key = (size, start, dt.region_align, dt.whole_device, mode.layout, cand.mode, cand.map,
           cand.align, page, compat, dedup_arch, pagemap, exists, kernel.zero_size_refused)
    got = cache.layouts.get(key)
    if got is None:
        got = compute_layout(
            size=size, start=start, dt=dt, mode=mode, cand=cand, page=page, compat=compat,
            dedup_arch=dedup_arch, pagemap=pagemap, exists=exists,
        )
        if (kernel.zero_size_refused and got.refused is None and got.usable == 0
                and mode.layout in ("pfn", "kmem")):
            # 6.12 refuses offset >= size - end_trunc, where 6.1 gave a zero-size device
            got = costs.refused_layout(cand.mode, got.map, cand.align, size, costs.Refusal(
                "zero-size", "kernel", "unable to satisfy requested alignment (no usable "
                "capacity after end truncation)", kernel.zero_size_source), page)
        cache.layouts[key] = got
    assert isinstance(got, costs.Layout)
    return got


def compute_layout(*, size: int, start: int, dt: DeviceTypeRule, mode: ModeRule, cand: Candidate,
                   page: int, compat: int, dedup_arch: bool, pagemap: bool,
                   exists: bool = False) -> costs.Layout:
    """The layout itself (no memo): the kernel's arithmetic for this device type and mode.

    For a namespace that ``exists`` only the kernel's rules apply: ndctl's refusals (size a
    multiple of the region align or of the align, at least 16 MiB) say what today's ndctl would
    refuse to create, as a warning on a layout the kernel runs (label-less regions, namespaces
    made through sysfs or by an older ndctl).
    """
    if not exists:
        return _layout_for(size=size, start=start, dt=dt, mode=mode, cand=cand, page=page,
                           compat=compat, dedup_arch=dedup_arch, pagemap=pagemap, ndctl=True)
    lay = _layout_for(size=size, start=start, dt=dt, mode=mode, cand=cand, page=page,
                      compat=compat, dedup_arch=dedup_arch, pagemap=pagemap, ndctl=False)
    if lay.refused is not None:
        return lay
    by_ndctl = _layout_for(size=size, start=start, dt=dt, mode=mode, cand=cand, page=page,
                           compat=compat, dedup_arch=dedup_arch, pagemap=pagemap, ndctl=True)
    if by_ndctl.refused is not None and by_ndctl.refused.by == "ndctl":
        note = (f"exists and works, but today's ndctl would refuse to create it: "
                f"{by_ndctl.refused.message} ({by_ndctl.refused.source})")
        return dataclasses.replace(lay, warnings=lay.warnings + (note,))
    return lay


def _layout_for(*, size: int, start: int, dt: DeviceTypeRule, mode: ModeRule, cand: Candidate,
                page: int, compat: int, dedup_arch: bool, pagemap: bool,
                ndctl: bool) -> costs.Layout:
    if ndctl and dt.region_align:
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
            mode=cand.mode, map="mem", align=cand.align, size=size, dataoff=0, end_trunc=0,
            usable=size, capacity_lost=0, memmap=memmap, dram_memmap=dram + pte, dram_pte=pte,
            dedup=dedup,
        )
    map_ = pfn_map(cand)
    if mode.layout == "kmem":
        return costs.system_ram_layout(
            size, map_, cand.align, start=start, page_size=page, compat=compat
        )
    return costs.pfn_layout(size, map_, cand.align, mode=cand.mode, start=start, page_size=page,
                            compat=compat, arch_optimize_vmemmap=dedup_arch, ndctl=ndctl)


def pfn_map(cand: Candidate) -> costs.PfnMap:
    """The candidate's map for the layouts that have one (the catalog gives those modes maps)."""
    if cand.map == "mem":
        return "mem"
    if cand.map == "dev":
        return "dev"
    raise ValueError(f"{cand.label()}: a pfn/kmem layout needs map=mem or map=dev")
