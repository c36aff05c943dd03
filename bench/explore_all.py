"""``pmempolicy explore --all`` with every shipped profile: the whole shipped tree counted, dead
options, the Pareto frontier with fewest-options witnesses.

Floors measured in the same run: ``python -c pass`` and ``pmempolicy --version``. Target: under
1 s (CPU median; the wall median is printed too) on this machine at its quiet speed. The shared
machine's speed varies (``python -c pass`` takes 22-26 ms of CPU when it is quiet, up to 50 ms
when it is not, and every command slows alike), so the verdict that holds wherever the bench runs
is the CPU time scaled by the floor measured in the same run (``timing.at_quiet``). Both are
printed; the exit status follows the scaled one. The results themselves are pinned by
tests/test_explore_golden.py; here the frontier is only counted, as a sanity check.

    .venv/bin/python bench/explore_all.py [--runs N] [--pin CPU]
"""

from __future__ import annotations

import subprocess
import sys

from timing import PMEMPOLICY, PYTHON, ROOT, machine, measure, options, prepare, verdicts

LIMIT_S = 1.0


def main() -> int:
    args = options(__doc__.splitlines()[0], runs=7)
    prefix = prepare(args.pin)
    got = measure({
        "python -c pass": [str(PYTHON), "-c", "pass"],
        "pmempolicy --version": [str(PMEMPOLICY), "--version"],
        "pmempolicy explore --all": [str(PMEMPOLICY), "explore", "--all"],
    }, args.runs, prefix)
    pin = f", pinned to CPU {args.pin}" if args.pin is not None else ""
    print(f"{machine()}; {args.runs} runs each, medians{pin}")
    floor = got["python -c pass"]
    for t in got.values():
        print(t.line(None if t is floor else floor))
    out = subprocess.run([*prefix, str(PMEMPOLICY), "explore", "--all"], cwd=ROOT,
                         capture_output=True, text=True, check=False).stdout
    first = (out.splitlines() or [""])[0]
    front = sum(1 for line in out.splitlines() if line.startswith("  set:"))
    print(f"  {first} ...; frontier points: {front}")
    explore = got["pmempolicy explore --all"]
    ok = verdicts("pmempolicy explore --all, CPU", explore.cpu_median, floor, LIMIT_S, " s")
    print(f"  (wall median {explore.wall_median:.2f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
