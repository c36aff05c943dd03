"""solve: a configuration evaluate accepts, atomic .config with .old, minimal conflicting sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policy import kconfig, profiles, resources
from policy.cli import main
from policy.space import explore, solve as solve_mod

# a sub-tree where every shipped profile can be met (CXL needs PCI, CXL_BUS; virtio-pmem VIRTIO)
SPACE = (
    "ACPI_NFIT",
    "LIBNVDIMM",
    "BLK_DEV_PMEM",
    "BTT",
    "ZONE_DEVICE",
    "FS_DAX",
    "MEMORY_HOTPLUG",
    "MEMORY_HOTREMOVE",
    "TRANSPARENT_HUGEPAGE",
    "NVDIMM_PFN",
    "NVDIMM_DAX",
    "DEV_DAX",
    "DEV_DAX_PMEM",
    "DEV_DAX_KMEM",
    "CXL_BUS",
    "CXL_PMEM",
    "VIRTIO_PMEM",
    "VIRTIO",
    "PCI",
)


def test_solve_then_evaluate_accepts(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cwd / ".config").write_text("# before\n")
    code = main(["solve", "--config-space", ",".join(SPACE), "--minimize", "dram", "-o", ".config"])
    out, _ = capsys.readouterr()
    assert code == 0, out
    assert "solved:" in out and "wrote .config" in out
    assert (cwd / ".config.old").read_text() == "# before\n"
    assert "CONFIG_ZONE_DEVICE=y" in (cwd / ".config").read_text()
    code = main(["evaluate", "--config", str(cwd / ".config")])
    out, _ = capsys.readouterr()
    assert code == 0, out


@pytest.mark.parametrize("minimize", ["dram", "capacity", "options"])
def test_solution_is_the_cheapest(minimize: str) -> None:
    devices = profiles.load_profiles([resources.profiles_dir()]).devices
    res = explore.solve(devices, (), minimize, SPACE)  # type: ignore[arg-type]
    assert res.ok and res.config is not None
    assert all(d.ok for d in res.decisions)
    # the real decisions under the written build cost what the search said
    dram = sum(d.chosen.layout.dram_memmap for d in res.decisions if d.chosen and d.chosen.layout)
    cap = sum(d.chosen.layout.capacity_lost for d in res.decisions if d.chosen and d.chosen.layout)
    ev = explore.Evaluator(explore.enumerate_space(SPACE), devices)
    reqs = explore.requirements(devices, ())
    best, _ = solve_mod._best(ev, reqs, minimize)
    assert best is not None and best[0].id == res.config.id
    assert (best[1], best[2]) == (dram, cap)


def test_require_adds_to_every_device(capsys: pytest.CaptureFixture[str], cwd: Path) -> None:
    code = main(
        [
            "solve",
            "--config-space",
            ",".join(SPACE),
            "--require",
            "block_io",
            "--format",
            "json",
            "-o",
            str(cwd / "out.config"),
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema_version"] == 1
    if code == 0:
        assert doc["verdict"] == "solved"
    else:
        assert doc["verdict"] == "unsatisfiable" and doc["conflicts"]


def test_unsatisfiable_names_the_conflict(capsys: pytest.CaptureFixture[str], cwd: Path) -> None:
    code = main(
        [
            "solve",
            "--config-space",
            ",".join(SPACE),
            "--require",
            "sector_atomic,longterm_pin",
            "--format",
            "json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert doc["verdict"] == "unsatisfiable"
    assert not (cwd / ".config").exists()
    feats = {c["feature"] for c in doc["conflicts"]}
    assert feats & {"sector_atomic", "longterm_pin"}
    assert all(c["reasons"] for c in doc["conflicts"])
    for c in doc["conflicts"]:  # a chain step is not repeated under a message that holds it
        message = ""
        for line in c["reasons"]:
            if line.startswith("  → "):
                assert line[4:] not in message, c["reasons"]
            else:
                message = line


def test_conflict_set_is_minimal() -> None:
    devices = profiles.load_profiles([resources.profiles_dir()]).devices
    res = explore.solve(devices, ("sector_atomic", "longterm_pin"), "dram", SPACE)
    assert not res.ok
    core = [c.requirement for c in res.conflicts]
    assert {r.kind for r in core} <= {"require", "pin", "budget-dram", "budget-capacity", "device"}
    # "gets some mode" is implied for every device named by the set
    core += [explore.Requirement(d, "device") for d in sorted({r.device for r in core})]
    core = list(dict.fromkeys(core))
    ev = explore.Evaluator(explore.enumerate_space(SPACE), devices)
    assert solve_mod._best(ev, core, "dram")[0] is None
    for r in core:  # dropping any one reported requirement makes it satisfiable
        if r.kind == "device":
            continue
        assert solve_mod._best(ev, [x for x in core if x != r], "dram")[0] is not None


def test_unknown_feature_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "--config-space", "BTT", "--require", "teleportation"]) == 2


# ------------------------------------------------------------------------------ over BDDs


@pytest.mark.parametrize("minimize", ["dram", "capacity", "options"])
def test_symbolic_solve_equals_the_enumeration(minimize: str) -> None:
    """The same cheapest cost (and fewest options) and the same number of satisfying
    configurations as the enumeration; the real decisions cost what the BDDs said."""
    devices = profiles.load_profiles([resources.profiles_dir()]).devices
    res = explore.solve(devices, (), minimize, SPACE, symbolic=True)  # type: ignore[arg-type]
    ref = explore.solve(devices, (), minimize, SPACE)  # type: ignore[arg-type]
    assert res.ok and ref.ok and res.config is not None
    assert (res.count, res.candidates) == (ref.count, ref.candidates)

    def spent(r: explore.SolveResult) -> tuple[int, int]:
        return (
            sum(d.chosen.layout.dram_memmap for d in r.decisions if d.chosen and d.chosen.layout),
            sum(d.chosen.layout.capacity_lost for d in r.decisions if d.chosen and d.chosen.layout),
        )

    assert spent(res) == spent(ref)
    assert all(d.ok for d in res.decisions)
    assert ref.config is not None
    if minimize == "options":
        assert res.config.options == ref.config.options
        # and the witness really has that many: kconfiglib's values of the written build
        opts = explore.encode.settable_symbols(kconfig.parse_tree())
        assert res.build is not None
        assert sum(1 for o in opts if res.build.enabled(o)) == res.config.options


def test_symbolic_conflict_equals_the_enumeration() -> None:
    devices = profiles.load_profiles([resources.profiles_dir()]).devices
    need = ("sector_atomic", "longterm_pin")
    res = explore.solve(devices, need, "dram", SPACE, symbolic=True)
    ref = explore.solve(devices, need, "dram", SPACE)
    assert not res.ok and not ref.ok
    assert [c.requirement for c in res.conflicts] == [c.requirement for c in ref.conflicts]
    assert all(c.reasons for c in res.conflicts)


def test_solve_over_the_whole_tree_then_evaluate_accepts(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --config-space, solve --minimize dram takes the whole tree (over BDDs)."""
    code = main(["solve", "--format", "json", "-o", ".config"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["verdict"] == "solved"
    assert doc["considered"] > 1_000_000 and doc["satisfying"] >= 1
    assert main(["evaluate", "--config", str(cwd / ".config")]) == 0
    # no cheaper configuration in the pmem sub-tree's enumeration
    devices = profiles.load_profiles([resources.profiles_dir()]).devices
    sub = explore.solve(devices, (), "dram", SPACE)
    total = sum(d["dram_memmap_bytes"] for d in doc["devices"])
    assert sub.ok and total <= sum(
        d.chosen.layout.dram_memmap for d in sub.decisions if d.chosen and d.chosen.layout
    )


def test_solve_query_writes_the_config_only_with_output(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["solve", "--config-space", ",".join(SPACE), "--query", "devices[].pin.mode"]) == 0
    modes = json.loads(capsys.readouterr().out)
    assert modes and all(m in ("fsdax", "devdax", "raw", "sector", "system-ram") for m in modes)
    assert not (cwd / ".config").exists()
    args = ["solve", "--config-space", ",".join(SPACE), "--query", "ok", "-o", "out.config"]
    assert main(args) == 0
    assert (cwd / "out.config").is_file()
