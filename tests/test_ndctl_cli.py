"""``evaluate``/``matrix`` with ``--ndctl`` and distro ``--config`` through the real CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from policy.cli import main

DATA = Path(__file__).parent / "data"
LISTINGS = sorted((DATA / "ndctl").glob("*.json"))
DEBIAN = {"amd64": DATA / "debian-6.1" / "config.amd64_none_amd64.xz",
          "arm64": DATA / "debian-6.1" / "config.arm64_none_arm64.xz"}


@pytest.mark.parametrize("listing", LISTINGS, ids=lambda p: p.name)
def test_evaluate_current_setup_under_debian_amd64(
    listing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["evaluate", "--config", str(DEBIAN["amd64"]), "--ndctl", str(listing), "--format", "json"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert (
        doc["ok"] is True
        and doc["devices"]
        and all(d.startswith("namespace") for d in doc["devices"])
    )


def test_evaluate_sector_and_devdax_modes(capsys: pytest.CaptureFixture[str]) -> None:
    for name, mode in (
        ("btt-check.namespace.json", "sector"),
        ("daxdev-errors.namespace.json", "devdax"),
    ):
        assert main(["evaluate", "--config", "debian_amd64", "--ndctl", str(DATA / "ndctl" / name),
                     "--format", "json"]) == 0
        assert f'"{mode}"' in capsys.readouterr().out


def test_matrix_with_listing_and_both_debian_configs(capsys: pytest.CaptureFixture[str]) -> None:
    listing = DATA / "ndctl" / "ndctl-man-list-BN.json"
    code = main(["matrix", "--config", str(DEBIAN["amd64"]), "--config", str(DEBIAN["arm64"]),
                 "--ndctl", str(listing), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0  # the matrix is a report
    assert doc["devices"] == ["namespace0.0", "namespace9.0"] and len(doc["configs"]) == 2
    # arm64 has no X86_PMEM_LEGACY: the e820 namespace is a finding there, not on amd64
    assert doc["ok"] is False


def test_evaluate_listing_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import sys

    data = (DATA / "ndctl" / "insights-ndctl-list-Ni.json").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["evaluate", "--config", "debian_amd64", "--ndctl", "-", "--format", "csv"]) == 0
    assert "namespace1.0" in capsys.readouterr().out


def test_evaluate_bad_listing_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "trunc.json"
    bad.write_text('[\n {"dev":"namespace0.0","mode":"raw",')
    assert main(["matrix", "--config", "debian_amd64", "--ndctl", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2:" in err and "[ndctl-json]" in err and "Traceback" not in err


def test_evaluate_accepts_distro_configs(capsys: pytest.CaptureFixture[str]) -> None:
    for cfg in DEBIAN.values():
        assert main(
            [
                "evaluate",
                "--config",
                str(cfg),
                "--format",
                "json",
                str(Path(__file__).parent.parent / "profiles" / "db-400g-odirect.yaml"),
            ]
        ) in (0, 1)
        doc = json.loads(capsys.readouterr().out)
        assert doc["configs"] == [cfg.name]
