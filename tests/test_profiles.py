"""Profile loading: the corpus, the YAML loader's limits, units and the DeviceProfile API."""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest

from policy.errors import InputError, UsageError
from policy.profiles import DeviceProfile, Pin, load_profile_text, load_profiles
from policy.profiles.yamlload import MAX_BYTES, load_yaml
from policy.units import GiB, MiB, SizeError, format_size, parse_budget, parse_size

CORPUS = Path(__file__).parent / "data" / "profiles"
SHIPPED = Path(__file__).resolve().parent.parent / "profiles"  # the checkout's shipped examples
VALID = sorted((CORPUS / "valid").glob("*.yaml")) + sorted(SHIPPED.glob("*.yaml"))
INVALID = sorted((CORPUS / "invalid").glob("*.yaml"))


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_profiles_have_no_findings(path: Path) -> None:
    result = load_profile_text(path.read_bytes(), path.name)
    assert [d.render() for d in result.diagnostics] == []
    assert result.passed(strict=True) and result.devices


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_profiles_give_the_expected_messages(path: Path) -> None:
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    result = load_profile_text(path.read_bytes(), path.name)
    assert [d.render() for d in result.diagnostics] == expected
    assert expected, "an invalid case needs at least one expected message"
    assert not result.passed(strict=True)
    assert not result.devices or all(d.severity == "warning" for d in result.diagnostics)


def test_every_invalid_case_has_expected_output() -> None:
    cases = {p.stem for p in INVALID}
    assert cases == {p.stem for p in (CORPUS / "invalid").glob("*.expected")}
    assert len(cases) >= 20


def test_shipped_profiles_cover_the_thread_cases() -> None:
    devices = load_profiles([SHIPPED]).devices
    types = {d.type for d in devices}
    assert {"nvdimm", "cxl", "virtio-pmem"} <= types
    sizes = {d.size for d in devices}
    assert {8 * GiB, 400 * GiB, 512 * GiB, 1024 * GiB} <= sizes
    assert len(list(SHIPPED.glob("*.yaml"))) >= 8


def test_device_profile_api() -> None:
    result = load_profiles([SHIPPED / "db-400g-odirect.yaml"])
    (dev,) = result.devices
    assert dev == DeviceProfile(
        name="db01-pmem0", host=None, type="nvdimm", size=400 * GiB, start_align=16 * MiB,
        numa_node=0, requires=("o_direct_dax_file", "gup_dax_mapping"),
        wants=("pmd_faults", "map_sync"), budget_dram=4 * GiB, budget_capacity=8 * GiB,
        budget_text="dram: 1%, capacity: 2%", pin=None,
        source=str(SHIPPED / "db-400g-odirect.yaml"), line=11,
        labels={"role": "database", "tier": "1", "backup": "no"},
    )
    assert dict(dev.labels)["backup"] == "no"  # YAML 1.2: not False
    with pytest.raises(dataclasses.FrozenInstanceError):
        dev.size = 1  # type: ignore[misc]


def test_host_profile_inherits_spec_level_settings() -> None:
    result = load_profiles([CORPUS / "valid" / "host-inherits.yaml"])
    a, b = result.devices
    assert (a.name, a.host, b.name) == ("h1/a", "h1", "h1/b")
    assert a.requires == ("dax_mmap",) and a.budget_dram == 64 * MiB and a.budget_capacity is None
    assert b.requires == ("system_ram",) and b.budget_dram == GiB and b.budget_capacity == 0
    assert b.pin == Pin("system-ram", "mem", 2 * MiB) and a.pin is None


def test_aliases_expand_and_norway_stays_a_string() -> None:
    result = load_profiles([CORPUS / "valid" / "anchors-and-norway.yaml"])
    p0, p1 = result.devices
    assert p0.name == "no/p0" and p1.size == p0.size == 1024 * GiB and p1.requires == p0.requires
    assert dict(p0.labels) == {"country": "NO", "ipv6": "off", "legacy": "yes"}


def test_files_are_rows_and_directories_recurse(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    good = (CORPUS / "valid" / "minimal.yaml").read_text()
    (tmp_path / "sub" / "b.yml").write_text(good.replace("name: min", "name: other"))
    (tmp_path / "a.yaml").write_text(good)
    (tmp_path / "z.yaml").write_text("kind: [")
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "dir.yaml").mkdir()
    result = load_profiles([tmp_path])
    names = [Path(f.path).relative_to(tmp_path).as_posix() for f in result.files]
    assert names == ["a.yaml", "sub/b.yml", "z.yaml"]
    assert [f.ok for f in result.files] == [True, True, False]
    assert [d.name for d in result.devices] == ["min", "other"]


def test_directory_given_as_file_and_unreadable_file(tmp_path: Path) -> None:
    d = tmp_path / "d.yaml"
    d.mkdir()
    (d / "inner.yaml").write_text("a: 1")
    from policy.profiles.profile import _read

    row = _read(d)
    assert row.unreadable and not row.ok and "is a directory" in row.diagnostics[0].message
    locked = tmp_path / "locked.yaml"
    locked.write_text("a: 1")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as root: permissions are not enforced")
        result = load_profiles([locked])
        assert result.unreadable and result.files[0].diagnostics[0].code == "io-error"
    finally:
        locked.chmod(0o644)


def test_usage_problems_raise(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_profiles([tmp_path / "missing.yaml"])
    with pytest.raises(InputError, match="no \\*.yaml"):
        load_profiles([tmp_path])
    with pytest.raises(UsageError):
        load_profiles(["-"])


def test_duplicate_profile_names_across_files_warn(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_bytes((CORPUS / "valid" / "minimal.yaml").read_bytes())
    result = load_profiles([tmp_path])
    assert result.ok and not result.passed(strict=True)
    assert [d.code for d in result.diagnostics] == ["duplicate-name"]


def test_billion_laughs_is_refused_fast() -> None:
    data = (CORPUS / "invalid" / "billion-laughs.yaml").read_bytes()
    start = time.perf_counter()
    doc, diags = load_yaml(data, "bomb.yaml")
    assert time.perf_counter() - start < 0.1
    assert doc is None and diags[0].code == "yaml-alias"


def test_size_limit() -> None:
    big = b"# " + b"x" * MAX_BYTES + b"\n"
    doc, diags = load_yaml(big, "big.yaml")
    assert doc is None and diags[0].code == "file-too-large"
    doc, diags = load_yaml(big.decode(), "big.yaml")
    assert doc is None and diags[0].code == "file-too-large"


def test_deep_nesting_is_refused() -> None:
    doc, diags = load_yaml("[" * 500 + "]" * 500, "deep.yaml")
    assert doc is None and diags[0].code in ("yaml-depth", "yaml-syntax")
    doc, diags = load_yaml("[" * 5000 + "]" * 5000, "deeper.yaml")
    assert doc is None and diags[0].code == "yaml-syntax"


def test_bom_and_yaml12_scalars() -> None:
    doc, diags = load_yaml(
        b"\xef\xbb\xbfa: [0o17, 0x1f, 017, 1e3, .NaN, ~, TRUE, On, 2015-01-01]", "s"
    )
    assert not diags and doc is not None
    v = doc.value["a"]
    assert (
        v[:4] == [15, 31, 17, 1000.0] and v[4] != v[4] and v[5:] == [None, True, "On", "2015-01-01"]
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [("400GiB", 400 * GiB), ("8G", 8 * GiB), ("8GB", 8 * 10**9), ("16MiB", 16 * MiB),
     ("1.5GiB", 3 * GiB // 2), (" 2 MiB ", 2 * MiB), ("4096", 4096), (4096, 4096),
     (4096.0, 4096), ("1TiB", 1 << 40), ("512B", 512), ("3KB", 3000), ("4K", 4096)],
)
def test_parse_size(text: object, value: int) -> None:
    assert parse_size(text) == value  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad", ["", "GiB", "8 gigs", "8Gb", "8Gi", "-1", "0.5B", True, None, -1, 1.5, float("inf")]
)
def test_parse_size_rejects(bad: object) -> None:
    with pytest.raises(SizeError):
        parse_size(bad)  # type: ignore[arg-type]


def test_budgets_and_format_size() -> None:
    assert parse_budget("1%", 400 * GiB) == 4 * GiB
    assert parse_budget("64MiB", 1) == 64 * MiB
    with pytest.raises(SizeError):
        parse_budget("101%", GiB)
    assert format_size(6710886400) == "6.25 GiB"
    assert [format_size(n) for n in (2 * MiB, 512, GiB, 1 << 40, 1536)] == [
        "2 MiB", "512 B", "1 GiB", "1 TiB", "1.5 KiB"]


def test_catalog_names_match_the_feature_module() -> None:
    from policy.decide.catalog import feature_names
    from policy.profiles.profile import _catalog

    assert _catalog() == feature_names()
