"""Start-up: ``pmempolicy --version`` and ``validate`` of one profile against their floors.

Each command is compared with the bare interpreter plus the imports it truly needs, measured in
the same run: ``--version`` needs none (``python -c pass``); ``validate`` needs click (its
command line) and PyYAML (the profile) (``python -c "import click, yaml"``). Target: within 1.5x
of the floor, by CPU median (the wall median is printed too).

    .venv/bin/python bench/startup.py [--runs N] [--pin CPU]
"""

from __future__ import annotations

import sys

from timing import PMEMPOLICY, PYTHON, ROOT, machine, measure, options, prepare, verdict

PROFILE = str(ROOT / "profiles" / "db-400g-odirect.yaml")
LIMIT = 1.5


def main() -> int:
    args = options(__doc__.splitlines()[0], runs=21)
    prefix = prepare(args.pin)
    got = measure({
        "python -c pass": [str(PYTHON), "-c", "pass"],
        "pmempolicy --version": [str(PMEMPOLICY), "--version"],
        "python -c 'import click, yaml'": [str(PYTHON), "-c", "import click, yaml"],
        "pmempolicy validate <one profile>": [str(PMEMPOLICY), "validate", PROFILE],
    }, args.runs, prefix)
    pin = f", pinned to CPU {args.pin}" if args.pin is not None else ""
    print(f"{machine()}; {args.runs} runs each, medians{pin}")
    for t in got.values():
        print(t.line())
    ok = True
    for cmd, floor in (("pmempolicy --version", "python -c pass"),
                       ("pmempolicy validate <one profile>", "python -c 'import click, yaml'")):
        t, f = got[cmd], got[floor]
        print(f"{cmd} / {floor}: wall {t.wall_median / f.wall_median:.2f}x")
        ok = verdict(f"{cmd} / {floor}, CPU", t.cpu_median / f.cpu_median, LIMIT, "x") and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
