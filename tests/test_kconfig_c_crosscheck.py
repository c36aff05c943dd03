"""Cross-check kconfiglib against the C Kconfig tool on pmempolicy's tree.

For alldefconfig, allnoconfig, allyesconfig, allmodconfig, every shipped defconfig, both real
Debian configs and 60 seeded random configurations, the olddefconfig step is run both by
kconfiglib 14.1.0 and by Debian's ``kconfig-conf`` 4.11 (package kconfig-frontends-nox), and the
resulting .config files must be identical, ignoring comment lines other than
``# CONFIG_X is not set`` (headers, menu titles and kconfiglib's ``# end of`` lines).

How the C tool is run: ``cd <tree root> && KCONFIG_CONFIG=<file> kconfig-conf --olddefconfig
Kconfig``. It opens sourced files relative to the current directory, then under ``$srctree``;
``KCONFIG_ALLCONFIG`` is removed from the environment so allno/allyes/allmod start from nothing
(with it set, 4.11 would also read ``allno.config``/``all.config``).
"""
from __future__ import annotations

import difflib
import os
import random
import shutil
import subprocess
from pathlib import Path

import kconfiglib
import pytest
from test_kconfig_tree import (
    CONFIGS,
    DEBIAN,
    RECIPES,
    ROOT,
    config_lines,
    debian_config,
    load_config,
    load_tree,
)

KCONFIG_CONF = Path("/usr/bin/kconfig-conf")
RANDOM_SEEDS = range(60)

pytestmark = pytest.mark.skipif(
    not KCONFIG_CONF.exists(),
    reason="/usr/bin/kconfig-conf (Debian package kconfig-frontends-nox) is not installed; "
    "CI installs it",
)


def _c_env(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KCONFIG_")}
    env["KCONFIG_CONFIG"] = str(config)
    env["srctree"] = str(ROOT)
    return env


def c_conf(mode: str, config: Path) -> str:
    """Run kconfig-conf --<mode> on the tree; return the .config text it wrote."""
    result = subprocess.run(
        [str(KCONFIG_CONF), "-s", f"--{mode}", "Kconfig"],
        cwd=ROOT,
        env=_c_env(config),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"kconfig-conf --{mode} failed:\n{result.stdout}{result.stderr}"
    return config.read_text()


def py_olddefconfig(src: Path, dest: Path) -> str:
    kconf = load_tree()
    kconf.warn_assign_undef = False
    load_config(kconf, src)
    kconf.write_config(str(dest))
    return dest.read_text()


def assert_same(c_text: str, py_text: str, what: str) -> None:
    c_lines, py_lines = config_lines(c_text), config_lines(py_text)
    assert c_lines, f"{what}: C tool wrote no config lines"
    if c_lines != py_lines:
        diff = "\n".join(
            difflib.unified_diff(c_lines, py_lines, "kconfig-conf", "kconfiglib", lineterm="", n=1)
        )
        pytest.fail(f"{what}: kconfig-conf and kconfiglib disagree\n{diff}")


# --------------------------------------------------------------------------- all*config


def _py_all(mode: str) -> kconfiglib.Kconfig:
    """kconfiglib's allnoconfig.py / allyesconfig.py / allmodconfig.py logic."""
    kconf = load_tree()
    kconf.warn = False
    if mode == "alldefconfig":
        pass
    elif mode == "allnoconfig":
        for sym in kconf.unique_defined_syms:
            sym.set_value(2 if sym.is_allnoconfig_y else 0)
    elif mode == "allyesconfig":
        for sym in kconf.unique_defined_syms:
            sym.set_value(1 if sym.choice else 2)
        for choice in kconf.unique_choices:
            choice.set_value(2)
    elif mode == "allmodconfig":
        for sym in kconf.unique_defined_syms:
            if sym.orig_type is kconfiglib.BOOL:
                if not sym.choice:
                    sym.set_value(2)
            elif sym.orig_type is kconfiglib.TRISTATE:
                sym.set_value(1)
        for choice in kconf.unique_choices:
            choice.set_value(2 if choice.orig_type is kconfiglib.BOOL else 1)
    else:
        raise ValueError(mode)
    kconf.warn = True
    return kconf


@pytest.mark.parametrize("mode", ["alldefconfig", "allnoconfig", "allyesconfig", "allmodconfig"])
def test_all_configs_agree(mode: str, tmp_path: Path) -> None:
    c_text = c_conf(mode, tmp_path / "c.config")
    kconf = _py_all(mode)
    kconf.write_config(str(tmp_path / "py.config"))
    assert_same(c_text, (tmp_path / "py.config").read_text(), mode)
    # And the result is stable under olddefconfig in both tools.
    shutil.copy(tmp_path / "c.config", tmp_path / "c2.config")
    assert_same(
        c_conf("olddefconfig", tmp_path / "c2.config"),
        py_olddefconfig(tmp_path / "py.config", tmp_path / "py2.config"),
        f"{mode} + olddefconfig",
    )


# --------------------------------------------------------------------------- real inputs


def _olddefconfig_both(src: Path, tmp: Path, what: str) -> None:
    c_cfg = tmp / "c.config"
    shutil.copy(src, c_cfg)
    assert_same(c_conf("olddefconfig", c_cfg), py_olddefconfig(src, tmp / "py.config"), what)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_shipped_defconfigs_agree(name: str, tmp_path: Path) -> None:
    _olddefconfig_both(CONFIGS / f"{name}_defconfig", tmp_path, f"{name}_defconfig")


@pytest.mark.parametrize("arch", sorted(DEBIAN))
def test_debian_configs_agree(arch: str, tmp_path: Path) -> None:
    _olddefconfig_both(debian_config(arch, tmp_path), tmp_path, f"Debian {arch}")


# --------------------------------------------------------------------------- random configs


def random_config(seed: int, dest: Path) -> Path:
    """Seeded random values for the visible symbols, assigned in menu order via kconfiglib.

    Even seeds walk the menu tree once, so later assignments see earlier ones (like a user in
    menuconfig). Odd seeds also write ``# CONFIG_X is not set``/``=m`` lines for symbols that
    ended up invisible (raw user values neither tool may honour) to exercise the loaders.
    """
    rnd = random.Random(seed)
    kconf = load_tree()
    kconf.warn = False
    for node in kconf.node_iter():
        item = node.item
        if isinstance(item, kconfiglib.Choice) and item.visibility:
            candidates = [s for s in item.syms if s.visibility]
            if candidates:
                rnd.choice(candidates).set_value(2)
        elif (
            isinstance(item, kconfiglib.Symbol)
            and node.prompt
            and not item.choice
            and item.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE)
            and item.visibility
            and item.assignable
        ):
            item.set_value(rnd.choice(item.assignable))
    kconf.write_config(str(dest), header="")
    if seed % 2:
        extra = []
        for sym in kconf.unique_defined_syms:
            if (
                not sym.config_string
                and not sym.choice
                and any(n.prompt for n in sym.nodes)
                and sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE)
            ):
                value = rnd.choice(
                    ["y", "n"] if sym.orig_type is kconfiglib.BOOL else ["y", "m", "n"]
                )
                extra.append(
                    f"# CONFIG_{sym.name} is not set"
                    if value == "n"
                    else f"CONFIG_{sym.name}={value}"
                )
        with dest.open("a") as f:
            f.write("\n".join(extra) + "\n")
    return dest


@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_configs_agree(seed: int, tmp_path: Path) -> None:
    src = random_config(seed, tmp_path / "random.config")
    _olddefconfig_both(src, tmp_path, f"random seed {seed}")


def test_random_configs_cover_every_architecture(tmp_path: Path) -> None:
    arches = set()
    for seed in RANDOM_SEEDS:
        text = random_config(seed, tmp_path / f"r{seed}").read_text()
        arches |= {a for a in ("X86_64", "ARM64", "PPC64") if f"CONFIG_{a}=y" in text}
    assert arches == {"X86_64", "ARM64", "PPC64"}


def test_c_tool_leaves_the_tree_alone(tmp_path: Path) -> None:
    before = sorted(p.relative_to(ROOT) for p in ROOT.iterdir())
    c_conf("alldefconfig", tmp_path / "c.config")
    after = sorted(p.relative_to(ROOT) for p in ROOT.iterdir())
    assert before == after
