"""dax/kmem hot-add (system-ram): the memmap of hot-added memory on the memory itself
(memmap_on_memory), and the zone the memory lands in.

Pure functions of integers and names, like :mod:`policy.decide.costs`; what holds in which kernel
is data (``hotplug`` in ``policy/data/features.yaml``, the build's kernel record).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from policy.decide import costs
from policy.units import format_size


def pmd_size(page_size: int) -> int:
    """PMD_SIZE: one page-table page of 8-byte entries, each mapping a page (2 MiB with 4 KiB
    pages, 32 MiB with 16 KiB pages)."""
    return page_size * (page_size // 8)


def pageblock_size(page_size: int) -> int:
    """pageblock_nr_pages << PAGE_SHIFT: pageblock_order is the PMD order on x86_64 and arm64
    4K/16K (include/linux/pageblock-flags.h: HUGETLB_PAGE_ORDER, capped by MAX_PAGE_ORDER, which
    is 10 or more there), so a pageblock is a PMD."""
    return pmd_size(page_size)


@dataclass(frozen=True)
class BlockMemmap:
    """What memmap_on_memory takes from each hot-added memory block.

    ``per_block``: bytes at the start of every block that hold its memmap (the altmap), 0 when
    unsupported; ``wasted``: the part of ``per_block`` beyond the memmap ("force" rounds up to
    whole pageblocks); ``refused``: why mhp_supports_memmap_on_memory() is false ("" if true).
    """

    per_block: int
    wasted: int
    refused: str


def block_memmap(block: int, page_size: int = costs.PAGE_SIZE,
                 struct_page_size: int = costs.STRUCT_PAGE_SIZE,
                 force: bool = False) -> BlockMemmap:
    """mm/memory_hotplug.c mhp_supports_memmap_on_memory() and
    memory_block_memmap_on_memory_pages() (6.12, :1360-1407) for one memory block.

    The memmap of a block is ``block / page * 64`` bytes (memory_block_memmap_size: 2 MiB for
    128 MiB with 4 KiB pages). It must be page aligned, fill whole pageblocks (with "force" it is
    rounded up to them, the rest wasted), not be the whole block, and (the generic
    arch_supports_memmap_on_memory, x86_64 and arm64) be PMD aligned so the vmemmap maps with
    PMDs. 16 KiB pages: a 128 MiB block's memmap is 512 KiB, not a 32 MiB PMD: unsupported.
    """
    vmemmap = (block // page_size) * struct_page_size
    pages = -(-vmemmap // page_size)
    block_pages = block // page_size
    pb = pageblock_size(page_size) // page_size
    if force:
        pages = -(-pages // pb) * pb
    why = ""
    if vmemmap % page_size:
        why = f"the {format_size(vmemmap)} memmap of a memory block is not page aligned"
    elif pages % pb:
        why = (f"the {format_size(vmemmap)} memmap of a {format_size(block)} memory block does "
               f"not fill whole {format_size(pb * page_size)} pageblocks")
    elif pages >= block_pages:
        why = f"the memmap would take the whole {format_size(block)} memory block"
    elif vmemmap % pmd_size(page_size):
        why = (f"the {format_size(vmemmap)} memmap of a {format_size(block)} memory block is not "
               f"a multiple of the {format_size(pmd_size(page_size))} PMD "
               "(arch_supports_memmap_on_memory)")
    if why:
        return BlockMemmap(0, 0, why)
    return BlockMemmap(pages * page_size, pages * page_size - vmemmap, "")


def on_memory_layout(base: costs.Layout, block: int, per_block: int) -> costs.Layout:
    """A system-ram layout (:func:`costs.system_ram_layout`, or the whole dax region) with the
    memmap on the hot-added memory: dax/kmem adds ``base.usable`` bytes in whole ``block``s, each
    giving its first ``per_block`` bytes to its own memmap (one altmap per block,
    mm/memory_hotplug.c:1443-1491). System RAM (MemTotal) grows by the rest; DRAM memmap 0
    (the vmemmap is mapped with PMDs from the block itself)."""
    blocks = base.usable // block
    on_device = blocks * per_block
    usable = base.usable - on_device
    return dataclasses.replace(
        base, usable=usable, capacity_lost=base.size - usable, dram_memmap=0, dram_pte=0,
        dedup=False, memmap_on_device=on_device,
    )


@dataclass(frozen=True)
class Onlining:
    """Who onlines system-ram memory and into which zone (with what the zone means)."""

    online_type: str  # offline | online | online_kernel | online_movable
    zone: str  # ZONE_NORMAL | ZONE_MOVABLE
    by: str  # kernel | daxctl
    reason: str
    source: str

    def render(self) -> str:
        who = "the kernel onlines it" if self.by == "kernel" else "daxctl onlines it"
        return f"{who} into {self.zone} ({self.reason}; {self.source})"


def fallback_note(why: str, source: str) -> str:
    """The warning when memmap_on_memory was asked for and the kernel silently uses DRAM."""
    return (f"memmap_on_memory requested, but {why}: dax/kmem silently falls back to a DRAM "
            f"memmap ({source})")


def describe(per_block: Optional[int], block: int) -> str:
    """``2 MiB of every 128 MiB memory block``: the on-device memmap, for reasons."""
    if not per_block:
        return "memmap in DRAM"
    return (f"memmap on the device: {format_size(per_block)} of every {format_size(block)} "
            "memory block")
