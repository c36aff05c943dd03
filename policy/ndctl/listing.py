"""Read ``ndctl list`` JSON into namespaces with their current mode, map, align and raw size.

Accepted exactly as ndctl prints it (``ndctl/json.c:util_namespace_to_json``, ``ndctl/list.c``):
one object, an array, several top-level values one after another, namespaces nested under regions
(``-R``) or buses (``-B``), human-readable sizes (``-u``: ``"15.75 GiB (16.91 GB)"``, rounded as
``util/json.c:display_size`` rounds) and idle namespaces (``-i``: ``"state":"disabled"``).

``size`` in a listing is the *usable* size. :func:`recover_raw_size` reverses the kernel's
arithmetic (:mod:`policy.decide.costs`, never re-implemented here) to find every raw namespace size
D that
gives it, and the listing gets a located warning when no D does. Syntax and field errors are
located ``path:line:col`` diagnostics raised as :class:`NdctlInputError` (exit 2).

This module is the reader's public API; the JSON positions live in :mod:`policy.ndctl.jsontext` and
the size arithmetic in :mod:`policy.ndctl.rawsize`.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policy.errors import Diagnostic, InputError
from policy.ndctl.jsontext import (
    MAX_LISTING_BYTES,
    NdctlInputError,
    PositionedText,
    decode_values,
    json_path,
)
from policy.ndctl.names import field_problems, shown
from policy.ndctl.rawsize import (
    DEFAULT_ALIGN,
    RawNotes,
    RawSize,
    human_size_range,
    recover_raw_size,
)
from policy.ndctl.regions import Region, provider_device_type

if TYPE_CHECKING:
    from policy.profiles.records import DeviceType

MODES = ("raw", "sector", "fsdax", "devdax")
# names older ndctl releases and the kernel's sysfs use
# (ndctl/namespace.c, drivers/nvdimm/namespace_devs.c mode_show)
MODE_ALIASES = {"memory": "fsdax", "dax": "devdax", "safe": "sector", "btt": "sector"}
_NS_DEV = re.compile(r"namespace([0-9]+)\.([0-9]+)\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]{1,16}\Z")
_DIGITS = re.compile(r"\s*[0-9]+\s*\Z")  # ASCII digits only: int() would take any script's
MAX_BYTES = 1 << 64  # nothing larger fits a 64-bit physical address space


@dataclass(frozen=True)
class Namespace:
    """One namespace of a listing, as ndctl reports it and as the kernel lays it out.

    ``mode`` is ndctl's word; ``kernel_mode`` the mode evaluated: ``raw`` for an fsdax namespace
    without a pfn device (a raw namespace on a PAGEMAP region that gets automatic struct pages,
    ``pmem_should_map_pages()``), ``system-ram`` for a devdax namespace whose dax device is onlined
    by dax/kmem, else ``mode``. ``size_lo``..``size_hi`` is the usable size (a range for ``-u``).
    """

    dev: str
    region: str
    mode: str
    kernel_mode: str
    map: str | None
    align: int | None
    size_lo: int
    size_hi: int
    raw: RawSize | None
    device_type: DeviceType
    uuid: str | None = None
    sector_size: int | None = None
    blockdev: str | None = None
    chardev: str | None = None
    name: str | None = None
    numa_node: int | None = None
    idle: bool = False
    line: int = 0
    col: int = 0
    json_path: str = "$"
    start: int | None = None  # physical start (sysfs resource), where the listing carries it

    @property
    def size(self) -> int:
        """The usable size (the lower end of a ``-u`` range)."""
        return self.size_lo

    @property
    def raw_size(self) -> int:
        """The raw size used to evaluate (0 for an idle seed namespace)."""
        return self.raw.value if self.raw else 0

    def names(self) -> tuple[str, ...]:
        """Every name the namespace answers to (for matching profiles)."""
        return tuple(n for n in (self.dev, self.blockdev, self.chardev, self.name) if n)


@dataclass(frozen=True)
class Listing:
    """Everything read from one ``ndctl list`` output."""

    path: str
    namespaces: tuple[Namespace, ...]
    regions: tuple[Region, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    top_level_values: int = 0

    @property
    def active(self) -> tuple[Namespace, ...]:
        """The namespaces with capacity (idle seeds left out)."""
        return tuple(n for n in self.namespaces if not n.idle)

    def namespace(self, dev: str) -> Namespace:
        for ns in self.namespaces:
            if ns.dev == dev:
                return ns
        raise KeyError(dev)


# ------------------------------------------------------------------------------ the listing

_REGION_NAMES = {"dev": "region", "btt_seed": "btt_seed", "pfn_seed": "pfn_seed",
                 "dax_seed": "dax_seed"}
_NAMESPACE_NAMES = {"dev": "namespace", "chardev": "chardev", "blockdev": "blockdev"}


class _Reader:
    def __init__(self, doc: PositionedText) -> None:
        self.doc = doc
        self.errors: list[Diagnostic] = []
        self.notes: list[Diagnostic] = []
        self.namespaces: list[Namespace] = []
        self.regions: list[Region] = []
        self.raw_notes = RawNotes()

    def error(self, code: str, message: str, where: tuple[Any, ...]) -> None:
        self.errors.append(self.doc.diag("error", code, message, where))

    def warn(self, code: str, message: str, where: tuple[Any, ...]) -> None:
        self.notes.append(self.doc.diag("warning", code, message, where))

    def size(self, value: Any, where: tuple[Any, ...], what: str) -> tuple[int, int] | None:
        if isinstance(value, bool) or value is None:
            self.error(
                "ndctl-bad-size",
                f"{what} must be a number of bytes, not {json.dumps(value)}",
                where,
            )
            return None
        if isinstance(value, int):
            if value < 0:
                self.error("ndctl-bad-size", f"{what} {value} is negative", where)
                return None
            if value > MAX_BYTES:
                self.error("ndctl-bad-size", f"{what} is more than 2^64 bytes, more than a "
                           "64-bit address space holds", where)
                return None
            return value, value
        if isinstance(value, float):
            if value < 0 or not value.is_integer():
                self.error(
                    "ndctl-bad-size",
                    f"{what} {value!r} is not a whole, non-negative number of bytes",
                    where,
                )
                return None
            return self.size(int(value), where, what)
        if isinstance(value, str):
            if _DIGITS.match(value) and len(value.strip()) <= 21:
                return self.size(int(value), where, what)
            got = human_size_range(value)
            if got is not None:
                return got
            self.error(
                "ndctl-bad-size",
                f"{what} {shown(value)} is not a number of bytes (at most 2^64, ASCII digits) "
                "or an ndctl -u size "
                'such as "15.75 GiB (16.91 GB)"',
                where,
            )
            return None
        self.error(
            "ndctl-bad-size",
            f"{what} must be a number of bytes, not a {type(value).__name__}",
            where,
        )
        return None

    def string(self, obj: Mapping[str, Any], key: str, where: tuple[Any, ...]) -> str | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.error(
                "ndctl-bad-field",
                f"{key} must be a string, not {json.dumps(value)}",
                where + (key,),
            )
            return None
        return value

    def integer(self, obj: Mapping[str, Any], key: str, where: tuple[Any, ...]) -> int | None:
        value = obj.get(key)
        if value is None:
            return None
        got = self.size(value, where + (key,), key)
        return got[0] if got else None

    # -- structure

    def value(
        self, value: Any, where: tuple[Any, ...], region: str | None, provider: str | None
    ) -> None:
        if isinstance(value, list):
            for n, item in enumerate(value):
                self.value(item, where + (n,), region, provider)
            return
        if not isinstance(value, dict):
            self.error(
                "ndctl-structure",
                f"expected an ndctl list object or array, not {json.dumps(value)[:40]}",
                where,
            )
            return
        dev = value.get("dev")
        kind = dev if isinstance(dev, str) else ""
        if kind.startswith("namespace") or (not kind and "mode" in value):
            self.namespace(value, where, region, provider)
            return
        if kind.startswith("region"):
            self.region(value, where, provider)
            return
        if kind.startswith("ndbus") or "provider" in value:
            provider = self.string(value, "provider", where) or provider
        elif kind.startswith(("nmem", "dax")) or not any(
                k in value for k in ("buses", "regions", "namespaces", "dimms")):
            if not kind.startswith(("nmem", "dax")):
                self.error(
                    "ndctl-structure",
                    "not an ndctl list object: expected a namespace, region or bus "
                    '(a "dev" of namespaceX.Y, regionX or ndbusX)',
                    where,
                )
            return
        for key in ("buses", "regions", "namespaces"):
            if key in value:
                self.value(value[key], where + (key,), region, provider)

    def names(self, obj: Mapping[str, Any], where: tuple[Any, ...], kinds: Mapping[str, str]
              ) -> bool:
        """Check the kernel names in ``obj`` (:mod:`policy.ndctl.names`); False when one is bad."""
        problems = field_problems(obj, kinds)
        for key, message in problems:
            self.error("ndctl-bad-name", message, where + (key,))
        return not problems

    def region(self, obj: Mapping[str, Any], where: tuple[Any, ...], provider: str | None) -> None:
        if not self.names(obj, where, _REGION_NAMES):
            return
        dev = str(obj["dev"])
        size = self.size(obj.get("size", 0), where + ("size",), "region size") or (0, 0)
        avail = obj.get("available_size")
        avail_r = (
            self.size(avail, where + ("available_size",), "available_size")
            if avail is not None
            else None
        )
        align = self.integer(obj, "align", where)
        if align is not None and (align == 0 or align % 4096):
            self.error("ndctl-bad-field", f"region align {align} is not a multiple of 4096",
                       where + ("align",))
            align = None
        self.regions.append(
            Region(
                dev,
                size[0],
                size[1],
                avail_r[0] if avail_r else None,
                self.string(obj, "type", where),
                align,
                provider,
                self.doc.locate(where)[0],
                self.integer(obj, "max_available_extent", where),
                self.mappings(obj.get("mappings"), where + ("mappings",)),
                self.string(obj, "persistence_domain", where),
            )
        )
        if "namespaces" in obj:
            self.value(obj["namespaces"], where + ("namespaces",), dev, provider)

    def resource(self, value: Any, where: tuple[Any, ...]) -> int | None:
        """A namespace's start: sysfs ``resource`` (hexadecimal), merged into a listing."""
        if isinstance(value, str) and _HEX.match(value):
            return int(value, 16)
        if value is not None:
            self.error("ndctl-bad-field", "resource must be a hexadecimal address as sysfs "
                       'prints it ("0x100000000")', where)
        return None

    def mappings(self, value: Any, where: tuple[Any, ...]) -> int | None:
        """Interleave ways: ndctl prints ``mappings`` as one object per DIMM of the region."""
        if value is None:
            return None
        if isinstance(value, list) and value and len(value) <= 4096:
            return len(value)
        self.error("ndctl-bad-field", "mappings must be a non-empty array (one entry per "
                   "DIMM of the interleave set)", where)
        return None

    def namespace(self, obj: Mapping[str, Any], where: tuple[Any, ...], region: str | None,
                  provider: str | None) -> None:
        before = len(self.errors)
        missing = [k for k in ("dev", "mode", "size") if k not in obj]
        if missing:
            self.error(
                "ndctl-missing-field",
                "namespace without " + ", ".join(f'"{k}"' for k in missing),
                where,
            )
            return
        self.names(obj, where, _NAMESPACE_NAMES)
        dev = obj["dev"] if isinstance(obj["dev"], str) else ""
        m = _NS_DEV.match(dev)
        raw_mode = obj["mode"]
        mode = MODE_ALIASES.get(raw_mode, raw_mode) if isinstance(raw_mode, str) else None
        if mode not in MODES:
            self.error(
                "ndctl-unknown-mode",
                f"unknown mode {json.dumps(raw_mode)}; ndctl modes are " + ", ".join(MODES),
                where + ("mode",),
            )
        size = self.size(obj["size"], where + ("size",), "size")
        map_ = self.string(obj, "map", where)
        if map_ not in (None, "mem", "dev", "none"):
            self.error(
                "ndctl-bad-field", f"unknown map {map_!r}; expected mem or dev", where + ("map",)
            )
        align = self.integer(obj, "align", where)
        sector_size = self.integer(obj, "sector_size", where)
        chardev = self.string(obj, "chardev", where)
        dax_mode = None
        dax = obj.get("daxregion")
        if isinstance(dax, dict):
            align = align or self.integer(dax, "align", where + ("daxregion",))
            devices = dax.get("devices")
            for n, device in enumerate(devices if isinstance(devices, list) else ()):
                if isinstance(device, dict):
                    self.names(device, where + ("daxregion", "devices", n), {"chardev": "chardev"})
            if isinstance(devices, list) and devices and isinstance(devices[0], dict):
                chardev = chardev or self.string(
                    devices[0], "chardev", where + ("daxregion", "devices", 0)
                )
                dax_mode = self.string(devices[0], "mode", where + ("daxregion", "devices", 0))
        elif dax is not None:
            self.error("ndctl-bad-field", "daxregion must be an object", where + ("daxregion",))
        self.string(obj, "state", where)  # type-checked; a size of 0 is what makes a seed
        numa = obj.get("numa_node")
        if len(self.errors) > before or mode is None or size is None:
            return
        if align is not None and (align < 4096 or align & (align - 1)):
            self.error("ndctl-bad-field", f"align {align} is not a power of two of at least "
                       "4096 (the page size; ndctl aligns are 4K, 2M, 1G)", where + ("align",))
            return
        uuid = self.string(obj, "uuid", where)
        region = region or (f"region{m.group(1)}" if m else "region?")
        dtype = provider_device_type(provider)
        kernel_mode, map_eff = mode, (map_ if map_ in ("mem", "dev") else None)
        if mode == "fsdax" and uuid is None and map_eff in (None, "mem") and align is None:
            # no pfn device: a raw namespace on a PAGEMAP region with automatic struct pages
            kernel_mode, map_eff = "raw", "mem"
            if dtype == "nvdimm":
                dtype = "e820"
        elif mode in ("fsdax", "devdax") and map_eff is None:
            map_eff = "dev"
            self.warn(
                "ndctl-assumed", f"{dev}: no map field; assuming ndctl's default map=dev", where
            )
        if mode == "devdax" and dax_mode == "system-ram":
            kernel_mode = "system-ram"
        idle = size[1] == 0  # a seed: no capacity, whatever its state says
        raw: RawSize | None = None
        if not idle and size[1] > 0:
            raw = recover_raw_size(kernel_mode, map_eff, align, size[0], size[1], sector_size)
            notes = self.raw_notes.notes(dev, kernel_mode, map_eff, align, size, raw, sector_size)
            for code, message in notes:  # several raw sizes, none, or only off the align grid
                self.warn(code, message, where + ("size",))
                if code == "ndctl-ambiguous":
                    self.raw_notes.placed(len(self.notes) - 1)
        line, col = self.doc.locate(where)
        eff_align = align if kernel_mode in ("fsdax", "devdax", "system-ram") else None
        if kernel_mode in ("fsdax", "devdax", "system-ram") and eff_align is None:
            eff_align = DEFAULT_ALIGN
        self.namespaces.append(
            Namespace(
                dev,
                region,
                mode,
                kernel_mode,
                map_eff,
                eff_align,
                size[0],
                size[1],
                raw,
                dtype,
                uuid,
                sector_size,
                self.string(obj, "blockdev", where),
                chardev,
                self.string(obj, "name", where),
                numa if isinstance(numa, int) and not isinstance(numa, bool) else None,
                idle,
                line,
                col,
                json_path(where),
                self.resource(obj.get("resource"), where + ("resource",)),
            )
        )


def parse_listing(data: bytes | str, path: str = "<input>", locate_warnings: bool = True
                  ) -> Listing:
    """Read ``ndctl list`` output (bytes or text) into a :class:`Listing`.

    Raises :class:`NdctlInputError` with every located problem; inconsistencies with the kernel's
    arithmetic are warnings in ``Listing.diagnostics`` (without line:col unless
    ``locate_warnings``: where they are only counted).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    doc, values = decode_values(raw, path)
    doc.locate_warnings = locate_warnings
    return read_values(doc, values)


def read_values(doc: PositionedText, values: list[Any]) -> Listing:
    """The :class:`Listing` of decoded top-level ``values`` located in ``doc`` (skeleton
    recorded: :func:`policy.ndctl.jsontext.skeleton`)."""
    path = doc.path
    reader = _Reader(doc)
    for n, value in enumerate(values):
        reader.value(value, (f"${n}",), None, None)
    if reader.errors:
        raise NdctlInputError(reader.errors)
    seen: dict[str, Namespace] = {}
    for ns in reader.namespaces:
        if ns.dev in seen:
            raise NdctlInputError(
                [
                    Diagnostic(
                        "error",
                        "ndctl-duplicate",
                        f"{ns.dev} is listed twice",
                        path,
                        ns.line,
                        ns.col,
                        ns.json_path,
                    )
                ]
            )
        seen[ns.dev] = ns
    notes = reader.raw_notes.merged(reader.notes)
    return Listing(path, tuple(reader.namespaces), tuple(reader.regions), tuple(notes), len(values))


def read_listing(path: str | Path, locate_warnings: bool = True) -> Listing:
    """Read a listing file (``ndctl list ... > FILE``)."""
    shown = str(path)
    try:
        if Path(path).is_dir():
            raise InputError(f"{shown}: is a directory, expected ndctl list JSON")
        with open(path, "rb") as f:
            data = f.read(MAX_LISTING_BYTES + 1)
    except FileNotFoundError as err:
        raise InputError(f"{shown}: no such file") from err
    except OSError as err:
        raise InputError(f"{shown}: cannot read: {err.strerror}") from err
    return parse_listing(data, shown, locate_warnings)


# ------------------------------------------------------------------------------ devices to evaluate


__all__ = [
    "Listing",
    "Namespace",
    "NdctlInputError",
    "RawSize",
    "Region",
    "human_size_range",
    "parse_listing",
    "read_listing",
    "read_values",
    "recover_raw_size",
]
