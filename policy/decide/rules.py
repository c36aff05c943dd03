"""The catalog's records: modes, aligns, device types, run-time conditions, features, the
dax/kmem hot-add rules, and the versions each holds in (``since``/``until``).

Frozen data loaded from ``policy/data/features.yaml`` by :mod:`policy.decide.catalog`; the
version and page-size helpers the records and the engine share live here too.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional, Protocol

from policy.errors import UsageError
from policy.kconfig import versions
from policy.units import format_size

BASE_PAGE = 4096  # the catalog's aligns are given for 4 KiB pages
SUBSECTION = 2 << 20  # memremap_compat_align(): where nd_pfn_init starts the data at the least


def scaled_align(nominal: int, page: int, page_relative: bool = True) -> int:
    """An align of the catalog, given for 4 KiB pages (PAGE_SIZE, HPAGE_PMD_SIZE, HPAGE_PUD_SIZE),
    for a build's page size: with 16 KiB pages 16K, 32M and 64G (one page, one PMD, one PUD:
    a page-table page holds page/8 entries; drivers/nvdimm/pfn_devs.c
    nd_pfn_supported_alignments). ``page_relative=False`` keeps the 4 KiB values (the 6.1
    model)."""
    if not page_relative or page == BASE_PAGE:
        return nominal
    entries = page // 8  # 8-byte page-table entries per page-table page
    level = {BASE_PAGE: 1, 2 << 20: entries, 1 << 30: entries * entries}.get(nominal)
    return nominal if level is None else page * level


def _in(kernel: str, since: Optional[str], until: Optional[str]) -> bool:
    return versions.holds_in(kernel, since, until)


def span(since: Optional[str], until: Optional[str]) -> str:
    """``6.12+``, ``up to 6.1``, ``6.1-6.6``: a rule's versions, for messages."""
    if since and until:
        return f"Linux {since} to {until}"
    return f"Linux {since}+" if since else f"up to Linux {until}"


class Evaluates(Protocol):
    """What the catalog needs of a build: :class:`policy.kconfig.BuildConfig` fits."""

    def eval(self, expr: str) -> str: ...


@dataclass(frozen=True)
class ModeRule:
    name: str
    build: str
    layout: str  # raw | btt | pfn | kmem
    maps: tuple[str, ...]
    aligns: bool
    proposal: bool
    reason: str
    source: str


@dataclass(frozen=True)
class AlignRule:
    bytes: int
    build: str
    reason: str
    source: str
    since: Optional[str] = None
    until: Optional[str] = None


@dataclass(frozen=True)
class DeviceTypeRule:
    name: str
    build: str
    modes: tuple[str, ...]
    mode_build: tuple[tuple[str, str], ...]
    pagemap: bool
    async_: bool
    whole_device: bool
    reason: str
    source: str
    # bytes every namespace size must be a multiple of (label-backed regions; 0: no namespace
    # sizing, the single namespace is the whole region)
    region_align: int = 0
    region_align_source: str = ""
    fixed_align: int = 0  # the dax region's only align (CXL RAM: 2 MiB), 0: the align choices
    since: Optional[str] = None  # the device kind exists from this kernel on
    until: Optional[str] = None
    # the dax device asks dax/kmem for memmap_on_memory by default (CXL RAM regions)
    kmem_memmap_on_memory: bool = False
    kmem_memmap_on_memory_source: str = ""

    def __hash__(self) -> int:
        # by name: equal rules have equal names, and the memo keys that hold a rule are hashed
        # on every verdict (the generated hash walks every field); equality still reads them all
        return hash(self.name)

    def exists_in(self, kernel: str) -> bool:
        return _in(kernel, self.since, self.until)

    def span(self) -> str:
        return span(self.since, self.until)

    def build_for(self, mode: str, mode_rule: ModeRule) -> str:
        """The build expression for ``mode`` on this device type (overrides replace the mode's)."""
        override = dict(self.mode_build).get(mode)
        return f"({self.build}) && ({override or mode_rule.build})"


@dataclass(frozen=True)
class RuntimeCond:
    modes: tuple[str, ...]
    maps: Optional[tuple[str, ...]] = None
    min_align: int = 0
    aligns: Optional[tuple[int, ...]] = None  # exactly these aligns (device-dax fault size)
    device_types: Optional[tuple[str, ...]] = None
    pagemap: bool = False
    sync_only: bool = False
    build: str = "y"
    pmd_aligned_data: bool = False
    since: Optional[str] = None
    until: Optional[str] = None
    note: str = ""  # what changes outside since/until
    source: str = ""

    def holds_in(self, kernel: str) -> bool:
        return _in(kernel, self.since, self.until)

    def describe(self) -> str:
        """``fsdax|devdax, align>=2097152, synchronous region`` — for reasons."""
        parts = ["|".join(self.modes)]
        if self.maps:
            parts.append("map=" + "|".join(self.maps))
        if self.min_align:
            parts.append(f"align>={format_size(self.min_align)}")
        if self.aligns:
            parts.append("align=" + "|".join(format_size(a) for a in self.aligns))
        if self.device_types:
            parts.append("on " + "|".join(self.device_types))
        if self.pagemap:
            parts.append("PAGEMAP region")
        if self.sync_only:
            parts.append("synchronous region")
        if self.pmd_aligned_data:
            parts.append("PMD-aligned data")
        if self.build != "y":
            parts.append(f"built with {self.build}")
        if self.since or self.until:
            parts.append(span(self.since, self.until))
        return ", ".join(parts)


@dataclass(frozen=True)
class Feature:
    name: str
    summary: str
    build: str
    runtime: tuple[RuntimeCond, ...]
    proposal: bool
    reason: str
    source: str

    def __hash__(self) -> int:
        # by name, as DeviceTypeRule's: the generated hash would walk every runtime condition
        return hash(self.name)


@dataclass(frozen=True)
class OnlineRule:
    """Which zone hot-added memory lands in for one default online type (and movable_node)."""

    online_type: str  # offline | online | online_kernel | online_movable
    movable_node: Optional[bool]
    zone: str  # ZONE_NORMAL | ZONE_MOVABLE
    by: str  # kernel | daxctl
    reason: str
    source: str


@dataclass(frozen=True)
class HotplugRules:
    """dax/kmem: the memmap_on_memory rule (from which kernel, built with what) and the zones."""

    mom_since: Optional[str] = None
    mom_until: Optional[str] = None
    mom_build: str = "n"
    mom_reason: str = ""
    mom_source: str = ""
    online: tuple[OnlineRule, ...] = ()

    def memmap_on_memory_in(self, kernel: str) -> bool:
        return self.mom_since is not None and _in(kernel, self.mom_since, self.mom_until)

    def zone(self, online_type: str, movable_node: bool) -> Optional[OnlineRule]:
        for rule in self.online:
            if rule.online_type == online_type and rule.movable_node in (None, movable_node):
                return rule
        return None


@dataclass(frozen=True)
class Catalog:
    modes: tuple[ModeRule, ...]
    aligns: tuple[AlignRule, ...]
    device_types: tuple[DeviceTypeRule, ...]
    features: tuple[Feature, ...]
    hotplug: HotplugRules = HotplugRules()
    # mode name -> its first position in ``modes`` (derived; not part of equality)
    _mode_pos: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        pos: dict[str, int] = {}
        for i, m in enumerate(self.modes):
            pos.setdefault(m.name, i)
        object.__setattr__(self, "_mode_pos", pos)

    def for_kernel(self, kernel: str) -> Catalog:
        """This catalog as one kernel's tree sees it: aligns outside their versions dropped, and
        a device type that does not exist in ``kernel`` kept (profiles may name it) with build
        ``n``, so every expression names only symbols that kernel's tree defines (what
        policy.space compiles over one tree needs)."""
        dts = tuple(
            d if d.exists_in(kernel) else dataclasses.replace(
                d, build="n", mode_build=tuple((m, "n") for m in d.modes))
            for d in self.device_types
        )
        aligns = tuple(a for a in self.aligns if _in(kernel, a.since, a.until))
        return dataclasses.replace(self, aligns=aligns, device_types=dts)

    def mode(self, name: str) -> ModeRule:
        return next(m for m in self.modes if m.name == name)

    def device_type(self, name: str) -> DeviceTypeRule:
        for dt in self.device_types:
            if dt.name == name:
                return dt
        raise UsageError(f"unknown device type {name!r}")

    def feature(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        known = ", ".join(sorted(f.name for f in self.features))
        raise UsageError(f"unknown feature {name!r}; known: {known}")

    def mode_order(self, name: str) -> int:
        """The position of mode ``name`` in the catalog (ValueError for an unknown mode)."""
        pos = self._mode_pos.get(name)
        if pos is None:
            raise ValueError(f"{name!r} is not a mode of the catalog")
        return pos


