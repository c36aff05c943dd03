"""evaluate / matrix / explain through the real CLI on the shipped tree, defconfigs and profiles."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from policy import kconfig
from policy.cli import cli, main
from policy.resources import data_file, profiles_dir

SCHEMA = json.loads(data_file("matrix.schema.json").read_text())


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), standalone_mode=False, catch_exceptions=False)
    code = result.return_value if isinstance(result.return_value, int) else result.exit_code
    return code, result.output


def shipped_profile_names() -> set[str]:
    from policy.profiles import load_profiles

    return {d.name for d in load_profiles([profiles_dir()]).devices}


def test_matrix_default_is_every_defconfig_times_every_profile() -> None:
    code, out = run("matrix", "--format", "json")
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    configs = {kconfig.shipped_name(p) for p in kconfig.shipped_defconfigs()}  # NAME@6.12 too
    assert set(doc["configs"]) == configs
    pairs = {(r["config"], r["device"]) for r in doc["results"]}
    assert pairs == {(c, d) for c in configs for d in shipped_profile_names()}
    assert code == 0  # the matrix is a report: findings are cells, not a failure
    assert doc["schema_version"] == 1 and doc["verdict"] in ("ok", "findings")
    assert not doc["ok"]  # arm64 and RT builds cannot meet every shipped profile
    assert run("matrix", "--format", "json", "--fail-on-findings")[0] == 1
    # debian_amd64 on 6.1 has no CXL RAM regions (profiles/cxl-ram-expander.yaml)
    assert run("matrix", "--fail-on-findings", "--config", "debian_amd64@6.12")[0] == 0


def test_json_result_fields() -> None:
    _, out = run("matrix", "--format", "json", "--config", "debian_amd64")
    row = json.loads(out)["results"][0]
    for key in ("config", "device", "ok"):
        assert key in row
    for key in ("mode", "map", "align", "reason"):
        assert key in row["decision"]
    for key in ("size_bytes", "usable_bytes", "capacity_lost_bytes", "dram_memmap_bytes"):
        assert isinstance(row["costs"][key], int) and row["costs"][key] >= 0
    assert all(isinstance(v["enabled"], bool) and v["why"] for v in row["features"].values())


def test_table_fits_80_columns_and_csv_parses() -> None:
    _, out = run("matrix")
    assert max(len(line) for line in out.splitlines()) <= 80
    _, out = run("evaluate", "--config", "debian_amd64")
    assert max(len(line) for line in out.splitlines()) <= 80
    _, out = run("matrix", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and {"config", "device", "ok", "verdict", "mode", "feature:longterm_pin"} <= set(
        rows[0]
    )


def test_query_jmespath() -> None:
    _, out = run(
        "matrix",
        "--config",
        "debian_amd64",
        "--query",
        "results[?device=='ws01-pmem0'].costs.dram_memmap_bytes",
    )
    assert json.loads(out) == [128 * 2**20]  # 8 GiB fsdax map=mem: 128 MiB of memmap
    assert main(["matrix", "--query", "results[?"]) == 2


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_every_shipped_profile_in_every_format(fmt: str) -> None:
    code, out = run("evaluate", "--config", "debian_amd64", "--format", fmt, str(profiles_dir()))
    assert code in (0, 1) and out


def test_evaluate_exit_codes(tmp_path: Path) -> None:
    ok = tmp_path / "ok.yaml"
    ok.write_text("apiVersion: pmempolicy/v1\nkind: DeviceProfile\nmetadata: {name: rdma}\n"
                  "spec:\n  device: {type: nvdimm, size: 64GiB}\n  requires: [longterm_pin]\n")
    code, out = run("evaluate", "--config", "debian_amd64", str(ok))
    assert code == 0 and "devdax" in out
    code, out = run("evaluate", "--config", "debian_arm64", str(ok))
    assert code == 1 and "ZONE_DEVICE" in out


def test_explain() -> None:
    names = sorted(shipped_profile_names())
    code, out = run("explain", "longterm_pin", "--device", names[0], "--config", "debian_arm64")
    assert code == 0 and "longterm_pin" in out and ("ZONE_DEVICE" in out or "is on" in out)
    assert main(["explain", "nope", "--device", names[0]]) == 2
