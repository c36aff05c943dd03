"""Static checks of the code itself: mypy (strict, setup.cfg ``[mypy]``) and ruff (ruff.toml)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.static


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, check=False)


def _policy_modules() -> list[str]:
    found = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "policy").rglob("*.py"))
    return [m for m in found if not m.startswith("policy/_data/")]


def test_mypy_strict_is_clean() -> None:
    # --cache-dir=/dev/null: a fresh check that writes no cache into the checkout
    proc = _run([sys.executable, "-m", "mypy", "--cache-dir=/dev/null", *_policy_modules()])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_is_clean() -> None:
    ruff = BIN / "ruff"
    assert ruff.exists(), f"no ruff next to {sys.executable}: pip install -e '.[test]'"
    proc = _run([str(ruff), "check", "--no-cache", "--output-format", "concise",
                 "policy", "tests", "tools", "bench"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
