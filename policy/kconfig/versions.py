"""The kernel versions pmempolicy models, as data: where each tree lives and what the engine reads.

Every version-specific name the decision engine reads comes from a :class:`KernelVersion` record
(the devdax vmemmap-dedup gate, how the page size is derived, the hotplug auto-online symbols,
whether dax/kmem can put a memmap on the hot-added memory), never from ``if version`` branches.
Adding the next LTS is adding its tree under ``kernels/<version>/`` and one record here.

A config names its version in its header (``# Linux/x86 6.12.117 Kernel Configuration``); our
shipped defconfigs carry no header and take the version of the directory they ship in. A config
of a version that is not modelled is evaluated as the nearest lower modelled one (the lowest one
for anything older), with a warning saying what may differ.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from policy import resources


@dataclass(frozen=True)
class KernelVersion:
    """One modelled kernel: its tree, its defconfigs and the symbol names the engine reads.

    ``page_size_symbols``: (symbol, bytes) pairs, the first one that is y gives the page size,
    else 4 KiB (6.1: ARM64_*_PAGES/PPC_*_PAGES); ``page_shift_symbol``: the int symbol whose value
    gives ``1 << value`` (6.12: PAGE_SHIFT, arch/Kconfig:1239). ``page_relative_aligns``: the
    ``--align`` choices scale with the page size (PAGE_SIZE, HPAGE_PMD_SIZE, HPAGE_PUD_SIZE); the
    6.1 model kept the 4 KiB values. ``memmap_on_memory``: dax/kmem can hot-add with
    MHP_MEMMAP_ON_MEMORY (kernel >= 6.8, drivers/dax/kmem.c:162-171). ``zero_size_refused``: a
    pfn layout whose usable size is 0 after end truncation is refused (6.12 pfn_devs.c:818).
    """

    name: str  # "6.1"
    source_version: str  # the Linux release the tree models: "6.1.192"
    kconfig: str  # the root Kconfig, relative to the data root
    configs: str  # the shipped defconfigs, relative to the data root
    dedup_gate: str  # devdax vmemmap dedup compiled in
    dedup_gate_source: str
    page_size_symbols: tuple[tuple[str, int], ...] = ()
    page_shift_symbol: str = ""
    page_relative_aligns: bool = False
    auto_online: str = "n"  # Kconfig expression: the kernel onlines hot-added memory itself
    # (Kconfig symbol, online type) in the order the kernel reads them: the default online type
    # of hot-added memory (mhp_get_default_online_type); none that holds: offline
    online_types: tuple[tuple[str, str], ...] = ()
    online_types_source: str = ""
    memmap_on_memory: bool = False
    memmap_on_memory_source: str = ""
    zero_size_refused: bool = False
    zero_size_source: str = ""
    writable_pin_fails_on_page_cache: bool = False
    # symbols the model defines that a real kernel of this version does not write (besides the
    # PROPOSED_ menu): import-config does not expect them in a real file
    model_only: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[int, ...]:
        return version_key(self.name)


VERSIONS: tuple[KernelVersion, ...] = (
    KernelVersion(
        name="6.1",
        source_version="6.1.192",
        kconfig="Kconfig",
        configs="configs",
        dedup_gate="ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP",
        dedup_gate_source="fs/Kconfig:252 (6.1)",
        page_size_symbols=(("ARM64_16K_PAGES", 16384), ("ARM64_64K_PAGES", 65536),
                           ("PPC_64K_PAGES", 65536)),
        auto_online="MEMORY_HOTPLUG_DEFAULT_ONLINE",
        online_types=(("MEMORY_HOTPLUG_DEFAULT_ONLINE", "online"),),
        online_types_source="mm/memory_hotplug.c mhp_default_online_type (6.1); "
                            "zone_for_pfn_range, default_zone_for_pfn",
        # only the PREEMPT_RT patch set selects it on 6.1 (Debian's -rt flavour); the model
        # selects it so an RT build can be modelled (kconfig/arch.Kconfig)
        model_only=("ARCH_SUPPORTS_RT",),
    ),
    KernelVersion(
        name="6.12",
        source_version="6.12.117",
        kconfig="kernels/6.12/Kconfig",
        configs="kernels/6.12/configs",
        dedup_gate="ARCH_WANT_OPTIMIZE_DAX_VMEMMAP",
        dedup_gate_source="mm/Kconfig:496; include/linux/mm.h:3942-3958",
        page_shift_symbol="PAGE_SHIFT",
        page_relative_aligns=True,
        auto_online="MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO || MHP_DEFAULT_ONLINE_TYPE_ONLINE_KERNEL"
                    " || MHP_DEFAULT_ONLINE_TYPE_ONLINE_MOVABLE",
        online_types=(("MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO", "online"),
                      ("MHP_DEFAULT_ONLINE_TYPE_ONLINE_KERNEL", "online_kernel"),
                      ("MHP_DEFAULT_ONLINE_TYPE_ONLINE_MOVABLE", "online_movable")),
        online_types_source="mm/Kconfig:553-602; mm/memory_hotplug.c:1593 (auto-online), "
                            ":1039-1077 zone_for_pfn_range, default_zone_for_pfn",
        memmap_on_memory=True,
        memmap_on_memory_source="drivers/dax/bus.c:1322-1362; drivers/dax/kmem.c:162-171; "
                                "mm/memory_hotplug.c:76-118, :1360-1407",
        zero_size_refused=True,
        zero_size_source="drivers/nvdimm/pfn_devs.c:818 (offset >= size - end_trunc), :614",
        writable_pin_fails_on_page_cache=True,
    ),
)

DEFAULT = "6.1"

_HEADER = re.compile(r"^#\s*Linux/(\S+)\s+(\d+)\.(\d+)(?:\.(\d+))?\S*\s+Kernel Configuration",
                     re.MULTILINE)


@functools.lru_cache(maxsize=64)
def version_key(name: str) -> tuple[int, ...]:
    """``"6.12"`` -> ``(6, 12)``; cached: the catalog's version rules ask it of a handful of
    names on every verdict."""
    return tuple(int(p) for p in name.split("."))


def holds_in(name: str, since: Optional[str], until: Optional[str]) -> bool:
    """Whether a rule with ``since``/``until`` (modelled version names, inclusive) holds in
    kernel ``name``: the catalog's version selection."""
    key = version_key(name)
    return ((since is None or version_key(since) <= key)
            and (until is None or key <= version_key(until)))


def names() -> tuple[str, ...]:
    """Every modelled version, oldest first."""
    return tuple(v.name for v in sorted(VERSIONS, key=lambda v: v.key))


_BY_NAME = {v.name: v for v in VERSIONS}


def get(name: Optional[str] = None) -> KernelVersion:
    """The record of a modelled version (the default one for None); ValueError for another."""
    want = name or DEFAULT
    got = _BY_NAME.get(want)
    if got is not None:
        return got
    raise ValueError(f"kernel {want!r} is not modelled; modelled: {', '.join(names())}")


def kconfig_file(name: Optional[str] = None) -> Path:
    return resources.tree_root() / get(name).kconfig


def configs_dir(name: Optional[str] = None) -> Path:
    return resources.tree_root() / get(name).configs


@dataclass(frozen=True)
class Detected:
    """The version a config is evaluated as, from its header (``stated`` is what it says)."""

    kernel: str
    stated: Optional[str]  # "6.12.117", or None without a header
    warning: Optional[str] = None


def nearest(stated: str) -> KernelVersion:
    """The modelled version a stated ``major.minor[.patch]`` is evaluated as."""
    key = version_key(".".join(stated.split(".")[:2]))
    ordered = sorted(VERSIONS, key=lambda v: v.key)
    lower = [v for v in ordered if v.key <= key]
    return lower[-1] if lower else ordered[0]


def from_header(text: str) -> Optional[Detected]:
    """The version of a config from its ``# Linux/ARCH X.Y.Z Kernel Configuration`` header."""
    match = _HEADER.search(text[:4096])
    if match is None:
        return None
    major, minor = match.group(2), match.group(3)
    stated = ".".join(p for p in match.group(2, 3, 4) if p is not None)
    series = f"{major}.{minor}"
    got = nearest(stated)
    if got.name == series:
        return Detected(got.name, stated)
    relation = "nearest lower" if got.key <= version_key(series) else "oldest"
    return Detected(got.name, stated, (
        f"Linux {stated} is not modelled: evaluated as {got.name} ({relation} modelled kernel, "
        f"{got.source_version}); symbols, defaults and run-time rules added or changed after "
        f"{got.name} are not seen and results may differ"
    ))


def of_path(path: Path) -> Optional[str]:
    """The version of a shipped defconfig, by the directory it ships in (None for other files)."""
    try:
        parent = path.resolve().parent
    except OSError:
        return None
    for v in VERSIONS:
        if parent == configs_dir(v.name).resolve():
            return v.name
    return None


def qualified(name: str, kernel: str) -> str:
    """A build's display name: ``debian_amd64`` on the default kernel, else ``NAME@6.12``."""
    return name if kernel == DEFAULT else f"{name}@{kernel}"


def split_qualified(name: str) -> tuple[str, Optional[str]]:
    """``debian_amd64@6.12`` -> (``debian_amd64``, ``6.12``); a bare name -> (name, None)."""
    base, sep, kernel = name.rpartition("@")
    if sep and base and kernel in names():
        return base, kernel
    return name, None


def header_line(arch: str, kernel: str) -> str:
    """The header line naming ``kernel`` that pmempolicy writes into configs it generates."""
    karch = {"x86_64": "x86", "arm64": "arm64", "ppc64": "powerpc"}.get(arch, arch)
    return f"# Linux/{karch} {get(kernel).source_version} Kernel Configuration\n"
