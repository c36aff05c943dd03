"""Time ``explore``'s enumeration against brute-force kconfiglib enumeration on the same sub-tree.

Brute force: every assignment of the sub-tree's user-settable symbols (each bool: unset, n, y; each
tristate: unset, n, m, y; each choice: unset or one entry of the sub-tree) is set with kconfiglib's
``set_value`` on a fresh state, and the projected values (on/off) are read and deduplicated.

The sub-tree is the longest prefix of ``CANDIDATES`` whose brute force is estimated (from a timed
sample) to finish within ``--budget`` seconds (default 60). Prints both counts, whether the sets are
identical, both times and the ratio, for the explicit enumeration and for the BDD walk
(``policy.symbolic``); then times ``.venv/bin/pmempolicy explore`` on the same sub-tree, with
``--list`` on the default pmem sub-tree and with ``--all`` (the whole shipped tree: counts,
dead options, frontier) with every shipped profile (the console script, start-up included;
``--all``: median of 5 runs against the 1-second target), and compares the BDD count of the
default pmem space with its explicit enumeration.

    .venv/bin/python bench/explore_vs_bruteforce.py [--budget SECONDS] [--symbols A,B,...]
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import kconfiglib  # noqa: E402

from policy import kconfig  # noqa: E402
from policy.space import explore  # noqa: E402

# pmem-relevant user options, roughly from the feature catalog outwards
CANDIDATES = (
    "LIBNVDIMM",
    "BLK_DEV_PMEM",
    "ZONE_DEVICE",
    "FS_DAX",
    "MEMORY_HOTPLUG",
    "MEMORY_HOTREMOVE",
    "TRANSPARENT_HUGEPAGE",
    "NVDIMM_PFN",
    "NVDIMM_DAX",
    "DEV_DAX",
    "DEV_DAX_PMEM",
    "ACPI_NFIT",
    "DEV_DAX_KMEM",
    "BTT",
    "X86_64",
    "ARM64",
    "PPC64",
    "MODULES",
    "PROPOSED_ONDEMAND_PAGES",
    "PROPOSED_PFN_IO",
    "PROPOSED_EXTENT_PAGES",
    "VIRTIO_PMEM",
    "VIRTIO",
    "CXL_BUS",
    "CXL_PMEM",
    "PCI",
)


def _domains(kconf: Any, space: Sequence[str]) -> list[list[tuple[Any, Any]]]:
    plain: list[Any] = []
    choices: dict[Any, list[Any]] = {}
    for name in space:
        sym = kconf.syms[name]
        if sym.choice is not None:
            choices.setdefault(sym.choice, []).append(sym)
        else:
            plain.append(sym)
    out: list[list[tuple[Any, Any]]] = []
    for sym in plain:
        values = ("n", "y") if sym.orig_type is kconfiglib.BOOL else ("n", "m", "y")
        out.append([(sym, None)] + [(sym, v) for v in values])
    for _choice, entries in choices.items():
        out.append([(None, None)] + [(e, "y") for e in entries])
    return out


def assignments(space: Sequence[str]) -> int:
    """How many assignments brute force tries for ``space``."""
    kconf = kconfig.parse_tree()
    return math.prod(len(d) for d in _domains(kconf, space))


def _iter(space: Sequence[str]) -> Iterator[Any]:
    kconf = kconfig.parse_tree()
    domains = _domains(kconf, space)
    kconf.warn = False
    try:
        for combo in itertools.product(*domains):
            kconf.unset_values()
            for sym, value in combo:
                if sym is not None and value is not None:
                    sym.set_value(value)
            yield kconf
    finally:
        kconf.warn = True
        kconf.unset_values()


def brute_force(space: Sequence[str], projection: Sequence[str]) -> set[frozenset[str]]:
    """The distinct projected configurations (sets of on symbols) over every assignment."""
    out: set[frozenset[str]] = set()
    for kconf in _iter(space):
        syms = kconf.syms
        out.add(frozenset(n for n in projection if syms[n].tri_value))
    return out


def brute_force_values(space: Sequence[str]) -> dict[str, set[str]]:
    """Every value each user-settable symbol takes over every assignment (for dead options)."""
    names = kconfig.parse_tree() and explore.encode.settable_symbols(kconfig.parse_tree())
    seen: dict[str, set[str]] = {n: set() for n in names}
    for kconf in _iter(space):
        for n in names:
            seen[n].add(kconf.syms[n].str_value)
    return seen


def projection() -> tuple[str, ...]:
    kconf = kconfig.parse_tree()
    return explore.projection_symbols([s.name for s in kconf.unique_defined_syms])


def pick_space(budget: float) -> tuple[tuple[str, ...], float]:
    """The longest prefix of CANDIDATES whose brute force should take at most ``budget`` s."""
    proj = projection()
    probe = CANDIDATES[:6]
    t = time.perf_counter()
    brute_force(probe, proj)
    per = (time.perf_counter() - t) / assignments(probe)
    chosen: tuple[str, ...] = probe
    for k in range(len(probe), len(CANDIDATES) + 1):
        if assignments(CANDIDATES[:k]) * per <= budget:
            chosen = CANDIDATES[:k]
    return chosen, per


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget", type=float, default=60.0, help="brute-force time budget in seconds")
    ap.add_argument("--symbols", help="use this comma list as the sub-tree instead of searching")
    args = ap.parse_args(argv)
    proj = projection()
    if args.symbols:
        space = tuple(s.strip() for s in args.symbols.split(",") if s.strip())
        per = float("nan")
    else:
        space, per = pick_space(args.budget)
    n = assignments(space)
    print(f"sub-tree: {len(space)} user-settable symbols ({','.join(space)})")
    print(f"brute force: {n} assignments (estimated {n * per:.1f} s at {per * 1e6:.0f} us each)")
    t = time.perf_counter()
    sp = explore.enumerate_space(space)
    t_explore = time.perf_counter() - t
    ours = {c.on for c in sp.configurations}
    t = time.perf_counter()
    theirs = brute_force(space, proj)
    t_brute = time.perf_counter() - t
    print(
        f"explore enumeration: {len(ours)} configurations in {t_explore:.3f} s "
        f"({sp.steps} steps, peak {sp.peak_states} partial configurations)"
    )
    print(f"brute force:         {len(theirs)} configurations in {t_brute:.3f} s")
    print(f"identical sets: {ours == theirs}")
    print(f"speed-up: {t_brute / t_explore:.0f}x")
    from policy.space import symbolic

    kconf = kconfig.parse_tree()
    t = time.perf_counter()
    walk = symbolic.walk(kconf, proj, space)
    t_bdd = time.perf_counter() - t
    bdd_set = {
        frozenset(n for n, on in zip(walk.projection, cfg) if on) for cfg in walk.configurations()
    }
    print(
        f"BDD walk:            {walk.count()} configurations in {t_bdd:.3f} s, identical to brute "
        f"force: {bdd_set == theirs}; speed-up {t_brute / t_bdd:.0f}x"
    )
    ok = ours == theirs and bdd_set == theirs
    exe = ROOT / ".venv" / "bin" / "pmempolicy"
    if exe.exists():
        t = time.perf_counter()
        proc = subprocess.run(
            [str(exe), "explore", "--config-space", ",".join(space)],
            capture_output=True,
            text=True,
            env=dict(os.environ),
        )
        t_cli = time.perf_counter() - t
        print(
            f"pmempolicy explore --config-space <sub-tree> (all shipped profiles): exit "
            f"{proc.returncode} in {t_cli:.2f} s"
        )
        for label, extra, runs in (
            ("--all, the full shipped tree", ["--all"], 5),
            ("--list, every configuration of the pmem sub-tree listed", ["--list"], 1),
        ):
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                proc = subprocess.run(
                    [str(exe), "explore", *extra],
                    capture_output=True,
                    text=True,
                    env=dict(os.environ),
                )
                times.append(time.perf_counter() - t)
                ok = ok and proc.returncode == 0
            took = sorted(times)[len(times) // 2]
            first = (proc.stdout.splitlines()[:1] or proc.stderr.splitlines()[:1] or [""])[0]
            spread = f" (runs {min(times):.2f}-{max(times):.2f} s)" if runs > 1 else ""
            print(
                f"pmempolicy explore ({label}): exit {proc.returncode}, median {took:.2f} s"
                f"{spread}: {first}"
            )
            if extra == ["--all"]:
                front = sum(1 for line in proc.stdout.splitlines() if line.startswith("  set:"))
                print(
                    f"  frontier points: {front}; target under 1 s: "
                    f"{'met' if took < 1.0 else 'MISSED'} (wall; bench/explore_all.py times it "
                    "by CPU against a floor)"
                )
    t = time.perf_counter()
    default = explore.default_space()
    explicit = explore.enumerate_space(default, whole_tree=False)
    t_enum = time.perf_counter() - t
    t = time.perf_counter()
    walk = symbolic.walk(kconf, proj, default)
    t_walk = time.perf_counter() - t
    print(
        f"default pmem space ({len(default)} symbols): enumeration {len(explicit.configurations)} "
        f"configurations in {t_enum:.2f} s, BDD walk {walk.count()} in {t_walk:.3f} s "
        f"({t_enum / t_walk:.0f}x)"
    )
    ok = ok and walk.count() == len(explicit.configurations)
    from policy.space import enumerate as explore_space

    t = time.perf_counter()
    exprs = explore_space.evaluated_expressions(kconfig.parse_tree())
    same = explore_space.expression_values(
        exprs, explore.default_space()
    ) == explore_space.expression_values(exprs)
    print(
        f"default space: every one of {len(exprs)} evaluated expressions takes its whole-tree "
        f"values: {same} ({time.perf_counter() - t:.2f} s)"
    )
    return 0 if ok and same else 1


if __name__ == "__main__":
    sys.exit(main())
