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
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Optional

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


@dataclass(frozen=True)
class Inventory:
    """The hosts of an inventory, sorted by name (then by line), and how to read them."""

    path: str  # the directory, or the JSON Lines file (a spooled copy of stdin)
    shown: str  # the name used in messages ("<stdin>" for stdin)
    kind: str  # "dir" | "jsonl"
    base: str  # the directory relative paths of the JSON Lines form start from
    hosts: tuple[HostEntry, ...]


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
    hosts = tuple(HostEntry(host=n, folder=str(path / n)) for n in names)
    return Inventory(str(path), str(path), "dir", str(path), hosts)


def _read_jsonl(path: str, shown: str, base: str) -> Inventory:
    entries: list[HostEntry] = []
    try:
        with open(path, "rb") as f:
            offset = 0
            for n, raw in enumerate(f, 1):
                length = len(raw)
                if raw.strip():
                    entries.append(_index_line(raw, offset, length, n))
                offset += length
    except OSError as err:
        raise InputError(f"{shown}: cannot read the inventory: {err.strerror}") from err
    entries.sort(key=lambda e: (e.host, e.line))
    return Inventory(path, shown, "jsonl", base, tuple(entries))


def _index_line(raw: bytes, offset: int, length: int, line: int) -> HostEntry:
    where = f"line {line}"
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError) as err:
        return HostEntry(host=f"<{where}>", offset=offset, length=length, line=line,
                         error=f"not JSON: {err}")
    host = obj.get("host") if isinstance(obj, dict) else None
    if not isinstance(host, str) or not host:
        return HostEntry(host=f"<{where}>", offset=offset, length=length, line=line,
                         error='expected an object with a non-empty string "host"')
    return HostEntry(host=host, offset=offset, length=length, line=line)


def spool_dir() -> tempfile.TemporaryDirectory[str]:
    """A private temporary directory (stdin's copy, inline config texts)."""
    return tempfile.TemporaryDirectory(prefix="pmempolicy-fleet-")
