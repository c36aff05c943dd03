"""explore --from CONFIG: the one-option changes around a real Debian config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policy import resources
from policy.cli import main
from policy.decide.runtime import decide
from policy.kconfig import set_values
from policy.kconfig.sources import load_config
from policy.profiles import profile as profiles
from policy.space.around import explore_from

DATA = Path(__file__).parent / "data"
AMD64_61 = DATA / "debian-6.1" / "config.amd64_none_amd64.xz"
ARM64_612 = DATA / "debian-6.12" / "config.arm64_none_arm64.xz"


def test_every_listed_change_moves_a_decision_and_is_what_it_says() -> None:
    devices = list(profiles.load_profiles([resources.profiles_dir()]).devices)
    base = load_config(str(AMD64_61)).build
    res = explore_from(devices, base)
    assert res.points and res.here.ok == len(devices)
    labels = {p.label() for p in res.points}
    # options that no decision reads are never listed (nor the architecture or page size)
    assert not any(lab.split("=")[0] in ("IPV6", "COMPACTION", "X86_64", "ARM64") for lab in labels)
    assert "PCI_P2PDMA=y" in labels and "ZONE_DEVICE=n" in labels
    before = [decide(d, base) for d in devices]
    for p in res.points:
        assert p.moved
        build = set_values(base, [(a.symbol, a.value) for a in p.change]).build
        assert (build.arch, build.page_size) == (base.arch, base.page_size)
        after = [decide(d, build) for d in devices]
        moved = {b.device for a, b in zip(before, after) if (
            a.chosen and a.chosen.candidate.label(), a.ok) != (
            b.chosen and b.chosen.candidate.label(), b.ok) or (
            a.chosen and b.chosen and a.chosen.layout != b.chosen.layout)}
        assert {d for d, _, _ in p.moved} >= moved, p.label()


def test_frontier_points_are_reached_by_their_changes() -> None:
    """Each frontier point of the held architecture and page size comes with a change to the
    config, applied here by kconfiglib and decided again to the point's totals; no point beats
    another on every count, and none changes an option outside the cone."""
    devices = list(profiles.load_profiles([resources.profiles_dir()]).devices)
    base = load_config(str(AMD64_61)).build
    res = explore_from(devices, base)
    assert res.frontier and all(p.checked for p in res.frontier)
    for p in res.frontier:
        assert all(a.symbol in res.relevant for a in p.change)
        build = set_values(base, [(a.symbol, a.value) for a in p.change]).build
        assert (build.arch, build.page_size) == (base.arch, base.page_size)
        decs = [decide(d, build) for d in devices]
        feats = sum(sum(v.enabled for v in d.chosen.features) for d in decs if d.chosen)
        dram = sum(d.chosen.layout.dram_memmap for d in decs if d.chosen and d.chosen.layout)
        cap = sum(d.chosen.layout.capacity_lost for d in decs if d.chosen and d.chosen.layout)
        assert (feats, dram, cap) == (p.features, p.dram, p.capacity), p.label()
    keys = [(p.features, p.dram, p.capacity) for p in res.frontier]
    for k in keys:
        assert not any(q != k and q[0] >= k[0] and q[1] <= k[1] and q[2] <= k[2] for q in keys)
    # the most features: the one change Debian's amd64 config lacks for p2pdma
    best = max(res.frontier, key=lambda p: p.features)
    assert [(a.symbol, a.value) for a in best.change] == [("PCI_P2PDMA", "y")]


def test_cli_json_and_query(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--from", str(ARM64_612), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["held"] == {"arch": "arm64", "page_size": 4096}
    assert doc["changes"] and all(c["moved"] for c in doc["changes"])
    assert main(["explore", "--from", str(ARM64_612), "--query", "frontier[].change"]) == 0
    assert isinstance(json.loads(capsys.readouterr().out), list)


def test_from_excludes_the_space_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--from", str(AMD64_61), "--list"]) == 2
    assert main(["explore", "--from", str(AMD64_61), "--format", "csv"]) == 2
