"""The feature catalog: schema, required names, provenance, verdicts."""
from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from policy.decide import catalog as features
from policy.resources import data_file

REQUIRED = {
    "dax_mmap",
    "map_sync",
    "pmd_faults",
    "pud_faults",
    "o_direct_dax_file",
    "gup_dax_mapping",
    "longterm_pin",
    "rdma_odp",
    "vm_backing",
    "system_ram",
    "block_io",
    "sector_atomic",
    "p2pdma",
}
PROPOSALS = {"ondemand_pages", "pfn_io", "extent_pages"}


def test_catalog_validates_against_its_schema() -> None:
    doc = yaml.safe_load(data_file("features.yaml").read_text())
    schema = json.loads(data_file("features.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(doc, schema)


def test_schema_rejects_a_feature_without_source() -> None:
    doc = yaml.safe_load(data_file("features.yaml").read_text())
    del doc["features"][0]["source"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, json.loads(data_file("features.schema.json").read_text()))


def test_required_features_and_proposals_present() -> None:
    names = features.feature_names()
    assert REQUIRED | PROPOSALS <= names
    cat = features.catalog()
    assert {f.name for f in cat.features if f.proposal} == PROPOSALS
    assert {m.name for m in cat.modes if m.proposal} == {"ondemand", "pfn", "extent"}


def test_every_rule_has_reason_and_source() -> None:
    cat = features.catalog()
    for rule in (*cat.modes, *cat.aligns, *cat.device_types, *cat.features):
        assert rule.reason.strip() and rule.source.strip()


def test_mode_build_requirements_are_data() -> None:
    cat = features.catalog()
    assert "NVDIMM_PFN" in cat.mode("fsdax").build and "FS_DAX" in cat.mode("fsdax").build
    assert "DEV_DAX_PMEM" in cat.mode("devdax").build
    assert "DEV_DAX_KMEM" in cat.mode("system-ram").build
    assert "BTT" in cat.mode("sector").build
    assert "HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD" in cat.aligns[-1].build
    assert cat.device_type("virtio-pmem").async_ and cat.device_type("virtio-pmem").pagemap
    assert cat.device_type("hmem").modes == ("devdax", "system-ram")


def test_longterm_pin_is_refused_on_fsdax() -> None:
    f = features.catalog().feature("longterm_pin")
    modes = {m for c in f.runtime for m in c.modes}
    assert "fsdax" not in modes and "devdax" in modes
    assert "mm/gup.c" in f.source


def test_unknown_feature_is_a_usage_error() -> None:
    from policy.errors import UsageError

    with pytest.raises(UsageError):
        features.catalog().feature("nope")


def test_feature_names_agree_with_profiles_catalog() -> None:
    from policy.profiles import profile as profiles

    assert profiles._catalog() == features.feature_names()


class _On:
    """A build with every symbol on (the fault-size rules are about the run-time conditions)."""

    def eval(self, expr: str) -> str:
        return "y"


def _faults(mode: str, align: int) -> tuple[bool, bool]:
    cat = features.catalog()
    dt = cat.device_type("nvdimm")
    return tuple(  # type: ignore[return-value]
        features.feature_verdict(cat.feature(n), _On(), dt, mode, "mem", align, False).enabled
        for n in ("pmd_faults", "pud_faults")
    )


def test_devdax_faults_at_exactly_its_align() -> None:
    # drivers/dax/device.c __dev_dax_{pte,pmd,pud}_fault: a fault smaller than the align is
    # SIGBUS, a larger one VM_FAULT_FALLBACK; kernel oracle: 4K -> PTE, 2M -> PMD, 1G -> PUD
    assert _faults("devdax", 4096) == (False, False)
    assert _faults("devdax", 2 << 20) == (True, False)
    assert _faults("devdax", 1 << 30) == (False, True)  # was pmd_faults=True before the oracle
    cat = features.catalog()
    v = features.feature_verdict(cat.feature("pmd_faults"), _On(), cat.device_type("nvdimm"),
                                 "devdax", "mem", 1 << 30, False)
    assert "only with align 2M" in v.why
    assert "drivers/dax/device.c" in cat.feature("pud_faults").source


def test_fsdax_pmd_faults_do_not_depend_on_align() -> None:
    # nd_pfn_init: data starts at A = max(align, 2 MiB); fs/dax.c dax_iomap_pmd_fault looks at the
    # file's extents, never the pfn align; kernel oracle: fsdax --align 4K maps PMDs
    for align in (4096, 2 << 20, 1 << 30):
        assert _faults("fsdax", align) == (True, False)
    f = features.catalog().feature("pmd_faults")
    fsdax = next(c for c in f.runtime if "fsdax" in c.modes)
    assert fsdax.build == "FS_DAX_PMD" and not fsdax.min_align and not fsdax.aligns


def test_system_ram_fault_verdicts_do_not_depend_on_align() -> None:
    # onlined System RAM is ordinary memory: no DAX fault path, whatever the devdax align was
    assert {_faults("system-ram", a) for a in (4096, 2 << 20, 1 << 30)} == {(False, False)}


def test_label_backed_types_have_a_16m_region_align() -> None:
    cat = features.catalog()
    for name in ("nvdimm", "cxl"):
        dt = cat.device_type(name)
        assert dt.region_align == 16 << 20 and "default_align" in dt.region_align_source
    for name in ("e820", "virtio-pmem", "hmem"):
        assert cat.device_type(name).region_align == 0


def test_schema_accepts_exact_aligns_only_from_the_align_list() -> None:
    doc = yaml.safe_load(data_file("features.yaml").read_text())
    schema = json.loads(data_file("features.schema.json").read_text())
    doc["features"][0]["runtime"][0]["aligns"] = [12345]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


def test_validate_reads_the_same_region_align() -> None:
    from policy.profiles import checks as profiles

    for dt in features.catalog().device_types:
        assert profiles._region_align(dt.name) == dt.region_align


def test_validate_warns_when_size_is_not_a_multiple_of_the_region_align() -> None:
    from policy.profiles import load_profile_text

    def diags(dtype: str, size: str) -> list[str]:
        text = (
            "apiVersion: pmempolicy/v1\nkind: DeviceProfile\nmetadata: {name: d}\n"
            f"spec:\n  device: {{type: {dtype}, size: {size}}}\n"
        )
        return [d.code for d in load_profile_text(text, "p.yaml").diagnostics]

    assert diags("nvdimm", "8MiB") == ["region-align"]
    assert diags("cxl", "24MiB") == ["region-align"]
    assert diags("nvdimm", "32MiB") == []
    assert diags("e820", "8MiB") == [] and diags("virtio-pmem", "24MiB") == []


def test_candidate_verdicts_are_each_features_verdict() -> None:
    """The verdicts of one candidate read from its memos at once equal each feature's own verdict,
    for every candidate, kernel and page size, under builds where some expressions are off."""
    import random

    from policy.decide.cache import DecisionCache

    cat = features.catalog()
    exprs = sorted({e for f in cat.features for e in (f.build, *(c.build for c in f.runtime))})
    rng = random.Random(7)

    class Build:
        def __init__(self, off: set[str]) -> None:
            self.off = off

        def eval(self, expr: str) -> str:
            return "n" if expr in self.off else "y"

    builds = [Build(set())] + [Build({e for e in exprs if rng.random() < 0.4}) for _ in range(6)]
    cache = DecisionCache()
    aligns = sorted({a.bytes for a in cat.aligns} | {4096, 16384, 32 << 20})
    checked = blocked = 0
    for kernel, page in (("6.1", 4096), ("6.12", 4096), ("6.12", 16384)):
        for dt in cat.device_types:
            for mode in cat.modes:
                for map_ in (*mode.maps, None):
                    for align in aligns:
                        for pagemap in (False, True):
                            for b in builds:
                                got = features.candidate_verdicts(
                                    cat, b, dt, mode.name, map_, align, pagemap, cache, kernel,
                                    page)
                                want = tuple(features.feature_verdict(
                                    f, b, dt, mode.name, map_, align, pagemap, cache, kernel,
                                    page) for f in cat.features)
                                assert got == want, (dt.name, mode.name, map_, align, kernel)
                                checked += 1
                                blocked += any(v.blocker for v in got)
    assert checked > 1000 and blocked  # some builds are the reason a feature is off
