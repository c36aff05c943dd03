"""``solve --from`` on every Debian config of tests/data: the counted fewest change (BDDs, then
kconfiglib and ``decide``) against the chains' search alone, and brute force over single changes.

For each config and each profile set (the shipped profiles; tests/data/solve-from's p2pdma
NVDIMM) prints: the verdict, the number of changed options by each method (they must agree, or
the counted one be smaller), each method's time (median of ``--runs``) and their ratio. For the
configs whose answer is one change, also times brute force over every single change of every
changeable option (what proves one is the fewest without BDDs) and prints that ratio.

    .venv/bin/python bench/solve_from.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policy import resources  # noqa: E402
from policy.decide.catalog import catalog  # noqa: E402
from policy.decide.runtime import decide  # noqa: E402
from policy.kconfig import parse_tree, set_values  # noqa: E402
from policy.kconfig.sources import load_config  # noqa: E402
from policy.profiles import profile as profiles  # noqa: E402
from policy.space.fromconfig import _chain_search, relevant_symbols, solve_from  # noqa: E402

DATA = ROOT / "tests" / "data"


def _median(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, got = [], None
    for _ in range(runs):
        start = time.perf_counter()
        got = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), got


def _brute_single(devices: list[Any], base: Any) -> int:
    """How many single changes meet every requirement (by trying each)."""
    kconf = parse_tree(base.kernel)
    hits = 0
    for name in relevant_symbols(kconf, catalog()):
        for value in ("n", "m", "y"):
            if base.value(name) == value:
                continue
            try:
                build = set_values(base, [(name, value)]).build
            except Exception:  # noqa: BLE001 - m of a bool symbol is refused
                continue
            if all(decide(d, build).ok for d in devices):
                hits += 1
    return hits


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    sets = {
        "shipped": list(profiles.load_profiles([resources.profiles_dir()]).devices),
        "p2pdma": list(profiles.load_profiles([DATA / "solve-from"]).devices),
    }
    configs = sorted((DATA / "debian-6.1").glob("config.*.xz")) + sorted(
        (DATA / "debian-6.12").glob("config.*.xz")
    )
    print(f"{'config':<42} {'profiles':<8} {'verdict':<13} {'n':>3} {'chains':>6} "
          f"{'counted s':>9} {'chains s':>8} {'ratio':>6}")
    for path in configs:
        base = load_config(str(path)).build
        kconf = parse_tree(base.kernel)
        for label, devices in sets.items():
            first = tuple(decide(d, base) for d in devices)

            def counted(devices: list[Any] = devices, base: Any = base) -> Any:
                return solve_from(devices, base)

            def chained(devices: list[Any] = devices, base: Any = base, kconf: Any = kconf,
                        first: Any = first) -> Any:
                return _chain_search(kconf, base, devices, catalog(), relevant_symbols(kconf),
                                     first, 6)

            t_exact, res = _median(counted, args.runs)
            t_chain, chains = _median(chained, args.runs)
            verdict = ("already-met" if not res.assignments else "changed") if res.ok else (
                "unsatisfiable")
            n = str(res.changes) if res.ok else "-"
            c = str(chains.changes) if chains.ok else ("0" if res.ok and not res.assignments
                                                        else "-")
            name = f"{path.parent.name}/{path.name}"
            print(f"{name:<42} {label:<8} {verdict:<13} {n:>3} {c:>6} {t_exact:>9.2f} "
                  f"{t_chain:>8.2f} {t_exact / max(t_chain, 1e-9):>6.1f}")
            if res.ok and res.changes == 1:
                t_brute, hits = _median(lambda d=devices, b=base: _brute_single(d, b), 1)
                print(f"  brute force over every single change: {hits} meet it, {t_brute:.2f} s "
                      f"({t_brute / max(t_exact, 1e-9):.1f}x the counted search)")


if __name__ == "__main__":
    main()
