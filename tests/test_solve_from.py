"""solve --from CONFIG: the smallest change to a real Debian config, checked by applying it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policy import resources
from policy.cli import main
from policy.decide.runtime import decide
from policy.kconfig import read_config_text
from policy.kconfig.sources import load_config
from policy.profiles import profile as profiles
from policy.space.fromconfig import Assignment, Delta, apply_to_text, solve_from

DATA = Path(__file__).parent / "data"
AMD64_61 = DATA / "debian-6.1" / "config.amd64_none_amd64.xz"
ARM64_61 = DATA / "debian-6.1" / "config.arm64_none_arm64.xz"
AMD64_612 = DATA / "debian-6.12" / "config.amd64_none_amd64.xz"
RT_612 = DATA / "debian-6.12" / "config.amd64_rt_amd64.xz"
ARM64_612 = DATA / "debian-6.12" / "config.arm64_none_arm64.xz"
# an NVDIMM that needs PCI_P2PDMA, which Debian's configs leave off
P2P = DATA / "solve-from" / "p2pdma-nvdimm.yaml"


def _devices(path: Path) -> list[object]:
    return list(profiles.load_profiles([path]).devices)


def _applied(config: Path, assignments: tuple[Assignment, ...], tmp_path: Path) -> Path:
    """The distro config with the change applied as scripts/config would, as a file."""
    out = tmp_path / f"{config.stem}.changed"
    out.write_text(apply_to_text(read_config_text(config, allow_compressed=True), assignments))
    return out


@pytest.mark.parametrize("config", [AMD64_61, AMD64_612])
def test_a_config_that_meets_everything_needs_no_change(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["solve", "--from", str(config), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["verdict"] == "already-met" and doc["changes"] == [] and doc["diffconfig"] == []
    assert all(d["ok"] for d in doc["devices"]) and len(doc["devices"]) == 9


@pytest.mark.parametrize("config", [AMD64_61, AMD64_612, ARM64_61])
def test_missing_requirement_is_added_and_holds_when_applied(config: Path, tmp_path: Path) -> None:
    devices = _devices(P2P)
    base = load_config(str(config)).build
    assert not all(decide(d, base).ok for d in devices)  # the config lacks it
    res = solve_from(devices, base)
    assert res.ok and res.assignments
    assert ("PCI_P2PDMA", "y") in {(a.symbol, a.value) for a in res.assignments}
    assert all(a.symbol in res.relevant for a in res.assignments)
    # applied to the real file, read back as evaluate reads it: every requirement holds
    changed = load_config(str(_applied(config, res.assignments, tmp_path))).build
    assert (changed.arch, changed.page_size) == (base.arch, base.page_size)
    assert all(decide(d, changed).ok for d in devices)
    # no assignment can be dropped
    for a in res.assignments:
        fewer = tuple(x for x in res.assignments if x != a)
        less = load_config(str(_applied(config, fewer, tmp_path))).build
        assert not all(decide(d, less).ok for d in devices), a


def test_amd64_p2pdma_is_one_option(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["solve", "--from", str(AMD64_61), str(P2P)])
    out = capsys.readouterr().out
    assert code == 0
    assert "scripts/config --enable PCI_P2PDMA\n" in out
    assert "   PCI_P2PDMA n -> y\n" in out
    assert "1 change meets every requirement (the fewest, counted over BDDs; holding x86_64, 4K " \
        "pages" in " ".join(out.split())


def test_rt_kernel_change_applied_through_cli_evaluates_clean(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["solve", "--from", str(RT_612), "-o", "fixed.config"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "scripts/config --enable TRANSPARENT_HUGEPAGE" in out
    assert " PREEMPT_RT y -> n" in out  # THP, hence device-dax, is off under PREEMPT_RT
    assert "wrote fixed.config" in out
    code = main(["evaluate", "--config", "fixed.config"])
    assert code == 0, capsys.readouterr().out
    # the untouched base fails the same profiles
    assert main(["evaluate", "--config", str(RT_612)]) == 1


def test_arm64_cannot_give_pud_align_and_says_what_stays_unmet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["solve", "--from", str(ARM64_612), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["verdict"] == "unsatisfiable"
    assert doc["held"] == {"arch": "arm64", "page_size": 4096}
    unmet = {d["device"] for d in doc["closest"]["unmet"]}
    assert unmet == {"brick03-pmem0"}  # a 1 GiB device-dax align: PUD THP is x86_64's only
    assert not any(s in doc["changeable"] for s in ("X86_64", "ARM64", "ARM64_64K_PAGES"))


def test_query_selects_the_scripts_config_lines(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["solve", "--from", str(AMD64_612), str(P2P), "--query", "scripts_config"])
    assert code == 0
    assert json.loads(capsys.readouterr().out) == ["scripts/config --enable PCI_P2PDMA"]


def test_from_a_shipped_defconfig_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "--from", "debian_amd64", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "already-met"


def test_from_without_value_uses_the_running_kernels_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["solve", "--from"]) == 2  # the fixture: no running kernel config here
    assert "needs the running kernel's config" in capsys.readouterr().err
    monkeypatch.setenv("PMEMPOLICY_RUNNING_CONFIG", str(AMD64_61))
    assert main(["solve", "--from", str(P2P)]) == 2  # the path is the profile, not a config
    capsys.readouterr()
    assert main(["solve", str(P2P), "--from"]) == 0
    out, err = capsys.readouterr()
    assert "using the running kernel's config" in err
    assert "scripts/config --enable PCI_P2PDMA" in out


def test_from_excludes_config_space(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "--from", str(AMD64_61), "--all"]) == 2


def test_diffconfig_lines_and_scripts_config() -> None:
    assert Delta("A", "absent", "y").diffconfig() == "+A y"
    assert Delta("A", "m", "absent").diffconfig() == "-A m"
    assert Delta("A", "n", "y").diffconfig() == " A n -> y"
    assert Assignment("A", "m", "n").scripts_config() == "scripts/config --module A"
    assert Assignment("A", "n", "y").scripts_config() == "scripts/config --disable A"
    assert Assignment("A", "16", "8").scripts_config() == "scripts/config --set-val A 16"


def test_apply_to_text_replaces_or_appends() -> None:
    text = "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_AB=m\n"
    got = apply_to_text(
        text, (Assignment("A", "n", "y"), Assignment("B", "m", "n"), Assignment("C", "y", "absent"))
    )
    assert got == "# CONFIG_A is not set\nCONFIG_B=m\nCONFIG_AB=m\nCONFIG_C=y\n"


def test_solve_writes_nothing_without_output(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = "ACPI_NFIT,LIBNVDIMM,BLK_DEV_PMEM,ZONE_DEVICE,FS_DAX,NVDIMM_PFN,MEMORY_HOTPLUG," \
        "MEMORY_HOTREMOVE,TRANSPARENT_HUGEPAGE"
    prof = resources.profiles_dir() / "workstation-8g-nvdimm.yaml"
    assert main(["solve", "--config-space", space, str(prof)]) == 0, capsys.readouterr().out
    assert "wrote" not in capsys.readouterr().out
    assert list(cwd.iterdir()) == []


def test_two_changes_are_the_fewest_on_arm64() -> None:
    """Exactness at the first level, by brute force: no single assignment of any changeable
    option (each value it does not have) meets the p2pdma profile on Debian's 6.1 arm64."""
    from policy.errors import UsageError
    from policy.kconfig import set_values

    devices = _devices(P2P)
    base = load_config(str(ARM64_61)).build
    res = solve_from(devices, base)
    assert res.ok and len(res.assignments) == 2
    tried = 0
    for name in res.relevant:
        for value in ("n", "m", "y"):
            if base.value(name) == value:
                continue
            try:
                build = set_values(base, [(name, value)]).build
            except UsageError:  # m for a bool symbol is refused
                continue
            tried += 1
            assert not all(decide(d, build).ok for d in devices), (name, value)
    assert tried >= len(res.relevant)


def test_no_solution_is_proved_or_said_to_be_out_of_reach(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from policy.space.fromconfig_bdd import held_satisfiable

    # the arm64 verdicts are proofs: no configuration of arm64 with 4K pages gives brick03-pmem0
    shipped = list(profiles.load_profiles([resources.profiles_dir()]).devices)
    arm = load_config(str(ARM64_612)).build
    assert held_satisfiable(shipped, arm) is False
    assert held_satisfiable(shipped, load_config(str(RT_612)).build) is True
    # a solution exists (two changes) but one is allowed: said, not claimed impossible
    code = main(["solve", "--from", str(ARM64_61), str(P2P), "--max-changes", "1"])
    out = " ".join(capsys.readouterr().out.split())
    assert code == 1
    assert "sets 2 options (counted over BDDs), more than --max-changes 1" in out
    code = main(["solve", "--from", str(ARM64_612)])
    out = " ".join(capsys.readouterr().out.split())
    assert code == 1 and "no configuration of arm64 with 4K pages does" in out


def test_output_onto_the_config_it_starts_from_keeps_old(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--from .config -o .config: the change applied in place, the previous file as .old."""
    text = read_config_text(AMD64_61, allow_compressed=True)
    (cwd / ".config").write_text(text)
    assert main(["solve", "--from", ".config", "-o", ".config", str(P2P)]) == 0
    capsys.readouterr()
    assert (cwd / ".config.old").read_text() == text
    assert "CONFIG_PCI_P2PDMA=y\n" in (cwd / ".config").read_text()
    assert main(["solve", "--from", ".config", str(P2P), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "already-met"


@pytest.mark.parametrize("config,profile", [
    (RT_612, None), (ARM64_61, P2P), (AMD64_612, P2P), (ARM64_612, P2P),
])
def test_the_counted_fewest_is_what_the_change_sets(
    config: Path, profile: Path | None, tmp_path: Path
) -> None:
    """Over BDDs the fewest changed lines are counted; the change printed sets exactly that many
    options (a choice entry turned on may add the line that turns its old entry off), it
    checks out on the real file, and the chains' search finds no fewer."""
    from policy.decide.catalog import catalog
    from policy.kconfig import parse_tree
    from policy.space.fromconfig import _chain_search, relevant_symbols

    devices = _devices(profile or resources.profiles_dir())
    base = load_config(str(config)).build
    res = solve_from(devices, base)
    assert res.ok and res.exact and res.fewest is not None
    assert res.changes == res.fewest
    for a in res.assignments:  # only a choice's old entry follows another change
        assert not a.follows or (a.value, a.old) == ("n", "y")
    changed = load_config(str(_applied(config, res.assignments, tmp_path))).build
    assert all(decide(d, changed).ok for d in devices)
    kconf = parse_tree(base.kernel)
    first = tuple(decide(d, base) for d in devices)
    chains = _chain_search(kconf, base, devices, catalog(), relevant_symbols(kconf), first, 6)
    assert chains.ok and chains.changes >= res.changes


def test_reproduce_builds_a_checked_change_from_a_witness() -> None:
    """The fallback for a witness whose lines alone do not reproduce: the witness's resolved
    options that differ from the config, shortened while every device still meets its
    requirements (here on Debian's 6.12 rt config, which the shipped profiles need changed)."""
    from policy.decide.catalog import catalog
    from policy.kconfig import parse_tree
    from policy.space.fromconfig import relevant_symbols, reproduce
    from policy.space.fromconfig_bdd import fewest_lines

    devices = list(profiles.load_profiles([resources.profiles_dir()]).devices)
    base = load_config(str(RT_612)).build
    counted = fewest_lines(devices, base)
    assert counted is not None and counted[0] == 3
    rel = frozenset(relevant_symbols(parse_tree(base.kernel), catalog()))

    def meets(build: object) -> object:
        decs = [decide(d, build) for d in devices]
        return decs if all(d.ok for d in decs) else None

    got = reproduce(base, rel, counted[1], meets)
    assert got is not None
    trial, build, _ = got
    assert trial and all(s in rel for s, _ in trial)
    assert build.value("PREEMPT_RT") == "n" and build.enabled("TRANSPARENT_HUGEPAGE")
    for item in trial:  # shortened: nothing can go
        assert meets(set_values_of(base, [x for x in trial if x != item])) is None


def set_values_of(base: object, trial: list[tuple[str, str]]) -> object:
    from policy.kconfig import set_values

    return set_values(base, trial).build  # type: ignore[arg-type]


def test_require_applies_to_every_device(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["solve", "--from", str(AMD64_61), "--format", "json"]
    assert main([*args, "--require", "p2pdma"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["scripts_config"] == ["scripts/config --enable PCI_P2PDMA"] and doc["exact"]
    # pmd_faults cannot be had by brick03-pmem0, pinned to a 1 GiB align: proved, not searched
    assert main([*args, "--require", "pmd_faults"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["reachable"] is False
    assert [d["device"] for d in doc["closest"]["unmet"]] == ["brick03-pmem0"]
    assert main([*args, "--require", "teleport"]) == 2
