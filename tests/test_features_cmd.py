"""``pmempolicy features``: the catalog is discoverable, and docs/features.md is its output."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from policy.cli import cli
from policy.decide.catalog import feature_names

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, ["features", *args], standalone_mode=False)
    assert result.exception is None and result.return_value == 0, result.output
    return result.stdout


def test_json_lists_every_catalog_feature_with_its_modes() -> None:
    doc = json.loads(_run("--format", "json"))
    assert doc["schema_version"] == 1
    assert {f["name"] for f in doc["features"]} == set(feature_names())
    pin = next(f for f in doc["features"] if f["name"] == "longterm_pin")
    assert [g["modes"] for g in pin["given_by"]] == [["devdax", "system-ram"]]
    assert pin["build"] and "mm/gup.c" in pin["source"] and pin["summary"]


def test_table_fits_80_columns_and_query() -> None:
    text = _run()
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "o_direct_dax_file: " in text and "given by: fsdax" in text
    assert json.loads(_run("--query", "features[?name=='pud_faults'].given_by[].aligns[]")) \
        == [1073741824]


def test_docs_features_md_is_the_command_output() -> None:
    assert (ROOT / "docs" / "features.md").read_text() == _run("--format", "markdown"), (
        "regenerate: pmempolicy features --format markdown > docs/features.md")


def test_schema_points_to_the_features_command() -> None:
    text = (ROOT / "policy" / "data" / "profile.schema.json").read_text()
    assert "pmempolicy features lists them" in text and "pmempolicy explain lists" not in text
