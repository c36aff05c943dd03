"""Real distro configs into the model (``import-config``) and ``listnewconfig``.

The config's header names its kernel (``# Linux/x86 6.12.117 Kernel Configuration``), which
picks the tree it is read into (:func:`policy.kconfig.tree.detect_kernel`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from policy.kconfig import versions
from policy.kconfig.configfile import (
    ConfigInputError,
    check_assignment,
    parse_config_text,
    read_config_text,
)
from policy.kconfig.tree import (
    BuildConfig,
    _display_name,
    _lock,
    apply_file,
    detect_kernel,
    parse_tree,
    reset,
    restore,
    snapshot,
    write_to_text,
)


@dataclass(frozen=True)
class ImportReport:
    """What ``import-config`` found: lines outside the model and values that did not survive."""

    build: BuildConfig
    source: str
    assignments: int
    outside_model: int
    differences: tuple[tuple[str, str, str, int], ...]  # (symbol, file says, model gives, line)


def import_config(src: Path, kernel: Optional[str] = None) -> ImportReport:
    """Read a real distro config (plain, .gz or .xz) into the model.

    The tree is ``kernel``'s when given, else the one of the version the header names (see
    :func:`~policy.kconfig.tree.detect_kernel`). Symbols outside the model are counted and
    ignored; every modeled symbol whose resulting value differs from what the file states is
    listed.
    """
    text = read_config_text(src, allow_compressed=True)
    found = detect_kernel(text, kernel)
    kconf = parse_tree(found.kernel)
    parsed, diags = parse_config_text(text, str(src))
    if diags:
        raise ConfigInputError(diags)
    modeled = [a for a in parsed.assignments if a.name in kconf.syms and kconf.syms[a.name].nodes]
    outside = len(parsed.assignments) - len(modeled)
    problems = [d for d in (check_assignment(kconf, a, str(src)) for a in modeled) if d]
    if problems:
        raise ConfigInputError(problems)
    kept = "".join(
        (
            f"CONFIG_{a.name}={a.raw}\n"
            if a.raw != "is not set"
            else f"# CONFIG_{a.name} is not set\n"
        )
        for a in modeled
    )
    notes = (f"{src}: {found.warning}",) if found.warning else ()
    with _lock:
        reset(kconf)
        apply_file(kconf, kept)
        text_out = write_to_text(kconf)
        build = snapshot(kconf, _display_name(src), str(src), text_out, found.kernel, notes)
    differences = []
    for a in modeled:
        got = build.state(a.name)
        said = a.value
        if said == "n" and got in ("n", "absent"):
            continue
        if got != said:
            differences.append((a.name, said, got, a.line))
    # every modeled symbol, not only those the file assigns: a real kernel writes a line for
    # every symbol that has a value, so no line means n, or absent where the kernel lacks it
    assigned = {a.name for a in parsed.assignments}
    model_only = set(versions.get(found.kernel).model_only)
    for sym in kconf.unique_defined_syms:
        if sym.name in assigned or sym.name.startswith("PROPOSED_") or sym.name in model_only:
            continue
        got = build.state(sym.name)
        if got not in ("n", "absent", ""):
            differences.append((sym.name, "absent", got, 0))
    return ImportReport(build, str(src), len(parsed.assignments), outside, tuple(differences))


def new_symbols(build: BuildConfig) -> list[tuple[str, str]]:
    """``listnewconfig``: visible symbols the config file gives no value for, with defaults."""
    kconf = parse_tree(build.kernel)
    parsed, _ = parse_config_text(build.config_text, build.path or "<config>")
    given = {a.name for a in parsed.assignments}
    out = []
    with _lock:
        restore(build)
        for sym in kconf.unique_defined_syms:
            if sym.visibility and sym.config_string and sym.name not in given:
                out.append((sym.name, sym.str_value))
    return out
