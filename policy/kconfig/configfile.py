"""Reading ``.config`` files: text checks, line parsing, and type/range checks of assignments.

Every problem is a located :class:`~policy.errors.Diagnostic` (``file:line:col``); nothing here
changes kconfiglib's state.
"""
from __future__ import annotations

import gzip
import lzma
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import kconfiglib

from policy.errors import Diagnostic, InputError, LocatedInputError

_CONFIG_PREFIX = "CONFIG_"
_SET_RE = re.compile(r"^CONFIG_([A-Za-z0-9_]+)=(.*)$")
_UNSET_RE = re.compile(r"^# CONFIG_([A-Za-z0-9_]+) is not set$")
_MAX_CONFIG_BYTES = 16 * 1024 * 1024


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


def check_assignment(
    kconf: kconfiglib.Kconfig, item: ConfigLine, path: str
) -> Optional[Diagnostic]:
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




class ConfigInputError(LocatedInputError):
    """A config file with one or more located problems."""


