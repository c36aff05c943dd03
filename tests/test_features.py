"""The feature catalog: schema, required names, provenance, verdicts."""
from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from policy import features
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
    from policy import profiles

    assert profiles._catalog() == features.feature_names()
