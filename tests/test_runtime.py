"""The decision engine, case by case (decision tables) and by properties."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

import pytest
from hypothesis import given, settings, strategies as st

from policy.decide.costs import GiB, MiB
from policy.decide.runtime import decide
from policy.profiles import DeviceProfile, Pin

AMD64 = frozenset(
    """BLK_DEV_PMEM BTT NVDIMM_PFN NVDIMM_DAX FS_DAX FS_DAX_PMD DEV_DAX DEV_DAX_PMEM
DEV_DAX_KMEM DEV_DAX_HMEM LIBNVDIMM ACPI_NFIT ZONE_DEVICE TRANSPARENT_HUGEPAGE
HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP MEMORY_HOTPLUG
VIRTIO_PMEM X86_PMEM_LEGACY CXL_PMEM CXL_REGION INFINIBAND_ON_DEMAND_PAGING""".split()
)
# what PREEMPT_RT turns off: THP, hence DEV_DAX, DEV_DAX_PMEM, FS_DAX_PMD
RT = AMD64 - {
    "TRANSPARENT_HUGEPAGE",
    "DEV_DAX",
    "DEV_DAX_PMEM",
    "DEV_DAX_KMEM",
    "FS_DAX_PMD",
    "DEV_DAX_HMEM",
}
# arm64 Debian: ZONE_DEVICE off, so no NVDIMM_PFN/NVDIMM_DAX/FS_DAX; no PUD THP, no dedup
ARM64 = AMD64 - {"ZONE_DEVICE", "NVDIMM_PFN", "NVDIMM_DAX", "FS_DAX", "FS_DAX_PMD", "DEV_DAX_PMEM",
                 "HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD", "ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP",
                 "X86_PMEM_LEGACY"}
PROPOSED = AMD64 | {"PROPOSED_ONDEMAND_PAGES", "PROPOSED_PFN_IO", "PROPOSED_EXTENT_PAGES"}


@dataclass(frozen=True)
class FakeBuild:
    """A build whose expressions are evaluated over a set of enabled symbols (no Kconfig tree)."""

    name: str
    on: frozenset[str]
    arch: str = "x86_64"
    page_size: int = 4096
    values: Any = field(default=None, compare=False)

    def value(self, sym: str) -> str:
        return "y" if sym in self.on else "n"

    def enabled(self, sym: str) -> bool:
        return sym in self.on

    def eval(self, expr: str) -> str:
        py = expr.replace("&&", " and ").replace("||", " or ").replace("!", " not ")
        py = re.sub(r"\b([A-Z][A-Z0-9_]*)\b", lambda m: repr(m.group(1) in self.on), py)
        py = re.sub(r"\by\b", "True", py)
        return "y" if eval(py) else "n"  # noqa: S307 - test helper over catalog expressions

    def why_expr_off(self, expr: str) -> tuple[Any, ...]:
        return ()


def dev(
    name: str = "d0",
    type: str = "nvdimm",
    size: int = 128 * GiB,
    requires: tuple[str, ...] = (),
    wants: tuple[str, ...] = (),
    dram: Optional[int] = None,
    cap: Optional[int] = None,
    pin: Optional[Pin] = None,
    start_align: Optional[int] = None,
) -> DeviceProfile:
    return DeviceProfile(
        name=name,
        host=None,
        type=type,
        size=size,
        start_align=start_align,  # type: ignore[arg-type]
        numa_node=None,
        requires=tuple(requires),
        wants=tuple(wants),
        budget_dram=dram,
        budget_capacity=cap,
        budget_text=None,
        pin=pin,
        source="<test>",
        line=1,
    )


def chosen(d: Any) -> tuple[Optional[str], Optional[str], Optional[int]]:
    c = d.chosen.candidate if d.chosen else None
    return (c.mode, c.map, c.align) if c else (None, None, None)


B = {
    "amd64": FakeBuild("amd64", AMD64),
    "rt": FakeBuild("rt", RT),
    "arm64": FakeBuild("arm64", ARM64),
    "proposed": FakeBuild("proposed", PROPOSED),
}

# build, device kwargs, expected (mode, map, align), ok
TABLE = [
    ("amd64", {}, ("raw", None, 4096), True),  # nothing asked: the cheapest (no DRAM, nothing lost)
    ("amd64", {"requires": ("sector_atomic",)}, ("sector", None, 4096), True),
    (
        "amd64",
        {"requires": ("dax_mmap",)},
        ("fsdax", "dev", 2 * MiB),
        True,
    ),  # least DRAM, then 2M>4K
    ("amd64", {"requires": ("longterm_pin",)}, ("devdax", "dev", 2 * MiB), True),
    ("amd64", {"requires": ("pud_faults",)}, ("devdax", "dev", GiB), True),
    ("amd64", {"requires": ("o_direct_dax_file", "pmd_faults")}, ("fsdax", "dev", 2 * MiB), True),
    # least DRAM: map=dev 1G onlines less memory, so its DRAM memmap is smaller (capacity is wasted)
    ("amd64", {"requires": ("system_ram",)}, ("system-ram", "dev", GiB), True),
    # a capacity budget pushes the memmap into DRAM; devdax dedup makes it cheap
    # (1G align would lose a whole GiB of capacity: over the budget)
    ("amd64", {"requires": ("longterm_pin",), "cap": 64 * MiB}, ("devdax", "mem", 2 * MiB), True),
    ("amd64", {"requires": ("dax_mmap",), "cap": 64 * MiB}, ("devdax", "mem", 2 * MiB), True),
    (
        "amd64",
        {"requires": ("dax_mmap", "block_io"), "cap": 64 * MiB},
        ("fsdax", "mem", 2 * MiB),
        True,
    ),
    # a budget nothing meets is a finding with the best candidate
    (
        "amd64",
        {"requires": ("dax_mmap",), "cap": 1 * MiB, "dram": 1 * MiB},
        ("fsdax", "dev", 2 * MiB),
        False,
    ),
    # wants break ties before cost
    ("amd64", {"wants": ("block_io", "dax_mmap")}, ("fsdax", "dev", 2 * MiB), True),
    # pins
    ("amd64", {"pin": Pin("devdax", "mem", 2 * MiB)}, ("devdax", "mem", 2 * MiB), True),
    (
        "amd64",
        {"pin": Pin("fsdax"), "requires": ("longterm_pin",)},
        ("fsdax", "dev", 2 * MiB),
        False,
    ),
    ("rt", {"pin": Pin("devdax")}, (None, None, None), False),
    # PREEMPT_RT: no THP, so no devdax and fsdax with 4K only
    ("rt", {"requires": ("dax_mmap",)}, ("fsdax", "dev", 4096), True),
    ("rt", {"requires": ("longterm_pin",)}, ("raw", None, 4096), False),
    # arm64: ZONE_DEVICE off, raw or sector only
    ("arm64", {"requires": ("dax_mmap",)}, ("raw", None, 4096), False),
    ("arm64", {"requires": ("sector_atomic",)}, ("sector", None, 4096), True),
    # device types
    ("amd64", {"type": "virtio-pmem", "requires": ("map_sync",)}, ("sector", None, 4096), False),
    ("amd64", {"type": "virtio-pmem", "requires": ("dax_mmap",)}, ("fsdax", "dev", 2 * MiB), True),
    ("amd64", {"type": "e820", "requires": ("map_sync",)}, ("fsdax", "dev", 2 * MiB), True),
    ("amd64", {"type": "hmem"}, ("devdax", "mem", GiB), True),
    ("amd64", {"type": "hmem", "requires": ("block_io",)}, ("devdax", "mem", GiB), False),
    ("amd64", {"type": "cxl", "requires": ("longterm_pin",)}, ("devdax", "dev", 2 * MiB), True),
    # ndctl refuses every mode of an 8 MiB namespace on a label-backed region (16 MiB region
    # align, kernel oracle raw-8M); e820 has no namespace sizing: raw (PAGEMAP: DAX) remains
    ("amd64", {"size": 8 * MiB, "requires": ("dax_mmap",)}, (None, None, None), False),
    ("amd64", {"type": "e820", "size": 8 * MiB, "requires": ("dax_mmap",)}, ("raw", None, 4096),
     True),
    # proposals only when built
    ("proposed", {"requires": ("pfn_io",)}, ("pfn", None, 4096), True),
    ("amd64", {"requires": ("pfn_io",)}, ("raw", None, 4096), False),
]


@pytest.mark.parametrize(("build", "kwargs", "expected", "ok"), TABLE)
def test_decision_table(build: str, kwargs: dict, expected: tuple, ok: bool) -> None:
    d = decide(dev(**kwargs), B[build])
    assert chosen(d) == expected, d.reason
    assert d.ok is ok
    assert d.reason


def test_every_loser_says_why() -> None:
    d = decide(dev(requires=("longterm_pin",)), B["amd64"])
    assert d.candidates[0] is d.chosen
    for c in d.candidates[1:]:
        assert c.lost, c.candidate
    fsdax = [c for c in d.candidates if c.candidate.mode == "fsdax"]
    assert all("longterm_pin" in c.lost for c in fsdax)


def test_impossible_candidates_name_the_build_requirement() -> None:
    d = decide(dev(), B["arm64"])
    fsdax = next(c for c in d.candidates if c.candidate.mode == "fsdax")
    assert not fsdax.possible and "NVDIMM_PFN" in fsdax.why_impossible
    d = decide(dev(), B["amd64"])
    assert any("align 1G" in c.lost for c in decide(dev(), B["arm64"]).candidates) is False
    hmem = decide(dev(type="hmem"), B["amd64"])
    raw = next(c for c in hmem.candidates if c.candidate.mode == "raw")
    assert "cannot host raw" in raw.why_impossible


def test_findings_name_the_missing_piece() -> None:
    d = decide(dev(requires=("longterm_pin",)), B["rt"])
    (f,) = d.findings
    assert f.code == "unmet-requirement" and f.feature == "longterm_pin"
    assert "devdax" in f.message and "DEV_DAX_PMEM" in f.message
    d = decide(dev(type="virtio-pmem", requires=("map_sync",)), B["amd64"])
    assert "ND_REGION_ASYNC" in d.findings[0].message
    d = decide(dev(pin=Pin("devdax")), B["rt"])
    assert d.findings[0].code == "impossible-pin"


def test_over_budget_finding() -> None:
    d = decide(dev(requires=("dax_mmap",), cap=1 * MiB, dram=1 * MiB), B["amd64"])
    assert [f.code for f in d.findings] == ["over-budget"]


def test_dedup_only_on_x86_build() -> None:
    d = decide(dev(pin=Pin("devdax", "mem", 2 * MiB)), B["amd64"])
    assert (
        d.chosen.layout.dedup
        and d.chosen.layout.dram_memmap == 128 * GiB // 256 + 128 * GiB // 32768
    )
    arm = FakeBuild("x", AMD64 - {"ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP"})
    d = decide(dev(pin=Pin("devdax", "mem", 2 * MiB)), arm)
    assert not d.chosen.layout.dedup and d.chosen.layout.dram_memmap == 2 * GiB


def test_pagemap_raw_spends_dram_and_gives_dax() -> None:
    d = decide(dev(type="e820", pin=Pin("raw")), B["amd64"])
    assert d.chosen.layout.dram_memmap == 2 * GiB
    assert d.chosen.feature("dax_mmap").enabled and d.chosen.feature("map_sync").enabled
    d = decide(dev(type="virtio-pmem", pin=Pin("raw")), B["amd64"])
    assert d.chosen.feature("dax_mmap").enabled and not d.chosen.feature("map_sync").enabled


FEATS = [
    "dax_mmap",
    "map_sync",
    "pmd_faults",
    "pud_faults",
    "longterm_pin",
    "block_io",
    "sector_atomic",
    "system_ram",
    "o_direct_dax_file",
]


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(min_value=8, max_value=4096).map(lambda n: n * 2 * MiB),
    req=st.lists(st.sampled_from(FEATS), max_size=2, unique=True),
    want=st.lists(st.sampled_from(FEATS), max_size=2, unique=True),
    build=st.sampled_from(sorted(B)),
    type_=st.sampled_from(["nvdimm", "virtio-pmem", "hmem", "cxl"]),
)
def test_decisions_deterministic_and_costs_nonnegative(size: int, req: list, want: list, build: str,
                                                      type_: str) -> None:
    device = dev(type=type_, size=size, requires=tuple(req), wants=tuple(want))
    a, b = decide(device, B[build]), decide(device, B[build])
    assert a == b
    for c in a.candidates:
        if c.layout is not None:
            lay = c.layout
            assert min(lay.usable, lay.capacity_lost, lay.dram_memmap, lay.memmap) >= 0
            assert lay.usable + lay.capacity_lost == size


# --- fixes found by the kernel oracle (docs/kernel-oracle.md) --------------------------------


@pytest.mark.parametrize("type_", ["nvdimm", "cxl"])
def test_region_align_refuses_every_mode_on_label_backed_regions(type_: str) -> None:
    # ndctl/namespace.c validate_namespace_options + drivers/nvdimm/region_devs.c default_align
    d = decide(dev(type=type_, size=24 * MiB), B["proposed"])
    assert d.chosen is None and [f.code for f in d.findings] == ["no-candidate"]
    for c in d.candidates:
        assert not c.possible
        if c.candidate.mode in ("raw", "sector", "ondemand", "pfn", "extent"):
            assert "ndctl refuses" in c.why_impossible and "0x1000000" in c.why_impossible
    assert decide(dev(type=type_, size=32 * MiB), B["amd64"]).chosen is not None


@pytest.mark.parametrize("type_", ["e820", "virtio-pmem", "hmem"])
def test_whole_region_types_have_no_region_align(type_: str) -> None:
    d = decide(dev(type=type_, size=24 * MiB), B["amd64"])
    assert d.chosen is not None
    assert not any("region align" in c.why_impossible for c in d.candidates)


def test_system_ram_reports_the_onlined_blocks() -> None:
    # drivers/dax/kmem.c dax_kmem_range: whole 128 MiB memory blocks only; oracle: 1 GiB 2M
    # map=mem/dev onlines 896 MiB and spends 14 MiB of DRAM
    for map_ in ("mem", "dev"):
        d = decide(dev(size=GiB, start_align=GiB, pin=Pin("system-ram", map_, 2 * MiB)),
                   B["amd64"])
        lay = d.chosen.layout
        assert lay.usable == 896 * MiB and lay.capacity_lost == 128 * MiB
        assert lay.dram_memmap == 14 * MiB


def _verdicts(mode: str) -> dict[int, tuple[bool, bool]]:
    d = decide(dev(size=4 * GiB), B["amd64"])
    return {
        c.candidate.align: (c.feature("pmd_faults").enabled, c.feature("pud_faults").enabled)
        for c in d.candidates
        if c.candidate.mode == mode and c.candidate.map == "mem" and c.possible
    }


def test_fault_sizes_per_mode_and_align() -> None:
    # devdax faults at exactly its align (drivers/dax/device.c); fsdax PMDs whatever the align
    # (fs/dax.c + nd_pfn_init's 2 MiB data alignment); system-ram is ordinary RAM
    assert _verdicts("devdax") == {4096: (False, False), 2 * MiB: (True, False),
                                   GiB: (False, True)}
    assert _verdicts("fsdax") == {4096: (True, False), 2 * MiB: (True, False),
                                  GiB: (True, False)}
    assert _verdicts("system-ram") == {4096: (False, False), 2 * MiB: (False, False),
                                       GiB: (False, False)}


def test_fsdax_pmd_faults_still_need_fs_dax_pmd() -> None:
    d = decide(dev(requires=("pmd_faults",), pin=Pin("fsdax", "dev", 4096)), B["rt"])
    assert not d.ok and any(f.feature == "pmd_faults" for f in d.findings)


def test_requiring_pmd_and_pud_faults_cannot_be_met_by_one_devdax() -> None:
    d = decide(dev(requires=("pmd_faults", "pud_faults")), B["amd64"])
    assert not d.ok


def test_candidates_copied_with_changes_are_dataclasses_replace() -> None:
    """A decision's losers and system-ram's memmap_on_memory candidates are copies of a
    candidate with a field or two changed: equal to ``dataclasses.replace``, the original kept."""
    import dataclasses

    from policy.decide import runtime

    results = runtime.candidates_for(dev(), B["amd64"])
    assert any(r.possible for r in results)
    for r in results:
        before = dataclasses.replace(r)
        got = runtime._replaced(r, lost="x", over_budget=("y",))
        assert got == dataclasses.replace(r, lost="x", over_budget=("y",)) != r
        assert r == before and r.lost != "x"
        assert runtime._with_lost(r, "z") == dataclasses.replace(r, lost="z")
