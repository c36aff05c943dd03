"""evaluate() through the public API with the real Kconfig tree and Debian's real configs."""
from __future__ import annotations

import dataclasses
import lzma
import random
from pathlib import Path

import pytest
from test_runtime import dev

import policy.evaluate
from policy import kconfig
from policy.api import explain_feature
from policy.decide.costs import GiB, MiB, TiB
from policy.profiles import Pin

DEBIAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "debian-6.1"


def _import(name: str, tmp_path_factory: pytest.TempPathFactory) -> kconfig.BuildConfig:
    src = DEBIAN / f"config.{name}_none_{name}.xz"
    if not src.is_file():
        pytest.skip(f"{src} not available")
    out = tmp_path_factory.mktemp("deb") / f"debian_{name}.config"
    out.write_bytes(lzma.decompress(src.read_bytes()))
    return kconfig.import_config(out).build


@pytest.fixture(scope="module")
def amd64(tmp_path_factory: pytest.TempPathFactory) -> kconfig.BuildConfig:
    return _import("amd64", tmp_path_factory)


@pytest.fixture(scope="module")
def arm64(tmp_path_factory: pytest.TempPathFactory) -> kconfig.BuildConfig:
    return _import("arm64", tmp_path_factory)


def test_debian_amd64_every_nvdimm_mode_available(amd64: kconfig.BuildConfig) -> None:
    d = policy.evaluate([amd64], [dev("x")]).rows[0]
    possible = {c.candidate.mode for c in d.candidates if c.possible}
    assert {"raw", "sector", "fsdax", "devdax", "system-ram"} <= possible
    aligns = {
        c.candidate.align for c in d.candidates if c.possible and c.candidate.mode == "devdax"
    }
    assert aligns == {4096, 2 * MiB, GiB}


def test_debian_amd64_longterm_pin_gets_devdax(amd64: kconfig.BuildConfig) -> None:
    row = policy.evaluate([amd64], [dev("rdma", requires=("longterm_pin",))]).rows[0]
    assert row.ok and row.chosen.candidate.mode == "devdax"


def test_debian_arm64_raw_or_sector_only_and_dax_mmap_names_zone_device(
    arm64: kconfig.BuildConfig,
) -> None:
    row = policy.evaluate([arm64], [dev("x")]).rows[0]
    assert {c.candidate.mode for c in row.candidates if c.possible} <= {"raw", "sector"}
    row = policy.evaluate([arm64], [dev("dax", requires=("dax_mmap",))]).rows[0]
    assert not row.ok and row.chosen.candidate.mode in ("raw", "sector")
    (finding,) = row.findings
    assert "ZONE_DEVICE" in finding.message and "mm.Kconfig:" in finding.message


def test_reference_numbers_through_the_api(amd64: kconfig.BuildConfig) -> None:
    def chosen(size: int, pin: Pin) -> policy.evaluate.FeatureMatrix:
        return policy.evaluate([amd64], [dev("n", size=size, pin=pin)]).rows[0].chosen.layout

    assert chosen(128 * MiB, Pin("fsdax", "dev", 2 * MiB)).usable == 124 * MiB
    assert chosen(256 * MiB, Pin("fsdax", "dev", 2 * MiB)).usable == 250 * MiB
    assert chosen(2 * GiB, Pin("devdax", "mem", 2 * MiB)).usable == 2046 * MiB
    assert round(chosen(1 * TiB, Pin("fsdax", "dev", 2 * MiB)).capacity_lost / GiB) == 16
    assert chosen(400 * GiB, Pin("fsdax", "mem", 2 * MiB)).dram_memmap == 6 * GiB + 256 * MiB
    assert chosen(8 * GiB, Pin("fsdax", "mem", 2 * MiB)).dram_memmap == 128 * MiB
    assert chosen(2 * GiB, Pin("sector")).usable == 2144305152
    assert chosen(80 * GiB, Pin("sector")).usable == 85814456320


def test_order_independent_and_deterministic(
    amd64: kconfig.BuildConfig, arm64: kconfig.BuildConfig
) -> None:
    devices = [
        dev(f"d{i}", size=(i + 1) * 16 * GiB, requires=r)
        for i, r in enumerate(
            [(), ("longterm_pin",), ("dax_mmap",), ("sector_atomic",), ("system_ram",)]
        )
    ]
    a = policy.evaluate([amd64, arm64], devices)
    shuffled = devices[:]
    random.Random(4).shuffle(shuffled)
    b = policy.evaluate([amd64, arm64], shuffled)
    assert a == b
    assert dataclasses.is_dataclass(a) and a.rows[0].build == amd64.name


def test_records_are_frozen(amd64: kconfig.BuildConfig) -> None:
    m = policy.evaluate([amd64], [dev("x")])
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.rows[0].ok = False  # type: ignore[misc]


def test_explain_pin_and_kconfig_change(
    amd64: kconfig.BuildConfig, arm64: kconfig.BuildConfig
) -> None:
    e = explain_feature("longterm_pin", dev("x"), amd64)
    assert (
        not e.enabled and e.change and e.change.startswith("pin mode=devdax") and e.change_checked
    )
    e = explain_feature("dax_mmap", dev("x"), arm64)
    assert not e.enabled and any(s.symbol == "ZONE_DEVICE" for s in e.chain)
    assert e.change == "set ZONE_DEVICE=y" and e.change_checked
    e = explain_feature("block_io", dev("x"), amd64)
    assert e.enabled and e.change is None
