"""A fleet inventory: a directory of host folders, or JSON Lines (a file or ``-``), as hosts.

Directory form: one folder per host, named for the host, holding ``config`` (or ``config.gz``,
``config.xz``) and ``ndctl.json``; symlinks are followed. JSON Lines form: one object per line,
``{"host": ..., "config": PATH | "config_text": TEXT, "ndctl": LISTING | "ndctl_path": PATH}``
(``policy/data/fleet-host.schema.json``); relative paths are relative to the file's directory
(the working directory for stdin). Only the index (host name and where its line is) is kept in
memory; each host is read by the worker that decides it.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Optional, overload

from policy.errors import InputError

CONFIG_NAMES = ("config", "config.gz", "config.xz")
LISTING_NAME = "ndctl.json"


@dataclass(frozen=True, slots=True)  # one per host, all in memory: no __dict__ each
class HostEntry:
    """Where one host's inputs are: a host folder (``folder``) or a line of a JSON Lines file
    (``offset``/``length`` bytes into ``Inventory.path``, line ``line``). ``error`` is a problem
    found while indexing (a line that is not a JSON object with a host name)."""

    host: str
    folder: Optional[str] = None
    offset: int = 0
    length: int = 0
    line: int = 0
    error: Optional[str] = None


class HostIndex(Sequence[HostEntry]):
    """The hosts in order, held compactly (a name and three integers each, ~90 bytes a host
    rather than ~235 as objects): a fleet of a million hosts indexes in ~90 MB. Indexing or
    slicing it gives :class:`HostEntry` records."""

    def __init__(self, names: list[str], folder_base: Optional[str] = None) -> None:
        self.names = names
        self.folder_base = folder_base  # the directory form: each host's folder is in it
        # the JSON Lines form: where each host's line is, and what is wrong with a bad line
        self.offsets, self.lengths, self.lines = array("q"), array("q"), array("q")
        self.errors: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self.names)

    @overload
    def __getitem__(self, k: int) -> HostEntry: ...

    @overload
    def __getitem__(self, k: slice) -> list[HostEntry]: ...

    def __getitem__(self, k: int | slice) -> HostEntry | list[HostEntry]:
        if isinstance(k, slice):
            return [self._entry(i) for i in range(*k.indices(len(self)))]
        return self._entry(range(len(self))[k])

    def _entry(self, i: int) -> HostEntry:
        if self.folder_base is not None:
            return HostEntry(host=self.names[i], folder=os.path.join(self.folder_base,
                                                                       self.names[i]))
        return HostEntry(host=self.names[i], offset=self.offsets[i], length=self.lengths[i],
                         line=self.lines[i], error=self.errors.get(i))


@dataclass(frozen=True)
class Inventory:
    """The hosts of an inventory, sorted by name (then by line), and how to read them."""

    path: str  # the directory, or the JSON Lines file (a spooled copy of stdin)
    shown: str  # the name used in messages ("<stdin>" for stdin)
    kind: str  # "dir" | "jsonl"
    base: str  # the directory relative paths of the JSON Lines form start from
    hosts: HostIndex


def read_inventory(source: str, spool_dir: Optional[str] = None) -> Inventory:
    """Index ``source`` (a directory, a JSON Lines file or ``-``); :class:`InputError` (exit 2)
    when the inventory itself cannot be read. ``-`` is copied to ``spool_dir`` first, so the
    hosts can be read again by offset in constant memory."""
    if source == "-":
        if spool_dir is None:
            raise InputError("reading an inventory from stdin needs a spool directory")
        spooled = os.path.join(spool_dir, "stdin.jsonl")
        with open(spooled, "wb") as out:
            stream: BinaryIO = sys.stdin.buffer
            shutil.copyfileobj(stream, out)
        return _read_jsonl(spooled, "<stdin>", os.getcwd())
    path = Path(source)
    if path.is_dir():
        return _read_dir(path)
    if not path.exists():
        raise InputError(f"{source}: no such inventory (a directory of hosts or a JSON Lines file)")
    return _read_jsonl(str(path), source, str(path.resolve().parent))


def _read_dir(path: Path) -> Inventory:
    try:
        names = sorted(e.name for e in os.scandir(path)
                       if e.is_dir() and not e.name.startswith("."))
    except OSError as err:
        raise InputError(f"{path}: cannot read the inventory: {err.strerror}") from err
    return Inventory(str(path), str(path), "dir", str(path), HostIndex(names, str(path)))


def _read_jsonl(path: str, shown: str, base: str) -> Inventory:
    read = HostIndex([])  # in the order of the file
    try:
        with open(path, "rb") as f:
            offset = 0
            for n, raw in enumerate(f, 1):
                length = len(raw)
                if raw.strip():
                    host, error = _index_line(raw, n)
                    if error is not None:
                        read.errors[len(read.names)] = error
                    read.names.append(host)
                    read.offsets.append(offset)
                    read.lengths.append(length)
                    read.lines.append(n)
                offset += length
    except OSError as err:
        raise InputError(f"{shown}: cannot read the inventory: {err.strerror}") from err
    # by host, then by line: a stable sort of the file order by name
    order = sorted(range(len(read.names)), key=read.names.__getitem__)
    hosts = HostIndex([read.names[i] for i in order])
    hosts.offsets = array("q", (read.offsets[i] for i in order))
    hosts.lengths = array("q", (read.lengths[i] for i in order))
    hosts.lines = array("q", (read.lines[i] for i in order))
    hosts.errors = {k: read.errors[i] for k, i in enumerate(order) if i in read.errors}
    return Inventory(path, shown, "jsonl", base, hosts)


def _index_line(raw: bytes, line: int) -> tuple[str, Optional[str]]:
    """The host a line names, and what is wrong with it (None for a good line)."""
    where = f"line {line}"
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError) as err:
        return f"<{where}>", f"not JSON: {err}"
    host = obj.get("host") if isinstance(obj, dict) else None
    if not isinstance(host, str) or not host:
        return f"<{where}>", 'expected an object with a non-empty string "host"'
    return host, None


def spool_dir() -> tempfile.TemporaryDirectory[str]:
    """A private temporary directory (stdin's copy, inline config texts)."""
    return tempfile.TemporaryDirectory(prefix="pmempolicy-fleet-")
