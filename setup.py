"""Build hook: copy the Kconfig tree, defconfigs and profiles into the package.

The root ``Kconfig``, ``kconfig/``, ``configs/`` and ``profiles/`` are the source of truth in a
checkout; an installed wheel must carry them inside ``policy/_data`` so that ``pmempolicy`` finds
them from any directory without environment variables.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SHIPPED = ("Kconfig", "kconfig", "configs", "profiles", "kernels")


class BuildPyWithData(build_py):
    """Copy the shipped data into ``policy/_data`` of the build tree."""

    def run(self) -> None:
        super().run()
        dest = Path(self.build_lib) / "policy" / "_data"
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for name in SHIPPED:
            src = HERE / name
            if src.is_dir():
                shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("*.old", ".*"))
            elif src.is_file():
                shutil.copy2(src, dest / name)


setup(cmdclass={"build_py": BuildPyWithData})
