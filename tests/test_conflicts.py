"""Required features no single mode gives are a conflict, with the way out, not a bare miss."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from policy.cli import cli
from policy.decide.catalog import catalog
from policy.decide.reasons import conflict, modes_giving

BOTH = """apiVersion: pmempolicy/v1
kind: DeviceProfile
metadata: {name: both}
spec:
  device: {type: nvdimm, size: 64GiB}
  requires: [o_direct_dax_file, longterm_pin]
"""


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), standalone_mode=False)
    if result.exception is not None:
        raise result.exception
    return int(result.return_value or 0), result.stdout


def test_modes_come_from_the_catalog() -> None:
    cat = catalog()
    assert modes_giving("o_direct_dax_file", "nvdimm", cat)[0] == "fsdax"
    assert "raw" not in modes_giving("o_direct_dax_file", "nvdimm", cat)  # pagemap only (e820)
    assert set(modes_giving("longterm_pin", "nvdimm", cat)) == {"devdax", "system-ram"}
    assert conflict(["longterm_pin", "gup_dax_mapping"], "nvdimm", cat) is None
    assert conflict(["longterm_pin"], "nvdimm", cat) is None
    msg = conflict(["dax_mmap", "o_direct_dax_file", "longterm_pin"], "nvdimm", cat)
    assert msg is not None and "o_direct_dax_file and longterm_pin" in msg


def test_evaluate_says_conflict_and_the_way_out(tmp_path: Path) -> None:
    prof = tmp_path / "both.yaml"
    prof.write_text(BOTH)
    code, out = _run("evaluate", "--config", "debian_amd64", "--format", "json", str(prof))
    assert code == 1
    (row,) = json.loads(out)["results"]
    first = row["findings"][0]
    assert first["code"] == "conflicting-requirements"
    for part in ("conflict", "o_direct_dax_file needs fsdax", "longterm_pin needs devdax or "
                 "system-ram", "two namespaces on the device, one per mode"):
        assert part in first["message"], part
    assert not any("not given by any candidate" in f["message"] for f in row["findings"])


def test_matrix_carries_the_conflict_for_every_config(tmp_path: Path) -> None:
    prof = tmp_path / "both.yaml"
    prof.write_text(BOTH)
    code, out = _run("matrix", "--format", "json", str(prof))
    rows = json.loads(out)["results"]
    assert code == 0 and rows
    assert all(any(f["code"] == "conflicting-requirements" for f in r["findings"]) for r in rows)
