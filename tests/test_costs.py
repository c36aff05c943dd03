"""The kernel's arithmetic: numbers from the reference and real ndctl, and properties."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from policy.decide import costs
from policy.decide.costs import GiB, KiB, MiB, TiB

ALIGNS = (4096, 2 * MiB, 1 * GiB)


# --- memmap ---------------------------------------------------------------------------------

def test_400g_memmap_is_6_25_gib_and_ratio_is_1_5625_percent() -> None:
    # the 2015 thread's "6G of page structs for 400G"; its "1.2%" is really 1.5625 %
    assert costs.memmap_bytes(400 * GiB) == 6 * GiB + 256 * MiB
    assert costs.memmap_ratio() == 0.015625


def test_8g_memmap_is_128_mib() -> None:
    assert costs.memmap_bytes(8 * GiB) == 128 * MiB


def test_memmap_follows_page_and_struct_page_size() -> None:
    assert costs.memmap_bytes(1 * GiB, page_size=65536) == 1 * MiB
    assert costs.memmap_bytes(1 * GiB, struct_page_size=80) == 20 * MiB


# --- nd_pfn_init layout, checked against real ndctl -----------------------------------------

@pytest.mark.parametrize(
    ("size", "usable"),
    [(128 * MiB, 124 * MiB), (256 * MiB, 250 * MiB)],
)
def test_fsdax_map_dev_2m_usable_matches_ndctl(size: int, usable: int) -> None:
    layout = costs.pfn_layout(size, "dev", 2 * MiB)
    assert layout.usable == usable
    assert layout.capacity_lost == size - usable
    assert layout.dram_memmap == 0


def test_devdax_2g_map_mem_gives_2046_mib() -> None:
    layout = costs.pfn_layout(2 * GiB, "mem", 2 * MiB, mode="devdax")
    assert layout.usable == 2046 * MiB
    assert layout.dram_memmap == 32 * MiB  # whole namespace D/64, no dedup without the arch option


def test_1t_map_dev_loses_16_gib() -> None:
    layout = costs.pfn_layout(1 * TiB, "dev", 2 * MiB)
    # the memmap reservation is D/64 = 16 GiB; the 8 KiB info block pushes dataoff to the next
    # 2 MiB boundary, so the exact loss is 16 GiB + 2 MiB ("16GB per 1TB", ndctl man page)
    assert layout.memmap == 16 * GiB
    assert layout.capacity_lost == 16 * GiB + 2 * MiB
    assert round(layout.capacity_lost / GiB) == 16


def test_80g_map_dev_is_78_75_gib_rounded() -> None:
    layout = costs.pfn_layout(80 * GiB, "dev")
    assert layout.usable == 80 * GiB - (1 * GiB + 256 * MiB) - 2 * MiB
    assert f"{layout.usable / GiB:.2f}" == "78.75"


def test_400g_worked_numbers() -> None:
    assert costs.pfn_layout(400 * GiB, "dev", 1 * GiB).usable == 393 * GiB
    assert costs.pfn_layout(400 * GiB, "dev", 1 * GiB).dataoff == 7 * GiB
    dd = costs.pfn_layout(400 * GiB, "mem", 2 * MiB, mode="devdax", arch_optimize_vmemmap=True)
    assert dd.dedup
    assert dd.dram_memmap - dd.dram_pte == 1 * GiB + 576 * MiB  # 1.5625 GiB
    assert dd.dram_pte == 12 * MiB + 512 * KiB  # 12.5 MiB
    g1 = costs.pfn_layout(400 * GiB, "mem", 1 * GiB, mode="devdax", arch_optimize_vmemmap=True)
    assert g1.dram_memmap - g1.dram_pte == 3 * MiB + 128 * KiB
    assert g1.capacity_lost == 1 * GiB


def test_1t_dedup_numbers() -> None:
    dd = costs.pfn_layout(1 * TiB, "mem", 2 * MiB, mode="devdax", arch_optimize_vmemmap=True)
    assert (dd.dram_memmap - dd.dram_pte, dd.dram_pte) == (4 * GiB, 32 * MiB)
    g1 = costs.pfn_layout(1 * TiB, "mem", 1 * GiB, mode="devdax", arch_optimize_vmemmap=True)
    assert g1.dram_memmap - g1.dram_pte == 8 * MiB


def test_map_mem_dram_follows_whole_namespace() -> None:
    layout = costs.pfn_layout(16 * GiB, "mem", 1 * GiB)
    assert layout.usable == 15 * GiB
    assert layout.dram_memmap == 256 * MiB


def test_aligns_4k_and_2m_give_identical_sizes() -> None:
    for size in (128 * MiB, 2 * GiB, 80 * GiB):
        for map_ in ("mem", "dev"):
            assert (
                costs.pfn_layout(size, map_, 4096).usable
                == costs.pfn_layout(size, map_, 2 * MiB).usable
            )


@pytest.mark.parametrize(
    ("mode", "map_", "align", "dedup"),
    [
        ("devdax", "mem", 2 * MiB, True),
        ("devdax", "mem", 1 * GiB, True),
        ("devdax", "mem", 4096, False),  # one compound page = 1 vmemmap page, not > 2
        ("devdax", "dev", 2 * MiB, False),  # never with an altmap
        ("fsdax", "mem", 2 * MiB, False),  # fsdax pages are not compound in 6.1
    ],
)
def test_dedup_only_where_the_kernel_does_it(mode: str, map_: str, align: int, dedup: bool) -> None:
    assert costs.can_dedup(mode, map_, align, True) is dedup
    assert costs.can_dedup(mode, map_, align, False) is False


def test_map_dev_dram_is_zero_on_section_boundary_and_about_2m_otherwise() -> None:
    assert costs.pfn_layout(2 * GiB, "dev", start=128 * MiB).dram_memmap == 0
    assert costs.pfn_layout(2 * GiB, "dev", start=2 * MiB).dram_memmap == 2 * MiB


# --- refusals ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("kwargs", "code", "by"),
    [
        ({"size": 130 * MiB, "align": 4 * MiB}, "size-not-multiple-of-align", "ndctl"),
        ({"size": 8 * MiB}, "too-small", "ndctl"),
        ({"size": 1 * GiB, "align": 1 * GiB, "map_": "mem"}, "unsatisfiable-align", "kernel"),
        ({"size": 1 * GiB, "align": 1 * GiB}, "unsatisfiable-align", "kernel"),
        ({"size": 1 * GiB, "start": 1 * MiB}, "misaligned-start", "kernel"),
        ({"size": 1 * GiB, "struct_page_size": 80}, "struct-page-too-large", "kernel"),
    ],
)
def test_refusals(kwargs: dict, code: str, by: str) -> None:
    args = {"map_": "dev", "align": 2 * MiB} | kwargs
    layout = costs.pfn_layout(**args)
    assert layout.refused is not None
    assert (layout.refused.code, layout.refused.by) == (code, by)
    assert layout.usable == 0 and layout.capacity_lost == layout.size


def test_ppc_hash_compat_align_refuses_2m_start() -> None:
    compat = costs.compat_align("ppc64", ppc_hash_mmu=True)
    assert compat == 16 * MiB
    assert costs.pfn_layout(1 * GiB, "dev", start=2 * MiB, compat=compat).refused is not None


def test_zero_size_device_is_flagged() -> None:
    # data start below the size but the end cut leaves nothing: 6.1 binds a zero-size device
    layout = costs.pfn_layout(GiB + 2 * MiB, "mem", 1 * GiB, start=0, ndctl=False)
    assert layout.refused is None
    assert layout.usable == 0
    assert layout.warnings and "zero-size" in layout.warnings[0]


def test_page_struct_override_allows_larger_struct_page() -> None:
    layout = costs.pfn_layout(1 * GiB, "dev", struct_page_size=128, page_struct_override=True)
    assert layout.refused is None and layout.dataoff == 34 * MiB


# --- BTT --------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("size", "usable"),
    [(2 * GiB, 2144305152), (80 * GiB, 85814456320), (32 * MiB, 32440320)],
)
def test_btt_usable_exact(size: int, usable: int) -> None:
    assert costs.btt_usable(size, 4096) == usable
    assert costs.btt_layout(size).usable == usable


def test_btt_multi_arena_and_too_small() -> None:
    assert costs.btt_usable(1 * TiB + 4096) == 2 * costs.btt_usable(512 * GiB + 4096)
    assert costs.btt_layout(16 * MiB).refused is not None
    with pytest.raises(ValueError):
        costs.btt_usable(1 * GiB, 1000)


def test_raw_and_pagemap() -> None:
    assert costs.raw_layout(8 * GiB).capacity_lost == 0
    assert costs.raw_layout(8 * GiB).dram_memmap == 0
    assert costs.raw_layout(8 * GiB, pagemap=True).dram_memmap == 128 * MiB


def test_system_ram_onlines_whole_memory_blocks_only() -> None:
    # drivers/dax/kmem.c dax_kmem_range: the device-dax range [start+dataoff, +usable) is aligned
    # start UP, end DOWN to memory_block_size_bytes() (128 MiB); kernel oracle: a 1 GiB map=mem
    # or map=dev 2M namespace (devdax 1022 / 1006 MiB) onlines 896 MiB and spends 14 MiB of DRAM
    # (the old model said 1022 MiB / 64 = 15.97 MiB)
    for map_ in ("mem", "dev"):
        lay = costs.system_ram_layout(1 * GiB, map_, start=4 * GiB)
        assert lay.usable == 896 * MiB and lay.capacity_lost == 128 * MiB
        assert lay.dram_memmap == 14 * MiB
        assert lay.dataoff + lay.usable + lay.end_trunc == lay.size
    # 2 GiB map=mem 2M: devdax 2046 MiB from +2 MiB -> blocks [128 MiB, 2 GiB) = 1920 MiB
    mem = costs.system_ram_layout(2 * GiB, "mem")
    assert mem.usable == 1920 * MiB and mem.dram_memmap == costs.memmap_bytes(1920 * MiB)
    # measured: 2 GiB map=mem 1G: devdax [1 GiB, 2 GiB) is block aligned, all of it onlined
    assert costs.system_ram_layout(2 * GiB, "mem", GiB, start=4 * GiB).usable == 1 * GiB
    dev = costs.system_ram_layout(2 * GiB, "dev")
    assert dev.capacity_lost >= mem.capacity_lost
    assert dev.dram_memmap == costs.memmap_bytes(dev.usable)


def test_system_ram_memory_block_is_a_parameter() -> None:
    # x86_64 uses up to 2 GiB blocks on machines with >= 64 GiB of RAM (probe_memory_block_size)
    assert costs.MEMORY_BLOCK_SIZE == 128 * MiB
    big = costs.system_ram_layout(8 * GiB, "mem", memory_block=2 * GiB)
    assert big.usable == 6 * GiB and big.dram_memmap == costs.memmap_bytes(6 * GiB)
    # nothing left after alignment: dev_dax_kmem_probe rejects the device (-EINVAL)
    tiny = costs.system_ram_layout(128 * MiB, "mem")
    assert tiny.refused is not None and tiny.refused.by == "kernel"
    assert tiny.refused.code == "no-memory-block" and "drivers/dax/kmem.c" in tiny.refused.source


def test_region_default_align() -> None:
    # drivers/nvdimm/region_devs.c default_align: MEMREMAP_COMPAT_ALIGN_MAX, PAGE_SIZE below it,
    # times the interleave ways when 16 MiB is not divisible by them
    assert costs.region_default_align(1 * GiB) == 16 * MiB
    assert costs.region_default_align(8 * MiB) == 4096
    assert costs.region_default_align(1 * GiB, mappings=4) == 16 * MiB
    assert costs.region_default_align(1 * GiB, mappings=3) == 48 * MiB


def test_region_align_refusal_is_ndctls() -> None:
    # kernel oracle, raw 8 MiB: "align setting is 0x1000000 size 0x800000 is misaligned"
    r = costs.region_align_refusal(8 * MiB, 16 * MiB)
    assert r is not None and r.by == "ndctl" and r.code == "size-not-multiple-of-region-align"
    assert "0x1000000" in r.message and "0x800000" in r.message
    assert "validate_namespace_options" in r.source and "default_align" in r.source
    assert costs.region_align_refusal(48 * MiB, 16 * MiB) is None
    lay = costs.refused_layout("raw", None, 4096, 8 * MiB, r)
    assert lay.usable == 0 and lay.capacity_lost == 8 * MiB and lay.refused is r


def test_io_costs() -> None:
    (copy,) = costs.io_costs("raw", 1 * MiB)
    assert copy.value == 2 * MiB
    (pages,) = costs.io_costs("ondemand", 1 * MiB)
    assert pages.value == 256 and "not in Linux" in pages.assumptions
    assert costs.io_costs("fsdax") == ()


def test_negative_inputs_rejected() -> None:
    with pytest.raises(ValueError):
        costs.memmap_bytes(-1)
    with pytest.raises(ValueError):
        costs.pfn_layout(-4096, "dev")


# --- properties -------------------------------------------------------------------------------

sizes = st.integers(min_value=0, max_value=4 * TiB // (2 * MiB)).map(lambda n: n * 2 * MiB)


@settings(max_examples=300)
@given(size=sizes, align=st.sampled_from(ALIGNS), map_=st.sampled_from(["mem", "dev"]),
       mode=st.sampled_from(["fsdax", "devdax"]), dedup=st.booleans(),
       start=st.integers(min_value=0, max_value=512).map(lambda n: n * 2 * MiB))
def test_layout_never_negative_and_adds_up(size: int, align: int, map_: str, mode: str,
                                           dedup: bool, start: int) -> None:
    layout = costs.pfn_layout(size, map_, align, mode=mode, start=start,  # type: ignore[arg-type]
                              arch_optimize_vmemmap=dedup)
    for value in (layout.dataoff, layout.end_trunc, layout.usable, layout.capacity_lost,
                  layout.memmap, layout.dram_memmap, layout.dram_pte):
        assert value >= 0
    assert layout.usable + layout.capacity_lost == size
    assert layout.usable <= size


@settings(max_examples=300)
@given(a=sizes, b=sizes, align=st.sampled_from(ALIGNS), map_=st.sampled_from(["mem", "dev"]))
def test_layout_monotone_in_size(a: int, b: int, align: int, map_: str) -> None:
    small, big = sorted((a, b))
    ls = costs.pfn_layout(small, map_, align, ndctl=False)  # type: ignore[arg-type]
    lb = costs.pfn_layout(big, map_, align, ndctl=False)  # type: ignore[arg-type]
    assert ls.usable <= lb.usable
    assert ls.memmap <= lb.memmap
    if map_ == "mem":
        assert ls.dram_memmap <= lb.dram_memmap


@settings(max_examples=200)
@given(a=st.integers(min_value=0, max_value=2 * TiB), b=st.integers(min_value=0, max_value=2 * TiB))
def test_memmap_and_btt_monotone(a: int, b: int) -> None:
    small, big = sorted((a, b))
    assert 0 <= costs.memmap_bytes(small) <= costs.memmap_bytes(big)
    assert 0 <= costs.btt_usable(small) <= costs.btt_usable(big) <= big
