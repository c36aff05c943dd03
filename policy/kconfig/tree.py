"""The wrapper around kconfiglib: parse the tree, load and write configs, ``BuildConfig``.

With ``configfile`` (reading .config text), ``kexpr`` (expressions and chains) and ``encode``
(the configuration space), the only modules that import kconfiglib. The tree is parsed once per
process; every loaded configuration is captured as a frozen :class:`BuildConfig` snapshot, and
expressions are evaluated against that snapshot (not against kconfiglib's mutable state), so
several configurations can be held side by side.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import kconfiglib

from policy import resources
from policy.errors import InputError, UsageError
from policy.kconfig import expr as kexpr, versions
from policy.kconfig.chain import ChainStep
from policy.kconfig.configfile import (  # re-exported: part of this module's API
    ConfigInputError as ConfigInputError,
    ConfigLine as ConfigLine,
    check_assignment as check_assignment,
    parse_config_text as parse_config_text,
    read_config_text as read_config_text,
)

_lock = threading.RLock()
_TREE: dict[Path, kconfiglib.Kconfig] = {}
# a kernel version (None: the default one) -> its parsed tree, so that the expressions and chains
# of every decision find it without resolving a path each time
_BY_VERSION: dict[Optional[str], kconfiglib.Kconfig] = {}


# --------------------------------------------------------------------------------------------
# The tree
# --------------------------------------------------------------------------------------------


def parse_tree(kconfig: Union[Path, str, None] = None) -> kconfiglib.Kconfig:
    """Parse a Kconfig tree once per process: a modelled kernel version ("6.1", "6.12"; the
    default one for None) or the path of a root Kconfig.

    ``source`` paths are relative to the tree root, as for the C tools with ``srctree`` set.
    Raises :class:`InputError` with the Kconfig file:line for a parse error.
    """
    if isinstance(kconfig, Path):
        return _parsed(kconfig.resolve())
    kconf = _BY_VERSION.get(kconfig)
    if kconf is None:
        kconf = _BY_VERSION[kconfig] = _parsed(versions.kconfig_file(kconfig).resolve())
    return kconf


def _parsed(path: Path) -> kconfiglib.Kconfig:
    with _lock:
        kconf = _TREE.get(path)
        if kconf is None:
            kconf = _TREE[path] = _parse(path)
    return kconf


@contextlib.contextmanager
def _kconfig_environ(**values: Optional[str]) -> Iterator[None]:
    """Set (or, for None, remove) the variables kconfiglib reads, and restore them afterwards."""
    saved = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _parse(path: Path) -> kconfiglib.Kconfig:
    # the shipped trees source their files relative to the data root (kernels/6.12/kconfig/...)
    root = resources.tree_root().resolve()
    srctree, name = (root, str(path.relative_to(root))) if path.is_relative_to(root) else (
        path.parent, path.name)
    try:
        with _kconfig_environ(srctree=str(srctree), KCONFIG_CONFIG_HEADER=None):
            kconf = kconfiglib.Kconfig(name, warn_to_stderr=False, suppress_traceback=False)
    except kconfiglib.KconfigError as err:
        raise InputError(f"Kconfig tree does not parse: {err}") from err
    except OSError as err:
        raise InputError(f"{path}: cannot read the Kconfig tree: {err.strerror}") from err
    kconf.warn_assign_undef = False
    kconf.warn_assign_override = False
    kconf.warn_assign_redun = False
    return kconf


def tree_root_of(kconf: kconfiglib.Kconfig) -> Path:
    """The directory that ``source`` paths and definition locations are relative to."""
    return Path(kconf.srctree)


# --------------------------------------------------------------------------------------------
# BuildConfig: a frozen snapshot of one resolved configuration
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildConfig:
    """What one kernel was built with, resolved by the Kconfig tree.

    ``values`` holds every symbol of the tree ("y"/"m"/"n" or an int/hex/string value);
    ``written`` names the symbols a ``.config`` would contain (visible or set), so "n" (written
    as "is not set") can be told from "absent" (dependencies unmet).
    """

    name: str
    path: Optional[str]
    arch: str
    page_size: int
    values: Mapping[str, str]
    written: frozenset[str]
    config_text: str = field(repr=False, compare=False, default="")
    kernel: str = versions.DEFAULT  # the modelled kernel version whose tree resolved it
    # what a reader must be told about how it was read (an unmodelled kernel version)
    notes: tuple[str, ...] = field(default=(), compare=False)

    def value(self, sym: str) -> str:
        """The symbol's value; "n" for symbols the tree does not define."""
        return self.values.get(sym, "n")

    def enabled(self, sym: str) -> bool:
        """True when the symbol is y or m."""
        return self.value(sym) in ("y", "m")

    def state(self, sym: str) -> str:
        """The value as a ``.config`` shows it, or "absent" when it would not be written."""
        return self.value(sym) if sym in self.written else "absent"

    def eval(self, expr: str) -> str:
        """Evaluate a Kconfig expression (e.g. ``"FS_DAX && ZONE_DEVICE"``) to "y"/"m"/"n"."""
        kconf = parse_tree(self.kernel)
        parsed = kexpr.parse_expr(kconf, expr)
        return kexpr.TRI[kexpr.tri(parsed, self.values)]

    def why_off(self, sym: str) -> tuple[ChainStep, ...]:
        """The dependency chain from ``sym`` down to the root cause of it being off."""
        kconf = parse_tree(self.kernel)
        return tuple(kexpr.why_off(kconf, self.values, sym, set()))

    def why_expr_off(self, expr: str) -> tuple[ChainStep, ...]:
        """The chain for the first unmet symbol of an expression."""
        kconf = parse_tree(self.kernel)
        parsed = kexpr.parse_expr(kconf, expr)
        found = kexpr.culprit(parsed, self.values, want_on=True)
        if found is None:
            return ()
        name, want_on = found
        if want_on:
            return self.why_off(name)
        sym = kconf.syms[name]
        file, line = kexpr.definition(sym)
        return (ChainStep(name, self.value(name), "", file, line, "is on, which rules this out",
                          "rules-out"),)


def snapshot(kconf: kconfiglib.Kconfig, name: str, path: Optional[str], text: str,
             kernel: str = versions.DEFAULT, notes: tuple[str, ...] = ()) -> BuildConfig:
    """Capture the kconfiglib state (of ``kernel``'s tree) as a frozen :class:`BuildConfig`."""
    values: dict[str, str] = {}
    written: set[str] = set()
    for sym in kconf.unique_defined_syms:
        values[sym.name] = sym.str_value
        if sym.config_string:
            written.add(sym.name)
    return BuildConfig(
        name=name,
        path=path,
        arch=_arch(values),
        page_size=page_size(values, kernel),
        values=values,
        written=frozenset(written),
        config_text=text,
        kernel=kernel,
        notes=notes,
    )


def _arch(values: Mapping[str, str]) -> str:
    for sym, arch in (("X86_64", "x86_64"), ("ARM64", "arm64"), ("PPC64", "ppc64")):
        if values.get(sym) == "y":
            return arch
    return "unknown"


def page_size(values: Mapping[str, str], kernel: str = versions.DEFAULT) -> int:
    """The page size in bytes, derived as the kernel version's record says."""
    rec = versions.get(kernel)
    if rec.page_shift_symbol:
        shift = values.get(rec.page_shift_symbol, "")
        if shift.isdigit():
            return 1 << int(shift)
    for sym, size in rec.page_size_symbols:
        if values.get(sym) == "y":
            return size
    return 4096


# --------------------------------------------------------------------------------------------
# Loading and writing
# --------------------------------------------------------------------------------------------


def apply_file(kconf: kconfiglib.Kconfig, text: str) -> None:
    """Load config text into kconfiglib (via a private temporary file)."""
    with tempfile.NamedTemporaryFile("w", suffix=".config", delete=False, encoding="utf-8") as tmp:
        tmp.write(text)
    try:
        kconf.load_config(tmp.name)
    finally:
        os.unlink(tmp.name)


def reset(kconf: kconfiglib.Kconfig) -> None:
    kconf.unset_values()
    kconf.warnings.clear()


def detect_kernel(text: str, kernel: Optional[str] = None) -> versions.Detected:
    """The kernel a config is evaluated as: ``kernel`` when given (``--kernel``), else its
    header's version (the nearest lower modelled one, with a warning), else the default."""
    if kernel is not None:
        try:
            versions.get(kernel)
        except ValueError as err:
            raise UsageError(str(err)) from err
        return versions.Detected(kernel, None)
    found = versions.from_header(text)
    return found if found is not None else versions.Detected(versions.DEFAULT, None)


def load_text(
    text: str, path: str, name: Optional[str] = None, *, strict: bool = True,
    kernel: Optional[str] = None,
) -> BuildConfig:
    """Resolve config text (``olddefconfig`` semantics) into a :class:`BuildConfig`.

    ``kernel`` picks the tree (default: the version of the text's header, see
    :func:`detect_kernel`). ``strict`` refuses malformed lines, unknown symbols and ill-typed
    values with a located :class:`InputError` (all problems are reported, the first one as the
    error).
    """
    found = detect_kernel(text, kernel)
    kconf = parse_tree(found.kernel)
    parsed, diags = parse_config_text(text, path)
    if strict:
        for item in parsed.assignments:
            diag = check_assignment(kconf, item, path)
            if diag is not None:
                diags.append(diag)
    if diags:
        diags.sort(key=lambda d: (d.line or 0))
        raise ConfigInputError(diags)
    notes = (f"{path}: {found.warning}",) if found.warning else ()
    with _lock:
        reset(kconf)
        apply_file(kconf, text)
        return snapshot(kconf, name or Path(path).name, path, text, found.kernel, notes)


def load_build(path: Path, name: Optional[str] = None,
               version: Optional[str] = None) -> BuildConfig:
    """Read and resolve a ``.config`` or defconfig of a pmempolicy tree.

    The kernel: ``version`` when given, else where a shipped defconfig ships (``configs/`` is
    6.1, ``kernels/6.12/configs/`` 6.12), else the file's header, else the default."""
    text = read_config_text(path)
    kernel = version or versions.of_path(path)
    display = name or _display_name(path)
    if name is None and kernel is not None:
        display = versions.qualified(display, kernel)
    return load_text(text, str(path), display, kernel=kernel)


def _display_name(path: Path) -> str:
    stem = path.name
    return stem[: -len("_defconfig")] if stem.endswith("_defconfig") else stem


def shipped_defconfigs() -> list[Path]:
    """Every shipped defconfig of every modelled kernel: by kernel (oldest first), then name."""
    out: list[Path] = []
    for kernel in versions.names():
        out.extend(sorted(versions.configs_dir(kernel).glob("*_defconfig")))
    return out


def shipped_name(path: Path) -> str:
    """A shipped defconfig's name: ``debian_amd64`` (6.1) or ``debian_amd64@6.12``."""
    return versions.qualified(_display_name(path), versions.of_path(path) or versions.DEFAULT)


def find_defconfig(name: str) -> Path:
    """A shipped defconfig by name (``debian_amd64``, ``debian_amd64_defconfig``,
    ``debian_amd64@6.12``) or a path."""
    candidate = Path(name)
    if os.path.lexists(candidate) or os.sep in name:
        return candidate  # the reader refuses what is not a regular file, with its reason
    for path in shipped_defconfigs():
        if name in (shipped_name(path), versions.qualified(path.name, versions.of_path(path)
                                                           or versions.DEFAULT)):
            return path
    known = ", ".join(shipped_name(p) for p in shipped_defconfigs())
    raise UsageError(f"no defconfig named {name!r}; shipped: {known}")


def shipped_builds(kernel: Optional[str] = None) -> list[BuildConfig]:
    """Every shipped defconfig (of one kernel, or of all), resolved."""
    return [load_build(path) for path in shipped_defconfigs()
            if kernel is None or versions.of_path(path) == kernel]


def defaults(kernel: str = versions.DEFAULT) -> BuildConfig:
    """The tree's defaults (``alldefconfig``)."""
    kconf = parse_tree(kernel)
    with _lock:
        reset(kconf)
        return snapshot(kconf, "alldefconfig", None, write_to_text(kconf), kernel)


def _all(kconf: kconfiglib.Kconfig, name: str, yes: bool,
         kernel: str = versions.DEFAULT) -> BuildConfig:
    """allnoconfig/allyesconfig exactly as kconfiglib's own scripts do them."""
    kconf.warn = False
    try:
        for sym in kconf.unique_defined_syms:
            if yes:
                # choice symbols get m: ignored by y-mode choices (which take their default),
                # the highest value in m-mode ones
                sym.set_value(1 if sym.choice else 2)
            else:
                sym.set_value(2 if sym.is_allnoconfig_y else 0)
        if yes:
            for choice in kconf.unique_choices:
                choice.set_value(2)
    finally:
        kconf.warn = True
    return snapshot(kconf, name, None, write_to_text(kconf), kernel)


def allno(kernel: str = versions.DEFAULT) -> BuildConfig:
    """``allnoconfig``: every visible symbol n (where it can be)."""
    kconf = parse_tree(kernel)
    with _lock:
        reset(kconf)
        return _all(kconf, "allnoconfig", yes=False, kernel=kernel)


def allyes(kernel: str = versions.DEFAULT) -> BuildConfig:
    """``allyesconfig``: every visible symbol y (m where y is impossible)."""
    kconf = parse_tree(kernel)
    with _lock:
        reset(kconf)
        return _all(kconf, "allyesconfig", yes=True, kernel=kernel)


def restore(build: BuildConfig) -> kconfiglib.Kconfig:
    """Put kconfiglib into the state of ``build`` (for writing or editing it)."""
    kconf = parse_tree(build.kernel)
    reset(kconf)
    if build.config_text:
        apply_file(kconf, build.config_text)
    return kconf


def render_config(build: BuildConfig, *, minimal: bool = False) -> str:
    """The ``.config`` (or the minimal defconfig) text of a resolved configuration."""
    kconf = parse_tree(build.kernel)
    with _lock:
        restore(build)
        header = "# Generated by pmempolicy\n"
        if build.kernel != versions.DEFAULT:  # so that reading it back picks the same tree
            header += versions.header_line(build.arch, build.kernel)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            if minimal:
                kconf.write_min_config(str(out), header=header)
            else:
                kconf.write_config(str(out), header=header, save_old=False)
            return out.read_text(encoding="utf-8")


@dataclass(frozen=True)
class SetResult:
    """The outcome of ``set SYM=VALUE``: the new build and every value that did not take."""

    build: BuildConfig
    failures: tuple[tuple[str, str, str, tuple[ChainStep, ...]], ...]  # (sym, wanted, got, chain)


def set_values(build: BuildConfig, assignments: Sequence[tuple[str, str]]) -> SetResult:
    """Apply ``SYM=VALUE`` assignments in order, and report those that did not take."""
    kconf = parse_tree(build.kernel)
    with _lock:
        restore(build)
        for name, value in assignments:
            sym = kconf.syms.get(name)
            if sym is None or not sym.nodes:
                raise UsageError(f"unknown symbol {name!r}: not in the pmempolicy Kconfig tree")
            item = ConfigLine(name, value, value if sym.orig_type != kconfiglib.STRING
                              else f'"{value}"', 0)
            diag = check_assignment(kconf, item, "<command line>")
            if diag is not None:
                raise UsageError(f"{name}={value}: {diag.message.split(': ', 1)[-1]}"
                                 if diag.code != "config-type" else diag.message)
            if sym.choice is not None and value == "y":
                sym.choice.set_value(2)
            sym.set_value(value)
        text = write_to_text(kconf)
        new = snapshot(kconf, build.name, build.path, text, build.kernel)
    failures = []
    for name, value in assignments:
        got = new.value(name)
        wanted = value
        if got != wanted:
            chain: tuple[ChainStep, ...] = ()
            if wanted in ("y", "m") and got in ("n", "m"):
                chain = new.why_off(name) if got == "n" else _why_not_y(new, name)
            elif wanted == "n":
                chain = _why_on(new, name)
            failures.append((name, wanted, got, chain))
    return SetResult(new, tuple(failures))


def _why_not_y(build: BuildConfig, name: str) -> tuple[ChainStep, ...]:
    kconf = parse_tree(build.kernel)
    sym = kconf.syms[name]
    file, line = kexpr.definition(sym)
    needs = kconfiglib.expr_str(sym.direct_dep)
    return (
        ChainStep(name, "m", needs, file, line, "its dependencies allow at most m", "at-most-m"),
    )


def _why_on(build: BuildConfig, name: str) -> tuple[ChainStep, ...]:
    kconf = parse_tree(build.kernel)
    sym = kconf.syms[name]
    file, line = kexpr.definition(sym)
    steps = [ChainStep(name, build.value(name), "", file, line, "cannot be n", "forced-on")]
    for sel in kconfiglib.split_expr(sym.rev_dep, kconfiglib.OR):
        if kexpr.tri(sel, build.values) > 0:
            steps.append(ChainStep(name, build.value(name), "", file, line,
                                   f"selected by {kconfiglib.expr_str(sel)}", "forced-on"))
    if not any(node.prompt for node in sym.nodes):
        steps.append(ChainStep(name, build.value(name), "", file, line,
                               "promptless: its value comes from its default or selects",
                               "forced-on"))
    return tuple(steps)


def write_to_text(kconf: kconfiglib.Kconfig) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        kconf.write_config(str(out), header="", save_old=False)
        return out.read_text(encoding="utf-8")


def choice_alternatives(name: str) -> tuple[str, ...]:
    """The other entries of the choice ``name`` belongs to (empty when it is no choice entry)."""
    sym = parse_tree().syms.get(name)
    if sym is None or sym.choice is None:
        return ()
    return tuple(s.name for s in sym.choice.syms if s.name != name)


def iter_symbols() -> Iterator[Any]:
    """Every defined symbol of the tree (kconfiglib objects, for reporting only)."""
    return iter(parse_tree().unique_defined_syms)

