"""Every command has help text and is documented in the README; the README's commands are CI's."""
from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from policy.cli import COMMANDS, LazyGroup, cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_loads_has_help_and_is_in_the_readme(name: str) -> None:
    command = LazyGroup._load(name)
    assert command is not None, f"{name}: registered but its module is missing"
    assert command.help and command.help.strip(), f"{name}: no help text"
    assert re.search(rf"`pmempolicy [^`]*\b{re.escape(name)}\b", README), (
        f"{name}: not in README.md"
    )
    ctx = click.Context(cli, info_name="pmempolicy")
    assert "Show this message and exit" in command.get_help(click.Context(command, parent=ctx))


def test_readme_starts_with_the_two_commands_and_ci_runs_them() -> None:
    block = README.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(block) == 2
    setup, tests = block
    assert "pip install" in setup and setup.endswith("pmempolicy matrix")
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines(), "CI must run the README's test command"
    assert "python3 -m venv .venv" in ci and ".venv/bin/pip install" in ci


def test_readme_python_example_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code = README.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("debian_amd64 db01-pmem0 True fsdax")
    assert any(line.startswith("debian_arm64 db01-pmem0 False") for line in out)
    assert any("unmet-requirement" in line and "ZONE_DEVICE" in line for line in out)
