"""The kernel's struct page arithmetic: memmap size, nd_pfn layout, BTT overhead, vmemmap dedup.

Pure functions of integers, no I/O. Every constant names the Linux 6.1 source it comes from; the
formulas are those of ``../shared/reference/kernel-6.1-pmem.md`` section 4, which were checked
against namespaces created by ndctl on a real 6.1 kernel.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30
TiB = 1 << 40

PAGE_SIZE = 4096  # x86_64 and arm64 4K builds (asm-offsets probe, reference section 4)
STRUCT_PAGE_SIZE = (
    64  # sizeof(struct page) on x86_64 and arm64 in 6.1 (Documentation/mm/vmemmap_dedup.rst)
)
MAX_STRUCT_PAGE_SIZE = (
    64  # drivers/nvdimm/nd.h:661, what the pfn info block always reserves per page
)
PFN_INFO_RESERVE = 8 * KiB  # SZ_8K in nd_pfn_init: the pfn info block sits at +4 KiB
SUBSECTION_SIZE = 2 * MiB  # SUBSECTION_SHIFT=21: memremap_compat_align() by default (mm/memremap.c)
PPC64_HASH_COMPAT_ALIGN = 16 * MiB  # arch/powerpc: max(SUBSECTION_SIZE, linear-map page size)
SECTION_SIZE = 128 * MiB  # SECTION_SIZE_BITS=27 on x86_64/arm64 4K
NDCTL_MIN_DAX_SIZE = 16 * MiB  # ndctl check_dax_align / create-namespace: fsdax and devdax minimum
# drivers/nvdimm/region_devs.c default_align(): MEMREMAP_COMPAT_ALIGN_MAX (16 MiB), the default
# "align" of a libnvdimm region of at least that size; ndctl refuses every namespace size that is
# not a multiple of it (ndctl/namespace.c validate_namespace_options: "align setting is %#lx size
# %#llx is misaligned"), raw and sector included. Measured: raw 8 MiB refused by ndctl 76.1.
MEMREMAP_COMPAT_ALIGN_MAX = 16 * MiB
# drivers/base/memory.c memory_block_size_bytes(): the unit dax/kmem hot-adds. 128 MiB is
# MIN_MEMORY_BLOCK_SIZE (1 << SECTION_SIZE_BITS) on x86_64/arm64 4K, what the oracle VM had; x86_64
# picks up to 2 GiB on machines with >= 64 GiB of RAM (arch/x86/mm/init_64.c
# probe_memory_block_size: MAX_BLOCK_SIZE on bare metal, the largest size dividing the end of RAM
# under a hypervisor), so it is a parameter of system_ram_layout with this default.
MEMORY_BLOCK_SIZE = 128 * MiB
VMEMMAP_RESERVE_NR = 2  # include/linux/mm.h vmemmap_can_optimize: head page + one reused tail page
PTE_SIZE = 8  # one page-table entry on x86_64

# drivers/nvdimm/btt.h (6.1)
BTT_PG_SIZE = 4096
BTT_DEFAULT_NFREE = 256  # ND_MAX_LANES
LOG_GRP_SIZE = 64  # sizeof(struct log_group): four 16-byte log entries
MAP_ENT_SIZE = 4
INT_LBASIZE_ALIGNMENT = 256
ARENA_MIN_SIZE = 16 * MiB
ARENA_MAX_SIZE = 512 * GiB
BTT_INFO_OFFSET_V11 = 4 * KiB  # nd_btt_version(): initial_offset = SZ_4K for BTT v1.1 (label-less)
BTT_LBASIZES = (
    512,
    520,
    528,
    4096,
    4104,
    4160,
    4224,
)  # drivers/nvdimm/btt_devs.c btt_lbasize_supported

PfnMap = Literal["mem", "dev"]


@dataclass(frozen=True)
class Refusal:
    """Why ndctl or the kernel refuses to create or bind a namespace with these parameters."""

    # "size-not-multiple-of-align", "too-small", "unsatisfiable-align", "misaligned-start", ...
    code: str
    by: Literal["ndctl", "kernel"]
    message: str
    source: str

    def render(self) -> str:
        return f"{self.by} refuses: {self.message} ({self.source})"


@dataclass(frozen=True)
class Layout:
    """How a namespace of ``size`` bytes is laid out and what its struct pages cost.

    ``dataoff`` is where data starts on the device (info block + on-device memmap + padding),
    ``end_trunc`` what is cut off the end to keep the data end aligned, ``usable`` the bytes the
    block device or dax device exposes (what ``ndctl list`` prints as ``size``),
    ``capacity_lost = size - usable``. ``dram_memmap`` is the DRAM spent on struct pages
    (with ``dram_pte`` the share of it that is vmemmap page tables). ``memmap`` is the plain
    memmap a build needs for the whole namespace, wherever it lives. ``refused`` is set, and
    ``usable`` is 0, when ndctl or the kernel refuses the namespace.
    """

    mode: str
    map: Optional[str]
    align: int
    size: int
    dataoff: int
    end_trunc: int
    usable: int
    capacity_lost: int
    memmap: int
    dram_memmap: int
    dram_pte: int
    dedup: bool
    refused: Optional[Refusal] = None
    warnings: tuple[str, ...] = ()


def memmap_bytes(
    size: int, page_size: int = PAGE_SIZE, struct_page_size: int = STRUCT_PAGE_SIZE
) -> int:
    """Bytes of ``struct page`` for ``size`` bytes of memory: one struct page per page.

    400 GiB -> 6.25 GiB; 8 GiB -> 128 MiB; the ratio is ``struct_page_size / page_size``
    (1/64 = 1.5625 % with 64-byte pages and 4 KiB pages).
    """
    _check_nonneg(size=size, page_size=page_size, struct_page_size=struct_page_size)
    return (size // page_size) * struct_page_size


def memmap_ratio(page_size: int = PAGE_SIZE, struct_page_size: int = STRUCT_PAGE_SIZE) -> float:
    """The memmap overhead as a fraction of memory (0.015625 by default)."""
    return struct_page_size / page_size


def compat_align(arch: str = "x86_64", ppc_hash_mmu: bool = False) -> int:
    """``memremap_compat_align()``: SUBSECTION_SIZE, or 16 MiB on ppc64 with the hash MMU."""
    return PPC64_HASH_COMPAT_ALIGN if arch == "ppc64" and ppc_hash_mmu else SUBSECTION_SIZE


def _align_up(x: int, a: int) -> int:
    return -(-x // a) * a


def _align_down(x: int, a: int) -> int:
    return (x // a) * a


def _check_nonneg(**values: int) -> None:
    for name, value in values.items():
        if value < 0:
            raise ValueError(f"{name} must not be negative: {value}")


def _refused(
    mode: str, map_: Optional[str], align: int, size: int, refusal: Refusal, memmap: int
) -> Layout:
    return Layout(mode=mode, map=map_, align=align, size=size, dataoff=0, end_trunc=0, usable=0,
                  capacity_lost=size, memmap=memmap, dram_memmap=0, dram_pte=0, dedup=False,
                  refused=refusal)


def refused_layout(mode: str, map_: Optional[str], align: int, size: int, refusal: Refusal,
                   page_size: int = PAGE_SIZE) -> Layout:
    """The layout of a namespace that ndctl or the kernel refuses: nothing usable."""
    return _refused(mode, map_, align, size, refusal, memmap_bytes(size, page_size))


def region_default_align(region_size: int, mappings: int = 1, page_size: int = PAGE_SIZE) -> int:
    """drivers/nvdimm/region_devs.c default_align() (6.1): a label-backed region's ``align``.

    MEMREMAP_COMPAT_ALIGN_MAX (16 MiB), PAGE_SIZE for a region smaller than that, multiplied by
    the interleave ways (``ndr_mappings``) when it is not divisible by them (3-way: 48 MiB).
    """
    _check_nonneg(region_size=region_size)
    align = page_size if region_size < MEMREMAP_COMPAT_ALIGN_MAX else MEMREMAP_COMPAT_ALIGN_MAX
    ways = max(1, mappings)
    if align % ways:
        align *= ways
    return align


def region_align_refusal(size: int, region_align: int) -> Optional[Refusal]:
    """ndctl's refusal of a namespace size that is not a multiple of the region align.

    ndctl/namespace.c validate_namespace_options (ndctl 76.1) checks ``size % region align`` for
    every mode, raw included: "create namespace: region0: align setting is 0x1000000 size 0x800000
    is misaligned" (measured by the kernel oracle for a raw 8 MiB namespace).
    """
    if region_align <= 0 or size % region_align == 0:
        return None
    return Refusal("size-not-multiple-of-region-align", "ndctl",
                   f"align setting is {region_align:#x} size {size:#x} is misaligned "
                   f"(every namespace size must be a multiple of the region align)",
                   "ndctl/namespace.c validate_namespace_options; "
                   "drivers/nvdimm/region_devs.c default_align")


def dedup_memmap(
    size: int,
    align: int,
    page_size: int = PAGE_SIZE,
    struct_page_size: int = STRUCT_PAGE_SIZE,
) -> tuple[int, int]:
    """DRAM for a device-dax memmap with compound-page vmemmap dedup: ``(vmemmap, pte_tables)``.

    mm/sparse-vmemmap.c vmemmap_populate_compound_pages keeps the head vmemmap page and one tail
    page per compound page (VMEMMAP_RESERVE_NR = 2) and points the other PTEs at the tail page;
    the PTE tables still cover the whole memmap: ``(size/P)*sp/P`` entries of 8 bytes.
    2 MiB align: D/256 + D/32768; 1 GiB align: 8 KiB per GiB + D/32768.
    """
    compound = -(-size // align)
    vmemmap = compound * VMEMMAP_RESERVE_NR * page_size
    pte = (size // page_size) * struct_page_size // page_size * PTE_SIZE
    return vmemmap, pte


def can_dedup(
    mode: str,
    map_: Optional[str],
    align: int,
    arch_optimize_vmemmap: bool,
    page_size: int = PAGE_SIZE,
    struct_page_size: int = STRUCT_PAGE_SIZE,
) -> bool:
    """include/linux/mm.h vmemmap_can_optimize (6.1.192) for a namespace.

    Compiled in only with ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP (x86_64 in 6.1); needs a
    power-of-two struct page, no altmap (so map=mem), a compound pgmap (only device-dax sets
    ``vmemmap_shift``, drivers/dax/device.c:452) and more than VMEMMAP_RESERVE_NR vmemmap pages
    per compound page (so 2 MiB and 1 GiB aligns with 4 KiB pages, never 4 KiB align).
    """
    if not arch_optimize_vmemmap or mode != "devdax" or map_ != "mem":
        return False
    if struct_page_size & (struct_page_size - 1):
        return False
    return (align // page_size) * struct_page_size // page_size > VMEMMAP_RESERVE_NR


def pfn_layout(
    size: int,
    map_: PfnMap,
    align: int = 2 * MiB,
    *,
    mode: str = "fsdax",
    start: int = 0,
    page_size: int = PAGE_SIZE,
    struct_page_size: int = STRUCT_PAGE_SIZE,
    compat: int = SUBSECTION_SIZE,
    arch_optimize_vmemmap: bool = False,
    page_struct_override: bool = False,
    ndctl: bool = True,
) -> Layout:
    """The layout ``drivers/nvdimm/pfn_devs.c:nd_pfn_init`` computes for fsdax/devdax (6.1).

    ``A = max(align, memremap_compat_align())``;
    ``npfns0 = (D - 8 KiB) / P``; ``end_trunc = start + D - ALIGN_DOWN(start + D, A)``;
    map=dev: ``dataoff = ALIGN(start + 8 KiB + 64*npfns0, A) - start``;
    map=mem: ``dataoff = ALIGN(start + 8 KiB, A) - start``; ``usable = D - dataoff - end_trunc``.
    DRAM: map=mem spends the memmap of the whole namespace D (deduplicated for device-dax where
    :func:`can_dedup`); map=dev spends only the base-page vmemmap of partial 128 MiB sections
    (arch/x86/mm/init_64.c vmemmap_populate falls back to DRAM base pages for them).
    ``ndctl=True`` applies ndctl's own refusals first (size a multiple of align, >= 16 MiB).
    """
    _check_nonneg(size=size, align=align, start=start)
    if align <= 0 or page_size <= 0:
        raise ValueError("align and page_size must be positive")
    memmap = memmap_bytes(size, page_size, struct_page_size)

    def refuse(code: str, by: Literal["ndctl", "kernel"], message: str, source: str) -> Layout:
        return _refused(mode, map_, align, size, Refusal(code, by, message, source), memmap)

    if ndctl and size % align:
        return refuse("size-not-multiple-of-align", "ndctl",
                      f"size {size} is not a multiple of align {align}", "ndctl/namespace.c")
    if ndctl and size < NDCTL_MIN_DAX_SIZE:
        return refuse("too-small", "ndctl",
                      f"{mode} needs at least 16 MiB, namespace is {size} bytes",
                      "ndctl/namespace.c check_dax_align")
    if size <= PFN_INFO_RESERVE:
        return refuse("too-small", "kernel", "no room for the pfn info block",
                      "drivers/nvdimm/pfn_devs.c:nd_pfn_init")
    if start % compat:
        return refuse("misaligned-start", "kernel",
                      f"start {start:#x} misaligned to {compat:#x}",
                      "drivers/nvdimm/pfn_devs.c:nd_pfn_init")
    per_page = MAX_STRUCT_PAGE_SIZE
    if struct_page_size > MAX_STRUCT_PAGE_SIZE:
        if not page_struct_override:
            return refuse("struct-page-too-large", "kernel",
                          "Memory debug options prevent using pmem for the page map",
                          "drivers/nvdimm/pfn_devs.c:nd_pfn_init (MAX_STRUCT_PAGE_SIZE)")
        per_page = struct_page_size
    a = max(align, compat)
    npfns0 = (size - PFN_INFO_RESERVE) // page_size
    end = start + size
    end_trunc = end - _align_down(end, a)
    if map_ == "dev":
        dataoff = _align_up(start + PFN_INFO_RESERVE + per_page * npfns0, a) - start
    elif map_ == "mem":
        dataoff = _align_up(start + PFN_INFO_RESERVE, a) - start
    else:
        raise ValueError(f"map must be 'mem' or 'dev', not {map_!r}")
    if dataoff >= size:
        return refuse("unsatisfiable-align", "kernel", "unable to satisfy requested alignment",
                      "drivers/nvdimm/pfn_devs.c:nd_pfn_init")
    usable = size - dataoff - end_trunc
    warnings: tuple[str, ...] = ()
    if usable == 0:
        warnings = ("6.1 binds a zero-size device here and crashes on unbind (memunmap_pages); "
                    "nd_pfn_init only checks dataoff >= size",)
    dedup = can_dedup(mode, map_, align, arch_optimize_vmemmap, page_size, struct_page_size)
    dram_pte = 0
    if map_ == "mem":
        if dedup:
            dram, dram_pte = dedup_memmap(size, align, page_size, struct_page_size)
            dram += dram_pte
        else:
            dram = memmap
    else:
        dram = partial_section_memmap(start, size - end_trunc, page_size, struct_page_size)
    return Layout(mode=mode, map=map_, align=align, size=size, dataoff=dataoff,
                  end_trunc=end_trunc, usable=usable, capacity_lost=dataoff + end_trunc,
                  memmap=memmap, dram_memmap=dram, dram_pte=dram_pte, dedup=dedup,
                  warnings=warnings)


def partial_section_memmap(
    start: int, length: int, page_size: int = PAGE_SIZE, struct_page_size: int = STRUCT_PAGE_SIZE
) -> int:
    """DRAM base pages for the memmap of the partial 128 MiB sections of ``[start, start+length)``.

    A modelled quantity: full sections take their vmemmap from the altmap (map=dev), partial ones
    fall back to DRAM base pages (arch/x86/mm/init_64.c vmemmap_populate). 0 when the range starts
    and ends on section boundaries; about 2 MiB otherwise.
    """
    if length <= 0:
        return 0
    end = start + length
    first_full = _align_up(start, SECTION_SIZE)
    last_full = _align_down(end, SECTION_SIZE)
    pieces = [end - start] if first_full >= last_full else [first_full - start, end - last_full]
    total = 0
    for piece in pieces:
        if piece > 0:
            total += _align_up(memmap_bytes(piece, page_size, struct_page_size), page_size)
    return total


def btt_usable(size: int, lbasize: int = 4096, initial_offset: int = BTT_INFO_OFFSET_V11) -> int:
    """Bytes a sector-mode (BTT) namespace exposes: ``btt->nlba * sector_size``.

    drivers/nvdimm/btt.c create_arenas/alloc_arena (6.1), exact: arenas of at most 512 GiB
    (a remainder below 16 MiB is dropped); per arena two info pages, a log of
    ``roundup(nfree*64, 4096)``, then ``internal_nlba = (available - 4096) / (lbasize + 4)``
    and ``external_nlba = internal_nlba - nfree``. 2 GiB -> 2144305152, 80 GiB -> 85814456320,
    32 MiB -> 32440320 with 4096-byte sectors and the v1.1 4 KiB initial offset.
    """
    _check_nonneg(size=size)
    if lbasize not in BTT_LBASIZES:
        raise ValueError(f"unsupported BTT sector size {lbasize}")
    sector_size = 4096 if lbasize >= 4096 else 512
    internal_lbasize = _align_up(lbasize, INT_LBASIZE_ALIGNMENT)
    remaining = size - initial_offset
    if remaining < ARENA_MIN_SIZE:
        return 0

    def arena_nlba(arena: int) -> int:
        available = _align_down(arena, BTT_PG_SIZE) - 2 * BTT_PG_SIZE
        available -= _align_up(BTT_DEFAULT_NFREE * LOG_GRP_SIZE, BTT_PG_SIZE)
        internal_nlba = (available - BTT_PG_SIZE) // (internal_lbasize + MAP_ENT_SIZE)
        return internal_nlba - BTT_DEFAULT_NFREE

    # create_arenas() carves full 512 GiB arenas, then one from the remainder if that reaches
    # 16 MiB: closed form, O(1) for any size (the kernel's loop runs once per arena)
    full, rest = divmod(remaining, ARENA_MAX_SIZE)
    nlba = full * arena_nlba(ARENA_MAX_SIZE)
    if rest >= ARENA_MIN_SIZE:
        nlba += arena_nlba(rest)
    return nlba * sector_size


def btt_layout(size: int, lbasize: int = 4096) -> Layout:
    """Sector mode: capacity lost to BTT metadata only; no struct pages anywhere."""
    memmap = memmap_bytes(size)
    if size - BTT_INFO_OFFSET_V11 < ARENA_MIN_SIZE:
        return _refused("sector", None, lbasize, size,
                        Refusal("too-small", "kernel", f"sector mode needs at least "
                                f"{ARENA_MIN_SIZE + BTT_INFO_OFFSET_V11} bytes",
                                "drivers/nvdimm/btt.c nvdimm_namespace_attach_btt"), memmap)
    usable = btt_usable(size, lbasize)
    return Layout(mode="sector", map=None, align=lbasize, size=size, dataoff=0, end_trunc=0,
                  usable=usable, capacity_lost=size - usable, memmap=memmap, dram_memmap=0,
                  dram_pte=0, dedup=False)


def raw_layout(size: int, *, pagemap: bool = False, page_size: int = PAGE_SIZE,
               struct_page_size: int = STRUCT_PAGE_SIZE) -> Layout:
    """Raw mode: the whole namespace is usable. On ND_REGION_PAGEMAP regions (e820, of_pmem,
    virtio-pmem) pmem_should_map_pages() gives it DRAM struct pages for all of it."""
    memmap = memmap_bytes(size, page_size, struct_page_size)
    dram = memmap if pagemap else 0
    return Layout(mode="raw", map="mem" if pagemap else None, align=page_size, size=size,
                  dataoff=0, end_trunc=0, usable=size, capacity_lost=0, memmap=memmap,
                  dram_memmap=dram, dram_pte=0, dedup=False)


def system_ram_layout(
    size: int,
    map_: PfnMap,
    align: int = 2 * MiB,
    *,
    start: int = 0,
    page_size: int = PAGE_SIZE,
    struct_page_size: int = STRUCT_PAGE_SIZE,
    compat: int = SUBSECTION_SIZE,
    memory_block: int = MEMORY_BLOCK_SIZE,
    ndctl: bool = True,
) -> Layout:
    """devdax onlined by dax/kmem: the devdax layout, cut to whole memory blocks, memmap in DRAM.

    drivers/dax/kmem.c dax_kmem_range() (6.1) aligns the device-dax range ``[start + dataoff,
    start + dataoff + devdax usable)`` start UP and end DOWN to ``memory_block`` (
    memory_block_size_bytes(), 128 MiB by default: see :data:`MEMORY_BLOCK_SIZE`), and
    dev_dax_kmem_probe hot-adds only that, with add_memory_driver_managed (no
    MHP_MEMMAP_ON_MEMORY), so the memmap of the onlined range lives in DRAM; a map=dev reservation
    is simply wasted (drivers/dax/pmem.c:55). ``usable`` is the onlined System RAM, everything else
    is capacity lost; ``dataoff``/``end_trunc`` are the offsets of the onlined range. When no whole
    block remains the kernel rejects the device ("rejecting DAX region without any memory after
    alignment", -EINVAL). Measured: a 1 GiB map=mem or map=dev 2M namespace onlines 896 MiB and
    spends 14 MiB of DRAM.
    """
    base = pfn_layout(size, map_, align, mode="devdax", start=start, page_size=page_size,
                      struct_page_size=struct_page_size, compat=compat, ndctl=ndctl)
    if base.refused:
        return _refused("system-ram", map_, align, size, base.refused, base.memmap)
    if memory_block <= 0:
        raise ValueError("memory_block must be positive")
    dax_start = start + base.dataoff
    lo = _align_up(dax_start, memory_block)
    hi = _align_down(dax_start + base.usable, memory_block)
    if hi <= lo:
        return _refused("system-ram", map_, align, size,
                        Refusal("no-memory-block", "kernel",
                                f"no whole {memory_block >> 20} MiB memory block in the device-dax "
                                "range: rejecting DAX region without any memory after alignment",
                                "drivers/dax/kmem.c dev_dax_kmem_probe, dax_kmem_range"),
                        base.memmap)
    onlined = hi - lo
    dram = memmap_bytes(onlined, page_size, struct_page_size)
    return Layout(mode="system-ram", map=map_, align=align, size=size, dataoff=lo - start,
                  end_trunc=start + size - hi, usable=onlined, capacity_lost=size - onlined,
                  memmap=base.memmap, dram_memmap=dram, dram_pte=0, dedup=False,
                  warnings=base.warnings)


@dataclass(frozen=True)
class Modelled:
    """A run-time cost that is not a byte count of the layout, stated with its assumptions."""

    name: str
    value: int
    unit: str
    assumptions: str


def io_costs(mode: str, io_bytes: int = 1 * MiB, page_size: int = PAGE_SIZE,
             struct_page_size: int = STRUCT_PAGE_SIZE) -> tuple[Modelled, ...]:
    """Modelled per-I/O costs of the modes without permanent pages.

    Option 0 (raw, sector): a buffered read of ``io_bytes`` copies it twice (pmem_submit_bio into
    the page cache, then to the user buffer). Option 1b (ondemand): one struct page built and torn
    down per page of the I/O. Option 2 (pfn) and 3 (extent) build none (one extent per I/O).
    """
    _check_nonneg(io_bytes=io_bytes)
    pages = -(-io_bytes // page_size)
    if mode in ("raw", "sector"):
        return (
            Modelled(
                "copy_bytes_per_io",
                2 * io_bytes,
                "bytes",
                f"buffered {io_bytes}-byte read: pmem_submit_bio copies into the page cache, "
                "then copy_to_user (drivers/nvdimm/pmem.c); O_DIRECT copies once",
            ),
        )
    if mode == "ondemand":
        return (
            Modelled(
                "struct_pages_per_io",
                pages,
                "pages",
                f"2015 option 1b (not in Linux): {pages} struct pages "
                f"({pages * struct_page_size} bytes) built and freed per {io_bytes}-byte I/O",
            ),
        )
    if mode == "extent":
        return (Modelled("extents_per_io", 1, "extents",
                         "2015 option 3 (not in Linux): one extent descriptor per contiguous I/O"),)
    if mode == "pfn":
        return (Modelled("struct_pages_per_io", 0, "pages",
                         "2015 option 2 (not in Linux): the I/O carries PFNs, no struct page"),)
    return ()
