"""The Kconfig tree (``Kconfig``, ``kconfig/*.Kconfig``) and the shipped defconfigs.

Uses kconfiglib directly (not ``policy.kconfig``) so that the tree is checked on its own.
Acceptance: loading Debian's real 6.1 configs gives, for every modelled symbol listed in
``tests/data/debian-6.1/debian-6.1-pmem-values.tsv``, exactly the value Debian's file has.

Regenerate the defconfigs after changing the tree or the recipes below with::

    .venv/bin/python tests/test_kconfig_tree.py --write-defconfigs
"""
from __future__ import annotations

import contextlib
import csv
import lzma
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import kconfiglib
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "debian-6.1"
CONFIGS = ROOT / "configs"

DEBIAN = {
    "amd64": DATA / "config.amd64_none_amd64.xz",
    "arm64": DATA / "config.arm64_none_arm64.xz",
}
VALUES_TSV = DATA / "debian-6.1-pmem-values.tsv"
SYMBOLS_TSV = DATA / "kernel-symbols.tsv"

BOOL, TRISTATE, INT = kconfiglib.BOOL, kconfiglib.TRISTATE, kconfiglib.INT

# Symbols other modules rely on, with their Linux 6.1 types.
REQUIRED: dict[str, int] = {
    **dict.fromkeys(
        """SELECT_MEMORY_MODEL FLATMEM_MANUAL SPARSEMEM_MANUAL SPARSEMEM FLATMEM SPARSEMEM_STATIC
        SPARSEMEM_EXTREME SPARSEMEM_VMEMMAP_ENABLE SPARSEMEM_VMEMMAP ARCH_FLATMEM_ENABLE
        ARCH_SPARSEMEM_ENABLE ARCH_SPARSEMEM_DEFAULT ARCH_SELECT_MEMORY_MODEL
        ARCH_ENABLE_MEMORY_HOTPLUG ARCH_ENABLE_MEMORY_HOTREMOVE MEMORY_HOTPLUG
        MEMORY_HOTPLUG_DEFAULT_ONLINE MEMORY_HOTREMOVE MHP_MEMMAP_ON_MEMORY
        ARCH_MHP_MEMMAP_ON_MEMORY_ENABLE MIGRATION MEMORY_ISOLATION ZONE_DEVICE DEVICE_PRIVATE
        HMM_MIRROR GET_FREE_REGION XARRAY_MULTI TRANSPARENT_HUGEPAGE HAVE_ARCH_TRANSPARENT_HUGEPAGE
        HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD HUGETLBFS HUGETLB_PAGE
        ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP HUGETLB_PAGE_OPTIMIZE_VMEMMAP
        HUGETLB_PAGE_OPTIMIZE_VMEMMAP_DEFAULT_ON MEMORY_FAILURE ARCH_SUPPORTS_MEMORY_FAILURE
        ARCH_HAS_PMEM_API ARCH_HAS_UACCESS_FLUSHCACHE ARCH_HAS_COPY_MC
        ARCH_HAS_MEMREMAP_COMPAT_ALIGN ARCH_HAS_PTE_DEVMAP ARCH_HAS_PTE_SPECIAL MEMREGION
        X86_PMEM_LEGACY_DEVICE ARM64_PMEM ND_CLAIM BTT NVDIMM_PFN NVDIMM_DAX NVDIMM_KEYS ACPI_HMAT
        HMEM_REPORTING EFI_SOFT_RESERVE DEV_DAX_HMEM_DEVICES FS_DAX FS_DAX_PMD FS_DAX_LIMITED
        FUSE_DAX CXL_REGION INFINIBAND_USER_MEM INFINIBAND_ON_DEMAND_PAGING PCI_P2PDMA PCI MODULES
        64BIT MMU BLK_DEV HAS_IOMEM PHYS_ADDR_T_64BIT ACPI EFI OF NUMA VIRTIO_MENU X86 X86_64
        ARM64 PPC PPC64 PPC_BOOK3S_64 PPC_64S_HASH_MMU ARM64_4K_PAGES ARM64_16K_PAGES
        ARM64_64K_PAGES PPC_4K_PAGES PPC_64K_PAGES PREEMPT_NONE PREEMPT_VOLUNTARY PREEMPT
        PREEMPT_RT ARCH_SUPPORTS_RT EXPERT PROPOSED_ONDEMAND_PAGES PROPOSED_PFN_IO
        PROPOSED_EXTENT_PAGES PROPOSED_PER_DEVICE_PAGES PROPOSED_DEFAULT_MAP_MEM
        PROPOSED_DEFAULT_MAP_DEV""".split(),
        BOOL,
    ),
    **dict.fromkeys(
        """X86_PMEM_LEGACY PAPR_SCM LIBNVDIMM BLK_DEV_PMEM ND_BTT ND_PFN OF_PMEM ACPI_NFIT DAX
        DEV_DAX DEV_DAX_PMEM DEV_DAX_HMEM DEV_DAX_KMEM VIRTIO_FS FUSE_FS CXL_BUS CXL_PCI CXL_ACPI
        CXL_PMEM CXL_MEM CXL_PORT VIRTIO_PMEM VIRTIO INFINIBAND INFINIBAND_USER_ACCESS""".split(),
        TRISTATE,
    ),
    "ARM64_PAGE_SHIFT": INT,
    "PPC_PAGE_SHIFT": INT,
}

# Not in Linux 6.1: must not be modelled as real symbols.
ABSENT_IN_6_1 = ("ND_BLK", "DEV_DAX_PMEM_COMPAT", "DEV_DAX_CXL")

PROPOSALS_MENU = "2015 proposals (NOT in mainline Linux"
PROPOSED = (
    "PROPOSED_ONDEMAND_PAGES",
    "PROPOSED_PFN_IO",
    "PROPOSED_EXTENT_PAGES",
    "PROPOSED_PER_DEVICE_PAGES",
    "PROPOSED_DEFAULT_MAP_MEM",
    "PROPOSED_DEFAULT_MAP_DEV",
)

# How each configs/<name>_defconfig is made: a base (None = all defaults, or a Debian config)
# and user assignments applied in order.  write_min_config() of the result is the file.
_PMEM_BASE = [("LIBNVDIMM", "y"), ("ACPI_NFIT", "y"), ("X86_PMEM_LEGACY", "y")]
_STRUCT_PAGES = [
    ("MEMORY_HOTPLUG", "y"),
    ("MEMORY_HOTREMOVE", "y"),
    ("ZONE_DEVICE", "y"),
    ("TRANSPARENT_HUGEPAGE", "y"),
    ("DEV_DAX", "y"),
    ("FS_DAX", "y"),
]
RECIPES: dict[str, tuple[str | None, list[tuple[str, str]]]] = {
    "option0_copy": (None, _PMEM_BASE),
    "option1a_mem": (
        None,
        _PMEM_BASE
        + _STRUCT_PAGES
        + [("PROPOSED_PER_DEVICE_PAGES", "y"), ("PROPOSED_DEFAULT_MAP_MEM", "y")],
    ),
    "option1a_dev": (
        None,
        _PMEM_BASE
        + _STRUCT_PAGES
        + [("PROPOSED_PER_DEVICE_PAGES", "y"), ("PROPOSED_DEFAULT_MAP_DEV", "y")],
    ),
    "option1b_ondemand": (
        None,
        _PMEM_BASE + [("MEMORY_HOTPLUG", "y"), ("PROPOSED_ONDEMAND_PAGES", "y")],
    ),
    "option2_pfn": (None, _PMEM_BASE + [("PROPOSED_PFN_IO", "y")]),
    "option3_extent": (None, _PMEM_BASE + [("PROPOSED_EXTENT_PAGES", "y")]),
    "debian_amd64": ("amd64", []),
    "debian_arm64": ("arm64", []),
    "rt_amd64": ("amd64", [("PREEMPT_RT", "y")]),
}

# What each defconfig must give after olddefconfig (symbol -> str_value).
EXPECT: dict[str, dict[str, str]] = {
    "option0_copy": {
        "X86_64": "y", "LIBNVDIMM": "y", "BLK_DEV_PMEM": "y", "BTT": "y",
        "ZONE_DEVICE": "n", "NVDIMM_PFN": "n", "NVDIMM_DAX": "n", "FS_DAX": "n",
        **dict.fromkeys(PROPOSED, "n"),
    },
    "option1a_mem": {
        "ZONE_DEVICE": "y", "NVDIMM_PFN": "y", "NVDIMM_DAX": "y", "FS_DAX": "y",
        "FS_DAX_PMD": "y", "DEV_DAX": "y", "DEV_DAX_PMEM": "y", "DEV_DAX_KMEM": "y",
        "PROPOSED_PER_DEVICE_PAGES": "y", "PROPOSED_DEFAULT_MAP_MEM": "y",
        "PROPOSED_DEFAULT_MAP_DEV": "n", "PROPOSED_ONDEMAND_PAGES": "n",
    },
    "option1a_dev": {
        "ZONE_DEVICE": "y", "NVDIMM_PFN": "y", "NVDIMM_DAX": "y", "FS_DAX": "y",
        "PROPOSED_PER_DEVICE_PAGES": "y", "PROPOSED_DEFAULT_MAP_MEM": "n",
        "PROPOSED_DEFAULT_MAP_DEV": "y",
    },
    "option1b_ondemand": {
        "ZONE_DEVICE": "n", "NVDIMM_PFN": "n", "MEMORY_HOTPLUG": "y",
        "SPARSEMEM_VMEMMAP": "y", "PROPOSED_ONDEMAND_PAGES": "y", "PROPOSED_PFN_IO": "n",
    },
    "option2_pfn": {"ZONE_DEVICE": "n", "DAX": "y", "PROPOSED_PFN_IO": "y"},
    "option3_extent": {"ZONE_DEVICE": "n", "PROPOSED_EXTENT_PAGES": "y"},
    "debian_amd64": {
        "X86_64": "y", "ZONE_DEVICE": "y", "NVDIMM_PFN": "y", "FS_DAX": "y", "DEV_DAX": "m",
        "LIBNVDIMM": "m", "PREEMPT_VOLUNTARY": "y", **dict.fromkeys(PROPOSED, "n"),
    },
    "debian_arm64": {
        "ARM64": "y", "ARM64_4K_PAGES": "y", "ARM64_PAGE_SHIFT": "12", "ZONE_DEVICE": "n",
        "NVDIMM_PFN": "n", "LIBNVDIMM": "m", "ARM64_PMEM": "y", "OF_PMEM": "m",
    },
    "rt_amd64": {
        "PREEMPT_RT": "y", "TRANSPARENT_HUGEPAGE": "n", "DEV_DAX": "n", "FS_DAX_PMD": "n",
        "FS_DAX": "y", "ZONE_DEVICE": "y", "NVDIMM_PFN": "y", "LIBNVDIMM": "m",
    },
}

_CONFIG_LINE = re.compile(r"^(CONFIG_\w+=.*|# CONFIG_\w+ is not set)$")


# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _srctree() -> Iterator[None]:
    old = os.environ.get("srctree")
    os.environ["srctree"] = str(ROOT)
    try:
        yield
    finally:
        if old is None:
            del os.environ["srctree"]
        else:
            os.environ["srctree"] = old


def load_tree() -> kconfiglib.Kconfig:
    with _srctree():
        return kconfiglib.Kconfig(str(ROOT / "Kconfig"), warn=True, warn_to_stderr=False)


def debian_config(arch: str, dest: Path) -> Path:
    path = dest / DEBIAN[arch].name[: -len(".xz")]
    path.write_bytes(lzma.decompress(DEBIAN[arch].read_bytes()))
    return path


def load_config(kconf: kconfiglib.Kconfig, path: Path) -> None:
    with _srctree():
        kconf.load_config(str(path))


def written_value(sym: kconfiglib.Symbol) -> str:
    """What write_config() puts in a .config: the value, 'n' for 'is not set', '-' if absent."""
    line = sym.config_string.strip()
    if not line:
        return "-"
    if line.endswith(" is not set"):
        return "n"
    return line.split("=", 1)[1]


def config_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if _CONFIG_LINE.match(line)]


def build_defconfig(name: str, tmp: Path) -> tuple[kconfiglib.Kconfig, str]:
    """Apply RECIPES[name]; return the tree and the text write_min_config() gives."""
    base, assignments = RECIPES[name]
    kconf = load_tree()
    kconf.warn_assign_undef = False
    if base is not None:
        load_config(kconf, debian_config(base, tmp))
    for sym_name, value in assignments:
        sym = kconf.syms[sym_name]
        assert sym.nodes, f"recipe {name}: {sym_name} is not in the tree"
        assert sym.set_value(value), f"recipe {name}: cannot set {sym_name}={value}"
        assert sym.str_value == value, f"recipe {name}: {sym_name}={sym.str_value}, wanted {value}"
    out = tmp / f"{name}_defconfig"
    kconf.write_min_config(str(out), header=_defconfig_header(name))
    return kconf, out.read_text()


def _defconfig_header(name: str) -> str:
    base, assignments = RECIPES[name]
    what = (
        "all defaults" if base is None else f"Debian 6.1 {base} config ({DEBIAN[base].name})"
    )
    sets = ", ".join(f"{s}={v}" for s, v in assignments) or "nothing else"
    return (
        f"# pmempolicy {name}_defconfig: minimal config (kconfiglib write_min_config)\n"
        f"# base: {what}; set: {sets}\n"
        "# Regenerate: .venv/bin/python tests/test_kconfig_tree.py --write-defconfigs\n"
    )


def _tsv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def _symbol_rows() -> dict[str, list[dict[str, str]]]:
    rows: dict[str, list[dict[str, str]]] = {}
    for row in _tsv_rows(SYMBOLS_TSV):
        rows.setdefault(row["symbol"], []).append(row)
    return rows


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def tree() -> kconfiglib.Kconfig:
    return load_tree()


# --------------------------------------------------------------------------- the tree


def test_parses_with_zero_warnings(tree: kconfiglib.Kconfig) -> None:
    assert tree.warnings == []
    assert tree.mainmenu_text
    assert len(tree.unique_defined_syms) > 150


def test_root_sources_plain_relative_paths() -> None:
    text = (ROOT / "Kconfig").read_text()
    assert "mainmenu " in text
    sources = re.findall(r'^source "([^"]+)"$', text, flags=re.M)
    assert sources, "root Kconfig sources nothing"
    for path in sources:
        assert path.startswith("kconfig/") and path.endswith(".Kconfig")
        assert (ROOT / path).is_file()
    for path in [ROOT / "Kconfig", *sorted((ROOT / "kconfig").glob("*.Kconfig"))]:
        body = path.read_text()
        assert not re.search(r"^\s*(rsource|osource|orsource)\b", body, flags=re.M), path
        code = [
            line for line in body.splitlines()
            if not line.lstrip().startswith("#") and not line.startswith("\t  ")
        ]
        assert not [line for line in code if "$(" in line], f"{path}: preprocessor syntax"
        assert not re.search(r"^\s*modules\s*$", body, flags=re.M), f"{path}: bare 'modules'"


def test_every_file_is_sourced(tree: kconfiglib.Kconfig) -> None:
    parsed = {Path(p).name for p in tree.kconfig_filenames}
    on_disk = {p.name for p in (ROOT / "kconfig").glob("*.Kconfig")}
    assert on_disk <= parsed


def test_kconfig_style_tabs_and_help_indent() -> None:
    for path in [ROOT / "Kconfig", *sorted((ROOT / "kconfig").glob("*.Kconfig"))]:
        in_help = False
        for n, line in enumerate(path.read_text().splitlines(), 1):
            where = f"{path.name}:{n}"
            assert not line.startswith(" "), f"{where}: indent with tabs"
            assert line == line.rstrip(), f"{where}: trailing whitespace"
            assert len(line.expandtabs(8)) <= 100, f"{where}: line too long"
            if line.strip() == "help":
                assert line == "\thelp", where
                in_help = True
                continue
            if in_help:
                if not line.strip():
                    continue
                if line.startswith("\t  "):
                    continue
                in_help = False


def test_no_undefined_references(tree: kconfiglib.Kconfig) -> None:
    # kconfiglib also files unquoted int literals ("default 12") under syms.
    undefined = sorted(
        s.name for s in tree.syms.values()
        if not s.nodes and not re.fullmatch(r"-?\d+|0[xX][0-9a-fA-F]+", s.name)
    )
    assert undefined == []


def test_modules_symbol(tree: kconfiglib.Kconfig) -> None:
    assert tree.modules is tree.syms["MODULES"]


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_required_symbol_exists_with_type(tree: kconfiglib.Kconfig, name: str) -> None:
    sym = tree.syms.get(name)
    assert sym is not None and sym.nodes, f"{name} is not defined"
    assert sym.orig_type == REQUIRED[name], kconfiglib.TYPE_TO_STR[sym.orig_type]


@pytest.mark.parametrize("name", ABSENT_IN_6_1)
def test_symbols_absent_in_6_1_are_not_modelled(tree: kconfiglib.Kconfig, name: str) -> None:
    assert name not in tree.syms or not tree.syms[name].nodes


def test_tsv_symbols_match_kernel_type_and_prompt(tree: kconfiglib.Kconfig) -> None:
    """Every modelled symbol of kernel-symbols.tsv has the kernel's type and exact prompt(s)."""
    problems = []
    for name, rows in _symbol_rows().items():
        sym = tree.syms.get(name)
        if sym is None or not sym.nodes:
            continue
        for row in rows:
            if row["type"] != kconfiglib.TYPE_TO_STR[sym.orig_type]:
                problems.append(f"{name}: type {row['type']} in 6.1")
        kernel_prompts = {r["prompt"] for r in rows} - {"(no prompt)"}
        ours = {node.prompt[0] for node in sym.nodes if node.prompt}
        if ours != kernel_prompts:
            problems.append(f"{name}: prompts {sorted(ours)} != kernel {sorted(kernel_prompts)}")
    assert problems == []


def test_modelled_tsv_symbol_count(tree: kconfiglib.Kconfig) -> None:
    rows = _symbol_rows()
    modelled = [n for n in rows if n in tree.syms and tree.syms[n].nodes]
    absent = [n for n in rows if rows[n][0]["kind"] == "-"]
    # Everything the TSV lists for 6.1 is modelled; only the symbols absent in 6.1 are not.
    assert sorted(set(rows) - set(modelled)) == sorted(absent)


def _prompted_nodes(tree: kconfiglib.Kconfig) -> list[kconfiglib.MenuNode]:
    return [
        node
        for node in tree.node_iter()
        if node.prompt and isinstance(node.item, (kconfiglib.Symbol, kconfiglib.Choice))
    ]


def test_every_prompted_symbol_has_help(tree: kconfiglib.Kconfig) -> None:
    rows = _symbol_rows()
    missing, no_cost, no_model, wrong_site = [], [], [], []
    for node in _prompted_nodes(tree):
        item = node.item
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
        if name in rows and rows[name][0]["file:line"] != "-":
            prompted_sites = [r["file:line"] for r in rows[name] if r["prompt"] != "(no prompt)"]
            if not any(site in help_text for site in prompted_sites):
                wrong_site.append(f"{name} (want {prompted_sites})")
    assert missing == [], "prompted symbols without help"
    assert no_cost == [], "help without a Cost paragraph"
    assert no_model == [], "help without 'Models:'"
    assert wrong_site == [], "help without the kernel file:line of kernel-symbols.tsv"


def test_memmap_cost_is_stated_exactly(tree: kconfiglib.Kconfig) -> None:
    for name in ("ZONE_DEVICE", "NVDIMM_PFN", "LIBNVDIMM", "SPARSEMEM_VMEMMAP"):
        help_text = " ".join(n.help or "" for n in tree.syms[name].nodes)
        assert "1.5625 %" in help_text, name
    text = " ".join(
        (ROOT / "kconfig" / f).read_text() for f in os.listdir(ROOT / "kconfig")
    )
    assert "1.2 %" not in text and "1.2%" not in text  # the 2015 thread's wrong figure


def test_proposals_live_in_their_own_menu(tree: kconfiglib.Kconfig) -> None:
    menus = [
        n for n in tree.node_iter()
        if n.item is kconfiglib.MENU and n.prompt[0].startswith(PROPOSALS_MENU)
    ]
    assert len(menus) == 1
    menu = menus[0]

    def inside(node: kconfiglib.MenuNode) -> bool:
        while node is not None:
            if node is menu:
                return True
            node = node.parent
        return False

    for name in PROPOSED:
        sym = tree.syms[name]
        assert sym.nodes and all(inside(n) for n in sym.nodes), name
        assert "NOT in Linux" in (sym.nodes[0].help or ""), name
    in_menu = {
        n.item.name for n in tree.node_iter()
        if isinstance(n.item, kconfiglib.Symbol) and inside(n)
    }
    assert in_menu == set(PROPOSED)
    outside = {
        s.name for s in tree.unique_defined_syms
        if s.name.startswith("PROPOSED_") and not all(inside(n) for n in s.nodes)
    }
    assert outside == set()
    map_mem = tree.syms["PROPOSED_DEFAULT_MAP_MEM"]
    assert (
        map_mem.choice is not None
        and map_mem.choice is tree.syms["PROPOSED_DEFAULT_MAP_DEV"].choice
    )


def test_proposals_default_off(tree: kconfiglib.Kconfig) -> None:
    kconf = load_tree()
    for name in PROPOSED:
        assert kconf.syms[name].str_value == "n", name


def test_proposal_dependencies(tree: kconfiglib.Kconfig) -> None:
    def deps(name: str) -> str:
        return kconfiglib.expr_str(tree.syms[name].direct_dep)

    for needed in ("SPARSEMEM_VMEMMAP", "MEMORY_HOTPLUG", "LIBNVDIMM"):
        assert needed in deps("PROPOSED_ONDEMAND_PAGES")
    assert "LIBNVDIMM" in deps("PROPOSED_PFN_IO") and "DAX" in deps("PROPOSED_PFN_IO")
    assert "LIBNVDIMM" in deps("PROPOSED_EXTENT_PAGES")
    assert "NVDIMM_PFN" in deps("PROPOSED_PER_DEVICE_PAGES")


def test_transparent_hugepage_needs_non_rt(tree: kconfiglib.Kconfig) -> None:
    assert "!PREEMPT_RT" in kconfiglib.expr_str(tree.syms["TRANSPARENT_HUGEPAGE"].direct_dep)


@pytest.mark.parametrize(
    "arch, expect",
    [
        ("X86_64", {"ARCH_HAS_PTE_DEVMAP": "y", "HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD": "y",
                    "ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP": "y", "ARCH_HAS_PMEM_API": "y",
                    "ARCH_HAS_COPY_MC": "y", "ARCH_MHP_MEMMAP_ON_MEMORY_ENABLE": "y",
                    "ARCH_HAS_MEMREMAP_COMPAT_ALIGN": "n", "SPARSEMEM": "y",
                    "SELECT_MEMORY_MODEL": "n", "X86": "y", "PPC": "n"}),
        ("ARM64", {"ARCH_HAS_PTE_DEVMAP": "y", "HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD": "n",
                   "ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP": "n", "ARCH_HAS_PMEM_API": "n",
                   "ARCH_HAS_COPY_MC": "n", "SPARSEMEM_VMEMMAP": "y", "ARM64_PAGE_SHIFT": "12",
                   "ARCH_MHP_MEMMAP_ON_MEMORY_ENABLE": "y", "X86": "n"}),
        ("PPC64", {"ARCH_HAS_PTE_DEVMAP": "y", "ARCH_HAS_MEMREMAP_COMPAT_ALIGN": "y",
                   "ARCH_HAS_PMEM_API": "y", "ARCH_HAS_COPY_MC": "y",
                   "ARCH_MHP_MEMMAP_ON_MEMORY_ENABLE": "n", "SELECT_MEMORY_MODEL": "y",
                   "SPARSEMEM_MANUAL": "y", "SPARSEMEM": "y", "PPC_64K_PAGES": "y",
                   "PPC_PAGE_SHIFT": "16", "PPC_BOOK3S_64": "y", "PPC_64S_HASH_MMU": "y"}),
    ],
)
def test_arch_hooks_are_select_driven(arch: str, expect: dict[str, str]) -> None:
    kconf = load_tree()
    assert kconf.syms[arch].set_value("y")
    for name, value in expect.items():
        assert kconf.syms[name].str_value == value, name
    assert kconf.warnings == []


# --------------------------------------------------------------------------- Debian


def _debian_expectations(arch: str) -> dict[str, str]:
    column = next(c for c in _tsv_rows(VALUES_TSV)[0] if c.startswith(f"config.{arch}_"))
    return {row["symbol"]: row[column] for row in _tsv_rows(VALUES_TSV)}


@pytest.mark.parametrize("arch", sorted(DEBIAN))
def test_debian_config_imports_faithfully(arch: str, tmp_path: Path) -> None:
    kconf = load_tree()
    kconf.warn_assign_undef = False
    load_config(kconf, debian_config(arch, tmp_path))
    expected = _debian_expectations(arch)
    got = {}
    for name in expected:
        sym = kconf.syms.get(name)
        got[name] = written_value(sym) if sym is not None and sym.nodes else "-"
    disagree = {n: (expected[n], got[n]) for n in expected if expected[n] != got[n]}
    assert disagree == {}, "symbol: (debian, ours)"
    modelled = [n for n in expected if n in kconf.syms and kconf.syms[n].nodes]
    assert len(modelled) >= 95, len(modelled)
    # Writing the config must not add warnings either (select with unmet deps etc.).
    kconf.write_config(str(tmp_path / ".config"))
    assert kconf.warnings == []


@pytest.mark.parametrize("arch", sorted(DEBIAN))
def test_debian_written_config_matches_debian_lines(arch: str, tmp_path: Path) -> None:
    """Every config line we write for a TSV symbol is byte-identical to Debian's line."""
    src = debian_config(arch, tmp_path)
    debian_lines = set(config_lines(src.read_text()))
    kconf = load_tree()
    kconf.warn_assign_undef = False
    load_config(kconf, src)
    out = tmp_path / ".config"
    kconf.write_config(str(out))
    tsv = set(_debian_expectations(arch))
    ours = [
        line for line in config_lines(out.read_text())
        if re.match(r"^(# )?CONFIG_(\w+)", line).group(2) in tsv  # type: ignore[union-attr]
    ]
    assert ours and [line for line in ours if line not in debian_lines] == []


# Lines we write that Debian's file does not have, by design: the other architectures' choice
# entries, the RT hook the model selects on every arch (so PREEMPT_RT is offered), KMSAN (the real
# one needs clang) and the proposals, which are not in Linux.
EXTRA_LINES_BY_DESIGN = {
    "X86_64", "ARM64", "PPC64", "ARCH_SUPPORTS_RT", "PREEMPT_RT", "KMSAN", *PROPOSED,
}


def _debian_values(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^CONFIG_(\w+)=(.*)$", line) or re.match(
            r"^# CONFIG_(\w+) is (not set)$", line
        )
        if m:
            values[m.group(1)] = "n" if m.group(2) == "not set" else m.group(2)
    return values


@pytest.mark.parametrize("arch", sorted(DEBIAN))
def test_debian_every_symbol_of_the_tree_agrees(arch: str, tmp_path: Path) -> None:
    """Beyond the TSV: every symbol of the tree that Debian's file mentions gets Debian's value,
    and the only extra lines are the by-design ones."""
    src = debian_config(arch, tmp_path)
    debian = _debian_values(src)
    kconf = load_tree()
    kconf.warn_assign_undef = False
    load_config(kconf, src)
    disagree, extra = {}, []
    for sym in kconf.unique_defined_syms:
        ours = written_value(sym)
        if sym.name in debian:
            if ours != debian[sym.name]:
                disagree[sym.name] = (debian[sym.name], ours)
        elif ours != "-" and sym.name not in EXTRA_LINES_BY_DESIGN:
            extra.append(sym.name)
    assert disagree == {}, "symbol: (debian, ours)"
    assert extra == []


# --------------------------------------------------------------------------- defconfigs


def test_defconfig_set_is_complete() -> None:
    on_disk = {p.name[: -len("_defconfig")] for p in CONFIGS.glob("*_defconfig")}
    assert set(RECIPES) <= on_disk


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_defconfig_is_up_to_date_and_minimal(name: str, tmp_path: Path) -> None:
    _, text = build_defconfig(name, tmp_path)
    shipped = (CONFIGS / f"{name}_defconfig").read_text()
    assert config_lines(shipped) == config_lines(text), "regenerate with --write-defconfigs"
    # Minimal: loading it and writing the min config again gives the same lines.
    kconf = load_tree()
    load_config(kconf, CONFIGS / f"{name}_defconfig")
    again = tmp_path / "again"
    kconf.write_min_config(str(again))
    assert config_lines(again.read_text()) == config_lines(shipped)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_defconfig_loads_cleanly_with_expected_values(name: str, tmp_path: Path) -> None:
    kconf = load_tree()
    kconf.warn_assign_undef = True  # a defconfig may only name symbols of the tree
    load_config(kconf, CONFIGS / f"{name}_defconfig")
    kconf.write_config(str(tmp_path / ".config"))
    assert kconf.warnings == []
    for sym_name, value in EXPECT[name].items():
        assert kconf.syms[sym_name].str_value == value, sym_name


@pytest.mark.parametrize("arch", sorted(DEBIAN))
def test_debian_defconfig_equals_full_debian_import(arch: str, tmp_path: Path) -> None:
    """olddefconfig of debian_<arch>_defconfig == olddefconfig of Debian's full config."""
    full = load_tree()
    full.warn_assign_undef = False
    load_config(full, debian_config(arch, tmp_path))
    full.write_config(str(tmp_path / "full"))
    mini = load_tree()
    load_config(mini, CONFIGS / f"debian_{arch}_defconfig")
    mini.write_config(str(tmp_path / "mini"))
    assert config_lines((tmp_path / "full").read_text()) == config_lines(
        (tmp_path / "mini").read_text()
    )


def _write_defconfigs() -> None:
    import tempfile

    CONFIGS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in RECIPES:
            _, text = build_defconfig(name, Path(tmp))
            (CONFIGS / f"{name}_defconfig").write_text(text)
            print(f"wrote configs/{name}_defconfig")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-defconfigs"]:
        _write_defconfigs()
    else:
        sys.exit(__doc__)
