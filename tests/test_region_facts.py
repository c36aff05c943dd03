"""Regions, starts and creators are facts: read from listings and profiles, used by the layout.

Real data: the kernel oracle's full run (Linux 6.1.192, ndctl 76.1: what ndctl printed on
stderr when it refused, the sizes the kernel listed), the pmem docs' ``ndctl list -RuN``
listings (tests/data/ndctl/PROVENANCE.md) and the corpus profile
``tests/data/profiles/valid/region-facts.yaml``.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from policy import kconfig
from policy.decide import costs
from policy.decide.runtime import candidates_for, decide
from policy.ndctl.devices import to_devices
from policy.ndctl.listing import parse_listing, read_listing
from policy.profiles import DeviceProfile, Pin, load_profile_text

MiB, GiB = costs.MiB, costs.GiB
DATA = Path(__file__).parent / "data"
ORACLE = {c["id"]: c for c in json.loads(
    (DATA / "kernel-oracle" / "results-full.json").read_text())["cases"]}


@pytest.fixture(scope="module")
def amd64() -> kconfig.BuildConfig:
    return kconfig.load_build(kconfig.find_defconfig("debian_amd64"))


def _dev(size: int, pin: Pin | None, **facts: Any) -> DeviceProfile:
    return DeviceProfile(
        name="d", host=None, type=facts.pop("type", "nvdimm"), size=size,
        start_align=facts.pop("start_align", None), numa_node=None, requires=(), wants=(),
        budget_dram=None, budget_capacity=None, budget_text=None, pin=pin, source="<test>",
        line=1, **facts)


def _profile(device: str, pin: str) -> tuple[list[str], list[DeviceProfile]]:
    text = ("apiVersion: pmempolicy/v1\nkind: DeviceProfile\nmetadata: {name: t}\nspec:\n"
            f"  device: {device}\n  pin: {pin}\n")
    got = load_profile_text(text, "t.yaml")
    return [f"{d.severity} {d.code}: {d.message}" for d in got.diagnostics], list(got.devices)


def _listed_size(case: str) -> int:
    return int(ORACLE[case]["list"][0]["size"])


# ------------------------------------------------------------------------------ listings

def test_region_facts_are_read_from_a_listing() -> None:
    doc = [{"dev": "region1", "size": 3 * 64 * GiB, "align": 48 * MiB,
            "available_size": 96 * GiB, "max_available_extent": 32 * GiB, "type": "pmem",
            "mappings": [{"dimm": f"nmem{i}", "offset": 0, "length": 64 * GiB, "position": i}
                         for i in range(3)],
            "persistence_domain": "memory_controller",
            "namespaces": [{"dev": "namespace1.0", "mode": "raw", "size": 96 * GiB,
                            "resource": "0x3040000000"}]}]
    listing = parse_listing(json.dumps(doc), "r.json")
    (region,) = listing.regions
    assert (region.align, region.mappings, region.max_extent, region.persistence_domain) == (
        48 * MiB, 3, 32 * GiB, "memory_controller")
    (dev,) = to_devices(listing)
    assert (dev.region_align, dev.interleave_ways, dev.start) == (48 * MiB, 3, 0x3040000000)


def test_a_real_region_listing_without_align_keeps_the_type_default() -> None:
    listing = read_listing(DATA / "ndctl" / "pmem-docs-list-RuN-map-dev.json")
    (region,) = listing.regions
    assert region.persistence_domain == "memory_controller" and region.available_lo == 0
    assert region.align is None and region.mappings is None
    (dev,) = to_devices(listing)
    assert dev.region_align is None and dev.interleave_ways is None


def test_bad_region_facts_are_located_input_errors() -> None:
    from policy.ndctl.listing import NdctlInputError

    for bad in ({"mappings": 3}, {"align": 1000}):
        doc = {"dev": "region0", "size": GiB, **bad}
        with pytest.raises(NdctlInputError) as err:
            parse_listing(json.dumps(doc), "bad.json")
        assert err.value.render().startswith("bad.json:1:")
    with pytest.raises(NdctlInputError, match="resource must be a hexadecimal address"):
        parse_listing(json.dumps({"dev": "namespace0.0", "mode": "raw", "size": GiB,
                                  "resource": 4096}), "bad.json")


def test_a_listed_btt_sector_size_is_evaluated(amd64: kconfig.BuildConfig) -> None:
    case = ORACLE["sector-256M-s512"]
    (dev,) = to_devices(parse_listing(json.dumps(case["list"]), "s512.json"))
    assert dev.pin is not None and dev.pin.sector_size == 512
    dec = decide(dev, amd64)
    assert dec.chosen is not None and dec.chosen.layout is not None
    assert dec.chosen.layout.usable == _listed_size("sector-256M-s512")


# ------------------------------------------------------------------------------ region align

def test_a_label_less_region_states_its_align(amd64: kconfig.BuildConfig) -> None:
    size = 2 * GiB + 2 * MiB  # a whole label-less region: 2 MiB granular, not 16 MiB
    pin = Pin("fsdax", "dev", 2 * MiB)
    refused = decide(_dev(size, pin), amd64)
    assert not refused.ok and "ndctl refuses: align setting is 0x1000000" in \
        refused.findings[0].message
    stated = decide(_dev(size, pin, region_align=2 * MiB), amd64)
    assert stated.ok and stated.chosen is not None and stated.chosen.layout is not None
    assert stated.chosen.layout.usable == costs.pfn_layout(size, "dev", 2 * MiB).usable


def test_interleave_ways_scale_ndctls_units(amd64: kconfig.BuildConfig) -> None:
    # default_align: 16 MiB is not divisible by 3 ways, so the region align is 48 MiB
    dec = decide(_dev(32 * GiB, Pin("raw"), interleave_ways=3), amd64)
    assert not dec.ok and "align setting is 0x3000000" in dec.findings[0].message
    # and ndctl sizes a 1 GiB-aligned devdax namespace in 3 GiB units, a 2 MiB one in 6 MiB
    dev = _dev(96 * GiB + 6 * MiB, Pin("devdax", "mem"), region_align=6 * MiB,
               interleave_ways=3)
    why = {r.candidate.align: r.why_impossible for r in candidates_for(dev, amd64)
           if r.candidate.mode == "devdax" and r.candidate.map == "mem"}
    assert why[2 * MiB] == ""
    assert why[GiB].startswith("ndctl refuses: '--size=' must align to interleave-width: 3 "
                               "and alignment: 1073741824")
    errors, _ = _profile("{type: nvdimm, size: 97GiB, region: {align: 16MiB, "
                         "interleave_ways: 3}}", "{mode: devdax, align: 1GiB}")
    assert any("interleave-width: 3" in e for e in errors)


# ------------------------------------------------------------------------------ the start

def test_a_small_namespace_at_a_large_aligned_start_is_a_profile(
    amd64: kconfig.BuildConfig
) -> None:
    # the oracle's 128 MiB namespace sat at 4 GiB; start_align no longer has to divide the size
    for device in ("{type: nvdimm, size: 128MiB, start_align: 1GiB}",
                   "{type: nvdimm, size: 128MiB, start: 0x100000000}"):
        errors, (dev,) = _profile(device, "{mode: fsdax, map: dev, align: 2MiB}")
        assert errors == []
        dec = decide(dev, amd64)
        assert dec.chosen is not None and dec.chosen.layout is not None
        assert dec.chosen.layout.usable == _listed_size("fsdax-128M-dev-a2M")
        assert dec.warnings == ()  # the start is known well enough: one answer


def test_an_unknown_start_is_said_and_given_as_a_range(amd64: kconfig.BuildConfig) -> None:
    dec = decide(_dev(16 * GiB, Pin("fsdax", "dev", 2 * MiB)), amd64)
    (note,) = [w for w in dec.warnings if "start is not known" in w]
    assert "DRAM 0 B … 2 MiB" in note
    # the same namespace at a start 2 MiB past a section boundary: the ~2 MiB end
    at = decide(_dev(16 * GiB, Pin("fsdax", "dev", 2 * MiB), start=4 * GiB + 2 * MiB), amd64)
    assert at.chosen is not None and at.chosen.layout is not None
    assert at.chosen.layout.dram_memmap == costs.partial_section_memmap(
        4 * GiB + 2 * MiB, at.chosen.layout.size - at.chosen.layout.end_trunc)
    assert at.chosen.layout.dram_memmap > 0 and not at.warnings
    # a listing carries no start: the existing namespace says so too
    case = ORACLE["fsdax-16G-dev-a2M"]
    (dev,) = to_devices(parse_listing(json.dumps(case["list"]), "l.json"))
    assert any("a listing does not carry it" in w for w in decide(dev, amd64).warnings)


def test_the_start_from_sysfs_resource_pins_the_answer(amd64: kconfig.BuildConfig) -> None:
    case = ORACLE["fsdax-16G-dev-a2M"]
    listed = [{**case["list"][0], "resource": case["sysfs"][
        "/sys/bus/nd/devices/namespace0.0/resource"]}]
    (dev,) = to_devices(parse_listing(json.dumps(listed), "l.json"))
    assert dev.start == 1 << 32
    dec = decide(dev, amd64)
    assert dec.chosen is not None and dec.chosen.layout is not None and not any(
        "start is not known" in w for w in dec.warnings)
    measured = (case["free_before"] - case["free_after"]) * 4096
    assert abs(dec.chosen.layout.dram_memmap - measured) <= 64 * 4096


# ------------------------------------------------------------------------------ sysfs, refusals

def test_a_namespace_made_through_sysfs_is_judged_by_the_kernel_alone(
    amd64: kconfig.BuildConfig
) -> None:
    # regionX/align lowered to 4 KiB (align_store), then an 8 MiB namespace written in sysfs
    errors, (dev,) = _profile("{type: nvdimm, size: 8MiB, created_by: sysfs, start: 4GiB, "
                              "region: {align: 4KiB}}", "{mode: fsdax, map: mem, align: 2MiB}")
    assert errors == []  # ndctl's 16 MiB minimum is ndctl's, not the kernel's
    dec = decide(dev, amd64)
    assert dec.ok and dec.chosen is not None and dec.chosen.layout is not None
    assert dec.chosen.layout.usable == 6 * MiB  # 2 MiB of info-block padding
    by_ndctl = decide(dataclasses.replace(dev, created_by="ndctl"), amd64)
    assert not by_ndctl.ok
    assert "ndctl refuses: '--size=' must be >= 16MiB for 'fsdax' mode" in \
        by_ndctl.findings[0].message
    # without lowering the region align, the kernel itself refuses the size in __size_store
    errors, (dev,) = _profile("{type: nvdimm, size: 20MiB, created_by: sysfs, start: 4GiB}",
                              "{mode: fsdax, map: mem, align: 2MiB}")
    assert [e.split(":")[0] for e in errors] == ["warning region-align"]
    assert "the kernel refuses such a size" in errors[0]
    dec = decide(dev, amd64)
    assert not dec.ok and "kernel refuses: 20971520 is not 16384K aligned" in \
        dec.findings[0].message
    assert "drivers/nvdimm/namespace_devs.c __size_store" in dec.findings[0].message
    errors, _ = _profile("{type: nvdimm, size: 20MiB, start: 4GiB}",
                         "{mode: fsdax, map: mem, align: 2MiB}")
    assert [e.split(":")[0] for e in errors] == ["warning region-align"]
    assert "ndctl refuses to create" in errors[0]


def test_a_misaligned_start_is_the_kernels_refusal(amd64: kconfig.BuildConfig) -> None:
    dev = _dev(64 * MiB, Pin("fsdax", "mem", 2 * MiB), start=4 * GiB + 1 * MiB,
               created_by="sysfs")
    dec = decide(dev, amd64)
    assert not dec.ok
    assert "kernel refuses: start 0x100100000 misaligned to 0x200000" in dec.findings[0].message
    assert "drivers/nvdimm/pfn_devs.c" in dec.findings[0].message


@pytest.mark.parametrize("case", ["fsdax-128M-mem-a1G", "devdax-256M-dev-a1G",
                                  "fsdax-1536M-dev-a1G", "raw-8M", "fsdax-8M-mem-a2M"])
def test_ndctls_refusals_are_ndctls_words(case: str, amd64: kconfig.BuildConfig) -> None:
    spec = ORACLE[case]["spec"]
    pin = Pin(spec["mode"], spec["map"], spec["align"])
    dec = decide(_dev(spec["size"], pin, start=1 << 32), amd64)
    assert not dec.ok
    message = dec.findings[0].message
    assert "ndctl refuses: " in message and "ndctl/namespace.c" in message
    words = message.split("ndctl refuses: ", 1)[1].split(" (", 1)[0]
    assert words in ORACLE[case]["stderr"]  # what ndctl 76.1 printed


@pytest.mark.parametrize("case", ["fsdax-1G-mem-a1G", "devdax-1G-dev-a1G"])
def test_the_kernels_refusals_are_the_kernels(case: str, amd64: kconfig.BuildConfig) -> None:
    spec = ORACLE[case]["spec"]
    assert "failed to enable" in ORACLE[case]["stderr"]  # ndctl passed it on; the kernel said no
    dec = decide(_dev(spec["size"], Pin(spec["mode"], spec["map"], spec["align"]),
                      start=1 << 32), amd64)
    assert not dec.ok and "kernel refuses: unable to satisfy requested alignment" in \
        dec.findings[0].message


# ------------------------------------------------------------------------------ fsdax align=1G

@pytest.mark.parametrize("case", ["fsdax-16G-mem-a1G", "fsdax-2G-dev-a1G", "fsdax-3G-mem-a1G"])
def test_fsdax_align_1g_is_evaluated_and_called_unwise(
    case: str, amd64: kconfig.BuildConfig
) -> None:
    spec = ORACLE[case]["spec"]
    errors, (dev,) = _profile(
        f"{{type: nvdimm, size: {spec['size']}, start: 0x100000000}}",
        f"{{mode: fsdax, map: {spec['map']}, align: 1GiB}}")
    assert [e.split(":")[0] for e in errors] == ["warning align-unwise"]
    dec = decide(dev, amd64)
    assert dec.ok and dec.chosen is not None and dec.chosen.layout is not None
    lay = dec.chosen.layout
    assert lay.usable == _listed_size(case)
    (note,) = [w for w in dec.warnings if "fsdax align=1G" in w]
    assert "faults stay at 2 MiB" in note and "align 2M would lose" in note
    if case == "fsdax-16G-mem-a1G":
        assert lay.usable == 15 * GiB and "1 GiB of 16 GiB lost" in note


# ------------------------------------------------------------------------------ plan

def test_plan_takes_one_free_extent(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from policy.cli import cli

    doc = json.loads((DATA / "ndctl" / "pmem-docs-list-RuN-map-dev.json").read_text())
    doc["regions"][0].update(available_size=64 * GiB, max_available_extent=4 * GiB)
    listing = tmp_path / "fragmented.json"
    listing.write_text(json.dumps(doc))
    prof = tmp_path / "new.yaml"
    prof.write_text("apiVersion: pmempolicy/v1\nkind: DeviceProfile\nmetadata: {name: new}\n"
                    "spec:\n  device: {type: nvdimm, size: 8GiB, match: {region: region0, "
                    "name: new}}\n")
    args = ["plan", "--config", "debian_amd64", "--ndctl", str(listing), str(prof)]
    res = CliRunner().invoke(cli, args, standalone_mode=False)
    out = " ".join(line.strip("# ") for line in res.output.splitlines())
    assert res.return_value == 1, res.output
    assert "[no-space]" in out and "the largest free extent is 4 GiB" in out
    doc["regions"][0].update(max_available_extent=16 * GiB)
    listing.write_text(json.dumps(doc))
    res = CliRunner().invoke(cli, args, standalone_mode=False)
    assert res.return_value == 0 and "ndctl create-namespace" in res.output


def test_evaluate_json_carries_the_start_range(tmp_path: Path) -> None:
    import jsonschema
    from click.testing import CliRunner

    from policy.cli import cli

    case = ORACLE["fsdax-16G-dev-a2M"]
    listing = tmp_path / "l.json"
    listing.write_text(json.dumps(case["list"]))
    res = CliRunner().invoke(cli, ["evaluate", "--config", "debian_amd64", "--ndctl",
                                   str(listing), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    schema = json.loads((Path(__file__).parent.parent / "policy" / "data" /
                         "matrix.schema.json").read_text())
    jsonschema.validate(doc, schema)
    (row,) = doc["results"]
    rng = row["costs"]["start_range"]
    assert rng["dram_memmap_bytes"][0] == 0 < rng["dram_memmap_bytes"][1] <= 2 * MiB + 64 * 1024
    assert rng["usable_bytes"] == [_listed_size("fsdax-16G-dev-a2M")] * 2
    # with the start merged in from sysfs there is one answer and no range
    listing.write_text(json.dumps([{**case["list"][0], "resource": "0x100000000"}]))
    res = CliRunner().invoke(cli, ["evaluate", "--config", "debian_amd64", "--ndctl",
                                   str(listing), "--format", "json"])
    (row,) = json.loads(res.output)["results"]
    assert "start_range" not in row["costs"] and row["warnings"] == []


def test_an_existing_system_ram_namespace_off_ndctls_units_is_evaluated(
    amd64: kconfig.BuildConfig
) -> None:
    # a label-less region of 2 GiB + 2 MiB onlined with align 1G: ndctl would refuse to create
    # it (size not a multiple of the align), the kernel runs it
    dev = _dev(2 * GiB + 2 * MiB, Pin("system-ram", "mem", GiB), exists=True, start=4 * GiB)
    dec = decide(dev, amd64)
    assert dec.ok and dec.chosen is not None and dec.chosen.layout is not None
    assert dec.chosen.layout.usable == GiB  # one whole 1 GiB-aligned piece, in 128 MiB blocks
    assert any("today's ndctl would refuse to create it" in w for w in dec.warnings)


def test_start_and_start_align_are_checked_together() -> None:
    errors, _ = _profile("{type: nvdimm, size: 1GiB, start: 0x40100000, start_align: 2MiB}",
                         "{mode: raw}")
    assert errors[0] == "error start-align: start 0x40100000 is not aligned to start_align 2 MiB"
    errors, (dev,) = _profile("{type: nvdimm, size: 1GiB, start: 0x40100000}", "{mode: raw}")
    assert dev.start == 0x40100000
    assert [e.split(":")[0] for e in errors] == ["warning start-align"]
    assert "('start ... misaligned', drivers/nvdimm/pfn_devs.c nd_pfn_init)" in errors[0]
    errors, _ = _profile("{type: nvdimm, size: 1GiB, start: 0xZZ}", "{mode: raw}")
    assert [e.split(":")[0] for e in errors] == ["error schema-pattern"]
    errors, (dev,) = _profile("{type: nvdimm, size: 1GiB, start: 4GiB}", "{mode: raw}")
    assert errors == [] and dev.start == 4 * GiB
