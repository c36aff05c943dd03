"""The default matrix grid, colours, --output, and every command's text within 80 columns."""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from policy.cli import cli
from policy.evaluate import evaluate
from policy.report.grid import GridReporter
from policy.report.style import TextStyle, fit_lines

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), standalone_mode=False, catch_exceptions=False,
                                env=env)
    code = result.return_value if isinstance(result.return_value, int) else result.exit_code
    return code, result.output


def widest(text: str) -> int:
    return max((len(ANSI.sub("", line)) for line in text.splitlines()), default=0)


def test_default_matrix_is_a_grid_of_every_configuration_and_device() -> None:
    code, out = run("matrix")
    result = evaluate()
    assert code == 0 and widest(out) <= 80
    blocks = [b for b in out.split("\n\n") if b.startswith("CONFIG")]
    assert len(blocks) > 1  # 9 devices do not fit 80 columns in one block
    seen = set()
    for block in blocks:
        lines = block.splitlines()
        assert len(lines) == 1 + len(result.configs)
        seen.update(lines[0].split()[1:])
    assert seen == set(result.devices)
    assert "devdax dev 1G ✓" in out and "raw - 4K !" in out and "none ✗" in out
    assert "legend:" in out and "option1b_ondemand" in out  # never cut silently
    assert "\x1b[" not in out  # no colour on a pipe


def test_grid_shortens_names_with_a_legend_and_fits_a_narrow_width(tmp_path: Path) -> None:
    long = "a-device-name-far-too-long-for-one-column"
    (tmp_path / "p.yaml").write_text(
        "apiVersion: pmempolicy/v1\nkind: DeviceProfile\nmetadata: {name: " + long + "}\n"
        "spec:\n  device: {type: nvdimm, size: 64GiB}\n")
    result = evaluate(["debian_amd64", "option1b_ondemand"], [tmp_path])
    buf = io.StringIO()
    GridReporter(TextStyle(width=50)).report(result, buf)
    out = buf.getvalue()
    assert widest(out) <= 50
    assert "a-device-name-f… =" in out and long in out  # the legend maps it back


def test_details_is_the_per_device_text() -> None:
    for flag in ("--details", "-v"):
        code, out = run("matrix", flag, "--config", "debian_amd64")
        assert code == 0 and out.startswith("CONFIG       DEVICE")
        assert "features:" in out and widest(out) <= 80


def test_colour_only_when_asked_or_on_a_terminal() -> None:
    _, out = run("matrix", "--color", "always", "--config", "debian_arm64")
    assert "\x1b[32m" in out or "\x1b[33m" in out
    assert "\x1b[31m" in ANSI.sub("", out) or "\x1b[31m" in out  # impossible: red
    _, out = run("matrix", "--color", "never")
    assert "\x1b[" not in out
    _, out = run("matrix", "--config", "debian_amd64", env={"NO_COLOR": "1"})
    assert "\x1b[" not in out


def test_output_file_keeps_the_text_log_on_stdout(tmp_path: Path) -> None:
    target = tmp_path / "m.json"
    code, out = run("matrix", "--format", "json", "-o", str(target))
    assert code == 0 and json.loads(target.read_text())["schema_version"] == 1
    assert out.startswith("CONFIG") and "legend:" in out
    code, out = run("evaluate", "--config", "debian_amd64", "--format", "csv",
                    "--output", str(tmp_path / "e.csv"))
    assert (tmp_path / "e.csv").read_text().startswith("config,device")
    code, out = run("matrix", "--format", "json", "--output", "-", "--config", "debian_amd64")
    assert json.loads(out)["configs"] == ["debian_amd64"]
    sarif = tmp_path / "v.sarif"
    code, out = run("validate", "profiles", "--format", "sarif", "-o", str(sarif))
    assert code == 0 and json.loads(sarif.read_text())["version"] == "2.1.0"
    assert "files checked" in out
    code, _ = run("validate", "profiles", "--format", "junit", "-o", str(tmp_path / "j.xml"))
    assert (tmp_path / "j.xml").read_text().startswith("<?xml")


@pytest.mark.parametrize("args", [
    ("matrix",), ("matrix", "--details"), ("evaluate",), ("validate", "profiles"),
    ("explain", "longterm_pin", "--device", "db01-pmem0"),
    ("explain", "longterm_pin", "--device", "ws01-pmem0"),
    ("explore",), ("explore", "--list"),
    ("solve", "--require", "longterm_pin"), ("solve", "--require", "dax_mmap"),
    ("solve", "--from", "tests/data/debian-6.12/config.amd64_rt_amd64.xz"),
    ("solve", "--from", "tests/data/debian-6.12/config.arm64_none_arm64.xz"),
    ("explore", "--from", "tests/data/debian-6.12/config.arm64_none_arm64.xz"),
], ids=" ".join)
def test_every_command_text_fits_80_columns(args: tuple[str, ...], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(root)
    if args[0] == "solve":
        args += ("-o", str(tmp_path / "config"))
    _, out = run(*args)
    assert out.strip() and widest(out) <= 80


def test_fit_lines_wraps_and_keeps_every_word() -> None:
    text = "  why: " + " ".join(f"WORD{i}" for i in range(40)) + " " + "X" * 120
    out = fit_lines(text, 60)
    assert widest(out) <= 60
    assert out.split() == text.split() or "".join(out.split()) == "".join(text.split())
    assert all(line.startswith("  ") for line in out.splitlines())


def test_matrix_does_not_import_matplotlib() -> None:
    code = ("import sys\nfrom policy.cli import main\nmain(['matrix'])\n"
            "sys.stderr.write('MPL=' + str('matplotlib' in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert "MPL=False" in done.stderr
