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
    # the lock is the directory's: nothing but the config and its backup is left behind
    assert sorted(p.name for p in cwd.iterdir() if p.name.startswith(".config")) == [
        ".config", ".config.old"]



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


# ---------------------------------------------------------------------------- 1, 8, 12: listings


def _listing(cwd: Path, text: str) -> str:
    (cwd / "l.json").write_text(text)
    return str(cwd / "l.json")


def _ns(**fields: object) -> str:
    import json

    base: dict[str, object] = {"dev": "namespace0.0", "mode": "fsdax", "map": "dev",
                               "size": 4225761280, "uuid": "u", "align": 2097152}
    base.update(fields)
    return json.dumps([base])


@pytest.mark.parametrize("text,expected", [
    (_ns(dev="namespace0.0; rm -rf /"), "dev 'namespace0.0; rm -rf /' is not a kernel name"),
    (_ns(dev="namespace\u0660.0"), "is not a kernel name of the form namespaceX.Y"),
    (_ns(chardev="dax0.0$(reboot)"), "chardev 'dax0.0$(reboot)' is not a kernel name"),
    (_ns(blockdev="pmem0 x"), "blockdev 'pmem0 x' is not a kernel name"),
    ('[{"dev":"region0`id`","size":1,"namespaces":[]}]', "dev 'region0`id`' is not a kernel"),
    ('[{"dev":"region0","size":1,"btt_seed":"btt0.0;x"}]', "btt_seed 'btt0.0;x' is not a"),
    ('[{"dev":"region0","size":1,"pfn_seed":"pfn0.\u0661"}]', "pfn_seed"),
    ('[{"dev":"region0","size":1,"dax_seed":"x"}]', "dax_seed 'x' is not a kernel name"),
    (_ns(size="\u0664\u0660\u0669\u0666"), "is not a number of bytes (at most 2^64, ASCII"),
    (_ns(size=10**400), "size is more than 2^64 bytes"),
    (_ns(size=1e300), "size is more than 2^64 bytes"),
    (_ns(align=1), "align 1 is not a power of two of at least 4096"),
    ('[{"dev":"namespace0.0","mode":"raw",\n "mode":"fsdax","size":4096}]',
     "l.json:2:2: error: duplicate key 'mode'"),
    ('{"regions":' * 500 + "[]" + "}" * 500, "nested more than 64 levels deep"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    (_ns(dev="namespace0.0" + "x" * 100_000), "…"),
])
def test_bad_listings_are_located_exit_2(
    text: str, expected: str, cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _listing(cwd, text)
    start = time.monotonic()
    code, _, err = run(capsys, "evaluate", "--config", "debian_amd64", "--ndctl", path)
    assert code == 2 and expected in err, err
    assert f"{path}:" in err and len(err) < 2000
    assert time.monotonic() - start < 10


def test_zero_size_namespace_is_a_seed(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for mode in ("raw", "sector", "fsdax", "devdax"):
        path = _listing(cwd, _ns(mode=mode, size=0, sector_size=4096))
        code, _, err = run(capsys, "evaluate", "--config", "debian_amd64", "--ndctl", path)
        assert code in (0, 1) and "internal error" not in err


def test_raw_size_recovery_of_huge_sector_namespaces_is_fast(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = time.monotonic()
    path = _listing(cwd, _ns(mode="sector", size=(1 << 64) - (1 << 40), sector_size=4096))
    code, _, err = run(capsys, "evaluate", "--config", "debian_amd64", "--ndctl", path)
    assert code in (0, 1, 2) and "internal error" not in err
    assert time.monotonic() - start < 10


# ---------------------------------------------------------------------------- 7, 8, 12: profiles


def _profile(cwd: Path, size: str, labels: str = "") -> str:
    text = ("apiVersion: pmempolicy/v1\nkind: DeviceProfile\nmetadata:\n  name: x\n" + labels +
            f"spec:\n  device:\n    type: nvdimm\n    size: {size}\n")
    (cwd / "p.yaml").write_text(text)
    return str(cwd / "p.yaml")


@pytest.mark.parametrize("size,labels,expected", [
    ("1" * 5000, "", "…"),
    ("1" * 5000 + "GiB", "", "has more than 40 digits"),
    ("17179869185GiB", "", "is more than 2^64 bytes"),
    ("16GiB", "  labels:\n    ndctl.region: 'region0; rm -rf /'\n", "p.yaml:6:19: error:"),
    ("16GiB", "  labels:\n    ndctl.region: \"region0\\n\"\n", "is not a kernel region name"),
    ("16GiB", "  labels:\n    ndctl.region: region\u0660\n", "the region is the kernel's name"),
])
def test_bad_profiles_are_clear(
    size: str, labels: str, expected: str, cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _profile(cwd, size, labels)
    code, out, err = run(capsys, "validate", path)
    assert code == 1 and expected in out + err and len(out + err) < 2000, out + err
    code, _, err = run(capsys, "evaluate", "--config", "debian_amd64", path)
    assert code in (1, 2) and "internal error" not in err


def test_many_plain_keys_are_not_an_alias_bomb(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = "".join(f"  k{i}: 1\n" for i in range(20_000))
    (cwd / "p.yaml").write_text(_profile_text := f"x:\n{keys}")
    assert _profile_text
    code, out, err = run(capsys, "validate", str(cwd / "p.yaml"))
    assert code == 1 and "alias bomb" not in out + err and "more than 10000 nodes" in out + err


@pytest.mark.parametrize("query", ["!" * 600 + "a", "(" * 2000 + "a", "[" * 3000])
def test_deep_queries_are_usage_errors(query: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "evaluate", "--config", "debian_amd64", "--query", query)
    assert code == 2 and "bad --query" in err and len(err) < 1000


# ---------------------------------------------------------------------------- 10: stdin


class _Endless(io.RawIOBase):
    """An unbounded stdin: counts what was read."""

    def __init__(self) -> None:
        self.given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        n = len(b)
        b[:n] = b" " * n
        self.given += n
        return n


@pytest.mark.parametrize("args,limit", [
    (("validate", "-"), 1 << 20),
    (("evaluate", "--config", "debian_amd64", "--ndctl", "-"), 64 << 20),
])
def test_stdin_is_read_bounded(args: tuple[str, ...], limit: int,
                               monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    endless = _Endless()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(endless)))
    code, _, err = run(capsys, *args)
    assert code == 2 and f"<stdin>: larger than {limit} bytes" in err
    assert endless.given <= limit + (1 << 20)
