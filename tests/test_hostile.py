"""Hostile inputs (issue 12): every reproducer kept as a regression test.

Each one must end in exit 0, 1 or 2 with a clear (located, where there is a place) message —
never exit 3, a hang, a write through a planted symlink or a lost backup.
"""
from __future__ import annotations

import gzip
import io
import lzma
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from policy.atomic import write_atomic
from policy.cli import main
from policy.errors import InputError

VENV_BIN = Path(sys.executable).parent


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KCONFIG_CONFIG", raising=False)
    return tmp_path


def _defconfig(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "defconfig", "debian_amd64")[0] == 0


# ---------------------------------------------------------------------------- 2, 3: the backup


def test_planted_old_symlink_is_replaced_not_followed(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _defconfig(capsys)
    victim = cwd / "victim"
    victim.write_text("precious\n")
    (cwd / ".config.old").unlink(missing_ok=True)
    os.symlink("victim", cwd / ".config.old")
    before = (cwd / ".config").read_text()
    assert run(capsys, "set", "FS_DAX=n")[0] == 0
    assert victim.read_text() == "precious\n"
    old = cwd / ".config.old"
    assert not old.is_symlink() and old.read_text() == before


def test_failed_write_keeps_the_previous_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / ".config"
    target.write_text("two\n")
    (tmp_path / ".config.old").write_text("one\n")

    def enospc(*args: object) -> None:
        raise OSError(28, "No space left on device")

    for name in ("fsync", "write"):
        with monkeypatch.context() as m:
            m.setattr(os, name, enospc)
            with pytest.raises(InputError, match="No space left on device"):
                write_atomic(target, "three\n", backup=True)
        assert target.read_text() == "two\n"
        assert (tmp_path / ".config.old").read_text() == "one\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == [".config", ".config.old"]


def test_setuid_bits_are_never_copied(tmp_path: Path) -> None:
    target = tmp_path / ".config"
    target.write_text("one\n")
    target.chmod(0o6755)
    assert write_atomic(target, "two\n", backup=True)
    assert stat.S_IMODE(target.stat().st_mode) == 0o755


# ---------------------------------------------------------------------------- 4: bombs


@pytest.mark.parametrize("compress", [gzip.compress, lzma.compress])
def test_decompression_bomb_is_refused(
    compress: object, cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bomb = cwd / "bomb.cfg"
    bomb.write_bytes(compress(b"#" * (64 << 20)))  # type: ignore[operator]
    start = time.monotonic()
    code, _, err = run(capsys, "import-config", str(bomb))
    assert code == 2 and f"{bomb}: decompresses to more than 16777216 bytes" in err
    code, _, err = run(capsys, "evaluate", "--config", str(bomb))
    assert code == 2 and "decompresses to more than" in err
    assert time.monotonic() - start < 20
    assert not (cwd / ".config").exists()


# ---------------------------------------------------------------------------- 5: not a file


def test_fifo_device_directory_socket_are_refused(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(cwd / "fifo")
    (cwd / "dir").mkdir()
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(cwd / "sock"))
    try:
        for name, kind in (("fifo", "a FIFO"), ("/dev/null", "a character device"),
                           ("dir", "a directory"), ("sock", "a socket")):
            for args in (("get", "--config", name, "FS_DAX"), ("set", "--config", name, "FS_DAX=n"),
                         ("olddefconfig", "--config", name), ("evaluate", "--config", name),
                         ("import-config", name), ("alldefconfig", "--config", name)):
                code, _, err = run(capsys, *args)
                assert code == 2, (args, err)
                assert kind in err or "is a directory" in err, (args, err)
    finally:
        sock.close()
    assert stat.S_ISFIFO(os.stat(cwd / "fifo").st_mode)


# ---------------------------------------------------------------------------- 6: same lines


@pytest.mark.parametrize("char", ["\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029",
                                  "\r"])
def test_line_breaks_inside_a_line_are_located(
    char: str, cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cwd / ".config").write_text(f"CONFIG_X86_64=y\nCONFIG_FS_DAX=n{char}CONFIG_BTT=y\n")
    code, _, err = run(capsys, "get", "FS_DAX")
    assert code == 2 and ".config:2:16: error: control character" in err


def test_crlf_line_ends_are_still_read(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _defconfig(capsys)
    text = (cwd / ".config").read_text().replace("\n", "\r\n")
    (cwd / ".config").write_text(text, newline="")
    assert run(capsys, "get", "FS_DAX")[0] == 0


@pytest.mark.parametrize("line,col", [('CONFIG_FS_DAX="y"', 15), ('CONFIG_LIBNVDIMM="m"', 18)])
def test_quoted_bool_or_tristate_is_located(
    line: str, col: int, cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cwd / ".config").write_text(f"CONFIG_X86_64=y\n{line}\n")
    code, _, err = run(capsys, "get", "FS_DAX")
    assert code == 2 and f".config:2:{col}: error:" in err and "unquoted" in err


# ---------------------------------------------------------------------------- 9: no silent defaults


def test_missing_config_warns_and_loops_are_errors(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "get", "--config", "nope", "FS_DAX")
    assert code == 0 and "nope: no such file; using the defaults" in err
    os.symlink("loop", cwd / "loop")
    os.symlink("missing-target", cwd / "dangling")
    for name, what in (("loop", "symlink loop"), ("dangling", "dangling symlink")):
        for args in (("get", "--config", name, "FS_DAX"), ("olddefconfig", "--config", name),
                     ("listnewconfig", "--config", name), ("evaluate", "--config", name)):
            code, _, err = run(capsys, *args)
            assert code == 2 and what in err, (args, err)
    assert os.readlink(cwd / "dangling") == "missing-target"
    assert os.readlink(cwd / "loop") == "loop"


def test_unsearchable_parent_is_exit_2(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() == 0:
        pytest.skip("root searches every directory")
    locked_dir = cwd / "locked"
    locked_dir.mkdir()
    locked_dir.chmod(0)
    try:
        for args in (("get", "--config", "locked/.config", "FS_DAX"),
                     ("set", "--config", "locked/.config", "FS_DAX=n"),
                     ("evaluate", "--config", "locked/.config")):
            code, _, err = run(capsys, *args)
            assert code == 2 and "Permission denied" in err, (args, err)
    finally:
        locked_dir.chmod(0o755)


# ---------------------------------------------------------------------------- 11: concurrent sets


def test_concurrent_sets_all_survive(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _defconfig(capsys)
    # eight symbols whose values are independent of each other in debian_amd64
    wanted = {"X86_5LEVEL": "n", "ARCH_MEMORY_PROBE": "y", "ENCRYPTED_KEYS": "m",
              "MEMORY_HOTPLUG_DEFAULT_ONLINE": "y", "CMA": "y", "MEMORY_FAILURE": "n",
              "NFIT_SECURITY_DEBUG": "y", "CXL_MEM_RAW_COMMANDS": "y"}
    code, out, _ = run(capsys, "get", *wanted)
    assert all(f"{s}={v}" not in out for s, v in wanted.items())
    exe = str(VENV_BIN / "pmempolicy")
    procs = [subprocess.Popen([exe, "set", f"{s}={v}"], cwd=cwd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for s, v in wanted.items()]
    codes = []
    for p in procs:
        p.communicate(timeout=120)
        codes.append(p.returncode)
    assert codes == [0] * len(wanted)
    code, out, _ = run(capsys, "get", *wanted)
    assert out.splitlines() == [f"{s}={v}" for s, v in wanted.items()]


# keep the imports used when a platform lacks a feature
_ = (io, threading)


# ---------------------------------------------------------------------------- 7: sizes


def _btt_usable_loop(size: int, lbasize: int) -> int:
    """The previous implementation, one iteration per 512 GiB arena (the kernel's loop)."""
    from policy.decide import costs as c

    sector_size = 4096 if lbasize >= 4096 else 512
    internal_lbasize = -(-lbasize // c.INT_LBASIZE_ALIGNMENT) * c.INT_LBASIZE_ALIGNMENT
    remaining = size - c.BTT_INFO_OFFSET_V11
    if remaining < c.ARENA_MIN_SIZE:
        return 0
    nlba = 0
    while remaining:
        arena = min(c.ARENA_MAX_SIZE, remaining)
        remaining -= arena
        if arena < c.ARENA_MIN_SIZE:
            break
        available = arena // c.BTT_PG_SIZE * c.BTT_PG_SIZE - 2 * c.BTT_PG_SIZE
        available -= -(-c.BTT_DEFAULT_NFREE * c.LOG_GRP_SIZE // c.BTT_PG_SIZE) * c.BTT_PG_SIZE
        internal_nlba = (available - c.BTT_PG_SIZE) // (internal_lbasize + c.MAP_ENT_SIZE)
        nlba += internal_nlba - c.BTT_DEFAULT_NFREE
    return nlba * sector_size


def test_btt_closed_form_matches_the_loop() -> None:
    import random

    from policy.decide import costs

    rng = random.Random(12)
    arena = costs.ARENA_MAX_SIZE
    edges = [arena * n + d for n in range(6)
             for d in (-1, 0, 1, 4096, 4095 + (16 << 20), 4096 + (16 << 20), 4097 + (16 << 20))]
    sizes = edges + [rng.randrange(0, 8 * arena) for _ in range(3000)]
    sizes += [rng.randrange(0, 64 << 20) for _ in range(2000)]
    for size in (s for s in sizes if s >= 0):
        for lba in costs.BTT_LBASIZES:
            assert costs.btt_usable(size, lba) == _btt_usable_loop(size, lba), (size, lba)
    start = time.monotonic()
    assert costs.btt_usable(1 << 64) > 0  # 2^25 arenas: instant
    assert time.monotonic() - start < 0.1
