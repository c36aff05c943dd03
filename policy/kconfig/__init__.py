"""Stage 1, the build: the Kconfig tree and ``.config`` files in, a :class:`BuildConfig` out.

Contract: ``load_build(path) -> BuildConfig`` (every symbol's value, expressions and why-off
chains over a frozen snapshot); the config targets (olddefconfig, set, import-config, menuconfig)
on top of kconfiglib. Imports only the foundation (``policy.errors``, ``policy.resources``,
``policy.atomic``, ``policy.units``).

Modules: ``tree`` (the kconfiglib wrapper), ``configfile`` (reading ``.config`` text),
``expr`` (expressions and chains over a snapshot), ``chain`` (one located link of a chain),
``sources`` (what ``--config`` accepts: our configs, distro configs, ``.gz``/``.xz``),
``versions`` (the modelled kernels as data), ``importing`` (distro configs in).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from policy.kconfig.configfile import (
        ConfigInputError,
        ConfigLine,
        check_assignment,
        parse_config_text,
        read_config_text,
    )
    from policy.kconfig.importing import ImportReport, import_config, new_symbols
    from policy.kconfig.menuconfig import run_menuconfig
    from policy.kconfig.tree import (
        BuildConfig,
        SetResult,
        allno,
        allyes,
        choice_alternatives,
        defaults,
        detect_kernel,
        find_defconfig,
        iter_symbols,
        load_build,
        load_text,
        parse_tree,
        render_config,
        restore,
        set_values,
        shipped_builds,
        shipped_defconfigs,
        shipped_name,
        snapshot,
        tree_root_of,
    )

# where each name of the package's API lives: loaded on first use, so that importing one
# submodule (``from policy.kconfig import versions``: the decision engine's version rules) does
# not load the config readers, compressors, menuconfig and importer with it
_HOME = {
    **dict.fromkeys(("ConfigInputError", "ConfigLine", "check_assignment", "parse_config_text",
                     "read_config_text"), "configfile"),
    **dict.fromkeys(("ImportReport", "import_config", "new_symbols"), "importing"),
    "run_menuconfig": "menuconfig",
    **dict.fromkeys(("BuildConfig", "SetResult", "allno", "allyes", "choice_alternatives",
                     "defaults", "detect_kernel", "find_defconfig", "iter_symbols", "load_build",
                     "load_text", "parse_tree", "render_config", "restore", "set_values",
                     "shipped_builds", "shipped_defconfigs", "shipped_name", "snapshot",
                     "tree_root_of"), "tree"),
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value

__all__ = [
    "BuildConfig", "ConfigInputError", "ConfigLine", "ImportReport", "SetResult", "allno",
    "allyes", "check_assignment", "choice_alternatives", "defaults", "detect_kernel",
    "find_defconfig",
    "import_config", "iter_symbols", "load_build", "load_text", "new_symbols",
    "parse_config_text", "parse_tree", "read_config_text", "render_config", "restore",
    "run_menuconfig", "set_values", "shipped_builds", "shipped_defconfigs", "shipped_name",
    "snapshot",
    "tree_root_of",
]
