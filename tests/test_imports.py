"""Each command imports what it uses and nothing else.

The console script's code (``from policy.cli import main; main()``) runs in a fresh interpreter
under ``python -X importtime``, which lists every module the process imports, lazy ones included.
Start-up time is mostly imports (click ~20 ms, jsonschema ~50 ms, kconfiglib, dd, matplotlib
more), so a module a command does not need is time every run of it pays.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROFILE = str(ROOT / "profiles" / "host-512g.yaml")
DEFCONFIG = str(ROOT / "configs" / "debian_amd64_defconfig")

# third-party packages only some commands need
HEAVY = frozenset({
    "click", "yaml", "kconfiglib", "jsonschema", "dd", "matplotlib", "numpy", "jmespath",
    "importlib.metadata",
})


def imported(tmp_path: Path, *args: str) -> set[str]:
    """Every module ``pmempolicy ARGS`` imports (top-level packages and ``policy`` modules)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c",
         "import sys; from policy.cli import main; main()", *args],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    names: set[str] = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name)
    assert "policy.cli" in names  # the listing is read
    return names


def _policy_stages(names: set[str]) -> set[str]:
    return {".".join(n.split(".")[:2]) for n in names if n.startswith("policy.")}


def test_version_imports_only_the_entry_point(tmp_path: Path) -> None:
    names = imported(tmp_path, "--version")
    assert not names & HEAVY, sorted(names & HEAVY)
    assert {n for n in names if n.startswith("policy")} == {"policy", "policy.cli"}
    assert "typing" not in names


def test_validate_reads_profiles_without_the_kernel_model(tmp_path: Path) -> None:
    names = imported(tmp_path, "validate", PROFILE)
    assert {"click", "yaml"} <= names
    assert not names & (HEAVY - {"click", "yaml"}), sorted(names & HEAVY)
    assert _policy_stages(names) <= {  # the foundation, profiles, the CLI and its reporters
        "policy.atomic", "policy.cli", "policy.errors", "policy.profiles", "policy.report",
        "policy.resources", "policy.units",
    }, sorted(_policy_stages(names))
    assert not any(n.startswith("policy.report.") and n != "policy.report.diagnostics"
                   for n in names)


def test_get_reads_the_tree_without_profiles(tmp_path: Path) -> None:
    names = imported(tmp_path, "get", "FS_DAX", "--config", DEFCONFIG)
    assert {"click", "kconfiglib"} <= names
    assert not names & (HEAVY - {"click", "kconfiglib"}), sorted(names & HEAVY)
    assert not _policy_stages(names) & {"policy.profiles", "policy.decide", "policy.space"}


def test_matrix_without_schema_checker_bdds_charts_or_queries(tmp_path: Path) -> None:
    names = imported(tmp_path, "matrix")
    assert {"click", "yaml", "kconfiglib"} <= names
    assert not names & {"jsonschema", "dd", "matplotlib", "numpy", "jmespath",
                        "importlib.metadata"}, sorted(names & HEAVY)
    assert not _policy_stages(names) & {"policy.space", "policy.fleet", "policy.ndctl"}
    assert "multiprocessing" not in names


def test_query_imports_jmespath_when_asked(tmp_path: Path) -> None:
    names = imported(tmp_path, "matrix", "--query", "results[0].device")
    assert "jmespath" in names


@pytest.mark.parametrize("args", [("explore", "--all"), ("solve", "--require", "dax_mmap")])
def test_explore_and_solve_without_charts_or_schema_checker(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    names = imported(tmp_path, *args)
    assert {"click", "kconfiglib", "dd"} <= names
    assert not names & {"jsonschema", "matplotlib", "numpy", "jmespath", "importlib.metadata"}, (
        sorted(names & HEAVY))
    assert "multiprocessing" not in names  # only listing decides in worker processes
    assert "policy.fleet" not in _policy_stages(names)
