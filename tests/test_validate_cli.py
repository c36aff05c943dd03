"""``pmempolicy validate`` and ``schema`` end to end: real files, every format, exit codes."""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from policy.cli import main
from policy.profiles import load_profiles
from policy.report.diagnostics import REPORTERS, report

CORPUS = Path(__file__).parent / "data" / "profiles"
SHIPPED = Path(__file__).resolve().parent.parent / "profiles"
ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    with runner.isolation(input=stdin) as (out, err, _):
        code = main(list(args))
    return int(code), out.getvalue().decode(), err.getvalue().decode()


def test_valid_directory_exits_0() -> None:
    code, out, _ = run("validate", "--strict", str(SHIPPED), str(CORPUS / "valid"))
    assert code == 0
    assert out.endswith(
        "14 files checked: 14 valid, 0 invalid (0 error(s), 0 warning(s), strict)\n"
    )


def test_findings_exit_1_and_report_every_problem() -> None:
    code, out, _ = run("validate", str(CORPUS / "invalid" / "device-schema.yaml"),
                       str(CORPUS / "invalid" / "norway.yaml"))
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 13
    assert lines[0].startswith(f"{CORPUS}/invalid/device-schema.yaml:3:18: error: 'Bad_Name'")
    assert lines[-2].endswith("(at $.spec.device.numa_node) [schema-type]")


def test_warnings_fail_only_with_strict() -> None:
    path = str(CORPUS / "invalid" / "align-waste.yaml")
    assert run("validate", path)[0] == 0
    code, out, _ = run("validate", "--strict", path)
    assert code == 1 and "1 GiB of the 400 GiB device is lost" in out


def test_usage_errors_exit_2() -> None:
    code, _, err = run("validate", "/nonexistent/profile.yaml")
    assert code == 2 and "no such file" in err
    assert run("validate")[0] == 2
    assert run("validate", "--format", "xml", str(SHIPPED))[0] == 2


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").mkdir()
    (tmp_path / "d.yaml" / "ok.yaml").write_bytes((CORPUS / "valid" / "minimal.yaml").read_bytes())
    code, out, _ = run("validate", str(tmp_path / "d.yaml"), str(tmp_path / "d.yaml" / "ok.yaml"))
    assert code == 0  # a directory argument recurses
    from policy.cli.profile_cmds import ValidateSettings, run_validate

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("policy.profiles.profile.expand_paths", lambda paths: [tmp_path / "d.yaml"])
        out_stream = io.StringIO()
        mp.setattr(sys, "stdout", out_stream)
        assert run_validate(ValidateSettings(("x",), "text", False)) == 2
    assert "is a directory" in out_stream.getvalue()


def test_stdin() -> None:
    data = (CORPUS / "invalid" / "norway.yaml").read_bytes()
    code, out, _ = run("validate", "-", stdin=data)
    assert code == 1 and out.startswith(
        "<stdin>:5:49: error: expected an integer, got the string 'no'"
    )


def _result_for_formats():  # type: ignore[no-untyped-def]
    return load_profiles([CORPUS / "invalid" / "pin-rules.yaml", SHIPPED / "db-400g-odirect.yaml",
                          CORPUS / "invalid" / "empty.yaml"])


def test_json_format() -> None:
    code, out, _ = run("validate", "--format", "json", str(CORPUS / "invalid" / "pin-rules.yaml"),
                       str(SHIPPED / "db-400g-odirect.yaml"))
    assert code == 1
    doc = json.loads(out)
    assert doc["schema_version"] == 1 and doc["ok"] is False and doc["verdict"] == "invalid"
    assert doc["summary"] == {
        "files": 2,
        "valid": 1,
        "invalid": 1,
        "errors": 5,
        "warnings": 4,  # decimal-unit, two region-align (8 MiB, 8 GB), fsdax align=1G unwise
        "devices": 1,
    }
    first, second = doc["files"]
    assert (first["ok"], first["verdict"], second["verdict"], second["devices"]) == (
        False, "invalid", "valid", ["db01-pmem0"])
    assert first["diagnostics"][0] == {
        "severity": "error",
        "code": "pin-align",
        "path": str(CORPUS / "invalid" / "pin-rules.yaml"),
        "line": 8,
        "col": 31,
        "json_path": "$.spec.devices[0].pin.align",
        "message": "align applies only to fsdax, devdax and system-ram, not to mode raw",
    }


def test_github_format() -> None:
    out = io.StringIO()
    report(_result_for_formats(), out, "github")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(
        f"::error file={CORPUS}/invalid/pin-rules.yaml,line=8,col=31,"
        "title=pmempolicy pin-align::align applies only"
    )
    assert any(line.startswith("::warning ") and "decimal-unit" in line for line in lines)
    empty = f"::error file={CORPUS}/invalid/empty.yaml,title=pmempolicy empty::empty file%3A"
    assert lines[-1] == empty.replace("%3A", ":") + " expected one YAML document"


def test_junit_format() -> None:
    out = io.StringIO()
    report(_result_for_formats(), out, "junit", strict=True)
    suite = ET.fromstring(out.getvalue().split("\n", 1)[1])
    assert suite.get("tests") == "3" and suite.get("failures") == "2"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [str(CORPUS / "invalid" / "pin-rules.yaml"),
                                              str(SHIPPED / "db-400g-odirect.yaml"),
                                              str(CORPUS / "invalid" / "empty.yaml")]
    assert cases[0].find("failure") is not None and cases[1].find("failure") is None
    assert "[empty]" in (cases[2].find("failure").text or "")  # type: ignore[union-attr]


def test_sarif_format() -> None:
    out = io.StringIO()
    report(_result_for_formats(), out, "sarif")
    doc = json.loads(out.getvalue())
    assert doc["version"] == "2.1.0"
    run_ = doc["runs"][0]
    rules = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    first = run_["results"][0]
    assert rules[first["ruleIndex"]] == first["ruleId"] == "pin-align"
    assert first["level"] == "error"
    assert first["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 8,
        "startColumn": 31,
    }
    levels = {r["ruleId"]: r["level"] for r in run_["results"]}
    assert levels["decimal-unit"] == "warning"
    empty = run_["results"][-1]["locations"][0]["physicalLocation"]
    assert "region" not in empty


@pytest.mark.parametrize("fmt", sorted(REPORTERS))
@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_profile_in_every_format(fmt: str, path: Path) -> None:
    code, out, _ = run("validate", "--strict", "--format", fmt, str(path))
    assert code == 0 and (out or fmt == "github")  # no annotations for a clean file


@pytest.mark.parametrize("fmt", sorted(REPORTERS))
def test_every_format_on_the_invalid_corpus(fmt: str) -> None:
    code, out, _ = run("validate", "--format", fmt, str(CORPUS / "invalid"))
    assert code == 1
    if fmt in ("json", "sarif"):
        json.loads(out)


def test_schema_command_prints_the_schema() -> None:
    code, out, _ = run("schema")
    assert code == 0
    assert json.loads(out)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_validate_does_not_import_jsonschema() -> None:
    probe = ("import sys; from policy.cli import main; main(['validate', sys.argv[1]]); "
             "print('jsonschema' in sys.modules, 'kconfiglib' in sys.modules)")
    proc = subprocess.run(
        [sys.executable, "-c", probe.replace("main([", "code = main(["), str(SHIPPED)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.stdout.splitlines()[-1] == "False False"


def test_pre_commit_hook_definition() -> None:
    import yaml

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "pmempolicy-validate" and hook["entry"].startswith("pmempolicy validate")
    assert hook["language"] == "python"
    files = re.compile(hook["files"])
    assert files.search("profiles/db.yaml") and files.search("deploy/profiles/a/b.yml")
    assert not files.search(".github/workflows/ci.yaml") and not files.search("compose.yaml")
    # the documented rev is a commit SHA (the repository has no release tag to pin)
    doc = (ROOT / "docs" / "profiles.md").read_text()
    revs = re.findall(r"^\s*rev: (\S+)", doc, re.M)
    assert revs and all(re.fullmatch(r"[0-9a-f]{40}", r) for r in revs), revs
    assert "pre-commit autoupdate" in doc
