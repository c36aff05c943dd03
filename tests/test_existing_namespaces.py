"""What exists is a fact: a namespace read from a listing is evaluated as it is.

A label-less NFIT region (or a namespace made through sysfs, or by an older ndctl) can hold a
namespace whose size is not a multiple of the 16 MiB region align ndctl now sizes new
namespaces in. The kernel binds it and it works; only creating it again would be refused, and
that is a warning, not "impossible".
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from policy import kconfig
from policy.decide import costs
from policy.decide.runtime import decide
from policy.ndctl.devices import to_devices
from policy.ndctl.listing import parse_listing
from policy.profiles import DeviceProfile, Pin

MiB, GiB = costs.MiB, costs.GiB
RAW = 2 * GiB + 2 * MiB  # a whole label-less region: a multiple of 2 MiB, not of 16 MiB


@pytest.fixture(scope="module")
def amd64() -> kconfig.BuildConfig:
    return kconfig.load_build(kconfig.find_defconfig("debian_amd64"))


def _listing(tmp: Path) -> Path:
    usable = costs.pfn_layout(RAW, "dev", 2 * MiB).usable  # what the kernel exposes
    doc = {"regions": [{"dev": "region0", "size": RAW, "available_size": 0, "type": "pmem",
                        "namespaces": [{"dev": "namespace0.0", "mode": "fsdax", "map": "dev",
                                        "size": usable, "align": 2 * MiB,
                                        "blockdev": "pmem0"}]}]}
    path = tmp / "labelless.json"
    path.write_text(json.dumps(doc))
    return path


def test_an_existing_namespace_is_evaluated_as_it_is(
    tmp_path: Path, amd64: kconfig.BuildConfig
) -> None:
    path = _listing(tmp_path)
    (dev,) = to_devices(parse_listing(path.read_text(), str(path)))
    assert dev.exists and dev.type == "nvdimm" and dev.size == RAW
    dec = decide(dev, amd64)
    assert dec.ok and dec.chosen is not None and dec.chosen.layout is not None
    assert dec.chosen.candidate.mode == "fsdax"
    assert dec.chosen.layout.usable == costs.pfn_layout(RAW, "dev", 2 * MiB).usable
    assert any("today's ndctl would refuse to create it" in w for w in dec.warnings)


def test_the_same_namespace_as_a_creation_request_is_refused_by_ndctl(
    amd64: kconfig.BuildConfig
) -> None:
    dev = DeviceProfile(
        name="new", host=None, type="nvdimm", size=RAW, start_align=None, numa_node=None,
        requires=(), wants=(), budget_dram=None, budget_capacity=None, budget_text=None,
        pin=Pin("fsdax", "dev", 2 * MiB), source="<test>", line=1,
    )
    dec = decide(dev, amd64)
    assert not dec.ok and dec.findings[0].code == "impossible-pin"
    assert "ndctl refuses" in dec.findings[0].message
    # the cache keeps the two apart: the existing one is still evaluated as it is
    assert decide(dataclasses.replace(dev, exists=True), amd64).ok


def test_kernel_refusals_still_hold_for_existing_namespaces(amd64: kconfig.BuildConfig) -> None:
    # too small for the pfn info block: the kernel refuses, whoever made the namespace
    dev = DeviceProfile(
        name="tiny", host=None, type="nvdimm", size=4096, start_align=None, numa_node=None,
        requires=(), wants=(), budget_dram=None, budget_capacity=None, budget_text=None,
        pin=Pin("fsdax", "dev", 2 * MiB), source="<test>", line=1, exists=True,
    )
    dec = decide(dev, amd64)
    assert not dec.ok and "kernel refuses" in dec.findings[0].message


def test_evaluate_cli_on_the_listing_exits_0(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from policy.cli import cli

    res = CliRunner().invoke(cli, ["evaluate", "--ndctl", str(_listing(tmp_path)),
                                   "--format", "json"])
    assert res.exit_code == 0, res.output
    # stdout only: stderr says that no running kernel config was found (every defconfig, then)
    (row,) = [r for r in json.loads(res.stdout)["results"] if r["config"] == "debian_amd64"]
    assert row["decision"]["mode"] == "fsdax"
    assert any("would refuse" in w for w in row["warnings"])


def test_the_decision_memo_keeps_existing_and_requested_apart(
    amd64: kconfig.BuildConfig
) -> None:
    """The memo (fleet, big listings) keys by everything decide reads, ``exists`` included."""
    from policy.decide.memo import decide_memo

    dev = DeviceProfile(
        name="new", host=None, type="nvdimm", size=RAW, start_align=None, numa_node=None,
        requires=(), wants=(), budget_dram=None, budget_capacity=None, budget_text=None,
        pin=Pin("fsdax", "dev", 2 * MiB), source="<test>", line=1,
    )
    existing = dataclasses.replace(dev, exists=True)
    for first, second in ((dev, existing), (existing, dev)):
        a, b = decide_memo(first, amd64), decide_memo(second, amd64)
        assert (a.ok, b.ok) == (decide(first, amd64).ok, decide(second, amd64).ok)
    assert decide_memo(existing, amd64).ok and not decide_memo(dev, amd64).ok
