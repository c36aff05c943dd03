"""The kernel oracle on the newer region kinds and kernels: e820 and virtio-pmem regions, Linux
6.12's dax/kmem (memmap_on_memory, zones), the probe file's extent alignment, and the arm64 smoke
boot (committed results in tests/data/kernel-oracle/)."""

from __future__ import annotations

import pytest
from test_oracle import FULL_RUNS, GiB, MiB, _load, _policy, compare, model_mod


@pytest.fixture(scope="module")
def full() -> dict:
    return _load("results-full.json")


@pytest.fixture(scope="module")
def full612() -> dict:
    return _load("results-full-6.12.json")


def _probe(doc: dict, case_id: str) -> dict:
    case = next(c for c in doc["cases"] if c["id"] == case_id)
    assert case["rc"] == 0, case.get("stderr")
    return case["probe"]


@pytest.mark.parametrize("fixture", FULL_RUNS)
def test_raw_namespaces_of_pagemap_regions_fault_pmds(fixture, request):
    """pmem_should_map_pages gives an e820/virtio-pmem raw namespace its pages as a pfn device
    would: a DAX mount works and 2 MiB-aligned extents fault at PMD level (an NFIT raw: no DAX)."""
    doc = request.getfixturevalue(fixture)
    for kind in ("e820", "virtio"):
        p = _probe(doc, f"{kind}-raw-2G")
        assert p["dax_attr"] == "yes" and p["fault_size"] == "pmd", (kind, p)
    assert _probe(doc, "raw-256M")["dax_attr"] == "no"


@pytest.mark.parametrize("fixture", FULL_RUNS)
def test_map_sync_on_virtio_pmem(fixture, request):
    """The async region: fsdax refuses MAP_SYNC, device-dax accepts the flag (it never checks
    synchrony) without the promise, which is what the map_sync feature means."""
    doc = request.getfixturevalue(fixture)
    assert _probe(doc, "virtio-fsdax-2G-mem-a2M")["map_sync"] == "err:EOPNOTSUPP"
    assert _probe(doc, "virtio-devdax-2G-mem-a2M")["map_sync"] == "ok"
    assert _probe(doc, "e820-devdax-2G-mem-a2M")["map_sync"] == "ok"
    case = next(c for c in doc["cases"] if c["id"] == "virtio-devdax-2G-mem-a2M")
    assert compare.measured_features(case)["map_sync"] is False
    assert compare.observations(case)["map_sync_accepted"] is True


def test_arm64_smoke_boot_offers_the_aligns_the_model_offers():
    """Debian's arm64 6.12 under qemu-system-aarch64 (virt, UEFI): the NFIT region appears and its
    pfn/dax seeds offer 4K and 2M only (no PUD-sized align), as the model says for that build."""
    doc = _load("arm64-smoke-6.12.json")
    recs = doc["records"]
    assert any(r.startswith("DONE") for r in recs) and doc["qemu_rc"] == 0
    offered = {
        r.split()[1].split("/")[-2]: sorted(int(x) for x in r.split()[2:])
        for r in recs
        if r.startswith("SYSFS") and r.split()[1].endswith("/supported_alignments")
    }
    assert set(offered) == {"pfn0.0", "dax0.0"}
    from policy import kconfig
    from policy.decide import runtime

    build = kconfig.load_build(kconfig.find_defconfig("debian_arm64@6.12"))
    results = runtime.candidates_for(model_mod._nfit_device("caps", 16 * GiB, None), build)
    for mode, seed in (("fsdax", "pfn0.0"), ("devdax", "dax0.0")):
        model = sorted(
            {r.candidate.align for r in results if r.candidate.mode == mode and r.possible}
        )
        assert offered[seed] == model == [4096, 2 * MiB]


def _observed(doc: dict) -> tuple[dict, dict]:
    rep = compare.compare(doc, _policy(doc))
    return {r["id"]: r.get("observed", {}) for r in rep["rows"]}, rep


def test_memmap_on_memory_measured_on_6_12(full612):
    """Debian 6.12, dax/kmem: asked for (dax attribute) under memory_hotplug.memmap_on_memory=1,
    the memmap lands on the hot-added memory (1/64 of it, DRAM unchanged within the noise);
    asked for without the boot switch, the attribute refuses (EOPNOTSUPP) and the memmap stays in
    DRAM; blocks land in ZONE_NORMAL (the kernel onlines them itself)."""
    obs, rep = _observed(full612)
    on = obs["system-ram-1G-mem-a2M-daxctl-mom-mhp"]
    assert on["memmap_on_memory_attr"] == "1" and on["memmap_on_memory_param"] == "Y"
    assert on["memmap_on_device"] == on["onlined_bytes"] // 64 == 14 * MiB
    assert abs(on["dram"]) <= compare.DRAM_TOL_PAGES * 4096
    assert obs["system-ram-2G-dev-a2M-daxctl-mom-mhp"]["memmap_on_device"] == 30 * MiB
    refused = obs["system-ram-1G-mem-a2M-daxctl-mom"]
    assert "Operation not supported" in refused["memmap_on_memory_set"]
    assert refused["memmap_on_device"] == 0 and refused["dram"] >= 14 * MiB
    switch_only = obs["system-ram-1G-mem-a2M-daxctl-mhp"]  # the boot switch, no request
    assert switch_only["memmap_on_memory_attr"] == "0" and switch_only["memmap_on_device"] == 0
    assert {z for o in obs.values() for z in o.get("zones", [])} == {"Normal"}
    daxctl = [o for o in obs.values() if o.get("kmem_via") == "daxctl"]
    assert daxctl and all(o["auto_online_blocks"] == "online" for o in daxctl)
    assert sorted(rep["not_compared"]["memmap_on_memory"]) == [
        "system-ram-1G-mem-a2M-daxctl-mom-mhp",
        "system-ram-2G-dev-a2M-daxctl-mom-mhp",
    ]


def test_memmap_on_memory_has_no_effect_on_6_1(full):
    """6.1's dax/kmem never asks for it (no dax attribute): the memmap stays in DRAM, daxctl
    onlines the blocks into ZONE_MOVABLE, and every case is compared."""
    obs, rep = _observed(full)
    on = obs["system-ram-1G-mem-a2M-daxctl-mom-mhp"]
    assert on["memmap_on_memory_attr"] == "absent" and on["memmap_on_memory_param"] == "Y"
    assert on["memmap_on_device"] == 0 and on["dram"] >= 14 * MiB
    assert {z for o in obs.values() for z in o.get("zones", [])} == {"Movable"}
    assert rep["not_compared"] == {}


def test_pte_faults_on_a_misaligned_extent_leave_pmd_faults_unprobed(full612):
    """6.12's ext4 left the probe file's extent off a 2 MiB boundary on 2 GiB file systems: the
    guest re-allocates until FIEMAP shows it aligned, and a PTE fault on a misaligned extent is
    never read as "no PMD faults"."""
    tries = [
        e.split()[1:]
        for c in full612["cases"]
        for e in c["events"]
        if e.startswith("EXTENT_TRIES")
    ]
    assert tries and all(t[1] == "0" for t in tries) and any(t[0] != "0" for t in tries)
    case = next(c for c in full612["cases"] if c["id"] == "fsdax-2G-mem-a2M")
    assert case["probe"]["extent_mod_2m"] == 0 and case["probe"]["fault_size"] == "pmd"
    skewed = {**case, "probe": {**case["probe"], "fault_size": "pte", "extent_mod_2m": 1208320}}
    assert "pmd_faults" not in compare.measured_features(skewed)
    assert compare.measured_features(case)["pmd_faults"] is True
