"""Time ``pmempolicy matrix`` (shipped defconfigs × profiles) through the venv console script.

Usage: .venv/bin/python bench/matrix.py [RUNS]  — prints each wall time and the median; exits 1
if the median is not under one second (the issue's acceptance limit).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".venv" / "bin" / "pmempolicy"


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    subprocess.run([str(SCRIPT), "matrix"], cwd=ROOT, capture_output=True, check=False)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(
            [str(SCRIPT), "matrix", "--format", "json"], cwd=ROOT, capture_output=True, check=False
        )
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            sys.stderr.write(proc.stderr.decode())
            return 2
    median = statistics.median(times)
    print("runs: " + ", ".join(f"{t:.3f}s" for t in times))
    print(f"median: {median:.3f}s (limit 1.000s)")
    return 0 if median < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
