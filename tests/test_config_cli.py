"""The kernel config workflow through the real CLI boundary on the shipped tree."""
from __future__ import annotations

import gzip
import json
import lzma
import os
from pathlib import Path

import pytest

from policy import kconfig
from policy.atomic import write_atomic
from policy.cli import main
from policy.errors import InputError

DATA = Path(__file__).parent / "data"
DEBIAN = DATA / "debian-6.1"
AMD64 = DEBIAN / "config.amd64_none_amd64.xz"
ARM64 = DEBIAN / "config.arm64_none_arm64.xz"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def config_values(path: Path) -> dict[str, str]:
    parsed, diags = kconfig.parse_config_text(path.read_text(), str(path))
    assert not diags
    return {a.name: a.value for a in parsed.assignments}


def test_defconfig_then_olddefconfig_is_stable_and_keeps_old(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "defconfig", "debian_amd64")
    assert code == 0 and "saved to '.config'" in out
    first = (cwd / ".config").read_text()
    code, out, _ = run(capsys, "olddefconfig")
    assert code == 0 and "No change" in out
    assert (cwd / ".config").read_text() == first
    code, _, _ = run(capsys, "defconfig", "debian_arm64")
    assert code == 0
    assert (cwd / ".config.old").read_text() == first
    assert config_values(cwd / ".config")["ARM64"] == "y"


def test_kconfig_config_environment_names_the_file(cwd: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KCONFIG_CONFIG", "alt.config")
    assert run(capsys, "alldefconfig")[0] == 0
    assert (cwd / "alt.config").is_file() and not (cwd / ".config").exists()


@pytest.mark.parametrize("target", ["alldefconfig", "allnoconfig", "allyesconfig"])
def test_all_targets_write_a_loadable_config(
    target: str, cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(capsys, target, "--config", "x.config")
    assert code == 0
    build = kconfig.load_build(cwd / "x.config")
    if target == "allnoconfig":
        assert build.value("LIBNVDIMM") == "n"
    if target == "allyesconfig":
        assert build.value("ZONE_DEVICE") == "y" and build.value("LIBNVDIMM") == "y"


def test_savedefconfig_round_trips(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "defconfig", "rt_amd64")
    code, out, _ = run(capsys, "savedefconfig", "--out", "min")
    assert code == 0 and "saved to 'min'" in out
    again = kconfig.load_build(cwd / "min")
    full = kconfig.load_build(cwd / ".config")
    assert again.values == full.values


def test_set_that_takes_is_written(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "defconfig", "debian_amd64")
    code, _, _ = run(capsys, "set", "CONFIG_PREEMPT_RT=y")
    assert code == 0
    values = config_values(cwd / ".config")
    assert values["PREEMPT_RT"] == "y"
    assert "DEV_DAX" not in values  # TRANSPARENT_HUGEPAGE is gone, so DEV_DAX is absent


def test_set_that_does_not_take_shows_the_chain_and_writes_nothing(
        cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "defconfig", "rt_amd64")
    before = (cwd / ".config").read_bytes()
    old_before = (cwd / ".config.old").read_bytes() if (cwd / ".config.old").exists() else None
    code, _, err = run(capsys, "set", "DEV_DAX=m")
    assert code == 1
    assert "DEV_DAX=m did not take: DEV_DAX is n" in err
    assert "DEV_DAX=n (kconfig/dax.Kconfig:" in err
    assert "TRANSPARENT_HUGEPAGE=n (kconfig/mm.Kconfig:" in err
    assert "PREEMPT_RT=y (kconfig/general.Kconfig:" in err and "rules this out" in err
    assert "not written" in err
    assert (cwd / ".config").read_bytes() == before
    now_old = (cwd / ".config.old").read_bytes() if (cwd / ".config.old").exists() else None
    assert now_old == old_before


def test_set_on_arm64_names_zone_device_root(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "defconfig", "debian_arm64")
    code, _, err = run(capsys, "set", "NVDIMM_PFN=y")
    assert code == 1
    assert "NVDIMM_PFN=n (kconfig/nvdimm.Kconfig:" in err and "ZONE_DEVICE=n" in err


def test_get_distinguishes_values(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "defconfig", "debian_arm64")
    code, out, _ = run(capsys, "get", "ZONE_DEVICE", "NVDIMM_PFN", "LIBNVDIMM", "ARM64_PMEM",
                       "ARM64_PAGE_SHIFT")
    assert code == 0
    assert out.splitlines() == ["ZONE_DEVICE=n", "NVDIMM_PFN=absent", "LIBNVDIMM=m",
                                "ARM64_PMEM=y", "ARM64_PAGE_SHIFT=12"]
    code, out, _ = run(capsys, "get", "--format", "json", "NVDIMM_PFN", "LIBNVDIMM")
    doc = json.loads(out)
    assert doc["schema_version"] == 1
    assert doc["symbols"]["NVDIMM_PFN"] == {"value": "absent", "enabled": False}
    assert doc["symbols"]["LIBNVDIMM"] == {"value": "m", "enabled": True}


def test_get_unknown_symbol_is_a_usage_error(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "alldefconfig")
    code, _, err = run(capsys, "get", "ND_BLK")
    assert code == 2 and "unknown symbol(s): ND_BLK" in err


def test_listnewconfig_lists_symbols_missing_from_the_file(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cwd / ".config").write_text("CONFIG_X86_64=y\nCONFIG_MODULES=y\n")
    code, out, _ = run(capsys, "listnewconfig")
    assert code == 0
    lines = out.splitlines()
    assert "CONFIG_LIBNVDIMM=n" in lines or any(ln.startswith("CONFIG_LIBNVDIMM=") for ln in lines)
    assert not any(ln.startswith("CONFIG_MODULES=") for ln in lines)


@pytest.mark.parametrize(
    "src,compress", [(AMD64, None), (ARM64, None), (AMD64, "gz"), (ARM64, "plain")]
)
def test_import_real_debian_configs_is_faithful(src: Path, compress: str | None, cwd: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = src
    if compress == "gz":
        path = cwd / "config.gz"
        path.write_bytes(gzip.compress(lzma.decompress(src.read_bytes())))
    elif compress == "plain":
        path = cwd / "config-6.1"
        path.write_bytes(lzma.decompress(src.read_bytes()))
    code, out, err = run(capsys, "import-config", str(path))
    assert err == "", err
    assert code == 0
    assert "outside the model (ignored)" in out
    outside = int(out.split(" assignments, ")[1].split(" outside")[0])
    assert outside > 8000
    values = config_values(cwd / ".config")
    if src is AMD64:
        assert values["ZONE_DEVICE"] == "y" and values["NVDIMM_DAX"] == "y"
    else:
        assert values["ZONE_DEVICE"] == "n" and "NVDIMM_PFN" not in values


# ---------------------------------------------------------------------------- bad input


def test_missing_config_file(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "import-config", "nope.config")
    assert code == 2 and "nope.config: no such file" in err and "Traceback" not in err
    code, _, err = run(capsys, "savedefconfig", "--config", "nope.config")
    assert code == 2 and "nope.config: no such file" in err


def _assert_untouched(cwd: Path, before: bytes) -> None:
    assert (cwd / ".config").read_bytes() == before
    assert not (cwd / ".config.old").exists()
    assert [p.name for p in cwd.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "CONFIG_X86_64=y\nthis is not a config line\n",
            ".config:2:1: error: malformed line 'this is not a config line'",
        ),
        (
            "CONFIG_X86_64=y\nCONFIG_ND_BLK=y\n",
            ".config:2:1: error: unknown symbol CONFIG_ND_BLK: not in the pmempolicy Kconfig tree",
        ),
        (
            "CONFIG_X86_64=y\nCONFIG_ZONE_DEVICE=m\n",
            ".config:2:20: error: CONFIG_ZONE_DEVICE=m is not a valid bool value; expected y or n",
        ),
        (
            "CONFIG_LIBNVDIMM=maybe\n",
            ".config:1:18: error: CONFIG_LIBNVDIMM=maybe is not a valid tristate value; "
            "expected y, m or n",
        ),
        ("CONFIG_X86_64=y\n  CONFIG_BTT=y\n", ".config:2:3: error: malformed line 'CONFIG_BTT=y'"),
    ],
)
def test_bad_config_lines_are_located_and_nothing_is_overwritten(
        text: str, expected: str, cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cwd / ".config").write_text(text)
    before = (cwd / ".config").read_bytes()
    code, out, err = run(capsys, "olddefconfig")
    assert code == 2
    assert expected in err
    assert "Traceback" not in err and out == ""
    _assert_untouched(cwd, before)


def test_binary_config_file(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cwd / ".config").write_bytes(gzip.compress(b"CONFIG_X86_64=y\n"))
    before = (cwd / ".config").read_bytes()
    code, _, err = run(capsys, "olddefconfig")
    assert code == 2 and "binary file, expected a kernel config in text form" in err
    _assert_untouched(cwd, before)


def test_non_utf8_config_is_located(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cwd / ".config").write_bytes(b"CONFIG_X86_64=y\nCONFIG_BTT=\xff\n")
    code, _, err = run(capsys, "olddefconfig")
    assert code == 2 and ".config:2: error: invalid UTF-8" in err


def test_corrupt_compressed_import(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cwd / "broken.xz").write_bytes(lzma.compress(b"CONFIG_X86_64=y\n" * 100)[:40])
    code, _, err = run(capsys, "import-config", "broken.xz")
    assert code == 2 and "broken.xz: corrupt compressed file" in err
    assert not (cwd / ".config").exists()


def test_set_with_bad_values(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "defconfig", "debian_amd64")
    before = (cwd / ".config").read_bytes()
    code, _, err = run(capsys, "set", "ZONE_DEVICE=m")
    assert code == 2 and "not a valid bool value; expected y or n" in err
    code, _, err = run(capsys, "set", "NO_SUCH_SYMBOL=y")
    assert code == 2 and "unknown symbol(s): NO_SUCH_SYMBOL" in err
    code, _, err = run(capsys, "set", "ZONE_DEVICE")
    assert code == 2 and "expected SYMBOL=VALUE" in err
    assert (cwd / ".config").read_bytes() == before


def test_unknown_defconfig_lists_the_shipped_ones(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "defconfig", "option9")
    assert code == 2 and "no defconfig named 'option9'" in err and "debian_amd64" in err


def test_range_check_on_a_tree_with_an_int_symbol(tmp_path: Path) -> None:
    # The shipped tree has no prompted int symbol; the range check is exercised on a small tree.
    (tmp_path / "Kconfig").write_text(
        'config NODES_SHIFT\n\tint "Maximum NUMA Nodes (as a power of 2)"\n'
        '\trange 1 10\n\tdefault 6\n'
    )
    kconf = kconfig.parse_tree(tmp_path / "Kconfig")
    item = kconfig.ConfigLine("NODES_SHIFT", "11", "11", 3)
    diag = kconfig.check_assignment(kconf, item, "x.config")
    assert diag is not None
    assert (
        diag.render()
        == "x.config:3:20: error: CONFIG_NODES_SHIFT=11 is out of range; expected 1..10 "
        "[config-range]"
    )
    assert (
        kconfig.check_assignment(kconf, kconfig.ConfigLine("NODES_SHIFT", "ten", "ten", 4), "x")
        is not None
    )
    assert (
        kconfig.check_assignment(kconf, kconfig.ConfigLine("NODES_SHIFT", "10", "10", 5), "x")
        is None
    )


# ---------------------------------------------------------------------------- atomic writes


def test_failed_write_leaves_the_previous_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / ".config"
    target.write_text("old\n")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(InputError, match="No space left on device"):
        write_atomic(target, "new\n", backup=True)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".config"]


def test_write_keeps_old_and_mode(tmp_path: Path) -> None:
    target = tmp_path / ".config"
    target.write_text("one\n")
    target.chmod(0o640)
    assert write_atomic(target, "two\n", backup=True)
    assert (tmp_path / ".config.old").read_text() == "one\n"
    assert target.read_text() == "two\n" and (target.stat().st_mode & 0o777) == 0o640
    assert not write_atomic(target, "two\n", backup=True)  # unchanged: nothing written


def test_import_compares_every_modeled_symbol(cwd: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A modeled symbol the file does not write is absent in that kernel: when the model gives
    it a value, import-config names it (exit 1) instead of passing in silence."""
    text = lzma.decompress(AMD64.read_bytes()).decode()
    assert "CONFIG_ARCH_HAS_PMEM_API=y\n" in text
    path = cwd / "config-edited"
    path.write_text(text.replace("CONFIG_ARCH_HAS_PMEM_API=y\n", ""))
    code, _, err = run(capsys, "import-config", str(path))
    assert code == 1
    assert "CONFIG_ARCH_HAS_PMEM_API: file says absent, model gives y" in err
    # the untouched file has no such line: every modeled symbol agrees
    code, _, err = run(capsys, "import-config", str(AMD64))
    assert code == 0 and err == ""


def test_unknown_symbols_get_a_suggestion(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "defconfig", "debian_amd64")
    code, _, err = run(capsys, "get", "ZONE_DEVISE", "LIBNVDIMM")
    assert code == 2 and "ZONE_DEVISE (did you mean 'ZONE_DEVICE'?)" in err
    before = (cwd / ".config").read_bytes()
    code, _, err = run(capsys, "set", "CONFIG_NVDIMM_PNF=y", "XYZZY_PLUGH=y")
    assert code == 2
    assert "NVDIMM_PNF (did you mean 'NVDIMM_PFN'?)" in err and "XYZZY_PLUGH (not in" in err
    assert (cwd / ".config").read_bytes() == before


def test_failed_set_shows_every_change_needed(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "allnoconfig")
    before = (cwd / ".config").read_bytes()
    code, _, err = run(capsys, "set", "DEV_DAX_PMEM=y")
    assert code == 1 and (cwd / ".config").read_bytes() == before
    whole = " ".join(err.split())
    # the chain stops at the first root cause (BLK_DEV); the change needed names all of them
    needed = whole.split("the whole change needed: ", 1)[1].split(" (then", 1)[0].split()
    assert {"BLK_DEV=y", "LIBNVDIMM=y", "ZONE_DEVICE=y", "TRANSPARENT_HUGEPAGE=y"} <= set(needed)
    assert "set --with-deps" in whole


def test_set_with_deps_applies_the_whole_change(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "allnoconfig")
    before = (cwd / ".config").read_text()
    code, out, err = run(capsys, "set", "--with-deps", "DEV_DAX_PMEM=y", "BTT=y")
    assert code == 0, err
    assert out.startswith("also set (needed): ") and "saved to '.config'" in out
    values = config_values(cwd / ".config")
    assert values["DEV_DAX_PMEM"] == "y" and values["BTT"] == "y"
    for pair in out.splitlines()[0].split(": ", 1)[1].split():
        name, value = pair.split("=")
        assert values[name] == value
    assert (cwd / ".config.old").read_text() == before
    # nothing more needed: --with-deps is a plain set
    code, out, _ = run(capsys, "set", "--with-deps", "BTT=n")
    assert code == 0 and "also set" not in out


def test_set_with_deps_on_rt_turns_preempt_rt_off(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "defconfig", "rt_amd64")
    code, out, err = run(capsys, "set", "--with-deps", "DEV_DAX=m")
    assert code == 0, err
    values = config_values(cwd / ".config")
    assert values["DEV_DAX"] == "m" and values["TRANSPARENT_HUGEPAGE"] == "y"
    assert values.get("PREEMPT_RT", "n") == "n"
