"""Fixtures shared by the test modules."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture()
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory with no ``KCONFIG_CONFIG``: ``.config`` means ``./.config``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KCONFIG_CONFIG", raising=False)
    return tmp_path


@pytest.fixture(autouse=True)
def no_running_kernel_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands that default to the running kernel's config find none: the tests' results must
    not depend on the machine's /proc/config.gz (tests of that default set it to a file)."""
    monkeypatch.setenv("PMEMPOLICY_RUNNING_CONFIG", "")
