"""system-ram on Linux 6.1 and 6.12, from Debian's real configs: where dax/kmem puts the memmap of
hot-added memory (memmap_on_memory), its silent fallback to DRAM, the zone the memory lands in,
CXL RAM regions as their own device kind, the version-selected rules of the catalog (the
page-cache long-term pin) and the PMD size with 16 KiB pages.

Builds are Debian's own configs (tests/data/debian-6.1, tests/data/debian-6.12, see the
PROVENANCE files there) and the shipped defconfigs made from them.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Optional

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from policy.cli import cli
from policy.decide import hotplug
from policy.decide.catalog import catalog, feature_verdict, scaled_align
from policy.decide.memo import decide_memo
from policy.decide.records import Candidate
from policy.decide.runtime import decide
from policy.kconfig import versions
from policy.kconfig.sources import load_builds
from policy.profiles import load_profile_text
from policy.profiles.records import Boot, Pin
from policy.units import parse_size

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
MiB, GiB = 1 << 20, 1 << 30
BLOCK = 128 * MiB


def _real(kernel: str, flavour: str) -> Any:
    return load_builds([str(DATA / f"debian-{kernel}" / f"config.{flavour}.xz")])[0]


@pytest.fixture(scope="module")
def amd61() -> Any:
    return _real("6.1", "amd64_none_amd64")


@pytest.fixture(scope="module")
def amd612() -> Any:
    return _real("6.12", "amd64_none_amd64")


@pytest.fixture(scope="module")
def arm16k() -> Any:
    return _real("6.12", "arm64_none_arm64-16k")


OFF = Boot()


def dev(type_: str = "nvdimm", size: int = 256 * GiB, *, pin: Optional[Pin] = None,
        boot: Boot = OFF, requires: tuple[str, ...] = ("system_ram",),
        budget_capacity: Optional[int] = None) -> SimpleNamespace:
    return SimpleNamespace(name="d", type=type_, size=size, start_align=16 * MiB, requires=requires,
                           wants=(), budget_dram=None, budget_capacity=budget_capacity, pin=pin,
                           boot=boot)


ON = Boot(memmap_on_memory="on")
PIN_DEVICE = Pin(mode="system-ram", map="mem", align=2 * MiB, memmap="device")


def test_real_configs_are_the_kernels_they_claim(amd61: Any, amd612: Any, arm16k: Any) -> None:
    assert (amd61.kernel, amd612.kernel, arm16k.kernel) == ("6.1", "6.12", "6.12")
    assert arm16k.page_size == 16384
    assert amd612.value("MHP_MEMMAP_ON_MEMORY") == "y"
    assert amd612.value("MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO") == "y"
    assert amd612.value("DEV_DAX_CXL") == "m"


# ---------------------------------------------------------------- the kernel's arithmetic


@pytest.mark.parametrize(("block", "page", "force", "per_block", "refused"), [
    (128 * MiB, 4096, False, 2 * MiB, ""),  # x86_64/arm64 4K: 1/64 of the block, one PMD
    (2 * GiB, 4096, False, 32 * MiB, ""),  # x86_64 with >= 64 GiB of RAM
    (128 * MiB, 16384, False, 0, "pageblocks"),  # 512 KiB memmap, 32 MiB pageblock
    (128 * MiB, 16384, True, 0, "PMD"),  # force rounds to a pageblock; still not PMD aligned
    (1 << 29, 16384, False, 0, "pageblocks"),
])
def test_block_memmap(block: int, page: int, force: bool, per_block: int, refused: str) -> None:
    got = hotplug.block_memmap(block, page, force=force)
    assert got.per_block == per_block
    assert (refused in got.refused) and bool(got.refused) == bool(refused)


def test_pmd_and_scaled_aligns() -> None:
    assert hotplug.pmd_size(4096) == 2 * MiB and hotplug.pmd_size(16384) == 32 * MiB
    assert scaled_align(2 * MiB, 16384) == 32 * MiB and scaled_align(4096, 16384) == 16384
    assert scaled_align(2 * MiB, 16384, page_relative=False) == 2 * MiB


# ---------------------------------------------------------------- memmap_on_memory in decisions


def test_612_puts_the_memmap_on_the_device(amd612: Any) -> None:
    d = decide(dev(pin=PIN_DEVICE, boot=ON), amd612)
    assert d.ok and d.warnings == ()
    lay = d.chosen.layout
    # 256 GiB devdax map=mem 2M: kmem onlines whole 128 MiB blocks (255.875 GiB, 2047 blocks)
    blocks = (256 * GiB - BLOCK) // BLOCK
    assert lay.memmap_on_device == blocks * 2 * MiB
    assert lay.usable == blocks * (BLOCK - 2 * MiB)
    assert lay.dram_memmap == 0
    assert d.chosen.candidate.label() == "system-ram map=mem align=2M memmap=device"
    assert "memmap on the device: 2 MiB of every 128 MiB memory block" in d.reason


def test_612_unpinned_weighs_dram_against_capacity(amd612: Any) -> None:
    d = decide(dev(boot=ON), amd612)
    assert d.chosen.candidate.memmap == "device"  # least DRAM wins
    dram = next(r for r in d.candidates if r.candidate == Candidate("system-ram", "mem", 2 * MiB))
    assert dram.layout.dram_memmap == (256 * GiB - BLOCK) // 64
    # a capacity budget the on-device memmap breaks: the DRAM memmap is chosen
    d = decide(dev(boot=ON, budget_capacity=1 * GiB), amd612)
    assert d.chosen.candidate.memmap is None and d.ok


@pytest.mark.parametrize(("boot", "why"), [
    (Boot(), "memory_hotplug.memmap_on_memory is off"),
])
def test_612_fallback_when_the_boot_switch_is_off(amd612: Any, boot: Boot, why: str) -> None:
    d = decide(dev(pin=PIN_DEVICE, boot=boot), amd612)
    assert d.ok and d.chosen.candidate.memmap is None
    assert d.chosen.layout.dram_memmap == (256 * GiB - BLOCK) // 64
    assert len(d.warnings) == 1 and why in d.warnings[0] and "silently falls back" in d.warnings[0]
    refused = next(r for r in d.candidates if r.candidate.memmap == "device" and
                   r.candidate.align == 2 * MiB)
    assert not refused.possible and why in refused.why_impossible


def test_61_has_no_memmap_on_memory(amd61: Any) -> None:
    d = decide(dev(pin=PIN_DEVICE, boot=ON), amd61)
    assert d.ok and d.chosen.candidate.memmap is None
    assert not [r for r in d.candidates if r.candidate.memmap == "device"]
    assert "Linux 6.1 dax/kmem never puts the memmap" in d.warnings[0]
    assert d.chosen.layout.dram_memmap == (256 * GiB - BLOCK) // 64


def test_16k_pages_fall_back_silently(arm16k: Any) -> None:
    d = decide(dev(pin=Pin(mode="system-ram", memmap="device"), boot=ON), arm16k)
    assert d.ok and d.chosen.candidate.memmap is None
    assert "32 MiB pageblocks" in d.warnings[0]


# ---------------------------------------------------------------- zones


@pytest.mark.parametrize(("kernel", "boot", "zone"), [
    ("6.1", Boot(), "ZONE_MOVABLE by daxctl"),  # Debian 6.1: offline, daxctl onlines movable
    ("6.12", Boot(), "ZONE_NORMAL by kernel"),  # Debian 6.12: ONLINE_AUTO
    ("6.12", Boot(movable_node=True), "ZONE_MOVABLE by kernel"),
    ("6.1", Boot(movable_node=True), "ZONE_MOVABLE by daxctl"),
    ("6.12", Boot(memhp_default_state="offline"), "ZONE_MOVABLE by daxctl"),
    ("6.12", Boot(memhp_default_state="online_movable"), "ZONE_MOVABLE by kernel"),
    ("6.1", Boot(memhp_default_state="online"), "ZONE_NORMAL by kernel"),
    ("6.1", Boot(memhp_default_state="online_kernel", movable_node=True),
     "ZONE_NORMAL by kernel"),
])
def test_zone(kernel: str, boot: Boot, zone: str, amd61: Any, amd612: Any) -> None:
    d = decide(dev(boot=boot), amd61 if kernel == "6.1" else amd612)
    online = d.chosen.onlining
    assert f"{online.zone} by {online.by}" == zone
    assert f"onlined into {online.zone} by {online.by}" in d.reason


def test_memo_keeps_boots_apart(amd612: Any) -> None:
    a = decide_memo(dev(boot=Boot()), amd612)
    b = decide_memo(dev(boot=Boot(movable_node=True)), amd612)
    assert a.chosen.onlining.zone == "ZONE_NORMAL" and b.chosen.onlining.zone == "ZONE_MOVABLE"


# ---------------------------------------------------------------- CXL RAM regions


def test_cxl_ram_on_both_kernels(amd61: Any, amd612: Any) -> None:
    old = decide(dev("cxl-ram", 512 * GiB, boot=ON), amd61)
    assert not old.ok and "exists only on Linux 6.12+" in old.findings[0].message
    new = decide(dev("cxl-ram", 512 * GiB, boot=ON), amd612)
    assert new.ok and new.chosen.candidate.label() == "system-ram map=mem align=2M memmap=device"
    assert {r.candidate.align for r in new.candidates if r.possible} == {2 * MiB}
    assert new.chosen.layout.usable == 512 * GiB // 64 * 63
    # the default request, with the boot switch off: DRAM, and the silent fallback said
    off = decide(dev("cxl-ram", 512 * GiB), amd612)
    assert off.chosen.candidate.memmap is None and "drivers/dax/cxl.c:29" in off.warnings[0]
    assert off.chosen.layout.dram_memmap == 8 * GiB


def test_cxl_stays_pmem(amd612: Any) -> None:
    d = decide(dev("cxl", 1 << 40, requires=("dax_mmap",)), amd612)
    assert d.ok and d.chosen.candidate.mode == "fsdax"


# ---------------------------------------------------------------- version-selected rules


def test_versions_select_rules() -> None:
    assert versions.holds_in("6.1", None, "6.1") and not versions.holds_in("6.12", None, "6.1")
    assert versions.holds_in("6.12", "6.12", None) and not versions.holds_in("6.1", "6.12", None)
    # the record's flags and the catalog's data say the same
    cat = catalog()
    for v in versions.VERSIONS:
        assert cat.hotplug.memmap_on_memory_in(v.name) == v.memmap_on_memory
        raw_pins = feature_verdict(cat.feature("page_cache_longterm_pin"), _Y(),
                                   cat.device_type("nvdimm"), "raw", None, 4096, False,
                                   kernel=v.name).enabled
        assert raw_pins == (not v.writable_pin_fails_on_page_cache)


class _Y:
    def eval(self, expr: str) -> str:
        return "y"


@pytest.mark.parametrize("kernel", ["6.1", "6.12"])
def test_page_cache_pin_by_version(kernel: str, amd61: Any, amd612: Any) -> None:
    build = amd61 if kernel == "6.1" else amd612
    d = decide(dev(size=64 * GiB, requires=("page_cache_longterm_pin",)), build)
    if kernel == "6.1":
        assert d.ok and d.chosen.candidate.mode == "raw"
    else:
        assert not d.ok
        assert "EFAULT" in d.findings[0].message and "6.1" in d.findings[0].message
    # long-term pins of the media are unchanged: devdax and system-ram on both
    d = decide(dev(size=64 * GiB, requires=("longterm_pin",)), build)
    assert d.ok and d.chosen.candidate.mode == "devdax"


@pytest.mark.parametrize(("mode", "align", "pmd"), [
    ("devdax", 32 * MiB, True), ("devdax", 16384, False),
    ("fsdax", 32 * MiB, True), ("fsdax", 16384, False),
])
def test_pmd_faults_16k(mode: str, align: int, pmd: bool, arm16k: Any) -> None:
    cat = catalog()
    v = feature_verdict(cat.feature("pmd_faults"), arm16k, cat.device_type("nvdimm"), mode,
                        "dev", align, False, kernel="6.12", page=16384)
    assert v.enabled == pmd, v.why
    if not pmd:
        assert "32 MiB" in v.why


@pytest.mark.parametrize(("mode", "align", "pmd"), [
    ("devdax", 2 * MiB, True), ("devdax", 4096, False), ("fsdax", 4096, True),
])
def test_pmd_faults_4k_both_kernels(mode: str, align: int, pmd: bool, amd61: Any,
                                    amd612: Any) -> None:
    cat = catalog()
    for build in (amd61, amd612):
        v = feature_verdict(cat.feature("pmd_faults"), build, cat.device_type("nvdimm"), mode,
                            "dev", align, False, kernel=build.kernel, page=4096)
        assert v.enabled == pmd, (build.kernel, v.why)


# ---------------------------------------------------------------- profiles and the CLI


def test_profile_pin_memmap_and_boot() -> None:
    text = """apiVersion: pmempolicy/v1
kind: HostProfile
metadata: {name: h}
spec:
  boot: {memmap_on_memory: force, movable_node: true, memhp_default_state: online_movable}
  devices:
    - name: a
      device: {type: cxl-ram, size: 64GiB}
      pin: {mode: system-ram, memmap: device}
    - name: b
      device: {type: nvdimm, size: 64GiB}
      pin: {mode: devdax, memmap: device}
"""
    got = load_profile_text(text, "h.yaml")
    codes = [d.code for d in got.diagnostics]
    assert codes == ["pin-memmap"]
    ok = load_profile_text(text.split("    - name: b")[0], "h.yaml")
    (a,) = ok.devices
    assert a.boot == Boot(memmap_on_memory="force", movable_node=True,
                          memhp_default_state="online_movable")
    assert a.pin == Pin(mode="system-ram", memmap="device")
    bad = load_profile_text(text.replace("mode: system-ram, memmap", "mode: devdax, memmap")
                            .split("    - name: b")[0], "h.yaml")
    assert {d.code for d in bad.diagnostics} == {"pin-type", "pin-memmap"}


def test_compare_shows_memmap_and_zone() -> None:
    res = CliRunner().invoke(cli, ["compare", "debian_amd64", "debian_amd64@6.12", "--format",
                                   "json"], standalone_mode=False)
    doc = json.loads(res.stdout)
    tier = next(d for d in doc["devices"] if d["device"] == "tier01-pmem0")
    assert tier["old"]["zone"] == "ZONE_MOVABLE by daxctl"
    assert tier["new"]["zone"] == "ZONE_NORMAL by kernel"
    assert tier["new"]["choice"].endswith("memmap=device") and tier["new"]["dram"] == 0
    assert tier["old"]["dram"] == (256 * GiB - BLOCK) // 64
    res = CliRunner().invoke(cli, ["evaluate", "--config", "debian_amd64@6.12", "--format", "json",
                                   str(DATA / "profiles/valid/cxl-ram-expander.yaml")],
                             standalone_mode=False)
    hp = json.loads(res.stdout)["results"][0]["decision"]["hotplug"]
    assert hp["memmap"] == "device" and hp["memmap_on_device_bytes"] == 8 * GiB
    assert hp["zone"] == "ZONE_NORMAL" and hp["onlined_by"] == "kernel"


def test_16k_pin_with_a_4k_align_names_the_choices(arm16k: Any) -> None:
    d = decide(dev(pin=Pin(mode="system-ram", map="mem", align=2 * MiB)), arm16k)
    assert not d.ok
    assert "align 2M is not a choice with 16 KiB pages: 16K, 32M" in d.findings[0].message
    d = decide(dev(pin=Pin(mode="system-ram", map="mem", align=32 * MiB)), arm16k)
    assert d.ok and d.chosen.layout.dram_memmap == (256 * GiB - BLOCK) // 256  # 64 B per 16K


@settings(max_examples=200, deadline=None)
@given(blocks=st.integers(min_value=1, max_value=4096), lead=st.integers(min_value=0, max_value=3))
def test_on_memory_layout_accounts_for_every_byte(blocks: int, lead: int) -> None:
    """Onlined = System RAM + on-device memmap; DRAM 0; the memmap share is exactly 1/64."""
    from policy.decide import costs
    size = (blocks + lead) * BLOCK
    base = costs.system_ram_layout(size, "mem", 2 * MiB, start=16 * MiB)
    if base.refused:
        return
    per_block = hotplug.block_memmap(BLOCK).per_block
    lay = hotplug.on_memory_layout(base, BLOCK, per_block)
    assert lay.usable + lay.memmap_on_device == base.usable
    assert lay.memmap_on_device * 64 == base.usable
    assert lay.dram_memmap == 0 and lay.capacity_lost == size - lay.usable


def test_compare_text_wraps_a_long_decision() -> None:
    res = CliRunner().invoke(cli, ["compare", "debian_amd64", "debian_amd64@6.12",
                                   str(ROOT / "profiles/pmem-memory-tier.yaml")],
                             standalone_mode=False)
    lines = res.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert "          -> system-ram map=mem align=2M memmap=device" in lines
    res = CliRunner().invoke(cli, ["matrix", "--config", "debian_amd64@6.12", "--config",
                                   "debian_amd64", str(ROOT / "profiles/pmem-memory-tier.yaml")],
                             standalone_mode=False)
    assert "debian_amd64@6.12  system-ram mem 2M+ ✓" in res.stdout
    assert "debian_amd64       system-ram mem 2M ✓" in res.stdout
    assert "+ after the align: system-ram memmap on the memory itself" in res.stdout
    assert all(len(line) <= 80 for line in res.stdout.splitlines())
    assert "  zone      ZONE_MOVABLE by daxctl -> ZONE_NORMAL by kernel" in lines
    assert "  DRAM      4 GiB -> 0 B" in lines


# ---------------------------------------------------------------- against the kernel oracle

ORACLE = DATA / "kernel-oracle"


def _oracle_kmem_cases() -> list[dict]:
    doc = json.loads((ORACLE / "results-full-6.12.json").read_text())
    return [c for c in doc["cases"] if c["id"].startswith("system-ram-") and "mom_param" in
            c.get("kmem", {})]


def test_memmap_on_memory_agrees_with_the_612_oracle_run() -> None:
    """Debian 6.12.117 under QEMU (tests/data/kernel-oracle, docs/kernel-oracle.md): devdax
    onlined by dax/kmem with and without memory_hotplug.memmap_on_memory=1 and the device's
    memmap_on_memory attribute. MemTotal growth is the model's usable bytes, the DRAM the kernel
    spent (MemTotal growth minus MemFree growth) its DRAM memmap within 1 MiB, the zone its zone."""
    build = load_builds([str(ORACLE / "config-6.12.117+deb12-amd64.xz")])[0]
    assert build.kernel == "6.12"
    cases = _oracle_kmem_cases()
    assert {c["kmem"]["mom"] for c in cases} == {"0", "1"}  # both kinds were measured
    for c in cases:
        k = c["kmem"]
        on = k["mom"] == "1"  # the attribute took: the boot switch was Y
        assert not on or k["mom_param"] == "Y"
        opts = dict(re.findall(r"--(size|map|align) (\S+)", c["cmd"]))
        pin = Pin(mode="system-ram", map=opts["map"], align=parse_size(opts["align"]),
                  memmap="device" if on else "dram")
        boot = Boot(memmap_on_memory="on" if k["mom_param"] == "Y" else "off")
        size = parse_size(opts["size"])
        d = decide(SimpleNamespace(name=c["id"], type="nvdimm", size=size, start_align=GiB,
                                   requires=(), wants=(), budget_dram=None, budget_capacity=None,
                                   pin=pin, boot=boot), build)
        lay = d.chosen.layout
        mem_total = (int(k["mt1"]) - int(k["mt0"])) * 1024
        dram = mem_total - (int(k["free1"]) - int(k["free0"])) * 4096
        assert lay.usable == mem_total, c["id"]
        assert abs(lay.dram_memmap - dram) <= MiB, (c["id"], lay.dram_memmap, dram)
        zones = {z for _, _, z in k["block_list"]}
        assert zones == {"Normal"} and d.chosen.onlining.zone == "ZONE_NORMAL", c["id"]
        assert d.chosen.onlining.by == "kernel"  # Debian 6.12: auto-online
