"""Device profiles: load, check against the schema and the kernel's rules, build DeviceProfiles.

A profile file is checked in three layers, and every problem of every layer is reported:

1. :mod:`policy.profiles.yamlload` — the YAML itself (encoding, syntax, duplicate keys, alias
bombs);
2. ``policy/data/profile.schema.json`` (JSON Schema 2020-12), applied by
   :class:`policy.profiles.schema.SchemaChecker`;
3. the semantic rules below (:func:`_check_device`): feature names exist in the catalog, pins are
   real ndctl/kernel combinations, budgets parse, sizes are positive and aligned.

A file that fails any layer is one failed :class:`FileResult`; only a path that does not exist
(a usage problem) raises.
"""
from __future__ import annotations

import functools
import os
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from policy.errors import Diagnostic, InputError, Severity, UsageError
from policy.profiles.schema import (  # re-exported: callers import it from here too
    SchemaChecker as SchemaChecker,
    schema as schema,
    schema_text as schema_text,
    suggest,
)
from policy.profiles.yamlload import MAX_BYTES, Loaded, PathKey, json_path, load_yaml
from policy.resources import data_file
from policy.units import (
    GiB,
    MiB,
    SizeError,
    format_size,
    is_decimal_unit,
    parse_budget,
    parse_size,
)

DeviceType = Literal["nvdimm", "cxl", "virtio-pmem", "e820", "hmem"]
DEVICE_TYPES: tuple[str, ...] = ("nvdimm", "cxl", "virtio-pmem", "e820", "hmem")
MODES: tuple[str, ...] = (
    "raw", "sector", "fsdax", "devdax", "system-ram", "ondemand", "pfn", "extent",
)
PAGE_MODES = ("fsdax", "devdax", "system-ram")  # permanent struct pages: map and align apply
ALIGNS: tuple[int, ...] = (4096, 2 * MiB, GiB)
MIN_PFN_NAMESPACE = 16 * MiB  # ndctl refuses smaller fsdax/devdax namespaces
COMPAT_ALIGN = 2 * MiB  # memremap_compat_align() on x86_64/arm64 (SUBSECTION_SIZE)
INFO_BLOCK = 8 * 1024  # nd_pfn info block (drivers/nvdimm/pfn_devs.c:nd_pfn_init)


@dataclass(frozen=True)
class Pin:
    """A fixed runtime choice: ``mode`` (:data:`MODES`), ``map`` ("mem"/"dev"), ``align`` bytes."""

    mode: str
    map: str | None = None
    align: int | None = None


@dataclass(frozen=True)
class DeviceProfile:
    """One device to decide for, with everything resolved to bytes.

    ``name`` is ``metadata.name`` for a DeviceProfile and ``<host>/<device name>`` for each
    device of a HostProfile (``host`` is then the host's name). Budgets are bytes; a percentage
    is of ``size``. ``line`` is where the device is described in ``source``.
    """

    name: str
    host: str | None
    type: DeviceType
    size: int
    start_align: int | None
    numa_node: int | None
    requires: tuple[str, ...]
    wants: tuple[str, ...]
    budget_dram: int | None
    budget_capacity: int | None
    budget_text: str | None
    pin: Pin | None
    source: str
    line: int
    labels: Mapping[str, str] = field(
        default_factory=lambda: types.MappingProxyType({}), hash=False
    )


@dataclass(frozen=True)
class FileResult:
    """The outcome for one input file: ``ok`` when it has no error (warnings allowed).

    ``unreadable`` marks files that could not be read at all (exit code 2 territory).
    """

    path: str
    ok: bool
    diagnostics: tuple[Diagnostic, ...]
    devices: tuple[DeviceProfile, ...] = ()
    unreadable: bool = False

    def passed(self, strict: bool = False) -> bool:
        """True when the file is valid; with ``strict`` warnings also fail it."""
        return self.ok and not (strict and any(d.severity == "warning" for d in self.diagnostics))


@dataclass(frozen=True)
class ProfileSet:
    """Every device of every valid file, every diagnostic, and one row per file."""

    devices: tuple[DeviceProfile, ...]
    diagnostics: tuple[Diagnostic, ...]
    files: tuple[FileResult, ...]

    @property
    def ok(self) -> bool:
        """True when no file has an error."""
        return all(f.ok for f in self.files)

    def passed(self, strict: bool = False) -> bool:
        """True when every file passes (see :meth:`FileResult.passed`)."""
        return all(f.passed(strict) for f in self.files)

    @property
    def unreadable(self) -> bool:
        """True when some input could not be read."""
        return any(f.unreadable for f in self.files)


# --------------------------------------------------------------------------- semantic checks


@functools.lru_cache(maxsize=1)
def _catalog() -> frozenset[str]:
    """Feature names of the catalog, read straight from ``features.yaml``.

    ``policy.decide.catalog.feature_names()`` gives the same set (a test checks it) but validates
    the
    whole catalog with jsonschema first, which would put ~100 ms on every ``validate`` start.
    """
    return frozenset(str(f["name"]) for f in _catalog_doc()["features"])


@functools.lru_cache(maxsize=1)
def _catalog_doc() -> dict[str, Any]:
    import yaml

    with open(data_file("features.yaml"), "rb") as fh:
        doc = yaml.load(fh, Loader=yaml.CSafeLoader)
    assert isinstance(doc, dict)
    return doc


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
                     f"{what} {value!r} is decimal: {n} bytes ({format_size(n)}); write "
                     f"{binary}iB for binary units (ndctl's sizes are binary)", where)
        return n

    def features(self, value: Any, where: PathKey) -> tuple[str, ...]:
        if not isinstance(value, list):
            return ()
        names = _catalog()
        for i, name in enumerate(value):
            if isinstance(name, str) and name not in names and self.clean(where + (i,)):
                self.add("error", "unknown-feature",
                         f"unknown feature {name!r}{suggest(name, sorted(names))}; "
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
            elif size and size % start_align:
                self.add(
                    "error",
                    "size-align",
                    f"size {format_size(size)} is not a multiple of start_align "
                    f"{format_size(start_align)}",
                    dpath + ("size",),
                )
            elif start_align < COMPAT_ALIGN:
                self.add(
                    "warning",
                    "start-align",
                    f"start_align {format_size(start_align)} is below 2 MiB: the kernel refuses "
                    "fsdax/devdax on a namespace whose start is not 2 MiB aligned",
                    dpath + ("start_align",),
                )

        region_align = _region_align(dev.get("type"))
        if size and region_align and size % region_align:
            self.add(
                "warning",
                "region-align",
                f"size {format_size(size)} is not a multiple of the {dev.get('type')} region "
                f"align {format_size(region_align)}: ndctl refuses such a namespace in every mode "
                "(drivers/nvdimm/region_devs.c default_align)",
                dpath + ("size",),
            )

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
                    f"feature {both!r} is both required and wanted; requires wins",
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

        pin = self.pin(entry.get("pin"), base + ("pin",), dev.get("type"), size)
        numa = dev.get("numa_node")
        if self.flagged or any(d.severity == "error" for d in self.diags):
            return None  # the file is invalid: no device is built from it
        labels = self.doc.value.get("metadata", {}).get("labels", {}) or {}
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
        )

    def pin(self, value: Any, where: PathKey, dtype: Any, size: int | None) -> Pin | None:
        if not isinstance(value, dict) or not self.clean(where) or "mode" not in value:
            return None
        mode, pmap = value["mode"], value.get("map")
        align = parse_size(value["align"]) if "align" in value else None
        if pmap is not None and mode not in PAGE_MODES:
            self.add(
                "error",
                "pin-map",
                f"map applies only to fsdax, devdax and system-ram (where struct pages are "
                f"placed when the namespace is created); mode {mode} has none",
                where + ("map",),
            )
        if align is not None:
            if mode not in PAGE_MODES:
                self.add("error", "pin-align",
                         f"align applies only to fsdax, devdax and system-ram, not to mode {mode}",
                         where + ("align",))
            elif align == GiB and mode == "fsdax":
                self.add(
                    "error",
                    "pin-align",
                    "fsdax faults go up to 2 MiB (PMD) only: align 1GiB would silently fall back "
                    "to smaller pages; use devdax for 1 GiB faults or align 2MiB",
                    where + ("align",),
                )
        if dtype == "hmem" and (mode not in ("devdax", "system-ram") or pmap == "dev"):
            self.add("error", "pin-type",
                     "hmem (EFI soft-reserved memory) has no namespace: only devdax or system-ram "
                     "with map mem apply", where + ("mode",))
        if mode in PAGE_MODES and size:
            unit = max(align or COMPAT_ALIGN, COMPAT_ALIGN)
            if size < MIN_PFN_NAMESPACE:
                self.add(
                    "error",
                    "size-small",
                    f"size {format_size(size)} is below 16 MiB: ndctl refuses {mode} namespaces "
                    "that small",
                    where + ("mode",),
                )
            elif size % (align or COMPAT_ALIGN):
                self.add(
                    "error",
                    "size-align",
                    f"size {format_size(size)} is not a multiple of the "
                    f"{format_size(align or COMPAT_ALIGN)} align; ndctl refuses it",
                    where + ("align",) if align else where + ("mode",),
                )
            elif size <= unit:
                self.add(
                    "error",
                    "size-align",
                    f"align {format_size(unit)} leaves no room on a {format_size(size)} device: "
                    "the kernel reports 'unable to satisfy requested alignment'",
                    where + ("align",),
                )
            elif align == GiB and pmap == "mem":
                self.add(
                    "warning",
                    "align-waste",
                    f"align 1GiB with map mem pads the {INFO_BLOCK // 1024} KiB info block to a "
                    f"full 1 GiB: {format_size(GiB)} of the {format_size(size)} device is lost "
                    f"(align 2MiB would lose {format_size(COMPAT_ALIGN)})",
                    where + ("align",),
                )
        return Pin(mode=mode, map=pmap, align=align)


def _region_align(dtype: Any) -> int:
    """The device type's region align from ``features.yaml`` (0: none, or an unknown type).

    Read like :func:`_catalog`; ``policy.decide.catalog`` gives the same value (a test checks it).
    """
    for rule in _catalog_doc()["device_types"]:
        if rule["name"] == dtype:
            return int((rule.get("region_align") or {}).get("bytes", 0))
    return 0


def check_document(doc: Loaded, path: str) -> tuple[list[Diagnostic], list[DeviceProfile]]:
    """Schema and semantic Diagnostics for one loaded document, and its devices if it is valid."""
    diags: list[Diagnostic] = []
    flagged: set[PathKey] = set()
    for err in SchemaChecker().errors(doc.value):
        if err.key is not None:
            where = err.path + (err.key,)
            line, col = doc.key_marks.get(where, doc.mark(err.path))
        else:
            where = err.path
            line, col = doc.mark(err.path)
        flagged.add(where)
        diag = Diagnostic(
            "error", f"schema-{err.keyword}", err.message, path, line, col, json_path(where)
        )
        if diag not in diags:  # the same rule reached through two subschemas
            diags.append(diag)
    value = doc.value
    checker = _Checker(doc, path, flagged)
    devices: list[DeviceProfile] = []
    if isinstance(value, dict) and isinstance(value.get("spec"), dict):
        spec = value["spec"]
        meta = value.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        name = name if isinstance(name, str) else "<unnamed>"
        if value.get("kind") == "DeviceProfile":
            dp = checker.device(spec, ("spec",), {}, name, None)
            devices += [dp] if dp else []
        elif value.get("kind") == "HostProfile" and isinstance(spec.get("devices"), list):
            inherited = {
                k: (spec[k], ("spec", k)) for k in ("requires", "wants", "budget") if k in spec
            }
            seen: dict[str, int] = {}
            for i, entry in enumerate(spec["devices"]):
                if not isinstance(entry, dict):
                    continue
                dname = entry.get("name")
                if isinstance(dname, str):
                    if dname in seen:
                        checker.add(
                            "error",
                            "duplicate-device",
                            f"device name {dname!r} is already used by devices[{seen[dname]}]",
                            ("spec", "devices", i, "name"),
                        )
                    seen.setdefault(dname, i)
                dp = checker.device(
                    entry, ("spec", "devices", i), inherited, f"{name}/{dname}", name
                )
                devices += [dp] if dp else []
    diags += checker.diags
    if any(d.severity == "error" for d in diags):
        devices = []
    return diags, devices


# --------------------------------------------------------------------------- loading


def _file_result(data: bytes | str, path: str) -> FileResult:
    doc, diags = load_yaml(data, path)
    devices: list[DeviceProfile] = []
    if doc is not None:
        more, devices = check_document(doc, path)
        diags = diags + more
        if any(d.severity == "error" for d in diags):
            devices = []
    diags.sort(key=lambda d: (d.line or 0, d.col or 0))
    ok = not any(d.severity == "error" for d in diags)
    return FileResult(path, ok, tuple(diags), tuple(devices))


def _gather(results: Sequence[FileResult]) -> ProfileSet:
    files = list(results)
    seen: dict[str, FileResult] = {}
    for i, fr in enumerate(files):
        extra = []
        for dev in fr.devices:
            other = seen.get(dev.name)
            if other is not None and other.path != fr.path:
                extra.append(
                    Diagnostic(
                        "warning",
                        "duplicate-name",
                        f"profile name {dev.name!r} is also defined in {other.path}",
                        fr.path,
                        dev.line,
                        None,
                    )
                )
            seen.setdefault(dev.name, fr)
        if extra:
            files[i] = FileResult(
                fr.path, fr.ok, fr.diagnostics + tuple(extra), fr.devices, fr.unreadable
            )
    return ProfileSet(
        devices=tuple(d for f in files for d in f.devices),
        diagnostics=tuple(d for f in files for d in f.diagnostics),
        files=tuple(files),
    )


def load_profile_text(data: bytes | str, path: str = "<input>") -> ProfileSet:
    """Check one profile given as bytes or text; ``path`` labels it in Diagnostics."""
    return _gather([_file_result(data, path)])


def _read(path: Path) -> FileResult:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except IsADirectoryError:
        return FileResult(
            str(path),
            False,
            (Diagnostic("error", "io-error", "is a directory, not a profile file", str(path)),),
            unreadable=True,
        )
    except OSError as err:
        reason = err.strerror or str(err)
        return FileResult(
            str(path),
            False,
            (Diagnostic("error", "io-error", f"cannot read: {reason}", str(path)),),
            unreadable=True,
        )
    return _file_result(data, str(path))


def expand_paths(paths: Sequence[str | Path]) -> list[str | Path]:
    """Files as given, directories replaced by their ``*.yaml``/``*.yml`` files (recursive, sorted).

    ``-`` is kept as is (stdin). Raises :class:`InputError` for a path that does not exist and
    for a directory without profile files.
    """
    out: list[str | Path] = []
    for p in paths:
        if str(p) == "-":
            out.append("-")
            continue
        path = Path(p)
        if path.is_dir():
            found = sorted(
                (Path(root) / f for root, dirs, files in os.walk(path)
                 for f in files if f.endswith((".yaml", ".yml"))),
                key=lambda q: q.parts,
            )
            if not found:
                raise InputError(f"{p}: no *.yaml or *.yml files in this directory")
            out.extend(found)
        elif path.exists() or path.is_symlink():
            out.append(path)
        else:
            raise InputError(f"{p}: no such file or directory")
    return out


def load_profiles(paths: Sequence[str | Path], *, stdin: bytes | None = None) -> ProfileSet:
    """Load and check every profile under ``paths`` (files, directories, ``-`` for ``stdin``).

    A bad file is one failed :class:`FileResult`, never an exception. Raises
    :class:`InputError` only for a path that does not exist, and :class:`UsageError` for ``-``
    without ``stdin`` bytes.
    """
    results: list[FileResult] = []
    for p in expand_paths(paths):
        if p == "-":
            if stdin is None:
                raise UsageError("'-' (stdin) given but no input was read")
            results.append(_file_result(stdin, "<stdin>"))
        else:
            results.append(_read(Path(p)))
    return _gather(results)
