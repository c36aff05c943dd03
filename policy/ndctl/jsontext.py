"""JSON with positions for ``ndctl list`` output: several top-level values, each value's line:col.

:func:`decode_values` decodes every top-level value of a listing (ndctl prints one per ``list``
call when commands are concatenated) and records the offset of every value inside them, so the
reader can locate a problem as ``path:line:col`` with its JSON path.
"""
from __future__ import annotations

import bisect
import json
import re
from json.scanner import NUMBER_RE
from typing import Any

from policy.decide import costs
from policy.errors import Diagnostic, InputError, LocatedInputError, Severity

MAX_LISTING_BYTES = 64 * costs.MiB

_WS = re.compile(r"[ \t\n\r]*")
_KEYS = json.JSONDecoder()  # decodes one string (an object key) at an offset


def _skip_ws(s: str, i: int) -> int:
    """The offset of the first non-whitespace character at or after ``i``."""
    m = _WS.match(s, i)
    return m.end() if m else i


class NdctlInputError(LocatedInputError):
    """A listing with one or more located problems (every one of them is rendered)."""


class PositionedText:
    """The listing text with offset -> line:col and JSON path -> offset."""

    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.pos: dict[tuple[Any, ...], int] = {}

    def linecol(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def diag(
        self, severity: Severity, code: str, message: str, where: tuple[Any, ...]
    ) -> Diagnostic:
        offset = self.pos.get(where)
        probe = where
        while offset is None and probe:
            probe = probe[:-1]
            offset = self.pos.get(probe)
        line, col = self.linecol(offset or 0)
        return Diagnostic(severity, code, message, self.path, line, col, json_path(where))


def json_path(where: tuple[Any, ...]) -> str:
    """``("$0", "regions", 1, "size")`` -> ``$[0].regions[1].size`` (the value index first)."""
    out = "$"
    for part in where:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("$"):
            out += f"[{part[1:]}]" if part != "$0" else ""
        else:
            out += f".{part}"
    return out


MAX_DEPTH = 64  # ndctl nests bus > region > namespace > daxregion > devices: a handful of levels


class _Problem(Exception):
    """A structural problem json accepts: too deep, or a key twice in one object."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def _walk(s: str, i: int, where: tuple[Any, ...], pos: dict[tuple[Any, ...], int]) -> int:
    """Record the offset of every value of the (already validated) JSON value at ``i``.

    Raises :class:`_Problem` for nesting deeper than :data:`MAX_DEPTH` and for a key given twice
    in one object (json would keep the last silently; the YAML loader refuses it too).
    """
    i = _skip_ws(s, i)
    pos[where] = i
    c = s[i]
    if c in "{[" and len(where) > MAX_DEPTH:
        raise _Problem(f"JSON nested more than {MAX_DEPTH} levels deep; not an ndctl listing", i)
    if c == "{":
        i = _skip_ws(s, i + 1)
        if s[i] == "}":
            return i + 1
        keys: set[str] = set()
        while True:
            i = _skip_ws(s, i)
            start = i
            key, i = _KEYS.raw_decode(s, i)
            if key in keys:
                raise _Problem(f"duplicate key {key[:60]!r} in one object", start)
            keys.add(key)
            i = _skip_ws(s, i)
            i = _walk(s, i + 1, where + (key,), pos)
            i = _skip_ws(s, i)
            if s[i] == "}":
                return i + 1
            i += 1
    if c == "[":
        i = _skip_ws(s, i + 1)
        if s[i] == "]":
            return i + 1
        n = 0
        while True:
            i = _walk(s, i, where + (n,), pos)
            n += 1
            i = _skip_ws(s, i)
            if s[i] == "]":
                return i + 1
            i += 1
    if c == '"':
        return _KEYS.raw_decode(s, i)[1]
    m = NUMBER_RE.match(s, i)
    if m:
        return m.end()
    for word in ("true", "false", "null"):
        if s.startswith(word, i):
            return i + len(word)
    raise ValueError(f"unexpected {c!r} at {i}")  # unreachable: json accepted the text


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_values(data: bytes, path: str) -> tuple[PositionedText, list[Any]]:
    if len(data) > MAX_LISTING_BYTES:
        raise InputError(f"{path}: larger than {MAX_LISTING_BYTES} bytes; not an ndctl listing")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise NdctlInputError(
            [
                Diagnostic(
                    "error", "ndctl-encoding", "invalid UTF-8; expected ndctl list JSON", path, line
                )
            ]
        ) from err
    doc = PositionedText(text, path)
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    values: list[Any] = []
    i = _skip_ws(text, 0)
    while i < len(text):
        try:
            value, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError as err:
            what = "truncated JSON: " if err.pos >= len(text.rstrip()) else ""
            raise NdctlInputError([Diagnostic("error", "ndctl-json", f"{what}{err.msg}", path,
                                              err.lineno, err.colno)]) from err
        except ValueError as err:  # NaN / Infinity
            line, col = doc.linecol(i)
            raise NdctlInputError(
                [Diagnostic("error", "ndctl-json", str(err), path, line, col)]
            ) from err
        except RecursionError as err:
            line, col = doc.linecol(i)
            raise NdctlInputError([Diagnostic("error", "ndctl-json", "JSON nested too deeply", path,
                                              line, col)]) from err
        try:
            _walk(text, i, (f"${len(values)}",), doc.pos)
        except _Problem as err:
            line, col = doc.linecol(err.offset)
            raise NdctlInputError(
                [Diagnostic("error", "ndctl-json", str(err), path, line, col)]
            ) from err
        values.append(value)
        i = _skip_ws(text, end)
    return doc, values
