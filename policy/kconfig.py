"""The one wrapper around kconfiglib: parse the tree, read and write configs, ``BuildConfig``.

Nothing else in pmempolicy imports kconfiglib. The tree is parsed once per process; every loaded
configuration is captured as a frozen :class:`BuildConfig` snapshot, and expressions are evaluated
against that snapshot (not against kconfiglib's mutable state), so several configurations can be
held side by side.
"""
from __future__ import annotations

import gzip
import lzma
import os
import re
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

import kconfiglib

from . import resources
from .chain import ChainStep
from .errors import Diagnostic, InputError, UsageError

TRI = ("n", "m", "y")
_CONFIG_PREFIX = "CONFIG_"
_SET_RE = re.compile(r"^CONFIG_([A-Za-z0-9_]+)=(.*)$")
_UNSET_RE = re.compile(r"^# CONFIG_([A-Za-z0-9_]+) is not set$")
_MAX_CONFIG_BYTES = 16 * 1024 * 1024

_lock = threading.RLock()
_TREE: dict[Path, kconfiglib.Kconfig] = {}


# --------------------------------------------------------------------------------------------
# The tree
# --------------------------------------------------------------------------------------------


def parse_tree(kconfig: Optional[Path] = None) -> kconfiglib.Kconfig:
    """Parse the Kconfig tree (the shipped one by default), once per process.

    ``source`` paths are relative to the tree root, as for the C tools with ``srctree`` set.
    Raises :class:`InputError` with the Kconfig file:line for a parse error.
    """
    path = (kconfig or resources.kconfig_file()).resolve()
    with _lock:
        kconf = _TREE.get(path)
        if kconf is None:
            kconf = _parse(path)
            _TREE[path] = kconf
    return kconf


def _parse(path: Path) -> kconfiglib.Kconfig:
    saved = {k: os.environ.get(k) for k in ("srctree", "KCONFIG_CONFIG_HEADER")}
    os.environ["srctree"] = str(path.parent)
    os.environ.pop("KCONFIG_CONFIG_HEADER", None)
    try:
        kconf = kconfiglib.Kconfig(path.name, warn_to_stderr=False, suppress_traceback=False)
    except kconfiglib.KconfigError as err:
        raise InputError(f"Kconfig tree does not parse: {err}") from err
    except OSError as err:
        raise InputError(f"{path}: cannot read the Kconfig tree: {err.strerror}") from err
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    kconf.warn_assign_undef = False
    kconf.warn_assign_override = False
    kconf.warn_assign_redun = False
    return kconf


def tree_root_of(kconf: kconfiglib.Kconfig) -> Path:
    """The directory that ``source`` paths and definition locations are relative to."""
    return Path(kconf.srctree)


def definition(sym: Any) -> tuple[str, int]:
    """File and line of a symbol's (first) definition, relative to the tree root."""
    if not sym.nodes:
        return ("<undefined>", 0)
    node = sym.nodes[0]
    return (str(node.filename), int(node.linenr))


# --------------------------------------------------------------------------------------------
# Reading configuration files
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigLine:
    """One assignment read from a ``.config``: ``CONFIG_NAME=value`` or ``is not set``."""

    name: str
    value: str  # "n" for "is not set"; strings without their quotes
    raw: str  # the value as written
    line: int


@dataclass(frozen=True)
class ConfigText:
    """A parsed configuration file."""

    path: str
    assignments: tuple[ConfigLine, ...]
    lines: int


def read_config_text(path: Path, *, allow_compressed: bool = False) -> str:
    """Read a config file as text, refusing binary files with a clear message.

    With ``allow_compressed``, ``.gz`` and ``.xz`` files (``/proc/config.gz``) are decompressed,
    recognised by their magic bytes.
    """
    shown = str(path)
    try:
        if path.is_dir():
            raise InputError(f"{shown}: is a directory, expected a kernel config file")
        with open(path, "rb") as f:
            data = f.read(_MAX_CONFIG_BYTES + 1)
    except FileNotFoundError as err:
        raise InputError(f"{shown}: no such file") from err
    except OSError as err:
        raise InputError(f"{shown}: cannot read: {err.strerror}") from err
    if allow_compressed:
        try:
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            elif data[:6] == b"\xfd7zXZ\x00":
                data = lzma.decompress(data)
        except (OSError, EOFError, lzma.LZMAError) as err:
            raise InputError(f"{shown}: corrupt compressed file: {err}") from err
    if len(data) > _MAX_CONFIG_BYTES:
        raise InputError(f"{shown}: larger than {_MAX_CONFIG_BYTES} bytes; not a kernel config")
    if b"\x00" in data:
        hint = "" if allow_compressed else " (compressed configs are read by import-config)"
        raise InputError(f"{shown}: binary file, expected a kernel config in text form{hint}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(
            f"invalid UTF-8 byte 0x{data[err.start]:02x}; expected a kernel config in text form",
            Diagnostic(
                "error", "config-encoding", "invalid UTF-8 in a kernel config", shown, line
            ),
        ) from err


def parse_config_text(text: str, path: str) -> tuple[ConfigText, list[Diagnostic]]:
    """Split a config into assignments; malformed lines become located diagnostics."""
    out: list[ConfigLine] = []
    diags: list[Diagnostic] = []
    lines = text.splitlines()
    for number, raw_line in enumerate(lines, 1):
        line = raw_line.rstrip()
        if not line.strip():
            continue
        m = _SET_RE.match(line)
        if m:
            name, raw = m.groups()
            value = raw
            if raw.startswith('"'):
                if len(raw) < 2 or not raw.endswith('"'):
                    diags.append(
                        Diagnostic(
                            "error", "config-syntax",
                            f"unterminated string for CONFIG_{name}; expected \"...\"",
                            path, number, len(_CONFIG_PREFIX) + len(name) + 2,
                        )
                    )
                    continue
                value = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            out.append(ConfigLine(name, value, raw, number))
            continue
        m = _UNSET_RE.match(line)
        if m:
            out.append(ConfigLine(m.group(1), "n", "is not set", number))
            continue
        if line.lstrip().startswith("#"):
            continue
        col = len(raw_line) - len(raw_line.lstrip()) + 1
        diags.append(
            Diagnostic(
                "error", "config-syntax",
                f"malformed line {line.strip()[:60]!r}; expected CONFIG_NAME=value, "
                "'# CONFIG_NAME is not set' or a comment",
                path, number, col,
            )
        )
    return ConfigText(path, tuple(out), len(lines)), diags


def check_assignment(kconf: kconfiglib.Kconfig, item: ConfigLine, path: str) -> Optional[Diagnostic]:
    """Type and range check of one assignment against the tree (None when it is fine)."""
    sym = kconf.syms.get(item.name)
    col = len(_CONFIG_PREFIX) + len(item.name) + 2
    if sym is None or not sym.nodes:
        return Diagnostic(
            "error", "unknown-symbol",
            f"unknown symbol CONFIG_{item.name}: not in the pmempolicy Kconfig tree "
            "(use 'pmempolicy import-config' for a distro config)",
            path, item.line, 1,
        )
    typ = sym.orig_type
    if typ == kconfiglib.BOOL and item.value not in ("y", "n"):
        return _type_diag(item, path, col, "bool", "y or n")
    if typ == kconfiglib.TRISTATE and item.value not in ("y", "m", "n"):
        return _type_diag(item, path, col, "tristate", "y, m or n")
    if typ in (kconfiglib.INT, kconfiglib.HEX):
        try:
            number = int(item.value, 16 if typ == kconfiglib.HEX else 10)
        except ValueError:
            return _type_diag(item, path, col, kconfiglib.TYPE_TO_STR[typ], "a number")
        for low, high, cond in sym.ranges:
            if kconfiglib.expr_value(cond):
                lo, hi = int(low.str_value, 0), int(high.str_value, 0)
                if not lo <= number <= hi:
                    return Diagnostic(
                        "error", "config-range",
                        f"CONFIG_{item.name}={item.raw} is out of range; expected {lo}..{hi}",
                        path, item.line, col,
                    )
                break
    if typ == kconfiglib.STRING and not item.raw.startswith('"') and item.raw != "is not set":
        return _type_diag(item, path, col, "string", 'a quoted string "..."')
    return None


def _type_diag(item: ConfigLine, path: str, col: int, typ: str, expected: str) -> Diagnostic:
    return Diagnostic(
        "error", "config-type",
        f"CONFIG_{item.name}={item.raw} is not a valid {typ} value; expected {expected}",
        path, item.line, col,
    )


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
        kconf = parse_tree()
        parsed = _parse_expr(kconf, expr)
        return TRI[_tri(parsed, self.values)]

    def why_off(self, sym: str) -> tuple[ChainStep, ...]:
        """The dependency chain from ``sym`` down to the root cause of it being off."""
        kconf = parse_tree()
        return tuple(_why_off(kconf, self.values, sym, set()))

    def why_expr_off(self, expr: str) -> tuple[ChainStep, ...]:
        """The chain for the first unmet symbol of an expression."""
        kconf = parse_tree()
        parsed = _parse_expr(kconf, expr)
        culprit = _culprit(parsed, self.values, want_on=True)
        if culprit is None:
            return ()
        name, want_on = culprit
        if want_on:
            return self.why_off(name)
        sym = kconf.syms[name]
        file, line = definition(sym)
        return (ChainStep(name, self.value(name), "", file, line, "is on, which rules this out",
                          "rules-out"),)


_EXPR_CACHE: dict[str, Any] = {}


def _parse_expr(kconf: kconfiglib.Kconfig, expr: str) -> Any:
    parsed = _EXPR_CACHE.get(expr)
    if parsed is None:
        try:
            # the same steps as Kconfig.eval_string, keeping the parsed expression
            kconf.filename = None
            kconf._tokens = kconf._tokenize("if " + expr)
            kconf._line = expr
            kconf._tokens_i = 1
            parsed = kconf._expect_expr_and_eol()
        except kconfiglib.KconfigError as err:
            raise UsageError(f"bad Kconfig expression {expr!r}: {err}") from err
        _check_expr_symbols(kconf, parsed, expr)
        _EXPR_CACHE[expr] = parsed
    return parsed


def _check_expr_symbols(kconf: kconfiglib.Kconfig, parsed: Any, expr: str) -> None:
    for item in kconfiglib.expr_items(parsed):
        if isinstance(item, kconfiglib.Symbol) and not item.is_constant and not item.nodes:
            raise UsageError(f"Kconfig expression {expr!r} names undefined symbol {item.name}")


def _sym_value(sym: Any, values: Mapping[str, str]) -> str:
    if isinstance(sym, kconfiglib.Choice):
        best = max((TRI.index(values.get(s.name, "n")) for s in sym.syms), default=0)
        return TRI[best]
    if sym.is_constant:
        return str(sym.name)
    return values.get(sym.name, "n")


def _tri(expr: Any, values: Mapping[str, str]) -> int:
    if not isinstance(expr, tuple):
        if not isinstance(expr, kconfiglib.Choice) and expr.orig_type not in (
            kconfiglib.BOOL, kconfiglib.TRISTATE, kconfiglib.UNKNOWN
        ):
            return 0
        value = _sym_value(expr, values)
        return TRI.index(value) if value in TRI else 0
    op = expr[0]
    if op is kconfiglib.AND:
        return min(_tri(expr[1], values), _tri(expr[2], values))
    if op is kconfiglib.OR:
        return max(_tri(expr[1], values), _tri(expr[2], values))
    if op is kconfiglib.NOT:
        return 2 - _tri(expr[1], values)
    rel, a, b = expr
    va, vb = _sym_value(a, values), _sym_value(b, values)
    try:
        comp = _num(va) - _num(vb)
    except ValueError:
        comp = (va > vb) - (va < vb)
    result = {
        kconfiglib.EQUAL: comp == 0,
        kconfiglib.UNEQUAL: comp != 0,
        kconfiglib.LESS: comp < 0,
        kconfiglib.LESS_EQUAL: comp <= 0,
        kconfiglib.GREATER: comp > 0,
        kconfiglib.GREATER_EQUAL: comp >= 0,
    }[rel]
    return 2 if result else 0


def _num(value: str) -> int:
    if value in TRI:
        raise ValueError(value)
    return int(value, 0) if value.lower().startswith("0x") else int(value)


def _culprit(expr: Any, values: Mapping[str, str], want_on: bool) -> Optional[tuple[str, bool]]:
    """The first symbol that makes ``expr`` fail to be (on if want_on, else off)."""
    if not isinstance(expr, tuple):
        if isinstance(expr, kconfiglib.Choice) or expr.is_constant:
            return None
        on = _tri(expr, values) > 0
        return (str(expr.name), want_on) if on != want_on else None
    op = expr[0]
    if op is kconfiglib.NOT:
        return _culprit(expr[1], values, not want_on)
    if op in (kconfiglib.AND, kconfiglib.OR):
        conj = (op is kconfiglib.AND) == want_on
        for sub in (expr[1], expr[2]):
            ok = (_tri(sub, values) > 0) == want_on
            if conj and not ok:
                return _culprit(sub, values, want_on)
        if not conj:
            for sub in (expr[1], expr[2]):
                found = _culprit(sub, values, want_on)
                if found:
                    return found
        return None
    for side in (expr[1], expr[2]):
        if isinstance(side, kconfiglib.Symbol) and not side.is_constant:
            return (str(side.name), True)
    return None


def _why_off(
    kconf: kconfiglib.Kconfig, values: Mapping[str, str], name: str, seen: set[str]
) -> list[ChainStep]:
    sym = kconf.syms.get(name)
    if sym is None or not sym.nodes:
        return [ChainStep(name, "n", "", "<undefined>", 0, "not defined in the pmempolicy tree",
                          "undefined")]
    file, line = definition(sym)
    value = values.get(name, "n")
    if name in seen:
        return [ChainStep(name, value, "", file, line, "dependency loop", "loop")]
    seen.add(name)
    dep = sym.direct_dep
    if _tri(dep, values) == 0:
        needs = kconfiglib.expr_str(dep)
        step = ChainStep(name, value, needs, file, line)
        culprit = _culprit(dep, values, want_on=True)
        if culprit is None:
            return [step]
        cname, want_on = culprit
        if want_on:
            return [step] + _why_off(kconf, values, cname, seen)
        csym = kconf.syms[cname]
        cfile, cline = definition(csym)
        return [step, ChainStep(cname, values.get(cname, "n"), "", cfile, cline,
                                "is on, which rules this out", "rules-out")]
    if sym.choice is not None and value == "n":
        chosen = next((s.name for s in sym.choice.syms if values.get(s.name) == "y"), None)
        note = f"another entry of its choice is selected ({chosen})" if chosen else "not chosen"
        return [ChainStep(name, value, "", file, line, note, "choice")]
    prompted = any(node.prompt for node in sym.nodes)
    if prompted and _tri(sym.nodes[0].prompt[1], values) > 0:
        return [ChainStep(name, value, "", file, line, "set to n in the configuration", "user-off")]
    selectors = sorted({
        f"{item.name}={values.get(item.name, 'n')}"
        for item in kconfiglib.expr_items(sym.rev_dep)
        if isinstance(item, kconfiglib.Symbol) and not item.is_constant
    })
    if selectors:
        note = "promptless and nothing selects it (selected by: " + ", ".join(selectors) + ")"
    else:
        note = "promptless and its default is off"
    return [ChainStep(name, value, "", file, line, note, "unselected")]


def snapshot(kconf: kconfiglib.Kconfig, name: str, path: Optional[str], text: str) -> BuildConfig:
    """Capture the kconfiglib state as a frozen :class:`BuildConfig`."""
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
        page_size=_page_size(values),
        values=values,
        written=frozenset(written),
        config_text=text,
    )


def _arch(values: Mapping[str, str]) -> str:
    for sym, arch in (("X86_64", "x86_64"), ("ARM64", "arm64"), ("PPC64", "ppc64")):
        if values.get(sym) == "y":
            return arch
    return "unknown"


def _page_size(values: Mapping[str, str]) -> int:
    for sym, size in (
        ("ARM64_16K_PAGES", 16384),
        ("ARM64_64K_PAGES", 65536),
        ("PPC_64K_PAGES", 65536),
    ):
        if values.get(sym) == "y":
            return size
    return 4096


# --------------------------------------------------------------------------------------------
# Loading and writing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportReport:
    """What ``import-config`` found: lines outside the model and values that did not survive."""

    build: BuildConfig
    source: str
    assignments: int
    outside_model: int
    differences: tuple[tuple[str, str, str, int], ...]  # (symbol, file says, model gives, line)


def _apply_file(kconf: kconfiglib.Kconfig, text: str) -> None:
    """Load config text into kconfiglib (via a private temporary file)."""
    with tempfile.NamedTemporaryFile("w", suffix=".config", delete=False, encoding="utf-8") as tmp:
        tmp.write(text)
    try:
        kconf.load_config(tmp.name)
    finally:
        os.unlink(tmp.name)


def _reset(kconf: kconfiglib.Kconfig) -> None:
    kconf.unset_values()
    kconf.warnings.clear()


def load_text(text: str, path: str, name: Optional[str] = None, *, strict: bool = True) -> BuildConfig:
    """Resolve config text (``olddefconfig`` semantics) into a :class:`BuildConfig`.

    ``strict`` refuses malformed lines, unknown symbols and ill-typed values with a located
    :class:`InputError` (all problems are reported, the first one as the error).
    """
    kconf = parse_tree()
    parsed, diags = parse_config_text(text, path)
    if strict:
        for item in parsed.assignments:
            diag = check_assignment(kconf, item, path)
            if diag is not None:
                diags.append(diag)
    if diags:
        diags.sort(key=lambda d: (d.line or 0))
        raise ConfigInputError(diags)
    with _lock:
        _reset(kconf)
        _apply_file(kconf, text)
        return snapshot(kconf, name or Path(path).name, path, text)


class ConfigInputError(InputError):
    """A config file with one or more located problems."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        first = diagnostics[0]
        super().__init__(first.message, first)
        self.diagnostics = tuple(diagnostics)

    def render(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)


def load_build(path: Path, name: Optional[str] = None) -> BuildConfig:
    """Read and resolve a ``.config`` or defconfig of the pmempolicy tree."""
    text = read_config_text(path)
    return load_text(text, str(path), name or _display_name(path))


def _display_name(path: Path) -> str:
    stem = path.name
    return stem[: -len("_defconfig")] if stem.endswith("_defconfig") else stem


def shipped_defconfigs() -> list[Path]:
    """Every ``configs/*_defconfig`` of the shipped tree, sorted by name."""
    return sorted(resources.configs_dir().glob("*_defconfig"))


def find_defconfig(name: str) -> Path:
    """A shipped defconfig by name (``debian_amd64`` or ``debian_amd64_defconfig``) or a path."""
    candidate = Path(name)
    if candidate.is_file():
        return candidate
    for path in shipped_defconfigs():
        if name in (path.name, _display_name(path)):
            return path
    known = ", ".join(_display_name(p) for p in shipped_defconfigs())
    raise UsageError(f"no defconfig named {name!r}; shipped: {known}")


def shipped_builds() -> list[BuildConfig]:
    """Every shipped defconfig, resolved."""
    return [load_build(path) for path in shipped_defconfigs()]


def defaults() -> BuildConfig:
    """The tree's defaults (``alldefconfig``)."""
    kconf = parse_tree()
    with _lock:
        _reset(kconf)
        return snapshot(kconf, "alldefconfig", None, _write_to_text(kconf))


def _all(kconf: kconfiglib.Kconfig, name: str, yes: bool) -> BuildConfig:
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
    return snapshot(kconf, name, None, _write_to_text(kconf))


def allno() -> BuildConfig:
    """``allnoconfig``: every visible symbol n (where it can be)."""
    kconf = parse_tree()
    with _lock:
        _reset(kconf)
        return _all(kconf, "allnoconfig", yes=False)


def allyes() -> BuildConfig:
    """``allyesconfig``: every visible symbol y (m where y is impossible)."""
    kconf = parse_tree()
    with _lock:
        _reset(kconf)
        return _all(kconf, "allyesconfig", yes=True)


def restore(build: BuildConfig) -> kconfiglib.Kconfig:
    """Put kconfiglib into the state of ``build`` (for writing or editing it)."""
    kconf = parse_tree()
    _reset(kconf)
    if build.config_text:
        _apply_file(kconf, build.config_text)
    return kconf


def render_config(build: BuildConfig, *, minimal: bool = False) -> str:
    """The ``.config`` (or the minimal defconfig) text of a resolved configuration."""
    kconf = parse_tree()
    with _lock:
        restore(build)
        header = "# Generated by pmempolicy\n"
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
    kconf = parse_tree()
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
        text = _write_to_text(kconf)
        new = snapshot(kconf, build.name, build.path, text)
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
    kconf = parse_tree()
    sym = kconf.syms[name]
    file, line = definition(sym)
    needs = kconfiglib.expr_str(sym.direct_dep)
    return (ChainStep(name, "m", needs, file, line, "its dependencies allow at most m", "at-most-m"),)


def _why_on(build: BuildConfig, name: str) -> tuple[ChainStep, ...]:
    kconf = parse_tree()
    sym = kconf.syms[name]
    file, line = definition(sym)
    steps = [ChainStep(name, build.value(name), "", file, line, "cannot be n", "forced-on")]
    for sel in kconfiglib.split_expr(sym.rev_dep, kconfiglib.OR):
        if _tri(sel, build.values) > 0:
            steps.append(ChainStep(name, build.value(name), "", file, line,
                                   f"selected by {kconfiglib.expr_str(sel)}", "forced-on"))
    if not any(node.prompt for node in sym.nodes):
        steps.append(ChainStep(name, build.value(name), "", file, line,
                               "promptless: its value comes from its default or selects",
                               "forced-on"))
    return tuple(steps)


def _write_to_text(kconf: kconfiglib.Kconfig) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        kconf.write_config(str(out), header="", save_old=False)
        return out.read_text(encoding="utf-8")


def import_config(src: Path) -> ImportReport:
    """Read a real distro config (plain, .gz or .xz) into the model.

    Symbols outside the model are counted and ignored; every modeled symbol whose resulting
    value differs from what the file states is listed.
    """
    text = read_config_text(src, allow_compressed=True)
    kconf = parse_tree()
    parsed, diags = parse_config_text(text, str(src))
    if diags:
        raise ConfigInputError(diags)
    modeled = [a for a in parsed.assignments if a.name in kconf.syms and kconf.syms[a.name].nodes]
    outside = len(parsed.assignments) - len(modeled)
    problems = [d for d in (check_assignment(kconf, a, str(src)) for a in modeled) if d]
    if problems:
        raise ConfigInputError(problems)
    kept = "".join(
        (f"CONFIG_{a.name}={a.raw}\n" if a.raw != "is not set" else f"# CONFIG_{a.name} is not set\n")
        for a in modeled
    )
    with _lock:
        _reset(kconf)
        _apply_file(kconf, kept)
        text_out = _write_to_text(kconf)
        build = snapshot(kconf, _display_name(src), str(src), text_out)
    differences = []
    for a in modeled:
        got = build.state(a.name)
        said = a.value
        if said == "n" and got in ("n", "absent"):
            continue
        if got != said:
            differences.append((a.name, said, got, a.line))
    return ImportReport(build, str(src), len(parsed.assignments), outside, tuple(differences))


def new_symbols(build: BuildConfig) -> list[tuple[str, str]]:
    """``listnewconfig``: visible symbols the config file gives no value for, with defaults."""
    kconf = parse_tree()
    parsed, _ = parse_config_text(build.config_text, build.path or "<config>")
    given = {a.name for a in parsed.assignments}
    out = []
    with _lock:
        restore(build)
        for sym in kconf.unique_defined_syms:
            if sym.visibility and sym.config_string and sym.name not in given:
                out.append((sym.name, sym.str_value))
    return out


def choice_alternatives(name: str) -> tuple[str, ...]:
    """The other entries of the choice ``name`` belongs to (empty when it is no choice entry)."""
    sym = parse_tree().syms.get(name)
    if sym is None or sym.choice is None:
        return ()
    return tuple(s.name for s in sym.choice.syms if s.name != name)


def iter_symbols() -> Iterator[Any]:
    """Every defined symbol of the tree (kconfiglib objects, for reporting only)."""
    return iter(parse_tree().unique_defined_syms)


class _AtomicKconfig(kconfiglib.Kconfig):  # type: ignore[misc]
    """A Kconfig whose ``write_config`` goes through :func:`policy.atomic.write_atomic`."""

    def write_config(self, filename: Optional[str] = None, header: Optional[str] = None,
                     save_old: bool = True, verbose: Optional[bool] = None) -> str:
        from .atomic import write_atomic

        target = Path(filename or kconfiglib.standard_config_filename())
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            super().write_config(str(out), header=header, save_old=False)
            text = out.read_text(encoding="utf-8")
        if write_atomic(target, text, backup=save_old):
            return f"Configuration saved to '{target}'"
        return f"No change to configuration in '{target}'"


def run_menuconfig(config: Path) -> None:
    """kconfiglib's own menuconfig on the shipped tree, saving atomically with ``.old``.

    A private parse of the tree is used, so the UI's edits never leak into other snapshots.
    menuconfig takes its file name from ``KCONFIG_CONFIG``; its saves go through
    :func:`policy.atomic.write_atomic` instead of kconfiglib's rename-then-write.
    """
    import menuconfig as kconfiglib_menuconfig  # curses: only for this command

    root = resources.tree_root()
    saved = {k: os.environ.get(k) for k in ("KCONFIG_CONFIG", "srctree", "KCONFIG_CONFIG_HEADER")}
    os.environ["KCONFIG_CONFIG"] = str(config.absolute())
    os.environ["srctree"] = str(root)
    os.environ.pop("KCONFIG_CONFIG_HEADER", None)
    try:
        kconf = _AtomicKconfig("Kconfig", warn_to_stderr=False)
        kconfiglib_menuconfig.menuconfig(kconf)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
