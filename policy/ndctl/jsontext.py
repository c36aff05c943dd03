"""JSON with positions for ``ndctl list`` output: several top-level values, each value's line:col.

:func:`decode_values` decodes every top-level value of a listing (ndctl prints one per ``list``
call when commands are concatenated) with the C ``json`` decoder, refusing a key given twice in
one object. Positions cost time only where they are used: a *skeleton* pass records the offset of
the containers the listing reader visits (top-level values, array items, ``buses``/``regions``/
``namespaces`` and every namespace or region object, skipping everything else at C speed), so each
namespace knows its ``line:col``; the offset of any other value is computed only when a
diagnostic needs one (:meth:`PositionedText.diag`), by walking the one namespace or region object
that holds it.
"""
from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable
from json.scanner import NUMBER_RE
from typing import Any, Optional

from policy.decide import costs
from policy.errors import Diagnostic, InputError, LocatedInputError, Severity

MAX_LISTING_BYTES = 64 * costs.MiB
MAX_DEPTH = 64  # ndctl nests bus > region > namespace > daxregion > devices: a handful of levels
NESTS = ("buses", "regions", "namespaces")  # the keys the reader descends into

_WS = re.compile(r"[ \t\n\r]*")
_KEYS = json.JSONDecoder()  # decodes one string (an object key) at an offset
_SKIP: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(_KEYS)  # type: ignore


def _skip_ws(s: str, i: int) -> int:
    """The offset of the first non-whitespace character at or after ``i``."""
    if i < len(s) and s[i] > " ":  # JSON whitespace is all below "!": most calls stop here
        return i
    m = _WS.match(s, i)
    return m.end() if m else i


class NdctlInputError(LocatedInputError):
    """A listing with one or more located problems (every one of them is rendered)."""


class _Problem(Exception):
    """A structural problem json accepts: too deep, or a key twice in one object."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def _too_deep(offset: int) -> _Problem:
    return _Problem(f"JSON nested more than {MAX_DEPTH} levels deep; not an ndctl listing", offset)


class PositionedText:
    """The listing text with offset -> line:col and JSON path -> offset.

    ``roots`` are the offsets of the top-level values (paths ``("$0",)``, ``("$1",)``...).
    ``first_line`` is the line of the text's first character in the file it came from (a
    listing embedded in a JSON Lines inventory is located in that line).
    """

    def __init__(self, text: str, path: str, roots: Optional[list[int]] = None,
                 first_line: int = 1) -> None:
        self.text = text
        self.path = path
        self.roots = roots if roots is not None else []
        self.first_line = first_line
        self.skeleton: dict[tuple[Any, ...], int] = {}
        self._pos: Optional[dict[tuple[Any, ...], int]] = None
        self._starts: Optional[list[int]] = None
        # (offset, lines before it, where its line starts): the reader locates in text order
        self._cursor = (0, 0, 0)
        # False where warnings are only counted (a fleet): they are not located, errors always are
        self.locate_warnings = True

    # -- offsets

    @property
    def pos(self) -> dict[tuple[Any, ...], int]:
        """The offset of every value (computed on first use: one walk of the whole text)."""
        if self._pos is None:
            pos: dict[tuple[Any, ...], int] = {}
            self._walk_all(pos)
            self._pos = pos
        return self._pos

    def _walk_all(self, pos: dict[tuple[Any, ...], int]) -> None:
        for n, start in enumerate(self.roots):
            _walk(self.text, start, (f"${n}",), pos, strict=False)

    def offset(self, where: tuple[Any, ...]) -> int:
        """The offset of the value at ``where`` (or of its nearest located ancestor)."""
        got = self.skeleton.get(where)
        if got is not None:
            return got
        if self._pos is None:  # follow the path from the deepest located container holding it
            for cut in range(len(where) - 1, 0, -1):
                base = self.skeleton.get(where[:cut])
                if base is not None:
                    for end in range(len(where), cut - 1, -1):  # else its nearest ancestor
                        got = _descend(self.text, base, where[cut:end])
                        if got is not None:
                            return got
        pos = self.pos
        probe = where
        got = pos.get(probe)
        while got is None and probe:
            probe = probe[:-1]
            got = pos.get(probe)
        return got or 0

    # -- lines

    def linecol(self, offset: int) -> tuple[int, int]:
        """1-based line and column of ``offset`` (in the file the text came from)."""
        text = self.text
        at, before, start = self._cursor
        if offset >= at:  # the common case: the reader goes forward through the text
            n = text.count("\n", at, offset)
            if n:
                before += n
                start = text.rfind("\n", at, offset) + 1
            self._cursor = (offset, before, start)
            line = before + 1
        else:
            if self._starts is None:
                self._starts = [0] + [m.end() for m in re.finditer("\n", text)]
            line = bisect.bisect_right(self._starts, offset)
            start = self._starts[line - 1]
        return line + self.first_line - 1, offset - start + 1

    def locate(self, where: tuple[Any, ...]) -> tuple[int, int]:
        """``line, col`` of the value at ``where``."""
        return self.linecol(self.offset(where))

    def diag(
        self, severity: Severity, code: str, message: str, where: tuple[Any, ...]
    ) -> Diagnostic:
        if severity == "warning" and not self.locate_warnings:
            return Diagnostic(severity, code, message, self.path, None, None, json_path(where))
        line, col = self.linecol(self.offset(where))
        return Diagnostic(severity, code, message, self.path, line, col, json_path(where))

    # -- the skeleton

    def record_skeleton(self, values: list[Any]) -> None:
        """Locate the containers the reader visits (raises :class:`_Problem` when too deep)."""
        for n, (start, value) in enumerate(zip(self.roots, values)):
            _skeleton(self.text, start, value, (f"${n}",), self.skeleton)


class EmbeddedText(PositionedText):
    """A listing that is the value of ``key`` in a one-line JSON object (a JSON Lines host).

    Its paths stay the listing's own (``$[0].size``); its positions are the inventory file's
    (line ``first_line``, the column in that line).
    """

    def __init__(self, text: str, path: str, key: str, first_line: int) -> None:
        super().__init__(text, path, None, first_line)
        self.key = key
        obj_start = _skip_ws(text, 0)
        self.roots = [_member_offset(text, obj_start, key)]


def _member_offset(s: str, i: int, key: str) -> int:
    """The offset of the value of ``key`` in the (valid) JSON object at ``i``; -1 without it."""
    if s[i] != "{":
        return -1
    i = _skip_ws(s, i + 1)
    while i < len(s) and s[i] != "}":
        name, i = _KEYS.raw_decode(s, i)
        i = _skip_ws(s, _skip_ws(s, i) + 1)
        if name == key:
            return i
        i = _skip_ws(s, _SKIP(s, i)[1])
        if s[i] == ",":
            i = _skip_ws(s, i + 1)
    return -1


def _descend(s: str, i: int, path: tuple[Any, ...]) -> Optional[int]:
    """The offset of the value at ``path`` inside the (valid) JSON value at ``i``, skipping
    siblings in C; None when the path is not there."""
    i = _skip_ws(s, i)
    for part in path:
        if isinstance(part, int):
            if s[i] != "[":
                return None
            i = _skip_ws(s, i + 1)
            for _ in range(part):
                if s[i] == "]":
                    return None
                i = _skip_ws(s, _SKIP(s, i)[1])
                if s[i] != ",":
                    return None
                i = _skip_ws(s, i + 1)
            if s[i] == "]":
                return None
        else:
            i = _member_offset(s, i, part)
            if i < 0:
                return None
    return i


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


def _skeleton(s: str, i: int, value: Any, where: tuple[Any, ...],
              pos: dict[tuple[Any, ...], int]) -> int:
    """Record the offsets of ``value`` (decoded from ``s`` at ``i``) and of what the reader
    visits inside it: array items and the values of :data:`NESTS`; skip the rest in C."""
    i = _skip_ws(s, i)
    pos[where] = i
    if isinstance(value, list):
        if len(where) > MAX_DEPTH:
            raise _too_deep(i)
        i = _skip_ws(s, i + 1)
        for n, item in enumerate(value):
            i = _skip_ws(s, _skeleton(s, i, item, where + (n,), pos))
            i += 1  # the comma, or the closing bracket
        return i if value else i + 1
    if isinstance(value, dict) and not value.keys().isdisjoint(NESTS):
        if len(where) > MAX_DEPTH:
            raise _too_deep(i)
        i = _skip_ws(s, i + 1)
        while s[i] != "}":
            key, i = _KEYS.raw_decode(s, i)
            i = _skip_ws(s, _skip_ws(s, i) + 1)
            if key in NESTS:
                i = _skeleton(s, i, value[key], where + (key,), pos)
            else:
                i = _SKIP(s, i)[1]
            i = _skip_ws(s, i)
            if s[i] == ",":
                i = _skip_ws(s, i + 1)
        return i + 1
    return _SKIP(s, i)[1]


def _walk(s: str, i: int, where: tuple[Any, ...], pos: dict[tuple[Any, ...], int],
          strict: bool = True) -> int:
    """Record the offset of every value of the (already validated) JSON value at ``i``.

    ``strict``: raise :class:`_Problem` for nesting deeper than :data:`MAX_DEPTH` and for a key
    given twice in one object; otherwise skip what lies deeper (positions for a diagnostic).
    """
    i = _skip_ws(s, i)
    pos[where] = i
    c = s[i]
    if c in "{[" and len(where) > MAX_DEPTH:
        if strict:
            raise _too_deep(i)
        return _SKIP(s, i)[1]
    if c == "{":
        i = _skip_ws(s, i + 1)
        if s[i] == "}":
            return i + 1
        keys: set[str] = set()
        while True:
            i = _skip_ws(s, i)
            start = i
            key, i = _KEYS.raw_decode(s, i)
            if key in keys and strict:
                raise _Problem(f"duplicate key {key[:60]!r} in one object", start)
            keys.add(key)
            i = _skip_ws(s, i)
            i = _walk(s, i + 1, where + (key,), pos, strict)
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
            i = _walk(s, i, where + (n,), pos, strict)
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


class _DuplicateKey(ValueError):
    """A key given twice in one object (located afterwards by a strict walk)."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateKey("duplicate key")
    return obj


DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_unique)


def _located(doc: PositionedText, message: str, offset: int) -> NdctlInputError:
    line, col = doc.linecol(offset)
    return NdctlInputError([Diagnostic("error", "ndctl-json", message, doc.path, line, col)])


def _strict_problem(doc: PositionedText, start: int) -> NdctlInputError:
    """The located duplicate key (or excess depth) the strict walk finds in the value at
    ``start``."""
    try:
        _walk(doc.text, start, ("$",), {}, strict=True)
    except _Problem as err:
        return _located(doc, str(err), err.offset)
    return _located(doc, "duplicate key in one object", start)  # unreachable: the hook saw one


def decode_one(doc: PositionedText, start: int) -> tuple[Any, int]:
    """The value at ``start`` of ``doc.text`` and its end; :class:`NdctlInputError` if bad."""
    text = doc.text
    try:
        return DECODER.raw_decode(text, start)
    except json.JSONDecodeError as err:
        what = "truncated JSON: " if err.pos >= len(text.rstrip()) else ""
        line, col = doc.linecol(err.pos)
        raise NdctlInputError([Diagnostic("error", "ndctl-json", f"{what}{err.msg}", doc.path,
                                          line, col)]) from err
    except _DuplicateKey as err:
        raise _strict_problem(doc, start) from err
    except ValueError as err:  # NaN / Infinity
        raise _located(doc, str(err), start) from err
    except RecursionError as err:
        raise _located(doc, "JSON nested too deeply", start) from err


def decode_values(data: bytes, path: str) -> tuple[PositionedText, list[Any]]:
    """Every top-level value of ``data``, and the text located (the reader's skeleton)."""
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
    values: list[Any] = []
    i = _skip_ws(text, 0)
    while i < len(text):
        value, end = decode_one(doc, i)
        doc.roots.append(i)
        values.append(value)
        i = _skip_ws(text, end)
    skeleton(doc, values)
    return doc, values


def skeleton(doc: PositionedText, values: list[Any]) -> None:
    """Record ``doc``'s skeleton; a structure nested too deeply is a located error."""
    try:
        doc.record_skeleton(values)
    except _Problem as err:
        raise _located(doc, str(err), err.offset) from err
