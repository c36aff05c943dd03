"""The semantic checks of one profile document past the schema: units, pins, budgets, layouts."""
from __future__ import annotations

import re
import types
from dataclasses import dataclass
from typing import Any

from policy.errors import Diagnostic, Severity, clip
from policy.profiles.records import (
    COMPAT_ALIGN,
    INFO_BLOCK,
    MIN_PFN_NAMESPACE,
    PAGE_MODES,
    DeviceProfile,
    Pin,
    _catalog,
    _catalog_doc,
    effective_region_align,
)
from policy.profiles.schema import (  # re-exported: callers import it from here too
    SchemaChecker as SchemaChecker,
    schema as schema,
    schema_text as schema_text,
    suggest,
)
from policy.profiles.yamlload import Loaded, PathKey, json_path
from policy.units import (
    GiB,
    SizeError,
    format_size,
    is_decimal_unit,
    parse_budget,
    parse_size,
)


class _Checker:
    """Semantic rules for one document; collects Diagnostics and builds DeviceProfiles."""

    def __init__(self, doc: Loaded, path: str, flagged: set[PathKey]) -> None:
        self.doc = doc
        self.path = path
        self.flagged = flagged  # paths with schema errors: not checked again
        self.diags: list[Diagnostic] = []

    def add(self, severity: Severity, code: str, message: str, where: PathKey) -> None:
        line, col = self.doc.mark(where)
        diag = Diagnostic(severity, code, message, self.path, line, col, json_path(where))
        if diag not in self.diags:  # host-level lists are checked once per device: report once
            self.diags.append(diag)

    def clean(self, where: PathKey) -> bool:
        """No schema error at ``where``, above it or below it."""
        n = len(where)
        return not any(where[: len(p)] == p or p[:n] == where for p in self.flagged)

    def size_at(self, value: Any, where: PathKey, what: str) -> int | None:
        if value is None or not self.clean(where):
            return None
        try:
            n = parse_size(value)
        except SizeError as err:
            self.add("error", "size", str(err), where)
            return None
        if isinstance(value, str) and is_decimal_unit(value):
            binary = value.strip()[:-1].rstrip()
            self.add("warning", "decimal-unit",
                     f"{what} {clip(value)} is decimal: {n} bytes ({format_size(n)}); write "
                     f"{binary}iB for binary units (ndctl's sizes are binary)", where)
        return n

    def features(self, value: Any, where: PathKey) -> tuple[str, ...]:
        if not isinstance(value, list):
            return ()
        names = _catalog()
        for i, name in enumerate(value):
            if isinstance(name, str) and name not in names and self.clean(where + (i,)):
                self.add("error", "unknown-feature",
                         f"unknown feature {clip(name)}{suggest(name, sorted(names))}; "
                         f"known: {', '.join(sorted(names))}", where + (i,))
        return tuple(n for n in value if isinstance(n, str))

    def device(self, entry: dict[str, Any], base: PathKey, inherited: dict[str, Any],
               name: str, host: str | None) -> DeviceProfile | None:
        """Check one device entry (a DeviceProfile's spec or a HostProfile's devices[i])."""
        dev = entry.get("device")
        if not isinstance(dev, dict):
            return None
        dpath = base + ("device",)
        size = self.size_at(dev.get("size"), dpath + ("size",), "size")
        start_align = self.size_at(dev.get("start_align"), dpath + ("start_align",), "start_align")
        start = self.address_at(dev.get("start"), dpath + ("start",))
        if size == 0:
            self.add("error", "size", "size must be positive", dpath + ("size",))
        if start_align is not None:
            if start_align == 0 or start_align & (start_align - 1):
                self.add(
                    "error",
                    "start-align",
                    f"start_align {format_size(start_align)} is not a power of two",
                    dpath + ("start_align",),
                )
                start_align = None
            elif start is not None and start % start_align:
                self.add("error", "start-align",
                         f"start {start:#x} is not aligned to start_align "
                         f"{format_size(start_align)}", dpath + ("start",))
        known_align = (start & -start if start else None) if start is not None else start_align
        if known_align is not None and known_align < COMPAT_ALIGN:
            what = (f"start {start:#x}" if start is not None
                    else f"start_align {format_size(known_align)}")
            self.add(
                "warning",
                "start-align",
                f"{what} is not 2 MiB aligned: the kernel refuses fsdax/devdax on such a "
                "namespace ('start ... misaligned', drivers/nvdimm/pfn_devs.c nd_pfn_init)",
                dpath + (("start",) if start is not None else ("start_align",)),
            )
        got_region = dev.get("region")
        region_facts: dict[str, Any] = got_region if isinstance(got_region, dict) else {}
        rpath = dpath + ("region",)
        fact_align = self.size_at(region_facts.get("align"), rpath + ("align",), "region align")
        ways = region_facts.get("interleave_ways")
        ways = ways if isinstance(ways, int) and not isinstance(ways, bool) else None
        if fact_align is not None and (fact_align == 0 or fact_align % 4096):
            self.add("error", "region-align", f"region align {format_size(fact_align)} is not a "
                     "multiple of 4 KiB (the page size)", rpath + ("align",))
            fact_align = None
        created_by = dev.get("created_by", "ndctl")
        by_ndctl = created_by != "sysfs"
        region_align = effective_region_align(_region_align(dev.get("type")), fact_align, ways)
        if size and region_align and size % region_align:
            who = ("ndctl refuses to create such a namespace in every mode (ndctl/namespace.c "
                   "validate_namespace_options; drivers/nvdimm/region_devs.c default_align)"
                   if by_ndctl else
                   "the kernel refuses such a size when it is written (drivers/nvdimm/"
                   "namespace_devs.c __size_store); state region.align if regionX/align was "
                   "lowered")
            self.add(
                "warning",
                "region-align",
                f"size {format_size(size)} is not a multiple of the {dev.get('type')} region "
                f"align {format_size(region_align)}: {who}",
                dpath + ("size",),
            )
        facts = _Facts(start=start, start_align=start_align, region_align=fact_align,
                       ways=ways, by_ndctl=by_ndctl)

        own: dict[str, tuple[Any, PathKey]] = {
            k: (entry[k], base + (k,)) for k in ("requires", "wants", "budget") if k in entry
        }
        eff: dict[str, tuple[Any, PathKey]] = {**inherited, **own}
        requires = self.features(*eff["requires"]) if "requires" in eff else ()
        wants = self.features(*eff["wants"]) if "wants" in eff else ()
        if "requires" in own or "wants" in own:
            for both in sorted(set(requires) & set(wants)):
                self.add(
                    "warning",
                    "requires-wants",
                    f"feature {clip(both)} is both required and wanted; requires wins",
                    eff["wants"][1],
                )
        budget_dram = budget_capacity = None
        budget_text = None
        if "budget" in eff and isinstance(eff["budget"][0], dict):
            bvalue, bpath = eff["budget"]
            budget_text = ", ".join(f"{k}: {v}" for k, v in bvalue.items())
            parsed: dict[str, int] = {}
            for key in ("dram", "capacity"):
                if key in bvalue and self.clean(bpath + (key,)):
                    try:
                        parsed[key] = parse_budget(bvalue[key], size or 0)
                    except SizeError as err:
                        self.add("error", "budget", str(err), bpath + (key,))
            budget_dram, budget_capacity = parsed.get("dram"), parsed.get("capacity")

        pin = self.pin(entry.get("pin"), base + ("pin",), dev.get("type"), size, facts)
        numa = dev.get("numa_node")
        selectors = dev.get("match")
        if isinstance(selectors, dict) and not selectors:
            self.add("error", "match-empty",
                     "match names no selector: give host, region, namespace, uuid or name "
                     "(or leave match out)", dpath + ("match",))
        if self.flagged or any(d.severity == "error" for d in self.diags):
            return None  # the file is invalid: no device is built from it
        labels = self.doc.value.get("metadata", {}).get("labels", {}) or {}
        region = labels.get("ndctl.region")
        lpath = ("metadata", "labels", "ndctl.region")
        if region is not None and self.clean(lpath) and not _REGION.fullmatch(str(region)):
            # the schema's "$" lets a final newline through; plans put the region on a command line
            self.add("error", "label", f"ndctl.region {clip(region)} is not a kernel region "
                     "name (region followed by ASCII digits, e.g. region0)", lpath)
            return None
        return DeviceProfile(
            name=name,
            host=host,
            type=dev["type"],
            size=size or 0,
            start_align=start_align,
            numa_node=int(numa) if isinstance(numa, (int, float)) else None,
            requires=requires,
            wants=wants,
            budget_dram=budget_dram,
            budget_capacity=budget_capacity,
            budget_text=budget_text,
            pin=pin,
            source=self.path,
            line=self.doc.mark(dpath)[0],
            labels=types.MappingProxyType(dict(labels)),
            match=types.MappingProxyType(
                {str(k): str(v) for k, v in (selectors or {}).items()}
                if isinstance(selectors, dict) else {}
            ),
            start=start,
            region_align=fact_align,
            interleave_ways=ways,
            created_by="sysfs" if created_by == "sysfs" else "ndctl",
        )

    def address_at(self, value: Any, where: PathKey) -> int | None:
        """A physical address: hexadecimal (``0x100000000``), bytes, or a size with a unit."""
        if value is None or not self.clean(where):
            return None
        if isinstance(value, str) and value.strip().lower().startswith("0x"):
            return int(value.strip(), 16)
        return self.size_at(value, where, "start")

    def pin(self, value: Any, where: PathKey, dtype: Any, size: int | None,
            facts: _Facts) -> Pin | None:
        if not isinstance(value, dict) or not self.clean(where) or "mode" not in value:
            return None
        mode, pmap = value["mode"], value.get("map")
        align = parse_size(value["align"]) if "align" in value else None
        sector = value.get("sector_size")
        if pmap is not None and mode not in PAGE_MODES:
            self.add(
                "error",
                "pin-map",
                f"map applies only to fsdax, devdax and system-ram (where struct pages are "
                f"placed when the namespace is created); mode {mode} has none",
                where + ("map",),
            )
        if sector is not None and mode != "sector":
            self.add("error", "pin-sector-size",
                     f"sector_size applies only to sector mode (the BTT's block size), not to "
                     f"mode {mode}", where + ("sector_size",))
        if align is not None and mode not in PAGE_MODES:
            self.add("error", "pin-align",
                     f"align applies only to fsdax, devdax and system-ram, not to mode {mode}",
                     where + ("align",))
        fsdax_1g = align == GiB and mode == "fsdax"
        if fsdax_1g:
            self.add(
                "warning",
                "align-unwise",
                "fsdax with align 1GiB: the kernel accepts it, but fsdax faults stay at 2 MiB "
                "(PMD) or below whatever the align (fs/dax.c handles PTE and PMD faults only), "
                "while the data start and end are padded to 1 GiB: up to 1 GiB at each end is "
                "lost (16 GiB gives 15 GiB); use align 2MiB, or devdax for 1 GiB faults",
                where + ("align",),
            )
        if dtype == "hmem" and (mode not in ("devdax", "system-ram") or pmap == "dev"):
            self.add("error", "pin-type",
                     "hmem (EFI soft-reserved memory) has no namespace: only devdax or system-ram "
                     "with map mem apply", where + ("mode",))
        if mode in PAGE_MODES and size:
            unit = max(align or COMPAT_ALIGN, COMPAT_ALIGN)
            ways = facts.ways or 1
            step = (align or COMPAT_ALIGN) * ways
            # the start is a multiple of ``unit`` unless a start or start_align says otherwise
            aligned_start = (facts.start % unit == 0 if facts.start is not None
                             else facts.start_align is None or facts.start_align >= unit)
            if facts.by_ndctl and size < MIN_PFN_NAMESPACE:
                self.add(
                    "error",
                    "size-small",
                    f"size {format_size(size)} is below 16 MiB: ndctl refuses {mode} namespaces "
                    f"that small ('--size=' must be >= 16MiB for '{mode}' mode, "
                    "ndctl/namespace.c validate_namespace_options)",
                    where + ("mode",),
                )
            elif facts.by_ndctl and size % step:
                self.add(
                    "error",
                    "size-align",
                    f"size {format_size(size)} is not a multiple of the "
                    f"{format_size(align or COMPAT_ALIGN)} align"
                    + (f" times {ways} interleave ways" if ways > 1 else "")
                    + f": ndctl refuses it ('--size=' must align to interleave-width: {ways} and "
                    f"alignment: {align or COMPAT_ALIGN}, ndctl/namespace.c "
                    "validate_namespace_options)",
                    where + ("align",) if align else where + ("mode",),
                )
            elif size <= unit and aligned_start:
                self.add(
                    "error",
                    "size-align",
                    f"align {format_size(unit)} leaves no room on a {format_size(size)} device: "
                    "the kernel refuses it ('unable to satisfy requested alignment', "
                    "drivers/nvdimm/pfn_devs.c nd_pfn_init)",
                    where + ("align",),
                )
            elif align == GiB and pmap == "mem" and not fsdax_1g:
                self.add(
                    "warning",
                    "align-waste",
                    f"align 1GiB with map mem pads the {INFO_BLOCK // 1024} KiB info block to a "
                    f"full 1 GiB: {format_size(GiB)} of the {format_size(size)} device is lost "
                    f"(align 2MiB would lose {format_size(COMPAT_ALIGN)})",
                    where + ("align",),
                )
        return Pin(mode=mode, map=pmap, align=align,
                   sector_size=sector if isinstance(sector, int) else None)


@dataclass(frozen=True)
class _Facts:
    """What a device entry says about its start, its region and who creates it."""

    start: int | None
    start_align: int | None
    region_align: int | None
    ways: int | None
    by_ndctl: bool


_REGION = re.compile("region[0-9]+")


def _region_align(dtype: Any) -> int:
    """The device type's region align from ``features.yaml`` (0: none, or an unknown type).

    Read like :func:`_catalog`; ``policy.decide.catalog`` gives the same value (a test checks it).
    """
    for rule in _catalog_doc()["device_types"]:
        if rule["name"] == dtype:
            return int((rule.get("region_align") or {}).get("bytes", 0))
    return 0
