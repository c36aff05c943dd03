"""Kernel versions as data: 6.1 and 6.12 side by side, from Debian's real configs.

The registry (policy/kconfig/versions.py), the version from a config's header (with a warning for
an unmodelled one), ``--kernel``, the shipped 6.12 defconfigs in the default matrix, faithful
loading of tests/data/debian-6.12, the 6.12 run-time rules, and ``compare``.
"""
from __future__ import annotations

import json
import lzma
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from policy import kconfig
from policy.cli import cli
from policy.decide import costs
from policy.decide.cache import CachedBuild, DecisionCache
from policy.decide.catalog import catalog
from policy.decide.layouts import layout
from policy.decide.records import Candidate
from policy.kconfig import versions

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
REAL_612 = sorted((DATA / "debian-6.12").glob("config.*.xz"))
GOLDEN_61 = DATA / "matrix-6.1-golden.json"
MiB, GiB = costs.MiB, costs.GiB


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, list(args), standalone_mode=False)
    code = res.return_value if isinstance(res.return_value, int) else res.exit_code
    return code, res.stdout, res.stderr


def test_registry_is_data() -> None:
    assert versions.names() == ("6.1", "6.12")
    assert versions.get("6.12").source_version == "6.12.117"
    assert versions.get("6.1").dedup_gate == "ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP"
    assert versions.get("6.12").dedup_gate == "ARCH_WANT_OPTIMIZE_DAX_VMEMMAP"
    for v in versions.VERSIONS:
        assert versions.kconfig_file(v.name).is_file()
        assert list(versions.configs_dir(v.name).glob("*_defconfig"))
        assert v.dedup_gate in kconfig.parse_tree(v.name).syms


@pytest.mark.parametrize(("header", "kernel", "warns"), [
    ("# Linux/x86 6.12.117 Kernel Configuration", "6.12", False),
    ("# Linux/arm64 6.1.0 Kernel Configuration", "6.1", False),
    ("# Linux/x86 6.6.50 Kernel Configuration", "6.1", True),
    ("# Linux/x86 6.18.1 Kernel Configuration", "6.12", True),
    ("# Linux/x86 5.10.0 Kernel Configuration", "6.1", True),
])
def test_version_from_header(header: str, kernel: str, warns: bool) -> None:
    got = versions.from_header(f"#\n# Automatically generated file; DO NOT EDIT.\n{header}\n")
    assert got is not None and got.kernel == kernel
    assert (got.warning is not None) == warns
    if warns:
        assert f"evaluated as {kernel}" in str(got.warning)
    assert versions.from_header("CONFIG_X86_64=y\n") is None


def test_shipped_builds_cover_both_kernels() -> None:
    builds = {b.name: b for b in kconfig.shipped_builds()}
    assert builds["debian_amd64"].kernel == "6.1"
    for name in ("debian_amd64", "debian_arm64", "debian_arm64_16k", "debian_rt_amd64"):
        assert builds[f"{name}@6.12"].kernel == "6.12"
    assert builds["debian_arm64_16k@6.12"].page_size == 16384
    assert kconfig.find_defconfig("debian_amd64@6.12").parent == versions.configs_dir("6.12")
    assert kconfig.find_defconfig("debian_amd64").parent == versions.configs_dir("6.1")


def test_matrix_on_61_configs_is_unchanged() -> None:
    code, out, _ = run("matrix", "--format", "json", "--kernel", "6.1")
    assert code == 0
    assert json.loads(out) == json.loads(GOLDEN_61.read_text(encoding="utf-8"))


def test_default_matrix_has_612_defconfigs() -> None:
    _, out, _ = run("matrix", "--format", "json")
    configs = json.loads(out)["configs"]
    assert "debian_amd64" in configs and "debian_arm64@6.12" in configs


def test_defconfig_command_for_both_kernels(tmp_path: Path) -> None:
    cfg = tmp_path / ".config"
    code, _, err = run("defconfig", "debian_arm64@6.12", "--config", str(cfg))
    assert code == 0, err
    build = kconfig.load_build(cfg)
    assert build.kernel == "6.12" and build.value("ZONE_DEVICE") == "y"
    code, _, _ = run("defconfig", "debian_arm64", "--config", str(cfg))
    assert code == 0 and kconfig.load_build(cfg).value("ZONE_DEVICE") == "n"


@pytest.mark.parametrize("src", REAL_612, ids=lambda p: p.name)
def test_real_612_configs_load_faithfully(src: Path, tmp_path: Path) -> None:
    """Every modelled symbol of Debian's 6.12 config comes out as the file has it."""
    rt = "_rt_" in src.name
    code, _, err = run("import-config", str(src), "--config", str(tmp_path / ".config"))
    assert code == (1 if "arm64_rt" in src.name else 0), err  # arm64 rt: CONFIG_PREEMPT=y
    rep = kconfig.import_config(src)
    assert rep.build.kernel == "6.12"
    preempt = {"PREEMPT_NONE", "PREEMPT_VOLUNTARY", "PREEMPT"}  # docs/kernel-6.12.md
    assert [d for d in rep.differences if not (rt and d[0] in preempt)] == []
    said = {}
    for line in lzma.decompress(src.read_bytes()).decode().splitlines():
        if line.startswith("CONFIG_"):
            k, _, v = line[7:].partition("=")
            said[k] = v
    again = kconfig.load_build(tmp_path / ".config")
    assert again.kernel == "6.12"
    for sym in rep.build.written:
        if sym in said and not (rt and sym in preempt):
            assert again.value(sym) == said[sym].strip('"'), sym


def test_unmodelled_version_warns_and_kernel_overrides(tmp_path: Path) -> None:
    text = lzma.decompress((DATA / "debian-6.12" / "config.amd64_none_amd64.xz").read_bytes())
    cfg = tmp_path / "config-6.18"
    cfg.write_bytes(text.replace(b"6.12.117 Kernel", b"6.18.3 Kernel"))
    code, _, err = run("evaluate", "--config", str(cfg), str(ROOT / "profiles/host-512g.yaml"))
    assert code == 0
    assert "Linux 6.18.3 is not modelled: evaluated as 6.12" in err
    code, out, err = run("evaluate", "--config", str(cfg), "--kernel", "6.1", "--format", "json",
                         str(ROOT / "profiles/host-512g.yaml"))
    assert err == ""  # --kernel chosen by the user: no guess to warn about


def _layout(build_name: str, size: int, mode: str, map_: str, align: int,
            start: int = 0) -> costs.Layout:
    cat = catalog()
    build = CachedBuild(kconfig.load_build(kconfig.find_defconfig(build_name)))
    dev = SimpleNamespace(size=size, start_align=start, type="e820")
    dt = cat.device_type("e820")
    return layout(dev, dt, cat.mode(mode), Candidate(mode=mode, map=map_, align=align), build,
                  True, DecisionCache())


def test_612_zero_size_layout_is_refused() -> None:
    old = _layout("debian_amd64", GiB, "devdax", "mem", GiB, start=2 * MiB)
    assert old.refused is None and old.usable == 0
    new = _layout("debian_amd64@6.12", GiB, "devdax", "mem", GiB, start=2 * MiB)
    assert new.refused is not None and "pfn_devs.c:818" in new.refused.source


def test_612_dedup_gate_and_arm64() -> None:
    amd = _layout("debian_amd64@6.12", 64 * GiB, "devdax", "mem", 2 * MiB)
    assert amd.dedup  # ARCH_WANT_OPTIMIZE_DAX_VMEMMAP on x86_64
    arm = _layout("debian_arm64@6.12", 64 * GiB, "devdax", "mem", 2 * MiB)
    assert not arm.dedup and arm.dram_memmap == 64 * GiB // 64


def _decision(build_name: str, profile: str) -> dict:
    _, out, _ = run("evaluate", "--config", build_name, "--format", "json",
                    str(ROOT / "profiles" / profile))
    return json.loads(out)


def test_arm64_612_aligns_and_16k_pages() -> None:
    from policy.decide.runtime import candidates_for
    dev = SimpleNamespace(name="x", size=64 * GiB, start_align=0, type="nvdimm", requires=(),
                          wants=(), budget_dram=None, budget_capacity=None, pin=None)
    for name, aligns in (("debian_arm64@6.12", {4096, 2 * MiB}),
                         ("debian_arm64_16k@6.12", {16384, 32 * MiB})):
        build = kconfig.load_build(kconfig.find_defconfig(name))
        got = {r.candidate.align for r in candidates_for(dev, build)
               if r.possible and r.candidate.mode in ("fsdax", "devdax")}
        assert got == aligns, name
    lay = _layout("debian_arm64_16k@6.12", 64 * GiB, "devdax", "mem", 32 * MiB)
    assert lay.dram_memmap == 64 * GiB // 256


def test_compare_text_json_and_query() -> None:
    code, out, _ = run("compare", "debian_arm64", "debian_arm64@6.12")
    assert code == 0
    assert out.startswith("compare debian_arm64 (Linux 6.1) -> debian_arm64@6.12 (Linux 6.12)")
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "raw align=4K -> fsdax map=dev align=2M" in out
    code, out, _ = run("compare", "debian_amd64", "debian_amd64@6.12", "--format", "json")
    doc = json.loads(out)
    assert doc["schema_version"] == 1 and doc["new"]["kernel"] == "6.12"
    assert {d["device"] for d in doc["devices"]}
    code, out, _ = run("compare", "debian_arm64", "debian_arm64@6.12", "--query",
                       "devices[?changed].device")
    assert len(json.loads(out)) >= 1
