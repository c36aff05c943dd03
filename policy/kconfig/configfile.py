"""Reading ``.config`` files: text checks, line parsing, and type/range checks of assignments.

Every problem is a located :class:`~policy.errors.Diagnostic` (``file:line:col``); nothing here
changes kconfiglib's state.
"""
from __future__ import annotations

import gzip
import io
import lzma
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import kconfiglib

from policy.atomic import read_regular
from policy.errors import Diagnostic, InputError, LocatedInputError

_CONFIG_PREFIX = "CONFIG_"
_SET_RE = re.compile(r"^CONFIG_([A-Za-z0-9_]+)=(.*)$")
_UNSET_RE = re.compile(r"^# CONFIG_([A-Za-z0-9_]+) is not set$")
_MAX_CONFIG_BYTES = 16 * 1024 * 1024
# characters str.splitlines() breaks lines at but kconfiglib (and the kernel's conf) do not, and a
# lone carriage return (a line break to Python's universal newlines): refused inside a line so
# that the checker and kconfiglib always read the same lines
_LINE_BREAKS = re.compile("[\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


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
    data = read_regular(path, _MAX_CONFIG_BYTES, "a kernel config file")
    if len(data) > _MAX_CONFIG_BYTES:
        raise InputError(f"{shown}: larger than {_MAX_CONFIG_BYTES} bytes; not a kernel config")
    if allow_compressed and data[:2] == b"\x1f\x8b":
        data = _decompress(gzip.GzipFile(fileobj=io.BytesIO(data)), shown)
    elif allow_compressed and data[:6] == b"\xfd7zXZ\x00":
        data = _decompress(lzma.LZMAFile(io.BytesIO(data)), shown)
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


def _decompress(stream: gzip.GzipFile | lzma.LZMAFile, shown: str) -> bytes:
    """Decompress streaming, stopping at the bound: a small file that expands to gigabytes (a
    decompression bomb) is refused after reading ``_MAX_CONFIG_BYTES + 1`` bytes of it."""
    try:
        with stream:
            data = stream.read(_MAX_CONFIG_BYTES + 1)
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as err:
        raise InputError(f"{shown}: corrupt compressed file: {err}") from err
    if len(data) > _MAX_CONFIG_BYTES:
        raise InputError(
            f"{shown}: decompresses to more than {_MAX_CONFIG_BYTES} bytes; not a kernel config"
        )
    return data


def config_lines(text: str) -> list[str]:
    """The lines of config text as kconfiglib reads them: split on ``\\n`` only (a ``\\r\\n``
    ending is one line end), never on the other line breaks ``str.splitlines`` knows."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def parse_config_text(text: str, path: str) -> tuple[ConfigText, list[Diagnostic]]:
    """Split a config into assignments; malformed lines become located diagnostics."""
    out: list[ConfigLine] = []
    diags: list[Diagnostic] = []
    lines = config_lines(text)
    for number, raw_line in enumerate(lines, 1):
        bad = _LINE_BREAKS.search(raw_line)
        if bad:
            diags.append(
                Diagnostic(
                    "error", "config-syntax",
                    f"control character {bad.group()!r} inside a line; a kernel config line "
                    "holds no line or page breaks other than its final newline",
                    path, number, bad.start() + 1,
                )
            )
            continue
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
    if typ in (kconfiglib.BOOL, kconfiglib.TRISTATE, kconfiglib.INT, kconfiglib.HEX) and (
        item.raw.startswith('"')
    ):
        # kconfiglib ignores a quoted bool/tristate/number (with a warning): refuse it here
        typ_name = kconfiglib.TYPE_TO_STR[typ]
        return _type_diag(item, path, col, typ_name, f"an unquoted {typ_name} value")
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


