"""The Linux 6.12 Kconfig tree (``kernels/6.12/Kconfig``) and its shipped defconfigs.

Uses kconfiglib directly (not the ``policy`` package) and, when it is installed, Debian's C
``kconfig-conf`` through a subprocess. Acceptance: loading each real Debian 6.12.117 config of
``tests/data/debian-6.12`` into the tree gives, for every symbol of the tree, exactly the value of
Debian's file (``y``/``m``/int; ``n`` for ``# CONFIG_X is not set``; absent when the file has no
line), apart from the by-design extra lines and the documented rt-featureset differences below.
The tree differs from the 6.1 tree (root ``Kconfig``) only in the symbols listed here and in
``docs/kernel-6.12.md``.

Regenerate the defconfigs after changing the tree with::

    .venv/bin/python tests/test_kconfig_612_tree.py --write-defconfigs
"""
from __future__ import annotations

import lzma
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kconfiglib
import pytest
from test_kconfig_c_crosscheck import assert_same
from test_kconfig_tree import _srctree, _tsv_rows, config_lines, load_config, written_value

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "kernels" / "6.12" / "Kconfig"
KDIR = ROOT / "kernels" / "6.12" / "kconfig"
CONFIGS = ROOT / "kernels" / "6.12" / "configs"
TREE_6_1 = ROOT / "Kconfig"
DATA = Path(__file__).resolve().parent / "data" / "debian-6.12"
REAL = sorted(DATA.glob("config.*.xz"))
DEFS_TSV = DATA / "kconfig-6.1-vs-6.12.tsv"
VALUES_TSV = DATA / "debian-6.12-pmem-values.tsv"
DEBIAN_VERSION = "6.12.117-1~deb12u1"
KCONFIG_CONF = shutil.which("kconfig-conf")

BOOL, TRISTATE, INT = kconfiglib.BOOL, kconfiglib.TRISTATE, kconfiglib.INT

# Shipped defconfig -> the real Debian config it is the minimal form of.
DEFCONFIGS = {
    "debian_amd64": "config.amd64_none_amd64.xz",
    "debian_arm64": "config.arm64_none_arm64.xz",
    "debian_arm64_16k": "config.arm64_none_arm64-16k.xz",
    "debian_rt_amd64": "config.amd64_rt_amd64.xz",
}

# What each defconfig must give after olddefconfig (symbol -> str_value).
EXPECT: dict[str, dict[str, str]] = {
    "debian_amd64": {
        "X86_64": "y", "ZONE_DEVICE": "y", "NVDIMM_PFN": "y", "NVDIMM_DAX": "y", "FS_DAX": "y",
        "DEV_DAX": "m", "DEV_DAX_KMEM": "m", "DEV_DAX_CXL": "m", "LIBNVDIMM": "m",
        "ARCH_WANT_OPTIMIZE_DAX_VMEMMAP": "y", "HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD": "y",
        "MHP_MEMMAP_ON_MEMORY": "y", "MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO": "y",
        "PAGE_SIZE_4KB": "y", "PAGE_SHIFT": "12", "PREEMPT_VOLUNTARY": "y", "PREEMPT_RT": "n",
    },
    "debian_arm64": {
        "ARM64": "y", "ARM64_4K_PAGES": "y", "PAGE_SIZE_4KB": "y", "PAGE_SHIFT": "12",
        "ZONE_DEVICE": "y", "NVDIMM_PFN": "y", "NVDIMM_DAX": "y", "FS_DAX": "y", "FS_DAX_PMD": "y",
        "DAX": "y", "DEV_DAX": "m", "DEV_DAX_PMEM": "m", "DEV_DAX_CXL": "m", "ARM64_PMEM": "y",
        "ARCH_WANT_OPTIMIZE_DAX_VMEMMAP": "n", "HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD": "n",
        "MHP_MEMMAP_ON_MEMORY": "y", "MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO": "y",
    },
    "debian_arm64_16k": {
        "ARM64": "y", "ARM64_16K_PAGES": "y", "PAGE_SIZE_16KB": "y", "PAGE_SIZE_4KB": "n",
        "PAGE_SHIFT": "14", "ZONE_DEVICE": "y", "NVDIMM_PFN": "y", "FS_DAX": "y", "DEV_DAX": "m",
        "MHP_MEMMAP_ON_MEMORY": "y",
    },
    "debian_rt_amd64": {
        "X86_64": "y", "PREEMPT_RT": "y", "TRANSPARENT_HUGEPAGE": "n", "DEV_DAX": "n",
        "DEV_DAX_KMEM": "n", "DEV_DAX_CXL": "n", "FS_DAX_PMD": "n", "FS_DAX": "y",
        "ZONE_DEVICE": "y", "NVDIMM_PFN": "y", "NVDIMM_DAX": "y", "LIBNVDIMM": "m",
        "ARCH_SUPPORTS_HUGE_PFNMAP": "n", "MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO": "y",
    },
}

PROPOSED = (
    "PROPOSED_ONDEMAND_PAGES",
    "PROPOSED_PFN_IO",
    "PROPOSED_EXTENT_PAGES",
    "PROPOSED_PER_DEVICE_PAGES",
    "PROPOSED_DEFAULT_MAP_MEM",
    "PROPOSED_DEFAULT_MAP_DEV",
)
PROPOSALS_MENU = "2015 proposals (NOT in mainline Linux"

# Lines we write that Debian's file does not have, by design: the other architectures' entries
# of the "Architecture" choice, KMSAN (visible here: its clang requirement is not modelled) and
# the proposals, which are not in Linux.
EXTRA_BY_DESIGN = {"X86_64", "ARM64", "PPC64", "KMSAN", *PROPOSED}

# Debian's rt featureset patches kernel/Kconfig.preempt (as upstream 6.13 does): PREEMPT_RT is a
# bool outside the "Preemption Model" choice, PREEMPT_NONE/PREEMPT_VOLUNTARY depend on
# !PREEMPT_RT, and x86 gets PREEMPT_LAZY. The tree models mainline 6.12 (PREEMPT_RT is an entry
# of the choice), so these lines cannot come out as in Debian's rt configs. (debian, ours):
KNOWN_DIFFERENCES: dict[str, dict[str, tuple[str, str]]] = {
    "config.amd64_rt_amd64": {"PREEMPT_NONE": ("-", "n"), "PREEMPT_VOLUNTARY": ("-", "n")},
    "config.arm64_rt_arm64": {
        "PREEMPT_NONE": ("-", "n"), "PREEMPT_VOLUNTARY": ("-", "n"), "PREEMPT": ("y", "n"),
    },
}

# Symbols the 6.1 tree has and 6.12 does not define (renamed or removed in the kernel).
REMOVED_IN_6_12 = {
    "MEMORY_HOTPLUG_DEFAULT_ONLINE", "HAVE_FAST_GUP", "ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP",
    "ARM64_PAGE_SHIFT", "PPC_PAGE_SHIFT", "SRCU",
}
# Symbols new in the 6.12 tree.
ADDED_IN_6_12 = {
    "MHP_DEFAULT_ONLINE_TYPE_OFFLINE", "MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO",
    "MHP_DEFAULT_ONLINE_TYPE_ONLINE_KERNEL", "MHP_DEFAULT_ONLINE_TYPE_ONLINE_MOVABLE",
    "HAVE_GUP_FAST", "ARCH_WANT_OPTIMIZE_DAX_VMEMMAP", "ARCH_WANT_OPTIMIZE_HUGETLB_VMEMMAP",
    "ARCH_SUPPORTS_HUGE_PFNMAP", "ARCH_SUPPORTS_PMD_PFNMAP", "ARCH_SUPPORTS_PUD_PFNMAP",
    "DEV_DAX_CXL", "CXL_REGION_INVALIDATION_TEST", "NVDIMM_SECURITY_TEST", "NUMA_MEMBLKS",
    "GENERIC_ARCH_NUMA", "X86_64_ACPI_NUMA", "PPC_RADIX_MMU", "PPC_THP",
    "HAVE_PAGE_SIZE_4KB", "HAVE_PAGE_SIZE_16KB", "HAVE_PAGE_SIZE_64KB",
    "PAGE_SIZE_4KB", "PAGE_SIZE_16KB", "PAGE_SIZE_64KB", "PAGE_SHIFT",
}
# Symbols in both trees whose definition (type, prompt, dependencies, selects, defaults) differs,
# each because Linux 6.12 differs from 6.1 (docs/kernel-6.12.md has the table).
CHANGED_IN_6_12 = {
    # arch selects: memmap_on_memory, GUP-fast rename, DAX vmemmap gate, page sizes, NUMA
    "X86", "X86_64", "ARM64", "PPC", "PPC_BOOK3S_64",
    "ARM64_4K_PAGES", "ARM64_16K_PAGES", "ARM64_64K_PAGES", "PPC_4K_PAGES", "PPC_64K_PAGES",
    "ARCH_MHP_MEMMAP_ON_MEMORY_ENABLE", "HUGETLB_PAGE", "HUGETLB_PAGE_OPTIMIZE_VMEMMAP",
    "HUGETLB_PAGE_OPTIMIZE_VMEMMAP_DEFAULT_ON", "GET_FREE_REGION", "ACPI_NUMA", "DAX",
    "DEV_DAX_HMEM", "DEV_DAX_HMEM_DEVICES", "DEV_DAX_KMEM", "CXL_BUS", "CXL_ACPI", "CXL_REGION",
}

_SITE = re.compile(r"^[\w./-]+:\d+$")


# --------------------------------------------------------------------------- helpers


def load_tree(path: Path = TREE) -> kconfiglib.Kconfig:
    with _srctree():
        return kconfiglib.Kconfig(str(path), warn=True, warn_to_stderr=False)


def real_config(xz: Path, dest: Path) -> Path:
    path = dest / xz.name[: -len(".xz")]
    path.write_bytes(lzma.decompress(xz.read_bytes()))
    return path


def file_values(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        m = re.match(r"^CONFIG_(\w+)=(.*)$", line) or re.match(
            r"^# CONFIG_(\w+) is (not set)$", line
        )
        if m:
            values[m.group(1)] = "n" if m.group(2) == "not set" else m.group(2)
    return values


def import_real(xz: Path, tmp: Path) -> kconfiglib.Kconfig:
    kconf = load_tree()
    kconf.warn_assign_undef = False  # a distro file names ~9000 symbols we do not model
    load_config(kconf, real_config(xz, tmp))
    return kconf


def defconfig_header(name: str) -> str:
    src = DEFCONFIGS[name][: -len(".xz")]
    return (
        f"# pmempolicy {name}_defconfig (Linux 6.12 tree): minimal config, kconfiglib "
        "write_min_config\n"
        f"# base: Debian linux-config-6.12 {DEBIAN_VERSION}, {src}; set: nothing else\n"
        "# Regenerate: .venv/bin/python tests/test_kconfig_612_tree.py --write-defconfigs\n"
    )


def build_defconfig(name: str, tmp: Path) -> str:
    kconf = import_real(DATA / DEFCONFIGS[name], tmp)
    out = tmp / f"{name}_defconfig"
    kconf.write_min_config(str(out), header=defconfig_header(name))
    return out.read_text()


def _sites(cell: str) -> list[str]:
    return [s for s in cell.split(",") if _SITE.match(s)]


def _tree_text() -> str:
    return "\n".join(p.read_text() for p in [TREE, *sorted(KDIR.glob("*.Kconfig"))])


def _signature(sym: kconfiglib.Symbol) -> tuple:
    """Everything that decides a symbol's value, as text (help and comments left out)."""
    s = kconfiglib.expr_str
    return (
        kconfiglib.TYPE_TO_STR[sym.orig_type],
        sorted(n.prompt[0] for n in sym.nodes if n.prompt),
        s(sym.direct_dep),
        sorted((t.name, s(c)) for t, c in sym.selects),
        sorted((t.name, s(c)) for t, c in sym.implies),
        [(s(v), s(c)) for v, c in sym.defaults],
        sym.choice.nodes[0].prompt[0] if sym.choice else None,
        sorted(s.name for s in sym.choice.syms) if sym.choice else None,
    )


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def tree() -> kconfiglib.Kconfig:
    return load_tree()


@pytest.fixture(scope="module")
def tree_6_1() -> kconfiglib.Kconfig:
    return load_tree(TREE_6_1)


# --------------------------------------------------------------------------- the tree


def test_parses_with_zero_warnings(tree: kconfiglib.Kconfig) -> None:
    assert tree.warnings == []
    assert "Linux 6.12" in tree.mainmenu_text
    assert len(tree.unique_defined_syms) > 150


def test_sources_plain_repo_relative_paths() -> None:
    files = [TREE, *sorted(KDIR.glob("*.Kconfig"))]
    sourced = []
    for path in files:
        body = path.read_text()
        assert not re.search(r"^\s*(rsource|osource|orsource)\b", body, flags=re.M), path
        code = [
            line for line in body.splitlines()
            if not line.lstrip().startswith("#") and not line.startswith("\t  ")
        ]
        assert not [line for line in code if "$(" in line], f"{path}: preprocessor syntax"
        assert not re.search(r"^\s*modules\s*$", body, flags=re.M), f"{path}: bare 'modules'"
        sourced += re.findall(r'^\s*source "([^"]+)"$', body, flags=re.M)
    assert sourced
    for rel in sourced:
        assert rel.startswith("kernels/6.12/kconfig/") and rel.endswith(".Kconfig"), rel
        assert (ROOT / rel).is_file(), rel
    assert {Path(p).name for p in sourced} == {p.name for p in KDIR.glob("*.Kconfig")}


def test_every_file_is_parsed(tree: kconfiglib.Kconfig) -> None:
    parsed = {Path(p).name for p in tree.kconfig_filenames}
    assert {p.name for p in KDIR.glob("*.Kconfig")} <= parsed


def test_kconfig_style_tabs_and_help_indent() -> None:
    for path in [TREE, *sorted(KDIR.glob("*.Kconfig"))]:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            where = f"{path.name}:{n}"
            assert not line.startswith(" "), f"{where}: indent with tabs"
            assert line == line.rstrip(), f"{where}: trailing whitespace"
            assert len(line.expandtabs(8)) <= 100, f"{where}: line too long"
            if line.strip() == "help":
                assert line == "\thelp", where


def test_no_undefined_references(tree: kconfiglib.Kconfig) -> None:
    undefined = sorted(
        s.name for s in tree.syms.values()
        if not s.nodes and not re.fullmatch(r"-?\d+|0[xX][0-9a-fA-F]+", s.name)
    )
    assert undefined == []


def test_modules_symbol(tree: kconfiglib.Kconfig) -> None:
    assert tree.modules is tree.syms["MODULES"]


# --------------------------------------------------------------------------- against the kernel


def test_tsv_symbols_have_the_6_12_type_and_prompt(tree: kconfiglib.Kconfig) -> None:
    """Every symbol kconfig-6.1-vs-6.12.tsv lists for 6.12 is modelled with its type/prompt."""
    problems = []
    for row in _tsv_rows(DEFS_TSV):
        name = row["symbol"]
        sym = tree.syms.get(name)
        modelled = sym is not None and bool(sym.nodes)
        if row["6.12_at"] == "absent":
            # PPC_THP is "absent" there because that TSV was computed for x86 and arm64 only;
            # it is arch/powerpc/platforms/Kconfig.cputype:108 in 6.12.
            if modelled and name != "PPC_THP":
                problems.append(f"{name}: absent in 6.12 but modelled")
            continue
        if not modelled:
            problems.append(f"{name}: in 6.12 ({row['6.12_at']}) but not modelled")
            continue
        typ = row["6.12_type"].split(" ", 1)[0] or row["6.12_default"].split(" ", 1)[0]
        typ = {"def_bool": "bool", "def_tristate": "tristate"}.get(typ, typ)
        if typ != kconfiglib.TYPE_TO_STR[sym.orig_type]:
            problems.append(f"{name}: type {kconfiglib.TYPE_TO_STR[sym.orig_type]} != {typ}")
        m = re.search(r'"(.*)"', row["6.12_type"])
        kernel_prompts = {m.group(1)} if m else set()
        ours = {n.prompt[0] for n in sym.nodes if n.prompt}
        if ours != kernel_prompts:
            problems.append(f"{name}: prompts {sorted(ours)} != {sorted(kernel_prompts)}")
    assert problems == []


def test_help_and_comments_cite_6_12_sites(tree: kconfiglib.Kconfig) -> None:
    """Prompted symbols: help with Cost/Models and the 6.12 file:line; promptless ones: the
    6.12 file:line in a comment; no stale 6.1 file:line left (unless marked "6.1 ...")."""
    rows = {r["symbol"]: r for r in _tsv_rows(DEFS_TSV)}
    text = _tree_text()
    missing, no_cost, no_model, wrong_site, stale = [], [], [], [], []
    for node in tree.node_iter():
        item = node.item
        if not node.prompt or not isinstance(item, (kconfiglib.Symbol, kconfiglib.Choice)):
            continue
        label = getattr(item, "name", None) or f"choice {node.prompt[0]!r}"
        help_text = node.help or ""
        if len(help_text.split()) < 10:
            missing.append(label)
            continue
        if "Cost" not in help_text:
            no_cost.append(label)
        if "Models:" not in help_text:
            no_model.append(label)
        name = getattr(item, "name", None)
        if name in rows and _sites(rows[name]["6.12_at"]):
            if not any(site in help_text for site in _sites(rows[name]["6.12_at"])):
                wrong_site.append(f"{name} (want {rows[name]['6.12_at']})")
    sites_6_12 = {s for r in rows.values() for s in _sites(r["6.12_at"])}
    for name, row in rows.items():
        sym = tree.syms.get(name)
        if sym is None or not sym.nodes:
            continue
        for site in _sites(row["6.12_at"]):
            arch = re.match(r"arch/(\w+)/", site)
            if arch and arch.group(1) not in ("x86", "arm64", "powerpc"):
                continue
            if not re.search(re.escape(site) + r"(?!\d)", text):
                wrong_site.append(f"{name}: {site} not cited")
        for site in set(_sites(row["6.1_at"])) - sites_6_12:
            if re.search(r"(?<!6\.1 )" + re.escape(site) + r"(?!\d)", text):
                stale.append(f"{name}: 6.1 site {site}")
    assert missing == [], "prompted symbols without help"
    assert no_cost == [], "help without a Cost paragraph"
    assert no_model == [], "help without 'Models:'"
    assert wrong_site == [], "6.12 file:line of kconfig-6.1-vs-6.12.tsv not cited"
    assert stale == [], "6.1 file:line left in the 6.12 tree"


def test_memmap_cost_is_stated_exactly(tree: kconfiglib.Kconfig) -> None:
    for name in ("ZONE_DEVICE", "NVDIMM_PFN", "LIBNVDIMM", "SPARSEMEM_VMEMMAP", "DEV_DAX_KMEM"):
        assert "1.5625 %" in " ".join(n.help or "" for n in tree.syms[name].nodes), name
    text = _tree_text()
    assert "1.2 %" not in text and "1.2%" not in text  # the 2015 thread's wrong figure


def test_differs_from_the_6_1_tree_only_where_linux_differs(
    tree: kconfiglib.Kconfig, tree_6_1: kconfiglib.Kconfig
) -> None:
    old = {s.name: s for s in tree_6_1.unique_defined_syms}
    new = {s.name: s for s in tree.unique_defined_syms}
    assert set(old) - set(new) == REMOVED_IN_6_12
    assert set(new) - set(old) == ADDED_IN_6_12
    changed = {n for n in set(old) & set(new) if _signature(old[n]) != _signature(new[n])}
    assert changed == CHANGED_IN_6_12


def test_tsv_same_symbols_are_unchanged(
    tree: kconfiglib.Kconfig, tree_6_1: kconfiglib.Kconfig
) -> None:
    same = [r["symbol"] for r in _tsv_rows(DEFS_TSV) if r["changed"] == "same"]
    checked = 0
    for name in same:
        if name in ADDED_IN_6_12 or name in CHANGED_IN_6_12:
            continue  # PPC_THP (see above); the arch symbols whose selects changed
        if name in tree.syms and tree.syms[name].nodes:
            checked += 1
            assert _signature(tree.syms[name]) == _signature(tree_6_1.syms[name]), name
    assert checked >= 70, checked


def test_proposals_menu_is_the_6_1_one(
    tree: kconfiglib.Kconfig, tree_6_1: kconfiglib.Kconfig
) -> None:
    menus = [
        n for n in tree.node_iter()
        if n.item is kconfiglib.MENU and n.prompt[0].startswith(PROPOSALS_MENU)
    ]
    assert len(menus) == 1
    inside = set()
    for node in tree.node_iter():
        parent = node.parent
        while parent is not None and parent is not menus[0]:
            parent = parent.parent
        if parent is menus[0] and isinstance(node.item, kconfiglib.Symbol):
            inside.add(node.item.name)
    assert inside == set(PROPOSED)
    assert {s.name for s in tree.unique_defined_syms if s.name.startswith("PROPOSED_")} == set(
        PROPOSED
    )
    for name in PROPOSED:
        assert _signature(tree.syms[name]) == _signature(tree_6_1.syms[name]), name
        assert "NOT in Linux" in (tree.syms[name].nodes[0].help or "")
        assert tree.syms[name].str_value == "n"


ARCH_HOOKS: dict[str, dict[str, str]] = {
    "X86_64": {
        "ARCH_WANT_OPTIMIZE_DAX_VMEMMAP": "y", "ARCH_WANT_OPTIMIZE_HUGETLB_VMEMMAP": "y",
        "HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD": "y", "ARCH_MHP_MEMMAP_ON_MEMORY_ENABLE": "y",
        "HAVE_GUP_FAST": "y", "ARCH_SUPPORTS_RT": "y", "PAGE_SIZE_4KB": "y", "PAGE_SHIFT": "12",
        "ARCH_HAS_PMEM_API": "y", "SELECT_MEMORY_MODEL": "n", "X86": "y", "PPC": "n",
    },
    "ARM64": {
        "ARCH_WANT_OPTIMIZE_DAX_VMEMMAP": "n", "ARCH_WANT_OPTIMIZE_HUGETLB_VMEMMAP": "n",
        "HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD": "n", "ARCH_MHP_MEMMAP_ON_MEMORY_ENABLE": "y",
        "HAVE_GUP_FAST": "y", "ARCH_SUPPORTS_RT": "y", "PAGE_SIZE_4KB": "y", "PAGE_SHIFT": "12",
        "ARCH_HAS_PMEM_API": "n", "SPARSEMEM_VMEMMAP": "y", "X86": "n",
    },
    "PPC64": {
        "ARCH_WANT_OPTIMIZE_DAX_VMEMMAP": "y", "ARCH_MHP_MEMMAP_ON_MEMORY_ENABLE": "y",
        "PPC_RADIX_MMU": "y", "PPC_THP": "y", "HAVE_ARCH_TRANSPARENT_HUGEPAGE": "y",
        "HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD": "y", "ARCH_HAS_MEMREMAP_COMPAT_ALIGN": "y",
        "PPC_64K_PAGES": "y", "PAGE_SIZE_64KB": "y", "PAGE_SHIFT": "16",
        "SELECT_MEMORY_MODEL": "y", "SPARSEMEM": "y",
    },
}


@pytest.mark.parametrize("arch", sorted(ARCH_HOOKS))
def test_arch_hooks_are_select_driven(arch: str) -> None:
    kconf = load_tree()
    assert kconf.syms[arch].set_value("y")
    for name, value in ARCH_HOOKS[arch].items():
        assert kconf.syms[name].str_value == value, name
    assert kconf.warnings == []


def test_ppc64_without_radix_loses_memmap_on_memory_and_dax_dedup() -> None:
    kconf = load_tree()
    assert kconf.syms["PPC64"].set_value("y") and kconf.syms["PPC_RADIX_MMU"].set_value("n")
    for name in ("ARCH_MHP_MEMMAP_ON_MEMORY_ENABLE", "ARCH_WANT_OPTIMIZE_DAX_VMEMMAP"):
        assert kconf.syms[name].str_value == "n", name
    assert kconf.syms["PPC_THP"].str_value == "y"  # hash MMU + 64 KiB pages
    assert kconf.syms["PPC_4K_PAGES"].set_value("y")
    assert kconf.syms["PPC_THP"].str_value == "n" and kconf.syms["PAGE_SHIFT"].str_value == "12"


def test_memory_hotplug_default_online_is_a_choice(tree: kconfiglib.Kconfig) -> None:
    choice = tree.syms["MHP_DEFAULT_ONLINE_TYPE_OFFLINE"].choice
    assert choice is not None and choice.nodes[0].prompt[0] == "Memory Hotplug Default Online Type"
    assert [s.name for s in choice.syms] == [
        "MHP_DEFAULT_ONLINE_TYPE_OFFLINE", "MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO",
        "MHP_DEFAULT_ONLINE_TYPE_ONLINE_KERNEL", "MHP_DEFAULT_ONLINE_TYPE_ONLINE_MOVABLE",
    ]
    kconf = load_tree()
    assert kconf.syms["MEMORY_HOTPLUG"].set_value("y")
    assert kconf.syms["MHP_DEFAULT_ONLINE_TYPE_OFFLINE"].str_value == "y"  # kernel default


# --------------------------------------------------------------------------- real configs


def test_real_configs_are_there() -> None:
    names = {p.name for p in REAL}
    assert set(DEFCONFIGS.values()) <= names
    assert {"config.amd64_none_amd64.xz", "config.arm64_none_arm64.xz"} <= names
    for xz in REAL:
        head = lzma.decompress(xz.read_bytes())[:200].decode()
        assert "6.12.117 Kernel Configuration" in head, xz.name


@pytest.mark.parametrize("xz", REAL, ids=lambda p: p.name[: -len(".xz")])
def test_real_config_imports_faithfully(xz: Path, tmp_path: Path) -> None:
    """Every symbol of the tree gets exactly the value of Debian's file (absent = absent)."""
    kconf = import_real(xz, tmp_path)
    real = file_values(real_config(xz, tmp_path).read_text())
    disagree = {}
    for sym in kconf.unique_defined_syms:
        ours, theirs = written_value(sym), real.get(sym.name, "-")
        if ours != theirs and not (theirs == "-" and sym.name in EXTRA_BY_DESIGN):
            disagree[sym.name] = (theirs, ours)
    assert disagree == KNOWN_DIFFERENCES.get(xz.name[: -len(".xz")], {}), "symbol: (debian, ours)"
    kconf.write_config(str(tmp_path / ".config"))
    assert kconf.warnings == []


def test_values_tsv_agrees_with_the_files_and_the_tree(tmp_path: Path) -> None:
    """debian-6.12-pmem-values.tsv (shared reference) = the real files = the tree's import."""
    rows = _tsv_rows(VALUES_TSV)
    columns = [c for c in rows[0] if c.startswith("config.")]
    assert len(columns) == 2
    for column in columns:
        xz = DATA / (column.split(":", 1)[0] + ".xz")
        real = file_values(real_config(xz, tmp_path).read_text())
        kconf = import_real(xz, tmp_path)
        modelled = 0
        for row in rows:
            name, want = row["symbol"], row[column]
            assert real.get(name, "-") == want, (column, name)
            sym = kconf.syms.get(name)
            if sym is not None and sym.nodes and name not in EXTRA_BY_DESIGN:
                modelled += 1
                assert written_value(sym) == want, (column, name)
        assert modelled >= 110, modelled


# --------------------------------------------------------------------------- defconfigs


def test_defconfig_set_is_complete() -> None:
    on_disk = {p.name[: -len("_defconfig")] for p in CONFIGS.glob("*_defconfig")}
    assert on_disk == set(DEFCONFIGS)


@pytest.mark.parametrize("name", sorted(DEFCONFIGS))
def test_defconfig_is_up_to_date_and_minimal(name: str, tmp_path: Path) -> None:
    shipped = (CONFIGS / f"{name}_defconfig").read_text()
    assert config_lines(shipped) == config_lines(build_defconfig(name, tmp_path)), (
        "regenerate with --write-defconfigs"
    )
    kconf = load_tree()
    load_config(kconf, CONFIGS / f"{name}_defconfig")
    kconf.write_min_config(str(tmp_path / "again"))
    assert config_lines((tmp_path / "again").read_text()) == config_lines(shipped)


@pytest.mark.parametrize("name", sorted(DEFCONFIGS))
def test_defconfig_loads_cleanly_with_expected_values(name: str, tmp_path: Path) -> None:
    kconf = load_tree()
    kconf.warn_assign_undef = True  # a defconfig may only name symbols of the tree
    load_config(kconf, CONFIGS / f"{name}_defconfig")
    kconf.write_config(str(tmp_path / ".config"))
    assert kconf.warnings == []
    for sym_name, value in EXPECT[name].items():
        assert kconf.syms[sym_name].str_value == value, sym_name


@pytest.mark.parametrize("name", sorted(DEFCONFIGS))
def test_defconfig_equals_full_debian_import(name: str, tmp_path: Path) -> None:
    """olddefconfig of the defconfig == olddefconfig of Debian's full config."""
    full = import_real(DATA / DEFCONFIGS[name], tmp_path)
    full.write_config(str(tmp_path / "full"))
    mini = load_tree()
    load_config(mini, CONFIGS / f"{name}_defconfig")
    mini.write_config(str(tmp_path / "mini"))
    assert config_lines((tmp_path / "full").read_text()) == config_lines(
        (tmp_path / "mini").read_text()
    )


# --------------------------------------------------------------------------- the C tool

needs_c_tool = pytest.mark.skipif(
    KCONFIG_CONF is None, reason="kconfig-conf (Debian package kconfig-frontends) not installed"
)


def c_conf(mode: str, config: Path) -> str:
    """Run ``kconfig-conf --<mode> kernels/6.12/Kconfig`` from the repository root."""
    assert KCONFIG_CONF is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("KCONFIG_")}
    env["KCONFIG_CONFIG"] = str(config)
    env["srctree"] = str(ROOT)
    result = subprocess.run(
        [KCONFIG_CONF, "-s", f"--{mode}", str(TREE.relative_to(ROOT))],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, f"kconfig-conf --{mode}:\n{result.stdout}{result.stderr}"
    return config.read_text()


def _olddefconfig_both(src: Path, tmp: Path, what: str) -> None:
    shutil.copy(src, tmp / "c.config")
    kconf = load_tree()
    kconf.warn_assign_undef = False
    load_config(kconf, src)
    kconf.write_config(str(tmp / "py.config"))
    assert_same(c_conf("olddefconfig", tmp / "c.config"), (tmp / "py.config").read_text(), what)


@needs_c_tool
@pytest.mark.parametrize("name", sorted(DEFCONFIGS))
def test_c_tool_agrees_on_shipped_defconfigs(name: str, tmp_path: Path) -> None:
    _olddefconfig_both(CONFIGS / f"{name}_defconfig", tmp_path, f"{name}_defconfig")


@needs_c_tool
@pytest.mark.parametrize("xz", REAL, ids=lambda p: p.name[: -len(".xz")])
def test_c_tool_agrees_on_real_configs(xz: Path, tmp_path: Path) -> None:
    _olddefconfig_both(real_config(xz, tmp_path), tmp_path, xz.name)


@needs_c_tool
@pytest.mark.parametrize("name", sorted(DEFCONFIGS))
def test_c_tool_savedefconfig_gives_the_shipped_lines(name: str, tmp_path: Path) -> None:
    """kconfig-conf --savedefconfig of the full import writes the same minimal lines."""
    cfg = tmp_path / ".config"
    shutil.copy(real_config(DATA / DEFCONFIGS[name], tmp_path), cfg)
    c_conf("olddefconfig", cfg)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KCONFIG_")}
    env.update(KCONFIG_CONFIG=str(cfg), srctree=str(ROOT))
    out = tmp_path / "saved"
    assert KCONFIG_CONF is not None
    subprocess.run(
        [KCONFIG_CONF, "-s", f"--savedefconfig={out}", str(TREE.relative_to(ROOT))],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=60,
    )
    shipped = config_lines((CONFIGS / f"{name}_defconfig").read_text())
    assert sorted(config_lines(out.read_text())) == sorted(shipped)


def _random_config(seed: int, dest: Path) -> Path:
    """Seeded random values for the visible symbols, assigned in menu order."""
    rnd = random.Random(seed)
    kconf = load_tree()
    kconf.warn = False
    for node in kconf.node_iter():
        item = node.item
        if isinstance(item, kconfiglib.Choice) and item.visibility:
            candidates = [s for s in item.syms if s.visibility]
            if candidates:
                rnd.choice(candidates).set_value(2)
        elif (
            isinstance(item, kconfiglib.Symbol) and node.prompt and not item.choice
            and item.orig_type in (BOOL, TRISTATE) and item.visibility and item.assignable
        ):
            item.set_value(rnd.choice(item.assignable))
    kconf.write_config(str(dest), header="")
    return dest


@needs_c_tool
@pytest.mark.parametrize("mode", ["alldefconfig", "allnoconfig", "allyesconfig", "allmodconfig"])
def test_c_tool_all_configs_are_stable_in_kconfiglib(mode: str, tmp_path: Path) -> None:
    """What the C tool writes for all*config, kconfiglib's olddefconfig leaves unchanged."""
    c_text = c_conf(mode, tmp_path / "c.config")
    kconf = load_tree()
    load_config(kconf, tmp_path / "c.config")
    kconf.write_config(str(tmp_path / "py.config"))
    assert_same(c_text, (tmp_path / "py.config").read_text(), mode)


@needs_c_tool
@pytest.mark.parametrize("seed", range(24))
def test_c_tool_agrees_on_random_configs(seed: int, tmp_path: Path) -> None:
    src = _random_config(seed, tmp_path / "random.config")
    _olddefconfig_both(src, tmp_path, f"random seed {seed}")


def test_random_configs_cover_every_architecture(tmp_path: Path) -> None:
    arches = set()
    for seed in range(24):
        text = _random_config(seed, tmp_path / f"r{seed}").read_text()
        arches |= {a for a in ("X86_64", "ARM64", "PPC64") if f"CONFIG_{a}=y" in text}
    assert arches == {"X86_64", "ARM64", "PPC64"}


def _write_defconfigs() -> None:
    import tempfile

    CONFIGS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in DEFCONFIGS:
            (CONFIGS / f"{name}_defconfig").write_text(build_defconfig(name, Path(tmp)))
            print(f"wrote {(CONFIGS / f'{name}_defconfig').relative_to(ROOT)}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-defconfigs"]:
        _write_defconfigs()
    else:
        sys.exit(__doc__)
