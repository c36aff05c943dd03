"""Atomic file writes with the kernel's ``.old`` backup habit."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from policy.errors import InputError


def write_atomic(path: Path, text: str, *, backup: bool = False) -> bool:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    With ``backup`` the previous file is kept as ``PATH.old`` (as ``scripts/kconfig/confdata.c``
    does for ``.config``). Returns False, writing nothing, when the content is unchanged.
    A failure at any point leaves the previous file intact.
    """
    try:
        if path.is_file() and path.read_text(encoding="utf-8", errors="replace") == text:
            return False
    except OSError:
        pass
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"{path}: cannot write: directory {directory} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as err:
        raise InputError(f"{path}: cannot write: {err.strerror}") from err
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if path.exists():
            if path.is_dir():
                raise InputError(f"{path}: cannot write: it is a directory")
            os.chmod(tmp, path.stat().st_mode & 0o7777)
            if backup:
                shutil.copy2(path, str(path) + ".old")
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as err:
        raise InputError(f"{path}: cannot write: {err.strerror}") from err
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return True
