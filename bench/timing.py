"""What the benches share: timing a command in a child process, wall and CPU, against a floor.

This machine is shared, so wall time alone says little: every run is timed both ways, wall by
``time.perf_counter`` and CPU (user + system) by ``resource.getrusage(RUSAGE_CHILDREN)``, and the
medians are compared with a floor (the bare interpreter, or the interpreter importing what the
command truly needs) measured in the same run, interleaved with the command so that both see the
same load. ``--pin CPU`` runs every child on one core (``taskset -c``).

The console scripts are the venv's own (``.venv/bin/pmempolicy``), never a pyenv shim. The
package is byte-compiled first (``compileall``), as ``pip install`` does for a wheel: with
``PYTHONDONTWRITEBYTECODE`` set and an editable install, every run would otherwise compile the
project's modules from source again.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
PYTHON = BIN / "python"
PMEMPOLICY = BIN / "pmempolicy"


@dataclass(frozen=True)
class Timing:
    """The runs of one command: wall and CPU seconds of each."""

    label: str
    wall: tuple[float, ...]
    cpu: tuple[float, ...]

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    def line(self, floor: Timing | None = None) -> str:
        text = (f"{self.label:<44} wall {self.wall_median * 1000:7.1f} ms  "
                f"CPU {self.cpu_median * 1000:7.1f} ms")
        if floor is not None:
            text += (f"  = {self.wall_median / floor.wall_median:5.2f}x / "
                     f"{self.cpu_median / floor.cpu_median:5.2f}x {floor.label}")
        return text


def options(description: str, runs: int) -> argparse.Namespace:
    """``--runs N`` and ``--pin CPU``, the options every bench takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--runs", type=int, default=runs, help=f"runs per command ({runs})")
    parser.add_argument("--pin", type=int, default=None, metavar="CPU",
                        help="run every child on this core (taskset -c)")
    return parser.parse_args()


def prepare(pin: int | None) -> list[str]:
    """Byte-compile the package; the command prefix that pins a child to ``pin``."""
    compileall.compile_dir(str(ROOT / "policy"), quiet=1)
    if not PMEMPOLICY.exists():
        sys.exit(f"{PMEMPOLICY} not found: create the venv first (see README.md)")
    if pin is None:
        return []
    taskset = shutil.which("taskset")
    if taskset is None:
        sys.exit("--pin needs taskset (util-linux)")
    return [taskset, "-c", str(pin)]


def machine() -> str:
    """``N-core <model name>`` of this machine (from /proc/cpuinfo)."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()}-core {model}"


def _once(argv: Sequence[str]) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(list(argv), cwd=ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stderr.decode(errors="replace"))
        sys.exit(f"{' '.join(argv)}: exit {proc.returncode}")
    return wall, cpu, proc.returncode


def measure(commands: dict[str, Sequence[str]], runs: int,
            prefix: Sequence[str] = ()) -> dict[str, Timing]:
    """Time each command ``runs`` times, interleaved (one run of each in turn), after one
    warm-up run of each."""
    for argv in commands.values():
        _once([*prefix, *argv])
    walls: dict[str, list[float]] = {label: [] for label in commands}
    cpus: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, argv in commands.items():
            wall, cpu, _code = _once([*prefix, *argv])
            walls[label].append(wall)
            cpus[label].append(cpu)
    return {label: Timing(label, tuple(walls[label]), tuple(cpus[label])) for label in commands}


def verdict(name: str, value: float, limit: float, unit: str = "", digits: int = 2) -> bool:
    """Print ``name: value (limit ...): met|MISSED``; whether it was met."""
    met = value < limit
    print(f"  {name}: {value:.{digits}f}{unit} (target under {limit:g}{unit}): "
          f"{'met' if met else 'MISSED'}")
    return met


# ``python -c pass`` (CPU) on this machine when it is quiet. The machine is shared and its speed
# varies by 2x and more; every command slows alike, so a figure scaled by the floor measured in
# the same run (value x QUIET_FLOOR_S / floor) is the one a target can be held to wherever the
# bench runs.
QUIET_FLOOR_S = 0.026


def at_quiet(value: float, floor: Timing) -> float:
    """``value`` (measured in this run) scaled to the quiet machine by this run's floor."""
    return value * QUIET_FLOOR_S / floor.cpu_median


def verdicts(name: str, value: float, floor: Timing, limit: float, unit: str = "",
             digits: int = 2) -> bool:
    """The absolute verdict, then the one scaled to the quiet machine; whether the latter held."""
    verdict(name, value, limit, unit, digits)
    print(f"    (this run's floor: {floor.cpu_median * 1000:.1f} ms; quiet: "
          f"{QUIET_FLOOR_S * 1000:.0f} ms)")
    return verdict(f"{name}, scaled to the quiet machine", at_quiet(value, floor), limit, unit,
                   digits)
