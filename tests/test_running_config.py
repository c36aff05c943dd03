"""The running kernel's config: the locator on real files, and the commands that default to it."""

from __future__ import annotations

import gzip
import lzma
from pathlib import Path

import pytest

from policy.cli import main
from policy.kconfig.running import locate

DATA = Path(__file__).parent / "data"
DEBIAN = DATA / "debian-6.1" / "config.amd64_none_amd64.xz"
LISTING = DATA / "ndctl" / "pmem-docs-list-RuN-map-dev.json"
RELEASE = "6.1.0-56-amd64"


@pytest.fixture()
def proc_gz(tmp_path: Path) -> Path:
    """A real /proc/config.gz stand-in: Debian's 6.1 amd64 config, gzip-compressed."""
    path = tmp_path / "proc" / "config.gz"
    path.parent.mkdir()
    path.write_bytes(gzip.compress(lzma.decompress(DEBIAN.read_bytes())))
    return path


def test_proc_config_first(proc_gz: Path, tmp_path: Path) -> None:
    boot = tmp_path / "boot"
    boot.mkdir()
    (boot / f"config-{RELEASE}").write_bytes(lzma.decompress(DEBIAN.read_bytes()))
    found = locate(RELEASE, proc_gz, boot)
    assert found.path == proc_gz
    assert "using the running kernel's config" in found.describe()


def test_boot_config_of_the_release(tmp_path: Path) -> None:
    boot = tmp_path / "boot"
    boot.mkdir()
    (boot / "config-6.1.0-1-amd64").write_text("# another kernel's\n")
    (boot / f"config-{RELEASE}").write_bytes(lzma.decompress(DEBIAN.read_bytes()))
    found = locate(RELEASE, tmp_path / "proc" / "config.gz", boot)
    assert found.path == boot / f"config-{RELEASE}"


def test_neither_is_said(tmp_path: Path) -> None:
    found = locate(RELEASE, tmp_path / "config.gz", tmp_path)
    assert found.path is None
    assert found.looked == (tmp_path / "config.gz", tmp_path / f"config-{RELEASE}")
    assert found.describe().startswith("no running kernel config (looked for ")
    # not a Linux host: only /proc/config.gz is looked for
    assert locate(None, tmp_path / "config.gz", tmp_path).looked == (tmp_path / "config.gz",)


def test_a_directory_is_not_a_config(tmp_path: Path) -> None:
    (tmp_path / f"config-{RELEASE}").mkdir()
    assert locate(RELEASE, tmp_path / "none", tmp_path).path is None


def test_plan_uses_the_running_config(
    proc_gz: Path, cwd: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PMEMPOLICY_RUNNING_CONFIG", str(proc_gz))
    profile = Path(__file__).parent.parent / "profiles" / "workstation-8g-nvdimm.yaml"
    code = main(["plan", "--format", "json", str(profile)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"using the running kernel's config {proc_gz}" in " ".join(err.split())
    assert '"config_source"' in out and "imported distro config" in out


def test_plan_without_any_config_says_so(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan"]) == 2
    err = capsys.readouterr().err
    assert "no running kernel config" in err and "plan needs one kernel config" in err


def test_local_config_comes_before_the_running_one(
    proc_gz: Path, cwd: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PMEMPOLICY_RUNNING_CONFIG", str(proc_gz))
    assert main(["defconfig", "debian_arm64"]) == 0
    capsys.readouterr()
    main(["plan", "--format", "json"])
    out, err = capsys.readouterr()
    assert "running kernel" not in err and ".config" in out


def test_evaluate_ndctl_uses_the_running_config(
    proc_gz: Path, cwd: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PMEMPOLICY_RUNNING_CONFIG", str(proc_gz))
    main(["evaluate", "--ndctl", str(LISTING), "--format", "json"])
    out, err = capsys.readouterr()
    assert "using the running kernel's config" in err
    assert "config.gz" in out and "debian_arm64" not in out


def test_evaluate_ndctl_without_running_config_keeps_every_defconfig(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["evaluate", "--ndctl", str(LISTING), "--format", "json"])
    out, err = capsys.readouterr()
    assert "no running kernel config" in err and "every shipped defconfig" in err
    assert "debian_arm64" in out
