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

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from policy.errors import Diagnostic, InputError, LocatedInputError, UsageError, clip
from policy.profiles.checks import _Checker
from policy.profiles.records import (  # noqa: F401 - re-exported
    ALIGNS,
    COMPAT_ALIGN,
    DEVICE_TYPES,
    INFO_BLOCK,
    MIN_PFN_NAMESPACE,
    MODES,
    PAGE_MODES,
    DeviceProfile,
    DeviceType,
    Pin,
    _catalog,
    _catalog_doc,
)
from policy.profiles.schema import (  # re-exported: callers import it from here too
    SchemaChecker as SchemaChecker,
    schema as schema,
    schema_text as schema_text,
)
from policy.profiles.yamlload import MAX_BYTES, Loaded, PathKey, json_path, load_yaml


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
                            f"device name {clip(dname)} is already used by devices[{seen[dname]}]",
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
                        f"profile name {clip(dev.name)} is also defined in {other.path}",
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
    from policy.atomic import read_regular

    try:
        # opened without blocking and refused unless a regular file: a FIFO, device or socket
        # given as a profile never blocks and is never read (exit 2)
        data = read_regular(path, MAX_BYTES, "a profile file")
    except InputError as err:
        shown = str(path)
        reason = err.message.removeprefix(f"{shown}: ")
        return FileResult(shown, False, (Diagnostic("error", "io-error", reason, shown),),
                          unreadable=True)
    return _file_result(data, str(path))


def refuse_unreadable(loaded: ProfileSet) -> None:
    """Raise the located errors of the files that could not be read at all (a FIFO, a device,
    no permission) as one :class:`LocatedInputError`: exit 2, as for an unreadable config."""
    bad = [d for f in loaded.files if f.unreadable for d in f.diagnostics]
    if bad:
        raise LocatedInputError(bad)


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
