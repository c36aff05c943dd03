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
