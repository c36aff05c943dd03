"""Atomic file writes with the kernel's ``.old`` backup habit, regular-file checks and locks.

The backup is made the way ``scripts/kconfig/confdata.c`` makes it: by a rename (here a hard link
to a temporary name, then a rename onto ``PATH.old``), never by opening ``PATH.old`` for writing,
so a symlink planted at ``.config.old`` is replaced, not followed, and a failed write leaves both
the previous file and the previous backup intact.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from policy.errors import InputError

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def file_state(path: Path) -> str:
    """``"file"``, ``"missing"`` (nothing there) — or an :class:`InputError` (exit 2) for
    anything that is not a regular file: a directory, FIFO, device or socket, a dangling
    symlink, a symlink loop, or a path that cannot be searched. Never opens the file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise InputError(f"{path}: dangling symlink (its target does not exist)") from None
        return "missing"
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise InputError(f"{path}: symlink loop") from err
        if err.errno == errno.ENOTDIR:
            return "missing"
        raise InputError(f"{path}: cannot access: {err.strerror}") from err
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path}: is {_kind(st.st_mode)}, expected a regular file")
    return "file"


def read_regular(path: Path, limit: int | None, what: str) -> bytes:
    """At most ``limit + 1`` bytes (all of them for None) of the regular file ``path``.

    The file is opened with ``O_NONBLOCK`` and checked with ``fstat`` before it is read, so a
    FIFO, device or socket is refused (exit 2) and never blocks. The caller decides what more
    than ``limit`` bytes means.
    """
    shown = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as err:
        if os.path.islink(path):
            raise InputError(f"{shown}: dangling symlink (its target does not exist)") from err
        raise InputError(f"{shown}: no such file") from err
    except IsADirectoryError as err:
        raise InputError(f"{shown}: is a directory, expected {what}") from err
    except OSError as err:
        file_state(path)  # a socket (ENXIO) or a loop: say what it is
        raise InputError(f"{shown}: cannot read: {err.strerror}") from err
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{shown}: is {_kind(st.st_mode)}, expected {what}")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read() if limit is None else f.read(limit + 1)
    except OSError as err:
        raise InputError(f"{shown}: cannot read: {err.strerror}") from err
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the directory holding ``path`` for a read-modify-write.

    Concurrent ``pmempolicy set`` runs on one ``.config`` queue here instead of losing each
    other's changes. The directory itself is locked (Linux ``flock`` takes a directory's file
    descriptor), so no lock file is left in a kernel tree; ``.config`` cannot be locked itself,
    because every write replaces it with a new file.
    """
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"{path}: cannot write: directory {directory} does not exist")
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(directory, flags)
    except OSError as err:
        raise InputError(f"{directory}: cannot lock the configuration: {err.strerror}") from err
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _unchanged(path: Path, text: str) -> bool:
    try:
        data = read_regular(path, len(text.encode("utf-8")), "a text file")
    except InputError:
        return False
    return data.decode("utf-8", errors="replace") == text


def _backup(path: Path, directory: Path) -> None:
    """``PATH.old`` := the current ``PATH``, by link + rename (never by writing ``PATH.old``)."""
    import secrets  # only here and below: tempfile, secrets (random, shutil) cost ~4 ms of
    import tempfile  # every start, and most commands write nothing

    old = Path(str(path) + ".old")
    tmp = directory / f".{path.name}.old.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        os.link(path, tmp)
    except OSError:
        # no hard links here (or the symlink's target is elsewhere): copy into a fresh file
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.old.", suffix=".tmp", dir=directory)
        tmp = Path(name)
        with os.fdopen(fd, "wb") as out:
            out.write(read_regular(path, None, "a regular file"))
            out.flush()
            os.fsync(out.fileno())
    try:
        os.replace(tmp, old)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def write_atomic(path: Path, text: str, *, backup: bool = False) -> bool:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    With ``backup`` the previous file is kept as ``PATH.old`` (as ``scripts/kconfig/confdata.c``
    does for ``.config``), made only once the new content is safely on disk. Returns False,
    writing nothing, when the content is unchanged. A failure at any point (ENOSPC, a kill)
    leaves the previous file and the previous backup intact. ``path`` must be a regular file
    or not exist; a directory, FIFO, device, socket, dangling symlink or symlink loop is refused
    (exit 2). The new file keeps the old file's permission bits, never set-user/group-ID.
    """
    exists = file_state(path) == "file"
    if exists and _unchanged(path, text):
        return False
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"{path}: cannot write: directory {directory} does not exist")
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as err:
        raise InputError(f"{path}: cannot write: {err.strerror}") from err
    try:
        try:
            data = memoryview(text.encode("utf-8"))
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if exists:
            os.chmod(tmp, path.stat().st_mode & 0o777 & ~0o6000)
            if backup:
                _backup(path, directory)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as err:
        raise InputError(f"{path}: cannot write: {err.strerror}") from err
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return True
