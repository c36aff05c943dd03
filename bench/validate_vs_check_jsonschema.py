"""Benchmark: ``pmempolicy validate`` vs ``check-jsonschema --schemafile <our schema>``.

Both tools check the same generated profiles (10 and 1,000 files), side by side in one run;
the best wall time of several repetitions is compared. Targets from the issue: pmempolicy at
most 0.4x check-jsonschema's time at 10 files and at most 0.2x at 1,000 files.

    .venv/bin/python bench/validate_vs_check_jsonschema.py [--repeat 5] [--sizes 10,1000]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "policy" / "data" / "profile.schema.json"
BIN = Path(sys.executable).parent
TARGETS = {10: 0.4, 1000: 0.2}

TYPES = ["nvdimm", "cxl", "virtio-pmem", "e820"]
FEATURES = [
    "dax_mmap",
    "map_sync",
    "pmd_faults",
    "o_direct_dax_file",
    "gup_dax_mapping",
    "longterm_pin",
    "vm_backing",
    "block_io",
]


def profile(i: int, rng: random.Random) -> str:
    """One realistic, valid profile (a DeviceProfile, or every fifth a HostProfile)."""
    size = rng.choice([8, 16, 64, 128, 256, 400, 512, 1024])
    req = rng.sample(FEATURES, 2)
    want = [f for f in rng.sample(FEATURES, 3) if f not in req]
    if i % 5 == 0:
        devices = "\n".join(
            f"    - name: pmem{d}\n      device: {{type: nvdimm, size: {size}GiB, "
            f"start_align: 16MiB, numa_node: {d}}}"
            for d in range(rng.randint(1, 4))
        )
        return (
            f"apiVersion: pmempolicy/v1\nkind: HostProfile\nmetadata:\n  name: host{i:05d}\n"
            f"  labels: {{site: dc{i % 7}, role: storage}}\nspec:\n  requires: [{', '.join(req)}]\n"
            f"  budget: {{dram: 1%}}\n  devices:\n{devices}\n"
        )
    pin = "" if i % 3 else "  pin: {mode: devdax, map: dev, align: 2MiB}\n"
    return (
        f"# generated profile {i}\napiVersion: pmempolicy/v1\nkind: DeviceProfile\nmetadata:\n"
        f"  name: node{i:05d}-pmem0\n  labels: {{team: t{i % 13}, backup: no}}\nspec:\n  device:\n"
        f"    type: {rng.choice(TYPES)}\n    size: {size}GiB\n    start_align: 16MiB\n"
        f"    numa_node: {i % 2}\n  requires: [{', '.join(req)}]\n  wants: [{', '.join(want)}]\n"
        f"  budget: {{dram: 2%, capacity: 3%}}\n{pin}"
    )


# Measure the tools as installed: with bytecode caches. A shell that sets PYTHONDONTWRITEBYTECODE
# would make an editable checkout recompile every module on every run (a wheel install has
# its .pyc files written by pip), which measures the compiler, not the tool.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def best_time(cmd: list[str], repeat: int) -> tuple[float, int]:
    subprocess.run(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, check=False
    )  # warm-up
    best, code = float("inf"), -1
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV, check=False
        )
        best = min(best, time.perf_counter() - start)
        code = proc.returncode
        if code != 0:
            raise SystemExit(f"{cmd[0]} failed ({code}): {proc.stderr.decode()[-500:]}")
    return best, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="10,1000")
    args = parser.parse_args()
    pmempolicy = BIN / "pmempolicy"
    cjs = BIN / "check-jsonschema"
    if not cjs.exists():
        cjs = Path(shutil.which("check-jsonschema") or "check-jsonschema")
    rng = random.Random(2015)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            folder = Path(tmp) / f"n{n}"
            folder.mkdir()
            files = []
            for i in range(n):
                path = folder / f"p{i:05d}.yaml"
                path.write_text(profile(i, rng), encoding="utf-8")
                files.append(str(path))
            ours, _ = best_time([str(pmempolicy), "validate", *files], args.repeat)
            theirs, _ = best_time([str(cjs), "--schemafile", str(SCHEMA), *files], args.repeat)
            rows.append((n, ours, theirs))
    print(
        f"{'files':>6} {'pmempolicy validate':>20} {'check-jsonschema':>17}"
        f" {'ratio':>7} {'target':>7}"
    )
    ok = True
    for n, ours, theirs in rows:
        ratio = ours / theirs
        target = TARGETS.get(n)
        met = target is None or ratio <= target
        ok &= met
        shown = f"<={target}" if target else "-"
        print(
            f"{n:>6} {ours * 1000:>17.0f} ms {theirs * 1000:>14.0f} ms {ratio:>6.2f}x {shown:>7}"
            f"{'' if met else '  MISSED'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
