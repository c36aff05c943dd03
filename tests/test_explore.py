"""explore: exactness against brute-force kconfiglib and the C kconfig-conf, reporters, the CLI."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from policy import kconfig, resources
from policy.cli import main
from policy.report.explore import EXPLORE_REPORTERS
from policy.space import explore

ROOT = Path(__file__).resolve().parent.parent
KCONFIG_CONF = Path("/usr/bin/kconfig-conf")

# sub-trees: plain deps; choices, tristates, MODULES and per-arch options; selects and defaults
SMALL = ("LIBNVDIMM", "BLK_DEV_PMEM", "ZONE_DEVICE", "FS_DAX", "MEMORY_HOTPLUG", "MEMORY_HOTREMOVE")
ARCH = (
    "X86_64",
    "ARM64",
    "PPC64",
    "ARM64_16K_PAGES",
    "ARM64_64K_PAGES",
    "PPC_64K_PAGES",
    "MODULES",
    "LIBNVDIMM",
    "ACPI_NFIT",
    "PAPR_SCM",
    "PPC_PSERIES",
)
SELECTS = (
    "X86_PMEM_LEGACY",
    "ACPI_NFIT",
    "BLK_DEV_PMEM",
    "MODULES",
    "PREEMPT_RT",
    "EXPERT",
    "TRANSPARENT_HUGEPAGE",
    "DEV_DAX",
    "DEV_DAX_KMEM",
    "MEMORY_HOTPLUG",
)


def _bench() -> object:
    spec = importlib.util.spec_from_file_location(
        "bench_explore", ROOT / "bench" / "explore_vs_bruteforce.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


BENCH = _bench()


@pytest.fixture(scope="module")
def proj() -> tuple[str, ...]:
    return BENCH.projection()  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("space", [SMALL, ARCH, SELECTS], ids=["small", "arch", "selects"])
def test_enumeration_equals_brute_force(space: tuple[str, ...], proj: tuple[str, ...]) -> None:
    sp = explore.enumerate_space(space)
    ours = {c.on for c in sp.configurations}
    assert len(ours) == len(sp.configurations)  # distinct
    theirs = BENCH.brute_force(space, proj)  # type: ignore[attr-defined]
    assert ours == theirs
    assert len(ours) > 5


@pytest.mark.parametrize("space", [SMALL, ARCH], ids=["small", "arch"])
def test_values_seen_equal_brute_force(space: tuple[str, ...]) -> None:
    """Dead and always-on options come from the values each symbol takes: same as brute force."""
    sp = explore.enumerate_space(space)
    theirs = BENCH.brute_force_values(space)  # type: ignore[attr-defined]
    for name, values in theirs.items():
        assert set(sp.seen[name]) == values, name
    dead = tuple(n for n in sp.settable if theirs[n] == {"n"})
    assert sp.dead == dead


def test_every_witness_reaches_its_configuration(proj: tuple[str, ...]) -> None:
    sp = explore.enumerate_space(ARCH)
    for c in sp.configurations:
        build = kconfig.load_text(c.config_text(), "<witness>")
        assert frozenset(s for s in proj if build.enabled(s)) == c.on, c.config_text()
        assert build.arch == c.arch and build.page_size == c.page_size


def test_witness_has_fewest_options() -> None:
    """The recorded option count is the minimum over every assignment reaching the projection."""
    sp = explore.enumerate_space(SMALL)
    best: dict[frozenset[str], int] = {}
    proj = BENCH.projection()  # type: ignore[attr-defined]
    opts = explore.encode.settable_symbols(kconfig.parse_tree())
    for kconf in BENCH._iter(SMALL):  # type: ignore[attr-defined]
        on = frozenset(n for n in proj if kconf.syms[n].tri_value)
        n = sum(1 for o in opts if kconf.syms[o].tri_value)
        best[on] = min(best.get(on, n), n)
    assert {c.on: c.options for c in sp.configurations} == best


def _c_projection(text: str, tmp: Path, proj: tuple[str, ...]) -> frozenset[str]:
    tree = tmp / "tree"
    if not tree.exists():
        tree.mkdir()
        shutil.copy(resources.kconfig_file(), tree / "Kconfig")
        shutil.copytree(resources.kconfig_file().parent / "kconfig", tree / "kconfig")
    cfg = tmp / "c.config"
    cfg.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KCONFIG_")}
    env.update(KCONFIG_CONFIG=str(cfg), srctree=str(tree))
    proc = subprocess.run(
        [str(KCONFIG_CONF), "-s", "--olddefconfig", "Kconfig"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    on = set(re.findall(r"^CONFIG_([A-Za-z0-9_]+)=[ym]$", cfg.read_text(), re.M))
    return frozenset(s for s in proj if s in on)


@pytest.mark.skipif(
    not KCONFIG_CONF.exists(), reason="needs Debian's kconfig-conf (kconfig-frontends-nox)"
)
def test_sample_confirmed_by_c_kconfig_conf(tmp_path: Path, proj: tuple[str, ...]) -> None:
    configs = (
        explore.enumerate_space(ARCH).configurations
        + explore.enumerate_space(SELECTS).configurations
    )
    step = max(1, len(configs) // 20)
    sample = configs[::step][:20]
    assert len(sample) == 20
    for c in sample:
        assert _c_projection(c.config_text(), tmp_path, proj) == c.on, c.config_text()


def test_runtime_symbols_cover_what_runtime_reads() -> None:
    src = "".join(p.read_text() for p in sorted((ROOT / "policy" / "decide").glob("*.py")))
    literals = set(re.findall(r'holds\("([A-Z0-9_]+)"\)', src))
    assert literals <= set(explore.RUNTIME_SYMBOLS)


def test_projection_covers_catalog_and_arch() -> None:
    proj = BENCH.projection()  # type: ignore[attr-defined]
    for sym in ("ZONE_DEVICE", "FS_DAX", "X86_64", "ARM64_64K_PAGES", "CXL_REGION", "PCI_P2PDMA"):
        assert sym in proj


def test_limit_refuses_a_space_too_large() -> None:
    with pytest.raises(explore.UsageError, match="--config-space"):
        explore.enumerate_space(None, limit=1000)


def test_unknown_space_symbol_is_a_usage_error() -> None:
    with pytest.raises(explore.UsageError, match="NOT_A_SYMBOL"):
        explore.enumerate_space(("NOT_A_SYMBOL",))


# --------------------------------------------------------------------------- results, reporters


@pytest.fixture(scope="module")
def result() -> explore.ExploreResult:
    from policy import profiles

    devices = profiles.load_profiles([resources.profiles_dir()]).devices
    return explore.explore(devices, SMALL + ("DEV_DAX", "DEV_DAX_PMEM", "NVDIMM_PFN", "NVDIMM_DAX"))


def test_frontier_is_pareto_optimal(result: explore.ExploreResult) -> None:
    pts = {e.config.id: (e.features, e.dram, e.capacity) for e in result.evaluated}
    front = [pts[i] for i in result.frontier]
    assert front
    for p in front:
        for q in pts.values():
            dominated = q[0] >= p[0] and q[1] <= p[1] and q[2] <= p[2] and q != p
            assert not dominated, (p, q)


def test_unreachable_features(result: explore.ExploreResult) -> None:
    # no device can get the 2015 proposals in this sub-tree (they are never enabled here)
    for dev, feats in result.unreachable.items():
        assert "pfn_io" in feats, dev


def test_json_and_csv_reporters(result: explore.ExploreResult) -> None:
    buf = io.StringIO()
    EXPLORE_REPORTERS["json"]().report(result, buf)
    doc = json.loads(buf.getvalue())
    assert doc["schema_version"] == 1
    assert doc["count"] == result.count == len(doc["configurations"])
    assert {"dead_options", "always_on", "unreachable_features", "frontier", "projection"} <= set(
        doc
    )
    buf = io.StringIO()
    EXPLORE_REPORTERS["csv"]().report(result, buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert len(rows) == result.count
    assert rows[0]["sym:ZONE_DEVICE"] in ("true", "false")
    buf = io.StringIO()
    EXPLORE_REPORTERS["table"]().report(result, buf)
    assert "distinct valid configurations" in buf.getvalue()


def test_cli_explore_is_quiet_when_piped(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["explore", "--config-space", ",".join(SMALL), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0
    assert json.loads(out)["count"] > 0
    assert err == ""


def test_cli_config_space_and_all_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--all", "--config-space", "BTT"]) == 2


def test_decision_cache_is_exact() -> None:
    """Outcomes looked up by a device's reduced signature equal deciding afresh, configuration by
    configuration (the cache key leaves out only conditions the decision cannot read)."""
    from policy import profiles
    from policy.decide.runtime import decide

    devices = profiles.load_profiles([resources.profiles_dir()]).devices
    space = SMALL + (
        "DEV_DAX",
        "DEV_DAX_PMEM",
        "NVDIMM_PFN",
        "NVDIMM_DAX",
        "DEV_DAX_KMEM",
        "VIRTIO",
        "VIRTIO_PMEM",
        "PROPOSED_PFN_IO",
        "BTT",
    )
    sp = explore.enumerate_space(space)
    ev = explore.Evaluator(sp, devices)
    for c in sp.configurations:
        got = ev.evaluate(c)
        build = explore.ProjectedBuild(c, sp.projection)
        fresh = tuple(explore._outcome(decide(d, build, ev.cat), d, ev.cat) for d in ev.devices)
        assert got.outcomes == fresh, c.id


def test_progress_bar_on_a_terminal_only() -> None:
    """A run over a second shows click's bar on a terminal's stderr; piped, it stays quiet."""
    pexpect = pytest.importorskip("pexpect")
    exe = ROOT / ".venv" / "bin" / "pmempolicy"
    if not exe.exists():
        pytest.skip("needs the venv's console script")
    space = (
        "ACPI_NFIT,LIBNVDIMM,BLK_DEV_PMEM,BTT,ZONE_DEVICE,FS_DAX,MEMORY_HOTPLUG,MEMORY_HOTREMOVE,"
        "TRANSPARENT_HUGEPAGE,NVDIMM_PFN,NVDIMM_DAX,DEV_DAX,DEV_DAX_PMEM,DEV_DAX_KMEM,CXL_BUS,"
        "CXL_PMEM,VIRTIO_PMEM,VIRTIO,PCI,PROPOSED_PFN_IO,X86_64,ARM64,PPC64,"
        "PROPOSED_ONDEMAND_PAGES,OF_PMEM"
    )  # about 3 s listed: long enough for the bar
    child = pexpect.spawn(
        str(exe),
        ["explore", "--list", "--config-space", space, "--format", "csv"],
        timeout=300,
        encoding="utf-8",
        dimensions=(24, 120),
    )
    child.expect(pexpect.EOF)
    assert "evaluate" in (child.before or "") or "enumerate" in (child.before or "")
    proc = subprocess.run(
        [str(exe), "explore", "--list", "--config-space", space, "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and proc.stderr == ""


@pytest.mark.parametrize("space", [SMALL, ARCH, SELECTS], ids=["small", "arch", "selects"])
def test_option_values_one_by_one_equal_the_joint_enumeration(space: tuple[str, ...]) -> None:
    """Dead/always-on options of the whole tree come from one small enumeration per option; on
    sub-trees that must agree with the joint enumeration (itself checked against brute force)."""
    joint = explore.enumerate_space(space)
    single = explore.option_values(space)
    assert single == {n: joint.seen[n] for n in joint.settable}


def test_whole_tree_options(capsys: pytest.CaptureFixture[str]) -> None:
    values = explore.option_values()
    assert values["ACPI_NFIT"] == {"n", "m", "y"}
    assert values["X86_64"] == {"n", "y"}
    # NVDIMM_TEST_BUILD depends on m: never y
    assert values["NVDIMM_TEST_BUILD"] == {"n", "m"}


# ------------------------------------------------------------- whole-tree options, default space


def test_dead_and_always_on_are_over_the_whole_tree() -> None:
    """Symbols outside an enumerated space are not dead because the space leaves them at their
    defaults: the report takes dead/always-on options from the whole tree."""
    from policy import profiles

    devices = profiles.load_profiles([resources.profiles_dir()]).devices
    r = explore.explore(devices, SMALL)
    values = explore.option_values()
    assert r.dead == tuple(s for s, v in values.items() if v == {"n"})
    assert r.always_on == tuple(s for s, v in values.items() if "n" not in v)
    for sym in ("ARM64_PMEM", "PREEMPT_RT", "MEMORY_FAILURE", "INFINIBAND", "MODULES"):
        assert sym not in r.dead
    assert "PREEMPT_NONE" not in r.always_on
    # never claim dead what a shipped configuration enables
    for build in kconfig.shipped_builds():
        assert not [s for s in r.dead if build.enabled(s)], build.name
    doc = json.loads(_render(r, "json"))
    assert doc["dead_options"] == list(r.dead) and doc["always_on"] == list(r.always_on)


def _render(r: explore.ExploreResult, fmt: str) -> str:
    buf = io.StringIO()
    EXPLORE_REPORTERS[fmt]().report(r, buf)
    return buf.getvalue()


@pytest.mark.parametrize("space", [ARCH, SELECTS], ids=["arch", "selects"])
def test_expression_values_equal_the_joint_enumeration(space: tuple[str, ...]) -> None:
    """expression_values (one cone per expression) against the brute-force-checked enumeration."""
    from policy.space import enumerate as explore_space

    exprs = explore_space.evaluated_expressions(kconfig.parse_tree())
    joint = explore.enumerate_space(space)
    want = {
        e: frozenset(explore.monotone_test(e)(c.on) for c in joint.configurations) for e in exprs
    }
    assert explore_space.expression_values(exprs, space) == want


def test_default_space_gives_every_expression_its_whole_tree_values() -> None:
    """No feature, mode or device type is lost by leaving an ancestor out of the default space
    (rdma_odp needs INFINIBAND and INFINIBAND_USER_ACCESS, which are not projected)."""
    from policy.space import enumerate as explore_space

    exprs = explore_space.evaluated_expressions(kconfig.parse_tree())
    space = explore.default_space()
    assert {"INFINIBAND", "INFINIBAND_USER_ACCESS"} <= set(space)
    assert explore_space.expression_values(exprs, space) == explore_space.expression_values(exprs)
    assert explore_space.expression_values(["INFINIBAND_ON_DEMAND_PAGING"], space) == {
        "INFINIBAND_ON_DEMAND_PAGING": frozenset({True, False})
    }


def test_parallel_decisions_equal_sequential(monkeypatch: pytest.MonkeyPatch) -> None:
    from policy import profiles
    from policy.space import listed as explore_eval

    monkeypatch.setattr(explore_eval, "_PARALLEL_MIN", 1)
    devices = profiles.load_profiles([resources.profiles_dir()]).devices
    space = SMALL + ("DEV_DAX", "DEV_DAX_PMEM", "NVDIMM_PFN", "NVDIMM_DAX", "PCI", "CXL_BUS")
    one = explore.explore(devices, space, workers=1)
    two = explore.explore(devices, space, workers=2)
    assert one.evaluated == two.evaluated
    assert one.frontier == two.frontier and one.unreachable == two.unreachable


def test_bit_signature_equals_the_catalog_tests() -> None:
    from policy import profiles

    sp = explore.enumerate_space(ARCH + ("ZONE_DEVICE", "FS_DAX", "DEV_DAX", "MEMORY_HOTPLUG"))
    ev = explore.Evaluator(sp, profiles.load_profiles([resources.profiles_dir()]).devices)
    assert ev._bit_sig is not None
    for c in sp.configurations:
        slow = (c.page_size,) + tuple(f(c.on) for f in ev._tests)
        assert ev.signature(c) == slow


def test_configuration_on_matches_its_bits() -> None:
    sp = explore.enumerate_space(ARCH)
    for c in sp.configurations:
        assert c.on == frozenset(n for i, n in enumerate(c.names) if c.bits >> i & 1)
        assert c.on <= set(sp.projection)
